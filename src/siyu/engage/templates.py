"""Message templates: sandboxed Jinja2 over a contact's traits, rollups and owner.

A template sees `contact` (name, city, province, email, phone, traits, order_count,
total_spent in yuan, first and last order, stage), `owner` (the staff member who owns the
contact), `link(url)` (a tracked link), `unsubscribe_url`, `coupon("NAME")` (the contact's unused
code of that coupon, blank without one), and each variable at the top level
too (`{{ name }}` is `{{ contact.name }}`). The sandbox keeps a template from reaching Python
internals, so operators can write them safely.

Variables a contact lacks are found before sending by reading the template's syntax tree
(`variables`), then counting the recipients without each value in SQL (campaigns.check), so
nobody learns of a missing name from a customer's "Dear ,".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from siyu.errors import Invalid

# What a contact offers a template; `traits.*` is open-ended.
CONTACT_FIELDS = (
    "id",
    "name",
    "city",
    "province",
    "email",
    "phone",
    "order_count",
    "total_spent",
    "first_order_at",
    "last_order_at",
    "stage",
    "traits",
)
OWNER_FIELDS = ("name", "login", "email")
FUNCTIONS = ("link", "unsubscribe_url", "coupon")


class _Blank(ChainableUndefined):
    """A value a contact lacks renders as nothing (the check warned before sending)."""


_environment = ImmutableSandboxedEnvironment(
    undefined=_Blank, autoescape=False, keep_trailing_newline=True
)


@dataclass(frozen=True)
class Variable:
    path: str  # "contact.name", "contact.traits.birthday", "owner.name"
    guarded: bool  # wrapped in `| default(...)`: never renders blank


@lru_cache(maxsize=512)
def compile_template(source: str, where: str = "body") -> Any:
    """A compiled template, or Invalid naming the line of a syntax error."""
    try:
        return _environment.from_string(source)
    except TemplateSyntaxError as error:
        raise Invalid(f"{where}, line {error.lineno}: {error.message}") from None


def variables(source: str, where: str = "body") -> list[Variable]:
    """The contact and owner values a template reads, in order of first appearance."""
    try:
        tree = _environment.parse(source)
    except TemplateSyntaxError as error:
        raise Invalid(f"{where}, line {error.lineno}: {error.message}") from None
    found: dict[str, bool] = {}
    _walk(tree, found, guarded=False)
    return [Variable(path, guarded) for path, guarded in found.items()]


def _walk(node: nodes.Node, found: dict[str, bool], *, guarded: bool) -> None:
    if isinstance(node, nodes.Filter) and node.name in ("default", "d"):
        if node.node is not None:
            _walk(node.node, found, guarded=True)
        for child in [*node.args, *node.kwargs]:
            _walk(child, found, guarded=guarded)
        return
    path = _path(node)
    if path is not None:
        found[path] = found.get(path, True) and guarded
        return
    for child in node.iter_child_nodes():
        _walk(child, found, guarded=guarded)


def _path(node: nodes.Node) -> str | None:
    """`contact.traits.birthday` for the attribute chain a node reads, else None."""
    parts: list[str] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            parts.append(node.arg.value)
        else:
            return None
        node = node.node
    if not isinstance(node, nodes.Name) or node.name in FUNCTIONS:
        return None
    root = node.name
    if root in CONTACT_FIELDS:  # the top-level shortcut
        parts.append(root)
        root = "contact"
    parts.append(root)
    if root not in ("contact", "owner"):
        return None
    path = list(reversed(parts))
    # contact.traits.city.zip reads the trait "city"; what lies beyond is the trait's own.
    if len(path) > 3 and path[1] == "traits":
        path = path[:3]
    elif len(path) > 2 and path[1] != "traits":
        path = path[:2]
    return ".".join(path)


def unknown_variables(items: Iterable[Variable]) -> list[str]:
    """Paths that name nothing a contact or owner has (a typo: contact.nmae)."""
    wrong = []
    for item in items:
        root, _, rest = item.path.partition(".")
        field = rest.split(".")[0]
        known = CONTACT_FIELDS if root == "contact" else OWNER_FIELDS
        if rest and field not in known:
            wrong.append(item.path)
    return wrong


def reads_unsubscribe(source: str) -> bool:
    try:
        tree = _environment.parse(source)
    except TemplateSyntaxError:
        return False
    return any(name.name == "unsubscribe_url" for name in tree.find_all(nodes.Name))


def yuan(fen: int | None) -> str:
    if fen is None:
        return ""
    return f"{fen / 100:.2f}".rstrip("0").rstrip(".") if fen % 100 else str(fen // 100)


def contact_context(
    row: dict[str, Any],
    *,
    owner: dict[str, Any] | None,
    defaults: dict[str, Any],
    link: Callable[[str], str],
    unsubscribe_url: str,
) -> dict[str, Any]:
    """What a template sees for one contact. `defaults` fill values the contact lacks."""
    contact: dict[str, Any] = {}
    for field in CONTACT_FIELDS:
        value = row.get(field)
        if field == "total_spent":
            value = yuan(value)
        elif isinstance(value, datetime):
            value = value.date().isoformat()
        contact[field] = value
    traits = dict(row.get("traits") or {})
    for path, value in defaults.items():
        root, _, rest = path.partition(".")
        if root == "contact" and rest.startswith("traits."):
            traits.setdefault(rest.removeprefix("traits."), value)
        elif root == "contact" and contact.get(rest) in (None, ""):
            contact[rest] = value
        elif root == "owner":
            owner = {**(owner or {})}
            if owner.get(rest) in (None, ""):
                owner[rest] = value
    contact["traits"] = traits
    # Values a contact lacks are left out rather than None, so they are undefined to the
    # template: `| default('…')` then applies, and nothing renders as "None".
    contact = {k: v for k, v in contact.items() if v is not None}
    if owner:
        owner = {k: v for k, v in owner.items() if v is not None}
    codes = dict(row.get("coupons") or {})
    return {
        **contact,
        "contact": contact,
        "owner": owner or {},
        "link": link,
        "unsubscribe_url": unsubscribe_url,
        "coupon": lambda name: codes.get(str(name), ""),
    }


def render(source: str, context: dict[str, Any], where: str = "body") -> str:
    try:
        return compile_template(source, where).render(context)
    except Invalid:
        raise
    except Exception as error:  # the sandbox refused something, or a filter failed
        raise Invalid(f"{where}: {error}") from None


# Joins a message's parts (subject, body, parameters) so they render in one pass: a campaign
# renders every message, and most of a small template's cost is setting up the render.
_SEPARATOR = "\x1f"


def render_parts(parts: dict[str, str], context: dict[str, Any]) -> dict[str, str]:
    names = list(parts)
    sources = [parts[name] for name in names]
    if len(names) > 1 and not any(_SEPARATOR in source for source in sources):
        try:
            pieces = compile_template(_SEPARATOR.join(sources), "message").render(context)
        except Exception:
            pieces = None  # rendered part by part below, so the error names its part
        if pieces is not None:
            split = pieces.split(_SEPARATOR)
            if len(split) == len(names):
                return dict(zip(names, split, strict=True))
    return {name: render(parts[name], context, name) for name in names}
