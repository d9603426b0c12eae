"""Ticket sales rolled up per concert, day and channel.

Feature assets read this instead of the raw sales: a day of millions of sales
becomes a few thousand rows, so features over months stay cheap.
"""

from __future__ import annotations

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


def daily_sales(sales: pa.Table) -> pa.Table:
    if sales.num_rows == 0:
        return DAILY_SALES_SCHEMA.empty_table()
    price = pc.cast(sales["unit_price"], pa.decimal128(18, 4))
    line_total = pc.cast(
        pc.multiply(pc.cast(pc.cast(sales["quantity"], pa.int32()), pa.decimal128(10, 0)), price), pa.decimal128(18, 4)
    )
    work = pa.table(
        {**{k: sales[k] for k in _KEYS}, "quantity": sales["quantity"], "unit_price": price, "line_total": line_total}
    )
    grouped = work.group_by(_KEYS, use_threads=False).aggregate(
        [("quantity", "count"), ("quantity", "sum"), ("line_total", "sum"), ("unit_price", "min"), ("unit_price", "max")]
    )
    out = pa.table(
        {
            **{k: grouped[k] for k in _KEYS},
            "orders": grouped["quantity_count"],
            "tickets": grouped["quantity_sum"],
            "gross_revenue": pc.cast(grouped["line_total_sum"], pa.decimal128(18, 4)),
            "min_unit_price": grouped["unit_price_min"],
            "max_unit_price": grouped["unit_price_max"],
        }
    )
    return out.cast(DAILY_SALES_SCHEMA).sort_by([(k, "ascending") for k in _KEYS])
