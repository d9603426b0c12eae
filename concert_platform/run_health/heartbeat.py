"""A run worker's heartbeat, kept in the Dagster instance's own storage.

While a run executes, a daemon thread of its worker writes the time, every
``HEARTBEAT_SECONDS``, under a key of its own in the run storage's key-value
table: the database every Dagster process of the instance already shares, so
the daemon reads it from any host (no process ids, no shared filesystem).
Dagster 1.13 has no call that deletes such a key; the row of a finished run
stays (one short row per run) and nothing reads it again, since only runs in
progress are checked.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
_KEY_PREFIX = "concert_platform/run_heartbeat/"


def heartbeat_key(run_id: str) -> str:
    return _KEY_PREFIX + run_id


def write_heartbeat(instance: dg.DagsterInstance, run_id: str, at: float) -> None:
    instance.run_storage.set_cursor_values({heartbeat_key(run_id): repr(at)})


def last_heartbeat(instance: dg.DagsterInstance, run_id: str) -> float | None:
    value = instance.run_storage.get_cursor_values({heartbeat_key(run_id)}).get(heartbeat_key(run_id))
    return float(value) if value else None


class _Heartbeat:
    def __init__(self, instance: dg.DagsterInstance, run_id: str, every: float):
        self._instance, self._run_id, self._every = instance, run_id, every
        self._stopped = threading.Event()
        # A daemon thread: a run worker that ends (or is killed) never waits for it.
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id[:8]}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while True:
            try:
                write_heartbeat(self._instance, self._run_id, time.time())
            except Exception:
                # One failed write is not a dead worker; if every write fails, the heartbeat goes
                # stale and run monitoring fails the run, which is then as unable to write its events.
                log.warning("could not write the heartbeat of run %s", self._run_id, exc_info=True)
            if self._stopped.wait(self._every):
                return

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=30)


# One heartbeat per run in a process, however many resources ask for it (the warehouse is set up
# once as a resource of its own and once inside the IO manager).
_beating: dict[str, tuple[_Heartbeat, int]] = {}
_lock = threading.Lock()


@contextmanager
def beating(instance: dg.DagsterInstance | None, run_id: str | None, every: float = HEARTBEAT_SECONDS) -> Iterator[None]:
    """The run's heartbeat, from the first write (at once) until the last user leaves.

    Outside a run (a sensor or a schedule setting up a resource) there is no run id: nothing beats.
    """
    if instance is None or run_id is None:
        yield
        return
    with _lock:
        heartbeat, users = _beating.get(run_id) or (_Heartbeat(instance, run_id, every), 0)
        _beating[run_id] = (heartbeat, users + 1)
    try:
        yield
    finally:
        with _lock:
            heartbeat, users = _beating.pop(run_id)
            if users > 1:
                _beating[run_id] = (heartbeat, users - 1)
        if users == 1:
            heartbeat.stop()
