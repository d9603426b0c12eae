"""A model's valid rows spooled on local disk: checked, described and published without being held whole."""

import os
from datetime import date

import dagster as dg
import pyarrow as pa
import pytest

from concert_platform.defs.assets.modeled import model_checks
from concert_platform.defs.io_manager import PARTITION_COLUMN, ByDay, LakeWarehouseIOManager, ModelOutput
from concert_platform.defs.resources import LakeResource, QualityResource, WarehouseResource
from concert_platform.transforms.spool import Spool
from concert_platform.validation import ValidationResult, rejects_table

DAYS = dg.DailyPartitionsDefinition(start_date="2026-10-01", end_date="2026-10-05")
SCHEMA = pa.schema([("sale_id", pa.string()), ("concert_id", pa.string()), ("sale_date", pa.date32())])


def _spooled(table: pa.Table, batch: int = 2):
    spool = Spool(SCHEMA)
    writer = spool.part(0)
    for start in range(0, table.num_rows, batch):
        writer.write(table.slice(start, batch))
    writer.commit()
    return spool.table()


def _checks(valid) -> dict:
    rejects = rejects_table([{"entity": "s", "partition_key": "", "source": "f", "record": "{}", "error": "bad"}])
    results = model_checks(
        ValidationResult(valid, rejects),
        key="sale_id",
        quality=QualityResource(),
        references={"concert_id": (pa.array(["c1"]), "concerts")},
    )
    return {r.check_name: (r.passed, {k: v.value if hasattr(v, "value") else v for k, v in r.metadata.items()}) for r in results}


@pytest.mark.parametrize(
    "ids, concerts",
    [
        (["a", "b", "c", "d", "e"], ["c1"] * 5),
        (["a", "b", "a", None, "c", "b", "a"], ["c1", "c9", None, "c1", "c8", "c9", "c1"]),
    ],
)
def test_checks_of_a_spooled_table_are_the_checks_of_the_table(ids, concerts):
    table = pa.table({"sale_id": ids, "concert_id": concerts, "sale_date": pa.array([date(2026, 10, 1)] * len(ids))})
    assert _checks(_spooled(table)) == _checks(table)


def test_a_spooled_day_is_published_described_and_its_spool_deleted(tmp_path):
    folders = []

    def make(key: str) -> ModelOutput:
        day = date.fromisoformat(key)
        table = pa.table(
            {"sale_id": [f"{key}-{i}" for i in range(25)], "concert_id": ["c1"] * 25, "sale_date": pa.array([day] * 25)}
        )
        valid = _spooled(table, batch=4)
        folders.append(valid._folder.path)
        reject = {"entity": "sales", "partition_key": key, "source": "f.jsonl", "record": "{}", "error": "bad"}
        return ModelOutput(valid, rejects_table([reject]))

    @dg.asset(partitions_def=DAYS, metadata={PARTITION_COLUMN: "sale_date"}, backfill_policy=dg.BackfillPolicy.single_run())
    def sales(context: dg.AssetExecutionContext) -> ByDay:
        return ByDay.over(context, make)

    io_manager = LakeWarehouseIOManager(
        lake=LakeResource(url=str(tmp_path / "lake")),
        warehouse=WarehouseResource(url=f"duckdb:///{tmp_path}/w.duckdb", schema_name="t"),
    )
    tags = {"dagster/asset_partition_range_start": "2026-10-01", "dagster/asset_partition_range_end": "2026-10-02"}
    result = dg.materialize([sales], tags=tags, resources={"io_manager": io_manager})
    warehouse, lake = io_manager.warehouse.warehouse(), io_manager.lake.lake()
    assert warehouse.count("sales") == 50 and lake.read("sales", ["2026-10-01", "2026-10-02"]).num_rows == 50
    meta = {m.partition: m.metadata for m in result.asset_materializations_for_node("sales")}
    assert all(m["dagster/row_count"].value == 25 for m in meta.values())
    assert "2026-10-02-0" in meta["2026-10-02"]["preview"].value
    assert len(folders) == 2 and not any(os.path.exists(f) for f in folders)
