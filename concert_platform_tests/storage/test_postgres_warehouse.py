"""The PostgreSQL warehouse against a real server: types, COPY loads, one-transaction replaces, concurrency."""

from __future__ import annotations

import datetime as dt
import decimal
import threading
import time
import uuid

import psycopg
import pyarrow as pa
import pytest

from concert_platform.storage.postgres_warehouse import PostgresWarehouse
from concert_platform.storage.sql import qualified
from concert_platform.storage.warehouse import (
    Replace,
    SliceMismatch,
    WarehouseLockTimeout,
    make_warehouse,
)

D1, D2 = dt.date(2026, 1, 1), dt.date(2026, 1, 2)


@pytest.fixture
def wh(pg_url, pg_schema) -> PostgresWarehouse:
    return PostgresWarehouse(pg_url, pg_schema)


def _sales(day: dt.date, n: int = 3, **extra) -> pa.Table:
    columns = {
        "sale_id": [f"{day}-{i}" for i in range(n)],
        "sale_date": pa.array([day] * n, pa.date32()),
        "qty": pa.array(range(n), pa.int64()),
    }
    columns.update(extra)
    return pa.table(columns)


def _day(day: dt.date) -> dict[str, object]:
    return {"sale_date": day}


def _sorted(table: pa.Table, key: str = "sale_id") -> pa.Table:
    return table.sort_by(key)


def _column_types(admin, schema: str, table: str) -> dict[str, str]:
    rows = admin.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (qualified(schema, table),),
    ).fetchall()
    return dict(rows)


# -- URL, factory, credentials --------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg", "POSTGRES"])
def test_make_warehouse_connects_to_the_database_in_the_url(pg_admin, pg_database, scheme):
    url = f"{scheme}://postgres:s3cret@127.0.0.1:5432/{pg_database}?sslmode=disable"
    wh = make_warehouse(url, "concert")
    assert isinstance(wh, PostgresWarehouse)
    wh.load([Replace("artists", pa.table({"id": ["a", "b"]}))])
    assert wh.count("artists") == 2 and wh.tables() == ["artists"]
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{pg_database}") as conn:
        assert conn.execute("SELECT count(*) FROM concert.artists").fetchone()[0] == 2
    # ...and not in the default database.
    assert pg_admin.execute("SELECT to_regclass('concert.artists')").fetchone()[0] is None


def test_describe_and_repr_mask_the_password():
    wh = make_warehouse("postgresql://loader:s3cr%40t@db.example:5432/dw?sslmode=require&password=other", "concert")
    assert wh.describe() == "postgresql://loader:***@db.example:5432/dw (schema concert)"
    assert "s3cr" not in repr(wh) and "other" not in repr(wh)
    assert make_warehouse("postgres://db.example/dw", "c").describe() == "postgresql://db.example/dw (schema c)"


def test_connection_errors_never_show_the_password():
    # Port 1 on this machine: nothing listens, so the connection is refused at once.
    wh = PostgresWarehouse("postgresql://postgres:s3cret-pw@127.0.0.1:1/postgres?connect_timeout=3", "concert")
    with pytest.raises(psycopg.OperationalError) as info:
        wh.load([Replace("artists", pa.table({"id": [1]}))])
    message = "".join(str(e) for e in (info.value, info.value.__cause__, info.value.__context__) if e)
    assert "s3cret-pw" not in message and "postgres:***@127.0.0.1:1" in message
    assert info.value.__suppress_context__


def test_malformed_url_is_refused_without_echoing_it():
    with pytest.raises(ValueError, match="malformed") as info:
        PostgresWarehouse("postgresql://u:s3cret@127.0.0.1/db?nosuchoption=1", "concert")
    assert "s3cret" not in str(info.value)
    with pytest.raises(ValueError, match="postgresql://"):
        PostgresWarehouse("mysql://u:s3cret@127.0.0.1/db", "concert")


# -- loading --------------------------------------------------------------------


def test_full_replace_read_count_tables(wh, pg_admin, pg_schema):
    wh.load([Replace("artists", pa.table({"id": ["a", "b", "c"], "name": ["A", "B", "C"]}))])
    wh.load([Replace("artists", pa.table({"id": ["z"], "name": ["Z"], "country": ["NO"]}))])
    assert wh.read("artists").to_pylist() == [{"id": "z", "name": "Z", "country": "NO"}]
    assert wh.count("artists") == 1 and wh.count("artists", {"id": "nope"}) == 0
    wh.load([Replace("venues", pa.table({"id": [1]})), Replace("concerts", pa.table({"id": [1]}))])
    assert wh.tables() == ["artists", "concerts", "venues"]
    # A full replace leaves no dead copy of the old rows behind (TRUNCATE, not DELETE): the table shrinks.
    wh.load([Replace("venues", pa.table({"id": range(20_000)}))])
    wh.load([Replace("venues", pa.table({"id": [1]}))])
    size = pg_admin.execute("SELECT pg_relation_size(%s::regclass)", (qualified(pg_schema, "venues"),)).fetchone()[0]
    assert size <= 8192


def test_full_replace_takes_the_shape_of_the_data(wh, pg_admin, pg_schema):
    wh.load([Replace("features", pa.table({"id": ["a"], "score": pa.array([1], pa.int64()), "old": ["x"]}))])
    pg_admin.execute(f"GRANT SELECT ON {qualified(pg_schema, 'features')} TO PUBLIC")
    wh.load([Replace("features", pa.table({"id": ["b"], "score": pa.array([0.5], pa.float64())}))])
    assert wh.read("features").to_pylist() == [{"id": "b", "score": 0.5}]
    assert wh.read("features").schema == pa.schema([("id", pa.string()), ("score", pa.float64())])
    # Altered in place, not dropped and re-created: grants on it survive.
    grants = pg_admin.execute(
        "SELECT count(*) FROM information_schema.role_table_grants "
        "WHERE table_schema = %s AND table_name = 'features' AND grantee = 'PUBLIC'",
        (pg_schema,),
    ).fetchone()[0]
    assert grants == 1


def test_partition_replace_twice_keeps_one_copy_and_other_partitions(wh):
    wh.load([Replace("ticket_sales", _sales(D1), _day(D1))])
    wh.load([Replace("ticket_sales", _sales(D2, 2), _day(D2))])
    wh.load([Replace("ticket_sales", _sales(D1, 4), _day(D1))])
    wh.load([Replace("ticket_sales", _sales(D1, 4), _day(D1))])
    assert wh.count("ticket_sales", _day(D1)) == 4
    assert wh.count("ticket_sales", {"sale_date": "2026-01-01"}) == 4  # text compared as a date
    assert sorted(wh.read("ticket_sales", _day(D2)).column("sale_id").to_pylist()) == ["2026-01-02-0", "2026-01-02-1"]
    assert wh.count("ticket_sales") == 6
    # An empty partition replaces the old rows with nothing.
    wh.load([Replace("ticket_sales", _sales(D2, 0), _day(D2))])
    assert wh.count("ticket_sales") == 4


def test_partition_replace_adds_new_optional_columns(wh, pg_admin, pg_schema):
    wh.load([Replace("ticket_sales", _sales(D1), _day(D1))])
    price = pa.array([decimal.Decimal("9.5")], pa.decimal128(18, 4))
    wh.load([Replace("ticket_sales", _sales(D2, 1, channel=["web"], price=price), _day(D2))])
    rows = {r["sale_id"]: (r["channel"], r["price"]) for r in wh.read("ticket_sales").to_pylist()}
    assert rows == {
        "2026-01-01-0": (None, None),
        "2026-01-01-1": (None, None),
        "2026-01-01-2": (None, None),
        "2026-01-02-0": ("web", decimal.Decimal("9.5000")),
    }
    assert _column_types(pg_admin, pg_schema, "ticket_sales")["price"] == "numeric(18,4)"
    # Data without the new columns still loads into the wider table.
    wh.load([Replace("ticket_sales", _sales(D1, 1), _day(D1))])
    assert wh.count("ticket_sales") == 2


def test_all_null_column_gets_its_type_when_values_arrive(wh, pg_admin, pg_schema):
    wh.load([Replace("t", pa.table({"day": ["a"], "n": pa.array([None], pa.null())}), {"day": "a"})])
    assert wh.read("t").schema.field("n").type == pa.null()
    wh.load([Replace("t", pa.table({"day": ["b"], "n": pa.array([5], pa.int64())}), {"day": "b"})])
    assert _column_types(pg_admin, pg_schema, "t")["n"] == "bigint"
    assert wh.read("t").sort_by("day").to_pydict() == {"day": ["a", "b"], "n": [None, 5]}
    # Later all-null batches fit the typed column as they are.
    wh.load([Replace("t", pa.table({"day": ["c"], "n": pa.array([None], pa.null())}), {"day": "c"})])
    assert wh.read("t").schema.field("n").type == pa.int64()


def test_rejected_records_slices_by_two_columns(wh):
    def rejects(entity, key, n):
        return pa.table({"entity": [entity] * n, "partition_key": pa.array([key] * n, pa.string()), "error": ["bad"] * n})

    wh.load([Replace("rejected_records", rejects("artists", None, 2), {"entity": "artists", "partition_key": None})])
    wh.load([Replace("rejected_records", rejects("sales", "d1", 3), {"entity": "sales", "partition_key": "d1"})])
    wh.load([Replace("rejected_records", rejects("artists", None, 1), {"entity": "artists", "partition_key": None})])
    assert wh.count("rejected_records", {"entity": "artists"}) == 1
    assert wh.count("rejected_records", {"entity": "sales", "partition_key": "d1"}) == 3


def test_types_map_to_postgres_and_read_back_as_loaded(wh, pg_admin, pg_schema):
    utc = dt.UTC
    table = pa.table(
        {
            "sale_date": pa.array([D1, D1, D1], pa.date32()),
            "price": pa.array([decimal.Decimal("123456.78"), decimal.Decimal("-0.01"), None], pa.decimal128(12, 2)),
            "amount": pa.array([decimal.Decimal("99999999999999.9999"), None, 0], pa.decimal128(18, 4)),
            "sold_at": pa.array(
                [dt.datetime(2026, 1, 1, 19, 30, 0, 123456, tzinfo=utc), None, dt.datetime(1999, 12, 31, tzinfo=utc)],
                pa.timestamp("us", tz="UTC"),
            ),
            "local_at": pa.array([dt.datetime(2026, 1, 1, 19, 30), None, dt.datetime(2026, 6, 1)], pa.timestamp("us")),
            "doors": pa.array([dt.time(19, 30), None, dt.time(0, 0, 0, 1)], pa.time64("us")),
            "big": pa.array([2**62, None, -1], pa.int64()),
            "mid": pa.array([2**30, None, -1], pa.int32()),
            "small": pa.array([2**14, None, -1], pa.int16()),
            "ratio": pa.array([0.1, float("inf"), None], pa.float64()),
            "ratio32": pa.array([1.5, None, -2.25], pa.float32()),
            "sold_out": pa.array([True, False, None]),
            "name": pa.array(['Mötley "Crüe"', "", None]),
            "note": pa.array(["line\nbreak, comma", "back\\slash", "\\."]),
            "raw": pa.array([b"\x00\xff", b"", None], pa.binary()),
            "genres": pa.array([["rock", 'in"die', "a,b", "{x}", "back\\slash"], [], None], pa.list_(pa.string())),
            "odd_genres": pa.array([[None, "NULL", ""], [" spaced "], ["x"]], pa.list_(pa.string())),
            "ranks": pa.array([[1, None, 3], [], None], pa.list_(pa.int64())),
            "days": pa.array([[D1, D2], None, []], pa.list_(pa.date32())),
            "wait": pa.array([dt.timedelta(seconds=1.5), None, dt.timedelta(days=-1)], pa.duration("us")),
        }
    )
    wh.load([Replace("typed", table)])
    assert _column_types(pg_admin, pg_schema, "typed") == {
        "sale_date": "date",
        "price": "numeric(12,2)",
        "amount": "numeric(18,4)",
        "sold_at": "timestamp with time zone",
        "local_at": "timestamp without time zone",
        "doors": "time without time zone",
        "big": "bigint",
        "mid": "integer",
        "small": "smallint",
        "ratio": "double precision",
        "ratio32": "real",
        "sold_out": "boolean",
        "name": "text",
        "note": "text",
        "raw": "bytea",
        "genres": "text[]",
        "odd_genres": "text[]",
        "ranks": "bigint[]",
        "days": "date[]",
        "wait": "interval",
    }
    assert wh.read("typed").equals(table)
    wh.load([Replace("typed", table, {"sale_date": D1})])
    assert wh.read("typed", {"sale_date": D1}).equals(table)
    # Values PostgreSQL itself sees, not just what comes back.
    got = pg_admin.execute(
        f"SELECT genres[2], odd_genres[1] IS NULL, odd_genres[2], amount, raw FROM {qualified(pg_schema, 'typed')} "
        "WHERE name = %s",
        ('Mötley "Crüe"',),
    ).fetchone()
    assert got == ('in"die', True, "NULL", decimal.Decimal("99999999999999.9999"), b"\x00\xff")


def test_other_timestamps_are_stored_as_the_same_instant(wh):
    instant = dt.datetime(2026, 1, 1, 18, 30, tzinfo=dt.UTC)
    oslo = pa.array([instant], pa.timestamp("ns", tz="Europe/Oslo"))
    wh.load([Replace("t", pa.table({"at": oslo, "day": pa.array([D1], pa.date64())}))])
    back = wh.read("t")
    assert back.schema == pa.schema([("at", pa.timestamp("us", "UTC")), ("day", pa.date32())])
    assert back.column("at").to_pylist() == [instant]


def test_nested_values_are_stored_as_jsonb(wh, pg_admin, pg_schema):
    table = pa.table(
        {
            "id": [1, 2],
            "venue": pa.array([{"name": "Spektrum", "capacity": 9700}, None]),
            "matrix": pa.array([[[1, 2], [3]], None], pa.list_(pa.list_(pa.int64()))),
        }
    )
    wh.load([Replace("nested", table)])
    assert _column_types(pg_admin, pg_schema, "nested") == {"id": "bigint", "venue": "jsonb", "matrix": "jsonb"}
    got = pg_admin.execute(f"SELECT venue->>'name', matrix->0->>1 FROM {qualified(pg_schema, 'nested')} WHERE id = 1")
    assert got.fetchone() == ("Spektrum", "2")
    assert wh.read("nested").schema.field("venue").type == pa.string()  # JSON text


def test_primary_key_is_declared_when_the_table_is_created(wh, pg_admin, pg_schema):
    wh.load([Replace("ticket_sales", _sales(D1), _day(D1), primary_key=("sale_id", "sale_date"))])
    rows = pg_admin.execute(
        "SELECT a.attname, a.attnotnull FROM pg_index i "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY a.attname",
        (qualified(pg_schema, "ticket_sales"),),
    ).fetchall()
    assert rows == [("sale_date", True), ("sale_id", True)]
    with pytest.raises(ValueError, match="primary key"):
        wh.load([Replace("other", _sales(D1), primary_key=("nope",))])


def test_failure_after_the_delete_keeps_the_old_rows(wh):
    """Duplicate keys fail at the INSERT, after the DELETE already ran in the same transaction."""
    wh.load([Replace("ticket_sales", _sales(D1), _day(D1), primary_key=("sale_id",))])
    before = _sorted(wh.read("ticket_sales"))
    duplicated = pa.concat_tables([_sales(D1, 2), _sales(D1, 2)])
    with pytest.raises(psycopg.errors.UniqueViolation):
        wh.load([Replace("ticket_sales", duplicated, _day(D1), primary_key=("sale_id",))])
    assert _sorted(wh.read("ticket_sales")).equals(before)


def test_failure_in_a_later_operation_rolls_back_everything(wh):
    wh.load([Replace("ticket_sales", _sales(D1), _day(D1)), Replace("artists", pa.table({"id": [1]}))])
    before = _sorted(wh.read("ticket_sales"))
    bad = pa.table({"sale_id": ["x"], "sale_date": pa.array([D2], pa.date32()), "qty": ["not a number"]})
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        wh.load(
            [
                Replace("artists", pa.table({"id": [7, 8, 9]})),
                Replace("brand_new", pa.table({"id": [1]})),
                Replace("ticket_sales", _sales(D1, 9, channel=["web"] * 9), _day(D1)),
                Replace("ticket_sales", bad, _day(D2)),
            ]
        )
    assert _sorted(wh.read("ticket_sales")).equals(before)
    assert wh.read("artists").column("id").to_pylist() == [1]
    assert wh.tables() == ["artists", "ticket_sales"]


def test_exception_mid_stream_rolls_back_a_full_replace(wh):
    wh.load([Replace("artists", pa.table({"id": [1, 2]}))])
    schema = pa.schema([("id", pa.int64())])

    def broken():
        yield pa.record_batch({"id": [10, 11]}, schema=schema)
        raise RuntimeError("api went away")

    with pytest.raises(RuntimeError, match="api went away"):
        reader = pa.RecordBatchReader.from_batches(schema, broken())
        wh.load([Replace("new_table", pa.table({"a": [1]})), Replace("artists", reader)])
    assert sorted(wh.read("artists").column("id").to_pylist()) == [1, 2]
    assert wh.tables() == ["artists"]


def test_other_sessions_see_the_old_rows_until_the_load_commits(wh, pg_url, pg_schema):
    wh.load([Replace("ticket_sales", _sales(D1), _day(D1)), Replace("rejected_records", _sales(D1, 1), _day(D1))])
    observer = PostgresWarehouse(pg_url, pg_schema)
    seen = []

    def rejects():
        # The first operation has already replaced D1 inside the load's open transaction.
        seen.append((observer.count("ticket_sales", _day(D1)), observer.count("rejected_records")))
        yield from _sales(D1, 2).to_batches()

    reader = pa.RecordBatchReader.from_batches(_sales(D1).schema, rejects())
    wh.load([Replace("ticket_sales", _sales(D1, 5), _day(D1)), Replace("rejected_records", reader, _day(D1))])
    assert seen == [(3, 1)]
    assert (observer.count("ticket_sales"), observer.count("rejected_records")) == (5, 2)


def test_connection_killed_mid_load_keeps_the_old_rows(pg_url, pg_admin, pg_schema):
    name = f"victim-{uuid.uuid4().hex[:8]}"
    wh = PostgresWarehouse(f"{pg_url}?application_name={name}", pg_schema)
    wh.load([Replace("ticket_sales", _sales(D1, 5), _day(D1))])
    before = _sorted(wh.read("ticket_sales"))
    schema = _sales(D1, 1).schema
    killed = []

    def batches():
        yield _sales(D1, 1000).to_batches()[0]
        # The load's own session, mid-COPY: terminate it from outside and wait until it is gone.
        pids = [row[0] for row in pg_admin.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", (name,))]
        assert len(pids) == 1
        killed.append(pg_admin.execute("SELECT pg_terminate_backend(%s)", (pids[0],)).fetchone()[0])
        deadline = time.monotonic() + 10
        while pg_admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pids[0],)).fetchone():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        for _ in range(3):
            yield _sales(D1, 1000).to_batches()[0]

    with pytest.raises(psycopg.OperationalError):
        wh.load([Replace("ticket_sales", pa.RecordBatchReader.from_batches(schema, batches()), _day(D1))])
    assert killed == [True]
    assert _sorted(wh.read("ticket_sales")).equals(before)


def test_rows_outside_the_slice_are_refused(wh):
    wh.load([Replace("ticket_sales", _sales(D1), _day(D1))])
    mixed = pa.concat_tables([_sales(D2), _sales(dt.date(2026, 1, 3))])
    with pytest.raises(SliceMismatch, match="sale_date"):
        wh.load([Replace("ticket_sales", mixed, _day(D2))])
    with pytest.raises(SliceMismatch, match="no \\(unique\\) column"):
        wh.load([Replace("ticket_sales", pa.table({"sale_id": ["x"]}), _day(D2))])
    # Streamed data is checked batch by batch, after earlier batches were already sent.
    with pytest.raises(SliceMismatch):
        reader = pa.RecordBatchReader.from_batches(mixed.schema, mixed.to_batches(max_chunksize=3))
        wh.load([Replace("ticket_sales", reader, _day(D2))])
    assert wh.count("ticket_sales") == 3


def test_hostile_names_are_just_names(wh):
    name = 'x"; DROP TABLE artists; --'
    percent = "100% %s %(x)s"
    wh.load([Replace("artists", pa.table({"id": [1]})), Replace(name, pa.table({name: [1], percent: ["a"]}))])
    wh.load([Replace(name, pa.table({name: [2], percent: ["b"]}), {percent: "b"})])
    assert wh.read(name).column_names == [name, percent]
    assert wh.count(name, {percent: "b"}) == 1 and wh.count("artists") == 1
    assert wh.tables() == ["artists", name]


def test_names_postgres_would_truncate_are_refused(wh):
    with pytest.raises(ValueError, match="63 bytes"):
        wh.load([Replace("t" * 64, pa.table({"id": [1]}))])
    with pytest.raises(ValueError, match="63 bytes"):
        wh.load([Replace("t", pa.table({"ø" * 32: [1]}))])


def test_lock_timeout_names_the_warehouse(pg_url, pg_admin, pg_schema, wh):
    wh.load([Replace("artists", pa.table({"id": [1]}))])
    impatient = PostgresWarehouse(pg_url, pg_schema, lock_timeout_s=0.3)
    with psycopg.connect(pg_url) as holder:
        holder.execute(f"LOCK TABLE {qualified(pg_schema, 'artists')} IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(WarehouseLockTimeout, match="127.0.0.1"):
            impatient.load([Replace("artists", pa.table({"id": [2]}))])
        holder.rollback()
    assert wh.read("artists").column("id").to_pylist() == [1]


# -- concurrency ----------------------------------------------------------------


def _at_once(*loads) -> None:
    """Run the loads in threads (each its own session), released together; re-raise the first failure."""
    barrier = threading.Barrier(len(loads))
    errors: list[BaseException] = []

    def run(load):
        try:
            barrier.wait(timeout=30)
            load()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(load,)) for load in loads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)
    if errors:
        raise errors[0]


def _slow(table: pa.Table, pause: float = 0.05) -> pa.RecordBatchReader:
    """The rows in several batches with pauses, so concurrent loads overlap for a while."""

    def batches():
        for batch in table.to_batches(max_chunksize=max(1, table.num_rows // 4)):
            time.sleep(pause)
            yield batch

    return pa.RecordBatchReader.from_batches(table.schema, batches())


def test_parallel_loads_of_one_table(pg_url, pg_schema):
    def load(day, n, where=True, **extra):
        warehouse = PostgresWarehouse(pg_url, pg_schema)
        data = _slow(_sales(day, n, **extra))
        return lambda: warehouse.load([Replace("ticket_sales", data, _day(day) if where else None, ("sale_id",))])

    # Both create the schema and the table at the same moment.
    _at_once(load(D1, 100), load(D2, 200))
    wh = PostgresWarehouse(pg_url, pg_schema)
    assert wh.count("ticket_sales", _day(D1)) == 100 and wh.count("ticket_sales", _day(D2)) == 200
    # Both add the same new column.
    _at_once(load(D1, 50, channel=["web"] * 50), load(D2, 60, channel=["app"] * 60))
    assert wh.count("ticket_sales", {"channel": "web"}) == 50 and wh.count("ticket_sales", {"channel": "app"}) == 60
    # The same partition twice at once: one replaces the other, never both kept.
    _at_once(load(D1, 30), load(D1, 30))
    assert wh.count("ticket_sales", _day(D1)) == 30 and wh.count("ticket_sales") == 90
    # Two full replaces of the same shape at once (no DDL to serialise them): one wins whole, no deadlock.
    _at_once(load(D1, 10, False, channel=["web"] * 10), load(D2, 20, False, channel=["app"] * 20))
    assert wh.count("ticket_sales") in (10, 20)
