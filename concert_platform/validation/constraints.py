"""The model's constraints and rule objects, applied to whole converted columns."""

from __future__ import annotations

import math
from datetime import datetime
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from concert_platform.models.base import DateBetween, NotInFuture, OneOf
from concert_platform.validation.convert import convert, mask, present, unscaled
from concert_platform.validation.schema import FieldSpec

MISSING = object()


def check_column(spec: FieldSpec, col, n: int, fill: Any, now: datetime) -> tuple[pa.Array, np.ndarray]:
    """Values of one field for every row, and the rows the model would accept as is.

    A null cell stands for an absent key (Arrow cannot tell them apart), so it
    takes the field's default, or None for an Optional field without one.
    """
    if col is None:
        # A missing column is an absent key for every row: only a default fills it.
        if not spec.has_default:
            return pa.nulls(n, spec.arrow_type), np.zeros(n, dtype=bool)
        col = pa.nulls(n)
    elif isinstance(col, pa.ChunkedArray):
        col = col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    has = present(col)
    if spec.unsupported or not has.any():
        values, ok = pa.nulls(n, spec.arrow_type), np.zeros(n, dtype=bool)
    else:
        values, ok = convert(spec, col)
        if ok.any():
            ok &= satisfies(spec, values, now)
    if spec.has_default or spec.nullable:
        ok |= ~has
    if fill is not MISSING and fill is not None:
        values = pc.fill_null(values, pa.scalar(fill, spec.arrow_type))
    return values, ok


def satisfies(spec: FieldSpec, values: pa.Array, now: datetime) -> np.ndarray:
    """Rows whose (converted, non-null) value meets every constraint and rule of the field."""
    ok = present(values)
    kind = spec.kind
    if kind in ("str", "literal"):
        ok &= _text_ok(spec, values)
    elif kind == "list":
        ok &= _lengths_ok(spec, pc.list_value_length(values))
        items = pc.list_flatten(values)
        bad_items = ~satisfies(spec.item, items, now)
        ok[pc.list_parent_indices(values).to_numpy()[bad_items]] = False
    elif kind == "int":
        ints = np.where(ok, pc.fill_null(values, 0).to_numpy(zero_copy_only=False), 0)
        ok &= _in_range(ints, spec.bounds, 0)
        if spec.multiple_of is not None:
            ok &= ints % spec.multiple_of == 0
    elif kind == "decimal":
        ok &= _in_range(unscaled(values), spec.bounds, spec.arrow_type.scale)
    elif kind == "float":
        ok &= _float_range(values.to_numpy(zero_copy_only=False), spec.bounds)
    for rule in spec.rules:
        ok &= _rule_ok(rule, values, now)
    return ok


def _text_ok(spec: FieldSpec, text: pa.Array) -> np.ndarray:
    ok = np.ones(len(text), dtype=bool)
    if spec.min_len is not None or spec.max_len is not None:
        ok &= _lengths_ok(spec, pc.utf8_length(text))
    if spec.pattern is not None:
        ok &= mask(pc.match_substring_regex(text, spec.pattern))
    if spec.literals:
        ok &= mask(pc.is_in(text, value_set=_value_set(spec.literals)))
    return ok


def _lengths_ok(spec: FieldSpec, lengths: pa.Array) -> np.ndarray:
    n = pc.fill_null(lengths, 0).to_numpy(zero_copy_only=False)
    ok = np.ones(len(n), dtype=bool)
    if spec.min_len is not None:
        ok &= n >= spec.min_len
    if spec.max_len is not None:
        ok &= n <= spec.max_len
    return ok


def _in_range(ints: np.ndarray, bounds: list, scale: int) -> np.ndarray:
    """Bounds on integers (or unscaled decimals) turned into exact integer limits."""
    lo, hi = -(2**63), 2**63 - 1
    for op, bound in bounds:
        x = Fraction(bound) * 10**scale
        if op == "ge":
            lo = max(lo, math.ceil(x))
        elif op == "gt":
            lo = max(lo, math.floor(x) + 1)
        elif op == "le":
            hi = min(hi, math.floor(x))
        else:
            hi = min(hi, math.ceil(x) - 1)
    if lo > hi:
        return np.zeros(len(ints), dtype=bool)
    return (ints >= lo) & (ints <= hi)


def _float_range(f: np.ndarray, bounds: list) -> np.ndarray:
    ok = np.ones(len(f), dtype=bool)
    with np.errstate(invalid="ignore"):
        for op, bound in bounds:
            ok &= {"ge": np.greater_equal, "gt": np.greater, "le": np.less_equal, "lt": np.less}[op](f, float(bound))
    return ok


def _rule_ok(rule, values: pa.Array, now: datetime) -> np.ndarray:
    if isinstance(rule, OneOf):
        return mask(pc.is_in(values, value_set=_value_set(rule.values)))
    if isinstance(rule, NotInFuture):
        # `now` is taken before the model would take its own, so this bound is
        # never later than the model's: what passes here passes there.
        return mask(pc.less_equal(values, pa.scalar(now + rule.tolerance, values.type)))
    if isinstance(rule, DateBetween):
        return mask(
            pc.and_(
                pc.greater_equal(values, pa.scalar(rule.earliest, pa.date32())),
                pc.less_equal(values, pa.scalar(rule.latest, pa.date32())),
            )
        )
    raise TypeError(f"no column-wise form of {rule!r}")  # schema._vet lets only the above through


@lru_cache(maxsize=64)
def _value_set(values: frozenset) -> pa.Array:
    return pa.array(sorted(values), pa.string())
