"""Publishing rows that are never held whole: the lake's staging and the warehouse's load each read a
stream of their own, and the result is the one state a table would have left."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest

from concert_platform.storage.consistency import compare
from concert_platform.storage.duckdb_warehouse import DuckDBWarehouse
from concert_platform.storage.lake import Lake
from concert_platform.storage.postgres_warehouse import PostgresWarehouse
from concert_platform.storage.publish import Reopenable, publish
from concert_platform.storage.warehouse import SliceMismatch

DAY = "2026-03-01"
WHERE = {"sale_date": date(2026, 3, 1)}


def _day(n: int, quantity: int, day: date = date(2026, 3, 1)) -> pa.Table:
    return pa.table(
        {
            "sale_date": pa.array([day] * n, pa.date32()),
            "sale_id": [f"s{i:05d}" for i in range(n)],
            "quantity": pa.array([quantity] * n, pa.int64()),
            "unit_price": pa.array([Decimal("12.50")] * n, pa.decimal128(10, 2)),
        }
    )


class Batches:
    """A Reopenable over batches, counting how often it was opened."""

    def __init__(self, table: pa.Table, rows: int = 100):
        self.table, self.rows, self.opened = table, rows, 0

    @property
    def schema(self) -> pa.Schema:
        return self.table.schema

    def open(self) -> pa.RecordBatchReader:
        self.opened += 1
        return pa.RecordBatchReader.from_batches(self.schema, self.table.to_batches(max_chunksize=self.rows))


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse(request, tmp_path):
    if request.param == "duckdb":
        return DuckDBWarehouse(str(tmp_path / "wh.duckdb"), "analytics")
    pg_url, database = request.getfixturevalue("pg_url"), request.getfixturevalue("pg_database")
    return PostgresWarehouse(pg_url.rsplit("/", 1)[0] + f"/{database}", "analytics")


def _publish(lake, warehouse, data):
    rejects = pa.table({"entity": ["ticket_sales"], "partition_key": [DAY], "error": ["bad"]})
    return publish(
        lake, warehouse, "ticket_sales", data, partition=DAY, where=WHERE, rejects=rejects, primary_key=("sale_date", "sale_id")
    )


def test_a_stream_publishes_what_the_same_table_would(warehouse, tmp_path):
    table = _day(1234, 3)
    by_table = Lake.from_url(str(tmp_path / "by_table"))
    written_table = _publish(by_table, DuckDBWarehouse(str(tmp_path / "by_table.duckdb"), "analytics"), table)

    lake, stream = Lake.from_url(str(tmp_path / "by_stream")), Batches(table)
    assert isinstance(stream, Reopenable)
    written = _publish(lake, warehouse, stream)
    assert stream.opened == 2  # once for the lake, once for the warehouse
    assert (written.rows, written.fingerprint) == (written_table.rows, written_table.fingerprint)
    assert lake.read("ticket_sales", [DAY]).equals(by_table.read("ticket_sales", [DAY]))
    held = warehouse.read("ticket_sales", WHERE).sort_by("sale_id")
    assert held.select(table.column_names).equals(table)
    assert compare(lake, warehouse, "ticket_sales", "sale_date").agree
    assert warehouse.committed("ticket_sales")[DAY].version == written.version


def test_a_stream_with_a_row_outside_the_slice_leaves_the_old_state_on_both_sides(warehouse, tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    _publish(lake, warehouse, Batches(_day(10, 1)))
    stray = pa.concat_tables([_day(250, 2), _day(1, 2, date(2026, 3, 2))])  # the last batch strays
    with pytest.raises(SliceMismatch, match="sale_date"):
        _publish(lake, warehouse, Batches(stray))
    assert warehouse.read("ticket_sales", WHERE)["quantity"].to_pylist() == [1] * 10
    assert warehouse.count("ticket_sales") == 10
    assert lake.following(warehouse.committed_versions).read("ticket_sales", [DAY]).num_rows == 10
    assert lake.staged_versions("ticket_sales", DAY) == [] and lake.staged_versions("rejected_records/ticket_sales", DAY) == []


def test_publish_refuses_what_it_cannot_read_twice(tmp_path):
    reader = _day(3, 1).to_reader()
    with pytest.raises(TypeError, match="Reopenable"):
        _publish(Lake.from_url(str(tmp_path / "lake")), DuckDBWarehouse(str(tmp_path / "wh.duckdb"), "analytics"), reader)


def test_a_duckdb_files_buffer_pool_is_capped(tmp_path):
    """So a big day's insert spills its blocks to disk instead of growing the run (bench/README.md)."""
    warehouse = DuckDBWarehouse(str(tmp_path / "wh.duckdb"), "analytics")
    with warehouse.session(), warehouse._connect() as con:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit == "488.2 MiB"  # 512MB, as DuckDB spells it
