"""The landing-zone sensor, the schedules and the jobs, evaluated the way the daemon does."""

from datetime import UTC, datetime

import dagster as dg
import pytest

from concert_platform.defs.assets.sales import LANDING_DIGEST
from concert_platform.defs.build import build_definitions
from concert_platform.defs.resources import LandingZoneResource
from concert_platform.defs.sensors import NO_FILES
from concert_platform.settings import Settings
from concert_platform.sources.landing import LandingZone
from concert_platform.storage.filesystem import open_location
from concert_platform.transforms.landing_state import day_digests


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
            landing_settle_seconds=0,  # files written a moment ago count as complete (settling: test_landing_sensor.py)
        )
    )


@pytest.fixture
def sensor(defs):
    return defs.resolve_sensor_def("landing_zone_sensor")


def _drop(resource: LandingZoneResource, day: str, name: str, body: bytes = b'{"sale_id": "1"}\n') -> None:
    zone = LandingZone(open_location(resource.url))
    zone.write_bytes(zone.location.path("ticket_sales", day, name), body)


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


def _evaluate(sensor, landing, cursor=None, defs=None, instance=None):
    instance = instance or dg.DagsterInstance.ephemeral()
    with dg.build_sensor_context(cursor=cursor, resources={"landing": landing}, definitions=defs, instance=instance) as context:
        result = sensor.evaluate_tick(context)
    return result, result.cursor


def _loaded(instance, day: str, digest: str | None) -> None:
    """Record a ticket_sales materialisation of ``day`` as a run would, loaded from files with ``digest``."""
    metadata = {LANDING_DIGEST: digest} if digest else {}
    instance.report_runless_asset_event(dg.AssetMaterialization("ticket_sales", partition=day, metadata=metadata))


def test_sensor_requests_a_run_per_new_day_then_nothing(landing, sensor, defs):
    _drop(landing, "2026-10-01", "web.jsonl")
    _drop(landing, "2026-10-01", "mobile.csv", b"sale_id\n1\n")
    _drop(landing, "2026-10-02", "web.jsonl")
    _drop(landing, "2026-10-02", "notes.txt")  # not a sale file: ignored
    result, cursor = _evaluate(sensor, landing, defs=defs)
    assert sorted(r.partition_key for r in result.run_requests) == ["2026-10-01", "2026-10-02"]
    assert len({r.run_key for r in result.run_requests}) == 2

    again, cursor_again = _evaluate(sensor, landing, cursor, defs)
    assert not again.run_requests and again.skip_message
    assert cursor_again in (None, cursor)


def test_sensor_reacts_to_a_changed_file_and_a_new_file_only(landing, sensor, defs):
    _drop(landing, "2026-10-01", "web.jsonl")
    _drop(landing, "2026-10-02", "web.jsonl")
    _, cursor = _evaluate(sensor, landing, defs=defs)

    _drop(landing, "2026-10-01", "web.jsonl", b'{"sale_id": "1"}\n{"sale_id": "2"}\n')  # re-uploaded, changed
    changed, cursor = _evaluate(sensor, landing, cursor, defs)
    assert [r.partition_key for r in changed.run_requests] == ["2026-10-01"]

    _drop(landing, "2026-10-03", "partner.parquet", b"PAR1")
    new, cursor = _evaluate(sensor, landing, cursor, defs)
    assert [r.partition_key for r in new.run_requests] == ["2026-10-03"]
    assert not _evaluate(sensor, landing, cursor, defs)[0].run_requests


def test_first_tick_skips_days_already_loaded_from_the_same_files(landing, sensor, defs, instance):
    for day in ("2026-10-01", "2026-10-02", "2026-10-03"):
        _drop(landing, day, "web.jsonl")
    digests = day_digests(landing.zone().sale_files())
    _loaded(instance, "2026-10-01", digests["2026-10-01"])  # loaded from exactly these files (make run, a backfill)
    _loaded(instance, "2026-10-02", "0123456789abcdef0123")  # loaded from files that have changed since
    _loaded(instance, "2026-10-02", digests["2026-10-02"])  # ...and reloaded since: its latest load is current
    _loaded(instance, "2026-10-03", "0123456789abcdef0123")  # loaded from other files

    first, cursor = _evaluate(sensor, landing, defs=defs, instance=instance)
    assert [r.partition_key for r in first.run_requests] == ["2026-10-03"]
    assert not _evaluate(sensor, landing, cursor, defs, instance)[0].run_requests


def test_a_day_whose_files_were_all_removed_is_reloaded_empty(landing, sensor, defs, instance):
    _drop(landing, "2026-10-01", "web.jsonl")
    _drop(landing, "2026-10-02", "web.jsonl")
    _, cursor = _evaluate(sensor, landing, defs=defs, instance=instance)
    zone = landing.zone()
    zone.location.filesystem.delete_dir(zone.sales_folder("2026-10-01"))
    removed, cursor = _evaluate(sensor, landing, cursor, defs, instance)
    [request] = removed.run_requests
    assert request.partition_key == "2026-10-01" and request.tags["landing/digest"] == NO_FILES
    assert not _evaluate(sensor, landing, cursor, defs, instance)[0].run_requests


def test_sensor_ignores_days_outside_the_partitions(landing, sensor, defs):
    _drop(landing, "2019-05-01", "web.jsonl")
    result, _ = _evaluate(sensor, landing, defs=defs)
    assert not result.run_requests


def test_definitions_load_with_jobs_schedules_and_sensor(defs):
    dg.Definitions.validate_loadable(defs)
    for job in ("catalog_job", "features_job", "ticket_sales_job"):
        assert defs.resolve_job_def(job)
    assert defs.resolve_schedule_def("ticket_sales_schedule") and defs.resolve_schedule_def("catalog_schedule")
    assert defs.resolve_sensor_def("landing_zone_sensor")
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {
        "ticketmaster_events_raw",
        "spotify_artists_raw",
        "musicbrainz_artists_raw",
        "artists",
        "venues",
        "concerts",
        "ticket_sales",
        "ticket_sales_daily",
        "concert_demand_features",
        "artist_features",
        "venue_features",
    } <= keys
    sales = defs.resolve_assets_def("ticket_sales")
    assert sales.backfill_policy == dg.BackfillPolicy.single_run()
    assert defs.resolve_assets_def("ticketmaster_events_raw").op.retry_policy is not None


def test_the_nightly_schedule_loads_yesterday_once_its_files_are_there(defs, landing):
    schedule = defs.resolve_schedule_def("ticket_sales_schedule")

    def tick():
        with dg.build_schedule_context(
            scheduled_execution_time=datetime(2026, 10, 15, 1, 0, tzinfo=UTC),
            repository_def=defs.get_repository_def(),
            resources={"landing": landing},
        ) as context:
            return schedule.evaluate_tick(context)

    skipped = tick()
    assert not skipped.run_requests and "no sale files for 2026-10-14" in skipped.skip_message
    _drop(landing, "2026-10-14", "web.jsonl")
    [request] = tick().run_requests
    assert request.partition_key == "2026-10-14"


def test_the_module_level_defs_read_settings_only_when_loaded(monkeypatch, tmp_path):
    monkeypatch.setenv("CONCERT_LAKE_URL", str(tmp_path / "from-env"))
    import concert_platform.definitions as module

    defs = module.defs() if callable(module.defs) else module.defs
    assert defs.resolve_job_def("catalog_job")


def test_sensor_on_s3_pages_through_thousands_of_keys_and_sees_reuploads(s3_bucket, aws_env, defs, sensor):
    import time
    from concurrent.futures import ThreadPoolExecutor

    import boto3

    client = boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1")
    days = [f"2026-10-{d:02d}" for d in range(1, 6)]
    keys = [f"landing/ticket_sales/{day}/part-{i:04d}.jsonl" for day in days for i in range(240)]  # 1,200 keys: 2 pages
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: client.put_object(Bucket=s3_bucket, Key=key, Body=b'{"sale_id": "1"}\n'), keys))
    landing = LandingZoneResource(url=f"s3://{s3_bucket}/landing", endpoint_url=aws_env)
    assert len(landing.zone().sale_files()) == len(keys)

    first, cursor = _evaluate(sensor, landing, defs=defs)
    assert sorted(r.partition_key for r in first.run_requests) == days
    assert not _evaluate(sensor, landing, cursor, defs)[0].run_requests  # unchanged: never again

    time.sleep(1.1)  # S3 keeps LastModified to the second
    client.put_object(Bucket=s3_bucket, Key=keys[300], Body=b'{"sale_id": "1"}\n')  # re-uploaded, same bytes
    again, _ = _evaluate(sensor, landing, cursor, defs)
    assert [r.partition_key for r in again.run_requests] == [days[1]]
