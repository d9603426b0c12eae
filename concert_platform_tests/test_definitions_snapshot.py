"""A snapshot of the whole code location, so any change to the graph shows in review.

When a change is meant: `pytest concert_platform_tests/test_definitions_snapshot.py --snapshot-update`
and commit the snapshot with it.
"""

from __future__ import annotations

import dagster as dg
import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from concert_platform.defs.build import build_definitions
from concert_platform.settings import Settings


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


def _condition(condition: dg.AutomationCondition | None) -> str | None:
    return None if condition is None else condition.get_label() or condition.name


def _partitions(partitions: dg.PartitionsDefinition | None) -> str | None:
    if partitions is None:
        return None
    assert isinstance(partitions, dg.TimeWindowPartitionsDefinition)
    return (
        f"{partitions.cron_schedule} {partitions.timezone} from {partitions.start:%Y-%m-%d}, end_offset {partitions.end_offset}"
    )


def describe(defs: dg.Definitions) -> dict:
    """Everything a reviewer of the graph cares about, in plain values (no machine-specific paths)."""
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys()):
        node, assets_def = graph.get(key), defs.resolve_assets_def(key)
        checks = {}
        for check_key in sorted(node.check_keys, key=lambda k: k.name):
            spec = graph.get_check_spec(check_key)
            checks[check_key.name] = {"blocking": spec.blocking, "partitioned": spec.partitions_def is not None}
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "kinds": sorted(node.kinds),
            "partitions": _partitions(node.partitions_def),
            "backfill_policy": str(node.backfill_policy) if node.backfill_policy else None,
            "automation_condition": _condition(node.automation_condition),
            "freshness_policy": repr(node.freshness_policy) if node.freshness_policy else None,
            "pool": assets_def.op.pool,
            "retry_policy": repr(assets_def.op.retry_policy) if assets_def.op.retry_policy else None,
            "checks": checks,
            "metadata": {k: v for k, v in sorted(node.metadata.items()) if not k.startswith("dagster/")},
        }
    jobs = {}
    for job in sorted(defs.jobs or [], key=lambda j: j.name):
        resolved = defs.resolve_job_def(job.name)
        jobs[job.name] = {
            "assets": sorted(k.to_user_string() for k in resolved.asset_layer.executable_asset_keys),
            # The checks defined apart from their assets (lake_matches_warehouse) that the job runs.
            "standalone_checks": sorted(
                f"{k.asset_key.to_user_string()}:{k.name}" for k in resolved.asset_layer.asset_graph.asset_check_keys
            ),
            "executor": resolved.executor_def.name,
        }
    schedules = {
        s.name: {
            "cron": s.cron_schedule,
            "timezone": s.execution_timezone,
            "job": s.job_name,
            "default_status": s.default_status.value,
        }
        for s in sorted(defs.schedules or [], key=lambda s: s.name)
    }
    sensors = {}
    for sensor in sorted(defs.sensors or [], key=lambda s: s.name):
        sensors[sensor.name] = {
            "type": sensor.sensor_type.value,
            "interval_s": sensor.minimum_interval_seconds,
            "default_status": sensor.default_status.value,
            "jobs": sorted(job.name for job in sensor.jobs) if sensor.has_jobs else None,
        }
    resources = {name: type(resource).__name__ for name, resource in sorted((defs.resources or {}).items())}
    return {"assets": assets, "jobs": jobs, "schedules": schedules, "sensors": sensors, "resources": resources}


def test_the_code_location_matches_its_snapshot(snapshot_json):
    assert describe(build_definitions(Settings(_env_file=None))) == snapshot_json
