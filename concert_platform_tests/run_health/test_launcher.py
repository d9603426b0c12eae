"""HeartbeatRunLauncher as the repo's instance files load it, and Dagster's own run monitoring using it."""

from __future__ import annotations

import logging
import time

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, DagsterEventType
from dagster._core.launcher import WorkerStatus
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.utils import make_new_run_id
from dagster._core.workspace.load_target import EmptyWorkspaceTarget
from dagster._daemon.monitoring.run_monitoring import execute_run_monitoring_iteration

from concert_platform.run_health.heartbeat import write_heartbeat
from concert_platform.run_health.launcher import HeartbeatRunLauncher

LIMIT = 120  # stale_after_seconds in both instance files
LONG_AGO = 10 * LIMIT


def started_run(instance: dg.DagsterInstance, at: float) -> dg.DagsterRun:
    """A run whose worker reported RUN_START at ``at``, as a run worker does."""
    run = instance.add_run(dg.DagsterRun(job_name="ticket_sales_job", run_id=make_new_run_id()))
    start = DagsterEvent(event_type_value=DagsterEventType.RUN_START.value, job_name=run.job_name)
    instance.report_dagster_event(start, run_id=run.run_id, timestamp=at)
    record = instance.get_run_record_by_id(run.run_id)
    assert record.dagster_run.status == dg.DagsterRunStatus.STARTED and record.start_time == pytest.approx(at)
    return record.dagster_run


def test_both_instance_files_use_it(instance):
    launcher = instance.run_launcher
    assert type(launcher) is HeartbeatRunLauncher and launcher.stale_after_seconds == LIMIT
    assert launcher.supports_check_run_worker_health and not launcher.supports_resume_run
    assert instance.run_monitoring_enabled and instance.run_monitoring_max_resume_run_attempts == 0


@pytest.mark.parametrize(
    ("started_ago", "beat_ago", "status", "reason"),
    [
        (0, None, WorkerStatus.RUNNING, "no heartbeat yet, "),
        (LONG_AGO, 10, WorkerStatus.RUNNING, "last heartbeat "),
        (LONG_AGO, LIMIT + 180, WorkerStatus.FAILED, "no heartbeat from the run worker for 30"),
        (LONG_AGO, None, WorkerStatus.FAILED, "no heartbeat from the run worker in the 120"),
    ],
)
def test_a_run_worker_is_failed_once_its_heartbeat_is_stale(instance, started_ago, beat_ago, status, reason):
    now = time.time()
    run = started_run(instance, now - started_ago)
    if beat_ago is not None:
        write_heartbeat(instance, run.run_id, now - beat_ago)
    result = instance.run_launcher.check_run_worker_health(run)
    assert result.status == status
    assert result.msg.startswith(reason)  # the ages in it are read a moment after `now` (health's tests have the text)


def test_run_monitoring_fails_the_dead_run_which_will_be_retried_and_leaves_the_live_one(instance):
    now = time.time()
    dead, alive = started_run(instance, now - LONG_AGO), started_run(instance, now - LONG_AGO)
    write_heartbeat(instance, dead.run_id, now - LONG_AGO + 30)
    write_heartbeat(instance, alive.run_id, now)

    with create_test_daemon_workspace_context(EmptyWorkspaceTarget(), instance) as workspace:
        list(execute_run_monitoring_iteration(workspace, logging.getLogger("run_monitoring")))

    assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTED
    failed = instance.get_run_by_id(dead.run_id)
    assert failed.status == dg.DagsterRunStatus.FAILURE
    [failure] = instance.all_logs(dead.run_id, of_type=DagsterEventType.RUN_FAILURE)
    assert "Detected run worker status FAILED: 'no heartbeat from the run worker for" in failure.message
    assert failed.tags["dagster/will_retry"] == "true"  # run_retries takes it from here


def test_stale_after_seconds_defaults_to_two_minutes_and_refuses_fewer_than_four_heartbeats(tmp_path):
    launcher = "run_launcher:\n  module: concert_platform.run_health.launcher\n  class: HeartbeatRunLauncher\n"
    (tmp_path / "dagster.yaml").write_text(launcher)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.run_launcher.stale_after_seconds == 120
    (tmp_path / "dagster.yaml").write_text(launcher + "  config:\n    stale_after_seconds: 59\n")
    with pytest.raises(ValueError, match="stale_after_seconds is 59; .* every 15s, so it must be at least 60"):
        with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
            instance.run_launcher  # noqa: B018 (Dagster builds the launcher when first asked)
