"""`make run`: seed the demo landing zone, materialise everything, print a summary.

    python -m concert_platform.demo_run [--days 14] [--seed-only]

Runs go into the Dagster instance at $DAGSTER_HOME, so `make dev` afterwards
shows every materialisation, check and partition in the UI.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections import Counter
from datetime import timedelta

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG as PARTITION_RANGE_END
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_START_TAG as PARTITION_RANGE_START

from concert_platform.defs.assets.insights_models import BEATS_BASELINES
from concert_platform.defs.assets.sources import EventWindow
from concert_platform.defs.build import build_definitions
from concert_platform.settings import Settings
from concert_platform.sources.demo import DemoCatalog
from concert_platform.sources.demo_sales import seed_landing_zone
from concert_platform.sources.landing import LandingZone
from concert_platform.storage.filesystem import open_location
from concert_platform.storage.warehouse import make_warehouse

# Step-by-step DEBUG events belong in the UI, not in `make run`'s summary.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# The insights run fails a step whenever the promotion gate does, by design; its reasons are printed below
# instead of the traceback, and any other failure still stops `make run` naming the run.
# Enough history for the insights engine: shows played up to ~9 months back with their whole booking curves
# (on sale 14-180 days before), so its rolling-origin backtest has 6 folds of finished shows to score.
DEMO_DAYS = 300
SILENT = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def seed(settings: Settings, days: int) -> list[str]:
    """Write `days` days of demo sales ending yesterday (of the demo date); return the days."""
    anchor = settings.demo_anchor
    start = anchor - timedelta(days=days)
    zone = LandingZone(open_location(settings.landing_url, settings.aws_endpoint_url))
    summary = seed_landing_zone(zone, DemoCatalog(seed=settings.demo_seed, anchor=anchor), start, days, seed=settings.demo_seed)
    print(
        f"seeded {summary.records:,} sale records in {len(summary.files)} files for {days} days "
        f"({start} .. {anchor - timedelta(days=1)}) into {zone.location.display(zone.location.root)}"
    )
    return [(start + timedelta(days=i)).isoformat() for i in range(days)]


def materialise_all(settings: Settings, days: list[str], instance: dg.DagsterInstance) -> tuple[str, ...]:
    """The catalog, then every seeded day in one range run (as a backfill runs them), then the features, then the
    insights. Returns why the forecaster was not promoted (nothing when it was)."""
    defs = build_definitions(settings)
    sales_range = {PARTITION_RANGE_START: days[0], PARTITION_RANGE_END: days[-1]}
    # The first fetch reaches back over the seeded days, so the shows those sales are for are in the catalog;
    # later scheduled fetches keep the default window, and ticketmaster_events_raw keeps the older shows.
    days_back = max(len(days), EventWindow().days_back)
    history = {"ops": {"ticketmaster_events_raw": {"config": {"days_back": days_back}}}}
    steps = [
        ("catalog_job", {}, f"catalog, shows from {days_back} days back"),
        ("ticket_sales_job", sales_range, f"{days[0]}..{days[-1]}"),
        ("features_job", {}, ""),
        ("insights_job", {}, ""),
    ]
    configs = {"catalog_job": {**QUIET, **history}, "insights_job": SILENT}
    not_promoted: tuple[str, ...] = ()
    for job_name, tags, label in steps:
        started = time.monotonic()
        result = defs.resolve_job_def(job_name).execute_in_process(
            run_config=configs.get(job_name, QUIET), instance=instance, tags=tags, raise_on_error=False
        )
        name = f"{job_name} [{label}]" if label else job_name
        gate = _failed_gate(result)
        state = "ok" if result.success else ("ok, not promoted" if gate else "FAILED")
        print(f"  {name:<48} {state} in {time.monotonic() - started:5.1f}s")
        if not result.success and not gate:
            raise SystemExit(f"{name} failed; see the run in `make dev` (run id {result.run_id})")
        not_promoted = not_promoted or gate
        for materialization in result.asset_materializations_for_node("ticket_sales"):
            meta = materialization.metadata
            print(
                f"    {materialization.partition}  {meta['valid_rows'].value:>9,} sales  {meta['rejected_rows'].value:>6,} rejected"
            )
    return not_promoted


def _failed_gate(result: dg.ExecuteInProcessResult) -> tuple[str, ...]:
    """The promotion gate's reasons when the run failed only because the candidate did not pass it.

    That failure is the gate working (forecast_model's blocking check stops production_model), not a broken
    run: the previous model, or the pickup, keeps serving, and the insights still refresh."""
    failed = {e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"}
    if result.success or failed != {"forecast_model"}:
        return ()
    for event in result.all_events:
        data = event.event_specific_data
        if event.event_type_value == "ASSET_CHECK_EVALUATION" and data.check_name == BEATS_BASELINES and not data.passed:
            return tuple(data.metadata["reasons"].value.removeprefix("- ").split("\n- "))
    return ()


def print_summary(settings: Settings) -> None:
    warehouse = make_warehouse(settings.warehouse_url, settings.warehouse_schema)
    lake = open_location(settings.lake_url, settings.aws_endpoint_url)
    print("\nwarehouse tables")
    for table in sorted(warehouse.tables()):
        print(f"  {table:<28} {warehouse.count(table):>10,} rows")
    if "rejected_records" in warehouse.tables():
        rejects = Counter(warehouse.read("rejected_records").column("entity").to_pylist())
        print("rejected records by entity: " + (", ".join(f"{k} {v:,}" for k, v in sorted(rejects.items())) or "none"))
    print(f"\nlake:      {lake.display(lake.root)}")
    print(f"warehouse: {warehouse.describe()}")
    print("next: `make dev` opens the UI at http://127.0.0.1:3000")


def print_backtest(settings: Settings, not_promoted: tuple[str, ...]) -> None:
    """The forecaster against the baselines, per horizon (issue 9 asks `make run` to end with it), and the verdict."""
    warehouse = make_warehouse(settings.warehouse_url, settings.warehouse_schema)
    table = warehouse.read("forecast_backtest").to_pandas() if "forecast_backtest" in warehouse.tables() else None
    print("\nbacktest: WAPE by horizon (days before the show), the forecaster (gbm) against the baselines")
    if table is None or table.empty:
        print("  no backtest")
    else:
        wape = table.pivot_table(index="model", columns="horizon_days", values="wape").dropna(how="all")
        wape = wape.reindex(columns=sorted(wape.columns, key=lambda h: (h == 0, -h)))
        print("  " + "model".ljust(24) + "".join(("overall" if h == 0 else f"{h} d").rjust(9) for h in wape.columns))
        for model, row in wape.iterrows():
            print("  " + str(model).ljust(24) + "".join(f"{v:9.3f}" for v in row))
    if not_promoted:
        print("not promoted:\n" + "\n".join(f"  - {reason}" for reason in not_promoted))
    else:
        print("promoted: the forecaster passed the promotion gate")


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", category=dg.BetaWarning)  # BackfillPolicy is marked beta
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=DEMO_DAYS, help="days of demo sales to seed, ending yesterday")
    parser.add_argument("--seed-only", action="store_true", help="only write the landing-zone files")
    args = parser.parse_args(argv)
    settings = Settings()
    days = seed(settings, args.days)
    if args.seed_only:
        return 0
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    print(f"materialising into the Dagster instance at {os.environ.get('DAGSTER_HOME', '(ephemeral)')}")
    not_promoted = materialise_all(settings, days, instance)
    print_summary(settings)
    print_backtest(settings, not_promoted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
