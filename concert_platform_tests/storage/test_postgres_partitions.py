"""Day partitions of the PostgreSQL warehouse (storage/postgres_partitions.py) against a real server.

A replace of one day of a table keyed by that day builds the day's table aside
and swaps it in, in the load's one transaction: new days, reloads, other days
untouched, failures at each step, new columns, a plain table from an earlier
version, concurrent loads and readers.
"""

from __future__ import annotations

import datetime as dt
import decimal
import threading
import time
import uuid

import psycopg
import pyarrow as pa
import pytest

from concert_platform.storage import postgres_partitions as partitions
from concert_platform.storage.postgres_types import create_table
from concert_platform.storage.postgres_warehouse import PostgresWarehouse
from concert_platform.storage.sql import pyformat_qualified, qualified, quote_ident
from concert_platform.storage.warehouse import Replace, WarehouseLockTimeout
from concert_platform_tests.storage.test_postgres_warehouse import _at_once, _column_types, _sales, _slow

D1, D2, D3, D4 = (dt.date(2026, 1, day) for day in (1, 2, 3, 4))
KEY = ("sale_date", "sale_id")
TABLE = "ticket_sales"


@pytest.fixture
def wh(pg_url, pg_schema) -> PostgresWarehouse:
    return PostgresWarehouse(pg_url, pg_schema)


def _day(day: dt.date) -> dict[str, object]:
    return {"sale_date": day}


def _load_day(day: dt.date, n: int = 3, **extra) -> Replace:
    return Replace(TABLE, _sales(day, n, **extra), _day(day), KEY)


def _rows(wh: PostgresWarehouse, day: dt.date | None = None) -> list[dict]:
    return sorted(wh.read(TABLE, _day(day) if day else None).to_pylist(), key=lambda row: row["sale_id"])


def _relations(admin, schema: str) -> dict[str, str]:
    """Every relation in the schema (tables, partitions, indexes) -> its relkind."""
    rows = admin.execute(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s",
        (schema,),
    ).fetchall()
    return dict(rows)


def _partitions(admin, schema: str, table: str = TABLE) -> dict[str, tuple[int, int, str]]:
    """Partition name -> (oid, relfilenode, bound): the same oid and file mean the partition was not touched."""
    rows = admin.execute(
        "SELECT c.relname, c.oid, c.relfilenode, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
        (qualified(schema, table),),
    ).fetchall()
    return {name: (int(oid), int(node), bound) for name, oid, node, bound in rows}


# -- what is a day, and its names ------------------------------------------------------------------


def test_a_day_is_one_date_of_a_key_column():
    assert partitions.day_of({"sale_date": D1}, KEY) == ("sale_date", D1)
    assert partitions.day_of(None, KEY) is None
    assert partitions.day_of({"sale_date": D1, "sale_id": "x"}, KEY) is None  # a slice of a day
    assert partitions.day_of({"sale_date": D1}, ("sale_id",)) is None  # not in the key
    assert partitions.day_of({"sale_date": "2026-01-01"}, KEY) is None  # text, not a date
    assert partitions.day_of({"sale_date": dt.datetime(2026, 1, 1)}, KEY) is None  # an instant, not a day


def test_partition_names_fit_postgres_and_stay_apart():
    assert partitions.partition_name(TABLE, D1) == "ticket_sales_20260101"
    assert partitions.loading_name(TABLE, D1) == "ticket_sales_20260101_new"
    long_a, long_b = "a" * 62 + "x", "a" * 62 + "y"
    names = {partitions.partition_name(t, D1) for t in (long_a, long_b)}
    assert len(names) == 2
    for table in (long_a, "ø" * 31):
        built = partitions.loading_name(table, D1) + "_pkey"  # the longest name the module makes
        assert len(built.encode()) <= 63
        built.encode().decode()  # cut at a character boundary


# -- new days and reloads --------------------------------------------------------------------------


def test_a_new_day_is_a_partition_of_its_own_under_the_tables_key(wh, pg_admin, pg_schema):
    wh.load([_load_day(D1)])
    wh.load([_load_day(D2, 2)])
    assert _relations(pg_admin, pg_schema) == {
        TABLE: "p",
        f"{TABLE}_pkey": "I",
        "ticket_sales_20260101": "r",
        "ticket_sales_20260101_pkey": "i",
        "ticket_sales_20260102": "r",
        "ticket_sales_20260102_pkey": "i",
    }
    bounds = {name: bound for name, (_, _, bound) in _partitions(pg_admin, pg_schema).items()}
    assert bounds == {
        "ticket_sales_20260101": "FOR VALUES IN ('2026-01-01')",
        "ticket_sales_20260102": "FOR VALUES IN ('2026-01-02')",
    }
    # Each day's key index is a part of the table's, not an index of its own beside it.
    attached = pg_admin.execute(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = %s::regclass", (qualified(pg_schema, f"{TABLE}_pkey"),)
    ).fetchone()[0]
    assert attached == 2
    assert wh.tables() == [TABLE]
    assert wh.read(TABLE, _day(D1)).sort_by("sale_id").equals(_sales(D1))
    assert wh.count(TABLE) == 5 and wh.count(TABLE, {"sale_date": "2026-01-02"}) == 2
    with pytest.raises(psycopg.errors.UniqueViolation):
        wh.load([Replace(TABLE, pa.concat_tables([_sales(D3, 2), _sales(D3, 1)]), _day(D3), KEY)])


def test_a_reload_swaps_the_day_and_leaves_the_other_days_untouched(wh, pg_admin, pg_schema):
    wh.load([_load_day(D1)])
    wh.load([_load_day(D2, 2)])
    before = _partitions(pg_admin, pg_schema)
    other = _rows(wh, D2)
    wh.load([_load_day(D1, 5)])
    wh.load([_load_day(D1, 4)])
    after = _partitions(pg_admin, pg_schema)
    assert after.keys() == before.keys()
    assert after["ticket_sales_20260102"] == before["ticket_sales_20260102"]  # the same table, the same file
    assert after["ticket_sales_20260101"][0] != before["ticket_sales_20260101"][0]  # a new table
    assert wh.read(TABLE, _day(D1)).sort_by("sale_id").equals(_sales(D1, 4))
    assert _rows(wh, D2) == other
    # Swapped in under the day's name, with nothing left over from the load.
    assert set(_relations(pg_admin, pg_schema)) == {
        TABLE,
        f"{TABLE}_pkey",
        *(f"ticket_sales_2026010{d}{suffix}" for d in (1, 2) for suffix in ("", "_pkey")),
    }
    # An empty day replaces the day's rows with none.
    wh.load([_load_day(D2, 0)])
    assert wh.count(TABLE, _day(D2)) == 0 and wh.count(TABLE) == 4


def test_attach_finds_the_day_implied_and_scans_no_rows(pg_url, pg_schema):
    # DEBUG1 says whether ATTACH proved the bound from the table's constraints or scanned its rows.
    wh = PostgresWarehouse(f"{pg_url}?options=-c%20client_min_messages%3Ddebug1", pg_schema)
    notices: list[str] = []
    with wh.session():
        wh._session.add_notice_handler(lambda diagnostic: notices.append(diagnostic.message_primary or ""))
        wh.load([_load_day(D1)])
        wh.load([_load_day(D1, 4)])
    implied = [m for m in notices if "is implied by existing constraints" in m]
    assert implied == ['partition constraint for table "ticket_sales_20260101" is implied by existing constraints'] * 2
    assert not [m for m in notices if m.startswith("verifying table")]


# -- failures: the previous day stays whole ----------------------------------------------------------


@pytest.mark.parametrize("day", [D1, D3], ids=["reload", "new day"])
def test_a_stream_failing_mid_copy_leaves_every_day_as_it_was(wh, pg_admin, pg_schema, day):
    wh.load([_load_day(D1)])
    wh.load([_load_day(D2, 2)])
    rows, parts, relations = _rows(wh), _partitions(pg_admin, pg_schema), _relations(pg_admin, pg_schema)
    schema = _sales(day, 1).schema

    def broken():
        yield from _sales(day, 4).to_batches()
        raise RuntimeError("the source went away")

    with pytest.raises(RuntimeError, match="went away"):
        wh.load([Replace(TABLE, pa.RecordBatchReader.from_batches(schema, broken()), _day(day), KEY)])
    assert _rows(wh) == rows
    assert _partitions(pg_admin, pg_schema) == parts and _relations(pg_admin, pg_schema) == relations


@pytest.fixture
def refusing_attach(pg_url, pg_database):
    """A warehouse in a database of its own, and a switch for an event trigger there that fails every ATTACH
    PARTITION: a failure at the last step of a swap, after a reload has already dropped the old partition."""
    url = pg_url.rsplit("/", 1)[0] + f"/{pg_database}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION public.refuse_attach() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF current_query() ILIKE '%ATTACH PARTITION%' THEN RAISE EXCEPTION 'attach refused by the test'; END IF; "
            "END $$"
        )

    def switch(on: bool) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            if on:
                conn.execute(
                    "CREATE EVENT TRIGGER refuse_attach ON ddl_command_end WHEN TAG IN ('ALTER TABLE') "
                    "EXECUTE FUNCTION public.refuse_attach()"
                )
            else:
                conn.execute("DROP EVENT TRIGGER refuse_attach")

    return PostgresWarehouse(url, "concert"), url, switch


def test_a_failure_at_attach_leaves_every_day_as_it_was(refusing_attach):
    wh, url, switch = refusing_attach
    wh.load([_load_day(D1)])
    wh.load([_load_day(D2, 2)])
    rows = _rows(wh)
    with psycopg.connect(url, autocommit=True) as admin:
        parts, relations = _partitions(admin, "concert"), _relations(admin, "concert")
        switch(True)
        for day in (D1, D3):  # a reload (its old partition dropped by then) and a new day
            with pytest.raises(psycopg.errors.RaiseException, match="attach refused"):
                wh.load([_load_day(day, 7)])
            assert _rows(wh) == rows
            assert _partitions(admin, "concert") == parts and _relations(admin, "concert") == relations
        switch(False)
    wh.load([_load_day(D1, 7)])
    assert wh.count(TABLE, _day(D1)) == 7 and wh.count(TABLE) == 9


def test_a_failure_after_the_swap_inside_the_transaction_keeps_the_old_day(wh, pg_admin, pg_schema):
    """``commits`` is asked for inside the transaction (where the in_transaction fault point is)."""
    wh.load([_load_day(D1)])
    rows, parts = _rows(wh), _partitions(pg_admin, pg_schema)

    def commits():
        raise RuntimeError("staging the lake failed")

    with pytest.raises(RuntimeError, match="staging"):
        wh.load([_load_day(D1, 9)], commits)
    assert _rows(wh) == rows and _partitions(pg_admin, pg_schema) == parts


# -- the shape of the table ------------------------------------------------------------------------


def test_new_columns_reach_the_table_and_every_partition(wh, pg_admin, pg_schema):
    wh.load([_load_day(D1)])
    wh.load([_load_day(D2, 2)])
    wh.load([_load_day(D3, 1, channel=["web"])])
    for name in [TABLE, *_partitions(pg_admin, pg_schema)]:
        assert list(_column_types(pg_admin, pg_schema, name)) == ["sale_id", "sale_date", "qty", "channel"], name
    assert {row["channel"] for row in _rows(wh, D1)} == {None}
    wh.load([_load_day(D1, 2, channel=["app", "app"])])  # a reload with the column
    wh.load([_load_day(D2, 1)])  # data without it, into the wider table
    assert [(row["sale_id"], row["channel"]) for row in _rows(wh)] == [
        ("2026-01-01-0", "app"),
        ("2026-01-01-1", "app"),
        ("2026-01-02-0", None),
        ("2026-01-03-0", "web"),
    ]
    # An all-null column gets its type on the table and in every partition once values come.
    wh.load([_load_day(D1, 1, price=pa.array([None], pa.null()))])
    price = pa.array([decimal.Decimal("9.5")], pa.decimal128(18, 4))
    wh.load([_load_day(D2, 1, price=price)])
    for name in [TABLE, *_partitions(pg_admin, pg_schema)]:
        assert _column_types(pg_admin, pg_schema, name)["price"] == "numeric(18,4)", name
    assert [row["price"] for row in _rows(wh)] == [None, decimal.Decimal("9.5000"), None]


def test_a_plain_table_from_an_earlier_version_keeps_loading_as_it_was(wh, pg_admin, pg_schema):
    # Exactly what earlier versions created: a plain table with the key, holding days already.
    pg_admin.execute(f"CREATE SCHEMA {quote_ident(pg_schema)}")
    wanted = {field.name: field.type for field in _sales(D1).schema}
    for statement in create_table(pyformat_qualified(pg_schema, TABLE), wanted, KEY):
        pg_admin.execute(statement, ())
    pg_admin.execute(f"INSERT INTO {qualified(pg_schema, TABLE)} VALUES ('old-1', '2026-01-01', 1), ('old-2', '2026-01-02', 2)")
    wh.load([_load_day(D1, 3)])  # a reload
    wh.load([_load_day(D3, 2)])  # a new day
    wh.load([_load_day(D3, 1, channel=["web"])])
    assert _relations(pg_admin, pg_schema) == {TABLE: "r", f"{TABLE}_pkey": "i"}  # still plain, not migrated
    assert [(row["sale_id"], row["channel"]) for row in _rows(wh)] == [
        ("2026-01-01-0", None),
        ("2026-01-01-1", None),
        ("2026-01-01-2", None),
        ("2026-01-03-0", "web"),
        ("old-2", None),
    ]


def test_other_replaces_of_a_partitioned_table_make_the_partitions_they_need(wh, pg_admin, pg_schema):
    wh.load([_load_day(D1)])
    wh.load([_load_day(D2, 2)])
    # A full replace: rows of any day, through the table.
    wh.load([Replace(TABLE, pa.concat_tables([_sales(D2, 1), _sales(D3, 2)]), None, KEY)])
    assert [row["sale_id"] for row in _rows(wh)] == ["2026-01-02-0", "2026-01-03-0", "2026-01-03-1"]
    # A slice narrower than a day, of a day without a partition yet.
    wh.load([Replace(TABLE, _sales(D4, 1), {"sale_date": D4, "qty": 0}, KEY)])
    assert set(_partitions(pg_admin, pg_schema)) == {f"ticket_sales_2026010{d}" for d in (1, 2, 3, 4)}
    # Then the day is replaced the usual way.
    wh.load([_load_day(D4, 2)])
    assert wh.count(TABLE, _day(D4)) == 2 and wh.count(TABLE) == 5


def test_hostile_and_long_names_are_just_names(wh, pg_admin, pg_schema):
    table, day_column = 'sales "100%" %s', "day %(x)s"
    for name in (table, "t" * 63):
        key = (day_column, "id")

        def day(when: dt.date, ids: list[str]) -> pa.Table:
            return pa.table({day_column: pa.array([when] * len(ids), pa.date32()), "id": ids})

        wh.load([Replace(name, day(D1, ["a", "c"]), {day_column: D1}, key)])
        wh.load([Replace(name, day(D1, ["a"]), {day_column: D1}, key)])
        wh.load([Replace(name, day(D2, ["b"]), {day_column: D2}, key)])
        assert wh.read(name).sort_by(day_column).to_pydict() == {day_column: [D1, D2], "id": ["a", "b"]}
        assert len(_partitions(pg_admin, pg_schema, name)) == 2
    assert wh.tables() == sorted([table, "t" * 63])


# -- concurrency -----------------------------------------------------------------------------------


def _loader(pg_url: str, pg_schema: str, day: dt.date, n: int):
    warehouse = PostgresWarehouse(pg_url, pg_schema)
    data = _slow(_sales(day, n))
    return lambda: warehouse.load([Replace(TABLE, data, _day(day), KEY)])


def test_two_replaces_of_the_same_day_at_once_serialise(pg_url, pg_admin, pg_schema):
    wh = PostgresWarehouse(pg_url, pg_schema)
    # Both create the table and the day at the same moment.
    _at_once(_loader(pg_url, pg_schema, D1, 30), _loader(pg_url, pg_schema, D1, 40))
    assert wh.count(TABLE) in (30, 40)
    # Both reload it.
    _at_once(_loader(pg_url, pg_schema, D1, 50), _loader(pg_url, pg_schema, D1, 60))
    assert wh.count(TABLE) in (50, 60)
    assert set(_relations(pg_admin, pg_schema)) == {TABLE, f"{TABLE}_pkey", "ticket_sales_20260101", "ticket_sales_20260101_pkey"}


def test_replaces_of_different_days_at_once_do_not_wait_for_each_other_to_fail(pg_url, pg_schema):
    wh = PostgresWarehouse(pg_url, pg_schema)
    wh.load([_load_day(D1)])
    wh.load([_load_day(D2)])
    # Two reloads (each swap drops a partition) and a new day, side by side: no deadlock, nothing lost.
    _at_once(_loader(pg_url, pg_schema, D1, 20), _loader(pg_url, pg_schema, D2, 30), _loader(pg_url, pg_schema, D3, 40))
    assert [wh.count(TABLE, _day(day)) for day in (D1, D2, D3)] == [20, 30, 40]


def test_a_column_added_by_another_load_waits_for_a_day_being_built(pg_url, pg_schema):
    """The day's new table is built with the table's columns of that moment, so no column may come before
    its swap: a load adding one waits for the swap (else the ATTACH would find a column missing)."""
    wh = PostgresWarehouse(pg_url, pg_schema)
    wh.load([_load_day(D1)])
    wh.load([_load_day(D2)])
    errors: list[BaseException] = []

    def widen():
        try:
            PostgresWarehouse(pg_url, pg_schema).load([_load_day(D2, 2, channel=["web"] * 2)])
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    widening = threading.Thread(target=widen)

    def batches():
        yield from _sales(D1, 4).to_batches()
        widening.start()  # the day's table is built by now: its columns are set
        widening.join(1.0)  # it cannot finish before this load commits
        yield from _sales(D1, 4).slice(0, 0).to_batches()

    wh.load([Replace(TABLE, pa.RecordBatchReader.from_batches(_sales(D1, 1).schema, batches()), _day(D1), KEY)])
    widening.join(60)
    assert not widening.is_alive() and errors == []
    assert [(row["sale_id"], row["channel"]) for row in _rows(wh)] == [
        *((f"2026-01-01-{i}", None) for i in range(4)),
        ("2026-01-02-0", "web"),
        ("2026-01-02-1", "web"),
    ]


def test_readers_see_every_day_whole_while_a_day_is_replaced(wh, pg_url, pg_schema):
    wh.load([_load_day(D1)])
    wh.load([_load_day(D2, 2)])
    other = _rows(wh, D2)
    # A reader that would fail rather than wait long for a lock the load holds.
    observer = PostgresWarehouse(pg_url, pg_schema, lock_timeout_s=5)
    seen = []

    def batches():
        for batch in _sales(D1, 8).to_batches(max_chunksize=2):
            # Inside the load's transaction, its new table half written.
            seen.append((_rows(observer, D2) == other, observer.count(TABLE, _day(D1)), observer.count(TABLE)))
            yield batch

    wh.load([Replace(TABLE, pa.RecordBatchReader.from_batches(_sales(D1, 1).schema, batches()), _day(D1), KEY)])
    assert seen == [(True, 3, 5)] * 4
    assert wh.count(TABLE, _day(D1)) == 8 and _rows(observer, D2) == other


def _wait_for_lock_request(admin, application_name: str) -> None:
    """Until the session named ``application_name`` waits for a lock (its swap, here)."""
    deadline = time.monotonic() + 60
    while not admin.execute(
        "SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE a.application_name = %s AND NOT l.granted",
        (application_name,),
    ).fetchone():
        assert time.monotonic() < deadline, "the load never asked for its swap's lock"
        time.sleep(0.02)


def test_a_reload_waits_for_a_long_report_without_stalling_other_readers(pg_url, pg_admin, pg_schema):
    name = f"loader-{uuid.uuid4().hex[:8]}"
    wh = PostgresWarehouse(f"{pg_url}?application_name={name}", pg_schema, lock_timeout_s=60)
    wh.load([_load_day(D1)])
    wh.load([_load_day(D2, 2)])
    errors: list[BaseException] = []

    def reload():
        try:
            wh.load([_load_day(D1, 8)])
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    with psycopg.connect(pg_url) as report:
        report.execute(f"SELECT count(*) FROM {qualified(pg_schema, TABLE)}").fetchone()  # its transaction holds the table
        loader = threading.Thread(target=reload)
        loader.start()
        _wait_for_lock_request(pg_admin, name)
        # Readers arriving meanwhile wait at most one of the swap's short tries, not for the report:
        # with one long wait for the lock they would queue behind it until their own lock_timeout.
        reader = PostgresWarehouse(pg_url, pg_schema, lock_timeout_s=5)
        for _ in range(4):
            assert reader.count(TABLE, _day(D2)) == 2
            assert reader.count(TABLE, _day(D1)) == 3
            time.sleep(0.3)
        assert loader.is_alive()
        report.rollback()
    loader.join(60)
    assert not loader.is_alive() and errors == []
    assert wh.count(TABLE, _day(D1)) == 8


@pytest.mark.parametrize(
    ("day", "mode"),
    [(D1, "ACCESS SHARE"), (D3, "SHARE UPDATE EXCLUSIVE")],
    ids=["reload behind a reader", "new day behind a vacuum"],
)
def test_a_swap_that_cannot_get_its_lock_gives_up_and_keeps_every_day(pg_url, pg_admin, pg_schema, day, mode):
    wh = PostgresWarehouse(pg_url, pg_schema, lock_timeout_s=1.5)
    wh.load([_load_day(D1)])
    wh.load([_load_day(D2, 2)])
    rows, parts = _rows(wh), _partitions(pg_admin, pg_schema)
    with psycopg.connect(pg_url) as holder:
        holder.execute(f"LOCK TABLE {qualified(pg_schema, TABLE)} IN {mode} MODE")
        with pytest.raises(WarehouseLockTimeout, match="127.0.0.1"):
            wh.load([_load_day(day, 6)])
        holder.rollback()
    assert _rows(wh) == rows and _partitions(pg_admin, pg_schema) == parts
    wh.load([_load_day(day, 6)])
    assert wh.count(TABLE, _day(day)) == 6
