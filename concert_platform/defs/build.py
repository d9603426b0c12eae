"""Assemble the code location from settings."""

from __future__ import annotations

import dagster as dg

from concert_platform.defs.assets import catalog, features, insights_models, insights_tables, sources
from concert_platform.defs.assets.sales import build_sales_assets
from concert_platform.defs.automation import automation_sensor
from concert_platform.defs.consistency import build_consistency_checks, consistency_job, consistency_schedule
from concert_platform.defs.jobs import build_sales_job, build_schedules, catalog_job, features_job, insights_job
from concert_platform.defs.partitions import daily_sales_partitions
from concert_platform.defs.resources import build_resources
from concert_platform.defs.sensors import build_landing_sensor
from concert_platform.settings import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    partitions = daily_sales_partitions(settings.sales_start_date)
    assets = [
        *dg.load_assets_from_modules([sources, catalog, features, insights_models, insights_tables]),
        *build_sales_assets(partitions),
    ]
    consistency = build_consistency_checks(assets)
    check_job = consistency_job(consistency)
    sales_job = build_sales_job(without=consistency)
    return dg.Definitions(
        assets=assets,
        asset_checks=consistency,
        jobs=[catalog_job, features_job, insights_job, sales_job, check_job],
        schedules=[*build_schedules(sales_job), consistency_schedule(check_job)],
        sensors=[build_landing_sensor(sales_job, partitions, settings.landing_settle_seconds), automation_sensor()],
        resources=build_resources(settings),
        # Every step of a run in the run's own process: a step in a process of its own would import
        # Dagster, pandas, pyarrow and the code location again (seconds each), for steps that run one
        # after another anyway. Parallelism comes from runs (a backfill's chunks, the run queue).
        executor=dg.in_process_executor,
    )
