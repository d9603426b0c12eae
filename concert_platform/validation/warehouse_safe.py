"""The values every supported warehouse can store, as checks on Arrow columns and Python values.

One value a warehouse refuses fails that warehouse's load of the whole day; one
it stores or reads back differently makes the warehouses disagree. So a row
holding such a value is rejected at validation, in every dialect alike.
Measured on DuckDB 2.0 and PostgreSQL 15 (test_warehouse_safe_values.py
loads the edges into both, so a version that moves a limit fails there):

- Text must be UTF-8 without NUL. DuckDB refuses invalid UTF-8 ("Invalid
  unicode ... in segment statistics update"), PostgreSQL (and so Redshift)
  refuses it and NUL too ("invalid byte sequence for encoding UTF8"). A lone
  surrogate (JSON "\\ud800") is no UTF-8 at all. Redshift's text columns are
  VARCHAR(65535): at most 65535 bytes.
- Dates and timestamps (their UTC instant) within the years 1-9999, times of
  day below 24:00. PostgreSQL refuses the year 0 and earlier and 24:00 and
  later as Arrow writes them, silently stores other far years wrong, and
  psycopg (like Python) reads nothing from the year 10000 on. DuckDB stores
  them all, but no Python reader gets them back.
- Decimals within their declared precision: numeric(p, s) refuses more digits,
  and Arrow does not check them.
- Floats: DuckDB and PostgreSQL both store and return NaN and +-infinity, so the model decides.

Two kinds of check, kept apart so the column-wise and per-record paths agree:
``unreadable`` looks at a model field's input (bytes that are no text cannot
even be shown to the model), ``unstorable`` at the values a row would store.
Both return {row: problem} and cost one vectorised pass when all is well;
only flagged rows are looked at in Python. Problems read like Pydantic's
("section: ..."), so the caller prefixes the field and adds where the row is.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MAX_TEXT_BYTES = 65_535  # Redshift VARCHAR(65535), the widest text column of any dialect here
FIRST_US, LAST_US = -62_135_596_800_000_000, 253_402_300_799_999_999  # 0001-01-01T00:00Z, 9999-12-31T23:59:59.999999Z
FIRST_DAY, LAST_DAY = -719_162, 2_932_896  # 0001-01-01, 9999-12-31, in days from 1970-01-01
_DAY_S = 86_400
_PER_S = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_BLOCK = 4096  # rows validated at a time once a column holds bad UTF-8 somewhere
_PREVIEW = 40  # characters (or bytes) of a bad value shown in its reject
_YEARS = "outside the years 1-9999 that every warehouse stores and reads back"

Problems = dict[int, str]


# -- Python values -----------------------------------------------------------


class OutOfRange(str):
    """The text of a value Arrow holds but Python cannot (a date in the year 40000), and why
    no warehouse takes it: how ``table_records`` shows it, so both paths reject it alike."""

    problem: str

    def __new__(cls, text: str, problem: str) -> OutOfRange:
        value = super().__new__(cls, text)
        value.problem = problem
        return value


def unreadable_value(value) -> str | None:
    """Why a model field's input value (str, bytes or a list of them) is nothing a warehouse could hold."""
    if isinstance(value, OutOfRange):
        return value.problem
    if isinstance(value, str):
        return None if value.isascii() else _surrogate(value)
    if isinstance(value, (bytes, bytearray)):
        return _not_utf8(bytes(value))
    if isinstance(value, (list, tuple)):
        for k, item in enumerate(value):
            problem = unreadable_value(item)
            if problem:
                return f"item {k}: {problem}"
    return None


def _surrogate(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"not valid Unicode (lone surrogate \\u{ord(text[exc.start]):04x} at position {exc.start + 1} in {_show(text)})"
    return None


def _not_utf8(data: bytes) -> str | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        shown = repr(data[:_PREVIEW]) + ("…" if len(data) > _PREVIEW else "")
        return f"not valid UTF-8 (byte 0x{data[exc.start]:02X} at position {exc.start + 1} in {shown})"
    return None


def _text_problem(text: str, limit: int | None) -> str | None:
    """NUL, or more bytes than a text column holds (``limit``), in text that is valid Unicode."""
    at = text.find("\x00")
    if at >= 0:
        return f"holds a NUL character (at position {at + 1} in {_show(text)}), which PostgreSQL and Redshift cannot store"
    if limit is not None and len(text) > limit // 4:
        size = len(text.encode("utf-8"))
        if size > limit:
            return f"{size} bytes of UTF-8, more than the {limit} a Redshift VARCHAR holds"
    return None


def _show(text: str) -> str:
    return repr(text[:_PREVIEW]) + ("…" if len(text) > _PREVIEW else "")


def storable_text(text: str) -> str:
    """``text`` made storable everywhere, for rejects: lone surrogates and NUL escaped, cut to MAX_TEXT_BYTES."""
    if not text.isascii():
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    if len(text) > MAX_TEXT_BYTES // 4:
        data = text.encode("utf-8")
        if len(data) > MAX_TEXT_BYTES:
            tail = f" … [cut to fit a warehouse text column: {len(data)} bytes in all]"
            text = data[: MAX_TEXT_BYTES - len(tail.encode("utf-8"))].decode("utf-8", "ignore") + tail
    return text


# -- Arrow columns -----------------------------------------------------------


def unreadable(column: pa.Array | pa.ChunkedArray) -> Problems:
    """Rows of a model field's input column that hold what no warehouse (nor Python) can:
    text that is not UTF-8, dates, times and instants outside the ranges above."""
    return _by_chunk(_unreadable, column)


def unstorable(values: pa.Array | pa.ChunkedArray) -> Problems:
    """Rows whose value (of a field's Arrow type, as a row would store it) some warehouse refuses."""
    return _by_chunk(_unstorable, values)


def _by_chunk(check, column: pa.Array | pa.ChunkedArray) -> Problems:
    if not isinstance(column, pa.ChunkedArray):
        return check(column)
    found: Problems = {}
    start = 0
    for chunk in column.chunks:
        found.update({start + i: problem for i, problem in check(chunk).items()})
        start += len(chunk)
    return found


def _unreadable(col: pa.Array) -> Problems:
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    t = col.type
    if _is_text(t):
        return {i: _not_utf8(data) for i, data in _bad_utf8(col)}
    if _is_list(t) and _is_text(t.value_type):
        items, parents, rank = _items(col)
        return _first_per_row((parents[i], f"item {rank[i]}: {_not_utf8(data)}") for i, data in _bad_utf8(items))
    return _out_of_range(col)


def _unstorable(col: pa.Array) -> Problems:
    t = col.type
    if _is_text(t):
        return _text_rows(col, MAX_TEXT_BYTES)
    if _is_list(t) and _is_text(t.value_type):
        items, parents, rank = _items(col)
        found = _text_rows(items, None)  # no VARCHAR limit: Redshift keeps lists in a SUPER column
        return _first_per_row((parents[i], f"item {rank[i]}: {problem}") for i, problem in found.items())
    if pa.types.is_decimal(t):
        return _too_many_digits(col)
    return _out_of_range(col)


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t)


def _items(col: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """A list column's items, the row of each, and its place in its list."""
    items = pc.list_flatten(col)
    parents = pc.list_parent_indices(col).to_numpy(zero_copy_only=False)
    rank = np.arange(len(parents)) - np.searchsorted(parents, parents)  # parents ascend
    return items, parents, rank


def _first_per_row(found) -> Problems:
    out: Problems = {}
    for row, problem in found:
        out.setdefault(int(row), problem)
    return out


def _bad_utf8(text: pa.Array) -> list[tuple[int, bytes]]:
    """(index, bytes) of the values that are not UTF-8: one validation when all are fine,
    else one per block of rows, and Python only inside the failing blocks."""
    if _all_ascii(text):
        return []
    try:
        text.validate(full=True)
        return []
    except pa.ArrowInvalid:
        pass
    raw = text.cast(pa.large_binary() if pa.types.is_large_string(text.type) else pa.binary())
    bad = []
    for start in range(0, len(text), _BLOCK):
        try:
            text.slice(start, _BLOCK).validate(full=True)
            continue
        except pa.ArrowInvalid:
            pass
        for i, data in enumerate(raw.slice(start, _BLOCK).to_pylist(), start=start):
            if data is not None and _not_utf8(data):
                bad.append((i, data))
    return bad


def _text_rows(text: pa.Array, limit: int | None) -> Problems:
    """Rows of valid UTF-8 text holding NUL or (given ``limit``) too many bytes."""
    if not len(text):
        return {}
    suspect = None
    if _may_hold_nul(text):
        suspect = pc.fill_null(pc.match_substring(text, "\x00"), False)
    if limit is not None and _data_size(text) > limit:
        long = pc.fill_null(pc.greater(pc.binary_length(text), limit), False)
        suspect = long if suspect is None else pc.or_(suspect, long)
    if suspect is None:
        return {}
    rows = np.flatnonzero(suspect.to_numpy(zero_copy_only=False))
    values = text.take(pa.array(rows)).to_pylist()
    found = ((int(i), _text_problem(v, limit)) for i, v in zip(rows, values, strict=True))
    return {i: problem for i, problem in found if problem}


def _offsets(text: pa.Array) -> np.ndarray | None:
    """The value offsets of a string or large_string array (None for other layouts)."""
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        return None
    width = np.int64 if pa.types.is_large_string(text.type) else np.int32
    return np.frombuffer(text.buffers()[1], dtype=width)[text.offset : text.offset + len(text) + 1]


def _all_ascii(text: pa.Array) -> bool:
    """True when every byte of the values is ASCII (so all is UTF-8): one pass over the bytes, a few times faster than
    a validation, and the usual case."""
    offsets = _offsets(text)
    if offsets is None:
        return False
    data = text.buffers()[2]
    return data is None or offsets[-1] == offsets[0] or np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]].max() < 0x80


def _may_hold_nul(text: pa.Array) -> bool:
    """A quick look at the raw bytes: a NUL anywhere sends the array to the exact search."""
    offsets = _offsets(text)
    if offsets is None:
        return True
    data = text.buffers()[2]
    if data is None or offsets[-1] == offsets[0]:
        return False
    return not np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]].all()


def _data_size(text: pa.Array) -> int:
    offsets = _offsets(text)
    return int(offsets[-1] - offsets[0]) if offsets is not None else text.nbytes


def _too_many_digits(col: pa.Array) -> Problems:
    """Arrow does not hold a decimal to its precision (a Parquet writer or a cast can put more digits in)."""
    t = col.type
    limit = Decimal(10) ** (t.precision - t.scale)  # |value| must stay below
    extremes = pc.min_max(col)
    low, high = extremes["min"].as_py(), extremes["max"].as_py()
    if low is None or (-limit < low and high < limit):
        return {}
    problem = f"more digits than decimal({t.precision},{t.scale}) holds"
    return {i: problem for i, v in enumerate(col.to_pylist()) if v is not None and abs(v) >= limit}


def _out_of_range(col: pa.Array) -> Problems:
    return {i: f"{text} is {why}" for i, (text, why) in _beyond(col).items()}


def _beyond(col: pa.Array) -> dict[int, tuple[str, str]]:
    """Row -> (its value as text, why no warehouse takes it) for dates, times and instants out of range."""
    t = col.type
    if pa.types.is_timestamp(t):
        per = _PER_S[t.unit]  # the bounds in the column's unit, rounded inwards
        lo, hi, problem = -((-FIRST_US * per) // 1_000_000), (LAST_US * per) // 1_000_000, _YEARS
    elif pa.types.is_date32(t):
        lo, hi, problem = FIRST_DAY, LAST_DAY, _YEARS
    elif pa.types.is_date64(t):
        lo, hi, problem = FIRST_DAY * _DAY_S * 1000, (LAST_DAY + 1) * _DAY_S * 1000 - 1, _YEARS
    elif pa.types.is_time(t):
        lo, hi, problem = 0, _DAY_S * _PER_S[t.unit] - 1, "not a time of day (00:00 to 23:59:59.999999)"
    else:
        return {}
    if lo <= -(2**63) and hi >= 2**63 - 1:
        return {}
    extremes = pc.min_max(_counts(col))
    if extremes["min"].as_py() is None or (extremes["min"].as_py() >= lo and extremes["max"].as_py() <= hi):
        return {}  # the common case: one pass, no copy
    raw = pc.fill_null(_counts(col), 0).to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(((raw < lo) | (raw > hi)) & _present(col))
    return {int(i): (_temporal_text(col, int(i)), problem) for i in bad}


def beyond_python(column: pa.Array | pa.ChunkedArray) -> dict[int, OutOfRange]:
    """The values of a date, time or timestamp column that Python cannot hold, as marked text.
    pyarrow fails on such dates and instants, and wraps a time past midnight (25:00 -> 01:00)."""
    t = column.type
    if not (pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t)):
        return {}
    return _by_chunk(lambda chunk: {i: OutOfRange(text, f"{text} is {why}") for i, (text, why) in _beyond(chunk).items()}, column)


def _temporal_text(col: pa.Array, i: int) -> str:
    """A far date or instant as ISO text (numpy spans any int64; Arrow's own cast garbles far years)."""
    t = col.type
    count = _counts(col.slice(i, 1))[0].as_py()
    if pa.types.is_time(t):
        per = _PER_S[t.unit]
        if count < 0:
            return f"{count} {t.unit} from midnight"
        seconds, fraction = divmod(count, per)
        hours, rest = divmod(seconds, 3600)
        return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}" + (f".{fraction:0{len(str(per)) - 1}d}" if fraction else "")
    unit = "D" if pa.types.is_date32(t) else "ms" if pa.types.is_date64(t) else t.unit
    text = str(np.datetime64(count, unit))
    if text == "NaT":  # numpy's name for int64's minimum
        return f"{count} {unit} from 1970-01-01"
    return text + ("Z" if pa.types.is_timestamp(t) and t.tz else "")


def _counts(col: pa.Array) -> pa.Array:
    """A date, time or timestamp column as the integers Arrow keeps (days, units from midnight or the epoch)."""
    return col.cast(pa.int64() if col.type.bit_width == 64 else pa.int32())


def _present(arr: pa.Array) -> np.ndarray:
    return _mask(pc.is_valid(arr))


def _mask(arr) -> np.ndarray:
    return pc.fill_null(arr, False).to_numpy(zero_copy_only=False)
