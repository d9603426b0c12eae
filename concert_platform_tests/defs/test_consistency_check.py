"""`lake_matches_warehouse` through Dagster: it passes after real runs, and fails naming the day a side
changed behind the protocol's back."""

import dagster as dg
import duckdb

from concert_platform.defs.build import build_definitions
from concert_platform.defs.consistency import CHECK_NAME

from .conftest import check_results, seed
from .test_graph import _run


def test_the_check_passes_after_runs_and_fails_naming_the_day_that_differs(settings):
    _, days = seed(settings, days=2, per_day=500)
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    catalog = _run(defs, instance, "catalog_job")
    assert check_results(catalog)[("concerts", CHECK_NAME)] is True  # small assets: checked in their own job
    for day in days:
        sales = _run(defs, instance, "ticket_sales_job", day)
        assert ("ticket_sales", CHECK_NAME) not in check_results(sales)  # every day read: not in the nightly run

    checked = _run(defs, instance, "consistency_job")
    results = check_results(checked)
    assert results[("ticket_sales", CHECK_NAME)] is True
    assert all(results.values()), results

    # Someone deletes sales of one day in the warehouse by hand.
    path = settings.warehouse_url.removeprefix("duckdb:///")
    with duckdb.connect(path) as con:
        con.execute(f"DELETE FROM concert.ticket_sales WHERE sale_date = DATE '{days[1]}' AND quantity = 1")
    failed = defs.resolve_job_def("consistency_job").execute_in_process(instance=instance, raise_on_error=False)
    [evaluation] = [
        e.event_specific_data
        for e in failed.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.event_specific_data.asset_key == dg.AssetKey("ticket_sales")
    ]
    assert evaluation.passed is False
    differences = evaluation.metadata["differences"].value
    assert list(differences) == [days[1]] and "rows" in differences[days[1]]
