"""The landing-zone sensor: a run for each day whose files differ from what was loaded.

A day is compared with two things: the cursor (what the sensor last saw, so an
unchanged zone costs one listing) and the digest recorded on that day's latest
``ticket_sales`` materialisation (what is actually loaded, so days that
`make run`, a backfill or the schedule already loaded from the same files are
not loaded again, not even on the sensor's first tick).
"""

import json

import dagster as dg

from concert_platform.defs.assets.sales import LANDING_DIGEST
from concert_platform.defs.resources import LandingZoneResource
from concert_platform.transforms.landing_state import day_digests, files_digest

SALES = dg.AssetKey("ticket_sales")
NO_FILES = files_digest([])  # a day whose files were all removed: loading it empties the partition
PAGE = 1000


def loaded_digests(instance: dg.DagsterInstance, days: list[str]) -> dict[str, str | None]:
    """The landing digest on each day's latest ticket_sales materialisation (None: never loaded, or loaded before digests)."""
    found: dict[str, str | None] = {}
    cursor = None
    while days and len(found) < len(days):
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=SALES, asset_partitions=days), limit=PAGE, cursor=cursor
        )
        for record in page.records:  # newest first: the first one seen per day is its latest
            if record.partition_key not in found:
                value = record.asset_materialization.metadata.get(LANDING_DIGEST)
                found[record.partition_key] = value.value if value is not None else None
        if not page.has_more:
            break
        cursor = page.cursor
    return found


def build_landing_sensor(sales_job, partitions: dg.PartitionsDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        job=sales_job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Watches {landing}/ticket_sales/; requests one run per day whose files differ from what was loaded.",
    )
    def landing_zone_sensor(context: dg.SensorEvaluationContext, landing: LandingZoneResource):
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        current = day_digests(landing.zone().sale_files())
        valid_keys = set(partitions.get_partition_keys())
        changed = sorted(day for day, digest in current.items() if seen.get(day) != digest)
        removed = sorted(day for day in seen if day not in current)
        outside = [day for day in changed if day not in valid_keys]
        if outside:
            context.log.warning(f"files for days outside the ticket_sales partitions ignored: {', '.join(outside[:10])}")
        days = [day for day in changed + removed if day in valid_keys]
        loaded = loaded_digests(context.instance, days)
        requests = []
        for day in days:
            digest = current.get(day, NO_FILES)
            if loaded.get(day) != digest:
                # The key names the change (what is loaded -> what is there), so a retried tick never
                # launches it twice, while a day that goes back to earlier files still gets its run.
                run_key = f"{day}:{loaded.get(day)}->{digest}"
                requests.append(dg.RunRequest(run_key=run_key, partition_key=day, tags={"landing/digest": digest}))
        seen = {day: digest for day, digest in current.items() if day in valid_keys}
        context.update_cursor(json.dumps(seen, sort_keys=True))
        if not requests:
            return dg.SkipReason("every day's files are loaded as they are")
        return requests

    return landing_zone_sensor
