"""One IO manager: Parquet to the lake, the same rows to the warehouse.

``handle_output`` writes the asset's Parquet and replaces exactly that asset in
the warehouse, together with its rejected records, as one state: the warehouse's
transaction records which lake version it holds (``storage.publish``). A partitioned asset does this day by day: a run over a
range of days (what a backfill launches) publishes each day's slice exactly as
a one-day run would, one day after another. Valid rows too many to hold arrive
spooled on local disk (`transforms.spool`) and are published as a stream, then
the spool is deleted. ``load_input`` reads the Parquet back, so a downstream
step never waits on (or locks) the warehouse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa

from concert_platform.defs.metadata import PREVIEW_ROWS, table_metadata
from concert_platform.defs.resources import LakeResource, WarehouseResource
from concert_platform.storage.lake import Lake
from concert_platform.storage.publish import publish
from concert_platform.storage.warehouse import Warehouse
from concert_platform.transforms.spool import SpooledTable
from concert_platform.validation import REJECTS_SCHEMA

# A model's valid rows: a table, or a day spooled on local disk that is published as a stream.
Rows = pa.Table | SpooledTable

# Asset metadata keys: the column holding a daily partition's date, and the
# columns that identify a row (declared as the warehouse table's primary key).
PARTITION_COLUMN = "partition_column"
PRIMARY_KEY = "primary_key"
# The concurrency pool of every asset this IO manager writes: the instance sets its limit
# (1 in the embedded dagster.yaml, because a DuckDB file has one writer at a time).
WAREHOUSE_POOL = "warehouse"


@dataclass(frozen=True)
class ModelOutput:
    """What a model asset returns: the valid rows and the quarantined ones."""

    valid: Rows
    rejects: pa.Table

    def close(self) -> None:
        """Let go of what the rows hold besides memory (a spool's files): once they are published."""
        if isinstance(self.valid, SpooledTable):
            self.valid.close()


@dataclass(frozen=True)
class ByDay:
    """A partitioned asset's value over a run's days, made one day at a time.

    ``make(day)`` runs when the IO manager stores that day (or a downstream step
    asks for it), so a run over a year holds one day, not the year, in memory.
    A one-day run is a ``ByDay`` of one day: partitioned assets have one shape.
    As an input, each day is a ``pa.RecordBatchReader`` over its lake file.
    """

    days: tuple[str, ...]
    make: Callable[[str], Any]

    @classmethod
    def over(cls, context: dg.AssetExecutionContext, make: Callable[[str], Any]) -> ByDay:
        """The days the run covers: one partition key, or a backfill's whole range."""
        return cls(tuple(context.partition_keys), make)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        for day in self.days:
            yield day, self.make(day)

    def __getitem__(self, day: str) -> Any:
        if day not in self.days:
            raise KeyError(f"{day} is not one of this run's days ({self.days[0]}..{self.days[-1]})")
        return self.make(day)


def to_arrow(value: pa.Table | pd.DataFrame) -> pa.Table:
    if isinstance(value, pa.Table):
        return value
    if isinstance(value, pd.DataFrame):
        return pa.Table.from_pandas(value, preserve_index=False)
    raise TypeError(f"expected a pyarrow Table, pandas DataFrame or ModelOutput, got {type(value).__name__}")


def _rows_metadata(valid: Rows) -> dict:
    if isinstance(valid, pa.Table):
        return table_metadata(valid)
    # The preview needs the first rows only; the count is the spool's.
    return {**table_metadata(valid.head(PREVIEW_ROWS)), "dagster/row_count": dg.MetadataValue.int(valid.num_rows)}


def _day_batches(lake: Lake, name: str, day: str) -> pa.RecordBatchReader:
    """A day as a stream of Arrow batches, as the lake holds it: a consumer holds a batch, not the day."""
    try:
        return lake.open_batches(name, day)
    except FileNotFoundError:  # the day was never materialised: no rows
        return pa.table({}).to_reader()


class LakeWarehouseIOManager(dg.ConfigurableIOManager):
    lake: LakeResource
    warehouse: WarehouseResource

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        if obj is None:
            return
        lake, warehouse = self.lake.lake(), self.warehouse.warehouse()
        if not context.has_asset_partitions:
            context.add_output_metadata(self._publish(context, lake, warehouse, obj))
            return
        days = self._days(context, obj)
        column = self._partition_column(context)
        step = context.step_context
        with warehouse.session():  # one connection for the run's days, one transaction per day
            for day in days.days:
                # The day is made inside the call, so nothing holds it once it is published: one day at a time.
                metadata = self._publish(context, lake, warehouse, days[day], day, {column: date.fromisoformat(day)})
                # Per day, so the UI tells what each day of a backfill loaded.
                step.add_asset_metadata(metadata, asset_key=context.asset_key, partition_key=day)

    def load_input(self, context: dg.InputContext):
        name = context.asset_key.path[-1]
        # Reads what the warehouse committed, even where a killed run left the move to the lake undone.
        lake = self.lake.lake().following(self.warehouse.warehouse().committed_versions)
        wanted = context.dagster_type.typing_type if context.dagster_type is not None else None
        convert = (lambda table: table) if wanted is pa.Table else (lambda table: table.to_pandas())
        if not context.has_asset_partitions:
            return convert(lake.read(name))
        keys = tuple(context.asset_partition_keys)
        if wanted is ByDay:
            return ByDay(keys, lambda day: _day_batches(lake, name, day))
        # The lake skips partitions not materialised yet: a feature over "all days" reads the days there are.
        return convert(lake.read(name, partitions=list(keys)))

    @staticmethod
    def _publish(context, lake: Lake, warehouse: Warehouse, obj, day: str | None = None, where: dict | None = None) -> dict:
        name = context.asset_key.path[-1]
        valid, rejects = (obj.valid, obj.rejects.cast(REJECTS_SCHEMA)) if isinstance(obj, ModelOutput) else (to_arrow(obj), None)
        primary_key = tuple((context.definition_metadata or {}).get(PRIMARY_KEY) or ())
        try:
            written = publish(lake, warehouse, name, valid, partition=day, where=where, rejects=rejects, primary_key=primary_key)
            described = _rows_metadata(valid)
        finally:
            if isinstance(obj, ModelOutput):
                obj.close()
        return {
            **described,
            "lake_path": dg.MetadataValue.path(written.uri),
            "lake_version": dg.MetadataValue.text(written.version),
            "warehouse_table": dg.MetadataValue.text(f"{warehouse.schema}.{name}"),
            "dagster/table_name": f"{warehouse.schema}.{name}",
            **({"rejected_rows": dg.MetadataValue.int(rejects.num_rows)} if rejects is not None else {}),
        }

    @staticmethod
    def _days(context: dg.OutputContext, obj) -> ByDay:
        keys: Sequence[str] = context.asset_partition_keys
        if not isinstance(obj, ByDay):
            raise dg.DagsterInvariantViolationError(
                f"{context.asset_key.to_user_string()} is partitioned: return ByDay.over(context, make_one_day), "
                f"not a {type(obj).__name__}, so a run over a range of days publishes each day on its own"
            )
        if list(obj.days) != list(keys):
            raise dg.DagsterInvariantViolationError(
                f"{context.asset_key.to_user_string()} returned days {obj.days[:3]}... but the run covers {tuple(keys)[:3]}..."
            )
        return obj

    @staticmethod
    def _partition_column(context: dg.OutputContext) -> str:
        column = (context.definition_metadata or {}).get(PARTITION_COLUMN)
        if column is None:
            raise dg.DagsterInvariantViolationError(
                f"{context.asset_key.to_user_string()} is partitioned but names no {PARTITION_COLUMN!r} in its metadata"
            )
        return column
