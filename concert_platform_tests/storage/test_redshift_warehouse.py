"""The Redshift warehouse: its SQL exactly as sent, then the very same code path on a real PostgreSQL.

No Redshift exists here. The PostgreSQL runs use the production class with two
honest differences: the POSTGRES_STANDIN flavor (no DISTSTYLE/DISTKEY/SORTKEY,
JSONB for SUPER) and `_copy`, which loads the lake's Parquet (written by the
real Lake to moto's S3) into the staging table instead of Redshift's COPY.
Statement order, the checks, DELETE/INSERT and COMMIT/ROLLBACK are unchanged.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import socket
import uuid

import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from psycopg2.extras import Json, execute_values

from concert_platform.storage import redshift_sql as sql
from concert_platform.storage.lake import Lake
from concert_platform.storage.redshift_warehouse import RedshiftWarehouse, from_url
from concert_platform.storage.sql import quote_ident
from concert_platform.storage.warehouse import MissingTableError, Replace, SliceMismatch, make_warehouse

ROLE = "arn:aws:iam::123456789012:role/concert-lake-read"
URI = "s3://lake/ticket_sales/2026-01-01/data.parquet"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}


def _sales(day: str, n: int = 3, first: int = 0, **extra) -> pa.Table:
    d = dt.date.fromisoformat(day)
    ids = range(first, first + n)
    columns = {
        "sale_id": pa.array([f"{day}-{i}" for i in ids]),
        "concert_id": pa.array([f"C{i % 2}" for i in ids]),
        "sold_at": pa.array([dt.datetime(d.year, d.month, d.day, 12, i, tzinfo=dt.UTC) for i in ids], pa.timestamp("us", "UTC")),
        "sale_date": pa.array([d] * n, pa.date32()),
        "quantity": pa.array([1 + i for i in ids], pa.int64()),
        "unit_price": pa.array([decimal.Decimal("89.50")] * n, pa.decimal128(18, 4)),
    }
    return pa.table({**columns, **extra})


def _plan(ops, existing=None, **kwargs):
    return [(s.sql, s.params) for s in sql.load_plan("concert", ops, existing or {}, iam_role=ROLE, **kwargs)]


COLS = '"sale_id", "concert_id", "sold_at", "sale_date", "quantity", "unit_price"'
DEFS = (
    '"sale_id" VARCHAR(65535), "concert_id" VARCHAR(65535), "sold_at" TIMESTAMPTZ, "sale_date" DATE, '
    '"quantity" BIGINT, "unit_price" DECIMAL(18,4)'
)
STAGE = '"concert_stage_0"'


# -- the SQL, exactly ----------------------------------------------------------


def test_partition_replace_into_a_new_table_creates_it_with_distkey_and_sortkey():
    op = Replace("ticket_sales", _sales("2026-01-01"), {"sale_date": "2026-01-01"}, ("sale_id",), URI)
    assert _plan([op]) == [
        ('CREATE SCHEMA IF NOT EXISTS "concert"', ()),
        (
            f'CREATE TABLE IF NOT EXISTS "concert"."ticket_sales" ({DEFS}, PRIMARY KEY ("sale_id")) '
            'DISTSTYLE KEY DISTKEY ("concert_id") COMPOUND SORTKEY ("sale_date", "sold_at")',
            (),
        ),
        (f"CREATE TEMP TABLE {STAGE} ({DEFS})", ()),
        (f"COPY {STAGE} FROM %s IAM_ROLE %s FORMAT AS PARQUET", (URI, ROLE)),
        (f'SELECT count(*), count(CASE WHEN "sale_date" = %s THEN 1 END) FROM {STAGE}', ("2026-01-01",)),
        ('DELETE FROM "concert"."ticket_sales" WHERE "sale_date" = %s', ("2026-01-01",)),
        (f'INSERT INTO "concert"."ticket_sales" ({COLS}) SELECT {COLS} FROM {STAGE}', ()),
        (f"DROP TABLE {STAGE}", ()),
    ]


def test_partition_replace_into_an_existing_table_adds_new_columns_one_by_one():
    data = _sales("2026-01-01", channel=pa.array(["web"] * 3), tags=pa.array([["vip"], [], None], pa.list_(pa.string())))
    op = Replace("ticket_sales", data, {"sale_date": "2026-01-01", "channel": None}, ("sale_id",), URI)
    existing = {"ticket_sales": ["SALE_ID", "concert_id", "sold_at", "sale_date", "quantity", "unit_price", "old"]}
    cols = f'{COLS}, "channel", "tags"'
    assert _plan([op], existing) == [
        ('ALTER TABLE "concert"."ticket_sales" ADD COLUMN "channel" VARCHAR(65535)', ()),
        ('ALTER TABLE "concert"."ticket_sales" ADD COLUMN "tags" SUPER', ()),
        (f'CREATE TEMP TABLE {STAGE} ({DEFS}, "channel" VARCHAR(65535), "tags" SUPER)', ()),
        (f"COPY {STAGE} FROM %s IAM_ROLE %s FORMAT AS PARQUET SERIALIZETOJSON", (URI, ROLE)),
        (f'SELECT count(*), count(CASE WHEN "sale_date" = %s AND "channel" IS NULL THEN 1 END) FROM {STAGE}', ("2026-01-01",)),
        ('DELETE FROM "concert"."ticket_sales" WHERE "sale_date" = %s AND "channel" IS NULL', ("2026-01-01",)),
        (f'INSERT INTO "concert"."ticket_sales" ({cols}) SELECT {cols} FROM {STAGE}', ()),
        (f"DROP TABLE {STAGE}", ()),
    ]


def test_full_replace_deletes_everything_and_copies_before_any_delete():
    artists = Replace("artists", pa.table({"artist_id": ["a"], "name": ["A"]}), None, ("artist_id",), "s3://l/a.parquet")
    features = Replace("artist_features", pa.table({"artist_id": ["a"], "score": [0.5]}), source_uri="s3://l/f.parquet")
    plan = _plan([artists, features], {"artists": ["artist_id", "name"]})
    assert plan == [
        ('CREATE SCHEMA IF NOT EXISTS "concert"', ()),
        ('CREATE TEMP TABLE "concert_stage_0" ("artist_id" VARCHAR(65535), "name" VARCHAR(65535))', ()),
        ('COPY "concert_stage_0" FROM %s IAM_ROLE %s FORMAT AS PARQUET', ("s3://l/a.parquet", ROLE)),
        ('SELECT count(*) FROM "concert_stage_0"', ()),
        (
            'CREATE TABLE IF NOT EXISTS "concert"."artist_features" ("artist_id" VARCHAR(65535), '
            '"score" DOUBLE PRECISION) DISTSTYLE AUTO',
            (),
        ),
        ('CREATE TEMP TABLE "concert_stage_1" ("artist_id" VARCHAR(65535), "score" DOUBLE PRECISION)', ()),
        ('COPY "concert_stage_1" FROM %s IAM_ROLE %s FORMAT AS PARQUET', ("s3://l/f.parquet", ROLE)),
        ('SELECT count(*) FROM "concert_stage_1"', ()),
        ('DELETE FROM "concert"."artists"', ()),
        ('INSERT INTO "concert"."artists" ("artist_id", "name") SELECT "artist_id", "name" FROM "concert_stage_0"', ()),
        ('DELETE FROM "concert"."artist_features"', ()),
        ('INSERT INTO "concert"."artist_features" ("artist_id", "score") SELECT "artist_id", "score" FROM "concert_stage_1"', ()),
        ('DROP TABLE "concert_stage_0"', ()),
        ('DROP TABLE "concert_stage_1"', ()),
    ]


def test_identifiers_with_quotes_and_percent_signs_stay_inert():
    op = Replace('ta"ble', pa.table({'a"b': [1], "pct%": [2]}), {'a"b': 1}, source_uri=URI)
    plan = [(s.sql, s.params) for s in sql.load_plan('we"ird', [op], {}, iam_role=ROLE)]
    assert plan == [
        ('CREATE SCHEMA IF NOT EXISTS "we""ird"', ()),
        ('CREATE TABLE IF NOT EXISTS "we""ird"."ta""ble" ("a""b" BIGINT, "pct%%" BIGINT) DISTSTYLE AUTO', ()),
        (f'CREATE TEMP TABLE {STAGE} ("a""b" BIGINT, "pct%%" BIGINT)', ()),
        (f"COPY {STAGE} FROM %s IAM_ROLE %s FORMAT AS PARQUET", (URI, ROLE)),
        (f'SELECT count(*), count(CASE WHEN "a""b" = %s THEN 1 END) FROM {STAGE}', (1,)),
        ('DELETE FROM "we""ird"."ta""ble" WHERE "a""b" = %s', (1,)),
        (f'INSERT INTO "we""ird"."ta""ble" ("a""b", "pct%%") SELECT "a""b", "pct%%" FROM {STAGE}', ()),
        (f"DROP TABLE {STAGE}", ()),
    ]
    # psycopg2 turns %% back into % as it binds: the server sees the real name.
    con = psycopg2.connect(**PG)
    with con.cursor() as cur:
        assert cur.mogrify(*plan[5]) == b'DELETE FROM "we""ird"."ta""ble" WHERE "a""b" = 1'
        assert cur.mogrify(*plan[6]).startswith(b'INSERT INTO "we""ird"."ta""ble" ("a""b", "pct%") SELECT')
    con.close()


def test_layouts_are_data_and_the_postgres_flavor_drops_redshift_only_clauses():
    data = pa.table({"k": [1], "day": ["x"], "doc": pa.array([{"a": 1}])})
    op = Replace("events", data, source_uri=URI)
    layouts = {"events": sql.Layout("KEY", "k", ("day",))}
    create = _plan([op], layouts=layouts)[1][0]
    assert create.endswith('("k" BIGINT, "day" VARCHAR(65535), "doc" SUPER) DISTSTYLE KEY DISTKEY ("k") COMPOUND SORTKEY ("day")')
    plain = _plan([op], layouts=layouts, flavor=sql.POSTGRES_STANDIN)[1][0]
    assert plain == 'CREATE TABLE IF NOT EXISTS "concert"."events" ("k" BIGINT, "day" VARCHAR(65535), "doc" JSONB)'
    assert _plan([op], layouts={"events": sql.Layout("ALL")})[1][0].endswith(" DISTSTYLE ALL")
    with pytest.raises(ValueError, match="table layout of 'events' names columns the data lacks: \\['nope'\\]"):
        _plan([op], layouts={"events": sql.Layout("KEY", "nope")})
    with pytest.raises(ValueError, match="DISTSTYLE KEY needs a distkey"):
        sql.Layout("KEY")


def test_arrow_types_map_to_redshift_types():
    expected = {
        pa.string(): "VARCHAR(65535)",
        pa.large_string(): "VARCHAR(65535)",
        pa.decimal128(12, 2): "DECIMAL(12,2)",
        pa.timestamp("us", "UTC"): "TIMESTAMPTZ",
        pa.timestamp("ms"): "TIMESTAMP",
        pa.date32(): "DATE",
        pa.int8(): "SMALLINT",
        pa.int16(): "SMALLINT",
        pa.int32(): "INTEGER",
        pa.int64(): "BIGINT",
        pa.uint32(): "BIGINT",
        pa.uint64(): "DECIMAL(20,0)",
        pa.float32(): "REAL",
        pa.float64(): "DOUBLE PRECISION",
        pa.bool_(): "BOOLEAN",
        pa.list_(pa.string()): "SUPER",
        pa.struct([("a", pa.int64())]): "SUPER",
        pa.dictionary(pa.int32(), pa.string()): "VARCHAR(65535)",
    }
    assert {t: sql.column_type(t) for t in expected} == expected
    with pytest.raises(TypeError, match="no Redshift column type"):
        sql.column_type(pa.binary())


@pytest.mark.parametrize("uri", [None, "/lake/ticket_sales/2026-01-01/data.parquet", "s3://bucket-only", "gs://b/k"])
def test_a_load_without_an_s3_lake_file_is_refused_before_connecting(uri):
    wh = RedshiftWarehouse(_no_connection, "concert", iam_role=ROLE)
    with pytest.raises(ValueError, match="Replace.source_uri must be an s3://bucket/key URI"):
        wh.load([Replace("ticket_sales", _sales("2026-01-01"), source_uri=uri)])


def test_a_load_without_an_iam_role_is_refused_before_connecting():
    wh = RedshiftWarehouse(_no_connection, "concert", iam_role=None)
    with pytest.raises(ValueError, match="CONCERT_REDSHIFT_IAM_ROLE is not set"):
        wh.load([Replace("ticket_sales", _sales("2026-01-01"), source_uri=URI)])


def _no_connection():
    raise AssertionError("must not connect")


class _Recorder:
    """A DB-API connection that records what the warehouse sends and answers its two kinds of question."""

    def __init__(self, existing, staged=(3, 3), fail_on=None):
        self.existing, self.staged, self.fail_on, self.log = existing, staged, fail_on, []

    def cursor(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, text, params=()):
        self.log.append((text, tuple(params)))
        self.table = params[1] if "information_schema.columns" in text else None
        if self.fail_on and text.startswith(self.fail_on):
            raise RuntimeError("injected")

    def fetchall(self):
        return [(name, "x", None, None) for name in self.existing.get(self.table, [])]

    def fetchone(self):
        return self.staged

    def commit(self):
        self.log.append(("COMMIT", ()))

    def rollback(self):
        self.log.append(("ROLLBACK", ()))

    def close(self):
        self.log.append(("CLOSE", ()))


def test_load_sends_the_columns_query_then_the_plan_then_commits():
    op = Replace("ticket_sales", _sales("2026-01-01"), {"sale_date": "2026-01-01"}, ("sale_id",), URI)
    con = _Recorder({})
    RedshiftWarehouse(lambda: con, "concert", iam_role=ROLE).load([op])
    assert "information_schema.columns" in con.log[0][0] and con.log[0][1] == ("concert", "ticket_sales")
    assert con.log[1:] == [*_plan([op]), ("COMMIT", ()), ("CLOSE", ())]


@pytest.mark.parametrize(
    ("staged", "fail_on", "error"),
    [((3, 3), "INSERT", RuntimeError), ((3, 2), None, SliceMismatch), ((4, 4), None, ValueError)],
)
def test_any_failure_rolls_back(staged, fail_on, error):
    op = Replace("ticket_sales", _sales("2026-01-01"), {"sale_date": "2026-01-01"}, ("sale_id",), URI)
    con = _Recorder({}, staged, fail_on)
    with pytest.raises(error):
        RedshiftWarehouse(lambda: con, "concert", iam_role=ROLE).load([op])
    assert con.log[-2:] == [("ROLLBACK", ()), ("CLOSE", ())] and ("COMMIT", ()) not in con.log


# -- URL, description, secrets -------------------------------------------------


def test_make_warehouse_reads_the_url_and_role_without_connecting():
    wh = make_warehouse("redshift://loader:s3cr%40t@cluster.example:5439/dev?sslmode=require", "concert", redshift_iam_role=ROLE)
    assert isinstance(wh, RedshiftWarehouse) and wh.iam_role == ROLE
    assert wh.describe() == "redshift://loader@cluster.example:5439/dev (schema concert)"
    assert "s3cr" not in repr(wh) and "s3cr" not in repr(vars(wh))
    assert from_url("redshift://u@h/db", "s").describe() == "redshift://u@h:5439/db (schema s)"


def test_connection_errors_never_show_the_password():
    with socket.socket() as s:  # a port nobody listens on once this socket is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    wh = from_url(f"redshift://loader:pw-s3cret@127.0.0.1:{port}/dev?connect_timeout=2", "concert", iam_role=ROLE)
    with pytest.raises(ConnectionError, match="cannot connect to redshift://loader@127.0.0.1") as info:
        wh.tables()
    assert "pw-s3cret" not in str(info.value) and info.value.__context__ is None and info.value.__cause__ is None
    assert "pw-s3cret" not in repr(vars(wh))


# -- the same code path on a real PostgreSQL -----------------------------------


class PostgresStandIn(RedshiftWarehouse):
    """The production class against PostgreSQL: only `_copy` differs (and `_run` can inject a failure)."""

    def __init__(self, schema, s3, fail_before=None):
        super().__init__(lambda: psycopg2.connect(**PG), schema, iam_role=ROLE, flavor=sql.POSTGRES_STANDIN)
        self.s3, self.fail_before, self.sent = s3, fail_before, []

    def _run(self, cur, statement):
        if self.fail_before and statement.sql.startswith(self.fail_before):
            raise RuntimeError("injected failure")
        self.sent.append(statement.sql.split(" ")[0])
        super()._run(cur, statement)

    def _copy(self, cur, copy):
        assert copy.params == (copy.source_uri, ROLE) and copy.sql.startswith("COPY ")
        bucket, _, key = copy.source_uri.removeprefix("s3://").partition("/")
        data = pq.read_table(io.BytesIO(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
        assert data.column_names == list(copy.columns)  # Parquet COPY maps by position: the stage mirrors the file
        rows = [tuple(Json(v) if isinstance(v, (list, dict)) else v for v in row.values()) for row in data.to_pylist()]
        if rows:
            execute_values(cur, f"INSERT INTO {quote_ident(copy.stage)} VALUES %s", rows)


@pytest.fixture
def schema():
    name = f"rs_test_{uuid.uuid4().hex[:12]}"
    yield name
    con = psycopg2.connect(**PG)
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {quote_ident(name)} CASCADE")
    con.close()


@pytest.fixture
def lake(s3_bucket, aws_env):
    return Lake.from_url(f"s3://{s3_bucket}/lake", endpoint_url=aws_env)


@pytest.fixture
def wh(schema, lake, aws_env):
    import boto3

    return PostgresStandIn(schema, boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1"))


def _day(lake, day, data, asset="ticket_sales"):
    uri = lake.write(asset, data, partition=day).uri
    return Replace(asset, data, {"sale_date": dt.date.fromisoformat(day)}, ("sale_id",), uri)


def _ids(wh, table="ticket_sales"):
    return sorted(wh.read(table).column("sale_id").to_pylist())


def test_pg_partition_replace_is_idempotent_and_leaves_other_days_alone(wh, lake):
    wh.load([_day(lake, "2026-01-01", _sales("2026-01-01"))])
    wh.load([_day(lake, "2026-01-02", _sales("2026-01-02", 2))])
    again = _day(lake, "2026-01-01", _sales("2026-01-01", 4))
    wh.load([again])
    first = wh.read("ticket_sales")
    wh.load([again])
    assert wh.read("ticket_sales").sort_by("sale_id").equals(first.sort_by("sale_id"))
    assert wh.count("ticket_sales", {"sale_date": dt.date(2026, 1, 1)}) == 4
    assert wh.count("ticket_sales", {"sale_date": "2026-01-02"}) == 2 and wh.count("ticket_sales") == 6
    assert wh.tables() == ["ticket_sales"]
    assert wh.sent[-6:] == ["CREATE", "COPY", "SELECT", "DELETE", "INSERT", "DROP"]  # COPY: the local load of the file


def test_pg_failure_after_delete_before_insert_keeps_the_old_rows(wh, lake):
    wh.load([_day(lake, "2026-01-01", _sales("2026-01-01"))])
    wh.fail_before = "INSERT"
    with pytest.raises(RuntimeError, match="injected"):
        wh.load([_day(lake, "2026-01-01", _sales("2026-01-01", 5, first=10))])
    assert wh.sent[-1] == "DELETE"  # the delete did run, inside the transaction that was rolled back
    assert _ids(wh) == ["2026-01-01-0", "2026-01-01-1", "2026-01-01-2"]


def test_pg_one_bad_operation_rolls_back_the_whole_load(wh, lake):
    wh.load([_day(lake, "2026-01-01", _sales("2026-01-01"))])
    stray = _sales("2026-01-02", 1)  # a row of another day in this day's file would pile up on re-runs
    bad = Replace("ticket_sales", stray, {"sale_date": dt.date(2026, 1, 3)}, ("sale_id",), lake.write("x", stray).uri)
    good = _day(lake, "2026-01-01", _sales("2026-01-01", 1, first=7))
    with pytest.raises(SliceMismatch, match="1 of 1 rows in s3://.* lie outside it"):
        wh.load([good, bad])
    stale = Replace("ticket_sales", _sales("2026-01-01", 9), {"sale_date": dt.date(2026, 1, 1)}, ("sale_id",), good.source_uri)
    with pytest.raises(ValueError, match="holds 1 rows, the load was handed 9"):
        wh.load([stale])
    assert _ids(wh) == ["2026-01-01-0", "2026-01-01-1", "2026-01-01-2"]


def test_pg_full_replace_schema_drift_and_arrow_types(wh, lake):
    first = _sales("2026-01-01", 2)
    wh.load([Replace("ticket_sales", first, None, ("sale_id",), lake.write("ticket_sales", first).uri)])
    second = _sales("2026-01-05", 1, tags=pa.array([["vip", "early"]]), ok=pa.array([True]))
    wh.load([Replace("ticket_sales", second, None, ("sale_id",), lake.write("ticket_sales", second).uri)])
    assert wh.sent.count("ALTER") == 2
    got = wh.read("ticket_sales")
    assert got.schema == pa.schema(
        [
            ("sale_id", pa.string()),
            ("concert_id", pa.string()),
            ("sold_at", pa.timestamp("us", "UTC")),
            ("sale_date", pa.date32()),
            ("quantity", pa.int64()),
            ("unit_price", pa.decimal128(18, 4)),
            ("tags", pa.string()),
            ("ok", pa.bool_()),
        ]
    )
    row = got.to_pylist()[0]
    assert row["sold_at"] == dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)
    assert row["unit_price"] == decimal.Decimal("89.5") and row["tags"] == '["vip", "early"]' and row["ok"] is True
    assert got.num_rows == 1 and wh.read("ticket_sales", {"sale_id": "nope"}).num_rows == 0


def test_pg_quoted_names_round_trip_and_missing_tables(wh, lake):
    data = pa.table({'we"ird': ["x"], "pct%": [1]})
    wh.load([Replace('odd"name', data, {"pct%": 1}, source_uri=lake.write("odd", data).uri)])
    assert wh.read('odd"name').to_pylist() == [{'we"ird': "x", "pct%": 1}]
    assert wh.count('odd"name', {'we"ird': "x"}) == 1
    with pytest.raises(MissingTableError):
        wh.read("nope")
    with pytest.raises(MissingTableError):
        wh.count("nope")
