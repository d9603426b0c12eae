"""Day partitions of PostgreSQL tables: a day is replaced by building its new table aside and swapping it in.

A table whose first load replaces one day (``where`` = {column: a date}, the
column in the primary key) is created ``PARTITION BY LIST (column)``, one
partition per day, named ``<table>_<yyyymmdd>``. Replacing a day then, all in
the load's one transaction:

1. creates a plain, logged table with the parent's columns and a CHECK that
   the column is that day, checked per row as COPY writes: ATTACH then finds
   its bound implied and skips its validation scan;
2. COPYs the rows in (FREEZE: the table is new in this transaction, so its
   first readers set no hint bits and VACUUM never has to freeze it);
3. adds the primary key: one sorted build instead of a btree insert per row;
4. after everything else in the load, swaps: the old day's partition is
   dropped, the new table renamed to its name and attached.

Why: with DELETE plus COPY into the table, a reload of 1M sales cost the
server 5.0-5.5 s of CPU (each unique check visits the deleted version of the
same key), a new day 1.9 s; built aside, either costs ~1.45 s, and both go
above 250,000 rows/s (bench/README.md). A killed run or a failure at any step
rolls it all back, the old partition as it was.

Locks: nothing here locks the parent until the swap, so loads of other days
and readers go on meanwhile. ATTACH takes SHARE UPDATE EXCLUSIVE on the parent
(readers and writers pass; another ATTACH waits); dropping the old partition
takes ACCESS EXCLUSIVE on the parent until the commit, which blocks readers of
every day, so it comes last and is followed only by the swap's catalog changes
and the lake commit record. `Swap.run` waits for its lock in short tries, so
readers queued behind it wait at most one try, not for a long report to end.
The parent's shape is held still by a shared DDL advisory lock (see
`postgres_warehouse`), since the new table must match it column for column.

Tables created otherwise (by earlier versions: plain tables; by hand) keep the
DELETE + COPY path; a plain table is not migrated, as moving its rows would
hold it locked for as long as reloading them all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import psycopg

from concert_platform.storage.sql import pyformat_ident, pyformat_qualified

_MAX_BASE_BYTES = 40  # room for "_yyyymmdd", "_new" and "_pkey" within PostgreSQL's 63 bytes
# One try for the swap's lock, the longest readers queue behind it. Longer than deadlock_timeout (1 s by
# default): the deadlock check at that moment is what cancels an autovacuum holding the old partition.
_TRY_LOCK_MS = 2_000
_PAUSE_S = 0.5  # between tries, for the readers that queued to run
_DAY_CHECK = "concert_partition_day"
_SHAPE = """
    SELECT c.relkind,
           (SELECT a.attname FROM pg_partitioned_table p JOIN pg_attribute a
              ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
            WHERE p.partrelid = c.oid AND p.partstrat = 'l' AND p.partnatts = 1)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = %s AND c.relname = %s"""
_COLUMNS = """
    SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attnum"""
_CHECKS = """
    SELECT k.conname, pg_get_constraintdef(k.oid)
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = %s AND c.relname = %s AND k.contype = 'c'
    ORDER BY k.conname"""
_PRIMARY_KEY = """
    SELECT a.attname
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
    WHERE n.nspname = %s AND c.relname = %s AND i.indisprimary
    ORDER BY array_position(i.indkey::int2[], a.attnum)"""
_PARTITION = """
    SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_class p ON p.oid = i.inhparent
    WHERE n.nspname = %s AND c.relname = %s AND p.relname = %s AND p.relnamespace = n.oid"""


# -- what a load is ------------------------------------------------------------------------------


def day_of(where: Mapping[str, object] | None, primary_key: Sequence[str]) -> tuple[str, dt.date] | None:
    """(column, day) when ``where`` pins exactly one key column to a date: a replace of one day."""
    if where is None or len(where) != 1:
        return None
    ((column, value),) = where.items()
    if column not in primary_key or not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        return None
    return column, value


@dataclass(frozen=True)
class Layout:
    """How an existing table is stored: ``kind`` is pg_class.relkind (None: no such table)."""

    kind: str | None
    # The one column a LIST-partitioned table is partitioned by, as this module makes them; else None.
    column: str | None

    @property
    def partitioned(self) -> bool:
        return self.kind == "p"


def layout(cur: psycopg.Cursor, schema: str, table: str) -> Layout:
    row = cur.execute(_SHAPE, (schema, table)).fetchone()
    return Layout(None, None) if row is None else Layout(row[0], row[1])


# -- names and statements (pure) ----------------------------------------------------------------


def partition_name(table: str, day: dt.date) -> str:
    """The day's partition: ``<table>_<yyyymmdd>``; a long table name is cut and made unique by its hash."""
    base = table
    if len(table.encode()) > _MAX_BASE_BYTES:
        digest = hashlib.blake2b(table.encode(), digest_size=4).hexdigest()
        base = table.encode()[: _MAX_BASE_BYTES - 9].decode(errors="ignore") + "_" + digest
    return f"{base}_{day:%Y%m%d}"


def loading_name(table: str, day: dt.date) -> str:
    """The new table of a day that is already there, until the swap gives it the partition's name.

    Only one load of a day runs at a time (the slice lock), so the name is never taken twice.
    """
    return partition_name(table, day) + "_new"


def bound(day: dt.date) -> str:
    # An ISO date is digits and dashes: safe to spell out (DDL takes no parameters).
    return f"FOR VALUES IN ('{day.isoformat()}')"


def day_table_ddl(
    schema: str,
    name: str,
    columns: Sequence[tuple[str, str, bool]],
    checks: Sequence[tuple[str, str]],
    column: str,
    day: dt.date,
) -> str:
    """A plain table for ``day`` shaped like the parent: ``columns`` (name, type, NOT NULL) and its CHECKs.

    ATTACH wants the same columns, types, NOT NULLs and CHECK constraints; the
    extra CHECK on the day lets it skip scanning the rows for the bound.
    """
    definitions = [f"{pyformat_ident(n)} {kind}{' NOT NULL' if not_null else ''}" for n, kind, not_null in columns]
    definitions += [f"CONSTRAINT {pyformat_ident(n)} {definition.replace('%', '%%')}" for n, definition in checks]
    day_check = f"CHECK ({pyformat_ident(column)} = DATE '{day.isoformat()}')"
    definitions.append(f"CONSTRAINT {pyformat_ident(_DAY_CHECK)} {day_check}")
    return f"CREATE TABLE {pyformat_qualified(schema, name)} ({', '.join(definitions)})"


def primary_key_ddl(schema: str, name: str, key: Sequence[str]) -> str:
    columns = ", ".join(pyformat_ident(k) for k in key)
    return (
        f"ALTER TABLE {pyformat_qualified(schema, name)} ADD CONSTRAINT {pyformat_ident(name + '_pkey')} PRIMARY KEY ({columns})"
    )


# -- catalog and swap (I/O) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """What a day's table copies from its parent."""

    columns: list[tuple[str, str, bool]]  # name, format_type(), NOT NULL
    checks: list[tuple[str, str]]  # name, definition
    primary_key: list[str]


def shape(cur: psycopg.Cursor, schema: str, table: str) -> Shape:
    """Read from the catalog, taking no lock on the parent (ATTACH's is the first)."""
    columns = [(name, kind, bool(not_null)) for name, kind, not_null in cur.execute(_COLUMNS, (schema, table))]
    checks = [(name, definition) for name, definition in cur.execute(_CHECKS, (schema, table))]
    key = [row[0] for row in cur.execute(_PRIMARY_KEY, (schema, table))]
    return Shape(columns, checks, key)


def has_partition(cur: psycopg.Cursor, schema: str, table: str, name: str) -> bool:
    """Whether ``name`` is a partition of ``table`` (names are unique per schema: the day's partition is found by name)."""
    return cur.execute(_PARTITION, (schema, name, table)).fetchone() is not None


@dataclass(frozen=True)
class Swap:
    """Put the day's new table (built under ``built_as``) in place of its partition, if any."""

    schema: str
    table: str
    day: dt.date
    built_as: str
    replaces: bool  # the day has a partition: drop it first

    def run(self, cur: psycopg.Cursor, lock_timeout_s: float) -> None:
        name = partition_name(self.table, self.day)
        parent = pyformat_qualified(self.schema, self.table)
        attach = f"ALTER TABLE {parent} ATTACH PARTITION {pyformat_qualified(self.schema, name)} {bound(self.day)}"
        if not self.replaces:
            _with_short_waits(cur, attach, lock_timeout_s)  # SHARE UPDATE EXCLUSIVE: readers go on
            return
        # DROP of a partition detaches it too, under ACCESS EXCLUSIVE on the parent, held to the commit:
        # from here on only catalog changes and the commit record, so readers of other days wait
        # milliseconds. (DETACH ... CONCURRENTLY would not, but cannot run inside a transaction.)
        _with_short_waits(cur, f"DROP TABLE {pyformat_qualified(self.schema, name)}", lock_timeout_s)
        cur.execute(f"ALTER TABLE {pyformat_qualified(self.schema, self.built_as)} RENAME TO {pyformat_ident(name)}", ())
        # Index names are unique per schema: the next reload builds <name>_new_pkey again.
        index = pyformat_qualified(self.schema, self.built_as + "_pkey")
        cur.execute(f"ALTER INDEX IF EXISTS {index} RENAME TO {pyformat_ident(name + '_pkey')}", ())
        cur.execute(attach, ())


def _with_short_waits(cur: psycopg.Cursor, statement: str, lock_timeout_s: float) -> None:
    """Run ``statement``, waiting for its lock in tries of `_TRY_LOCK_MS` until ``lock_timeout_s`` has passed.

    A statement waiting for a lock holds up everyone who asks for the table after it; a long
    report reading the parent would stall every reader behind the swap. Each failed try is
    rolled back to a savepoint, so the load's work stays.
    """
    deadline = time.monotonic() + lock_timeout_s
    session_timeout = cur.execute("SELECT current_setting('lock_timeout')").fetchone()[0]
    while True:
        wait_ms = max(1, min(_TRY_LOCK_MS, int((deadline - time.monotonic()) * 1000)))
        cur.execute("SAVEPOINT concert_swap", ())
        cur.execute("SELECT set_config('lock_timeout', %s, true)", (f"{wait_ms}ms",))
        try:
            cur.execute(statement, ())
        except psycopg.errors.LockNotAvailable:
            cur.execute("ROLLBACK TO SAVEPOINT concert_swap", ())
            if time.monotonic() + _PAUSE_S >= deadline:
                cur.execute("SELECT set_config('lock_timeout', %s, true)", (session_timeout,))
                raise
            time.sleep(_PAUSE_S)
            continue
        cur.execute("RELEASE SAVEPOINT concert_swap", ())
        cur.execute("SELECT set_config('lock_timeout', %s, true)", (session_timeout,))
        return


def add_missing(cur: psycopg.Cursor, schema: str, table: str, days: Iterable[dt.date]) -> None:
    """Empty partitions for those of ``days`` that have none, so rows of any day can go through the parent.

    For replaces that are not one day (a full replace, another slice), which stage their rows first.
    """
    parent = pyformat_qualified(schema, table)
    for day in sorted(set(days)):
        name = partition_name(table, day)
        if not has_partition(cur, schema, table, name):
            cur.execute(f"CREATE TABLE {pyformat_qualified(schema, name)} PARTITION OF {parent} {bound(day)}", ())
