"""Ticket sales: daily partitions loaded from the landing zone, and their roll-up."""

import dagster as dg
import pyarrow as pa

from concert_platform.defs.assets.modeled import model_results
from concert_platform.defs.checks import check_specs
from concert_platform.defs.io_manager import PARTITION_COLUMN, PRIMARY_KEY
from concert_platform.defs.resources import LandingZoneResource, QualityResource
from concert_platform.transforms.sales_daily import daily_sales
from concert_platform.transforms.ticket_sales import load_sales_partition
from concert_platform.validation import ValidationResult


def build_sales_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    # One day per run: a day is the unit of memory (a day can hold millions of
    # sales) and of parallelism, so backfills fan out one run per day.
    per_day = dg.BackfillPolicy.multi_run(max_partitions_per_run=1)

    @dg.asset(
        group_name="sales",
        kinds={"parquet", "duckdb"},
        partitions_def=partitions,
        backfill_policy=per_day,
        # The key includes the day so one stray repeat of a sale_id in another
        # day's files cannot block that whole day's load.
        metadata={PARTITION_COLUMN: "sale_date", PRIMARY_KEY: ["sale_date", "sale_id"]},
        check_specs=check_specs("ticket_sales", ["concert_id"]),
        description="Validated ticket sales of one UTC day, read from {landing}/ticket_sales/{day}/.",
    )
    def ticket_sales(
        context: dg.AssetExecutionContext, concerts: pa.Table, landing: LandingZoneResource, quality: QualityResource
    ):
        day = context.partition_key
        known = concerts["concert_id"].combine_chunks()
        partition = load_sales_partition(landing.zone(), day, known)
        stats = partition.stats
        if stats["unparseable_files"]:
            context.log.warning(f"{day}: could not parse {', '.join(stats['unparseable_files'])}; the other files loaded")
        if not stats["files"]:
            context.log.warning(f"{day}: no sale files in the landing zone; the partition is empty")
        yield from model_results(
            ValidationResult(partition.valid, partition.rejects),
            key="sale_id",
            quality=quality,
            rows_in=stats["rows_read"],
            references={"concert_id": (known, "concerts")},
            metadata={
                "files": stats["files"],
                "unparseable_files": dg.MetadataValue.json(stats["unparseable_files"]),
                "duplicates_dropped": stats["duplicates_dropped"],
                "rejected_by_reason": dg.MetadataValue.json(stats["rejected_by_reason"]),
            },
        )

    @dg.asset(
        group_name="sales",
        kinds={"parquet", "duckdb"},
        partitions_def=partitions,
        backfill_policy=per_day,
        metadata={PARTITION_COLUMN: "sale_date", PRIMARY_KEY: ["sale_date", "concert_id", "channel", "currency"]},
        description="Tickets, orders and revenue per concert, channel and day: what the features read.",
    )
    def ticket_sales_daily(ticket_sales: pa.Table) -> pa.Table:
        return daily_sales(ticket_sales)

    return [ticket_sales, ticket_sales_daily]
