"""The Redshift warehouse's SQL as data: pure functions from a load to its statements.

A load is one transaction: for each operation create (or widen) the target,
create a staging table, COPY the lake's Parquet into it and check what arrived;
only then, for each operation, DELETE the slice and INSERT the staged rows; then
drop the stages. Copies come first so that, unless the load also creates or
widens a table, the targets are locked only for the short delete/insert part.

Table layout (`LAYOUTS`, table name -> layout; unlisted tables get AUTO). A join
or GROUP BY on the distribution key stays on the node that holds the rows.
- ``ticket_sales``, the fact table: DISTKEY(concert_id), so joins to ``concerts``
  and per-concert roll-ups never move sales between nodes; COMPOUND
  SORTKEY(sale_date, sold_at), so the daily partition's DELETE and day-range
  scans skip every block outside the range (zone maps).
- ``artists``, ``venues``, ``concerts``: small dimensions, DISTSTYLE ALL (a copy
  per node), so a join to them is local whatever the other side's key.
- ``rejected_records`` is replaced per (entity, partition_key): its sort key.
A layout applies when the table is created; changing one is one line here.

Why not the obvious alternatives:
- the stage mirrors the Parquet file, not the target (no ``LIKE target``): COPY
  maps Parquet columns by position and needs equal counts, and after schema
  drift the target's columns differ from the file's. INSERT matches by name.
- DELETE even for a full replace: TRUNCATE commits the transaction in Redshift.
- ``%`` in quoted names is doubled: psycopg2 binds on the client (COPY takes no
  server-side parameters) and would read a lone ``%`` as a placeholder.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa

from concert_platform.storage.sql import pyformat_ident, pyformat_qualified, pyformat_where
from concert_platform.storage.warehouse import Replace, SliceMismatch

# The contracts carry no lengths into Arrow; a narrower column would fail COPY on data they allow.
VARCHAR = "VARCHAR(65535)"
_STAGE = "concert_stage_{}"


@dataclass(frozen=True)
class Statement:
    sql: str
    params: tuple[object, ...] = ()


@dataclass(frozen=True)
class Copy(Statement):
    """The one step that needs Redshift itself (S3 + IAM); the PostgreSQL-backed tests load the same file instead."""

    stage: str = ""  # unquoted staging table name
    columns: tuple[str, ...] = ()  # in the file's order
    source_uri: str = ""


@dataclass(frozen=True)
class StageCheck(Statement):
    """Counts what COPY staged: exactly the rows handed to the load (a stale file differs), all inside the slice."""

    source: str = ""  # "s3://… for 'table'", for messages
    expected_rows: int | None = None
    where: str | None = None  # the slice, for messages; None for a full replace

    def verify(self, row: Sequence[int]) -> None:
        total = int(row[0])
        if self.expected_rows is not None and total != self.expected_rows:
            raise ValueError(f"{self.source} holds {total} rows, the load was handed {self.expected_rows}")
        if self.where is not None and int(row[1]) != total:
            raise SliceMismatch(
                f"refusing partial replace where {self.where}: {total - int(row[1])} of {total} "
                f"rows in {self.source} lie outside it"
            )


@dataclass(frozen=True)
class Flavor:
    """What differs between Redshift and the PostgreSQL stand-in the tests run the same statements on."""

    table_layout: bool  # emit DISTSTYLE/DISTKEY/SORTKEY
    semistructured: str  # column type for lists and structs


REDSHIFT = Flavor(table_layout=True, semistructured="SUPER")
POSTGRES_STANDIN = Flavor(table_layout=False, semistructured="JSONB")


@dataclass(frozen=True)
class Layout:
    diststyle: str = "AUTO"  # AUTO | EVEN | ALL | KEY
    distkey: str | None = None  # required with KEY, refused otherwise
    sortkey: tuple[str, ...] = ()  # empty: Redshift's SORTKEY AUTO

    def __post_init__(self) -> None:
        if self.diststyle not in ("AUTO", "EVEN", "ALL", "KEY") or (self.diststyle == "KEY") != bool(self.distkey):
            raise ValueError(f"invalid table layout {self!r}: DISTSTYLE KEY needs a distkey, the others none")

    def columns(self) -> tuple[str, ...]:
        return ((self.distkey,) if self.distkey else ()) + self.sortkey

    def clause(self) -> str:
        text = f" DISTSTYLE {self.diststyle}"
        if self.distkey:
            text += f" DISTKEY ({pyformat_ident(self.distkey)})"
        if self.sortkey:
            text += f" COMPOUND SORTKEY ({_names(self.sortkey)})"
        return text


LAYOUTS: Mapping[str, Layout] = {
    "ticket_sales": Layout("KEY", "concert_id", ("sale_date", "sold_at")),
    "concerts": Layout("ALL"),
    "artists": Layout("ALL"),
    "venues": Layout("ALL"),
    "rejected_records": Layout("AUTO", sortkey=("entity", "partition_key")),
}
DEFAULT_LAYOUT = Layout()

_PLAIN_TYPES = {
    **dict.fromkeys([pa.int8(), pa.int16(), pa.uint8()], "SMALLINT"),
    **dict.fromkeys([pa.int32(), pa.uint16()], "INTEGER"),
    **dict.fromkeys([pa.int64(), pa.uint32()], "BIGINT"),
    pa.uint64(): "DECIMAL(20,0)",
    **dict.fromkeys([pa.float16(), pa.float32()], "REAL"),
    pa.float64(): "DOUBLE PRECISION",
    pa.bool_(): "BOOLEAN",
    **dict.fromkeys([pa.date32(), pa.date64()], "DATE"),
}


def column_type(dtype: pa.DataType, flavor: Flavor = REDSHIFT) -> str:
    """The Redshift column type that holds an Arrow type without loss."""
    if pa.types.is_dictionary(dtype):
        return column_type(dtype.value_type, flavor)
    # An all-null column has no type of its own; VARCHAR takes the text of whatever it later turns out to hold.
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_null(dtype):
        return VARCHAR
    if pa.types.is_decimal(dtype) and dtype.precision <= 38:
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    if pa.types.is_timestamp(dtype):
        return "TIMESTAMPTZ" if dtype.tz else "TIMESTAMP"
    if pa.types.is_time(dtype):
        return "TIME"
    if pa.types.is_nested(dtype):
        return flavor.semistructured
    if dtype in _PLAIN_TYPES:
        return _PLAIN_TYPES[dtype]
    raise TypeError(f"no Redshift column type for Arrow {dtype}")


def require_source(op: Replace, iam_role: str | None) -> str:
    """The lake URI COPY reads for ``op``; refuses a load that could only fail on the server."""
    uri = op.source_uri or ""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise ValueError(
            f"Redshift loads {op.table!r} with COPY from the lake, so Replace.source_uri must be "
            f"an s3://bucket/key URI of the Parquet of exactly these rows (got {op.source_uri!r})"
        )
    if not iam_role:
        raise ValueError("CONCERT_REDSHIFT_IAM_ROLE is not set: Redshift's COPY needs a role that can read the lake")
    return uri


def load_plan(
    schema: str,
    operations: Sequence[Replace],
    existing: Mapping[str, Collection[str]],
    *,
    iam_role: str | None,
    flavor: Flavor = REDSHIFT,
    layouts: Mapping[str, Layout] = LAYOUTS,
) -> list[Statement]:
    """Every statement of a load, in order; ``existing`` maps each target table that exists to its column names."""
    known = {table.lower(): {c.lower() for c in columns} for table, columns in existing.items() if columns}
    creates_table = False
    prepare: list[Statement] = []  # per operation: widen the target, stage, copy, check
    swap: list[Statement] = []  # per operation: delete the slice, insert the staged rows
    cleanup: list[Statement] = []
    for index, op in enumerate(operations):
        uri = require_source(op, iam_role)
        fields = list(op.data.schema)
        _require_columns(op, fields, op.where or {}, "the where filter", SliceMismatch)
        target = pyformat_qualified(schema, op.table)
        columns = known.get(op.table.lower())
        if columns is None:
            creates_table = True
            prepare.append(_create_table(schema, op, fields, flavor, layouts.get(op.table, DEFAULT_LAYOUT)))
            known[op.table.lower()] = {f.name.lower() for f in fields}
        else:
            for field in fields:
                if field.name.lower() not in columns:  # Redshift adds one column per ALTER TABLE
                    prepare.append(Statement(f"ALTER TABLE {target} ADD COLUMN {_definition(field, flavor)}"))
                    columns.add(field.name.lower())
        stage = _STAGE.format(index)
        names = _names(f.name for f in fields)
        definitions = ", ".join(_definition(f, flavor) for f in fields)
        prepare.append(Statement(f"CREATE TEMP TABLE {pyformat_ident(stage)} ({definitions})"))
        prepare.append(_copy(stage, fields, uri, iam_role, flavor))
        prepare.append(_stage_check(op, stage, uri))
        condition, params = where_sql(op.where)
        swap.append(Statement(f"DELETE FROM {target}{condition}", params))
        swap.append(Statement(f"INSERT INTO {target} ({names}) SELECT {names} FROM {pyformat_ident(stage)}"))
        cleanup.append(Statement(f"DROP TABLE {pyformat_ident(stage)}"))
    # Only when a table is created: an existing schema then needs no CREATE privilege on the database.
    head = [Statement(f"CREATE SCHEMA IF NOT EXISTS {pyformat_ident(schema)}")] if creates_table else []
    return head + prepare + swap + cleanup


def _create_table(schema: str, op: Replace, fields: list[pa.Field], flavor: Flavor, layout: Layout) -> Statement:
    _require_columns(op, fields, op.primary_key, "the primary key")
    parts = [_definition(f, flavor) for f in fields]
    if op.primary_key:  # not enforced by Redshift, but its query planner trusts it
        parts.append(f"PRIMARY KEY ({_names(op.primary_key)})")
    sql = f"CREATE TABLE IF NOT EXISTS {pyformat_qualified(schema, op.table)} ({', '.join(parts)})"
    if flavor.table_layout:
        _require_columns(op, fields, layout.columns(), "the table layout")
        sql += layout.clause()
    return Statement(sql)


def _copy(stage: str, fields: list[pa.Field], uri: str, iam_role: str, flavor: Flavor) -> Copy:
    # Nested Parquet columns reach SUPER columns only as JSON.
    nested = any(column_type(f.type, flavor) == flavor.semistructured for f in fields)
    sql = f"COPY {pyformat_ident(stage)} FROM %s IAM_ROLE %s FORMAT AS PARQUET" + (" SERIALIZETOJSON" if nested else "")
    return Copy(sql, (uri, iam_role), stage=stage, columns=tuple(f.name for f in fields), source_uri=uri)


def _stage_check(op: Replace, stage: str, uri: str) -> StageCheck:
    expected = op.data.num_rows if isinstance(op.data, pa.Table) else None  # a reader cannot be counted unread
    condition, params = where_sql(op.where)
    # CASE, not a WHERE: a NULL comparison must count as outside the slice.
    inside = f", count(CASE WHEN {condition.removeprefix(' WHERE ')} THEN 1 END)" if op.where else ""
    where = repr(op.where) if op.where is not None else None
    return StageCheck(f"SELECT count(*){inside} FROM {pyformat_ident(stage)}", params, f"{uri} for {op.table!r}", expected, where)


def _require_columns(
    op: Replace, fields: list[pa.Field], wanted: Iterable[str], role: str, error: type[Exception] = ValueError
) -> None:
    present = {f.name.lower() for f in fields}
    missing = [c for c in wanted if c.lower() not in present]
    if missing:
        raise error(f"{role} of {op.table!r} names columns the data lacks: {missing}")


def _definition(field: pa.Field, flavor: Flavor) -> str:
    return f"{pyformat_ident(field.name)} {column_type(field.type, flavor)}"


def where_sql(where: Mapping[str, object] | None) -> tuple[str, tuple[object, ...]]:
    """``(" WHERE …", params)`` with psycopg2's ``%s`` placeholders (or ``("", ())``)."""
    clause, params = pyformat_where(where)
    return clause, tuple(params)


def _names(names: Iterable[str]) -> str:
    return ", ".join(pyformat_ident(n) for n in names)
