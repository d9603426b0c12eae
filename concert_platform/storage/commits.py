"""The commit record that keeps the lake and the warehouse one state.

A publish writes each lake file under a version of its own first
(``{asset}/{partition}/_staging/{version}.parquet``, invisible to readers),
then replaces the warehouse's rows and records, in the same transaction, which
version of each lake file those rows are: a row of ``lake_commits`` per asset
and partition. Only after that COMMIT is the staged file moved to
``data.parquet``. So the warehouse's COMMIT is the one moment the new state
begins, on both sides:

- killed or failed before it: the warehouse keeps the old rows and its record
  names the old version; the staged file is an orphan that no reader follows and
  the next write of that partition deletes;
- killed after it but before the move: the record names the staged version, so
  readers given the record read the staged file, and the next write (or the
  first reader) finishes the move.

The fingerprint is cheap and engine-neutral: the row count and the exact sums of
the integer and decimal columns, which Arrow, DuckDB, PostgreSQL and Redshift
all compute alike. The lake's copy lives in the Parquet file's metadata; the
warehouse's is recomputed from its rows by the consistency check.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from concert_platform.storage.sql import quote_ident

COMMITS_TABLE = "lake_commits"
# Keys of the lake file's Parquet metadata that carry its version and fingerprint.
VERSION_KEY = b"concert.version"
FINGERPRINT_KEY = b"concert.fingerprint"


@dataclass(frozen=True)
class Commit:
    asset: str  # the lake's asset name: "ticket_sales", "rejected_records/ticket_sales"
    partition: str  # "" when the asset is not partitioned
    version: str
    rows: int
    fingerprint: str


def new_version() -> str:
    """Sortable by time, unique across processes: names a staged file and its commit."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:12]}"


def fingerprint_columns(schema: pa.Schema) -> list[str]:
    """The columns whose exact sums the fingerprint carries: integers and decimals (floats round by order)."""
    return [f.name for f in schema if pa.types.is_integer(f.type) or pa.types.is_decimal(f.type)]


def fingerprint(data: pa.Table | pa.RecordBatch) -> str:
    columns = fingerprint_columns(data.schema)
    return format_fingerprint(data.num_rows, [pc.sum(data.column(name)).as_py() for name in columns], columns)


def format_fingerprint(rows: int, sums: Sequence[object], columns: Sequence[str]) -> str:
    """``rows=3;quantity=7;unit_price=12.5``: a sum is written without trailing zeros, whatever its engine's type."""
    parts = [f"rows={int(rows)}"]
    for name, value in zip(columns, sums, strict=True):
        parts.append(f"{name}={'null' if value is None else _plain(value)}")
    return ";".join(parts)


def _plain(value: object) -> str:
    number = Decimal(value) if not isinstance(value, Decimal) else value
    return format(number.normalize(), "f") if number else "0"


# -- SQL shared by every dialect: standard types; ``mark`` is the driver's placeholder, and
# ``pyformat`` doubles the % of names for the psycopg drivers, which read a lone % as a placeholder.


def _commits_table(schema: str, pyformat: bool) -> str:
    table = f"{quote_ident(schema)}.{quote_ident(COMMITS_TABLE)}"
    return table.replace("%", "%%") if pyformat else table


def create_sql(schema: str, *, pyformat: bool = False) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {_commits_table(schema, pyformat)} ("
        "asset VARCHAR(1024) NOT NULL, partition_key VARCHAR(256) NOT NULL, version VARCHAR(64) NOT NULL, "
        "row_count BIGINT NOT NULL, fingerprint VARCHAR(65535) NOT NULL, committed_at TIMESTAMPTZ NOT NULL, "
        "PRIMARY KEY (asset, partition_key))"
    )


def record_sql(schema: str, mark: str, *, pyformat: bool = False) -> tuple[str, str]:
    """(DELETE, INSERT) that replace one commit's row."""
    table = _commits_table(schema, pyformat)
    return (
        f"DELETE FROM {table} WHERE asset = {mark} AND partition_key = {mark}",
        f"INSERT INTO {table} (asset, partition_key, version, row_count, fingerprint, committed_at) "
        f"VALUES ({', '.join([mark] * 6)})",
    )


def record_commits(
    execute: Callable[[str, Sequence[object]], object],
    schema: str,
    commits: Sequence[Commit],
    *,
    mark: str,
    pyformat: bool = False,
) -> None:
    """Replace each commit's row through the dialect's ``execute(sql, params)``, inside its load's transaction."""
    delete, insert = record_sql(schema, mark, pyformat=pyformat)
    at = datetime.now(UTC)
    for commit in commits:
        key = (commit.asset, commit.partition)
        execute(delete, key)
        execute(insert, (*key, commit.version, commit.rows, commit.fingerprint, at))


def select_sql(schema: str, mark: str, *, pyformat: bool = False) -> str:
    return f"SELECT partition_key, version, row_count, fingerprint FROM {_commits_table(schema, pyformat)} WHERE asset = {mark}"


def commits_from_rows(asset: str, rows) -> dict[str, Commit]:
    return {row[0]: Commit(asset, row[0], row[1], int(row[2]), row[3]) for row in rows}


def summary_sql(
    schema: str, table: str, columns: Sequence[str], group_by: str | None, where_sql: str, *, pyformat: bool = False
) -> str:
    """One row per slice (or one row): its key as text, the row count and each column's sum.

    ``where_sql`` is already in the driver's style; ``pyformat`` doubles the % of names for psycopg.
    """
    key = f"CAST({quote_ident(group_by)} AS VARCHAR)" if group_by else "''"
    sums = "".join(f", sum({quote_ident(c)})" for c in columns)
    head = f"SELECT {key}, count(*){sums} FROM {quote_ident(schema)}.{quote_ident(table)}"
    if pyformat:
        head = head.replace("%", "%%")
    return head + where_sql + (" GROUP BY 1" if group_by else "")


def summaries_from_rows(rows, columns: Sequence[str]) -> dict[str, str]:
    return {row[0]: format_fingerprint(row[1], row[2:], columns) for row in rows if row[1]}
