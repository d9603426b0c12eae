"""The data-quality checks every model asset carries.

Plain functions from tables to ``AssetCheckResult``: the assets return them
with their materialisation, and tests call them directly. A daily-partitioned
asset reports them per day through ``day_check_events``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluationTargetMaterializationData

from concert_platform.defs.history import latest_materializations

PRIMARY_KEY = "primary_key_unique"
REJECT_RATE = "reject_rate_below_threshold"
SAMPLE = 5


def foreign_key(column: str) -> str:
    return f"{column}_resolves"


def check_specs(
    asset_key: str,
    foreign_keys: Iterable[str] = (),
    *,
    blocking: bool = False,
    partitions_def: dg.PartitionsDefinition | None = None,
) -> list[dg.AssetCheckSpec]:
    """``blocking`` stops downstream steps when the key or the reject rate fails (dangling foreign keys only warn)."""
    key = dg.AssetKey(asset_key)
    common = {"asset": key, "partitions_def": partitions_def}
    with warnings.catch_warnings():
        # Per-partition checks are a Dagster preview; the Dagster family is pinned, so no patch release changes them under us.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        specs = [
            dg.AssetCheckSpec(
                PRIMARY_KEY, **common, blocking=blocking, description="No two rows share the primary key, none is empty"
            ),
            dg.AssetCheckSpec(
                REJECT_RATE,
                **common,
                blocking=blocking,
                description="Share of rejected records stays under the configured threshold",
            ),
        ]
        specs += [
            dg.AssetCheckSpec(foreign_key(c), **common, description=f"Every {c} names an existing row") for c in foreign_keys
        ]
    return specs


def day_check_events(
    context: dg.AssetExecutionContext, results_by_day: Mapping[str, Sequence[dg.AssetCheckResult]]
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    """The checks of a run over one or many days, as one evaluation per day.

    An ``AssetCheckResult`` cannot name a partition, and a backfill's range run
    has no single partition key, so each day's result becomes an evaluation of
    that day (linked to that day's materialisation), as Dagster itself builds
    them. Yield these after the asset's Output, whose storing materialises the days.
    """
    key = context.assets_def.key
    selected = {k for k in context.selected_asset_check_keys if k.asset_key == key}
    materialized = _materializations_of_this_run(context, key, list(results_by_day))
    for day, results in results_by_day.items():
        for result in results:
            check_key = dg.AssetCheckKey(key, result.check_name)
            if check_key not in selected:
                continue
            yield dg.AssetCheckEvaluation(
                asset_key=key,
                check_name=result.check_name,
                passed=result.passed,
                metadata=result.metadata,
                severity=result.severity,
                description=result.description,
                target_materialization_data=materialized.get(day),
                blocking=context.assets_def.get_spec_for_check_key(check_key).blocking,
                partition=day,
            )
    # Each check is an output of the step: mark them produced, or the step fails for a missing output.
    for check_key in sorted(selected, key=lambda k: k.name):
        yield dg.Output(None, output_name=context.assets_def.get_output_name_for_asset_check_key(check_key))


def _materializations_of_this_run(
    context: dg.AssetExecutionContext, key: dg.AssetKey, days: list[str]
) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    return {
        day: AssetCheckEvaluationTargetMaterializationData(
            storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
        )
        for day, record in latest_materializations(context.instance, key, days).items()
        if record.run_id == context.run.run_id
    }


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
