"""Parsing a large file in a process of its own while this one writes to the database.

Reading and parsing a shop export costs about as much CPU as resolving and writing its records,
and Python runs one thread at a time: a second process parses chunk N+1 while this one applies
chunk N, which on a machine with two or more cores nearly doubles the rows per second. Chunks
travel over a pipe (orders as marshalled plain tuples, see `prepared.py`); a reader thread
keeps at most CHUNKS_AHEAD of them ready, so memory stays flat whatever the file's size. The
child never touches the database: if it fails, the import fails with its message and the
caller's transaction writes nothing.

    python -m siyu.ingest.background PATH FORMAT DISPLAY_NAME CHUNK_ROWS
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from siyu.config import get_settings
from siyu.errors import Invalid, SiyuError
from siyu.ingest.chunking import CHUNK_ROWS, Chunk, parse_chunks
from siyu.ingest.formats.base import Header
from siyu.ingest.prepared import from_wire, to_wire
from siyu.ingest.reader import is_spreadsheet, open_table
from siyu.ingest.registry import choose
from siyu.kit.gcpause import fewer_collections

# Files smaller than this are parsed in-process: starting a process costs about half a second.
BACKGROUND_FROM_BYTES = 16 * 1024 * 1024
# Parsed chunks held ready for the writer: enough to absorb either side's changes of pace, few
# enough for flat memory (a chunk is some megabytes).
CHUNKS_AHEAD = 3


def pays_off(path: Path) -> bool:
    """Whether parsing this file in a process of its own is worth starting one: a large CSV.
    Spreadsheets are read by libraries that hold the sheet or its parser state in memory."""
    try:
        return path.stat().st_size >= BACKGROUND_FROM_BYTES and not is_spreadsheet(path)
    except OSError:
        return False  # open_table reports the missing or unreadable file


class BackgroundChunks:
    """The chunks `parse_chunks` would give for this file, parsed by a child process.

    The process starts at once, so that it loads and reads its first chunk while the importer
    gets ready (hashes the file, records the batch); iterate to receive the chunks. Whether the
    import finishes, fails or is interrupted, iterating to the end or `close` leaves no parser
    behind.
    """

    def __init__(
        self,
        path: Path,
        fmt: str,
        display_name: str,
        progress: Callable[[int], None] | None = None,
        chunk_rows: int | None = None,
    ) -> None:
        settings = get_settings()
        environment = {
            **os.environ,
            # The child must read naive times and local phone numbers exactly as this process.
            "SIYU_TIMEZONE": settings.timezone,
            "SIYU_DEFAULT_REGION": settings.default_region,
        }
        self.display_name = display_name
        self.progress = progress
        # A file, not a pipe, for what the child says on stderr: nobody reads it until the end,
        # and a full pipe would stall the child. It lives as long as the child: see close().
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self.child = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    __name__,
                    str(path),
                    fmt,
                    display_name,
                    str(chunk_rows or CHUNK_ROWS),
                ],
                stdout=subprocess.PIPE,
                stderr=self.errors,
                env=environment,
            )
        except BaseException:
            self.errors.close()
            raise

    def __iter__(self) -> Iterator[Chunk]:
        try:
            yield from _receive(self.child, self.errors, self.display_name, self.progress)
        finally:
            self.close()

    def close(self) -> None:
        if self.child.poll() is None:
            self.child.kill()
        if self.child.stdout is not None:
            self.child.stdout.close()
        self.child.wait()
        self.errors.close()


def chunks_in_background(
    path: Path,
    fmt: str,
    display_name: str,
    progress: Callable[[int], None] | None = None,
    chunk_rows: int | None = None,
) -> BackgroundChunks:
    """Start parsing this file in a child process; iterate the result for its chunks."""
    return BackgroundChunks(path, fmt, display_name, progress, chunk_rows)


def _receive(
    child: subprocess.Popen[bytes],
    errors: BinaryIO,
    display_name: str,
    progress: Callable[[int], None] | None,
) -> Iterator[Chunk]:
    assert child.stdout is not None
    ahead: queue.Queue[Any] = queue.Queue(maxsize=CHUNKS_AHEAD)
    stop = threading.Event()
    reader = threading.Thread(
        target=_read_ahead, args=(child.stdout, ahead, stop), name="siyu-parse-reader", daemon=True
    )
    reader.start()
    try:
        while True:
            message = ahead.get()
            if isinstance(message, EOFError):
                child.wait()
                errors.seek(0)
                problem = errors.read().decode(errors="replace").strip()
                raise RuntimeError(
                    f"the parsing process stopped unexpectedly (exit code {child.returncode})"
                    + (f": {problem.splitlines()[-1]}" if problem else "")
                )
            if isinstance(message, BaseException):
                raise RuntimeError(f"reading what the parsing process sent failed: {message}")
            kind, payload, advanced = message
            if progress and advanced:
                progress(advanced)
            if kind == "chunk":
                yield payload
            elif kind == "done":
                return
            elif kind == "invalid":
                raise Invalid(payload)
            else:
                raise RuntimeError(f"parsing {display_name} failed: {payload}")
    finally:
        stop.set()


def _read_ahead(stream: BinaryIO, ahead: queue.Queue[Any], stop: threading.Event) -> None:
    """Take chunks off the pipe (and decode them) as soon as they come, so the parser never
    waits while this process writes: its pace varies, and a pipe holds less than one chunk."""
    while not stop.is_set():
        try:
            kind, payload, advanced = pickle.load(stream)
            message: Any = (kind, _decode(payload) if kind == "chunk" else payload, advanced)
        except Exception as error:  # EOF or a damaged stream: the importer reports it
            message = error
        while not stop.is_set():
            try:
                ahead.put(message, timeout=0.5)
                break
            except queue.Full:
                continue
        if isinstance(message, BaseException) or message[0] != "chunk":
            return


def parse_to(channel: BinaryIO, path: str, fmt: str, display_name: str, chunk_rows: int) -> None:
    """The child's work: parse the file and send its chunks, then ("done", None, bytes)."""
    advanced = 0

    def count(amount: int) -> None:
        nonlocal advanced
        advanced += amount

    def send(kind: str, payload: Any) -> None:
        nonlocal advanced
        pickle.dump((kind, payload, advanced), channel, protocol=pickle.HIGHEST_PROTOCOL)
        channel.flush()
        advanced = 0

    try:
        with fewer_collections():
            table = open_table(Path(path), count)
            header = Header(table.header)
            importer = choose(header, fmt, display_name)
            importer.bind(header)
            for chunk in parse_chunks(table, importer, chunk_rows):
                send("chunk", _encode(chunk))
        send("done", None)
    except SiyuError as error:
        send("invalid", error.message)
    except BrokenPipeError:
        pass  # the importer stopped reading: it failed or was interrupted, and says so itself
    except Exception as error:  # reported to the parent, which fails the import with it
        send("failed", f"{type(error).__name__}: {error}")


def _encode(chunk: Chunk) -> tuple[Any, ...]:
    return (to_wire(chunk.orders), chunk.records, chunk.rejected, chunk.rows_read)


def _decode(payload: tuple[Any, ...]) -> Chunk:
    orders, records, rejected, rows_read = payload
    return Chunk(records, rejected, rows_read, from_wire(orders))


def main(argv: list[str]) -> None:
    # Chunks go to the real stdout; anything a library prints goes to stderr instead.
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=1 << 20)
    sys.stdout = sys.stderr
    path, fmt, display_name, chunk_rows = argv
    parse_to(channel, path, fmt, display_name, int(chunk_rows))
    with contextlib.suppress(BrokenPipeError):
        channel.close()


if __name__ == "__main__":
    main(sys.argv[1:])
