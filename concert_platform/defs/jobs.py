"""Jobs and schedules."""

from datetime import timedelta

import dagster as dg

CATALOG_GROUPS = ("sources", "catalog", "features")

catalog_job = dg.define_asset_job(
    "catalog_job",
    selection=dg.AssetSelection.groups(*CATALOG_GROUPS),
    description="Fetch the sources, rebuild artists, venues and concerts, recompute the features.",
)
features_job = dg.define_asset_job(
    "features_job", selection=dg.AssetSelection.groups("features"), description="Recompute the feature assets only."
)


def build_sales_job():
    return dg.define_asset_job(
        "ticket_sales_job",
        selection=dg.AssetSelection.groups("sales"),
        description="Load one day of ticket sales from the landing zone and roll it up.",
    )


def build_schedules(sales_job) -> list[dg.ScheduleDefinition]:
    @dg.schedule(
        job=sales_job,
        cron_schedule="0 1 * * *",
        execution_timezone="UTC",
        description="Every night, (re)load yesterday's sales once the day is complete.",
    )
    def ticket_sales_schedule(context: dg.ScheduleEvaluationContext):
        yesterday = (context.scheduled_execution_time - timedelta(days=1)).strftime("%Y-%m-%d")
        return dg.RunRequest(run_key=f"scheduled:{yesterday}", partition_key=yesterday)

    catalog_schedule = dg.ScheduleDefinition(
        name="catalog_schedule",
        job=catalog_job,
        cron_schedule="0 3 * * *",
        execution_timezone="UTC",
        description="Every night after the sales load: refresh sources, dimensions and features.",
    )
    return [ticket_sales_schedule, catalog_schedule]
