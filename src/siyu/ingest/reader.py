"""Reading tables as the back offices write them: GBK or UTF-8 (BOM), CSV, TSV or XLSX.

Rows are streamed so memory stays flat on a million-row file: CSV as text, XLSX one row at a
time from python-calamine (fast, but it holds a sheet in memory) or, for large workbooks, from
openpyxl's read-only mode.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from charset_normalizer import from_bytes

from siyu.errors import Invalid

ProgressFn = Callable[[int], None]

_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"
# python-calamine is fast but holds a whole sheet in memory; past this size (some 200,000 rows)
# openpyxl's read-only mode streams the sheet instead, slower but flat.
STREAM_XLSX_FROM_BYTES = 20 * 1024 * 1024
# charset-normalizer may name any member of the GB family; GB18030 decodes all of them.
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz", "big5"}


@dataclass
class Table:
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]  # (line number in the file, cells)
    size: int  # bytes (CSV) or rows (XLSX), for progress
    encoding: str | None
    close: Callable[[], None] = lambda: None


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # A sample may end inside a character; an incremental decoder tolerates that.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # Chinese back offices write GBK. On short samples a detector may name another CJK code
    # page (reading ￥ as ＄), so GB18030, the superset of GBK, is tried first.
    try:
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        pass
    best = from_bytes(sample).best()
    name = (best.encoding if best else "gb18030").lower().replace("-", "")
    return "gb18030" if name in _GB_FAMILY or name.startswith("gb") else best.encoding  # type: ignore[union-attr]


def is_spreadsheet(path: Path) -> bool:
    with path.open("rb") as probe:
        return probe.read(4) in (_XLSX_MAGIC, _XLS_MAGIC)


def open_table(path: Path, progress: ProgressFn | None = None) -> Table:
    if not path.exists():
        raise Invalid(f"{path}: no such file")
    with path.open("rb") as probe:
        head = probe.read(256 * 1024)
    if head.startswith(_XLSX_MAGIC):
        if path.stat().st_size >= STREAM_XLSX_FROM_BYTES:
            return _open_xlsx_streaming(path, progress)
        return _open_xlsx(path, progress)
    if head.startswith(_XLS_MAGIC):
        return _open_xlsx(path, progress)  # calamine reads legacy .xls too
    if not head.strip():
        raise Invalid(f"{path}: the file is empty")
    return _open_csv(path, detect_encoding(head), head, progress)


class _CountingReader(io.RawIOBase):
    """Reports bytes consumed so the progress bar follows the file, not the row count."""

    def __init__(self, raw: io.BufferedReader, progress: ProgressFn | None) -> None:
        self.raw = raw
        self.progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = self.raw.readinto(buffer)
        if self.progress and count:
            self.progress(count)
        return count or 0

    def close(self) -> None:
        self.raw.close()
        super().close()


def _open_csv(path: Path, encoding: str, head: bytes, progress: ProgressFn | None) -> Table:
    sample = head[:65536].decode(encoding, errors="replace")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    raw = _CountingReader(path.open("rb"), progress)
    text = io.TextIOWrapper(
        io.BufferedReader(raw, 1 << 20), encoding=encoding, errors="replace", newline=""
    )
    reader = csv.reader(text, dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise Invalid(f"{path}: the file is empty") from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for cells in reader:
                if any(cells):
                    yield reader.line_num, cells
        except csv.Error as error:
            raise Invalid(f"{path}, line {reader.line_num}: broken CSV ({error})") from None
        finally:
            text.close()

    return Table(header=header, rows=rows(), size=path.stat().st_size, encoding=encoding)


def _open_xlsx(path: Path, progress: ProgressFn | None) -> Table:
    from python_calamine import CalamineWorkbook

    try:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    except Exception as error:  # calamine raises its own types for every kind of damage
        raise Invalid(f"{path}: cannot read this spreadsheet ({error})") from None
    return _sheet_table(path, sheet.iter_rows(), max(sheet.height - 1, 0), progress)


def _open_xlsx_streaming(path: Path, progress: ProgressFn | None) -> Table:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except Exception as error:  # zip, XML and format errors all mean a damaged file
        raise Invalid(f"{path}: cannot read this spreadsheet ({error})") from None
    table = _sheet_table(
        path,
        sheet.iter_rows(min_row=1, values_only=True),
        max((sheet.max_row or 1) - 1, 0),
        progress,
    )
    table.close = book.close
    return table


def _sheet_table(
    path: Path, cells: Iterable[Sequence[object]], size: int, progress: ProgressFn | None
) -> Table:
    """Rows of a sheet one at a time, numbered as Excel numbers them."""
    numbered = enumerate(cells, start=1)
    header: list[str] = []
    for _number, row in numbered:
        header = [_cell_text(cell) for cell in row]
        if any(header):  # the header is the first row with anything in it
            break
    if not any(header):
        raise Invalid(f"{path}: the spreadsheet is empty")

    def rows() -> Iterator[tuple[int, list[str]]]:
        for number, row in numbered:
            if progress:
                progress(1)
            texts = [_cell_text(cell) for cell in row]
            if any(texts):
                yield number, texts

    return Table(header=header, rows=rows(), size=size, encoding=None)


def _cell_text(cell: object) -> str:
    # Spreadsheets give numbers as floats: 13800138000.0 must stay a phone, 12.5 a price.
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.isoformat(sep=" ")
    if isinstance(cell, date | time):
        return cell.isoformat()
    return "" if cell is None else str(cell)
