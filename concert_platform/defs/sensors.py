"""The landing-zone sensor: a run for each day whose files differ from what was loaded.

A day is compared with two things: the cursor (what the sensor last saw, so an
unchanged zone costs one listing) and the digest recorded on that day's latest
``ticket_sales`` materialisation (what is actually loaded, so days that
`make run`, a backfill or the schedule already loaded from the same files are
not loaded again, not even on the sensor's first tick).

A day with a file modified within the settle time waits: the partner may still
be writing it or uploading the day's other files, and loading now would load
the day twice. The day keeps its old cursor entry, so the next tick looks again.
Runs asked for a day (the nightly schedule, a backfill, the CLI, the UI) do not
wait: someone asked for that day now, and holding it back would quietly load
less than they see in the zone. The digest such a run records includes the
unsettled file as it was, so once the file settles the sensor sees a different
digest and loads the day again: nothing is lost, at worst a day loads twice.

Days the cursor never saw (loaded before the sensor was switched on, or files
that came and went between two ticks) are found through the instance: the
cursor keeps the storage id of the newest ``ticket_sales`` materialisation it
has looked at, and each tick asks only which days were materialised since
(one indexed query; on the first tick, every day ever loaded). Such a day is
compared like any other, so one loaded from files that are now all gone is
loaded again, empty.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dagster as dg

from concert_platform.defs.assets.sales import LANDING_DIGEST
from concert_platform.defs.history import latest_materializations
from concert_platform.defs.resources import LandingZoneResource
from concert_platform.transforms.landing_state import day_digests, files_digest, unsettled

SALES = dg.AssetKey("ticket_sales")
NO_FILES = files_digest([])  # a day whose files were all removed: loading it empties the partition
DEFAULT_SETTLE_SECONDS = 60.0


def loaded_digests(instance: dg.DagsterInstance, days: list[str]) -> dict[str, str | None]:
    """The landing digest on each day's latest ticket_sales materialisation (None: loaded before digests were kept)."""
    digests = {}
    for day, record in latest_materializations(instance, SALES, days).items():
        value = record.asset_materialization.metadata.get(LANDING_DIGEST)
        digests[day] = value.value if value is not None else None
    return digests


@dataclass
class LandingCursor:
    """What the sensor keeps between ticks: each day's digest as last seen, and the storage id
    of the newest ticket_sales materialisation already looked at."""

    seen: dict[str, str] = field(default_factory=dict)
    after: int | None = None

    @classmethod
    def parse(cls, text: str | None) -> LandingCursor:
        if not text:
            return cls()
        value = json.loads(text)
        if "seen" not in value:  # the cursor before materialisations were followed: days -> digests
            return cls(seen=value)
        return cls(seen=value["seen"], after=value.get("after"))

    def dump(self) -> str:
        return json.dumps({"seen": self.seen, "after": self.after}, sort_keys=True)


def materialised_since(instance: dg.DagsterInstance, after: int | None) -> tuple[set[str], int | None]:
    """Days with a ticket_sales materialisation newer than storage id ``after``, and the newest id.

    The newest id is read first and bounds the query, so a materialisation that
    lands in between is seen on the next tick rather than skipped."""
    newest = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=SALES), limit=1).records
    if not newest or (after is not None and newest[0].storage_id <= after):
        return set(), after
    latest = newest[0].storage_id
    return instance.get_materialized_partitions(SALES, after_cursor=after, before_cursor=latest + 1), latest


def build_landing_sensor(
    sales_job, partitions: dg.PartitionsDefinition, settle_seconds: float = DEFAULT_SETTLE_SECONDS
) -> dg.SensorDefinition:
    @dg.sensor(
        job=sales_job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            "Watches {landing}/ticket_sales/; requests one run per day whose files differ from what was loaded, "
            f"once none of them has changed for {settle_seconds:g} s."
        ),
    )
    def landing_zone_sensor(context: dg.SensorEvaluationContext, landing: LandingZoneResource):
        cursor = LandingCursor.parse(context.cursor)
        files = landing.zone().sale_files()
        current = day_digests(files)
        valid_keys = set(partitions.get_partition_keys())
        waiting = {day: fs for day, fs in unsettled(files, datetime.now(UTC), settle_seconds).items() if day in valid_keys}
        outside = sorted(day for day in current if day not in valid_keys)
        if outside:
            context.log.warning(f"files for days outside the ticket_sales partitions ignored: {', '.join(outside[:10])}")

        reloaded, after = materialised_since(context.instance, cursor.after)
        # A day materialised since the last tick is compared again with what it was loaded from.
        seen = {day: digest for day, digest in cursor.seen.items() if day not in reloaded}
        days = sorted((set(current) | set(seen) | reloaded) & valid_keys)
        changed = [day for day in days if day not in waiting and seen.get(day) != current.get(day, NO_FILES)]
        loaded = loaded_digests(context.instance, changed)
        requests = []
        for day in changed:
            digest = current.get(day, NO_FILES)
            if loaded.get(day) != digest:
                # The key names the change (what is loaded -> what is there), so a retried tick never
                # launches it twice, while a day that goes back to earlier files still gets its run.
                run_key = f"{day}:{loaded.get(day)}->{digest}"
                requests.append(dg.RunRequest(run_key=run_key, partition_key=day, tags={"landing/digest": digest}))

        # A waiting day keeps what the sensor saw before it started changing, so it is looked at
        # again once it settles; a day without files is not kept (its reload, if any, comes back
        # through `reloaded`).
        kept = {day: current[day] for day in current if day in valid_keys and day not in waiting}
        kept |= {day: cursor.seen[day] for day in waiting if day in cursor.seen}
        context.update_cursor(LandingCursor(kept, after).dump())
        if waiting:
            context.log.info(f"waiting for files to settle ({settle_seconds:g} s): {_describe(waiting)}")
        if requests:
            return requests
        if waiting:
            return dg.SkipReason(f"waiting for files modified in the last {settle_seconds:g} s: {_describe(waiting)}")
        return dg.SkipReason("every day's files are loaded as they are")

    return landing_zone_sensor


def _describe(waiting: dict) -> str:
    days = sorted(waiting)
    shown = [
        f"{day} ({', '.join(f.name for f in waiting[day][:3])}{', ...' if len(waiting[day]) > 3 else ''})" for day in days[:5]
    ]
    return "; ".join(shown) + (f"; and {len(days) - 5} more days" if len(days) > 5 else "")
