"""The daily partitioning of ticket sales: one partition per UTC sale date."""

from __future__ import annotations

from datetime import date

import dagster as dg


def daily_sales_partitions(start: date) -> dg.DailyPartitionsDefinition:
    # end_offset=1 adds today's partition: files that land during the day can be
    # loaded (and reloaded as more arrive) before the day is over.
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone="UTC", end_offset=1)
