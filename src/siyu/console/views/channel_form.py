"""A channel's settings form, generated from its pydantic `Config` JSON schema, so a channel
plugin gets its console form without a template of its own.

Values are handed to the service as the text typed (pydantic converts "587" to 587 and reports
what it cannot); only checkboxes, lists and JSON objects are shaped here, as a form cannot say
them as text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from siyu.engage.channels.base import Channel

# Fields holding the name of an environment variable with a secret (ChannelConfig's rule).
SECRET_SUFFIX = "_env"


@dataclass
class ConfigField:
    name: str
    kind: str  # text, secret, integer, number, boolean, list, select, json
    required: bool
    default: Any = None
    description: str = ""
    choices: list[str] = field(default_factory=list)
    nullable: bool = False

    @property
    def default_text(self) -> str:
        """The default as the form shows it."""
        if self.default is None:
            return ""
        if self.kind == "list":
            return ", ".join(str(v) for v in self.default)
        if self.kind == "json":
            return json.dumps(self.default, ensure_ascii=False)
        if self.kind == "boolean":
            return "true" if self.default else "false"
        return str(self.default)


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The property's own schema (a $ref followed, Optional unwrapped) and whether it may be
    null."""
    nullable = False
    options = prop.get("anyOf") or prop.get("oneOf")
    if options:
        kept = [o for o in options if o.get("type") != "null"]
        nullable = len(kept) < len(options)
        prop = {**prop, **(kept[0] if len(kept) == 1 else {"type": "string"})}
        prop.pop("anyOf", None)
        prop.pop("oneOf", None)
    if len(prop.get("allOf", [])) == 1:
        prop = {**prop, **prop["allOf"][0]}
    ref = prop.get("$ref")
    if ref:
        prop = {
            **defs.get(ref.rsplit("/", 1)[-1], {}),
            **{k: v for k, v in prop.items() if k != "$ref"},
        }
    return prop, nullable


def _kind(name: str, prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return "select"
    if "const" in prop:
        return "select"
    kind = prop.get("type")
    if kind == "boolean":
        return "boolean"
    if kind in ("integer", "number"):
        return str(kind)
    if kind == "array":
        return "list"
    if kind == "object":
        return "json"
    return "secret" if name.endswith(SECRET_SUFFIX) else "text"


def config_fields(cls: type[Channel]) -> list[ConfigField]:
    schema = cls.Config.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    fields = []
    for name, raw in schema.get("properties", {}).items():
        prop, nullable = _resolve(raw, defs)
        kind = _kind(name, prop)
        choices = [str(v) for v in prop.get("enum", [prop["const"]] if "const" in prop else [])]
        fields.append(
            ConfigField(
                name=name,
                kind=kind,
                required=name in required,
                default=raw.get("default", prop.get("default")),
                description=str(raw.get("description") or prop.get("description") or ""),
                choices=choices,
                nullable=nullable,
            )
        )
    return fields


def form_config(fields: list[ConfigField], form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    """(the configuration for the service, the values as typed for showing the form again)."""
    config: dict[str, Any] = {}
    typed: dict[str, str] = {}
    for item in fields:
        key = f"config.{item.name}"
        if item.kind == "boolean":
            config[item.name] = key in form
            typed[item.name] = "true" if key in form else "false"
            continue
        text = str(form.get(key) or "").strip()
        typed[item.name] = text
        if not text:
            continue  # the default applies; a required field is reported by the schema
        if item.kind == "list":
            config[item.name] = [p.strip() for p in text.replace("，", ",").split(",") if p.strip()]
        elif item.kind == "json":
            try:
                config[item.name] = json.loads(text)
            except ValueError:
                config[item.name] = text  # the schema says what it expected
        else:
            config[item.name] = text
    return config, typed


def field_errors(kind: str, message: str, names: set[str]) -> tuple[dict[str, str], str | None]:
    """registry.parse_config's message ("<kind> channel configuration: port: …; host: …")
    split into errors per field; what names no field stays for the form."""
    prefix = f"{kind} channel configuration: "
    if not message.startswith(prefix):
        return {}, message
    errors: dict[str, str] = {}
    rest: list[str] = []
    for problem in message.removeprefix(prefix).split("; "):
        where, _, what = problem.partition(": ")
        name = where.split(".")[0]
        if name in names and what:
            errors[name] = f"{errors[name]}; {what}" if name in errors else what
        else:
            rest.append(problem)
    return errors, "; ".join(rest) or None


def shown_settings(config: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(name, value, is an environment variable's name) for the list of channels. Secrets are
    never stored, so what a secret field holds is the variable's name, which is safe to show."""
    shown = []
    for name, value in config.items():
        if isinstance(value, list):
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            text = json.dumps(value, ensure_ascii=False)
        else:
            text = "" if value is None else str(value)
        shown.append((name, text, name.endswith(SECRET_SUFFIX)))
    return shown
