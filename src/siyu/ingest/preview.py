"""A look at a file before importing it: the format it would be read as, its header, its first
rows and about how many rows it has. Reads only the start of the file, whatever its size."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from siyu.errors import Invalid
from siyu.ingest.formats.base import Header, ImportFormat
from siyu.ingest.reader import open_table
from siyu.ingest.registry import choose

PREVIEW_ROWS = 10
# Bytes read to estimate a CSV's row count; smaller files are counted whole.
ESTIMATE_SAMPLE = 1 << 20


@dataclass
class Preview:
    file_name: str
    size: int  # bytes
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)  # the first rows, as wide as the header
    format: str | None = None  # the importer's name; None when the file is no known export
    label: str | None = None  # the importer's description
    kind: str | None = None  # orders or contacts
    rows_estimate: int | None = None
    exact: bool = False  # rows_estimate is a count, not an estimate
    # Why the file cannot be imported: unreadable (`problem` holds the reason) or not recognised.
    problem: str | None = None
    unrecognised: bool = False

    @property
    def importable(self) -> bool:
        return self.format is not None


def preview_file(
    path: Path, *, fmt: str = "auto", display_name: str | None = None, limit: int = PREVIEW_ROWS
) -> Preview:
    """What importing `path` would read. Never raises for a bad file: `problem` says why."""
    name = display_name or path.name
    preview = Preview(file_name=name, size=path.stat().st_size)
    try:
        table = open_table(path)
    except Invalid as error:
        preview.problem = error.message
        return preview
    try:
        preview.header = list(table.header)
        try:
            numbered = list(islice(table.rows, limit))
        except Invalid as error:  # broken CSV quoting within the first rows
            preview.problem = error.message
            numbered = []
        width = len(preview.header)
        preview.rows = [(cells + [""] * width)[: max(width, len(cells))] for _, cells in numbered]
        if table.encoding is None:  # a spreadsheet: the reader knows its row count
            preview.rows_estimate, preview.exact = table.size, True
        else:
            preview.rows_estimate, preview.exact = _estimate_csv_rows(path, len(numbered), limit)
    finally:
        close = getattr(table.rows, "close", None)
        if close:
            close()
        table.close()
    if preview.problem:
        return preview
    try:
        importer: ImportFormat = choose(Header(preview.header), fmt, name)
    except Invalid as error:
        preview.unrecognised = True
        preview.problem = error.message
        return preview
    preview.format, preview.label, preview.kind = importer.name, importer.label, importer.kind
    return preview


def _estimate_csv_rows(path: Path, seen: int, limit: int) -> tuple[int, bool]:
    """Rows below the header: counted when the preview saw them all, else lines extrapolated
    from the file's first megabyte (cells with line breaks make it a little high)."""
    if seen < limit:
        return seen, True
    size = path.stat().st_size
    with path.open("rb") as handle:
        sample = handle.read(ESTIMATE_SAMPLE)
    lines = sample.count(b"\n") + (0 if sample.endswith(b"\n") else 1)
    if size > len(sample) and sample:
        lines = round(lines * size / len(sample))
    return max(lines - 1, seen), size <= len(sample) and lines - 1 == seen
