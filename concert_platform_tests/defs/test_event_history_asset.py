"""The catalog run twice over the demo world: a narrower window keeps the shows the wider one fetched."""

from datetime import UTC, datetime, time, timedelta

import dagster as dg

from concert_platform.defs.build import build_definitions
from concert_platform.sources.demo import DemoCatalog
from concert_platform.storage.warehouse import make_warehouse

from .conftest import DEMO_DATE, check_results

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
CATALOG_CHECKED = ("artists", "venues", "concerts")


def _catalog_run(defs, instance, days_back: int):
    run_config = {**QUIET, "ops": {"ticketmaster_events_raw": {"config": {"days_back": days_back}}}}
    result = defs.resolve_job_def("catalog_job").execute_in_process(instance=instance, run_config=run_config)
    assert result.success
    return result


def test_shows_that_left_the_window_stay_in_concerts(settings):
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    warehouse = make_warehouse(settings.warehouse_url, settings.warehouse_schema)
    today = datetime.combine(DEMO_DATE, time(), tzinfo=UTC)
    narrow_start = today - timedelta(days=60)
    world = DemoCatalog(seed=settings.demo_seed, anchor=DEMO_DATE)
    played = {e.id for e in world.events if e.starts_at is not None and today - timedelta(days=300) <= e.starts_at < narrow_start}
    assert len(played) > 1500  # the demo's shows 61..270 days back

    _catalog_run(defs, instance, days_back=300)
    wide_raw = warehouse.read("ticketmaster_events_raw")
    wide_concerts = set(warehouse.read("concerts")["concert_id"].to_pylist())
    assert played <= set(wide_raw["source_id"].to_pylist())

    narrow = _catalog_run(defs, instance, days_back=60)
    [mat] = narrow.asset_materializations_for_node("ticketmaster_events_raw")
    assert mat.metadata["carried_over_events"].value == len(played)
    assert mat.metadata["window"].value == f"window:{narrow_start:%Y-%m-%d}/{today + timedelta(days=365):%Y-%m-%d}"

    raw = warehouse.read("ticketmaster_events_raw")
    assert sorted(raw["source_id"].to_pylist()) == sorted(wide_raw["source_id"].to_pylist())
    lookups = {(row["source_id"] in played, row["lookup"]) for row in raw.select(["source_id", "lookup"]).to_pylist()}
    wide_window = f"window:{today - timedelta(days=300):%Y-%m-%d}/{today + timedelta(days=365):%Y-%m-%d}"
    assert lookups == {(True, wide_window), (False, mat.metadata["window"].value)}  # carried rows as the wide run fetched them

    concerts = set(warehouse.read("concerts")["concert_id"].to_pylist())
    assert concerts == wide_concerts and len(played & concerts) > 0.95 * len(played)
    checks = check_results(narrow)
    evaluated = {key: passed for key, passed in checks.items() if key[0] in CATALOG_CHECKED}
    assert ("concerts", "artist_id_resolves") in evaluated and ("concerts", "supporting_artist_ids_resolves") in evaluated
    assert all(evaluated.values()), {key for key, passed in evaluated.items() if not passed}
