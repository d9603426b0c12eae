"""Exact conversions of Arrow columns to a field's Arrow type.

Each converter returns the converted values (null where it declines) and a
numpy mask of the rows it vouches for: the model would accept that input and
produce exactly that value. Declining is always safe (the row goes to the
model); vouching wrongly is the one bug to avoid, so inputs are narrowed by
strict regular expressions before any Arrow cast.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from concert_platform.validation.schema import FieldSpec

_EXACT_FLOAT = 2**53  # beyond this, int <-> float conversions round
_INT = r"^-?[0-9]{1,18}$"
_FLOAT = r"^-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]{1,2})?$"
_BOOL_WORDS = {
    "0": False,
    "off": False,
    "f": False,
    "false": False,
    "n": False,
    "no": False,
    "1": True,
    "on": True,
    "t": True,
    "true": True,
    "y": True,
    "yes": True,
}
# Years 1000-9899 only: keeps every accepted instant inside Python's datetime range.
_DATE = r"(?:1[0-9]{3}|[2-8][0-9]{3}|9[0-8][0-9]{2})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
_OFFSET = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
_DATETIME = f"^{_DATE}T{_CLOCK}{_OFFSET}$"
_ODD_DAY = r"^[0-9]{4}-(?:02-(?:29|3[01])|(?:0[469]|11)-31)"  # days that exist in no month or some years
_LEAP_FEB_29 = r"^(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29"
_US_PER = {"s": 1_000_000, "ms": 1_000, "us": 1}
_PY_MIN_US, _PY_MAX_US = -62_135_596_800_000_000 + 86_400_000_000, 253_402_214_400_000_000 - 86_400_000_000

Converted = tuple[pa.Array, np.ndarray]


def mask(arr) -> np.ndarray:
    """A boolean Arrow result as numpy, null counting as False."""
    return pc.fill_null(arr, False).to_numpy(zero_copy_only=False)


def present(arr: pa.Array) -> np.ndarray:
    return mask(pc.is_valid(arr))


def convert(spec: FieldSpec, col: pa.Array) -> Converted:
    return _CONVERTERS[spec.kind](spec, col)


def _declined(spec: FieldSpec, n: int) -> Converted:
    return pa.nulls(n, spec.arrow_type), np.zeros(n, dtype=bool)


def _keep(values: pa.Array, ok: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(ok, pa.bool_()), values, pa.scalar(None, values.type))


def _text(col: pa.Array):
    t = col.type
    if pa.types.is_string(t):
        return col
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return col.cast(pa.string())
    return None


def _regex(text: pa.Array, pattern: str) -> np.ndarray:
    return mask(pc.match_substring_regex(text, pattern))


def _floats(col: pa.Array) -> np.ndarray:
    """As float64, nulls as NaN; big integers round, so callers only trust small ones."""
    return col.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)


def _ints(col: pa.Array) -> np.ndarray:
    return pc.fill_null(col.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)


def _int_column(col: pa.Array) -> Converted:
    """Integers that fit int64 exactly, from integer columns."""
    if pa.types.is_uint64(col.type):
        ok = mask(pc.less_equal(col, pa.scalar(2**63 - 1, pa.uint64())))
        return _keep(col, ok).cast(pa.int64()), ok & present(col)
    return col.cast(pa.int64()), present(col)


def _str(spec: FieldSpec, col: pa.Array) -> Converted:
    text = _text(col)
    return (text, present(text)) if text is not None else _declined(spec, len(col))


def _int(spec: FieldSpec, col: pa.Array) -> Converted:
    t = col.type
    if pa.types.is_integer(t):
        return _int_column(col)
    if pa.types.is_floating(t):
        f = _floats(col)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(f) & (np.abs(f) <= _EXACT_FLOAT)
            ok &= np.floor(np.where(ok, f, 0)) == np.where(ok, f, 0)
        return pa.array(np.where(ok, f, 0).astype(np.int64), mask=~ok), ok
    text = _text(col)
    if text is None:
        return _declined(spec, len(col))
    ok = _regex(text, _INT)
    return _keep(text, ok).cast(pa.int64()), ok


def _float(spec: FieldSpec, col: pa.Array) -> Converted:
    t = col.type
    if pa.types.is_floating(t):
        f = _floats(col)
    elif pa.types.is_integer(t):
        values, ok = _int_column(col)
        f = np.where(ok, _ints(values), 0).astype(np.float64)
        ok &= np.abs(f) <= _EXACT_FLOAT
        return pa.array(f, mask=~ok), ok
    elif (text := _text(col)) is not None:
        ok = _regex(text, _FLOAT)
        f = _floats(_keep(text, ok))
    else:
        return _declined(spec, len(col))
    ok = np.isfinite(f)  # NaN (nulls included) and infinities go to the model
    return pa.array(f, mask=~ok), ok


def _bool(spec: FieldSpec, col: pa.Array) -> Converted:
    t = col.type
    if pa.types.is_boolean(t):
        return col, present(col)
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        f = _floats(col)
        ok = (f == 0) | (f == 1)
        return pa.array(f == 1, mask=~ok), ok
    text = _text(col)
    if text is None:
        return _declined(spec, len(col))
    ok = mask(pc.string_is_ascii(text))
    lower = pc.ascii_lower(_keep(text, ok))
    ok &= mask(pc.is_in(lower, value_set=pa.array(list(_BOOL_WORDS))))
    truthy = mask(pc.is_in(lower, value_set=pa.array([w for w, v in _BOOL_WORDS.items() if v])))
    return pa.array(truthy, mask=~ok), ok


def _decimal(spec: FieldSpec, col: pa.Array) -> Converted:
    scale = spec.arrow_type.scale
    whole = min(18, spec.max_digits or 18) - scale  # digits allowed before the point
    limit = 10**whole
    t = col.type
    if pa.types.is_integer(t):
        values, ok = _int_column(col)
        n = _ints(values)
        ok &= (n > -limit) & (n < limit)  # not np.abs: abs(-2**63) overflows to itself
        return decimal_array(np.where(ok, n, 0) * 10**scale, ok, spec.arrow_type), ok
    if pa.types.is_floating(t):
        # The model reads a float through its shortest repr. n / 10**scale is
        # correctly rounded (both exact below 2**53), so equality proves the
        # scale-digit decimal n is that repr's value.
        f = _floats(col)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(f) & (np.abs(f) < limit)
            n = np.round(np.where(ok, f, 0) * 10.0**scale)
            ok &= (np.abs(n) < _EXACT_FLOAT) & (n / 10.0**scale == np.where(ok, f, 0))
        return decimal_array(np.where(ok, n, 0).astype(np.int64), ok, spec.arrow_type), ok
    if pa.types.is_decimal(t):
        ok = mask(pc.less(pc.abs(col), pa.scalar(limit, pa.int64()).cast(pa.decimal128(19, 0))))
        if t.scale > scale:  # 1.5000 at scale 2 is fine: the model counts places after normalising
            ok &= mask(pc.equal(pc.round(col, ndigits=scale), col))
        return _keep(col, ok).cast(spec.arrow_type), ok
    text = _text(col)
    if text is None or whole < 1:
        return _declined(spec, len(col))
    fraction = rf"(?:\.[0-9]{{1,{scale}}})?" if scale else ""
    ok = _regex(text, rf"^-?[0-9]{{1,{whole}}}{fraction}$")
    return _keep(text, ok).cast(spec.arrow_type), ok


def decimal_array(unscaled: np.ndarray, ok: np.ndarray, type_: pa.DataType) -> pa.Array:
    """decimal128 values from their unscaled int64s, built directly from buffers."""
    unscaled = np.ascontiguousarray(unscaled, dtype=np.int64)
    words = np.empty((len(unscaled), 2), dtype=np.int64)
    words[:, 0], words[:, 1] = unscaled, unscaled >> 63  # little-endian two's complement
    validity = pa.array(ok, pa.bool_()).buffers()[1]
    return pa.Array.from_buffers(type_, len(unscaled), [validity, pa.py_buffer(words)], null_count=int((~ok).sum()))


def unscaled(arr: pa.Array) -> np.ndarray:
    """The unscaled int64s of a decimal128 array of precision <= 18 (nulls read as 0)."""
    words = np.frombuffer(arr.buffers()[1], dtype=np.int64)
    return np.where(present(arr), words[2 * arr.offset : 2 * (arr.offset + len(arr)) : 2], 0)


def _datetime(spec: FieldSpec, col: pa.Array) -> Converted:
    t = col.type
    if pa.types.is_timestamp(t):
        if t.tz is None and spec.aware:
            return _declined(spec, len(col))
        raw, ok = _ints(col), present(col)
        if t.unit == "ns":
            ok &= raw % 1000 == 0
            us = raw // 1000
        else:
            factor = _US_PER[t.unit]
            ok &= (raw >= -(_PY_MAX_US // factor)) & (raw <= _PY_MAX_US // factor)
            us = np.where(ok, raw, 0) * factor
        ok &= (us >= _PY_MIN_US) & (us <= _PY_MAX_US)
        return pa.array(np.where(ok, us, 0), pa.int64(), mask=~ok).cast(spec.arrow_type), ok
    text = _text(col)
    if text is None:
        return _declined(spec, len(col))
    ok = _real_days(text, _regex(text, _DATETIME))
    return _keep(text, ok).cast(spec.arrow_type), ok


def _date(spec: FieldSpec, col: pa.Array) -> Converted:
    t = col.type
    if pa.types.is_date32(t):
        return col, present(col)
    text = _text(col)
    if text is None:
        return _declined(spec, len(col))
    ok = _real_days(text, _regex(text, f"^{_DATE}$"))
    return _keep(text, ok).cast(pa.date32()), ok


def _real_days(text: pa.Array, ok: np.ndarray) -> np.ndarray:
    """Drop 31 April, 30 February and 29 February of common years."""
    odd = _regex(text, _ODD_DAY)
    if odd.any():
        ok &= ~(odd & ~_regex(text, _LEAP_FEB_29))
    return ok


def _time(spec: FieldSpec, col: pa.Array) -> Converted:
    t = col.type
    if pa.types.is_time32(t) or (pa.types.is_time64(t) and t.unit == "us"):
        return col.cast(pa.time64("us")), present(col)
    return _declined(spec, len(col))


def _list(spec: FieldSpec, col: pa.Array) -> Converted:
    t = col.type
    if not (pa.types.is_list(t) or pa.types.is_large_list(t)) or _text(pc.list_flatten(col)) is None:
        return _declined(spec, len(col))
    col = col.cast(pa.list_(pa.string()))
    return col, present(col)


_CONVERTERS: dict[str, Callable[[FieldSpec, pa.Array], Converted]] = {
    "str": _str,
    "literal": _str,
    "int": _int,
    "float": _float,
    "bool": _bool,
    "decimal": _decimal,
    "datetime": _datetime,
    "date": _date,
    "time": _time,
    "list": _list,
}
