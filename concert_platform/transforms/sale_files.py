"""Reading landing-zone sale files as bounded Arrow batches.

Two paths per file. The typed path streams the file through pyarrow's
readers (JSON lines, CSV with every column as text, Parquet row groups) and
is the fast one. JSON that pyarrow refuses (a line that is not JSON, a key
whose type changes mid-file) is re-read line by line: each line is parsed on
its own, so one bad line costs one reject, not the file. Both paths number
rows the same way on every read, which lets a caller fetch a raw row again.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from concert_platform.sources.landing import LandingFile, LandingZone

_BYTES_PER_ROW = 256  # sizes read blocks so a batch holds roughly batch_rows rows
_MIN_BLOCK, _MAX_BLOCK = 64 << 10, 256 << 20


class UnparseableFile(Exception):
    """The file as a whole cannot be read as sales (not merely some rows)."""


@dataclass
class BadRow:
    line: Optional[int]  # 1-based line in the file, when the reader knows it
    text: str
    reason: str  # short reason, for stats
    error: str  # readable sentence, for the reject


@dataclass
class Batch:
    """Rows read from one file, in file order."""

    first: int  # row number of the first row
    table: Optional[pa.Table]  # None when the rows' types clash; then use records
    records: Optional[list[dict]] = None  # the parsed lines (per-line path only)
    bad_rows: list[BadRow] = field(default_factory=list)
    numbers: Optional[np.ndarray] = None  # row numbers when not first, first+1, ...

    @property
    def num_rows(self) -> int:
        return self.table.num_rows if self.table is not None else len(self.records or [])

    def row_numbers(self) -> np.ndarray:
        if self.numbers is not None:
            return self.numbers
        return np.arange(self.first, self.first + self.num_rows, dtype=np.int64)


def typed_batches(zone: LandingZone, file: LandingFile, batch_rows: int, expected: Iterable[str],
                  text_fields: Iterable[str] = ()) -> Iterator[Batch]:
    """The fast path. Raises pyarrow's error if the file defeats the typed reader.

    ``expected`` are the field names a header must share at least one of;
    ``text_fields`` are read from JSON as text, because pyarrow would turn
    "2025-10-03T01:00:00Z" into a timestamp without its zone.
    """
    block = min(max(batch_rows * _BYTES_PER_ROW, _MIN_BLOCK), _MAX_BLOCK)
    if file.format == "parquet":
        parquet = pq.ParquetFile(zone.location.filesystem.open_input_file(file.path))
        _require_columns(file, parquet.schema_arrow.names, expected)
        reader: Iterable = parquet.iter_batches(batch_size=batch_rows)
        bad_rows: list[BadRow] = []
    elif file.format == "csv":
        with zone.open(file.path) as stream:  # first pass reads the header only
            names = pacsv.open_csv(stream, read_options=pacsv.ReadOptions(block_size=_MIN_BLOCK),
                                   parse_options=pacsv.ParseOptions(invalid_row_handler=lambda row: "skip")).schema.names
        _require_columns(file, names, expected)
        bad_rows = []
        reader = pacsv.open_csv(
            zone.open(file.path),
            read_options=pacsv.ReadOptions(block_size=block, use_threads=False),  # so bad rows know their line
            parse_options=pacsv.ParseOptions(invalid_row_handler=_collect_into(bad_rows)),
            # Everything as text: inference on the first block breaks on a later
            # one; the validator converts text exactly. An empty cell is absent.
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=True, quoted_strings_can_be_null=False),
        )
    else:
        explicit = pa.schema([(name, pa.string()) for name in text_fields])
        reader = pajson.open_json(zone.open(file.path), read_options=pajson.ReadOptions(block_size=block),
                                  parse_options=pajson.ParseOptions(explicit_schema=explicit))
        bad_rows = []
    first = 0
    for record_batch in reader:
        table = pa.Table.from_batches([record_batch])
        for start in range(0, max(table.num_rows, 1), batch_rows):
            piece = table.slice(start, batch_rows)
            yield Batch(first, piece, bad_rows=bad_rows[:])
            bad_rows.clear()
            first += piece.num_rows
    if bad_rows:
        yield Batch(first, None, [], bad_rows)


def line_batches(zone: LandingZone, file: LandingFile, batch_rows: int) -> Iterator[Batch]:
    """The per-line path for JSON lines: every line parsed on its own."""
    first, records, bad = 0, [], []
    with zone.open(file.path) as stream:
        for number, line in enumerate(_lines(stream), start=1):
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
            if len(records) >= batch_rows:
                yield from _split_by_types(first, records, bad)
                first, records, bad = first + len(records), [], []
    if records or bad:
        yield from _split_by_types(first, records, bad)


def _split_by_types(first: int, records: list[dict], bad: list[BadRow]) -> Iterator[Batch]:
    """Records as tables; when a key's type varies, one table per combination of types,
    so a file mixing "89.50" and 89.5 still takes the column-wise path."""
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


def records_table(records: list[dict]) -> tuple[Optional[pa.Table], list[str]]:
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
        bad_rows.append(BadRow(row.number, row.text, "malformed CSV row",
                               f"{where} has {row.actual_columns} columns, the header {row.expected_columns}"))
        return "skip"

    return handler


def _lines(stream, chunk: int = 1 << 20) -> Iterator[bytes]:
    rest = b""
    while data := stream.read(chunk):
        *lines, rest = (rest + data).split(b"\n")
        yield from lines
    if rest:
        yield rest


def _text(line: bytes) -> str:
    return line.decode("utf-8", errors="replace").rstrip("\r")
