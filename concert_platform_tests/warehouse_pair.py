"""A DuckDB and a PostgreSQL warehouse side by side, each with its own lake, for tests that
check both dialects accept exactly the same rows (a real server on 127.0.0.1, a schema each),
and string arrays holding any bytes, as readers that do not check UTF-8 deliver them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa

from concert_platform.storage.filesystem import open_location
from concert_platform.storage.lake import Lake
from concert_platform.storage.publish import publish
from concert_platform.storage.sql import quote_ident
from concert_platform.storage.warehouse import Warehouse, make_warehouse

PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Target:
    name: str
    warehouse: Warehouse
    lake: Lake


@contextmanager
def warehouse_pair(folder: Path) -> Iterator[list[Target]]:
    """DuckDB (in memory) and PostgreSQL (a fresh schema, dropped afterwards), each holding one
    connection throughout (as a range run does), with their lakes in ``folder``."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    targets = [
        Target("duckdb", make_warehouse("duckdb:///:memory:", schema), Lake(open_location(str(folder / "duckdb_lake")))),
        Target("postgresql", make_warehouse(PG_URL, schema), Lake(open_location(str(folder / "postgresql_lake")))),
    ]
    try:
        with targets[0].warehouse.session(), targets[1].warehouse.session():
            yield targets
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE")


def publish_day(target: Target, day: str, valid: pa.Table, rejects: pa.Table) -> None:
    """One day of ticket_sales and its rejects, as the asset publishes them."""
    publish(
        target.lake,
        target.warehouse,
        "ticket_sales",
        valid,
        partition=day,
        where={"sale_date": date.fromisoformat(day)},
        rejects=rejects,
        primary_key=("sale_date", "sale_id"),
    )


SALE_COLUMNS = ["sale_id", "concert_id", "sold_at", "quantity", "unit_price", "currency", "channel", "customer_id", "section"]


def stored_sales(target: Target) -> list[dict]:
    """The sales a warehouse holds, as Python values, by sale_id (what "the same rows" means across dialects)."""
    return sorted(target.warehouse.read("ticket_sales").select(SALE_COLUMNS).to_pylist(), key=lambda r: r["sale_id"])


def stored_rejects(target: Target) -> list[tuple[str, str, str]]:
    rejects = target.warehouse.read("rejected_records", {"entity": "ticket_sales"})
    return sorted(zip(rejects["source"].to_pylist(), rejects["record"].to_pylist(), rejects["error"].to_pylist(), strict=True))


def raw_text(values: list[bytes | str | None], type_: pa.DataType | None = None) -> pa.Array:
    """A string array holding exactly these bytes, valid UTF-8 or not (as pyarrow's JSON and Parquet readers deliver them)."""
    type_ = type_ or pa.string()
    data = [v.encode() if isinstance(v, str) else v for v in values]
    width = np.int64 if pa.types.is_large_string(type_) else np.int32
    offsets = np.cumsum([0] + [len(v or b"") for v in data], dtype=width)
    validity = pa.array([v is not None for v in data]).buffers()[1]
    return pa.Array.from_buffers(
        type_, len(data), [validity, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(v or b"" for v in data))]
    )
