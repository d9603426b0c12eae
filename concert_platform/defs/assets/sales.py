"""Ticket sales: daily partitions loaded from the landing zone, and their roll-up.

Both assets handle a run over any range of days (a backfill launches ranges):
each day is read, validated and published on its own, and replaced exactly as a
one-day run would replace it. A day of ticket_sales is never held whole: its
valid rows wait in a local spool, its checks and metadata are read from there a
few columns at a time, and the IO manager publishes it as a stream.
"""

from dataclasses import dataclass
from datetime import timedelta

import dagster as dg
import pyarrow as pa

from concert_platform.defs.assets.modeled import model_checks, model_metadata
from concert_platform.defs.automation import FOLLOWS_EACH_DAY
from concert_platform.defs.checks import check_specs, day_check_events
from concert_platform.defs.io_manager import PARTITION_COLUMN, PRIMARY_KEY, WAREHOUSE_POOL, ByDay, ModelOutput
from concert_platform.defs.resources import LandingZoneResource, QualityResource
from concert_platform.sources.landing import LandingZone
from concert_platform.transforms.sales_daily import daily_sales
from concert_platform.transforms.ticket_sales import spool_sales_partition
from concert_platform.validation import ValidationResult

# Materialisation metadata key: the digest of the landing files a day was loaded from (the sensor reads it).
LANDING_DIGEST = "landing_digest"

# A backfill of any length is one run (and so is `dagster asset materialize --partition-range`, which
# only accepts single_run): one process start-up (Python, Dagster, the code location: seconds) instead
# of one per day, and since each day is loaded and published on its own, memory does not grow with the range.
# The price: days of a range load one after another, and a run that fails has to be re-run whole
# (each day it published before failing is whole and is simply replaced again). bench/README.md
# has the figures against one day per run.
BACKFILL_POLICY = dg.BackfillPolicy.single_run()


@dataclass(frozen=True)
class SalesDay:
    """One day loaded: what the IO manager publishes, what the UI shows for the day, its checks."""

    output: ModelOutput
    metadata: dict
    checks: list[dg.AssetCheckResult]


def load_sales_day(zone: LandingZone, day: str, known: pa.Array, quality: QualityResource, log=None) -> SalesDay:
    """Read, validate and check one day of the landing zone against the ``known`` concert ids.

    The day's valid rows stay spooled on local disk until the IO manager has published them."""
    partition = spool_sales_partition(zone, day, known)
    stats = partition.stats
    if log is not None and stats["unparseable_files"]:
        log.warning(f"{day}: could not parse {', '.join(stats['unparseable_files'])}; the other files loaded")
    if log is not None and not stats["files"]:
        log.warning(f"{day}: no sale files in the landing zone; the partition is empty")
    result = ValidationResult(partition.valid, partition.rejects)
    metadata = {
        "files": stats["files"],
        "unparseable_files": dg.MetadataValue.json(stats["unparseable_files"]),
        "duplicates_dropped": stats["duplicates_dropped"],
        "rejected_by_reason": dg.MetadataValue.json(stats["rejected_by_reason"]),
        LANDING_DIGEST: stats["landing_digest"],
    }
    return SalesDay(
        output=ModelOutput(partition.valid, partition.rejects),
        metadata=model_metadata(result, stats["rows_read"], metadata),
        checks=model_checks(result, key="sale_id", quality=quality, references={"concert_id": (known, "concerts")}),
    )


def build_sales_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    @dg.asset(
        group_name="sales",
        kinds={"parquet", "duckdb"},
        partitions_def=partitions,
        backfill_policy=BACKFILL_POLICY,
        pool=WAREHOUSE_POOL,
        # The key includes the day so one stray repeat of a sale_id in another
        # day's files cannot block that whole day's load.
        metadata={PARTITION_COLUMN: "sale_date", PRIMARY_KEY: ["sale_date", "sale_id"]},
        check_specs=check_specs("ticket_sales", ["concert_id"], partitions_def=partitions),
        # Sales arrive every night; a day that has not loaded by the next night shows as late in the UI.
        freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=48), warn_window=timedelta(hours=25)),
        description="Validated ticket sales of one UTC day, read from {landing}/ticket_sales/{day}/.",
    )
    def ticket_sales(
        context: dg.AssetExecutionContext, concerts: pa.Table, landing: LandingZoneResource, quality: QualityResource
    ):
        known = concerts["concert_id"].combine_chunks()
        zone = landing.zone()
        checks: dict[str, list[dg.AssetCheckResult]] = {}

        def load_day(day: str) -> ModelOutput:
            loaded = load_sales_day(zone, day, known, quality, context.log)
            context.add_asset_metadata(loaded.metadata, partition_key=day)
            checks[day] = loaded.checks
            return loaded.output

        # Storing the output runs load_day for each day in turn; the checks are known once it returns.
        yield dg.Output(ByDay.over(context, load_day))
        yield from day_check_events(context, checks)

    @dg.asset(
        group_name="sales",
        kinds={"parquet", "duckdb"},
        partitions_def=partitions,
        backfill_policy=BACKFILL_POLICY,
        pool=WAREHOUSE_POOL,
        automation_condition=FOLLOWS_EACH_DAY,
        metadata={PARTITION_COLUMN: "sale_date", PRIMARY_KEY: ["sale_date", "concert_id", "channel", "currency"]},
        description="Tickets, orders and revenue per concert, channel and day: what the features read.",
    )
    def ticket_sales_daily(context: dg.AssetExecutionContext, ticket_sales: ByDay) -> ByDay:
        # Each day's sales arrive as a stream of batches, rolled up as they pass.
        return ByDay.over(context, lambda day: daily_sales(ticket_sales[day]))

    return [ticket_sales, ticket_sales_daily]
