"""The DuckDB warehouse against real DuckDB files: transactions, partition replaces, locking."""

from __future__ import annotations

import datetime as dt
import decimal
import multiprocessing
import os
import time

import duckdb
import pyarrow as pa
import pytest

from concert_platform.storage.duckdb_warehouse import DuckDBWarehouse
from concert_platform.storage.sql import qualified, quote_ident, where_clause
from concert_platform.storage.warehouse import (
    Replace,
    SliceMismatch,
    WarehouseLockTimeout,
    make_warehouse,
)


@pytest.fixture
def wh(tmp_path) -> DuckDBWarehouse:
    return DuckDBWarehouse(str(tmp_path / "wh" / "warehouse.duckdb"), "concert")


def _sales(day: str, n: int = 3, **extra) -> pa.Table:
    columns = {"sale_id": [f"{day}-{i}" for i in range(n)], "sale_date": [day] * n, "qty": list(range(n))}
    columns.update(extra)
    return pa.table(columns)


def _day(day: str) -> dict[str, object]:
    return {"sale_date": day}


# -- sql helpers ---------------------------------------------------------------


def test_quote_ident_doubles_quotes_and_refuses_unusable_names():
    assert quote_ident("artists") == '"artists"'
    assert quote_ident('we"ird') == '"we""ird"'
    assert qualified("concert", "x") == '"concert"."x"'
    for bad in ("", "a\x00b"):
        with pytest.raises(ValueError):
            quote_ident(bad)
    with pytest.raises(TypeError):
        quote_ident(3)  # type: ignore[arg-type]


def test_where_clause_binds_values_and_uses_is_null_for_none():
    assert where_clause(None) == ("", [])
    assert where_clause({"a": 1, "b": None, 'c"': "x'; DROP"}, "%s") == (
        ' WHERE "a" = %s AND "b" IS NULL AND "c""" = %s',
        [1, "x'; DROP"],
    )


# -- factory -------------------------------------------------------------------


def test_make_warehouse_relative_path_creates_parent_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    wh = make_warehouse("duckdb:///.concert_data/warehouse.duckdb", "concert")
    wh.load([Replace("artists", pa.table({"id": [1]}))])
    path = tmp_path / ".concert_data" / "warehouse.duckdb"
    assert path.is_file()
    assert wh.describe() == f"duckdb:///{path} (schema concert)"
    # describe() is a URL that names the same file again (absolute paths take four slashes).
    assert make_warehouse(wh.describe().split(" ")[0], "concert").count("artists") == 1


def test_make_warehouse_absolute_path(tmp_path):
    path = tmp_path / "deep" / "er" / "w.duckdb"
    wh = make_warehouse(f"duckdb:///{path}", "s1")
    wh.load([Replace("t", pa.table({"x": [1, 2]}))])
    assert path.is_file() and wh.count("t") == 2


def test_make_warehouse_memory_keeps_data_between_calls():
    wh = make_warehouse("duckdb:///:memory:", "concert")
    wh.load([Replace("artists", pa.table({"id": [1, 2]}))])
    assert wh.count("artists") == 2 and wh.tables() == ["artists"]
    assert "memory" in wh.describe()
    assert make_warehouse("duckdb:///:memory:", "concert").tables() == []  # each one its own database


def test_make_warehouse_picks_the_dialect_by_scheme_and_hides_the_password():
    from concert_platform.storage.redshift_warehouse import RedshiftWarehouse

    redshift = make_warehouse("redshift://user:s3cret@cluster:5439/dev", "concert", redshift_iam_role="arn:aws:iam::1:role/copy")
    assert isinstance(redshift, RedshiftWarehouse) and redshift.iam_role == "arn:aws:iam::1:role/copy"
    assert "s3cret" not in redshift.describe()


def test_make_warehouse_unknown_scheme():
    with pytest.raises(ValueError, match="unsupported warehouse URL") as info:
        make_warehouse("mysql://u:s3cret@h/db", "concert")
    assert "s3cret" not in str(info.value)


# -- loading -------------------------------------------------------------------


def test_full_replace_read_count_tables(wh):
    wh.load([Replace("artists", pa.table({"id": ["a", "b", "c"], "name": ["A", "B", "C"]}))])
    wh.load([Replace("artists", pa.table({"id": ["z"], "name": ["Z"], "country": ["NO"]}))])
    assert wh.read("artists").to_pylist() == [{"id": "z", "name": "Z", "country": "NO"}]
    assert wh.count("artists") == 1 and wh.count("artists", {"id": "nope"}) == 0
    wh.load([Replace("venues", pa.table({"id": [1]})), Replace("concerts", pa.table({"id": [1]}))])
    assert wh.tables() == ["artists", "concerts", "venues"]


def test_partition_replace_twice_keeps_one_copy_and_other_partitions(wh):
    wh.load([Replace("ticket_sales", _sales("2026-01-01"), _day("2026-01-01"))])
    wh.load([Replace("ticket_sales", _sales("2026-01-02", 2), _day("2026-01-02"))])
    wh.load([Replace("ticket_sales", _sales("2026-01-01", 4), _day("2026-01-01"))])
    wh.load([Replace("ticket_sales", _sales("2026-01-01", 4), _day("2026-01-01"))])

    assert wh.count("ticket_sales", _day("2026-01-01")) == 4
    assert sorted(wh.read("ticket_sales", _day("2026-01-02")).column("sale_id").to_pylist()) == [
        "2026-01-02-0",
        "2026-01-02-1",
    ]
    assert wh.count("ticket_sales") == 6


def test_partition_replace_adds_new_optional_columns(wh):
    wh.load([Replace("ticket_sales", _sales("2026-01-01"), _day("2026-01-01"))])
    wh.load([Replace("ticket_sales", _sales("2026-01-02", 1, channel=["web"]), _day("2026-01-02"))])
    rows = {r["sale_id"]: r["channel"] for r in wh.read("ticket_sales").to_pylist()}
    assert rows == {"2026-01-01-0": None, "2026-01-01-1": None, "2026-01-01-2": None, "2026-01-02-0": "web"}


def test_rejected_records_slices_by_two_columns(wh):
    def rejects(entity, key, n):
        return pa.table({"entity": [entity] * n, "partition_key": [key] * n, "error": ["bad"] * n})

    wh.load([Replace("rejected_records", rejects("artists", None, 2), {"entity": "artists", "partition_key": None})])
    wh.load([Replace("rejected_records", rejects("sales", "d1", 3), {"entity": "sales", "partition_key": "d1"})])
    wh.load([Replace("rejected_records", rejects("artists", None, 1), {"entity": "artists", "partition_key": None})])
    assert wh.count("rejected_records", {"entity": "artists"}) == 1
    assert wh.count("rejected_records", {"entity": "sales", "partition_key": "d1"}) == 3


def test_failure_in_a_later_operation_rolls_back_everything(wh):
    wh.load(
        [
            Replace("ticket_sales", _sales("2026-01-01"), _day("2026-01-01")),
            Replace("artists", pa.table({"id": [1]})),
        ]
    )
    before = wh.read("ticket_sales")

    bad = pa.table({"sale_id": ["x"], "sale_date": ["2026-01-02"], "qty": ["not a number"]})
    with pytest.raises(duckdb.Error):
        wh.load(
            [
                Replace("artists", pa.table({"id": [7, 8, 9]})),
                Replace("ticket_sales", _sales("2026-01-01", 9), _day("2026-01-01")),
                Replace("ticket_sales", bad, _day("2026-01-02")),
            ]
        )
    assert wh.read("ticket_sales").equals(before)
    assert wh.read("artists").column("id").to_pylist() == [1]


def test_exception_mid_stream_rolls_back_a_full_replace(wh):
    wh.load([Replace("artists", pa.table({"id": [1, 2]}))])
    schema = pa.schema([("id", pa.int64())])

    def broken():
        yield pa.record_batch({"id": [10, 11]}, schema=schema)
        raise RuntimeError("api went away")

    with pytest.raises(duckdb.Error, match="api went away"):
        reader = pa.RecordBatchReader.from_batches(schema, broken())
        wh.load([Replace("new_table", pa.table({"a": [1]})), Replace("artists", reader)])
    assert wh.read("artists").column("id").to_pylist() == [1, 2]
    assert wh.tables() == ["artists"]


def test_rows_outside_the_slice_are_refused(wh):
    wh.load([Replace("ticket_sales", _sales("2026-01-01"), _day("2026-01-01"))])
    mixed = pa.concat_tables([_sales("2026-01-02"), _sales("2026-01-03")])
    with pytest.raises(SliceMismatch, match="sale_date"):
        wh.load([Replace("ticket_sales", mixed, _day("2026-01-02"))])
    with pytest.raises(SliceMismatch, match="no \\(unique\\) column"):
        wh.load([Replace("ticket_sales", pa.table({"sale_id": ["x"]}), _day("2026-01-02"))])
    # Streamed data is checked batch by batch and the original error comes back.
    with pytest.raises(SliceMismatch):
        reader = pa.RecordBatchReader.from_batches(mixed.schema, mixed.to_batches())
        wh.load([Replace("ticket_sales", reader, _day("2026-01-02"))])
    assert wh.count("ticket_sales") == 3


def test_types_round_trip(wh):
    table = pa.table(
        {
            "sale_date": pa.array([dt.date(2026, 1, 1), dt.date(2026, 1, 1), dt.date(2026, 1, 1)], pa.date32()),
            "price": pa.array([decimal.Decimal("123456.78"), decimal.Decimal("-0.01"), None], pa.decimal128(12, 2)),
            "sold_at": pa.array(
                [
                    dt.datetime(2026, 1, 1, 19, 30, 0, 123456, tzinfo=dt.UTC),
                    None,
                    dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "genres": pa.array([["rock", "indie"], [], None], pa.list_(pa.string())),
        }
    )
    wh.load([Replace("typed", table)])
    assert wh.read("typed").equals(table)
    wh.load([Replace("typed", table, {"sale_date": dt.date(2026, 1, 1)})])
    assert wh.read("typed", {"sale_date": dt.date(2026, 1, 1)}).equals(table)


def test_replace_validates_its_arguments():
    with pytest.raises(ValueError):
        Replace("", pa.table({"a": [1]}))
    with pytest.raises(ValueError, match="where=None"):
        Replace("t", pa.table({"a": [1]}), {})
    with pytest.raises(TypeError):
        Replace("t", [{"a": 1}])  # type: ignore[arg-type]


def test_hostile_names_are_just_names(wh):
    name = 'x"; DROP TABLE artists; --'
    wh.load([Replace("artists", pa.table({"id": [1]})), Replace(name, pa.table({name: [1]}))])
    assert wh.read(name).column_names == [name]
    assert wh.count("artists") == 1


# -- the file lock -------------------------------------------------------------


def _hold_lock(path: str, locked, seconds: float) -> None:
    con = duckdb.connect(path)
    locked.set()
    time.sleep(seconds)
    con.close()


def _count_in_child(path: str, queue, table: str = "artists") -> None:
    queue.put(DuckDBWarehouse(path, "concert", lock_timeout_s=5).count(table))


@pytest.fixture
def spawn():
    return multiprocessing.get_context("spawn")


def test_load_waits_for_another_process_to_release_the_lock(wh, spawn):
    wh.load([Replace("artists", pa.table({"id": [1]}))])
    locked = spawn.Event()
    holder = spawn.Process(target=_hold_lock, args=(wh.path, locked, 1.0))
    holder.start()
    try:
        assert locked.wait(30)
        started = time.monotonic()
        wh.load([Replace("artists", pa.table({"id": [1, 2]}))])
        assert time.monotonic() - started > 0.3  # it really waited
        assert wh.count("artists") == 2
    finally:
        holder.join(30)


def test_lock_timeout_names_the_file(tmp_path, spawn):
    wh = DuckDBWarehouse(str(tmp_path / "w.duckdb"), "concert", lock_timeout_s=0.3)
    locked = spawn.Event()
    holder = spawn.Process(target=_hold_lock, args=(wh.path, locked, 3.0))
    holder.start()
    try:
        assert locked.wait(30)
        with pytest.raises(WarehouseLockTimeout, match=os.path.basename(wh.path)):
            wh.load([Replace("artists", pa.table({"id": [1]}))])
    finally:
        holder.join(30)


def test_no_connection_is_held_between_calls(wh, spawn):
    wh.load([Replace("artists", pa.table({"id": [1, 2, 3]}))])
    assert wh.read("artists").num_rows == 3
    queue = spawn.Queue()
    child = spawn.Process(target=_count_in_child, args=(wh.path, queue))
    child.start()
    assert queue.get(timeout=60) == 3
    child.join(30)


def test_a_session_holds_the_file_for_its_loads_each_its_own_transaction(wh, spawn):
    wh.load([Replace("sales", _sales("2026-10-01"))])
    with wh.session():
        wh.load([Replace("sales", _sales("2026-10-02"), _day("2026-10-02"))])
        with pytest.raises(SliceMismatch):  # a failed day rolls back alone
            wh.load([Replace("sales", _sales("2026-10-03"), _day("2026-10-02"))])
        wh.load([Replace("sales", _sales("2026-10-03", n=2), _day("2026-10-03"))])
        assert wh.count("sales") == 8
        queue = spawn.Queue()
        blocked = spawn.Process(target=_count_in_child, args=(wh.path, queue, "sales"))  # another process waits for the file
        blocked.start()
        time.sleep(1.0)
        assert queue.empty()
    # ...and gets it once the session ends.
    assert queue.get(timeout=60) == 8
    blocked.join(30)
    assert sorted(wh.read("sales")["sale_date"].unique().to_pylist()) == ["2026-10-01", "2026-10-02", "2026-10-03"]
    assert wh.count("sales", _day("2026-10-02")) == 3 and wh.count("sales", _day("2026-10-03")) == 2
