"""The production topology driven only through GraphQL, as the UI drives it.

The tests share one topology and run in order: each builds on the state the
previous ones left (a loaded catalog, backfilled days), as a deployment does.
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from concert_platform.defs.build import build_definitions
from concert_platform_tests.defs.conftest import demo_settings

pytestmark = pytest.mark.topology

SALES = ["ticket_sales", "ticket_sales_daily"]
BACKFILLED = 32
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def sales_tables(warehouse, days: list[str] | None = None) -> dict[str, pa.Table]:
    """The sales slices of a warehouse in a stable order, without load timestamps (they differ by run)."""

    def on(table: pa.Table, column: str) -> pa.Table:
        if days is None:
            return table
        wanted = pa.array([date.fromisoformat(d) for d in days]) if column == "sale_date" else pa.array(days)
        return table.filter(pc.is_in(table[column], value_set=wanted))

    rejects = warehouse.read("rejected_records", {"entity": "ticket_sales"}).drop_columns(["rejected_at"])
    return {
        "ticket_sales": on(warehouse.read("ticket_sales"), "sale_date")
        .drop_columns(["created_at", "updated_at"])
        .sort_by("sale_id"),
        "ticket_sales_daily": on(warehouse.read("ticket_sales_daily"), "sale_date").sort_by(
            [(k, "ascending") for k in ("sale_date", "concert_id", "channel", "currency")]
        ),
        "rejected_records": on(rejects, "partition_key").sort_by(
            [(k, "ascending") for k in ("partition_key", "source", "record", "error")]
        ),
    }


def assert_same_tables(actual: dict[str, pa.Table], expected: dict[str, pa.Table]) -> None:
    for name, table in expected.items():
        assert actual[name].schema == table.schema, name  # dtypes included
        assert actual[name].num_rows == table.num_rows, name
        assert actual[name].equals(table), name


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
