"""The fast path: check whole columns against the rules derived from the model,
and hand only the rows it cannot vouch for to the model itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel

from concert_platform.models import base as model_base
from concert_platform.validation.constraints import MISSING, check_column
from concert_platform.validation.convert import present
from concert_platform.validation.records import (
    ValidationResult,
    batch_overrides,
    reject_factory,
    rejects_table,
    rows_to_table,
    validate_each,
)
from concert_platform.validation.schema import ModelPlan, model_plan


def validate_table(
    model: type[BaseModel],
    table: pa.Table,
    *,
    entity: str,
    partition_key: str = "",
    source: str | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> ValidationResult:
    """Same result as ``validate_records(model, table_records(model, table))``, column-wise where it can."""
    plan = model_plan(model)
    overrides = batch_overrides(plan, defaults)
    n = table.num_rows
    if plan.unsupported or n == 0:
        arrays, ok = None, np.zeros(n, dtype=bool)
    else:
        arrays, ok = _column_wise(plan, table, overrides)
    good, bad = np.flatnonzero(ok), np.flatnonzero(~ok)
    if len(good):
        keep = pa.array(ok, pa.bool_())
        fast = pa.Table.from_arrays([a.filter(keep) for a in arrays], schema=plan.schema)
    else:
        fast = plan.schema.empty_table()
    if not len(bad):
        return ValidationResult(fast, rejects_table([]), good, 0)

    records = table_records(model, table.take(pa.array(bad)))
    reject = reject_factory(entity, partition_key, source)
    rows, positions, rejects = validate_each(plan, records, overrides, reject)
    slow, positions = rows_to_table(plan.schema, rows, positions, records, reject, rejects)
    if slow.num_rows == 0:
        return ValidationResult(fast, rejects_table(rejects), good, len(bad))
    # Keep input order so callers see rows as they came.
    rows_at = np.concatenate([good, bad[np.asarray(positions, dtype=np.int64)]])
    order = np.argsort(rows_at, kind="stable")
    valid = pa.concat_tables([fast, slow]).take(pa.array(order))
    return ValidationResult(valid, rejects_table(rejects), rows_at[order], len(bad))


def table_records(model: type[BaseModel], table: pa.Table) -> list[dict]:
    """The records a table stands for. Arrow cannot tell a null cell from an absent
    key, so a null is absent (the model applies the default, or says "Field
    required") except in a required Optional field, where None is the value."""
    keep_nulls = {f.name for f in model_plan(model).fields if f.nullable and not f.has_default}
    names = table.column_names
    if not names:
        return [{} for _ in range(table.num_rows)]
    columns = [_python_values(col) for col in table.columns]
    return [
        {k: v for k, v in zip(names, row, strict=True) if v is not None or k in keep_nulls} for row in zip(*columns, strict=True)
    ]


def _python_values(col: pa.ChunkedArray) -> list:
    try:
        return col.to_pylist()
    except (OverflowError, ValueError, pa.ArrowException):
        # Arrow holds instants Python cannot (year 40000): show the model their text.
        return [_python_value(v) for v in col]


def _python_value(scalar: pa.Scalar):
    try:
        return scalar.as_py()
    except (OverflowError, ValueError, pa.ArrowException):
        try:
            return scalar.cast(pa.string()).as_py()
        except pa.ArrowException:
            return str(scalar)


def _column_wise(plan: ModelPlan, table: pa.Table, overrides: Mapping[str, Any]) -> tuple[list, np.ndarray]:
    n = table.num_rows
    # Through the module, so a test that freezes base.utc_now freezes this bound too.
    now = model_base.utc_now()
    names = set(table.column_names)
    ok = np.ones(n, dtype=bool)
    arrays = []
    for spec in plan.fields:
        col = table.column(spec.name) if spec.name in names else None
        if spec.name in overrides:
            fill = overrides[spec.name]
        else:
            fill = spec.default if spec.has_default and spec.factory is None else MISSING
        values, field_ok = check_column(spec, col, n, fill, now)
        ok &= field_ok
        arrays.append(values)
    if plan.forbid_extra:
        for name in names - {f.name for f in plan.fields}:
            ok &= ~present(table.column(name).combine_chunks())
    return arrays, ok
