"""Dagster's DefaultRunLauncher, plus a health check from the run workers' heartbeats.

Dagster 1.13's DefaultRunLauncher cannot tell whether a run worker lives: a run whose code
server died with its worker stays STARTED until `max_runtime_seconds`. With this launcher the
daemon's run monitoring asks `check_run_worker_health` every `poll_interval_seconds` about
each STARTED run and fails the run once its heartbeat is older than `stale_after_seconds`
(or it never wrote one in that long after starting); run_retries then retries it.

    run_launcher:
      module: concert_platform.run_health.launcher
      class: HeartbeatRunLauncher
      config:
        stale_after_seconds: 120
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._serdes import ConfigurableClassData

from concert_platform.run_health.health import judge
from concert_platform.run_health.heartbeat import HEARTBEAT_SECONDS, last_heartbeat

DEFAULT_STALE_AFTER_SECONDS = 120
# Four missed heartbeats at the least: a worker busy on both cores, or a slow write, is not a dead one.
MIN_STALE_AFTER_SECONDS = int(4 * HEARTBEAT_SECONDS)


class HeartbeatRunLauncher(dg.DefaultRunLauncher):
    def __init__(self, inst_data: ConfigurableClassData | None = None, stale_after_seconds: int = DEFAULT_STALE_AFTER_SECONDS):
        if stale_after_seconds < MIN_STALE_AFTER_SECONDS:
            raise ValueError(
                f"HeartbeatRunLauncher: stale_after_seconds is {stale_after_seconds}; run workers write a heartbeat "
                f"every {HEARTBEAT_SECONDS:.0f}s, so it must be at least {MIN_STALE_AFTER_SECONDS}"
            )
        super().__init__(inst_data=inst_data)
        self.stale_after_seconds = stale_after_seconds

    @classmethod
    def config_type(cls) -> dict:
        return {
            "stale_after_seconds": dg.Field(
                dg.IntSource,
                is_required=False,
                default_value=DEFAULT_STALE_AFTER_SECONDS,
                description="A STARTED run whose worker wrote no heartbeat for this long is failed by run monitoring.",
            )
        }

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]) -> HeartbeatRunLauncher:
        return cls(inst_data=inst_data, **config_value)

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        record = self._instance.get_run_record_by_id(run.run_id)
        verdict = judge(
            now=time.time(),
            started_at=record.start_time if record else None,
            last_beat=last_heartbeat(self._instance, run.run_id),
            stale_after=self.stale_after_seconds,
        )
        return CheckRunHealthResult(WorkerStatus.RUNNING if verdict.alive else WorkerStatus.FAILED, verdict.reason)
