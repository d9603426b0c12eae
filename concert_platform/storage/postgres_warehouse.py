"""PostgreSQL warehouse: tables typed from the data's Arrow schema, loaded with COPY.

Each load is one transaction, so a failure at any point (bad data, a broken
stream, a killed connection) leaves the previous rows as they were. A table
created by a replace of one day (a date column of its primary key) is
partitioned by that column, and a day is replaced by building its new
partition aside and swapping it in (`postgres_partitions`). Other partial
replaces delete their slice and COPY the rows straight into the table (binary
where the types allow, in key order); a full replace COPYs into a temporary
staging table first and then empties the table and inserts them.

Dagster loads partitions of one table from parallel processes. Row locks keep
different slices apart; what PostgreSQL does not serialise is guarded with
transaction-scoped advisory locks: DDL (two sessions creating the same
table or column: the loser fails on a catalog unique index), replacing the
same slice twice at once (the second DELETE cannot see the first one's new
rows, so both copies would survive; the second day partition would collide
with the first) and two full replaces of one table. A day replace holds the
DDL lock shared, so its table's columns stay as its new partition has them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import psycopg
import pyarrow as pa
from psycopg.conninfo import conninfo_to_dict

from concert_platform.storage import commits as commit_sql
from concert_platform.storage import postgres_partitions as partitions
from concert_platform.storage.commits import Commit
from concert_platform.storage.postgres_types import (
    NULL_MARK,
    alterations,
    arrow_type,
    copy_format,
    create_table,
    key_order,
    pg_type,
    write_copy,
)
from concert_platform.storage.sql import pyformat_ident, pyformat_qualified, pyformat_where, quote_ident
from concert_platform.storage.urls import split_url
from concert_platform.storage.warehouse import (
    MissingTableError,
    Replace,
    SliceCheck,
    Warehouse,
    WarehouseLockTimeout,
    WarehouseUnreachable,
)

_SCHEMES = ("postgresql", "postgres")
_MAX_NAME_BYTES = 63  # PostgreSQL silently truncates longer names, which then no longer match
_FETCH_ROWS = 65_536  # rows per fetch when reading: large enough to amortise calls, small enough to stream
_COLUMNS = """
    SELECT a.attname, format_type(a.atttypid, a.atttypmod), col_description(a.attrelid, a.attnum) = %s
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attnum"""


def from_url(url: str, schema: str) -> PostgresWarehouse:
    """``postgresql://user:password@host:port/dbname?param=value`` (also ``postgres://``, ``postgresql+driver://``).

    The password may be typed as is, any character included (see `storage.urls`).
    """
    return PostgresWarehouse(url, schema)


class PostgresWarehouse(Warehouse):
    def __init__(self, url: str, schema: str, lock_timeout_s: float = 120.0) -> None:
        if "://" not in url or url.partition("://")[0].lower().split("+", 1)[0] not in _SCHEMES:
            raise ValueError("a PostgreSQL warehouse URL starts with postgresql:// or postgres://")
        # The credentials are split off first, by our rule, so libpq never sees (and never quotes) a
        # password, however it is spelled; what libpq parses is host, port, database and options.
        split = split_url(url)
        try:
            params = conninfo_to_dict("postgresql://" + split.location)  # libpq knows no driver suffixes
        except psycopg.Error:
            # Not libpq's message: it quotes the URL, and a query may hold password=….
            raise ValueError(
                "malformed PostgreSQL URL; expected postgresql://user:password@host:port/dbname[?option=value&…] "
                "with known libpq options"
            ) from None
        # As libpq does, a user or password in the query wins over the one before the @.
        if split.user:
            params.setdefault("user", split.user)
        if split.password is not None:
            params.setdefault("password", split.password)
        self._secrets = split.secrets
        params.setdefault("connect_timeout", 10)  # an unreachable host would otherwise hang a run
        params.setdefault("application_name", "concert_platform")
        self._params = params
        _check_name(schema)
        self.schema = schema
        self.lock_timeout_s = lock_timeout_s
        self._session: psycopg.Connection | None = None

    def describe(self) -> str:
        # Rebuilt from the parsed parts, not masked in the URL: no spelling of the URL can leak a password.
        p = self._params
        user = (p.get("user") or "") + (":***" if p.get("password") else "")
        where = (f"{user}@" if user else "") + str(p.get("host", "")) + (f":{p['port']}" if p.get("port") else "")
        return f"postgresql://{where}/{p.get('dbname', '')} (schema {self.schema})"

    # -- connections -------------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection]:
        try:
            conn = psycopg.connect(**self._params)
        except psycopg.OperationalError as exc:
            message = self._secrets.scrub(str(exc).strip())
            raise psycopg.OperationalError(f"cannot connect to {self.describe()}: {message}") from None
        try:
            # timestamptz is read in the session zone; UTC keeps reads independent of the server's setting.
            conn.execute(
                "SELECT set_config('TimeZone', 'UTC', false), set_config('lock_timeout', %s, false)",
                (f"{int(self.lock_timeout_s * 1000)}ms",),
            )
            yield conn
        finally:
            conn.close()

    def probe(self) -> None:
        try:
            with self._connect() as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            message = self._secrets.scrub(str(exc).strip())
            if not message.startswith("cannot connect to "):  # _connect's own message already says where
                message = f"{self.describe()}: {message}"
            raise WarehouseUnreachable(message) from None

    # -- loading -----------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[PostgresWarehouse]:
        """One connection for the loads and reads inside (a publish holds its partition lock on it)."""
        if self._session is not None:
            yield self
            return
        with self._connect() as conn:
            conn.commit()  # the session settings _connect made outlive any rollback from here on
            self._session = conn
            try:
                yield self
            finally:
                self._session = None

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        if self._session is None:
            with self._connect() as conn:
                yield conn
            return
        try:
            yield self._session
        finally:
            if self._session.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
                self._session.rollback()  # a read's implicit transaction: hold no snapshot between calls

    @contextmanager
    def partition_lock(self, asset: str, partition: str | None) -> Iterator[None]:
        """A session-level advisory lock: it outlives the load's transaction until the lake's files are
        moved in, and dies with the connection if the process does."""
        with self.session():
            conn = self._session
            key = _lock_key("partition", self.schema, asset, partition or "")
            try:
                conn.execute("SELECT pg_advisory_lock(%s)", (key,))
                conn.commit()
            except psycopg.errors.LockNotAvailable as exc:
                _rollback(conn)
                raise WarehouseLockTimeout(
                    f"{self.describe()}: another run has been writing {asset} {partition or ''} for more than "
                    f"{self.lock_timeout_s:g} s: {exc}"
                ) from exc
            try:
                yield
            finally:
                try:
                    _rollback(conn)
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
                    conn.commit()
                except psycopg.Error:
                    pass  # the connection is gone, and the server released the lock with it

    def load(
        self,
        operations: Sequence[Replace],
        commits: Sequence[Commit] | Callable[[], Sequence[Commit]] = (),
    ) -> None:
        if not operations and not commits:
            return
        checked = [(op, _checked_data(op)) for op in operations]  # bad input fails before any connection
        with self._connection() as conn:
            try:
                with conn.cursor() as cur:
                    self._ensure_schema(cur)
                    swaps = [self._apply(cur, index, op, data) for index, (op, data) in enumerate(checked)]
                    recorded = commits() if callable(commits) else commits
                    # Swaps last, after the wait for the lake's staging: a reload's swap locks its whole
                    # table until the commit, so nothing slow may come between.
                    for swap in swaps:
                        if swap is not None:
                            swap.run(cur, self.lock_timeout_s)
                    self._record(cur, recorded)
                conn.commit()
            except psycopg.errors.LockNotAvailable as exc:
                _rollback(conn)
                raise WarehouseLockTimeout(
                    f"{self.describe()}: waited more than {self.lock_timeout_s:g} s for a lock held by another "
                    f"session (a long load of the same table?): {exc}"
                ) from exc
            except BaseException:
                _rollback(conn)
                raise

    def _record(self, cur: psycopg.Cursor, commits: Sequence[Commit]) -> None:
        if not commits:
            return
        if not self._columns(cur, commit_sql.COMMITS_TABLE):
            _advisory_lock(cur, "ddl", self.schema, commit_sql.COMMITS_TABLE)
            cur.execute(commit_sql.create_sql(self.schema, pyformat=True), ())
        commit_sql.record_commits(cur.execute, self.schema, commits, mark="%s", pyformat=True)

    def committed(self, asset: str) -> dict[str, Commit]:
        with self._connection() as conn, conn.cursor() as cur:
            if not self._columns(cur, commit_sql.COMMITS_TABLE):
                return {}
            rows = cur.execute(commit_sql.select_sql(self.schema, "%s", pyformat=True), (asset,)).fetchall()
        return commit_sql.commits_from_rows(asset, rows)

    def summaries(
        self, table: str, columns: Sequence[str], group_by: str | None = None, where: Mapping[str, object] | None = None
    ) -> dict[str, str]:
        condition, params = pyformat_where(where)
        with self._connection() as conn, conn.cursor() as cur:
            self._require(cur, table)
            query = commit_sql.summary_sql(self.schema, table, columns, group_by, condition, pyformat=True)
            rows = cur.execute(query, params).fetchall()
        return commit_sql.summaries_from_rows(rows, columns)

    def _ensure_schema(self, cur: psycopg.Cursor) -> None:
        # Looking first spares every load the lock, and the CREATE privilege CREATE SCHEMA needs.
        if cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.schema,)).fetchone():
            return
        _advisory_lock(cur, "schema", self.schema)
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {pyformat_ident(self.schema)}", ())

    def _apply(
        self, cur: psycopg.Cursor, index: int, op: Replace, data: pa.Table | pa.RecordBatchReader
    ) -> partitions.Swap | None:
        """Load ``op`` inside the transaction; a day of a partitioned table returns the swap still to run."""
        wanted = {field.name: field.type for field in data.schema}
        day = partitions.day_of(op.where, op.primary_key)
        if day is not None and (day[0] not in wanted or pg_type(wanted[day[0]]) != "date"):
            day = None
        if op.where is None:
            # Taken before the table is touched: two full replaces that both held it (LIKE) and then both
            # waited to TRUNCATE it would deadlock.
            _advisory_lock(cur, "full", self.schema, op.table)
        # A table is made partitioned by day only when a replace of one day creates it; the layout it
        # got then (a plain table from earlier versions included) decides every later load's path.
        self._prepare(cur, op, wanted, partition_by=day[0] if day else None)
        layout = partitions.layout(cur, self.schema, op.table)
        table_columns = self._columns(cur, op.table)
        column_types = [table_columns[name][0] for name in data.schema.names]
        if op.where is not None:
            _advisory_lock(cur, "slice", self.schema, op.table, *sorted((k, str(v)) for k, v in op.where.items()))
        if layout.partitioned and day is not None and layout.column == day[0]:
            return self._build_day(cur, op.table, data, column_types, *day)
        if op.where is not None and not layout.partitioned:
            self._replace_slice(cur, op, data, column_types)
        else:
            self._replace_staged(cur, index, op, data, column_types, layout.column)
        return None

    def _build_day(
        self,
        cur: psycopg.Cursor,
        table: str,
        data: pa.Table | pa.RecordBatchReader,
        column_types: list[str],
        column: str,
        day: dt.date,
    ) -> partitions.Swap:
        """The day's rows in a new table of their own, indexed and checked, ready to swap in (`postgres_partitions`)."""
        name = partitions.partition_name(table, day)
        replaces = partitions.has_partition(cur, self.schema, table, name)
        built_as = partitions.loading_name(table, day) if replaces else name
        shape = partitions.shape(cur, self.schema, table)
        cur.execute(partitions.day_table_ddl(self.schema, built_as, shape.columns, shape.checks, column, day), ())
        # FREEZE: allowed as the table is new in this transaction; nobody sees it before the commit anyway.
        copy_from = _copy_from(data, column_types, "FREEZE")
        with cur.copy(f"COPY {quote_ident(self.schema)}.{quote_ident(built_as)} {copy_from}") as copy:
            # Rows in key order make the index build's sort cheap (1M sales: 0.4-0.5 s, 0.8-1.2 s unsorted).
            write_copy(data, copy, column_types, key_order(data, [name for name in shape.primary_key if name != column]))
        if shape.primary_key:
            cur.execute(partitions.primary_key_ddl(self.schema, built_as, shape.primary_key), ())
        return partitions.Swap(self.schema, table, day, built_as, replaces)

    def _replace_slice(
        self, cur: psycopg.Cursor, op: Replace, data: pa.Table | pa.RecordBatchReader, column_types: list[str]
    ) -> None:
        """A slice of a plain table: DELETE, then COPY straight in."""
        condition, params = pyformat_where(op.where)
        cur.execute(f"DELETE FROM {pyformat_qualified(self.schema, op.table)}{condition}", params)
        # Straight into the table: the transaction keeps the old rows until the last one arrived, and
        # readers see them meanwhile. Staging cost every row a second write and a sort (1M sales into a
        # table holding other days, server time: ~9.6 s staged, ~4.5 s straight in key order).
        copy_from = _copy_from(data, column_types)
        with cur.copy(f"COPY {quote_ident(self.schema)}.{quote_ident(op.table)} {copy_from}") as copy:
            # Key columns the slice pins are the same in every row: sorting by them would only cost time.
            order = key_order(data, [name for name in op.primary_key if name not in op.where])
            write_copy(data, copy, column_types, order)

    def _replace_staged(
        self,
        cur: psycopg.Cursor,
        index: int,
        op: Replace,
        data: pa.Table | pa.RecordBatchReader,
        column_types: list[str],
        partition_column: str | None,
    ) -> None:
        """A full replace; on a day-partitioned table also a slice that is not one day.

        Both stage the rows first: a full replace so that TRUNCATE's lock, which blocks readers too, is
        held only for the INSERT, not the stream; a slice of a partitioned table to learn which days
        its rows need partitions for.
        """
        table = pyformat_qualified(self.schema, op.table)
        stage = f"pg_temp.{quote_ident(f'_concert_stage_{index}')}"
        # LIKE copies column types and NOT NULL but no index: the primary key is checked once, on INSERT.
        cur.execute(f"CREATE TEMP TABLE {_escape(stage)} (LIKE {table}) ON COMMIT DROP", ())
        with cur.copy(f"COPY {stage} {_copy_from(data, column_types)}") as copy:
            write_copy(data, copy, column_types)
        if op.where is None:
            # TRUNCATE, not DELETE: no dead copy of the table is left behind, and its lock keeps a
            # concurrent partition load from slipping rows in between.
            cur.execute(f"TRUNCATE {table}", ())
        else:
            condition, params = pyformat_where(op.where)
            cur.execute(f"DELETE FROM {table}{condition}", params)
        if partition_column is not None:
            days = cur.execute(f"SELECT DISTINCT {pyformat_ident(partition_column)} FROM {_escape(stage)}", ()).fetchall()
            partitions.add_missing(cur, self.schema, op.table, [row[0] for row in days if row[0] is not None])
        columns = _escape(", ".join(quote_ident(name) for name in data.schema.names))
        # In key order each btree page is visited once: 1M shuffled rows went in 2.3 s instead of 4.0 s
        # (already sorted input pays ~0.3 s for the sort).
        order = f" ORDER BY {', '.join(pyformat_ident(name) for name in op.primary_key)}" if op.primary_key else ""
        cur.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {_escape(stage)}{order}", ())

    def _prepare(self, cur: psycopg.Cursor, op: Replace, wanted: dict[str, pa.DataType], partition_by: str | None = None) -> None:
        """Create the table from the data's types (partitioned by ``partition_by`` if given), or alter it to take the data.

        Looking needs no lock. Only when DDL is due is the table's DDL lock
        taken and the catalog read again: another session may have just made
        the same change. A replace of one day holds the lock shared when no
        DDL is due: its new table is built with the parent's columns now and
        attached at the end, so they must not change in between.
        """
        table = pyformat_qualified(self.schema, op.table)
        full = op.where is None
        existing = self._columns(cur, op.table)
        if existing and not alterations(table, existing, wanted, full):
            if partition_by is None:
                return
            _advisory_lock(cur, "ddl", self.schema, op.table, shared=True)
            if not alterations(table, self._columns(cur, op.table), wanted, full):
                return
            # DDL committed between the two looks: take the lock whole (waiting for other holders, who
            # would deadlock only if they, too, changed their mind at this very moment: one is refused).
        _advisory_lock(cur, "ddl", self.schema, op.table)
        existing = self._columns(cur, op.table)
        if existing:
            statements = alterations(table, existing, wanted, full)
        else:
            statements = create_table(table, wanted, op.primary_key, partition_by)
        for statement in statements:
            cur.execute(statement, ())

    def _columns(self, cur: psycopg.Cursor, table: str) -> dict[str, tuple[str, bool]]:
        """Column -> (PostgreSQL type, whether it was made from an all-null column), in table order; {} if none."""
        rows = cur.execute(_COLUMNS, (NULL_MARK, self.schema, table)).fetchall()
        return {name: (pg, bool(all_null)) for name, pg, all_null in rows}

    # -- reading -----------------------------------------------------------

    def read(self, table: str, where: Mapping[str, object] | None = None) -> pa.Table:
        condition, params = pyformat_where(where)
        with self._connection() as conn:
            with conn.cursor() as cur:
                columns = self._require(cur, table)
            fields, selected = [], []
            for name, (pg, all_null) in columns.items():
                dtype = pa.null() if all_null else arrow_type(pg)
                # Types without an Arrow twin (json, uuid, inet, unconstrained numeric…) are read as their text.
                selected.append(pyformat_ident(name) if dtype is not None else f"{pyformat_ident(name)}::text")
                fields.append(pa.field(name, dtype if dtype is not None else pa.string()))
            schema = pa.schema(fields)
            query = f"SELECT {', '.join(selected)} FROM {pyformat_qualified(self.schema, table)}{condition}"
            batches = []
            # Server-side cursor: rows come a chunk at a time, not all at once into client memory.
            with conn.cursor(name="concert_read") as cur:
                cur.execute(query, params)
                while rows := cur.fetchmany(_FETCH_ROWS):
                    arrays = [pa.array(values, field.type) for values, field in zip(zip(*rows, strict=True), fields, strict=True)]
                    batches.append(pa.record_batch(arrays, schema=schema))
            return pa.Table.from_batches(batches, schema)

    def count(self, table: str, where: Mapping[str, object] | None = None) -> int:
        condition, params = pyformat_where(where)
        with self._connection() as conn, conn.cursor() as cur:
            self._require(cur, table)
            cur.execute(f"SELECT count(*) FROM {pyformat_qualified(self.schema, table)}{condition}", params)
            return int(cur.fetchone()[0])

    def tables(self) -> list[str]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition",
                (self.schema,),
            ).fetchall()
        return sorted(row[0] for row in rows)

    def _require(self, cur: psycopg.Cursor, table: str) -> dict[str, tuple[str, bool]]:
        _check_name(table)
        columns = self._columns(cur, table)
        if not columns:
            raise MissingTableError(f"table {table!r} does not exist in {self.describe()}")
        return columns


def _checked_data(op: Replace) -> pa.Table | pa.RecordBatchReader:
    for name in (op.table, *op.data.schema.names):
        _check_name(name)
    missing = [name for name in op.primary_key if name not in op.data.schema.names]
    if missing:
        raise ValueError(f"primary key columns {missing} of {op.table!r} are not in the data")
    for field in op.data.schema:
        pg_type(field.type)  # an unsupported type fails now, not after earlier operations ran
    return SliceCheck(op.where).wrap(op.data) if op.where is not None else op.data


def _copy_from(data: pa.Table | pa.RecordBatchReader, column_types: list[str], *options: str) -> str:
    """``(columns) FROM STDIN (FORMAT …)`` for COPY of ``data`` into columns of ``column_types``."""
    columns = ", ".join(quote_ident(name) for name in data.schema.names)
    # COPY is sent without parameters, so psycopg leaves its % signs alone.
    return f"({columns}) FROM STDIN ({', '.join([f'FORMAT {copy_format(data.schema, column_types)}', *options])})"


def _advisory_lock(cur: psycopg.Cursor, *key: object, shared: bool = False) -> None:
    """Hold the lock named by ``key`` until the transaction ends, waiting (up to lock_timeout) for its holder.

    ``shared`` holders only keep an exclusive one out (and wait for it)."""
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    cur.execute(f"SELECT {function}(%s)", (_lock_key(*key),))


def _lock_key(*key: object) -> int:
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _rollback(conn: psycopg.Connection) -> None:
    try:
        conn.rollback()
    except psycopg.Error:
        pass  # the connection is gone (killed, network) and the server rolled back; the first error matters


def _check_name(name: str) -> None:
    quote_ident(name)
    if len(name.encode()) > _MAX_NAME_BYTES:
        raise ValueError(f"PostgreSQL names are at most {_MAX_NAME_BYTES} bytes: {name!r}")


def _escape(sql: str) -> str:
    return sql.replace("%", "%%")  # see storage.sql.pyformat_ident
