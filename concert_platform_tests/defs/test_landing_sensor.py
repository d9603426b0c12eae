"""The landing-zone sensor's contract: settle time, temporary names, removed days it never saw, a cheap tick."""

from __future__ import annotations

import json
import os
import time

import dagster as dg
import pytest

from concert_platform.defs.assets.sales import LANDING_DIGEST
from concert_platform.defs.build import build_definitions
from concert_platform.defs.resources import LandingZoneResource
from concert_platform.defs.sensors import NO_FILES, LandingCursor
from concert_platform.settings import Settings
from concert_platform.transforms.landing_state import day_digests

SETTLE = 60


@pytest.fixture
def landing(tmp_path):
    return LandingZoneResource(url=str(tmp_path / "landing"))


@pytest.fixture
def defs(tmp_path):
    return build_definitions(
        Settings(
            _env_file=None,
            lake_url=str(tmp_path / "lake"),
            landing_url=str(tmp_path / "landing"),
            warehouse_url=f"duckdb:///{tmp_path}/w.duckdb",
            landing_settle_seconds=SETTLE,
        )
    )


@pytest.fixture
def sensor(defs):
    return defs.resolve_sensor_def("landing_zone_sensor")


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


def drop(landing, day: str, name: str, body: bytes = b'{"sale_id": "1"}\n', age: float = 2 * SETTLE) -> str:
    """Write a sale file last modified ``age`` seconds ago."""
    zone = landing.zone()
    path = zone.location.path("ticket_sales", day, name)
    zone.write_bytes(path, body)
    os.utime(path, (time.time() - age, time.time() - age))
    return path


def tick(sensor, landing, instance, cursor=None, defs=None):
    with dg.build_sensor_context(cursor=cursor, resources={"landing": landing}, definitions=defs, instance=instance) as context:
        result = sensor.evaluate_tick(context)
    return result, result.cursor or cursor


def requested(result) -> list[str]:
    return sorted(r.partition_key for r in result.run_requests)


def loaded(instance, day: str, digest: str | None) -> None:
    """A ticket_sales materialisation of ``day``, as a run (or a backfill) records it."""
    metadata = {LANDING_DIGEST: digest} if digest else {}
    instance.report_runless_asset_event(dg.AssetMaterialization("ticket_sales", partition=day, metadata=metadata))


# -- settle time --------------------------------------------------------------------------------------


def test_a_day_with_a_file_still_changing_waits_and_is_looked_at_again(landing, sensor, defs, instance):
    drop(landing, "2026-10-01", "web.jsonl")
    drop(landing, "2026-10-02", "web.jsonl")
    path = drop(landing, "2026-10-02", "mobile.csv", b"sale_id\n1\n", age=5)  # still being written, or the next to come
    first, cursor = tick(sensor, landing, instance, defs=defs)
    assert requested(first) == ["2026-10-01"]
    assert "2026-10-02" not in LandingCursor.parse(cursor).seen  # not seen: the next tick looks again

    waiting, cursor = tick(sensor, landing, instance, cursor, defs)
    assert not waiting.run_requests
    assert waiting.skip_message == f"waiting for files modified in the last {SETTLE} s: 2026-10-02 (mobile.csv)"

    os.utime(path, (time.time() - 2 * SETTLE, time.time() - 2 * SETTLE))  # settled
    settled, cursor = tick(sensor, landing, instance, cursor, defs)
    assert requested(settled) == ["2026-10-02"]
    assert not tick(sensor, landing, instance, cursor, defs)[0].run_requests


def test_a_loaded_day_that_changes_keeps_its_old_digest_until_it_settles(landing, sensor, defs, instance):
    drop(landing, "2026-10-01", "web.jsonl")
    _, cursor = tick(sensor, landing, instance, defs=defs)
    before = LandingCursor.parse(cursor).seen["2026-10-01"]
    path = drop(landing, "2026-10-01", "web.jsonl", b'{"sale_id": "1"}\n{"sale_id": "2"}\n', age=1)  # being rewritten
    waiting, cursor = tick(sensor, landing, instance, cursor, defs)
    assert not waiting.run_requests and LandingCursor.parse(cursor).seen["2026-10-01"] == before
    os.utime(path, (time.time() - 2 * SETTLE, time.time() - 2 * SETTLE))
    assert requested(tick(sensor, landing, instance, cursor, defs)[0]) == ["2026-10-01"]


def test_temporary_names_never_wake_the_sensor(landing, sensor, defs, instance):
    drop(landing, "2026-10-01", "web.jsonl")
    _, cursor = tick(sensor, landing, instance, defs=defs)
    for name in ("_SUCCESS", ".web.jsonl.swp", "web.jsonl.tmp", "app.csv.part", "_temporary/0/part-00000.jsonl"):
        drop(landing, "2026-10-01", name, age=0)
        drop(landing, "2026-10-03", name, age=0)
    again, cursor_again = tick(sensor, landing, instance, cursor, defs)
    assert not again.run_requests and again.skip_message == "every day's files are loaded as they are"
    assert LandingCursor.parse(cursor_again).seen == LandingCursor.parse(cursor).seen


# -- days the cursor never knew -----------------------------------------------------------------------


def test_a_day_loaded_before_the_sensor_whose_files_are_gone_is_reloaded_empty(landing, sensor, defs, instance):
    for day in ("2026-10-01", "2026-10-02"):
        drop(landing, day, "web.jsonl")
    digests = day_digests(landing.zone().sale_files())
    loaded(instance, "2026-10-01", digests["2026-10-01"])  # `make run` or a backfill, before the sensor ran
    loaded(instance, "2026-10-02", digests["2026-10-02"])
    loaded(instance, "2026-10-03", NO_FILES)  # loaded empty: nothing to do
    loaded(instance, "2026-10-04", None)  # loaded before digests were kept, its files since removed
    zone = landing.zone()
    zone.location.filesystem.delete_dir(zone.sales_folder("2026-10-01"))

    first, cursor = tick(sensor, landing, instance, defs=defs)  # no cursor: the sensor never saw 2026-10-01
    assert requested(first) == ["2026-10-01", "2026-10-04"]
    assert {r.tags["landing/digest"] for r in first.run_requests} == {NO_FILES}
    assert not tick(sensor, landing, instance, cursor, defs)[0].run_requests

    loaded(instance, "2026-10-01", NO_FILES)  # the runs it asked for
    loaded(instance, "2026-10-04", NO_FILES)
    assert not tick(sensor, landing, instance, cursor, defs)[0].run_requests


def test_files_loaded_and_removed_between_two_ticks_are_noticed(landing, sensor, defs, instance):
    drop(landing, "2026-10-01", "web.jsonl")
    _, cursor = tick(sensor, landing, instance, defs=defs)
    path = drop(landing, "2026-10-05", "web.jsonl")  # arrives, a backfill loads it, and it is taken back
    loaded(instance, "2026-10-05", day_digests(landing.zone().sale_files())["2026-10-05"])
    os.remove(path)
    result, cursor = tick(sensor, landing, instance, cursor, defs)
    assert requested(result) == ["2026-10-05"] and result.run_requests[0].tags["landing/digest"] == NO_FILES


def test_an_unchanged_tick_asks_the_instance_one_cheap_question(landing, sensor, defs, instance, monkeypatch):
    for day in ("2026-10-01", "2026-10-02"):
        drop(landing, day, "web.jsonl")
        loaded(instance, day, "an older digest")
    first, cursor = tick(sensor, landing, instance, defs=defs)
    assert requested(first) == ["2026-10-01", "2026-10-02"]
    for day, digest in day_digests(landing.zone().sale_files()).items():
        loaded(instance, day, digest)  # the runs it asked for
    settled, cursor = tick(sensor, landing, instance, cursor, defs)
    assert not settled.run_requests

    calls = []
    for name in ("get_materialized_partitions", "fetch_materializations"):
        real = getattr(instance, name)
        monkeypatch.setattr(instance, name, lambda *a, real=real, name=name, **k: calls.append(name) or real(*a, **k))
    quiet, cursor_after = tick(sensor, landing, instance, cursor, defs)
    assert not quiet.run_requests and calls == ["fetch_materializations"]  # the newest storage id, nothing else
    assert cursor_after == cursor


def test_a_cursor_of_the_previous_format_is_taken_over(landing, sensor, defs, instance):
    drop(landing, "2026-10-01", "web.jsonl")
    digests = day_digests(landing.zone().sale_files())
    loaded(instance, "2026-10-01", digests["2026-10-01"])
    old = json.dumps(digests)  # {day: digest}, as the sensor kept it before
    result, cursor = tick(sensor, landing, instance, old, defs)
    assert not result.run_requests
    assert LandingCursor.parse(cursor).seen == digests and LandingCursor.parse(cursor).after is not None
