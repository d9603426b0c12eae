"""The health decision alone: a heartbeat's age, or the run's age without one, against the limit."""

from __future__ import annotations

import pytest

from concert_platform.run_health.health import judge

NOW = 1_800_000_000.0
LIMIT = 120.0


@pytest.mark.parametrize(
    ("age", "alive"),
    [(0, True), (15, True), (LIMIT, True), (LIMIT + 1, False), (3600, False), (-5, True)],  # -5: another host's clock ahead
)
def test_a_heartbeat_is_fresh_up_to_the_limit(age, alive):
    verdict = judge(now=NOW, started_at=NOW - 7200, last_beat=NOW - age, stale_after=LIMIT)
    assert verdict.alive is alive
    assert ("no heartbeat from the run worker for" in verdict.reason) is not alive


def test_the_heartbeat_decides_not_the_runs_age():
    # A run of many hours that still beats lives; max_runtime_seconds, not this, bounds its length.
    assert judge(now=NOW, started_at=NOW - 11 * 3600, last_beat=NOW - 10, stale_after=LIMIT).alive


@pytest.mark.parametrize(("since_start", "alive"), [(0, True), (LIMIT, True), (LIMIT + 1, False)])
def test_without_any_heartbeat_the_start_counts_as_the_first(since_start, alive):
    # A worker that died between the run's start and its first heartbeat is dead just as late.
    verdict = judge(now=NOW, started_at=NOW - since_start, last_beat=None, stale_after=LIMIT)
    assert verdict.alive is alive
    assert ("since the run started" in verdict.reason) is not alive


def test_a_run_not_started_is_not_judged():
    assert judge(now=NOW, started_at=None, last_beat=None, stale_after=LIMIT).alive


def test_the_reason_says_how_old_and_the_limit():
    verdict = judge(now=NOW, started_at=NOW - 900, last_beat=NOW - 300, stale_after=LIMIT)
    assert verdict.reason == "no heartbeat from the run worker for 300s (limit 120s)"
