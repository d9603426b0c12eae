"""A publish leaves the lake and the warehouse one state, whatever fails when (in process; the chaos
suite kills real runs at the same points).

Each test publishes day A, then tries to publish day B over it and makes something fail. Afterwards a
reader of the lake (following the warehouse's commit record) and the warehouse hold the same rows,
either all of A or all of B; the next publish leaves no staged file behind.
"""

from __future__ import annotations

import errno
import threading
from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest

from concert_platform.storage import faults
from concert_platform.storage import lake as lake_module
from concert_platform.storage.consistency import compare
from concert_platform.storage.duckdb_warehouse import DuckDBWarehouse
from concert_platform.storage.lake import Lake
from concert_platform.storage.postgres_warehouse import PostgresWarehouse
from concert_platform.storage.publish import publish

DAY = "2026-03-01"
WHERE = {"sale_date": date(2026, 3, 1)}
KEY = ("sale_date", "sale_id")


def _day(n: int, quantity: int) -> pa.Table:
    return pa.table(
        {
            "sale_date": pa.array([date(2026, 3, 1)] * n, pa.date32()),
            "sale_id": [f"s{i:05d}" for i in range(n)],
            "quantity": pa.array([quantity] * n, pa.int64()),
            "unit_price": pa.array([Decimal("12.50")] * n, pa.decimal128(10, 2)),
        }
    )


def _rejects(n: int) -> pa.Table:
    text = pa.string()
    return pa.table(
        {
            "entity": pa.array(["ticket_sales"] * n, text),
            "partition_key": pa.array([DAY] * n, text),
            "error": pa.array(["bad"] * n, text),
        }
    )


OLD, NEW = _day(6, 1), _day(1006, 2)


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse(request, tmp_path):
    if request.param == "duckdb":
        return DuckDBWarehouse(str(tmp_path / "wh.duckdb"), "analytics")
    pg_url, database = request.getfixturevalue("pg_url"), request.getfixturevalue("pg_database")
    return PostgresWarehouse(pg_url.rsplit("/", 1)[0] + f"/{database}", "analytics")


@pytest.fixture
def lake(tmp_path):
    return Lake.from_url(str(tmp_path / "lake"))


def _publish(lake, warehouse, table, rejects=0):
    return publish(lake, warehouse, "ticket_sales", table, partition=DAY, where=WHERE, rejects=_rejects(rejects), primary_key=KEY)


def _state(lake: Lake, warehouse) -> pa.Table:
    """The one state: what the lake shows (as the warehouse's record says) equals the warehouse's rows."""
    shown = lake.following(warehouse.committed_versions).read("ticket_sales", [DAY]).sort_by("sale_id")
    held = warehouse.read("ticket_sales", WHERE).sort_by("sale_id")
    assert shown.equals(held.select(shown.column_names)), "the lake and the warehouse differ"
    rejects_shown = lake.following(warehouse.committed_versions).read("rejected_records/ticket_sales", [DAY])
    assert rejects_shown.num_rows == warehouse.count("rejected_records", {"entity": "ticket_sales"})
    report = compare(lake, warehouse, "ticket_sales", "sale_date")
    assert report.agree, report.differences
    return held


def _staged(lake: Lake) -> list[str]:
    return lake.staged_versions("ticket_sales", DAY) + lake.staged_versions("rejected_records/ticket_sales", DAY)


@pytest.mark.parametrize("point", [faults.AFTER_STAGE, faults.IN_TRANSACTION])
def test_a_failure_before_the_commit_keeps_the_old_rows_on_both_sides(lake, warehouse, monkeypatch, point):
    _publish(lake, warehouse, OLD, rejects=1)
    monkeypatch.setenv(faults.VARIABLE, f"{point}:raise")
    with pytest.raises(faults.InjectedFault):
        _publish(lake, warehouse, NEW, rejects=3)
    assert _state(lake, warehouse).num_rows == OLD.num_rows
    assert _staged(lake) == []  # the failing writer removed what it staged

    monkeypatch.delenv(faults.VARIABLE)
    _publish(lake, warehouse, NEW, rejects=3)
    assert _state(lake, warehouse).num_rows == NEW.num_rows


def test_a_failure_after_the_commit_shows_the_new_rows_and_the_next_write_moves_them_in(lake, warehouse, monkeypatch):
    _publish(lake, warehouse, OLD, rejects=1)
    monkeypatch.setenv(faults.VARIABLE, f"{faults.AFTER_COMMIT}:raise")
    with pytest.raises(faults.InjectedFault):
        _publish(lake, warehouse, NEW, rejects=3)
    # data.parquet is still the old file, but the warehouse committed the new version: readers follow it.
    assert lake.read("ticket_sales", [DAY]).num_rows == OLD.num_rows
    assert _state(lake, warehouse).num_rows == NEW.num_rows
    assert len(_staged(lake)) == 2

    monkeypatch.delenv(faults.VARIABLE)
    _publish(lake, warehouse, NEW, rejects=3)
    assert _staged(lake) == []
    assert lake.read("ticket_sales", [DAY]).num_rows == NEW.num_rows
    assert _state(lake, warehouse).num_rows == NEW.num_rows


def test_an_orphan_from_a_killed_writer_is_never_read_and_the_next_write_removes_it(lake, warehouse):
    _publish(lake, warehouse, OLD)
    orphan = lake.stage("ticket_sales", NEW, DAY, "20260101T000000000000Z-deadbeef0000")  # staged, never committed
    legacy = f"{lake.location.path('ticket_sales', DAY)}/.data.parquet.0123abcd.tmp"  # the earlier layout's temporary
    with lake.fs.open_output_stream(legacy) as out:
        out.write(b"half a file")
    assert _state(lake, warehouse).num_rows == OLD.num_rows

    _publish(lake, warehouse, OLD)
    assert _staged(lake) == []
    assert not lake._is_file(orphan.path) and not lake._is_file(legacy)


def test_an_unreachable_warehouse_leaves_the_lake_as_it_was(lake, tmp_path):
    reachable = DuckDBWarehouse(str(tmp_path / "wh.duckdb"), "analytics")
    _publish(lake, reachable, OLD)
    # A port nothing listens on: the connection is refused at once.
    unreachable = PostgresWarehouse("postgresql://postgres:secret@127.0.0.1:9/nowhere", "analytics")
    with pytest.raises(Exception, match="cannot connect"):
        _publish(lake, unreachable, NEW)
    assert lake.read("ticket_sales", [DAY]).num_rows == OLD.num_rows
    assert _staged(lake) == []


def test_a_full_lake_disk_leaves_the_warehouse_as_it_was(lake, warehouse, monkeypatch):
    _publish(lake, warehouse, OLD)
    real = lake_module._write_parquet

    def write_then_run_out_of_space(fs, path, data, version):
        real(fs, path, data, version)  # the bytes are there, as far as a full disk lets them be
        raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(lake_module, "_write_parquet", write_then_run_out_of_space)
    with pytest.raises(OSError, match="No space left"):
        _publish(lake, warehouse, NEW)
    monkeypatch.undo()
    assert _state(lake, warehouse).num_rows == OLD.num_rows
    assert _staged(lake) == []


def test_two_writers_of_one_partition_leave_one_of_their_states(lake, warehouse):
    """PostgreSQL: the partition lock; DuckDB: its one-writer-per-file lock, held for the whole publish."""
    _publish(lake, warehouse, OLD)
    tables = [_day(3000 + i, quantity=10 + i) for i in range(4)]
    errors = []

    def write(table):
        try:
            _publish(lake, _copy(warehouse), table)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(t,)) for t in tables]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    held = _state(lake, warehouse)
    assert held.num_rows in {t.num_rows for t in tables}
    assert _staged(lake) == []


def _copy(warehouse):
    """A warehouse object of its own per writer, as separate runs have."""
    if isinstance(warehouse, DuckDBWarehouse):
        return DuckDBWarehouse(warehouse.path, warehouse.schema)
    return PostgresWarehouse(f"postgresql://{_pg_target(warehouse)}", warehouse.schema)


def _pg_target(warehouse: PostgresWarehouse) -> str:
    p = warehouse._params
    return f"{p.get('user', 'postgres')}@{p['host']}:{p.get('port', 5432)}/{p['dbname']}"


def test_the_check_sees_a_side_changed_behind_its_back(lake, warehouse):
    _publish(lake, warehouse, OLD)
    assert compare(lake, warehouse, "ticket_sales", "sale_date").agree
    lake.write("ticket_sales", _day(6, 5), DAY)  # same rows, other quantities, written around the protocol
    report = compare(lake, warehouse, "ticket_sales", "sale_date")
    assert not report.agree
    assert "sum(quantity) is 30 in the lake, 6 in the warehouse" in report.differences[DAY]
