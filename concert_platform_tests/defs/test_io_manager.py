"""The IO manager against a local folder and S3 (moto's server over HTTP), with a DuckDB warehouse."""

from datetime import date

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG as PARTITION_RANGE_END
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_START_TAG as PARTITION_RANGE_START

from concert_platform.defs.io_manager import PARTITION_COLUMN, ByDay, LakeWarehouseIOManager, ModelOutput
from concert_platform.defs.resources import LakeResource, WarehouseResource
from concert_platform.storage.lake import Lake
from concert_platform.storage.warehouse import make_warehouse
from concert_platform.validation import rejects_table

DAYS = dg.DailyPartitionsDefinition(start_date="2026-10-01", end_date="2026-10-05")


@pytest.fixture(params=["local", "s3"])
def io_manager(request, tmp_path):
    if request.param == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        lake = LakeResource(url=f"s3://{bucket}/lake", endpoint_url=request.getfixturevalue("aws_env"))
    else:
        lake = LakeResource(url=str(tmp_path / "lake"))
    return LakeWarehouseIOManager(lake=lake, warehouse=WarehouseResource(url=f"duckdb:///{tmp_path}/w.duckdb", schema_name="t"))


def _reject(day: str) -> pa.Table:
    return rejects_table([{"entity": "sales", "partition_key": day, "source": "f.jsonl", "record": "{}", "error": "bad"}])


def _sales_of(key: str) -> ModelOutput:
    day = date.fromisoformat(key)
    valid = pa.table({"sale_id": [f"{day}-1", f"{day}-2"], "sale_date": pa.array([day, day], pa.date32())})
    return ModelOutput(valid, _reject(key))


@dg.asset(partitions_def=DAYS, metadata={PARTITION_COLUMN: "sale_date"}, backfill_policy=dg.BackfillPolicy.single_run())
def sales(context: dg.AssetExecutionContext) -> ByDay:
    return ByDay.over(context, _sales_of)


@dg.asset
def dims() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "c"]})


@dg.asset
def summary(sales: pd.DataFrame, dims: pa.Table) -> pd.DataFrame:
    assert isinstance(dims, pa.Table)  # the annotation picks the type load_input returns
    return pd.DataFrame({"sales": [len(sales)], "dims": [dims.num_rows]})


def _materialise(io_manager, assets, partition=None, selection=None, days=None):
    """One partition, or with ``days=(first, last)`` a range run as a backfill launches it."""
    tags = {PARTITION_RANGE_START: days[0], PARTITION_RANGE_END: days[1]} if days else None
    result = dg.materialize(assets, partition_key=partition, selection=selection, tags=tags, resources={"io_manager": io_manager})
    assert result.success
    return result


def test_partitions_replace_exactly_themselves_with_their_rejects(io_manager):
    for day in ("2026-10-01", "2026-10-02", "2026-10-01"):  # the third run re-materialises day one
        _materialise(io_manager, [sales], partition=day)
    warehouse = io_manager.warehouse.warehouse()
    assert warehouse.count("sales") == 4
    assert warehouse.count("sales", {"sale_date": date(2026, 10, 1)}) == 2
    assert warehouse.count("rejected_records", {"entity": "sales"}) == 2
    lake = io_manager.lake.lake()
    assert lake.partitions("sales") == ["2026-10-01", "2026-10-02"]
    assert lake.read("rejected_records/sales", partitions=["2026-10-01"]).num_rows == 1


def test_metadata_a_person_reads(io_manager):
    result = _materialise(io_manager, [sales], partition="2026-10-03")
    [mat] = result.asset_materializations_for_node("sales")
    meta = mat.metadata
    assert meta["dagster/row_count"].value == 2 and meta["rejected_rows"].value == 1
    assert [c.name for c in meta["dagster/column_schema"].schema.columns] == ["sale_id", "sale_date"]
    assert "2026-10-03-1" in meta["preview"].value
    assert meta["lake_path"].value.endswith("sales/2026-10-03/data.parquet")
    assert meta["warehouse_table"].value == "t.sales"


def test_load_input_reads_all_partitions_present_and_unpartitioned_assets(io_manager):
    for day in ("2026-10-01", "2026-10-02"):
        _materialise(io_manager, [sales], partition=day)
    _materialise(io_manager, [sales, dims, summary], selection=[dims.key, summary.key])
    out = io_manager.warehouse.warehouse().read("summary").to_pylist()
    assert out == [{"sales": 4, "dims": 3}]


def test_rows_outside_the_partition_are_refused(io_manager):
    @dg.asset(partitions_def=DAYS, metadata={PARTITION_COLUMN: "sale_date"}, name="sales")
    def stray(context) -> ByDay:
        return ByDay.over(context, lambda _: pa.table({"sale_id": ["x"], "sale_date": pa.array([date(2026, 9, 1)], pa.date32())}))

    result = dg.materialize([stray], partition_key="2026-10-01", resources={"io_manager": io_manager}, raise_on_error=False)
    assert not result.success
    assert not Lake.exists(io_manager.lake.lake(), "sales", "2026-10-01")


def test_the_warehouse_and_lake_hold_the_same_rows(io_manager):
    _materialise(io_manager, [dims])
    lake_rows = io_manager.lake.lake().read("dims").to_pylist()
    assert make_warehouse(io_manager.warehouse.url, "t").read("dims").to_pylist() == lake_rows


@dg.asset(
    partitions_def=DAYS,
    metadata={PARTITION_COLUMN: "sale_date"},
    ins={"sales": dg.AssetIn(partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1))},
)
def two_day_totals(context: dg.AssetExecutionContext, sales: pa.Table) -> ByDay:
    day = date.fromisoformat(context.partition_key)
    return ByDay.over(context, lambda _: pa.table({"sale_date": pa.array([day], pa.date32()), "sales": [sales.num_rows]}))


def test_load_input_reads_a_range_of_partitions(io_manager):
    for day in ("2026-10-01", "2026-10-02"):
        _materialise(io_manager, [sales], partition=day)
    _materialise(io_manager, [sales, two_day_totals], partition="2026-10-02", selection=[two_day_totals.key])
    assert io_manager.warehouse.warehouse().read("two_day_totals")["sales"].to_pylist() == [4]


def _slices(io_manager) -> tuple[pa.Table, pa.Table, list[str]]:
    warehouse, lake = io_manager.warehouse.warehouse(), io_manager.lake.lake()
    rejects = warehouse.read("rejected_records").drop_columns(["rejected_at"]).sort_by("partition_key")
    return warehouse.read("sales").sort_by("sale_id"), rejects, lake.partitions("sales")


def test_a_range_run_publishes_each_day_as_a_one_day_run_would(io_manager, tmp_path):
    one_by_one = LakeWarehouseIOManager(
        lake=LakeResource(url=str(tmp_path / "lake-days")),
        warehouse=WarehouseResource(url=f"duckdb:///{tmp_path}/days.duckdb", schema_name="t"),
    )
    for day in ("2026-10-01", "2026-10-02", "2026-10-03"):
        _materialise(one_by_one, [sales], partition=day)

    result = _materialise(io_manager, [sales], days=("2026-10-01", "2026-10-03"))
    ranged = _slices(io_manager)
    assert all(a.equals(b) for a, b in zip(ranged[:2], _slices(one_by_one)[:2], strict=True))
    assert ranged[2] == ["2026-10-01", "2026-10-02", "2026-10-03"]

    # Each day's materialisation tells its own rows and lake file.
    events = {m.partition: m.metadata for m in result.asset_materializations_for_node("sales")}
    assert sorted(events) == ["2026-10-01", "2026-10-02", "2026-10-03"]
    assert all(meta["dagster/row_count"].value == 2 and meta["rejected_rows"].value == 1 for meta in events.values())
    assert events["2026-10-02"]["lake_path"].value.endswith("sales/2026-10-02/data.parquet")

    _materialise(io_manager, [sales], days=("2026-10-02", "2026-10-03"))  # a re-run of part of the range
    again = _slices(io_manager)
    assert again[0].equals(ranged[0]) and again[1].equals(ranged[1]) and again[2] == ranged[2]


def test_a_range_holds_one_day_at_a_time(io_manager):
    alive: list[int] = []

    class Day(ModelOutput):
        def __init__(self, key):
            super().__init__(*_sales_of(key).__dict__.values())
            alive.append(1)

        def __del__(self):
            alive.pop()

    @dg.asset(
        partitions_def=DAYS,
        metadata={PARTITION_COLUMN: "sale_date"},
        name="sales",
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def counted(context) -> ByDay:
        def make(key):
            assert len(alive) == 0, "an earlier day is still held"
            return Day(key)

        return ByDay.over(context, make)

    _materialise(io_manager, [counted], days=("2026-10-01", "2026-10-04"))
    assert io_manager.warehouse.warehouse().count("sales") == 8


def test_a_partitioned_asset_must_return_its_days(io_manager):
    @dg.asset(partitions_def=DAYS, metadata={PARTITION_COLUMN: "sale_date"}, name="sales")
    def whole(context) -> pa.Table:
        return _sales_of(context.partition_key).valid

    result = dg.materialize([whole], partition_key="2026-10-01", resources={"io_manager": io_manager}, raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "return ByDay.over(context" in failure.event_specific_data.error.message
