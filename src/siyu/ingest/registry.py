"""Importers register through the `siyu.importers` entry point group; built-ins use it too."""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path

from siyu.errors import Invalid
from siyu.ingest.formats.base import Header, ImportFormat
from siyu.ingest.formats.mapping import load_mapping

log = logging.getLogger(__name__)


@lru_cache
def importers() -> dict[str, type[ImportFormat]]:
    found: dict[str, type[ImportFormat]] = {}
    for entry in entry_points(group="siyu.importers"):
        try:
            cls = entry.load()
        except (ImportError, AttributeError) as error:
            # One broken plugin must not stop every other import.
            log.warning("importer %s cannot be loaded: %s", entry.name, error)
            continue
        found[cls.name] = cls
    return found


# Short names accepted by `--format` besides the importers' own names.
ALIASES = {
    "tmall": "taobao",
    "qianniu": "taobao",
    "pinduoduo": "pdd",
    "orders": "orders_csv",
    "contacts": "contacts_csv",
    "csv": "orders_csv",
}


def choose(header: Header, fmt: str, file_name: str) -> ImportFormat:
    """The importer for this header: the one asked for, or the best match among all."""
    if fmt.startswith("mapping:"):
        cls = load_mapping(Path(fmt.removeprefix("mapping:")))
        chosen = cls()
        if not chosen.matches(header):
            missing = [s for s in cls.signature if not header.has(s)]
            raise Invalid(
                f"{file_name}: the mapping names columns the file lacks: {', '.join(missing)}"
            )
        return chosen
    registry = importers()
    if fmt != "auto":
        wanted = ALIASES.get(fmt, fmt)
        candidates = [cls for cls in registry.values() if wanted in (cls.name, cls.platform)]
        if not candidates:
            raise Invalid(
                f"unknown format {fmt!r}; known: auto, {', '.join(sorted(registry))}, mapping:FILE"
            )
    else:
        candidates = list(registry.values())
    scored = sorted(((cls().matches(header), cls.name, cls) for cls in candidates), reverse=True)
    if not scored or scored[0][0] == 0:
        shown = ", ".join(n for n in header.names[:8] if n.strip()) or "(empty)"
        if fmt == "auto":
            raise Invalid(
                f"{file_name}: not a recognised order or customer export (header starts: {shown}); "
                "use --format mapping:FILE for other files"
            )
        raise Invalid(f"{file_name}: does not look like a {fmt} export (header starts: {shown})")
    return scored[0][2]()
