"""What every model asset does after conforming: validate, report, check."""

from collections import Counter
from collections.abc import Iterator

import dagster as dg
import pyarrow as pa

from concert_platform.defs.checks import foreign_key_check, primary_key_check, reject_rate_check
from concert_platform.defs.io_manager import ModelOutput
from concert_platform.defs.resources import QualityResource
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
    valid, rejects = result.valid, result.rejects
    checks = [primary_key_check(valid, key), reject_rate_check(valid.num_rows, rejects.num_rows, quality.max_reject_rate)]
    checks += [foreign_key_check(valid, column, ids, target) for column, (ids, target) in (references or {}).items()]
    return checks


def reject_reasons(rejects: pa.Table, top: int = 10) -> dg.MetadataValue:
    """The most common reasons, each cut to its first clause so values don't split them."""
    reasons = Counter(reject_reason(error) for error in rejects["error"].to_pylist())
    return dg.MetadataValue.json(dict(reasons.most_common(top)))
