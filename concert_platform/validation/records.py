"""The authoritative path: one ``model_validate`` per record, and the rejects table.

Everything the column-wise path does not vouch for ends here, so every
reject carries Pydantic's own message and no row the model accepts is lost.
Around the model, `warehouse_safe` rejects what no warehouse could hold: input
that is no text before the model sees it, stored values after it; those
rejects name the row (``rows``) and the source besides the field.
"""

from __future__ import annotations

import gc
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ValidationError

from concert_platform.models.base import condense
from concert_platform.validation.schema import ModelPlan, arrow_schema, model_plan
from concert_platform.validation.warehouse_safe import storable_text, unreadable_value, unstorable

REJECTS_SCHEMA = pa.schema(
    [
        pa.field("entity", pa.string(), nullable=False),
        pa.field("partition_key", pa.string(), nullable=False),  # "" for unpartitioned assets
        pa.field("source", pa.string()),  # file name or source id
        pa.field("record", pa.string(), nullable=False),  # the raw record as JSON text
        pa.field("error", pa.string(), nullable=False),
        pa.field("rejected_at", pa.timestamp("us", "UTC"), nullable=False),
    ]
)


@dataclass
class ValidationResult:
    valid: pa.Table  # schema: arrow_schema(model)
    rejects: pa.Table  # schema: REJECTS_SCHEMA
    # Position in the input of each valid row, so callers can reach the raw row.
    source_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    per_record: int = 0  # rows that needed the model itself (the rest passed column-wise)


Located = list[tuple[int, dict]]  # rejects with the input position of their row, to put them in input order


def validate_records(
    model: type[BaseModel],
    records: Iterable[Any],
    *,
    entity: str,
    partition_key: str = "",
    source: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    rows: Sequence[int] | np.ndarray | None = None,
) -> ValidationResult:
    """``model_validate`` each record. ``defaults`` replace the model's default for
    fields absent from a record (e.g. one load timestamp for created_at); fields
    with a default_factory get one value per call, not one per record. ``rows``
    number the records in their source (lines of a file; default 1, 2, ...) for
    the rejects of values no warehouse can store."""
    plan = model_plan(model)
    records = records if isinstance(records, list) else list(records)
    reject = reject_factory(entity, partition_key, source)
    where = row_namer(rows, source)
    values, positions, rejects = validate_each(plan, records, batch_overrides(plan, defaults), reject, where)
    valid, kept = rows_to_table(plan.schema, values, positions, records, reject, rejects, where)
    valid, kept = drop_unstorable(valid, kept, records, reject, rejects, where)
    return ValidationResult(valid, in_order(rejects), np.asarray(kept, dtype=np.int64), len(records))


def row_namer(rows: Sequence[int] | np.ndarray | None, source: str | None) -> Callable[[int], str]:
    """Position of an input row -> where it is, for messages: "row 7 of a.jsonl"."""
    of = f" of {source}" if source else ""
    if rows is None:
        return lambda i: f"row {i + 1}{of}"
    return lambda i: f"row {int(rows[i])}{of}"


def in_order(rejects: Located) -> pa.Table:
    return rejects_table([r for _, r in sorted(rejects, key=lambda pr: pr[0])])


def validate_each(
    plan: ModelPlan, records: list, overrides: Mapping[str, Any], reject, where: Callable[[int], str]
) -> tuple[list, list, Located]:
    validate = plan.model.model_validate
    rows, positions, rejects = [], [], []
    # Half the per-record time is the cyclic GC walking fresh objects; none are cycles.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        for i, record in enumerate(records):
            problem = unreadable_fields(plan, record)
            if problem:
                rejects.append((i, reject(record, f"{problem} ({where(i)})")))
                continue
            try:
                instance = validate(record)
            except ValidationError as exc:
                rejects.append((i, reject(record, condense(exc))))
                continue
            row = instance.__dict__
            if overrides and isinstance(record, Mapping):
                absent = {k: v for k, v in overrides.items() if k not in record}
                if absent:
                    row = {**row, **absent}
            rows.append(row)
            positions.append(i)
    finally:
        if gc_was_on:
            gc.enable()
    return rows, positions, rejects


def unreadable_fields(plan: ModelPlan, record: Any) -> str | None:
    """What in a record's model fields is no text at all (lone surrogates, bytes that are not UTF-8):
    Pydantic would only say "unable to parse", so it is told here, with the row, as the fast path does."""
    if not isinstance(record, Mapping):
        return None
    problems = []
    for spec in plan.fields:
        value = record.get(spec.name)
        if value is not None and not (type(value) is str and value.isascii()):
            problem = unreadable_value(value)
            if problem:
                problems.append(f"{spec.name}: {problem}")
    return "; ".join(problems) or None


def drop_unstorable(
    table: pa.Table, positions: list[int], records: list, reject, rejects: Located, where: Callable[[int], str]
) -> tuple[pa.Table, list[int]]:
    """The valid rows minus those holding a value some warehouse refuses (NUL, instants
    past the year 9999, ...); each of those becomes a reject of its raw record."""
    problems = unstorable_rows(table)
    if not problems:
        return table, positions
    keep = np.ones(table.num_rows, dtype=bool)
    for row, problem in sorted(problems.items()):
        pos = positions[row]
        rejects.append((pos, reject(records[pos], f"{problem} ({where(pos)})")))
        keep[row] = False
    return table.filter(pa.array(keep)), [p for p, k in zip(positions, keep, strict=True) if k]


def unstorable_rows(table: pa.Table | Mapping[str, pa.Array], only: np.ndarray | None = None) -> dict[int, str]:
    """Row -> "field: problem; field: problem" for the values (by column) some warehouse refuses;
    ``only`` limits it to the rows marked True."""
    columns = table.items() if isinstance(table, Mapping) else zip(table.column_names, table.columns, strict=True)
    found: dict[int, list[str]] = {}
    for name, values in columns:
        for row, problem in unstorable(values).items():
            if only is None or only[row]:
                found.setdefault(row, []).append(f"{name}: {problem}")
    return {row: "; ".join(problems) for row, problems in found.items()}


def batch_overrides(plan: ModelPlan, defaults: Mapping[str, Any] | None) -> dict[str, Any]:
    """One value per batch for each default_factory field (and each explicit default)."""
    defaults = dict(defaults or {})
    out, made = {}, {}  # one call per factory: created_at and updated_at share utc_now's value
    for spec in plan.fields:
        if spec.name in defaults:
            if not spec.has_default:
                raise ValueError(f"{spec.name} is required by {plan.model.__name__}; it has no default to replace")
            out[spec.name] = defaults.pop(spec.name)
        elif spec.factory is not None:
            if spec.factory not in made:
                made[spec.factory] = spec.factory()
            out[spec.name] = made[spec.factory]
    if defaults:
        raise ValueError(f"{plan.model.__name__} has no field {', '.join(defaults)}")
    return out


_FIELD_IN_ERROR = re.compile(r"(?:^|; )([A-Za-z_]\w*)[\w.]*: ")


def reject_reason(error: str | None) -> str:
    """A reject's group: 'invalid currency, quantity' for a model's message, else its first clause, cut short."""
    names = sorted(set(_FIELD_IN_ERROR.findall(error or "")))
    if names:
        return f"invalid {', '.join(names)}"
    return (error or "unknown").split(";")[0].strip()[:80]


def reject_factory(entity: str, partition_key: str, source: str | None, rejected_at: datetime | None = None):
    rejected_at = rejected_at or datetime.now(UTC)

    def reject(record: Any, error: str) -> dict:
        return {
            "entity": entity,
            "partition_key": partition_key,
            "source": source,
            "record": record_json(record),
            "error": error,
            "rejected_at": rejected_at,
        }

    return reject


_TEXT_COLUMNS = [f.name for f in REJECTS_SCHEMA if pa.types.is_string(f.type)]


def rejects_table(rows: list[dict]) -> pa.Table:
    """Rows with REJECTS_SCHEMA's keys; partition_key defaults to "" and rejected_at to now.

    The rejects go to the warehouse too, so their text is made storable
    (`storable_text`): a bad value never fails the load of its own reject.
    """
    now = datetime.now(UTC)
    full = [{"partition_key": "", "source": None, "rejected_at": now, **row} for row in rows]
    for row in full:
        for name in _TEXT_COLUMNS:
            if isinstance(row.get(name), str):
                row[name] = storable_text(row[name])
    return pa.Table.from_pylist(full, schema=REJECTS_SCHEMA)


def record_json(record: Any) -> str:
    """The raw record as JSON text every warehouse stores; never fails (values JSON
    lacks become strings, bytes that are not UTF-8 show as \\xff escapes)."""
    try:
        text = json.dumps(record, default=_jsonable, ensure_ascii=False, allow_nan=False)
    except (ValueError, TypeError):
        try:
            text = json.dumps(_finite(record), default=_jsonable, ensure_ascii=False, allow_nan=False)
        except (ValueError, TypeError):
            text = json.dumps(repr(record), ensure_ascii=False)
    return storable_text(text)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)  # Decimal, numpy scalars, anything else


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def models_to_table(model: type[BaseModel], instances: list[BaseModel]) -> pa.Table:
    schema = arrow_schema(model)
    failures: list = []
    table, _ = rows_to_table(
        schema, [i.__dict__ for i in instances], list(range(len(instances))), instances, lambda record, error: error, failures
    )
    if failures:
        raise ValueError(f"{len(failures)} instance(s) cannot be stored, first: {failures[0][1]}")
    problems = unstorable_rows(table)
    if problems:
        row = min(problems)
        raise ValueError(f"{len(problems)} instance(s) hold values a warehouse refuses, first (#{row}): {problems[row]}")
    return table


def rows_to_table(
    schema: pa.Schema,
    rows: list[dict],
    positions: list[int],
    records: list,
    reject,
    rejects: Located,
    where: Callable[[int], str] | None = None,
) -> tuple[pa.Table, list[int]]:
    """Validated rows as an Arrow table. A value the model accepts but Arrow
    cannot hold (an int past int64) becomes a reject instead of a crash."""
    try:
        return _columns(schema, rows), positions
    except (pa.ArrowException, OverflowError, ValueError, TypeError):
        pass
    keep = []
    for row, pos in zip(rows, positions, strict=True):
        problem = _unstorable(schema, row)
        if problem:
            rejects.append((pos, reject(records[pos], f"{problem} ({where(pos)})" if where else problem)))
        else:
            keep.append((row, pos))
    return _columns(schema, [r for r, _ in keep]), [p for _, p in keep]


def _columns(schema: pa.Schema, rows: list[dict]) -> pa.Table:
    arrays = [pa.array([row[f.name] for row in rows], type=f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def _unstorable(schema: pa.Schema, row: dict) -> str | None:
    for f in schema:
        try:
            pa.array([row[f.name]], type=f.type)
        except (pa.ArrowException, OverflowError, ValueError, TypeError) as exc:
            return f"{f.name}: cannot be stored as {f.type}: {' '.join(str(exc).split())}"
    return None
