"""DuckDB warehouse: the embedded default, one file (or memory), no server.

DuckDB lets one process at a time open a file for writing, while Dagster runs
steps in parallel processes. So every call opens its own connection, retries
while another process holds the lock, and closes it again before returning:
nobody keeps the file between calls.
"""

from __future__ import annotations

import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import duckdb
import pyarrow as pa

from concert_platform.storage import commits as commit_sql
from concert_platform.storage.commits import Commit
from concert_platform.storage.sql import qualified, quote_ident, where_clause
from concert_platform.storage.warehouse import (
    MissingTableError,
    Replace,
    SliceCheck,
    Warehouse,
    WarehouseLockTimeout,
    WarehouseUnreachable,
)

MEMORY = ":memory:"
_process_locks: dict[str, threading.Lock] = {}  # database file -> the lock its publishes take in this process
_memory_lock = threading.Lock()
_SOURCE = "__concert_load_source"  # names of the Arrow objects registered for a statement
_EMPTY = "__concert_load_empty"
_NULL_TYPE = '"NULL"'  # how DuckDB spells the type of a column made from an all-null Arrow column
MEMORY_LIMIT = "512MB"  # of a file database's buffer pool (bench/README.md: a 10M-sale day)


def from_url(url: str, schema: str) -> DuckDBWarehouse:
    """``duckdb:///relative.duckdb``, ``duckdb:////abs/path.duckdb`` (SQLAlchemy's rule) or ``duckdb:///:memory:``."""
    if not url.lower().startswith("duckdb://"):
        raise ValueError("a DuckDB warehouse URL starts with duckdb://")
    rest = url[len("duckdb://") :]
    path = rest[1:] if rest.startswith("/") else rest
    if path in ("", MEMORY):
        return DuckDBWarehouse(MEMORY, schema)
    return DuckDBWarehouse(path, schema)


class DuckDBWarehouse(Warehouse):
    def __init__(self, path: str, schema: str, lock_timeout_s: float = 120.0) -> None:
        quote_ident(schema)  # refuse an unusable schema name now, not at the first load
        self.schema = schema
        self.lock_timeout_s = lock_timeout_s
        # A memory database lives only as long as a connection to it, so that one is kept for good; a file's
        # connection is kept only for a session. Each call works on a cursor of it (a connection to the same database).
        self._shared: duckdb.DuckDBPyConnection | None = None
        if path == MEMORY:
            self.path = MEMORY
            self._shared = duckdb.connect(MEMORY)
        else:
            self.path = os.path.abspath(path)
            try:
                os.makedirs(os.path.dirname(self.path), exist_ok=True)
            except OSError:
                pass  # a path that cannot hold the file: `probe` (a run's start) or the first connect says so, naming it

    def describe(self) -> str:
        where = "duckdb:///:memory:" if self.path == MEMORY else f"duckdb:///{self.path}"
        return f"{where} (schema {self.schema})"

    def probe(self) -> None:
        """The file's folder takes new files, and the file, if there, is one this process may read and write.

        The file itself is not opened: another process may hold it for a long load, and waiting for
        it is the load's business, not the probe's.
        """
        if self.path == MEMORY:
            return
        folder = os.path.dirname(self.path)
        try:
            os.makedirs(folder, exist_ok=True)
            if os.path.exists(self.path) and not (os.path.isfile(self.path) and os.access(self.path, os.R_OK | os.W_OK)):
                raise PermissionError("it is not a file this process can read and write")
            # DuckDB writes a .wal file beside the database: the folder must take new files.
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise WarehouseUnreachable(f"cannot use {self.describe()}: {exc.strerror or exc}") from None

    # -- connections -------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[DuckDBWarehouse]:
        """Hold the file open across loads: opening it and closing it (DuckDB checkpoints then) cost
        more than a day's DELETE and INSERT. Other processes wait for the file meanwhile, as they do
        during each load; the embedded instance lets one run at a time write the warehouse anyway."""
        if self._shared is not None:
            yield self
            return
        self._shared = self._open_file()
        try:
            yield self
        finally:
            shared, self._shared = self._shared, None
            shared.close()

    @contextmanager
    def partition_lock(self, asset: str, partition: str | None) -> Iterator[None]:
        """Other processes wait for the file (the session holds it); threads of this one share the file,
        so they wait here, one publish per database at a time."""
        with _process_locks.setdefault(self.path, threading.Lock()) if self.path != MEMORY else _memory_lock:
            yield

    @contextmanager
    def _connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = self._shared.cursor() if self._shared is not None else self._open_file()
        try:
            # TIMESTAMPTZ comes back in the session zone; UTC keeps reads independent of the host's zone.
            con.execute("SET SESSION TimeZone = 'UTC'")
            # Row order in a table carries no meaning here; dropping it lets inserts run in parallel.
            con.execute("SET preserve_insertion_order = false")
            yield con
        finally:
            con.close()

    def _open_file(self) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.05
        while True:
            try:
                return _bounded(duckdb.connect(self.path))
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WarehouseLockTimeout(
                        f"DuckDB file {self.path} stayed locked by another process for {self.lock_timeout_s:g} s "
                        f"(DuckDB allows one process per file; is a long load or a DuckDB shell holding it?): {exc}"
                    ) from exc
                # Jitter so parallel steps waiting on the same file do not retry in lockstep.
                time.sleep(min(delay * random.uniform(0.5, 1.5), remaining))
                delay = min(delay * 2, 2.0)

    # -- loading -----------------------------------------------------------

    def load(
        self,
        operations: Sequence[Replace],
        commits: Sequence[Commit] | Callable[[], Sequence[Commit]] = (),
    ) -> None:
        if not operations and not commits:
            return
        with self._connect() as con:
            con.begin()
            try:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.schema)}")
                for operation in operations:
                    self._apply(con, operation)
                self._record(con, commits() if callable(commits) else commits)
                con.commit()
            except BaseException:
                try:
                    con.rollback()
                except duckdb.Error:
                    pass  # a failed COMMIT already ended the transaction; the original error matters
                raise

    def _record(self, con: duckdb.DuckDBPyConnection, commits: Sequence[Commit]) -> None:
        if not commits:
            return
        con.execute(commit_sql.create_sql(self.schema))
        commit_sql.record_commits(lambda sql, params: con.execute(sql, list(params)), self.schema, commits, mark="?")

    def committed(self, asset: str) -> dict[str, Commit]:
        with self._connect() as con:
            if not self._columns(con, commit_sql.COMMITS_TABLE):
                return {}
            rows = con.execute(commit_sql.select_sql(self.schema, "?"), [asset]).fetchall()
        return commit_sql.commits_from_rows(asset, rows)

    def summaries(
        self, table: str, columns: Sequence[str], group_by: str | None = None, where: Mapping[str, object] | None = None
    ) -> dict[str, str]:
        condition, params = where_clause(where)
        with self._connect() as con:
            self._require(con, table)
            rows = con.execute(commit_sql.summary_sql(self.schema, table, columns, group_by, condition), params).fetchall()
        return commit_sql.summaries_from_rows(rows, columns)

    def _apply(self, con: duckdb.DuckDBPyConnection, op: Replace) -> None:
        table = qualified(self.schema, op.table)
        check = SliceCheck(op.where) if op.where is not None else None
        data = check.wrap(op.data) if check else op.data
        con.register(_SOURCE, data)
        try:
            if op.where is None:
                con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {quote_ident(_SOURCE)}")
            else:
                self._prepare_table(con, op.table, data.schema)
                condition, params = where_clause(op.where)
                con.execute(f"DELETE FROM {table}{condition}", params)
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {quote_ident(_SOURCE)}")
        except duckdb.Error as exc:
            if check is not None and check.error is not None:
                raise check.error from exc  # DuckDB wraps errors raised while scanning; give back ours
            raise
        # Only on success: in an aborted transaction unregister itself fails and would hide the
        # real error; the connection is closed right after anyway.
        con.unregister(_SOURCE)

    def _prepare_table(self, con: duckdb.DuckDBPyConnection, name: str, schema: pa.Schema) -> None:
        """Create the table from the data's schema, or widen it to take the data.

        Widening covers new optional fields (ADD COLUMN) and columns first
        created from an all-null Arrow column, which DuckDB types as "NULL" and
        which could then hold nothing else.
        """
        table = qualified(self.schema, name)
        # From an empty table, not the data itself: scanning a reader with LIMIT 0 could swallow a batch.
        con.register(_EMPTY, schema.empty_table())
        existing = self._columns(con, name)
        if not existing:
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM {quote_ident(_EMPTY)}")
        else:
            # DuckDB names the column types itself, so these type strings are engine output, not user text.
            described = con.execute(f"DESCRIBE SELECT * FROM {quote_ident(_EMPTY)}").fetchall()
            for column, column_type, *_ in described:
                current = existing.get(column.lower())
                if current is None:
                    con.execute(f"ALTER TABLE {table} ADD COLUMN {quote_ident(column)} {column_type}")
                elif current == _NULL_TYPE and column_type != _NULL_TYPE:
                    con.execute(f"ALTER TABLE {table} ALTER COLUMN {quote_ident(column)} TYPE {column_type}")
        con.unregister(_EMPTY)

    def _columns(self, con: duckdb.DuckDBPyConnection, name: str) -> dict[str, str]:
        """Lower-cased column name -> type (DuckDB matches names case-insensitively); empty if no such table."""
        rows = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE lower(table_schema) = lower(?) AND lower(table_name) = lower(?)",
            [self.schema, name],
        ).fetchall()
        return {column.lower(): data_type for column, data_type in rows}

    # -- reading -----------------------------------------------------------

    def read(self, table: str, where: Mapping[str, object] | None = None) -> pa.Table:
        condition, params = where_clause(where)
        with self._connect() as con:
            self._require(con, table)
            result = con.sql(f"SELECT * FROM {qualified(self.schema, table)}{condition}", params=params)
            return _plain_lists(result.to_arrow_table())

    def count(self, table: str, where: Mapping[str, object] | None = None) -> int:
        condition, params = where_clause(where)
        with self._connect() as con:
            self._require(con, table)
            rows = con.execute(f"SELECT count(*) FROM {qualified(self.schema, table)}{condition}", params).fetchall()
            return int(rows[0][0])

    def tables(self) -> list[str]:
        with self._connect() as con:
            rows = con.execute(
                "SELECT table_name FROM information_schema.tables WHERE lower(table_schema) = lower(?)",
                [self.schema],
            ).fetchall()
        return sorted(row[0] for row in rows)

    def _require(self, con: duckdb.DuckDBPyConnection, table: str) -> None:
        if not self._columns(con, table):
            raise MissingTableError(f"table {table!r} does not exist in {self.describe()}")


def _bounded(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    # DuckDB's buffer pool may take 80% of the machine by default, and a big day's insert keeps its
    # table blocks there until the commit; capped, they spill to <file>.tmp instead of growing the run.
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    return con


def _plain_lists(table: pa.Table) -> pa.Table:
    """Rename DuckDB's list item fields ("l") to Arrow's default ("item").

    Otherwise a list column read back is a different Arrow type from the one
    loaded, and concatenating it with lake data fails.
    """
    fields = [field.with_type(_plain_type(field.type)) for field in table.schema]
    schema = pa.schema(fields, metadata=table.schema.metadata)
    return table if schema.equals(table.schema) else table.cast(schema)


def _plain_type(dtype: pa.DataType) -> pa.DataType:
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        item = dtype.value_field.with_type(_plain_type(dtype.value_type)).with_name("item")
        return pa.list_(item) if pa.types.is_list(dtype) else pa.large_list(item)
    if pa.types.is_struct(dtype):
        return pa.struct([field.with_type(_plain_type(field.type)) for field in dtype])
    return dtype
