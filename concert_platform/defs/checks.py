"""The data-quality checks every model asset carries.

Plain functions from tables to ``AssetCheckResult``: the assets return them
with their materialisation, and tests call them directly.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

PRIMARY_KEY = "primary_key_unique"
REJECT_RATE = "reject_rate_below_threshold"
SAMPLE = 5


def foreign_key(column: str) -> str:
    return f"{column}_resolves"


def check_specs(asset_key: str, foreign_keys: Iterable[str] = ()) -> list[dg.AssetCheckSpec]:
    key = dg.AssetKey(asset_key)
    specs = [
        dg.AssetCheckSpec(PRIMARY_KEY, asset=key, description="No two rows share the primary key, none is empty"),
        dg.AssetCheckSpec(REJECT_RATE, asset=key, description="Share of rejected records stays under the configured threshold"),
    ]
    specs += [dg.AssetCheckSpec(foreign_key(c), asset=key, description=f"Every {c} names an existing row") for c in foreign_keys]
    return specs


def primary_key_check(table: pa.Table, column: str) -> dg.AssetCheckResult:
    keys = table[column]
    nulls = keys.null_count
    repeated: list = []
    if table.num_rows:
        counts = pc.value_counts(keys)
        repeated = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1)).drop_null().to_pylist()
    return dg.AssetCheckResult(
        check_name=PRIMARY_KEY,
        passed=not repeated and nulls == 0,
        metadata={"column": column, "duplicate_keys": len(repeated), "null_keys": nulls, "sample": repr(repeated[:SAMPLE])},
    )


def foreign_key_check(table: pa.Table, column: str, referenced: pa.Array, target: str) -> dg.AssetCheckResult:
    """Non-null values of ``column`` (or of each list in it) must appear in ``referenced``."""
    values = table[column]
    if pa.types.is_list(values.type):
        values = pc.list_flatten(values)
    values = pc.drop_null(values)
    dangling = pc.filter(values, pc.invert(pc.is_in(values, value_set=pa.array(referenced, values.type))))
    unique = pc.unique(dangling).to_pylist()
    return dg.AssetCheckResult(
        check_name=foreign_key(column),
        passed=len(dangling) == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "references": target,
            "dangling_rows": len(dangling),
            "dangling_keys": len(unique),
            "sample": repr(unique[:SAMPLE]),
        },
    )


def reject_rate_check(valid_rows: int, rejected_rows: int, threshold: float) -> dg.AssetCheckResult:
    total = valid_rows + rejected_rows
    rate = rejected_rows / total if total else 0.0
    return dg.AssetCheckResult(
        check_name=REJECT_RATE,
        passed=rate <= threshold,
        metadata={
            "reject_rate": dg.MetadataValue.float(rate),
            "threshold": dg.MetadataValue.float(threshold),
            "rejected": rejected_rows,
            "total": total,
        },
    )
