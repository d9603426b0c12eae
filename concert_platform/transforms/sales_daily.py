"""Ticket sales rolled up per concert, day and channel.

Feature assets read this instead of the raw sales: a day of millions of sales
becomes a few thousand rows, so features over months stay cheap.

The roll-up streams: each batch of sales is grouped on its own and the small
partial groups are merged (counts and sums add up, minima and maxima of
minima and maxima), so a 10M-sale day costs one batch plus the groups, not
the day.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

DAILY_SALES_SCHEMA = pa.schema(
    [
        pa.field("sale_date", pa.date32(), nullable=False),
        pa.field("concert_id", pa.string(), nullable=False),
        pa.field("channel", pa.string(), nullable=False),
        pa.field("currency", pa.string(), nullable=False),
        pa.field("orders", pa.int64(), nullable=False),
        pa.field("tickets", pa.int64(), nullable=False),
        pa.field("gross_revenue", pa.decimal128(18, 4), nullable=False),
        pa.field("min_unit_price", pa.decimal128(18, 4), nullable=False),
        pa.field("max_unit_price", pa.decimal128(18, 4), nullable=False),
    ]
)
_KEYS = ["sale_date", "concert_id", "channel", "currency"]
# The only columns of ticket_sales the roll-up reads: the lake reader skips the rest.
SALES_COLUMNS = [*_KEYS, "quantity", "unit_price"]
_MERGE = [("orders", "sum"), ("tickets", "sum"), ("gross_revenue", "sum"), ("min_unit_price", "min"), ("max_unit_price", "max")]
_COMPACT_AT = 1_000_000  # partial group rows held before they are merged among themselves


def daily_sales(sales: pa.Table | Iterable[pa.RecordBatch]) -> pa.Table:
    """The roll-up of a table of sales, or of a stream of their batches (a lake reader)."""
    batches = sales.to_batches() if isinstance(sales, pa.Table) else sales
    partials: list[pa.Table] = []
    held = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        partials.append(_group(batch))
        held += partials[-1].num_rows
        if held > _COMPACT_AT:
            partials = [_merge(partials)]
            held = partials[0].num_rows
    if not partials:
        return DAILY_SALES_SCHEMA.empty_table()
    return _merge(partials).sort_by([(k, "ascending") for k in _KEYS])


def _group(batch: pa.RecordBatch) -> pa.Table:
    price = pc.cast(batch["unit_price"], pa.decimal128(18, 4))
    line_total = pc.cast(
        pc.multiply(pc.cast(pc.cast(batch["quantity"], pa.int32()), pa.decimal128(10, 0)), price), pa.decimal128(18, 4)
    )
    work = pa.table(
        {**{k: batch[k] for k in _KEYS}, "quantity": batch["quantity"], "unit_price": price, "line_total": line_total}
    )
    grouped = work.group_by(_KEYS, use_threads=False).aggregate(
        [("quantity", "count"), ("quantity", "sum"), ("line_total", "sum"), ("unit_price", "min"), ("unit_price", "max")]
    )
    return _shaped(grouped, ["quantity_count", "quantity_sum", "line_total_sum", "unit_price_min", "unit_price_max"])


def _merge(partials: list[pa.Table]) -> pa.Table:
    grouped = pa.concat_tables(partials).group_by(_KEYS, use_threads=False).aggregate(_MERGE)
    return _shaped(grouped, [f"{column}_{how}" for column, how in _MERGE])


def _shaped(grouped: pa.Table, sources: list[str]) -> pa.Table:
    targets = ["orders", "tickets", "gross_revenue", "min_unit_price", "max_unit_price"]
    columns = {k: grouped[k] for k in _KEYS} | {t: grouped[s] for t, s in zip(targets, sources, strict=True)}
    # Decimal sums come back widened to 38 digits; a day's revenue fits the table's 18.
    return pa.table(columns).cast(DAILY_SALES_SCHEMA)
