"""Reading landing-zone sale files as bounded Arrow batches.

CSV and Parquet stream through pyarrow's readers; CSV cells are read as bytes
and checked as UTF-8 column by column, so a bad byte costs its row, not the
file. JSON lines are cut into byte chunks of whole lines, each read by
pyarrow on its own; a chunk pyarrow refuses (a line that is not JSON, a key
whose type changes inside it, a key given twice in one object) is parsed line
by line, so one bad line costs one reject, not the file. A gzipped file is
decompressed as a stream and cut into the same chunks; a JSON array is read
record by record from a stream. Rows are numbered the same way on every
read, which lets a caller fetch a raw row again later.

A file refused as a whole says why: a text encoding other than UTF-8, a CSV
separated by something other than commas, a compression other than gzip.
"""

from __future__ import annotations

import bisect
import codecs
import json
import queue
import re
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
_STREAM_READ = 4 << 20  # bytes asked of a stream at a time, where no chunk size applies
_MAX_RECORD = 64 << 20  # a JSON array element longer than this is taken as a broken array


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
    _check_compression(file)
    if file.format == "parquet":
        with zone.location.filesystem.open_input_file(file.path) as source:  # Parquet needs random access
            parquet = pq.ParquetFile(source)
            _require_columns(file, parquet.schema_arrow.names, expected)
            yield from _sliced(parquet.iter_batches(batch_size=batch_rows), batch_rows, [])
        return
    head = _head(zone, file)
    _check_encoding(file, head)
    if file.format == "csv":
        yield from _csv_batches(zone, file, batch_rows, expected, head)
    elif file.format == "json" and head.removeprefix(codecs.BOM_UTF8).lstrip()[:1] == b"[":
        with _open(zone, file) as stream:
            yield from _array_batches(_ArrayReader(stream, file.name), batch_rows)
    else:  # JSON lines, and a .json file that is not an array
        yield from _json_batches(zone, file, batch_rows, text_fields)


def _open(zone: LandingZone, file: LandingFile):
    """The file's bytes as a stream, decompressed as they are read."""
    return zone.open(file.path, compression=file.compression)


def _check_compression(file: LandingFile) -> None:
    if file.compression not in (None, "gzip"):
        raise UnparseableFile(f"{file.name} is compressed with {file.compression}; only gzip (.gz) is read")
    if file.compression and file.format == "parquet":
        raise UnparseableFile(f"{file.name} is a gzipped Parquet file; Parquet compresses itself, send it as .parquet")


def _head(zone: LandingZone, file: LandingFile) -> bytes:
    """The first bytes of the file's text, for sniffing its encoding and shape."""
    try:
        with _open(zone, file) as stream:
            return stream.read(_PROBE)
    except (pa.ArrowException, OSError) as exc:
        if file.compression:
            raise UnparseableFile(f"{file.name} is not readable as {file.compression}: {exc}") from exc
        raise


_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32 (little-endian)"),
    (codecs.BOM_UTF32_BE, "UTF-32 (big-endian)"),
    (codecs.BOM_UTF16_LE, "UTF-16 (little-endian)"),
    (codecs.BOM_UTF16_BE, "UTF-16 (big-endian)"),
)
# Which of the first four bytes are NUL when a file starting with an ASCII character ({, [, a
# header's name) is UTF-16 or UTF-32 without a byte-order mark (the sniffing of RFC 4627).
_NUL_PATTERNS = {
    (True, True, True, False): "UTF-32 (big-endian)",
    (False, True, True, True): "UTF-32 (little-endian)",
    (True, False, True, False): "UTF-16 (big-endian)",
    (False, True, False, True): "UTF-16 (little-endian)",
}


def _check_encoding(file: LandingFile, head: bytes) -> None:
    """Refuse text that is not UTF-8 as a whole, by name. A UTF-8 byte-order mark is fine
    (spreadsheets write one; pyarrow skips it); a stray invalid byte later costs only its row."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            raise UnparseableFile(
                f"{file.name} is {encoding} text (byte-order mark {bom.hex(' ').upper()}); sale files must be UTF-8"
            )
    encoding = _NUL_PATTERNS.get(tuple(b == 0 for b in head[:4])) if len(head) >= 4 else None
    if encoding:
        raise UnparseableFile(
            f"{file.name} looks like {encoding} text without a byte-order mark (NUL bytes between its first "
            "characters); sale files must be UTF-8"
        )


def _csv_batches(zone: LandingZone, file: LandingFile, batch_rows: int, expected, head: bytes) -> Iterator[Batch]:
    with _open(zone, file) as stream:  # a first pass reads the header only
        names = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=_MIN_BLOCK),
            parse_options=pacsv.ParseOptions(invalid_row_handler=lambda row: "skip"),
        ).schema.names
    _require_csv_columns(file, names, expected, head)
    bad_rows: list[BadRow] = []
    lines = _CsvLines(lambda: _open(zone, file))
    with _open(zone, file) as stream:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=_block(batch_rows), use_threads=False),  # bad rows get a number
            parse_options=pacsv.ParseOptions(invalid_row_handler=_collect_into(bad_rows, lines)),
            # Everything as bytes, checked as UTF-8 per column (`_utf8_rows`): read as text,
            # one bad byte would fail the whole file. Inference on the first block breaks on a
            # later one; the validator converts text exactly. An empty cell is absent.
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.binary() for n in names}, strings_can_be_null=True, quoted_strings_can_be_null=False
            ),
        )
        yield from _sliced(_utf8_rows(reader, file.name, lines, bad_rows), batch_rows, bad_rows)


def _utf8_rows(reader: Iterable[pa.RecordBatch], name: str, lines: _CsvLines, bad_rows: list[BadRow]):
    """Record batches of byte columns as text; a row with a cell that is not UTF-8 becomes a bad
    row instead. The cast that checks a column is the same check a text read makes, so valid
    files cost what they did; only a batch holding a bad byte is looked at cell by cell."""
    row = 0  # rows pyarrow kept so far, to find a bad one's line
    for batch in reader:
        columns, bad = [], np.zeros(batch.num_rows, dtype=bool)
        for column in batch.columns:
            try:
                columns.append(column.cast(pa.string()))
            except pa.ArrowInvalid:
                columns.append(None)
                bad |= _not_utf8(column)
        if bad.any():
            for i in np.flatnonzero(bad):
                cells = batch.slice(int(i), 1).to_pylist()[0]
                bad_rows.append(lines.later(_bad_utf8_row(name, cells), lines.number_of(row + int(i))))
            keep = pa.array(~bad)
            batch = batch.filter(keep)
            columns = [batch.column(j).cast(pa.string()) if c is None else c.filter(keep) for j, c in enumerate(columns)]
        row += len(bad)
        lines.resolve()
        yield pa.RecordBatch.from_arrays(columns, names=batch.schema.names)
    lines.resolve()


def _not_utf8(column: pa.Array) -> np.ndarray:
    """Which cells of a byte column are not UTF-8 (the slow look, for a batch known to hold one)."""
    bad = np.zeros(len(column), dtype=bool)
    for i, value in enumerate(column.to_pylist()):
        if value is not None:
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                bad[i] = True
    return bad


def _bad_utf8_row(name: str, cells: dict[str, bytes | None]) -> tuple[BadRow, object]:
    column, problem = next((c, _utf8_problem(v)) for c, v in cells.items() if v is not None and _utf8_problem(v))
    text = ",".join("" if v is None else v.decode("utf-8", errors="replace") for v in cells.values())
    return BadRow(None, text, "invalid UTF-8", ""), lambda where: f"{name} {where}: {column} is not valid UTF-8 ({problem})"


def _utf8_problem(value: bytes) -> str | None:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"byte 0x{value[exc.start]:02X} at position {exc.start + 1}"
    return None


class _CsvLines:
    """The lines of a CSV's bad rows. pyarrow numbers a row it skips by its place among the
    file's non-empty lines (the header is 1) and gives the rows it keeps no number at all; a
    second, forward-only read of the file, made only when a bad row needs its line, turns
    such numbers into the lines an editor shows."""

    def __init__(self, open_stream):
        self.open_stream = open_stream
        self.skipped: list[int] = []  # pyarrow's numbers of the rows it skipped, ascending
        self.pending: list[tuple[int | None, BadRow, object]] = []
        self.lines: Iterator[int] | None = None
        self.count, self.line = 0, 0  # non-empty lines passed, and the line of the last one

    def number_of(self, row: int) -> int:
        """pyarrow's number for the ``row``-th row it kept (0-based): past the header and the rows it skipped."""
        number = row + 2
        while (moved := row + 2 + bisect.bisect_right(self.skipped, number)) != number:
            number = moved
        return number

    def later(self, made: tuple[BadRow, object], number: int | None) -> BadRow:
        """A bad row whose line and error are filled in by the next `resolve`."""
        bad, describe = made
        self.pending.append((number, bad, describe))
        return bad

    def resolve(self) -> None:
        for number, bad, describe in sorted(self.pending, key=lambda p: p[0] or 0):
            bad.line = self._line_of(number) if number is not None else None
            bad.error = describe(f"line {bad.line}" if bad.line is not None else "a row")
        self.pending.clear()

    def _line_of(self, number: int) -> int | None:
        if self.lines is None or number < self.count:  # first use, or behind (rare): read from the start
            self.lines, self.count, self.line = self._non_empty(), 0, 0
        while self.count < number:
            line = next(self.lines, None)
            if line is None:
                return None
            self.count, self.line = self.count + 1, line
        return self.line

    def _non_empty(self) -> Iterator[int]:
        with self.open_stream() as stream:
            for number, line in enumerate(_stream_lines(stream), start=1):
                if line.rstrip(b"\r"):
                    yield number


def _stream_lines(stream) -> Iterator[bytes]:
    pending = b""
    while piece := stream.read(_STREAM_READ):
        lines = (pending + piece).split(b"\n")
        pending = lines.pop()
        yield from lines
    if pending:
        yield pending


_DELIMITERS = ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars"))


def _require_csv_columns(file: LandingFile, names: list[str], expected: Iterable[str], head: bytes) -> None:
    """A header that shares no sale field: name the delimiter when another one would have split it into sale fields."""
    if set(names) & set(expected):
        return
    header = head.removeprefix(codecs.BOM_UTF8).split(b"\n", 1)[0].decode("utf-8", errors="replace").strip()
    for delimiter, label in _DELIMITERS:
        cells = {cell.strip().strip('"') for cell in header.split(delimiter)}
        if len(cells) > 1 and cells & set(expected):
            raise UnparseableFile(
                f"{file.name} is separated by {label} ({delimiter!r}), not commas; only comma-separated CSV is read"
            )
    _require_columns(file, names, expected)


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
    if file.compression:  # no random access into a compressed file: the same chunks, from a stream
        with _open(zone, file) as stream:
            for number, (line, chunk) in enumerate(_stream_chunks(stream, size)):
                yield from _parsed(chunk, lambda line=line: line, number << 32, options, batch_rows, file.name)
        return
    with zone.location.filesystem.open_input_file(file.path) as source:
        lines = _LineCounter(source)
        for number, (start, chunk) in enumerate(_chunks(source, size)):
            base = number << 32  # row numbers: chunk, then row within it
            yield from _parsed(chunk, lambda start=start: lines.line_at(start), base, options, batch_rows, file.name)


def _parsed(chunk: bytes, first_line, base: int, options, batch_rows: int, name: str) -> Iterator[Batch]:
    """A run of lines through pyarrow; if it refuses, halve the run until the
    failing pieces are a few lines, and parse only those line by line. One bad
    line in a million then costs a few extra reads, not a million json.loads.

    pyarrow refuses a key given twice in one object ("Column(/sale_id) was
    specified twice"), so duplicate keys need no check on this fast path; the
    line-by-line parse finds and rejects them (a test pins pyarrow's refusal)."""
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
        yield from _line_batches(chunk, first_line(), base, batch_rows, name)
        return
    skipped = chunk.count(b"\n", 0, middle)
    yield from _parsed(chunk[:middle], first_line, base, options, batch_rows, name)
    yield from _parsed(chunk[middle:], lambda: first_line() + skipped, base + skipped, options, batch_rows, name)


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


def _stream_chunks(stream, size: int) -> Iterator[tuple[int, bytes]]:
    """(first line, bytes) of consecutive runs of whole lines read from a stream, cut where
    `_chunks` cuts a file (at the first newline from ``size`` bytes on). Memory: about one
    chunk, copied once. Lines are counted as the chunks pass, since a stream cannot be re-read."""
    tail, line = b"", 1
    while True:
        pieces = [tail, _read_full(stream, size - len(tail))]
        if len(tail) + len(pieces[1]) < size:  # the end of the stream
            chunk = b"".join(pieces)
            if chunk:
                yield line, chunk
            return
        tail = b""
        while probe := stream.read(min(_PROBE, size)):  # on to the end of the line the cut falls in
            newline = probe.find(b"\n")
            if newline >= 0:
                pieces.append(probe[: newline + 1])
                tail = probe[newline + 1 :]
                break
            pieces.append(probe)
        chunk = b"".join(pieces)
        yield line, chunk
        line += chunk.count(b"\n")


def _read_full(stream, n: int) -> bytes:
    """``n`` bytes, fewer only at the end: a stream may hand over less than asked before it ends."""
    first = stream.read(n)
    if len(first) == n or not first:
        return first
    pieces, got = [first], len(first)
    while got < n and (piece := stream.read(n - got)):
        pieces.append(piece)
        got += len(piece)
    return b"".join(pieces)


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


def _line_batches(chunk: bytes, first_line: int, base: int, batch_rows: int, name: str) -> Iterator[Batch]:
    records, bad = [], []
    for number, line in enumerate(chunk.split(b"\n"), start=first_line):
        if not line.strip():
            continue
        try:
            record = parse_line(line.removeprefix(codecs.BOM_UTF8) if number == 1 else line)
        except DuplicateKey as exc:
            error = f"{name} line {number}: the key {exc.key!r} appears more than once in one object"
            bad.append(BadRow(number, _text(line), "duplicate key", error))
            continue
        except UnicodeDecodeError as exc:
            error = f"line {number} is not valid JSON: byte 0x{line[exc.start]:02X} at position {exc.start + 1} is not UTF-8"
            bad.append(BadRow(number, _text(line), "invalid JSON line", error))
            continue
        except ValueError:
            bad.append(BadRow(number, _text(line), "invalid JSON line", f"line {number} is not valid JSON"))
            continue
        if not isinstance(record, dict):
            bad.append(BadRow(number, _text(line), "invalid JSON line", f"line {number} is not a JSON object"))
            continue
        records.append(record)
    for start in range(0, max(len(records), 1), batch_rows):
        yield from _split_by_types(base + start, records[start : start + batch_rows], bad if start == 0 else [])


class DuplicateKey(Exception):
    """A JSON object names a key twice; json.loads would keep the last value and hide the first."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    record = dict(pairs)
    if len(record) != len(pairs):
        seen: set[str] = set()
        raise DuplicateKey(next(key for key, _ in pairs if key in seen or seen.add(key)))
    return record


# One decoder for every line: json.loads with a hook would build a new one per call (slower
# than the plain json.loads this replaces; this one is a little faster).
_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)
_PLAIN = json.JSONDecoder()


def parse_line(line: bytes):
    """One JSON value from a line of UTF-8; raises DuplicateKey for an object (at any depth)
    that names a key twice, UnicodeDecodeError or ValueError for a line that is not JSON."""
    return _DECODER.decode(line.decode("utf-8"))


class _ArrayReader:
    """The records of a JSON array (``[{...}, {...}]``), one by one from a stream.

    Memory holds the text of one read plus the record being decoded, never the
    whole array. A record that is not an object, names a key twice or holds
    bytes that are not UTF-8 is a bad row with its line; text that is not an
    array of JSON values at all (a missing comma, an unclosed bracket) makes
    the file unparseable, since nothing after it can be trusted."""

    _SPACE = re.compile(r"[ \t\r\n]*")
    _NOT_UTF8 = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of a byte that is not UTF-8

    def __init__(self, stream, name: str):
        self.stream, self.name = stream, name
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        self.text, self.pos, self.line, self.eof = "", 0, 1, False

    def records(self) -> Iterator[dict | BadRow]:
        """Each element: its record, or the bad row it makes."""
        self._read()
        if self._peek() == "\ufeff":  # a UTF-8 byte-order mark
            self.pos = 1
        self._space()
        if self._peek() != "[":
            raise UnparseableFile(f"{self.name} is not a JSON array of records")
        self._move(self.pos + 1)
        self._space()
        if self._peek() == "]":
            return self._end()
        while True:
            record, end = self._element()
            yield record
            self._move(end)
            self._space()
            following = self._peek()
            if following == "]":
                return self._end()
            if following != ",":
                raise UnparseableFile(f"{self.name} line {self.line}: expected , or ] after a record")
            self._move(self.pos + 1)
            self._space()

    def _element(self) -> tuple[dict | BadRow, int]:
        """The record at ``pos`` (or why it is a bad row), and where it ends."""
        where = f"{self.name} line {self.line}"
        try:
            record, end = self._decode(_DECODER)
        except DuplicateKey as exc:
            end = self._decode(_PLAIN)[1]
            return self._bad(end, "duplicate key", f"{where}: the key {exc.key!r} appears more than once in one object"), end
        if self._NOT_UTF8.search(self.text, self.pos, end):
            return self._bad(end, "invalid JSON record", f"{where}: the record is not valid UTF-8"), end
        if not isinstance(record, dict):
            return self._bad(end, "invalid JSON record", f"{where}: the array element is not a JSON object"), end
        return record, end

    def _bad(self, end: int, reason: str, error: str) -> BadRow:
        text = self.text[self.pos : end].encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
        return BadRow(self.line, text, reason, error)

    def _decode(self, decoder: json.JSONDecoder):
        """Decode the value at ``pos``, reading on while it may be cut off by the end of the text read so far."""
        while True:
            try:
                value, end = decoder.raw_decode(self.text, self.pos)
                if end < len(self.text) or self.eof:
                    return value, end
            except json.JSONDecodeError as exc:
                if self.eof or len(self.text) - self.pos > _MAX_RECORD:
                    raise UnparseableFile(f"{self.name} line {self.line}: the array is not valid JSON ({exc.msg})") from None
            self._read()

    def _space(self) -> None:
        while True:
            self._move(self._SPACE.match(self.text, self.pos).end())
            if self.pos < len(self.text) or not self._read():
                return

    def _peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def _move(self, to: int) -> None:
        self.line += self.text.count("\n", self.pos, to)
        self.pos = to

    def _read(self) -> bool:
        if self.eof:
            return False
        piece = self.stream.read(_STREAM_READ)
        self.eof = not piece
        self.text = self.text[self.pos :] + self.decoder.decode(piece, final=self.eof)
        self.pos = 0
        return True

    def _end(self) -> None:
        """Past the closing ``]`` at ``pos``: nothing but space may follow."""
        self._move(self.pos + 1)
        self._space()
        if self.pos < len(self.text):
            raise UnparseableFile(f"{self.name} line {self.line}: text after the array's closing ]")


def _array_batches(reader: _ArrayReader, batch_rows: int) -> Iterator[Batch]:
    records, bad, first = [], [], 0
    for index, record in enumerate(reader.records()):
        (bad if isinstance(record, BadRow) else records).append(record)
        if len(records) + len(bad) >= batch_rows:
            yield from _split_by_types(first, records, bad)
            records, bad, first = [], [], index + 1
    yield from _split_by_types(first, records, bad)


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


def _collect_into(bad_rows: list[BadRow], lines: _CsvLines):
    def handler(row) -> str:
        actual, expected = row.actual_columns, row.expected_columns
        bad = BadRow(row.number, row.text, "malformed CSV row", "")
        bad_rows.append(lines.later((bad, lambda where: f"{where} has {actual} columns, the header {expected}"), row.number))
        if row.number is not None:
            lines.skipped.append(row.number)
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
