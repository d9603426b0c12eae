"""Every run of the code location writes a heartbeat: the warehouse resource starts it, and every step needs the warehouse.

A run executes a subset of some job's steps (a UI materialisation of any asset or check is a subset of
the asset job, a backfill's range run one of the sales steps), and Dagster sets up the resources its
steps need. So if each step of each job needs a WarehouseResource, by its own key or inside the IO
manager, every run sets one up and beats; a new step that needs none fails here.
"""

from __future__ import annotations

import threading

from dagster._core.execution.api import create_execution_plan
from dagster._core.execution.resources_init import get_required_resource_keys_for_step, get_transitive_required_resource_keys

from concert_platform.defs.build import build_definitions
from concert_platform.defs.resources import WarehouseResource
from concert_platform.run_health.heartbeat import last_heartbeat
from concert_platform_tests.defs.conftest import demo_settings

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
TWO_DAYS = {"ops": {"ticketmaster_events_raw": {"config": {"days_back": 0, "days_ahead": 2}}}}


def sets_up_a_warehouse(resource) -> bool:
    return isinstance(resource, WarehouseResource) or any(
        isinstance(getattr(resource, name), WarehouseResource) for name in type(resource).model_fields
    )


def test_every_step_of_every_job_sets_up_the_warehouse(tmp_path):
    defs = build_definitions(demo_settings(tmp_path))
    resources = defs.resources
    jobs = list(defs.get_repository_def().get_all_jobs())
    assert {job.name for job in jobs} >= {"__ASSET_JOB", "catalog_job", "features_job", "ticket_sales_job", "consistency_job"}
    steps, without = 0, []
    for job in jobs:
        plan = create_execution_plan(job)
        for step in plan.steps:
            steps += 1
            keys = get_transitive_required_resource_keys(get_required_resource_keys_for_step(job, step, plan), job.resource_defs)
            if not any(sets_up_a_warehouse(resources[key]) for key in keys):
                without.append(f"{job.name}:{step.key}")
    assert steps > 20 and without == []


def test_a_real_run_beats_while_it_runs_and_stops(tmp_path, instance):
    defs = build_definitions(demo_settings(tmp_path))
    result = defs.resolve_job_def("catalog_job").execute_in_process(instance=instance, run_config={**TWO_DAYS, **QUIET})
    assert result.success
    record = instance.get_run_record_by_id(result.run_id)
    beat = last_heartbeat(instance, result.run_id)
    assert beat is not None and record.start_time <= beat <= record.end_time
    assert not [t for t in threading.enumerate() if t.name.startswith("heartbeat-")]
