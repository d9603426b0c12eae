"""Declarative automation: what follows what, instead of cron times that assume it has happened.

The daemon evaluates these through ``automation_sensor`` (running by default).
"""

import dagster as dg

AC = dg.AutomationCondition

# A day of ticket_sales_daily follows each (re)load of that day's sales, whenever and however it
# happened (sensor, schedule, backfill, a click in the UI). Not eager(): eager() looks only at the
# latest day, and a late file rewrites an older one.
FOLLOWS_EACH_DAY = (
    AC.any_deps_updated().since_last_handled() & ~AC.any_deps_missing() & ~AC.any_deps_in_progress() & ~AC.in_progress()
).with_label("follows each day's sales")

# Features follow new sales and refreshed dimensions. Not eager() as it is: eager() waits until no
# dependency partition is missing, and the sales days before the first load always are (a feature
# covers the days there are). And never on a dimension whose blocking check (primary key, reject
# rate) failed: that materialisation stays out of the features.
DAYS = dg.AssetSelection.groups("sales")
BLOCKED_DEPENDENCY = AC.any_deps_match(AC.any_checks_match(AC.check_failed(), blocking_only=True))
FOLLOWS_UPSTREAM = (
    (AC.newly_missing() | AC.any_deps_updated()).since_last_handled()
    & ~AC.any_deps_missing().ignore(DAYS)
    & ~AC.any_deps_in_progress()
    & ~AC.in_progress()
    & ~BLOCKED_DEPENDENCY
).with_label("follows new sales and dimensions, unless a dimension's blocking check failed")


def automation_sensor() -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        "automation_sensor",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        description="Evaluates the assets' automation conditions: daily roll-ups and features follow new sales.",
    )
