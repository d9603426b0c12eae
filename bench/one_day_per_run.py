"""The project's code location with one day per run: what the chosen single_run policy is compared with.

Only the two sales assets' backfill policy differs (``multi_run(1)``: a backfill of
N days is N runs); everything else is `build_definitions` as the project ships it.
"""

import dagster as dg

from concert_platform.defs.build import build_definitions
from concert_platform.settings import Settings

SALES = {dg.AssetKey("ticket_sales"), dg.AssetKey("ticket_sales_daily")}


def one_day_per_run(built: dg.Definitions) -> dg.Definitions:
    assets = [
        asset.with_attributes(backfill_policy=dg.BackfillPolicy.multi_run(1))
        if isinstance(asset, dg.AssetsDefinition) and set(asset.keys) & SALES
        else asset
        for asset in built.assets
    ]
    return dg.Definitions(
        assets=assets,
        asset_checks=built.asset_checks,
        jobs=built.jobs,
        schedules=built.schedules,
        sensors=built.sensors,
        resources=built.resources,
        executor=built.executor,
        loggers=built.loggers,
        metadata=built.metadata,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return one_day_per_run(build_definitions(Settings()))
