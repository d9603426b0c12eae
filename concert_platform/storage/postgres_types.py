"""Arrow <-> PostgreSQL: the DDL that fits a table to Arrow data, the stream COPY reads, Arrow types for reads.

Type names are spelled the way PostgreSQL's ``format_type()`` prints them, so
what the catalog says about an existing column compares directly with what
new data asks for.

SQL built here is run with bound parameters, so psycopg reads ``%`` in it as
a placeholder marker: identifiers go through `ident`, which doubles it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from concert_platform.storage import postgres_binary
from concert_platform.storage.sql import pyformat_ident

JSONB = "jsonb"
TEXT = "text"
# An all-null Arrow column has no type to give its column; it becomes text marked with this comment.
NULL_MARK = "concert_platform: all-null column, retyped when values arrive"
_NULL_MARK_LITERAL = f"'{NULL_MARK}'"  # a constant without quotes in it, so safe to spell out
_CSV_OPTIONS = pa_csv.WriteOptions(include_header=False)
_COPY_ROWS = 65_536  # rows per CSV chunk: large enough to amortise calls, small enough to stream
_INTERVAL_UNITS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds"}
_READ_TYPES = {
    "boolean": pa.bool_(),
    "smallint": pa.int16(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "real": pa.float32(),
    "double precision": pa.float64(),
    "text": pa.string(),
    "character varying": pa.string(),
    "character": pa.string(),
    "bytea": pa.binary(),
    "date": pa.date32(),
    "time without time zone": pa.time64("us"),
    "timestamp without time zone": pa.timestamp("us"),
    "timestamp with time zone": pa.timestamp("us", "UTC"),
    "interval": pa.duration("us"),
}


def _is_list(dtype: pa.DataType) -> bool:
    return pa.types.is_list(dtype) or pa.types.is_large_list(dtype) or pa.types.is_fixed_size_list(dtype)


def pg_type(dtype: pa.DataType) -> str:
    """The PostgreSQL column type that holds ``dtype`` without loss (bar nanoseconds and time zone names)."""
    if pa.types.is_dictionary(dtype):
        return pg_type(dtype.value_type)
    if pa.types.is_null(dtype):
        return TEXT  # holds nothing yet; the warehouse retypes it when real values arrive
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_integer(dtype):
        width = dtype.bit_width + (1 if pa.types.is_unsigned_integer(dtype) else 0)
        if width > 64:
            return "numeric(20,0)"  # uint64 does not fit bigint
        return "smallint" if width <= 16 else "integer" if width <= 32 else "bigint"
    if pa.types.is_floating(dtype):
        return "double precision" if dtype.bit_width == 64 else "real"
    if pa.types.is_decimal(dtype):
        return f"numeric({dtype.precision},{dtype.scale})"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_string_view(dtype):
        return TEXT
    if pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype) or pa.types.is_fixed_size_binary(dtype):
        return "bytea"
    if pa.types.is_binary_view(dtype):
        return "bytea"
    if pa.types.is_date(dtype):
        return "date"
    if pa.types.is_time(dtype):
        return "time without time zone"
    if pa.types.is_timestamp(dtype):
        return "timestamp with time zone" if dtype.tz else "timestamp without time zone"
    if pa.types.is_duration(dtype):
        return "interval"
    if _is_list(dtype):
        item = pg_type(dtype.value_type)
        # PostgreSQL arrays of arrays must be rectangular and arrays of jsonb read awkwardly: nest as JSON.
        return JSONB if item == JSONB or item.endswith("[]") else f"{item}[]"
    if pa.types.is_struct(dtype) or pa.types.is_map(dtype):
        return JSONB
    raise TypeError(f"no PostgreSQL column type for Arrow type {dtype}")


def arrow_type(pg: str) -> pa.DataType | None:
    """The Arrow type a column of PostgreSQL type ``pg`` reads back as; None: read its text."""
    if pg.endswith("[]"):
        item = arrow_type(pg[:-2])
        return pa.list_(item) if item is not None else None
    decimal = re.fullmatch(r"numeric\((\d+),(-?\d+)\)", pg)
    if decimal:
        precision, scale = int(decimal[1]), int(decimal[2])
        if precision <= 38:
            return pa.decimal128(precision, scale)
        return pa.decimal256(precision, scale) if precision <= 76 else None
    # varchar(20), timestamp(3) with time zone: the modifier does not change the Arrow type.
    return _READ_TYPES.get(re.sub(r"\(\d+\)", "", pg))


class _Sink(Protocol):
    def write(self, buffer: pa.Buffer) -> None: ...  # psycopg's Copy


def create_table(
    table: str, wanted: dict[str, pa.DataType], primary_key: tuple[str, ...], partition_by: str | None = None
) -> list[str]:
    """CREATE TABLE ``table`` (already quoted) with a column per Arrow field, and its primary key.

    With ``partition_by`` the table is partitioned by LIST of that column (see `postgres_partitions`).
    """
    definitions = [f"{pyformat_ident(name)} {pg_type(dtype)}" for name, dtype in wanted.items()]
    if primary_key:
        definitions.append(f"PRIMARY KEY ({', '.join(pyformat_ident(name) for name in primary_key)})")
    partitioning = f" PARTITION BY LIST ({pyformat_ident(partition_by)})" if partition_by else ""
    statements = [f"CREATE TABLE {table} ({', '.join(definitions)}){partitioning}"]
    return statements + [_mark(table, name, True) for name, dtype in wanted.items() if pa.types.is_null(dtype)]


def alterations(table: str, existing: dict[str, tuple[str, bool]], wanted: dict[str, pa.DataType], full: bool) -> list[str]:
    """The DDL that lets ``table`` take data of the ``wanted`` types; [] when it already can.

    ``existing`` maps each column to its type and whether it carries `NULL_MARK`.
    New columns are added. A marked column gets the real type once values
    come (as DuckDB retypes its "NULL" columns). A full replace also drops
    the columns the data lacks and retypes changed ones, so the table takes
    the data's shape as with DuckDB's CREATE OR REPLACE, yet keeps its grants.
    On a partitioned table ALTER and TRUNCATE reach every partition; the
    marks stay on the parent, which is what reads look at.
    """
    statements = [f"ALTER TABLE {table} DROP COLUMN {pyformat_ident(name)}" for name in existing if full and name not in wanted]
    for name, dtype in wanted.items():
        target, all_null = pg_type(dtype), pa.types.is_null(dtype)
        current, marked = existing.get(name, (None, False))
        if current is None:
            statements.append(f"ALTER TABLE {table} ADD COLUMN {pyformat_ident(name)} {target}")
        elif current != target and (marked or full):
            # No value to keep: the column is all null, or a full replace is about to empty it.
            statements.append(f"ALTER TABLE {table} ALTER COLUMN {pyformat_ident(name)} TYPE {target} USING NULL")
        keep_mark = all_null and (full or current is None or marked)
        if keep_mark != marked:
            statements.append(_mark(table, name, keep_mark))
    if full and statements:
        statements.insert(0, f"TRUNCATE {table}")  # so retyping does not rewrite rows about to go anyway
    return statements


def _mark(table: str, column: str, all_null: bool) -> str:
    # COMMENT takes no parameters; the text is this module's constant, never data.
    return f"COMMENT ON COLUMN {table}.{pyformat_ident(column)} IS {_NULL_MARK_LITERAL if all_null else 'NULL'}"


def copy_format(schema: pa.Schema, column_types: Sequence[str]) -> str:
    """COPY's FORMAT for data of ``schema`` into columns of ``column_types`` (``format_type()`` names)."""
    return "binary" if _binary_encoders(schema, column_types) is not None else "csv"


def write_copy(
    data: pa.Table | pa.RecordBatchReader, copy: _Sink, column_types: Sequence[str], order: pa.Array | None = None
) -> None:
    """Write ``data`` into ``copy`` in the `copy_format` for ``column_types``; a Table's rows in ``order`` if given.

    The next chunk is encoded (and, with an order, gathered) in a worker
    while the server reads this one, so memory stays at two chunks however
    long the stream.
    """
    encoders = _binary_encoders(data.schema, column_types)
    encode = _csv_chunk if encoders is None else partial(postgres_binary.encode, column_encoders=encoders)
    if encoders is not None:
        copy.write(postgres_binary.HEADER)
    with ThreadPoolExecutor(1, thread_name_prefix="copy-encode") as encoder:
        pending: Future[pa.Buffer] | None = None
        for chunk in _chunks(data, order):
            encoded = encoder.submit(lambda chunk=chunk: encode(chunk()))
            if pending is not None:
                copy.write(pending.result())
            pending = encoded
        if pending is not None:
            copy.write(pending.result())
    if encoders is not None:
        copy.write(postgres_binary.TRAILER)


def key_order(data: pa.Table | pa.RecordBatchReader, key: Sequence[str]) -> pa.Array | None:
    """Indices that put a Table's rows in ``key`` order; None for a stream, no key, or what Arrow cannot sort or take.

    Rows sent in key order reach each btree page once, and rows after the
    index's last key take its rightmost-page fast path: COPY of a new day of
    1M sales into a table with its primary key took ~4.5 s of server time
    sorted, ~6.9 s in arrival order and ~11 s shuffled.
    """
    if not key or not isinstance(data, pa.Table) or data.num_rows < 2:
        return None
    try:
        data.slice(0, 1).take([0])  # views, for one, have no take kernel
        return pc.sort_indices(data, [(name, "ascending") for name in key])
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None


def _binary_encoders(schema: pa.Schema, column_types: Sequence[str]) -> list[postgres_binary.Encoder] | None:
    """An encoder per field if all have one for their table column's type (binary input must match exactly)."""
    found = []
    for field, pg in zip(schema, column_types, strict=True):
        matches = pa.types.is_null(field.type) or pg_type(field.type) == pg
        found.append(postgres_binary.encoder(field.type, pg) if matches else None)
    return None if any(encoder is None for encoder in found) else found


def _chunks(data: pa.Table | pa.RecordBatchReader, order: pa.Array | None) -> Iterator[Callable[[], pa.RecordBatch]]:
    """The stream in chunks of at most `_COPY_ROWS`, each as a call that makes it (run in the encoding worker)."""
    if order is not None:
        for start in range(0, len(order), _COPY_ROWS):
            yield partial(_taken, data, order.slice(start, _COPY_ROWS))
        return
    batches = data.to_batches(max_chunksize=_COPY_ROWS) if isinstance(data, pa.Table) else data
    for batch in batches:
        for start in range(0, batch.num_rows, _COPY_ROWS):
            yield partial(batch.slice, start, _COPY_ROWS)


def _taken(table: pa.Table, indices: pa.Array) -> pa.RecordBatch:
    taken = table.take(indices)
    return pa.RecordBatch.from_arrays([column.combine_chunks() for column in taken.columns], schema=table.schema)


def _csv_chunk(batch: pa.RecordBatch) -> pa.Buffer:
    """``batch`` as CSV that COPY reads back into the columns `pg_type` chose.

    pyarrow's writer already speaks PostgreSQL's CSV dialect for scalars
    (strings always quoted, so "" is an empty string and a bare empty field
    is NULL); only the types it cannot write, or writes in a form PostgreSQL
    reads differently, are turned into text first.
    """
    columns = [_copy_ready(column) for column in batch.columns]
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(pa.RecordBatch.from_arrays(columns, names=batch.schema.names), sink, _CSV_OPTIONS)
    return sink.getvalue()


def _copy_ready(column: pa.Array) -> pa.Array:
    dtype = column.type
    if pa.types.is_dictionary(dtype):
        return _copy_ready(column.dictionary_decode())
    if _is_list(dtype):
        return _json(column) if pg_type(dtype) == JSONB else _array_literal(column)
    if pa.types.is_struct(dtype) or pa.types.is_map(dtype):
        return _json(column)
    if pg_type(dtype) in ("bytea", "interval") or pa.types.is_string_view(dtype):
        return _text(column)
    if pa.types.is_float16(dtype):
        return column.cast(pa.float32())
    if pa.types.is_timestamp(dtype) and dtype.tz is not None:
        # pyarrow's writer looks the zone up for every value (~2.9 s a million); Arrow holds UTC instants,
        # so their UTC wall clock marked Z is the same instant, written in ~0.2 s.
        return pc.binary_join_element_wise(column.cast(pa.timestamp(dtype.unit)).cast(pa.string()), "Z", "")
    return column


def _text(values: pa.Array) -> pa.Array:
    """Each value as PostgreSQL input text (nulls stay null)."""
    dtype = values.type
    if pa.types.is_dictionary(dtype):
        return _text(values.dictionary_decode())
    if pg_type(dtype) == "bytea":
        # bytea input is hex text; binary columns are rare here, so a Python pass is fine.
        return pa.array([None if v is None else "\\x" + v.hex() for v in values.to_pylist()], pa.string())
    if pa.types.is_duration(dtype):
        if dtype.unit == "ns":  # PostgreSQL keeps microseconds
            values, dtype = values.cast(pa.duration("us"), safe=False), pa.duration("us")
        digits = values.cast(pa.int64()).cast(pa.string())
        return pc.binary_join_element_wise(digits, " " + _INTERVAL_UNITS[dtype.unit], "")
    if pa.types.is_float16(dtype):
        values = values.cast(pa.float32())
    return values.cast(pa.string())


def _array_literal(column: pa.Array) -> pa.Array:
    """List values as PostgreSQL array literals: ``{"a","b \\"q\\"",NULL}``; null lists stay null."""
    dtype = column.type
    if not (pa.types.is_list(dtype) or pa.types.is_large_list(dtype)):
        column = column.cast(pa.list_(dtype.value_field))  # fixed-size lists have no offsets
    # Offsets of a slice point into the whole child array: convert only the part this slice uses.
    offsets = column.offsets
    start, end = offsets[0].as_py(), offsets[-1].as_py()
    items = _text(column.values.slice(start, end - start))
    items = pc.replace_substring(pc.replace_substring(items, "\\", "\\\\"), '"', '\\"')
    items = pc.fill_null(pc.binary_join_element_wise('"', items, '"', ""), "NULL")
    lists = type(column).from_arrays(pc.subtract(offsets, offsets[0]), items, mask=column.is_null())
    return pc.binary_join_element_wise("{", pc.binary_join(lists, ","), "}", "")


def _json(column: pa.Array) -> pa.Array:
    # Nested values are rare here (the models are flat), so a Python pass is fine.
    return pa.array(
        [None if v is None else json.dumps(v, default=str, ensure_ascii=False) for v in column.to_pylist()],
        pa.string(),
    )
