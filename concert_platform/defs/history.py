"""What the instance remembers of a partitioned asset's days: each day's latest materialisation."""

from __future__ import annotations

import dagster as dg

PAGE = 1000


def latest_materializations(instance: dg.DagsterInstance, key: dg.AssetKey, days: list[str]) -> dict[str, dg.EventLogRecord]:
    """Day -> its latest materialisation record, for the days that have one (one query per 1,000 records)."""
    found: dict[str, dg.EventLogRecord] = {}
    cursor = None
    while days and len(found) < len(days):
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=days), limit=PAGE, cursor=cursor
        )
        for record in page.records:  # newest first: the first one seen per day is its latest
            found.setdefault(record.partition_key, record)
        if not page.has_more:
            break
        cursor = page.cursor
    return found
