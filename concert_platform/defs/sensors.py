"""The landing-zone sensor: a run for each day whose files are new or changed."""

import hashlib
import json
from collections import defaultdict

import dagster as dg

from concert_platform.defs.resources import LandingZoneResource
from concert_platform.sources.landing import LandingFile


def day_digests(files: list[LandingFile]) -> dict[str, str]:
    """One digest per day over its files' names and fingerprints.

    A new, rewritten or removed file changes its day's digest and nothing
    else, so the cursor stays one short entry per day however many files.
    """
    by_day: dict[str, list[str]] = defaultdict(list)
    for f in files:
        by_day[f.day].append(f"{f.name}\t{f.fingerprint}")
    return {day: hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest()[:20] for day, entries in by_day.items()}


def build_landing_sensor(sales_job, partitions: dg.PartitionsDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        job=sales_job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Watches {landing}/ticket_sales/; requests one run per day whose files changed.",
    )
    def landing_zone_sensor(context: dg.SensorEvaluationContext, landing: LandingZoneResource):
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        current = day_digests(landing.zone().sale_files())
        valid_keys = set(partitions.get_partition_keys())
        requests, skipped = [], []
        for day, digest in sorted(current.items()):
            if seen.get(day) == digest:
                continue
            if day not in valid_keys:
                skipped.append(day)
                continue
            requests.append(dg.RunRequest(run_key=f"{day}:{digest}", partition_key=day, tags={"landing/digest": digest}))
            seen[day] = digest
        if skipped:
            context.log.warning(f"files for days outside the ticket_sales partitions ignored: {', '.join(skipped[:10])}")
        if not requests:
            return dg.SkipReason("no new or changed sale files")
        context.update_cursor(json.dumps(seen, sort_keys=True))
        return requests

    return landing_zone_sensor
