"""The fast path: check whole columns against the rules derived from the model,
and hand only the rows it cannot vouch for to the model itself.

Rows whose input no warehouse could hold (`warehouse_safe.unreadable`) are
rejected first and leave the batch; rows the columns vouch for but holding a
value some warehouse refuses (`warehouse_safe.unstorable`) are rejected too,
with the same words the per-record path finds for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel

from concert_platform.models import base as model_base
from concert_platform.validation.constraints import MISSING, check_column
from concert_platform.validation.convert import present
from concert_platform.validation.records import (
    Located,
    ValidationResult,
    batch_overrides,
    drop_unstorable,
    in_order,
    reject_factory,
    row_namer,
    rows_to_table,
    unstorable_rows,
    validate_each,
)
from concert_platform.validation.schema import ModelPlan, model_plan
from concert_platform.validation.warehouse_safe import beyond_python, unreadable


def validate_table(
    model: type[BaseModel],
    table: pa.Table,
    *,
    entity: str,
    partition_key: str = "",
    source: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    rows: Sequence[int] | np.ndarray | None = None,
) -> ValidationResult:
    """Same result as ``validate_records(model, table_records(model, table))``, column-wise where it can.
    ``rows`` as for ``validate_records``."""
    plan = model_plan(model)
    overrides = batch_overrides(plan, defaults)
    reject = reject_factory(entity, partition_key, source)
    where = row_namer(rows, source)
    rejects: Located = []
    table, at = _without_unreadable(plan, table, reject, where, rejects)  # at: input position of each row left
    n = table.num_rows
    done = np.zeros(n, dtype=bool)  # rejected here, column-wise
    if plan.unsupported or n == 0:
        arrays, ok = None, np.zeros(n, dtype=bool)
    else:
        arrays, ok = _column_wise(plan, table, overrides)
        unsafe = unstorable_rows(dict(zip(plan.schema.names, arrays, strict=True)), only=ok) if ok.any() else {}
        if unsafe:
            found = sorted(unsafe)
            for row, record in zip(found, table_records(model, table.take(pa.array(found))), strict=True):
                rejects.append((at[row], reject(record, f"{unsafe[row]} ({where(at[row])})")))
            ok[found], done[found] = False, True
    good, bad = np.flatnonzero(ok), np.flatnonzero(~ok & ~done)
    if len(good):
        keep = pa.array(ok, pa.bool_())
        fast = pa.Table.from_arrays([a.filter(keep) for a in arrays], schema=plan.schema)
    else:
        fast = plan.schema.empty_table()
    if not len(bad):
        return ValidationResult(fast, in_order(rejects), at[good], 0)

    records = table_records(model, table.take(pa.array(bad)))
    slow_at = at[bad]

    def slow_where(j: int) -> str:
        return where(slow_at[j])

    values, positions, slow_rejects = validate_each(plan, records, overrides, reject, slow_where)
    slow, positions = rows_to_table(plan.schema, values, positions, records, reject, slow_rejects, slow_where)
    slow, positions = drop_unstorable(slow, positions, records, reject, slow_rejects, slow_where)
    rejects += [(slow_at[j], r) for j, r in slow_rejects]
    if slow.num_rows == 0:
        return ValidationResult(fast, in_order(rejects), at[good], len(bad))
    # Keep input order so callers see rows as they came.
    rows_at = np.concatenate([at[good], slow_at[np.asarray(positions, dtype=np.int64)]])
    order = np.argsort(rows_at, kind="stable")
    valid = pa.concat_tables([fast, slow]).take(pa.array(order))
    return ValidationResult(valid, in_order(rejects), rows_at[order], len(bad))


def _without_unreadable(plan: ModelPlan, table: pa.Table, reject, where, rejects: Located) -> tuple[pa.Table, np.ndarray]:
    """The table minus the rows whose input no warehouse could hold (each becomes a reject),
    and the input position of each row kept. Column-wise: one validation per text column."""
    n = table.num_rows
    names = set(table.column_names)
    found: dict[int, list[str]] = {}
    for spec in plan.fields:
        if spec.name in names:
            for row, problem in unreadable(table.column(spec.name)).items():
                found.setdefault(row, []).append(f"{spec.name}: {problem}")
    if not found:
        return table, np.arange(n, dtype=np.int64)
    bad = sorted(found)
    for row, record in zip(bad, table_records(plan.model, table.take(pa.array(bad))), strict=True):
        rejects.append((row, reject(record, f"{'; '.join(found[row])} ({where(row)})")))
    keep = np.ones(n, dtype=bool)
    keep[bad] = False
    return table.filter(pa.array(keep)), np.flatnonzero(keep)


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
    beyond = beyond_python(col)
    if beyond:
        # Arrow holds dates and instants Python cannot (year 40000), and times past midnight:
        # the model sees their text, marked as out of range, so it is rejected as the fast path does.
        return [beyond[i] if i in beyond else _python_value(v) for i, v in enumerate(col)]
    try:
        return col.to_pylist()
    except UnicodeDecodeError:
        # Text that is not UTF-8 is bytes, as it arrived: the model (and the reject) see them.
        return _with_bytes(col)
    except (OverflowError, ValueError, pa.ArrowException):
        # Nanoseconds Python cannot keep: the model sees their text.
        return [_python_value(v) for v in col]


def _with_bytes(col: pa.ChunkedArray) -> list:
    t = col.type
    if pa.types.is_dictionary(t):
        col, t = col.cast(t.value_type), t.value_type
    binary = _binary_like(t)
    if binary is None:
        return [_python_value(v) for v in col]
    return [_decoded(v) for v in col.cast(binary).to_pylist()]


def _binary_like(t: pa.DataType) -> pa.DataType | None:
    if pa.types.is_string(t) or pa.types.is_string_view(t):
        return pa.binary()
    if pa.types.is_large_string(t):
        return pa.large_binary()
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        item = _binary_like(t.value_type)
        if item is None:
            return None
        return pa.list_(item) if pa.types.is_list(t) else pa.large_list(item)
    return None


def _decoded(value):
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    return value


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
