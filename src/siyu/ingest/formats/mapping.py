"""The generic importer: any CSV/XLSX, described by a small TOML column-mapping file.

kind = "orders"            # or "contacts"
platform = "offline"       # when the file has no platform column
[columns]                  # Siyu's column name = the file's header
order_id = "单号"
placed_at = "日期"
total = "金额"
phone = "手机"
[statuses]                 # the file's own status words
"已结账" = "completed"
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from siyu.errors import Invalid
from siyu.ingest.formats.base import ImportFormat
from siyu.ingest.formats.canonical import (
    CONTACT_COLUMNS,
    ORDER_COLUMNS,
    CanonicalContacts,
    CanonicalOrders,
)
from siyu.ingest.statuses import fold_status_map


def load_mapping(path: Path) -> type[ImportFormat]:
    try:
        spec: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Invalid(f"{path}: no such mapping file") from None
    except OSError as error:  # a folder, no permission …
        raise Invalid(f"{path}: cannot read the mapping file ({error.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise Invalid(f"{path}: not a valid TOML mapping file ({error})") from None
    kind = spec.get("kind", "orders")
    if kind not in ("orders", "contacts"):
        raise Invalid(f'{path}: kind must be "orders" or "contacts", not {kind!r}')
    base: type[CanonicalOrders] | type[CanonicalContacts] = (
        CanonicalOrders if kind == "orders" else CanonicalContacts
    )
    known = ORDER_COLUMNS if kind == "orders" else CONTACT_COLUMNS
    mapped = spec.get("columns", {})
    if not isinstance(mapped, dict) or not mapped:
        raise Invalid(f"{path}: a [columns] table naming the file's headers is required")
    odd = sorted(name for name, header in mapped.items() if not isinstance(header, str))
    if odd:
        raise Invalid(f"{path}: [columns] values must be header names in quotes: {', '.join(odd)}")
    unknown = sorted(set(mapped) - set(known) - set(base.columns))
    if unknown:
        raise Invalid(
            f"{path}: unknown Siyu column(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    columns = {
        name: (mapped[name],) if name in mapped else spellings
        for name, spellings in base.columns.items()
    }
    raw_statuses = spec.get("statuses", {})
    if not isinstance(raw_statuses, dict) or not all(
        isinstance(v, str) for v in raw_statuses.values()
    ):
        raise Invalid(f'{path}: [statuses] must be a table such as "已结账" = "completed"')
    try:
        statuses = fold_status_map(raw_statuses)
    except ValueError as error:
        raise Invalid(f"{path}: {error}") from None
    platform = spec.get("platform")
    if kind == "orders" and "platform" not in mapped and not platform:
        raise Invalid(f'{path}: say which platform the orders are from: platform = "offline"')
    attributes: dict[str, Any] = {
        "name": f"mapping:{path.name}",
        "label": f"mapped by {path.name}",
        "columns": columns,
        # Every mapped header must be in the file, or it is not the file this mapping describes.
        "signature": tuple(str(v) for v in mapped.values()),
        "status_map": statuses or None,
        "default_platform": platform,
    }
    return type("MappedFormat", (base,), attributes)
