"""One IO manager: Parquet to the lake, the same rows to the warehouse.

``handle_output`` writes the asset's (or partition's) Parquet and replaces
exactly that asset or partition in the warehouse, together with its rejected
records, in one transaction (``storage.publish``). ``load_input`` reads the
Parquet back, so a downstream step never waits on (or locks) the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import dagster as dg
import pandas as pd
import pyarrow as pa

from concert_platform.defs.metadata import table_metadata
from concert_platform.defs.resources import LakeResource, WarehouseResource
from concert_platform.storage.publish import publish
from concert_platform.validation import REJECTS_SCHEMA

# Asset metadata keys: the column holding a daily partition's date, and the
# columns that identify a row (declared as the warehouse table's primary key).
PARTITION_COLUMN = "partition_column"
PRIMARY_KEY = "primary_key"


@dataclass(frozen=True)
class ModelOutput:
    """What a model asset returns: the valid rows and the quarantined ones."""

    valid: pa.Table
    rejects: pa.Table


def to_arrow(value: pa.Table | pd.DataFrame) -> pa.Table:
    if isinstance(value, pa.Table):
        return value
    if isinstance(value, pd.DataFrame):
        return pa.Table.from_pandas(value, preserve_index=False)
    raise TypeError(f"expected a pyarrow Table, pandas DataFrame or ModelOutput, got {type(value).__name__}")


class LakeWarehouseIOManager(dg.ConfigurableIOManager):
    lake: LakeResource
    warehouse: WarehouseResource

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        if obj is None:
            return
        name = context.asset_key.path[-1]
        partition = context.partition_key if context.has_partition_key else None
        valid, rejects = (obj.valid, obj.rejects) if isinstance(obj, ModelOutput) else (to_arrow(obj), None)
        where = self._partition_filter(context, partition)

        warehouse = self.warehouse.warehouse()
        if rejects is not None:
            rejects = rejects.cast(REJECTS_SCHEMA)
        primary_key = tuple((context.definition_metadata or {}).get(PRIMARY_KEY) or ())
        written = publish(
            self.lake.lake(), warehouse, name, valid, partition=partition, where=where, rejects=rejects, primary_key=primary_key
        )

        context.add_output_metadata(
            {
                **table_metadata(valid),
                "lake_path": dg.MetadataValue.path(written.uri),
                "warehouse_table": dg.MetadataValue.text(f"{warehouse.schema}.{name}"),
                "dagster/table_name": f"{warehouse.schema}.{name}",
                **({"rejected_rows": dg.MetadataValue.int(rejects.num_rows)} if rejects is not None else {}),
            }
        )

    def load_input(self, context: dg.InputContext):
        name = context.asset_key.path[-1]
        lake = self.lake.lake()
        if context.has_asset_partitions:
            # The lake skips partitions not materialised yet: a feature over "all days" reads the days there are.
            table = lake.read(name, partitions=context.asset_partition_keys)
        else:
            table = lake.read(name)
        wants_arrow = context.dagster_type is not None and context.dagster_type.typing_type is pa.Table
        return table if wants_arrow else table.to_pandas()

    @staticmethod
    def _partition_filter(context: dg.OutputContext, partition: str | None) -> dict | None:
        if partition is None:
            return None
        column = (context.definition_metadata or {}).get(PARTITION_COLUMN)
        if column is None:
            raise dg.DagsterInvariantViolationError(
                f"{context.asset_key.to_user_string()} is partitioned but names no {PARTITION_COLUMN!r} in its metadata"
            )
        return {column: date.fromisoformat(partition)}
