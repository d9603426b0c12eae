"""The production topology driven only through GraphQL, as the UI drives it.

The tests share one topology and run in order: each builds on the state the
previous ones left (a loaded catalog, backfilled days), as a deployment does.
"""

from __future__ import annotations

import json
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from concert_platform.defs.build import build_definitions
from concert_platform.sources.landing import LandingZone
from concert_platform.storage.filesystem import open_location
from concert_platform_tests.defs.conftest import demo_settings
from concert_platform_tests.sales_tables import assert_same_tables, sales_tables

pytestmark = pytest.mark.topology

SALES = ["ticket_sales", "ticket_sales_daily"]
BACKFILLED = 32
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def run_tags(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


@pytest.fixture(scope="module")
def catalog(topology):
    run_id = topology.ui.launch_run("catalog_job")
    assert topology.ui.wait_run(run_id) == "SUCCESS", topology.diagnostics()
    return run_id


@pytest.fixture(scope="module")
def one_day_runs(topology, catalog, tmp_path_factory):
    """The reference: each backfilled day loaded by a one-day run of its own, into a schema of its own."""
    root = tmp_path_factory.mktemp("one_day_runs")
    settings = demo_settings(
        root, landing_url=topology.settings.landing_url, warehouse_url=topology.settings.warehouse_url, warehouse_schema="one_day"
    )
    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        assert defs.resolve_job_def("catalog_job").execute_in_process(instance=instance, run_config=QUIET).success
        for day in topology.days[:BACKFILLED]:
            job = defs.resolve_job_def("ticket_sales_job")
            assert job.execute_in_process(instance=instance, partition_key=day, run_config=QUIET).success
    return sales_tables(topology.warehouse("one_day"))


def test_a_backfill_from_the_ui_loads_every_day_as_one_day_runs_would(topology, one_day_runs):
    days = topology.days[:BACKFILLED]
    backfill_id = topology.ui.launch_backfill(SALES, days)
    backfill = topology.ui.wait_backfill(backfill_id)
    assert backfill["status"] in ("COMPLETED_SUCCESS", "COMPLETED"), (backfill, topology.diagnostics())
    assert backfill["runs"] and all(run["status"] == "SUCCESS" for run in backfill["runs"])
    # single_run: the whole range in one run, carrying the range as its tags
    tags = run_tags(backfill["runs"][0])
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (days[0], days[-1])

    loaded = sales_tables(topology.warehouse())
    assert_same_tables(loaded, one_day_runs)
    assert loaded["ticket_sales"].num_rows > BACKFILLED * 1000

    # Run the same backfill again: the same rows, not twice the rows.
    again = topology.ui.wait_backfill(topology.ui.launch_backfill(SALES, days))
    assert again["status"] in ("COMPLETED_SUCCESS", "COMPLETED") and all(r["status"] == "SUCCESS" for r in again["runs"])
    assert_same_tables(sales_tables(topology.warehouse()), one_day_runs)


def test_a_day_whose_files_are_all_unreadable_fails_its_check_and_the_other_days_load(topology, catalog):
    days = topology.days[BACKFILLED:]
    bad = days[1]
    zone = LandingZone(open_location(topology.settings.landing_url))
    files = zone.sale_files(bad)
    for file in files:
        Path(file.path).write_bytes(b"\xff\xfe\x00 this is not a sale file\n")

    backfill = topology.ui.wait_backfill(topology.ui.launch_backfill(SALES, days))
    assert backfill["status"] in ("COMPLETED_SUCCESS", "COMPLETED") and all(r["status"] == "SUCCESS" for r in backfill["runs"])

    loaded = sales_tables(topology.warehouse(), days)
    per_day = pc.value_counts(loaded["ticket_sales"]["sale_date"]).to_pylist()
    assert {str(v["values"]): v["counts"] > 500 for v in per_day} == {days[0]: True, days[2]: True}
    bad_rejects = loaded["rejected_records"].filter(pc.equal(loaded["rejected_records"]["partition_key"], bad))
    assert sorted(bad_rejects["source"].to_pylist()) == sorted(f.name for f in files)
    assert all(e.startswith("cannot parse ") for e in bad_rejects["error"].to_pylist())

    # The day's state is visible where a person looks: its reject-rate check failed, the others' passed.
    [run] = backfill["runs"]
    for day in days:
        [execution] = [
            e
            for e in topology.ui.check_executions("ticket_sales", "reject_rate_below_threshold", day)
            if e["runId"] == run["runId"]
        ]
        assert execution["partition"] == day and execution["evaluation"]["success"] is (day != bad), execution
    meta = topology.ui.run_materializations(run["runId"])
    assert meta[("ticket_sales", bad)]["valid_rows"] == 0 and json.loads(meta[("ticket_sales", bad)]["unparseable_files"])
    assert meta[("ticket_sales", days[0])]["valid_rows"] > 500


def test_the_nightly_schedule_requests_yesterday_and_its_run_succeeds(topology, catalog):
    day = topology.days[20]
    midnight_after = datetime.combine(date.fromisoformat(day) + timedelta(days=1), time(1, 0), tzinfo=UTC)
    evaluation = topology.ui.schedule_dry_run("ticket_sales_schedule", midnight_after.timestamp())
    assert evaluation["error"] is None and evaluation["skipReason"] is None, evaluation
    [request] = evaluation["runRequests"]
    tags = {t["key"]: t["value"] for t in request["tags"]}
    assert tags["dagster/partition"] == day and request["runKey"] == f"scheduled:{day}"

    run_id = topology.ui.launch_run(request["jobName"] or "ticket_sales_job", tags)
    assert topology.ui.wait_run(run_id) == "SUCCESS", topology.diagnostics()
    assert topology.ui.run_materializations(run_id)[("ticket_sales", day)]["valid_rows"] > 500


def _more_sales(topology, day: str, copies: int, name: str) -> int:
    """A partner's extra file for ``day``: the day's sales again under new sale ids, ``copies`` times over."""
    import pyarrow.parquet as pq

    sales = sales_tables(topology.warehouse(), [day])["ticket_sales"]
    columns = ["sale_id", "concert_id", "sold_at", "quantity", "unit_price", "currency", "channel", "customer_id", "section"]
    base = sales.select(columns)
    parts = [
        base.set_column(0, "sale_id", pc.binary_join_element_wise(base["sale_id"], f"-{name}{i}", "")) for i in range(copies)
    ]
    table = pa.concat_tables(parts)
    zone = LandingZone(open_location(topology.settings.landing_url))
    pq.write_table(table, zone.location.path("ticket_sales", day, f"{name}.parquet"))
    return table.num_rows


def test_a_run_terminated_mid_load_leaves_the_days_rows_whole_and_the_next_run_succeeds(topology, catalog):
    day = topology.days[3]
    before = sales_tables(topology.warehouse(), [day])
    added = _more_sales(topology, day, copies=300, name="late_batch")  # big enough to be mid-load a second in
    assert added > 300_000

    run_id = topology.ui.launch_run("ticket_sales_job", {"dagster/partition": day})
    deadline = clock.monotonic() + 180
    while not any(
        e.get("stepKey") == "ticket_sales" and e["__typename"] == "ExecutionStepStartEvent"
        for e in topology.ui.run_step_events(run_id)
    ):
        assert clock.monotonic() < deadline, topology.diagnostics()
        clock.sleep(0.5)
    clock.sleep(1.5)
    topology.ui.terminate_run(run_id)
    assert topology.ui.wait_run(run_id) == "CANCELED", topology.diagnostics()
    assert_same_tables(sales_tables(topology.warehouse(), [day]), before)

    again = topology.ui.launch_run("ticket_sales_job", {"dagster/partition": day})
    assert topology.ui.wait_run(again, timeout=600) == "SUCCESS", topology.diagnostics()
    after = sales_tables(topology.warehouse(), [day])
    assert after["ticket_sales"].num_rows == before["ticket_sales"].num_rows + added


def test_the_code_server_restarts_under_a_running_webserver_and_daemon(topology, catalog):
    topology.services["code_server"].kill()
    topology.start_code_server()
    reloaded = topology.ui.reload_location()
    assert reloaded["__typename"] == "WorkspaceLocationEntry", reloaded
    assert reloaded["locationOrLoadError"]["__typename"] == "RepositoryLocation", reloaded

    run_id = topology.ui.launch_run("ticket_sales_job", {"dagster/partition": topology.days[4]})
    assert topology.ui.wait_run(run_id) == "SUCCESS", topology.diagnostics()


def test_the_landing_sensor_loads_a_new_file_once_and_nothing_already_loaded(topology, catalog):
    sensor = "landing_zone_sensor"
    started = clock.time()
    topology.ui.start_sensor(sensor)
    first = topology.ui.wait_for_sensor_tick(sensor, after=started - 1)
    # Every day in the zone was loaded from the files it holds now (backfills, the schedule's run, reloads).
    assert first["status"] == "SKIPPED" and first["runIds"] == [], first

    day = topology.days[6]
    added = _more_sales(topology, day, copies=1, name="partner_b")
    new = topology.ui.wait_for_sensor_tick(sensor, after=first["timestamp"])
    assert new["status"] == "SUCCESS" and len(new["runIds"]) == 1, new
    [run_id] = new["runIds"]
    assert run_tags(topology.ui.run(run_id))["dagster/partition"] == day
    assert topology.ui.wait_run(run_id) == "SUCCESS", topology.diagnostics()
    assert topology.ui.run_materializations(run_id)[("ticket_sales", day)]["valid_rows"] >= added

    unchanged = topology.ui.wait_for_sensor_tick(sensor, after=new["timestamp"])
    assert unchanged["status"] == "SKIPPED" and unchanged["runIds"] == [], unchanged
