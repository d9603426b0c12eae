"""Publish one asset (or partition): its Parquet to the lake, its rows to the warehouse.

The two writes run side by side (both release the GIL: zstd in one thread,
the warehouse's insert in the other), except for warehouses that load from
the lake's file (Redshift COPY), which wait for it. Each is whole or nothing
on its own: the lake swaps a finished file in, the warehouse commits one
transaction. If one fails the step fails and a re-run rewrites both.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa

from concert_platform.storage.lake import Lake, LakeWrite
from concert_platform.storage.warehouse import Replace, SliceCheck, Warehouse

REJECTS_TABLE = "rejected_records"


def publish(
    lake: Lake,
    warehouse: Warehouse,
    name: str,
    valid: pa.Table,
    *,
    partition: str | None = None,
    where: dict | None = None,
    rejects: pa.Table | None = None,
    primary_key: tuple[str, ...] = (),
) -> LakeWrite:
    """Replace exactly what ``name`` (and ``partition``) covers, plus its rejects when given.

    Rows outside ``where`` are refused before anything is written, so neither
    the lake nor the warehouse ever holds them.
    """
    if where is not None:
        SliceCheck(where).check(valid)
    rejects_asset = f"{REJECTS_TABLE}/{name}"
    operations = [Replace(name, valid, where, primary_key=primary_key, source_uri=lake.uri(name, partition))]
    if rejects is not None:
        operations.append(
            Replace(
                REJECTS_TABLE,
                rejects,
                {"entity": name, "partition_key": partition or ""},
                source_uri=lake.uri(rejects_asset, partition),
            )
        )

    def write_lake() -> LakeWrite:
        written = lake.write(name, valid, partition)
        if rejects is not None:
            lake.write(rejects_asset, rejects, partition)
        return written

    if warehouse.loads_from_lake:
        written = write_lake()
        warehouse.load(operations)
        return written
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="publish") as pool:
        lake_done = pool.submit(write_lake)
        warehouse_done = pool.submit(warehouse.load, operations)
        warehouse_done.result()
        return lake_done.result()
