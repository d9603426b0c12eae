"""Reading landing-zone sale files as bounded Arrow batches.

CSV (every column as text) and Parquet stream through pyarrow's readers.
JSON lines are cut into byte chunks of whole lines, each read by pyarrow on
its own; a chunk pyarrow refuses (a line that is not JSON, a key whose type
changes inside it) is parsed line by line, so one bad line costs one reject,
not the file. Rows are numbered the same way on every read, which lets a
caller fetch a raw row again later.
"""

from __future__ import annotations

import json
import queue
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from concert_platform.sources.landing import LandingFile, LandingZone

_BYTES_PER_ROW = 256  # sizes read blocks so a batch holds roughly batch_rows rows
_MIN_BLOCK, _MAX_BLOCK = 64 << 10, 256 << 20
_JSON_CHUNK, _PROBE = 16 << 20, 64 << 10


class UnparseableFile(Exception):
    """The file as a whole cannot be read as sales (not merely some rows)."""


@dataclass
class BadRow:
    line: int | None  # 1-based line in the file, when the reader knows it
    text: str
    reason: str  # short reason, for stats
    error: str  # readable sentence, for the reject


@dataclass
class Batch:
    """Rows read from one file, in file order."""

    first: int  # row number of the first row
    table: pa.Table | None  # None when the rows' types clash; then use records
    records: list[dict] | None = None  # the parsed lines (per-line path only)
    bad_rows: list[BadRow] = field(default_factory=list)
    numbers: np.ndarray | None = None  # row numbers when not first, first+1, ...

    @property
    def num_rows(self) -> int:
        return self.table.num_rows if self.table is not None else len(self.records or [])

    def row_numbers(self) -> np.ndarray:
        if self.numbers is not None:
            return self.numbers
        return np.arange(self.first, self.first + self.num_rows, dtype=np.int64)


def sale_batches(
    zone: LandingZone, file: LandingFile, batch_rows: int, expected: Iterable[str], text_fields: Iterable[str] = ()
) -> Iterator[Batch]:
    """A file's rows in batches of at most ``batch_rows``, numbered the same way on every read.

    ``expected`` are field names a CSV or Parquet header must share at least
    one of; ``text_fields`` are read from JSON as text, because pyarrow would
    turn "2025-10-03T01:00:00Z" into a timestamp without its zone. Raises
    UnparseableFile, or pyarrow's error, when the file cannot be read at all.
    """
    if file.format == "jsonl":
        yield from _json_batches(zone, file, batch_rows, text_fields)
    elif file.format == "parquet":
        with zone.location.filesystem.open_input_file(file.path) as source:  # Parquet needs random access
            parquet = pq.ParquetFile(source)
            _require_columns(file, parquet.schema_arrow.names, expected)
            yield from _sliced(parquet.iter_batches(batch_size=batch_rows), batch_rows, [])
    else:
        with zone.open(file.path) as stream:  # a first pass reads the header only
            names = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(block_size=_MIN_BLOCK),
                parse_options=pacsv.ParseOptions(invalid_row_handler=lambda row: "skip"),
            ).schema.names
        _require_columns(file, names, expected)
        bad_rows: list[BadRow] = []
        with zone.open(file.path) as stream:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(block_size=_block(batch_rows), use_threads=False),  # bad rows get a line
                parse_options=pacsv.ParseOptions(invalid_row_handler=_collect_into(bad_rows)),
                # Everything as text: inference on the first block breaks on a later
                # one; the validator converts text exactly. An empty cell is absent.
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in names}, strings_can_be_null=True, quoted_strings_can_be_null=False
                ),
            )
            yield from _sliced(reader, batch_rows, bad_rows)


def _sliced(reader: Iterable[pa.RecordBatch], batch_rows: int, bad_rows: list[BadRow]) -> Iterator[Batch]:
    """Reader batches cut to batch_rows, carrying the bad rows met so far."""
    first = 0
    for record_batch in reader:
        table = pa.Table.from_batches([record_batch])
        for start in range(0, table.num_rows, batch_rows):
            yield Batch(first + start, table.slice(start, batch_rows), bad_rows=bad_rows[:])
            bad_rows.clear()
        first += table.num_rows
    if bad_rows:
        yield Batch(first, None, [], bad_rows[:])


def _json_batches(zone: LandingZone, file: LandingFile, batch_rows: int, text_fields: Iterable[str]) -> Iterator[Batch]:
    """JSON lines, one chunk of whole lines at a time. Each chunk gets its own
    pyarrow read (so a key that is null early and text later, or whose type
    differs between chunks, is no problem: pyarrow's streaming reader fixes
    the types at the first block); a chunk pyarrow refuses is parsed line by line."""
    options = pajson.ParseOptions(explicit_schema=pa.schema([(name, pa.string()) for name in text_fields]))
    # 16 MiB chunks read fastest (pyarrow parses a chunk's blocks in parallel).
    size = min(_block(batch_rows), _JSON_CHUNK)
    with zone.location.filesystem.open_input_file(file.path) as source:
        lines = _LineCounter(source)
        for number, (start, chunk) in enumerate(_chunks(source, size)):
            base = number << 32  # row numbers: chunk, then row within it
            yield from _parsed(chunk, lambda start=start: lines.line_at(start), base, options, batch_rows)


def _parsed(chunk: bytes, first_line, base: int, options, batch_rows: int) -> Iterator[Batch]:
    """A run of lines through pyarrow; if it refuses, halve the run until the
    failing pieces are a few lines, and parse only those line by line. One bad
    line in a million then costs a few extra reads, not a million json.loads."""
    try:
        table = pajson.read_json(pa.BufferReader(chunk), parse_options=options)
    except (pa.ArrowException, ValueError):
        table = None
    if table is not None:
        for first in range(0, table.num_rows, batch_rows):
            yield Batch(base + first, table.slice(first, batch_rows))
        return
    middle = chunk.find(b"\n", len(chunk) // 2) + 1
    if chunk.count(b"\n", 0, len(chunk)) <= _LINE_BY_LINE or middle in (0, len(chunk)):
        yield from _line_batches(chunk, first_line(), base, batch_rows)
        return
    skipped = chunk.count(b"\n", 0, middle)
    yield from _parsed(chunk[:middle], first_line, base, options, batch_rows)
    yield from _parsed(chunk[middle:], lambda: first_line() + skipped, base + skipped, options, batch_rows)


# Below this many lines a refused piece is parsed line by line.
_LINE_BY_LINE = 64


def _chunks(source, size: int) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) of consecutive runs of whole lines, about ``size`` bytes each."""
    total, start = source.size(), 0
    while start < total:
        end = min(start + size, total)
        while end < total:  # extend to the end of the line the cut falls in
            probe = source.read_at(min(_PROBE, total - end), end)
            newline = probe.find(b"\n")
            if newline >= 0:
                end += newline + 1
                break
            end += len(probe)
        yield start, source.read_at(end - start, start)
        start = end


class _LineCounter:
    """Line numbers for offsets, counted only when a chunk needs them (rarely)."""

    def __init__(self, source):
        self.source, self.offset, self.line = source, 0, 1

    def line_at(self, offset: int) -> int:
        while self.offset < offset:
            piece = self.source.read_at(min(_JSON_CHUNK, offset - self.offset), self.offset)
            self.line += piece.count(b"\n")
            self.offset += len(piece)
        return self.line


def _line_batches(chunk: bytes, first_line: int, base: int, batch_rows: int) -> Iterator[Batch]:
    records, bad = [], []
    for number, line in enumerate(chunk.split(b"\n"), start=first_line):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:  # includes bad UTF-8
            bad.append(BadRow(number, _text(line), "invalid JSON line", f"line {number} is not valid JSON"))
            continue
        if not isinstance(record, dict):
            bad.append(BadRow(number, _text(line), "invalid JSON line", f"line {number} is not a JSON object"))
            continue
        records.append(record)
    for start in range(0, max(len(records), 1), batch_rows):
        yield from _split_by_types(base + start, records[start : start + batch_rows], bad if start == 0 else [])


def _block(batch_rows: int) -> int:
    return min(max(batch_rows * _BYTES_PER_ROW, _MIN_BLOCK), _MAX_BLOCK)


def _split_by_types(first: int, records: list[dict], bad: list[BadRow]) -> Iterator[Batch]:
    """Records as tables; when a key's type varies, one table per combination of types,
    so a file mixing "89.50" and 89.5 still takes the column-wise path."""
    if not records and not bad:
        return
    table, clashing = records_table(records)
    if not clashing:
        yield Batch(first, table, records, bad)
        return
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        groups[tuple(_json_kind(record.get(k)) for k in clashing)].append(i)
    for n, rows in enumerate(groups.values()):
        subset = [records[i] for i in rows]
        numbers = np.asarray(rows, dtype=np.int64) + first
        yield Batch(first, records_table(subset)[0], subset, bad if n == 0 else [], numbers)


def records_table(records: list[dict]) -> tuple[pa.Table | None, list[str]]:
    """(table, []), or (None, keys whose values share no Arrow type), or (None, [])
    when the records have no keys at all (a table would lose their count)."""
    keys = list(dict.fromkeys(k for r in records for k in r))
    columns, clashing = {}, []
    for key in keys:
        try:
            columns[key] = pa.array([r.get(key) for r in records])
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            clashing.append(key)
    if clashing or not columns:
        return None, clashing
    return pa.table(columns), []


def _json_kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number" if not isinstance(value, int) or abs(value) < 2**63 else "bigint"
    return type(value).__name__


def _require_columns(file: LandingFile, names: list[str], expected: Iterable[str]) -> None:
    if not set(names) & set(expected):
        shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
        raise UnparseableFile(f"no sale field among the columns of {file.name} ({shown}); is the header missing?")


def _collect_into(bad_rows: list[BadRow]):
    def handler(row) -> str:
        where = f"line {row.number}" if row.number is not None else "a row"
        bad_rows.append(
            BadRow(
                row.number,
                row.text,
                "malformed CSV row",
                f"{where} has {row.actual_columns} columns, the header {row.expected_columns}",
            )
        )
        return "skip"

    return handler


def prefetched(batches: Iterator[Batch], depth: int = 1) -> Iterator[Batch]:
    """Read the next batch in a thread while the caller validates this one: both
    parsing and Arrow compute release the GIL, so two cores both work. At most
    ``depth`` batches wait, which keeps memory bounded."""
    waiting: queue.Queue = queue.Queue(maxsize=depth)
    stop, done = threading.Event(), object()

    def hand_over(item) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in batches:
                if not hand_over(batch):
                    return
            hand_over(done)
        except BaseException as exc:  # re-raised in the caller's thread
            hand_over(_Failed(exc))

    reader = threading.Thread(target=read, name="sale-file-reader", daemon=True)
    reader.start()
    try:
        while (item := waiting.get()) is not done:
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        stop.set()
        reader.join()


@dataclass
class _Failed:
    exc: BaseException


def _text(line: bytes) -> str:
    return line.decode("utf-8", errors="replace").rstrip("\r")
