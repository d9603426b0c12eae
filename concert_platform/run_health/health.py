"""Is a run's worker alive? Decided from its last heartbeat alone: no Dagster, no clock of its own."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    alive: bool
    reason: str


def judge(*, now: float, started_at: float | None, last_beat: float | None, stale_after: float) -> Verdict:
    """A worker is dead once ``stale_after`` seconds pass without a heartbeat.

    Without any heartbeat, the run's start counts as its first: a worker that died before it
    wrote one (between the run starting and its resources being set up) is dead just as late.
    Times are epoch seconds; a heartbeat "from the future" (clocks of two hosts a little apart)
    is fresh.
    """
    if last_beat is not None:
        age = now - last_beat
        if age > stale_after:
            return Verdict(False, f"no heartbeat from the run worker for {age:.0f}s (limit {stale_after:.0f}s)")
        return Verdict(True, f"last heartbeat {max(age, 0):.0f}s ago")
    if started_at is None:
        return Verdict(True, "not started, so no heartbeat expected yet")
    since = now - started_at
    if since > stale_after:
        return Verdict(
            False, f"no heartbeat from the run worker in the {since:.0f}s since the run started (limit {stale_after:.0f}s)"
        )
    return Verdict(True, f"no heartbeat yet, {max(since, 0):.0f}s after the run started")
