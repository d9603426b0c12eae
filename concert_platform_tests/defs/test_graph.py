"""The whole graph on demo data, into a temporary lake and DuckDB file."""

import json
from datetime import date

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from concert_platform.defs.build import build_definitions
from concert_platform.storage.filesystem import open_location
from concert_platform.storage.lake import Lake
from concert_platform.storage.warehouse import make_warehouse

from ..sales_tables import assert_same_tables, sales_tables
from .conftest import check_results, seed

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
MODEL_TABLES = ("artists", "venues", "concerts", "ticket_sales")


def _run(defs, instance, job, partition=None):
    result = defs.resolve_job_def(job).execute_in_process(instance=instance, partition_key=partition, run_config=QUIET)
    assert result.success
    return result


def test_whole_graph_on_demo_data(settings):
    summary, days = seed(settings)
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    catalog = _run(defs, instance, "catalog_job")
    sales_runs = [_run(defs, instance, "ticket_sales_job", day) for day in days]
    _run(defs, instance, "features_job")

    warehouse = make_warehouse(settings.warehouse_url, settings.warehouse_schema)
    lake = Lake(open_location(settings.lake_url))
    counts = {t: warehouse.count(t) for t in warehouse.tables()}
    assert counts["artists"] >= 250 and counts["venues"] == 150 and counts["concerts"] == counts["ticketmaster_events_raw"]
    assert counts["concert_demand_features"] == counts["concerts"]
    assert counts["artist_features"] == counts["artists"] and counts["venue_features"] == counts["venues"]
    for table in ("artists", "venues", "concerts", "concert_demand_features"):
        assert lake.read(table).num_rows == counts[table]
    assert lake.read("ticket_sales", partitions=days).num_rows == counts["ticket_sales"]

    # Every record read is accounted for: loaded, rejected, or dropped as an exact duplicate.
    loaded = rejected = duplicates = read = 0
    for run, day in zip(sales_runs, days, strict=True):
        [mat] = [m for m in run.asset_materializations_for_node("ticket_sales")]
        meta = mat.metadata
        read += meta["input_rows"].value
        loaded += meta["valid_rows"].value
        rejected += meta["rejected_rows"].value
        duplicates += meta["duplicates_dropped"].value
        assert mat.partition == day
    assert loaded == counts["ticket_sales"] and loaded > 5000
    assert rejected == warehouse.count("rejected_records", {"entity": "ticket_sales"}) > 0
    assert duplicates == summary.defects["exact_duplicate"]
    assert read == loaded + rejected + duplicates - 1  # the unparseable file is one reject but no row read

    middle = sales_runs[1].asset_materializations_for_node("ticket_sales")[0].metadata
    assert "corrupt.parquet" in json.dumps(middle["unparseable_files"].value)
    sources = warehouse.read("rejected_records", {"entity": "ticket_sales", "partition_key": days[1]})["source"].to_pylist()
    assert "corrupt.parquet" in sources

    checks = check_results(catalog)
    for run in sales_runs:
        checks.update(check_results(run))
    for table in MODEL_TABLES:
        assert checks[(table, "primary_key_unique")], table
        assert checks[(table, "reject_rate_below_threshold")], table
    assert checks[("concerts", "venue_id_resolves")] and checks[("ticket_sales", "concert_id_resolves")]


def test_rerunning_a_partition_leaves_the_same_rows(settings):
    _, days = seed(settings, days=1, per_day=2000)
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    _run(defs, instance, "catalog_job")
    warehouse = make_warehouse(settings.warehouse_url, settings.warehouse_schema)

    def snapshot():
        sales = warehouse.read("ticket_sales").sort_by("sale_id").drop_columns(["created_at", "updated_at"])
        rejects = warehouse.read("rejected_records").sort_by([("record", "ascending"), ("error", "ascending")])
        return sales, rejects.drop_columns(["rejected_at"]), warehouse.count("ticket_sales_daily")

    _run(defs, instance, "ticket_sales_job", days[0])
    first = snapshot()
    _run(defs, instance, "ticket_sales_job", days[0])
    second = snapshot()
    assert first[0].num_rows > 0
    assert first[0].equals(second[0]) and first[1].equals(second[1]) and first[2] == second[2]


def test_whole_graph_with_lake_and_landing_on_s3(tmp_path, s3_bucket, aws_env):
    from .conftest import demo_settings

    settings = demo_settings(
        tmp_path, lake_url=f"s3://{s3_bucket}/lake", landing_url=f"s3://{s3_bucket}/landing", aws_endpoint_url=aws_env
    )
    _, days = seed(settings, days=2, per_day=1500)
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    _run(defs, instance, "catalog_job")
    for day in days:
        _run(defs, instance, "ticket_sales_job", day)
    _run(defs, instance, "features_job")

    warehouse = make_warehouse(settings.warehouse_url, settings.warehouse_schema)
    lake = Lake(open_location(settings.lake_url, aws_env))
    assert lake.partitions("ticket_sales") == days
    assert lake.read("ticket_sales", partitions=days).num_rows == warehouse.count("ticket_sales") > 2000
    assert lake.read("concerts").num_rows == warehouse.count("concerts")
    assert warehouse.count("concert_demand_features") == warehouse.count("concerts")
    assert lake.read("rejected_records/ticket_sales", partitions=days).num_rows == warehouse.count(
        "rejected_records", {"entity": "ticket_sales"}
    )


def test_a_range_run_leaves_the_tables_one_day_runs_leave(tmp_path):
    from .conftest import demo_settings

    by_day, by_range = demo_settings(tmp_path / "by_day"), demo_settings(tmp_path / "by_range")
    _, days = seed(by_day, days=3, per_day=1500)
    seed(by_range, days=3, per_day=1500)
    instance = dg.DagsterInstance.ephemeral()

    defs = build_definitions(by_day)
    _run(defs, instance, "catalog_job")
    for day in days:
        _run(defs, instance, "ticket_sales_job", day)

    defs = build_definitions(by_range)
    _run(defs, instance, "catalog_job")
    tags = {"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]}
    ranged = defs.resolve_job_def("ticket_sales_job").execute_in_process(instance=instance, run_config=QUIET, tags=tags)
    assert ranged.success

    expected = sales_tables(make_warehouse(by_day.warehouse_url, by_day.warehouse_schema))
    assert_same_tables(sales_tables(make_warehouse(by_range.warehouse_url, by_range.warehouse_schema)), expected)
    assert expected["ticket_sales"].num_rows > 3000 and expected["rejected_records"].num_rows > 0

    # Per day, as one-day runs tell it: rows, rejects, and each day's checks.
    meta = {m.partition: m.metadata for m in ranged.asset_materializations_for_node("ticket_sales")}
    assert sorted(meta) == days
    for day in days:
        assert (
            meta[day]["valid_rows"].value
            == expected["ticket_sales"]
            .filter(pc.equal(expected["ticket_sales"]["sale_date"], pa.scalar(date.fromisoformat(day))))
            .num_rows
        )
    evaluations = [e.event_specific_data for e in ranged.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert sorted({(e.partition, e.check_name) for e in evaluations}) == sorted(
        (day, check) for day in days for check in ("primary_key_unique", "reject_rate_below_threshold", "concert_id_resolves")
    )
    assert all(e.target_materialization_data and e.target_materialization_data.run_id == ranged.run_id for e in evaluations)
