"""The plain `dagster` CLI from the repo root of a fresh clone, with nothing exported."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from concert_platform.storage.warehouse import make_warehouse

from .clone_root import install_instance, make_clone_root, run
from .demo_counts import shows_in_window

CATALOG = "ticketmaster_events_raw,musicbrainz_artists_raw,spotify_artists_raw,artists,venues,concerts"
SALES = "ticket_sales,ticket_sales_daily"


def test_materialize_a_day_and_a_range_into_the_instance_make_installed(tmp_path):
    root = make_clone_root(tmp_path / "clone")
    home = install_instance(root)
    run(root, "python", "-m", "concert_platform.demo_run", "--days", "3", "--seed-only")
    today = datetime.now(UTC).date()
    days = [(today - timedelta(days=n)).isoformat() for n in (3, 2, 1)]

    run(root, "dagster", "asset", "materialize", "-m", "concert_platform.definitions", "--select", CATALOG)
    run(root, "dagster", "asset", "materialize", "-m", "concert_platform.definitions", "--select", SALES,
        "--partition-range", f"{days[0]}...{days[-1]}")  # fmt: skip
    run(root, "dagster", "asset", "materialize", "-m", "concert_platform.definitions", "--select", SALES, "--partition", days[1])

    with dg.DagsterInstance.from_config(str(home)) as instance:  # the runs are in the instance `make dev` shows
        runs = instance.get_runs()
        assert len(runs) == 3 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        for asset in ("ticket_sales", "ticket_sales_daily"):
            assert instance.get_materialized_partitions(dg.AssetKey(asset)) == set(days)
        ranged = runs[1]  # newest first: the one-day run, the range run, the catalog
        assert ranged.tags["dagster/asset_partition_range_start"] == days[0]
    warehouse = make_warehouse(f"duckdb:///{root}/.concert_data/warehouse.duckdb", "concert")
    assert {str(d) for d in warehouse.read("ticket_sales")["sale_date"].unique().to_pylist()} == set(days)
    assert warehouse.count("concerts") == shows_in_window(today)


def test_dg_lists_and_checks_the_project_from_the_clone_root(tmp_path):
    root = make_clone_root(tmp_path / "clone")
    listed = run(root, "dg", "list", "defs").stdout
    for name in ("ticket_sales_daily", "landing_zone_sensor", "automation_sensor", "ticket_sales_schedule", "catalog_job"):
        assert name in listed
    checked = run(root, "dg", "check", "defs")
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr
