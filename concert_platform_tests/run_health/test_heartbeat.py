"""The heartbeat writer against real instances: the embedded SQLite one and deploy/dagster.yaml's PostgreSQL."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import psycopg
from dagster._core.utils import make_new_run_id
from dagster_postgres import PostgresRunStorage

from concert_platform.run_health.heartbeat import beating, heartbeat_key, last_heartbeat, write_heartbeat

from .conftest import PG_SERVER

FAST = 0.05  # seconds between heartbeats here; runs write every 15 s


def wait_until(what: str, predicate, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.01)
    raise TimeoutError(what)


def heartbeat_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("heartbeat-")]


def beats_after(instance, run_id: str, after: float) -> float:
    return wait_until(
        f"a heartbeat of {run_id} after {after}", lambda: (b := last_heartbeat(instance, run_id)) and b > after and b
    )


def test_a_written_heartbeat_is_read_back_from_the_instance_storage(instance):
    run_id = make_new_run_id()
    assert last_heartbeat(instance, run_id) is None
    write_heartbeat(instance, run_id, 1_800_000_000.25)
    write_heartbeat(instance, run_id, 1_800_000_015.5)  # the same key, replaced
    assert last_heartbeat(instance, run_id) == 1_800_000_015.5
    assert last_heartbeat(instance, make_new_run_id()) is None  # a key per run
    assert instance.run_storage.get_cursor_values({heartbeat_key(run_id)}) == {heartbeat_key(run_id): "1800000015.5"}


def test_a_run_beats_at_once_and_again_until_it_leaves(instance):
    run_id = make_new_run_id()
    before = time.time()
    with beating(instance, run_id, every=FAST):
        first = beats_after(instance, run_id, before)
        beats_after(instance, run_id, first)  # and again
        [thread] = heartbeat_threads()
        assert thread.daemon  # a run worker that ends never waits for it
    assert heartbeat_threads() == []
    last = last_heartbeat(instance, run_id)
    time.sleep(10 * FAST)
    assert last_heartbeat(instance, run_id) == last  # stopped: nothing writes any more


def test_two_resources_of_one_run_share_one_heartbeat_which_lasts_until_both_are_gone(instance):
    run_id = make_new_run_id()
    with beating(instance, run_id, every=FAST):
        with beating(instance, run_id, every=FAST):
            assert len(heartbeat_threads()) == 1
        assert len(heartbeat_threads()) == 1
        beats_after(instance, run_id, time.time())  # the first user's heartbeat goes on
    assert heartbeat_threads() == []


def test_outside_a_run_nothing_beats(instance):
    # A sensor's or a schedule's resources are set up with no run.
    with beating(instance, None, every=FAST), beating(None, "no-instance", every=FAST):
        assert heartbeat_threads() == []
    assert last_heartbeat(instance, "no-instance") is None


@contextmanager
def key_value_table_gone(instance: dg.DagsterInstance):
    """The run storage's key-value table renamed away and back: every heartbeat write fails meanwhile."""
    rename = ("ALTER TABLE kvs RENAME TO kvs_away", "ALTER TABLE kvs_away RENAME TO kvs")
    if isinstance(instance.run_storage, PostgresRunStorage):
        connect = lambda: psycopg.connect(f"{PG_SERVER}/{os.environ['DAGSTER_PG_DB']}", autocommit=True)  # noqa: E731
    else:
        connect = lambda: sqlite3.connect(Path(instance.root_directory) / "history" / "runs.db", isolation_level=None)  # noqa: E731
    with connect() as conn:
        conn.execute(rename[0])
    try:
        yield
    finally:
        with connect() as conn:
            conn.execute(rename[1])


def test_a_failed_write_is_logged_and_the_heartbeat_goes_on(instance, caplog):
    run_id = make_new_run_id()
    caplog.set_level(logging.WARNING, logger="concert_platform.run_health.heartbeat")
    with beating(instance, run_id, every=FAST):
        first = beats_after(instance, run_id, 0)
        with key_value_table_gone(instance):
            wait_until("a failed write logged", lambda: any(run_id in r.getMessage() for r in caplog.records))
        beats_after(instance, run_id, first)  # the table is back, and so are the heartbeats
    assert caplog.records[0].getMessage() == f"could not write the heartbeat of run {run_id}"
