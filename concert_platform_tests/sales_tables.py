"""The sales slices of a warehouse, comparable across runs: what "the same tables" means in these tests."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from concert_platform.storage.warehouse import Warehouse


def sales_tables(warehouse: Warehouse, days: list[str] | None = None) -> dict[str, pa.Table]:
    """ticket_sales, ticket_sales_daily and their rejects (of ``days``, or all), in a stable order,
    without the load timestamps (they differ by run)."""

    def on(table: pa.Table, column: str) -> pa.Table:
        if days is None:
            return table
        wanted = pa.array([date.fromisoformat(d) for d in days]) if column == "sale_date" else pa.array(days)
        return table.filter(pc.is_in(table[column], value_set=wanted))

    rejects = warehouse.read("rejected_records", {"entity": "ticket_sales"}).drop_columns(["rejected_at"])
    return {
        "ticket_sales": on(warehouse.read("ticket_sales"), "sale_date")
        .drop_columns(["created_at", "updated_at"])
        .sort_by("sale_id"),
        "ticket_sales_daily": on(warehouse.read("ticket_sales_daily"), "sale_date").sort_by(
            [(k, "ascending") for k in ("sale_date", "concert_id", "channel", "currency")]
        ),
        "rejected_records": on(rejects, "partition_key").sort_by(
            [(k, "ascending") for k in ("partition_key", "source", "record", "error")]
        ),
    }


def assert_same_tables(actual: dict[str, pa.Table], expected: dict[str, pa.Table]) -> None:
    for name, table in expected.items():
        assert actual[name].schema == table.schema, name  # dtypes included
        assert actual[name].num_rows == table.num_rows, name
        assert actual[name].equals(table), name
