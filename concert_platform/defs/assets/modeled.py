"""What every model asset does after conforming: validate, report, check.

The checks read the valid rows batch by batch, a column at a time, so they work
alike on a table in memory and on a day too big to hold (`transforms.spool`):
each batch is cut down to the rows that could fail (keys whose hash repeats,
values outside the referenced ids) and the check proper runs on those.
"""

from collections import Counter
from collections.abc import Iterator

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from concert_platform.defs.checks import foreign_key_check, primary_key_check, reject_rate_check
from concert_platform.defs.io_manager import ModelOutput, Rows
from concert_platform.defs.resources import QualityResource
from concert_platform.transforms.key_hashes import KeyHashes, take_rows
from concert_platform.validation import ValidationResult, reject_reason


def model_results(
    result: ValidationResult,
    *,
    key: str,
    quality: QualityResource,
    references: dict[str, tuple[pa.Array, str]] | None = None,
    rows_in: int | None = None,
    metadata: dict | None = None,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """The Output (valid rows + rejects for the IO manager) and the asset's checks.

    ``references`` maps a column to (the ids it must resolve to, their table).
    """
    yield dg.Output(ModelOutput(result.valid, result.rejects), metadata=model_metadata(result, rows_in, metadata))
    yield from model_checks(result, key=key, quality=quality, references=references)


def model_metadata(result: ValidationResult, rows_in: int | None = None, metadata: dict | None = None) -> dict:
    """What a person reads about a load: rows in, valid, rejected and why."""
    counts = {"valid_rows": result.valid.num_rows, "rejected_rows": result.rejects.num_rows}
    if rows_in is not None:
        counts["input_rows"] = rows_in
    metadata = {**counts, **(metadata or {})}
    metadata.setdefault("rejected_by_reason", reject_reasons(result.rejects))
    return metadata


def model_checks(
    result: ValidationResult,
    *,
    key: str,
    quality: QualityResource,
    references: dict[str, tuple[pa.Array, str]] | None = None,
) -> list[dg.AssetCheckResult]:
    """``result.valid`` is a table, or rows too many to hold (anything with ``schema``, ``num_rows``
    and ``batches(columns)``, as `SpooledTable`)."""
    valid, rejects = result.valid, result.rejects
    checks = [
        primary_key_check(_repeats(valid, key), key),
        reject_rate_check(valid.num_rows, rejects.num_rows, quality.max_reject_rate),
    ]
    checks += [
        foreign_key_check(_outside(valid, column, ids), column, ids, target)
        for column, (ids, target) in (references or {}).items()
    ]
    return checks


def _batches(valid: Rows, columns: list[str]):
    if isinstance(valid, pa.Table):
        return valid.select(columns).to_batches()
    return valid.batches(columns)


def _repeats(valid: Rows, key: str) -> pa.Table:
    """The rows whose ``key`` may repeat or is null: every row primary_key_check would fault."""
    hashes = KeyHashes()
    for batch in _batches(valid, [key]):
        hashes.add(batch.column(0))
    schema = pa.schema([valid.schema.field(key)])
    return pa.Table.from_batches(list(take_rows(_batches(valid, [key]), hashes.candidates())), schema)


def _outside(valid: Rows, column: str, referenced: pa.Array) -> pa.Table:
    """The non-null values of ``column`` (flattened if lists) not in ``referenced``: what foreign_key_check counts."""
    field = valid.schema.field(column)
    value_type = field.type.value_type if pa.types.is_list(field.type) else field.type
    ids = pa.array(referenced, value_type)
    outside = []
    for batch in _batches(valid, [column]):
        values = batch.column(0)
        values = pc.drop_null(pc.list_flatten(values) if pa.types.is_list(values.type) else values)
        outside.append(pc.filter(values, pc.invert(pc.is_in(values, value_set=ids))))
    return pa.table({column: pa.chunked_array(outside, value_type)})


def reject_reasons(rejects: pa.Table, top: int = 10) -> dg.MetadataValue:
    """The most common reasons, each cut to its first clause so values don't split them."""
    reasons = Counter(reject_reason(error) for error in rejects["error"].to_pylist())
    return dg.MetadataValue.json(dict(reasons.most_common(top)))
