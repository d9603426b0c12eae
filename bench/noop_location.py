"""Dagster's own floor: a code location with one daily-partitioned asset that does nothing.

The bench runs it the way it runs the project's location (same CLI, same daemon,
same in-process executor), so the difference between the two is what the project
adds to a run: its imports, its definitions, its steps.
"""

import dagster as dg

days = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC", end_offset=1)


@dg.asset(partitions_def=days)
def noop_day() -> None:
    return None


noop_job = dg.define_asset_job("noop_job", selection=[noop_day])

defs = dg.Definitions(assets=[noop_day], jobs=[noop_job], executor=dg.in_process_executor)
