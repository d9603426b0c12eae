"""Pydantic-driven validation of whole batches: a valid Arrow table plus rejects.

The models are the single source of truth. ``validate_table`` derives from
them column-wise checks that only ever accept what the model accepts; every
other row goes through ``model_validate``, which decides and words the error.
"""

from concert_platform.validation.records import (
    REJECTS_SCHEMA,
    ValidationResult,
    models_to_table,
    record_json,
    reject_reason,
    rejects_table,
    validate_records,
)
from concert_platform.validation.schema import arrow_schema, model_plan
from concert_platform.validation.table import table_records, validate_table

__all__ = [
    "REJECTS_SCHEMA",
    "ValidationResult",
    "arrow_schema",
    "model_plan",
    "models_to_table",
    "record_json",
    "reject_reason",
    "rejects_table",
    "table_records",
    "validate_records",
    "validate_table",
]
