"""Jobs and schedules.

Schedules are for what has to be polled: the sources' APIs and the nightly
sales files. What follows from new data (roll-ups, features) is declared on
the assets as automation conditions (``defs/automation.py``).
"""

from datetime import timedelta

import dagster as dg

from concert_platform.defs.resources import LandingZoneResource

CATALOG_GROUPS = ("sources", "catalog")


def task_size(cpu: int, memory_mib: int) -> dict[str, str]:
    """A run's Fargate size when EcsRunLauncher starts it as its own task (infra/, AWS); other launchers ignore it.
    Runs without these tags (automation, backfills launched bare) take the run task definition's 1 vCPU / 4 GiB."""
    return {"ecs/cpu": str(cpu), "ecs/memory": str(memory_mib)}


catalog_job = dg.define_asset_job(
    "catalog_job",
    selection=dg.AssetSelection.groups(*CATALOG_GROUPS),
    description="Fetch the sources and rebuild artists, venues and concerts; the features follow by themselves.",
    tags=task_size(512, 2048),  # waits on the APIs' rate limits, holds a few thousand events
)
features_job = dg.define_asset_job(
    "features_job",
    selection=dg.AssetSelection.groups("features"),
    description="Recompute the feature assets only.",
    tags=task_size(1024, 4096),
)
insights_job = dg.define_asset_job(
    "insights_job",
    selection=dg.AssetSelection.groups("insights"),
    description="Train, backtest and gate the forecaster, promote it when it passes, and rebuild the insights "
    "(forecasts, pace alerts, sell-out watch, market opportunities, the HTML report). A failed promotion gate fails "
    "forecast_model's step and skips production_model: the run then shows as failed, and the insights still refresh.",
    # A gate that failed fails again on the same data: a retry would only repeat the backtest.
    # Memory, not CPU: the fits run at one OpenMP thread; a year of curves and 6 folds' snapshots peak near 1 GB.
    tags={"dagster/retry_on_asset_or_op_failure": "false", **task_size(1024, 8192)},
)


def build_sales_job(without: list[dg.AssetChecksDefinition] = ()):
    """``without``: checks too slow for every night's run (the lake/warehouse comparison of every day,
    which consistency_job runs each morning); the catalog's and features' run in their jobs, being small."""
    return dg.define_asset_job(
        "ticket_sales_job",
        selection=dg.AssetSelection.groups("sales") - dg.AssetSelection.checks(*without),
        description="Load days of ticket sales from the landing zone and roll them up.",
        # A day streams through in batches: a 10M-sale day peaks near 1.1 GB (README, Speed).
        tags=task_size(1024, 4096),
    )


def build_schedules(sales_job) -> list[dg.ScheduleDefinition]:
    @dg.schedule(
        job=sales_job,
        cron_schedule="0 1 * * *",
        execution_timezone="UTC",
        description="Every night, load yesterday's sales once the day is complete; skips (and the asset turns late) when no file came.",
    )
    def ticket_sales_schedule(context: dg.ScheduleEvaluationContext, landing: LandingZoneResource):
        yesterday = (context.scheduled_execution_time - timedelta(days=1)).strftime("%Y-%m-%d")
        if not landing.zone().sale_files(yesterday):
            # No run, so no materialisation: ticket_sales's freshness policy shows the missing day.
            return dg.SkipReason(f"no sale files for {yesterday} in the landing zone yet")
        return dg.RunRequest(run_key=f"scheduled:{yesterday}", partition_key=yesterday)

    catalog_schedule = dg.ScheduleDefinition(
        name="catalog_schedule",
        job=catalog_job,
        cron_schedule="0 3 * * *",
        execution_timezone="UTC",
        description="Every night: refresh the sources and the dimensions (the features follow through automation).",
    )
    return [ticket_sales_schedule, catalog_schedule]
