"""The check that the lake and the warehouse hold the same rows, on every asset the IO manager writes.

It reads every partition's lake footer and one GROUP BY of the warehouse, so it
runs in its own job (daily, and from any asset's Checks tab), not in every
nightly load; each publish is one state by construction (``storage.publish``),
and this is what proves it, or shows loudly where something outside changed one
side.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from concert_platform.defs.io_manager import PARTITION_COLUMN
from concert_platform.defs.jobs import task_size
from concert_platform.defs.resources import LakeResource, WarehouseResource
from concert_platform.storage.consistency import compare

CHECK_NAME = "lake_matches_warehouse"
_SHOWN = 20


def build_consistency_checks(assets: Iterable[dg.AssetsDefinition]) -> list[dg.AssetChecksDefinition]:
    checks = []
    for assets_def in assets:
        for key in assets_def.keys:
            if assets_def.get_io_manager_key_for_asset_key(key) != "io_manager":
                continue
            partition_column = (assets_def.metadata_by_key.get(key) or {}).get(PARTITION_COLUMN)
            checks.append(_check(key, partition_column))
    return checks


def _check(key: dg.AssetKey, partition_column: str | None) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=key,
        name=CHECK_NAME,
        description="Every partition's rows in the lake and in the warehouse agree: row count, sums of the "
        "integer and decimal columns, and the version the warehouse committed.",
    )
    def lake_matches_warehouse(lake: LakeResource, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        report = compare(lake.lake(), warehouse.warehouse(), key.path[-1], partition_column)
        shown = dict(list(report.differences.items())[:_SHOWN])
        return dg.AssetCheckResult(
            passed=report.agree,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "partitions_compared": report.compared,
                "partitions_differing": len(report.differences),
                "differences": dg.MetadataValue.json(shown),
            },
            description=None
            if report.agree
            else f"{len(report.differences)} of {report.compared} partitions differ between the lake and the warehouse",
        )

    return lake_matches_warehouse


def consistency_job(checks: list[dg.AssetChecksDefinition]) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        "consistency_job",
        selection=dg.AssetSelection.checks(*checks),
        description="Compare the lake with the warehouse for every asset (no asset is materialised).",
        tags=task_size(1024, 4096),  # one day of one asset at a time, from both sides
    )


def consistency_schedule(job) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="consistency_schedule",
        job=job,
        cron_schedule="0 5 * * *",  # after the nightly sales (01:00) and catalog (03:00) runs
        execution_timezone="UTC",
        description="Every morning, prove the lake and the warehouse agree.",
    )
