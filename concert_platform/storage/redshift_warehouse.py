"""Redshift warehouse: the team/production target, loaded with COPY from the lake's Parquet.

Redshift speaks PostgreSQL's wire protocol, so this runs over a DB-API
connection from psycopg2, as dagster-aws's RedshiftClientResource does. The
connection factory is injectable; it must return a new connection that
interpolates parameters on the client (psycopg2 does), which this class owns and
closes. What the statements are, and why, is in `redshift_sql`; this module
only runs them: one connection per call, one transaction per load, ROLLBACK on
any error so the previous rows stay.

Reads are plain SELECTs turned into Arrow (UNLOAD is out of scope), typed from
the table's declared columns so an empty result still has the right schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg2
import pyarrow as pa

from concert_platform.storage import commits as commit_sql
from concert_platform.storage import redshift_sql as sql
from concert_platform.storage.commits import Commit
from concert_platform.storage.sql import pyformat_qualified, quote_ident
from concert_platform.storage.urls import Secrets, split_url
from concert_platform.storage.warehouse import MissingTableError, Replace, Warehouse, WarehouseUnreachable

DEFAULT_PORT = 5439
# lower(): Redshift folds even quoted names to lower case (unless enable_case_sensitive_identifier is on).
_COLUMNS = (
    "SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns "
    "WHERE lower(table_schema) = lower(%s) AND lower(table_name) = lower(%s) ORDER BY ordinal_position"
)
_TABLES = "SELECT table_name FROM information_schema.tables WHERE lower(table_schema) = lower(%s) AND table_type = 'BASE TABLE'"


def from_url(url: str, schema: str, iam_role: str | None = None) -> RedshiftWarehouse:
    """``redshift://user:password@host:5439/database[?sslmode=require]``; ``iam_role`` is the role COPY
    assumes to read the lake (``CONCERT_REDSHIFT_IAM_ROLE``, handed down from the settings).

    The password may be typed as is, any character included: the credentials are split off by
    `storage.urls`'s rule before the rest is parsed. Errors name everything but the password.
    """
    shape = "a Redshift warehouse URL looks like redshift://user:password@host:5439/database"
    if "://" not in url or url.partition("://")[0].split("+", 1)[0].lower() != "redshift":
        raise ValueError(shape)
    split = split_url(url)
    try:
        parts = urlsplit("redshift://" + split.location)
        port = parts.port or DEFAULT_PORT
    except ValueError:
        # Not urllib's message: it quotes the port, which a mistyped URL may have taken from the password.
        raise ValueError(f"{shape} (its host or port is malformed)") from None
    if not parts.hostname:
        raise ValueError(shape)
    user, password = split.user or "", split.password
    database = unquote(parts.path.lstrip("/")) or "dev"
    host = parts.hostname
    options = dict(parse_qsl(parts.query))  # libpq keywords such as sslmode
    if password is not None:
        options.setdefault("password", password)  # as libpq does, a password in the query wins
    # An unreachable cluster would otherwise hold a run for the operating system's TCP timeout (minutes).
    options.setdefault("connect_timeout", "10")

    def connect() -> Any:
        return psycopg2.connect(host=host, port=port, user=user, dbname=database, **options)

    return RedshiftWarehouse(
        connect,
        schema,
        iam_role=iam_role or None,
        location=f"redshift://{user}@{host}:{port}/{database}",
        secret=split.secrets,
    )


class RedshiftWarehouse(Warehouse):
    loads_from_lake = True  # COPY reads the Parquet the lake holds

    def __init__(
        self,
        connect: Callable[[], Any],
        schema: str,
        *,
        iam_role: str | None,
        location: str = "redshift",
        secret: str | Secrets | None = None,
        flavor: sql.Flavor = sql.REDSHIFT,
        layouts: Mapping[str, sql.Layout] = sql.LAYOUTS,
    ) -> None:
        quote_ident(schema)  # refuse an unusable schema name now, not at the first load
        self.schema = schema
        self.iam_role = iam_role
        self.flavor = flavor
        self.layouts = layouts
        self._connect_new = connect
        self._location = location
        # Only to scrub them from driver errors; prints as Secrets(***).
        self._secrets = secret if isinstance(secret, Secrets) else Secrets([secret])

    def describe(self) -> str:
        return f"{self._location} (schema {self.schema})"

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        failure: ConnectionError | None = None
        try:
            con = self._connect_new()
        except Exception as exc:
            message = self._secrets.scrub(str(exc).strip())
            failure = ConnectionError(f"cannot connect to {self.describe()}: {message}")
        if failure is not None:
            raise failure  # raised outside the except: no chained driver error that could carry the parameters
        try:
            yield con
        finally:
            con.close()

    def probe(self) -> None:
        failure: WarehouseUnreachable | None = None
        try:
            with self._connection() as con, con.cursor() as cur:
                cur.execute("SELECT 1")
        except ConnectionError as exc:
            failure = WarehouseUnreachable(str(exc))
        except Exception as exc:
            failure = WarehouseUnreachable(f"{self.describe()}: {self._secrets.scrub(str(exc).strip())}")
        if failure is not None:
            raise failure  # outside the except, as in _connection: nothing chained

    # -- loading -----------------------------------------------------------

    def load(
        self,
        operations: Sequence[Replace],
        commits: Sequence[Commit] | Callable[[], Sequence[Commit]] = (),
    ) -> None:
        if not operations and not commits:
            return
        for op in operations:  # before connecting: a load without its lake file cannot succeed
            sql.require_source(op, self.iam_role)
        with self._connection() as con:
            try:
                with con.cursor() as cur:
                    targets = dict.fromkeys(op.table for op in operations)
                    existing = {table: [row[0] for row in self._columns(cur, table)] for table in targets}
                    plan = sql.load_plan(
                        self.schema,
                        operations,
                        existing,
                        iam_role=self.iam_role,
                        flavor=self.flavor,
                        layouts=self.layouts,
                    )
                    for statement in plan:
                        self._run(cur, statement)
                    self._record(cur, commits() if callable(commits) else commits)
                con.commit()
            except BaseException:
                try:
                    con.rollback()
                except Exception:
                    pass  # the connection is gone or the COMMIT already ended it; the original error matters
                raise

    def _record(self, cur: Any, commits: Sequence[Commit]) -> None:
        if not commits:
            return
        cur.execute(commit_sql.create_sql(self.schema, pyformat=True))
        commit_sql.record_commits(cur.execute, self.schema, commits, mark="%s", pyformat=True)

    def committed(self, asset: str) -> dict[str, Commit]:
        with self._connection() as con, con.cursor() as cur:
            if not self._columns(cur, commit_sql.COMMITS_TABLE):
                return {}
            cur.execute(commit_sql.select_sql(self.schema, "%s", pyformat=True), (asset,))
            return commit_sql.commits_from_rows(asset, cur.fetchall())

    def summaries(
        self, table: str, columns: Sequence[str], group_by: str | None = None, where: Mapping[str, object] | None = None
    ) -> dict[str, str]:
        condition, params = sql.where_sql(where)
        with self._connection() as con, con.cursor() as cur:
            self._require(cur, table)
            cur.execute(commit_sql.summary_sql(self.schema, table, columns, group_by, condition, pyformat=True), params)
            return commit_sql.summaries_from_rows(cur.fetchall(), columns)

    def _run(self, cur: Any, statement: sql.Statement) -> None:
        if isinstance(statement, sql.Copy):
            self._copy(cur, statement)
            return
        cur.execute(statement.sql, statement.params)
        if isinstance(statement, sql.StageCheck):
            statement.verify(cur.fetchone())

    def _copy(self, cur: Any, copy: sql.Copy) -> None:
        """Fill the staging table from the lake; the one step a PostgreSQL stand-in replaces."""
        cur.execute(copy.sql, copy.params)

    # -- reading -----------------------------------------------------------

    def read(self, table: str, where: Mapping[str, object] | None = None) -> pa.Table:
        with self._connection() as con, con.cursor() as cur:
            columns = self._require(cur, table)
            self._select(cur, "*", table, where)
            rows = cur.fetchall()
        names = [column[0] for column in columns]
        arrays = [_to_arrow([row[i] for row in rows], column) for i, column in enumerate(columns)]
        return pa.table(arrays, names=names)

    def count(self, table: str, where: Mapping[str, object] | None = None) -> int:
        with self._connection() as con, con.cursor() as cur:
            self._require(cur, table)
            self._select(cur, "count(*)", table, where)
            return int(cur.fetchone()[0])

    def tables(self) -> list[str]:
        with self._connection() as con, con.cursor() as cur:
            cur.execute(_TABLES, (self.schema,))
            return sorted(row[0] for row in cur.fetchall())

    def _select(self, cur: Any, what: str, table: str, where: Mapping[str, object] | None) -> None:
        condition, params = sql.where_sql(where)
        cur.execute(f"SELECT {what} FROM {pyformat_qualified(self.schema, table)}{condition}", params)

    def _columns(self, cur: Any, table: str) -> list[tuple]:
        cur.execute(_COLUMNS, (self.schema, table))
        return cur.fetchall()

    def _require(self, cur: Any, table: str) -> list[tuple]:
        columns = self._columns(cur, table)
        if not columns:
            raise MissingTableError(f"table {table!r} does not exist in {self.describe()}")
        return columns


_ARROW_TYPES = {
    "smallint": pa.int16(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "real": pa.float32(),
    "double precision": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "time without time zone": pa.time64("us"),
    "timestamp without time zone": pa.timestamp("us"),
    "timestamp with time zone": pa.timestamp("us", "UTC"),
    "character varying": pa.string(),
    "character": pa.string(),
    "text": pa.string(),
}


def _to_arrow(values: list, column: tuple) -> pa.Array:
    _, data_type, precision, scale = column
    if data_type == "numeric" and precision:
        return pa.array(values, pa.decimal128(precision, scale or 0))
    dtype = _ARROW_TYPES.get(data_type)
    if dtype is None:  # SUPER (Redshift: JSON text) / JSONB (PostgreSQL: parsed) / anything else: JSON text
        return pa.array([v if v is None or isinstance(v, str) else json.dumps(v) for v in values], pa.string())
    return pa.array(values, dtype)
