"""What a batch needs to know about a Pydantic model: its Arrow schema and,
per field, the rules the model enforces, in a form column-wise code can apply.

The analysis is conservative on purpose: anything it does not recognise
(a custom validator, an unknown constraint, a config switch that changes
parsing) marks the field or the whole model as not checkable column-wise,
which only sends rows to the model itself — slower, never wrong.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
import pyarrow as pa
from pydantic import AfterValidator, AwareDatetime, BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from concert_platform.models.base import DateBetween, NotInFuture, OneOf

_RULES = (OneOf, NotInFuture, DateBetween)
_RULE_KINDS = {OneOf: ("str", "literal"), NotInFuture: ("datetime",), DateBetween: ("date",)}
# Arrow's RE2 and pydantic's Rust regex agree on plain syntax; escapes such
# as \d or \w (Unicode-aware in Rust, ASCII in RE2) and (?...) groups differ.
_UNPORTABLE_REGEX = re.compile(r"\\[A-Za-z0-9]|\(\?|[^\x00-\x7f]")
# Config keys that do not change what a field accepts or produces.
_HARMLESS_CONFIG = {
    "title",
    "json_schema_extra",
    "frozen",
    "extra",
    "arbitrary_types_allowed",
    "validate_assignment",
    "use_attribute_docstrings",
    "from_attributes",
    "model_title_generator",
    "field_title_generator",
    "defer_build",
    "plugin_settings",
    "hide_input_in_errors",
    "cache_strings",
    "json_encoders",
    "ser_json_timedelta",
    "ser_json_temporal",
    "ser_json_bytes",
    "ser_json_inf_nan",
    "val_json_bytes",
    "json_schema_mode_override",
    "json_schema_serialization_defaults_required",
    "protected_namespaces",
    "loc_by_alias",
    "revalidate_instances",
    "validation_error_cause",
    "serialize_by_alias",
    "use_enum_values",
    "allow_inf_nan",  # non-finite numbers are never accepted column-wise
}


@dataclass
class FieldSpec:
    name: str
    kind: str = ""  # str | literal | int | float | bool | decimal | datetime | date | time | list
    arrow_type: pa.DataType | None = None
    nullable: bool = False  # Optional[...]: None is a value
    default: Any = PydanticUndefined
    factory: Callable[[], Any] | None = None
    aware: bool = False  # AwareDatetime: naive input is an error
    literals: frozenset = frozenset()
    item: FieldSpec | None = None  # list items
    bounds: list = field(default_factory=list)  # [("ge"|"gt"|"le"|"lt", value)]
    min_len: int | None = None
    max_len: int | None = None
    pattern: str | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    multiple_of: Any = None
    rules: list = field(default_factory=list)  # OneOf / NotInFuture / DateBetween
    unsupported: str | None = None  # why values of this field cannot be checked column-wise

    @property
    def has_default(self) -> bool:
        return self.factory is not None or self.default is not PydanticUndefined

    def refuse(self, why: str) -> None:
        self.unsupported = self.unsupported or why


@dataclass
class ModelPlan:
    model: type[BaseModel]
    fields: list[FieldSpec]
    schema: pa.Schema
    forbid_extra: bool
    unsupported: str | None  # why no row of this model can be accepted column-wise

    def reasons(self) -> dict[str, str]:
        """Why (parts of) the model go per-record; empty when all is column-wise."""
        out = {"<model>": self.unsupported} if self.unsupported else {}
        out.update({f.name: f.unsupported for f in self.fields if f.unsupported})
        return out


def arrow_schema(model: type[BaseModel]) -> pa.Schema:
    return model_plan(model).schema


@cache
def model_plan(model: type[BaseModel]) -> ModelPlan:
    specs = [field_spec(name, info) for name, info in model.model_fields.items()]
    schema = pa.schema([pa.field(s.name, s.arrow_type, nullable=s.nullable) for s in specs])
    config = model.model_config
    return ModelPlan(model, specs, schema, config.get("extra") == "forbid", _model_refusal(model))


def _model_refusal(model: type[BaseModel]) -> str | None:
    decorators = model.__pydantic_decorators__
    for kind in ("validators", "field_validators", "root_validators", "model_validators"):
        if getattr(decorators, kind):
            return f"has {kind.replace('_', ' ')}: {', '.join(getattr(decorators, kind))}"
    if model.model_post_init is not BaseModel.model_post_init:
        return "overrides model_post_init"
    for key, value in model.model_config.items():
        if key in _HARMLESS_CONFIG or value in (None, False) or (key == "regex_engine" and value == "rust-regex"):
            continue
        return f"config {key}={value!r}"
    for name, info in model.model_fields.items():
        if info.alias or info.validation_alias:
            return f"{name} has an alias"
        if info.validate_default or getattr(info, "default_factory_takes_data", False):
            return f"{name}'s default is validated or computed from the data"
    return None


def field_spec(name: str, info: FieldInfo) -> FieldSpec:
    spec = FieldSpec(name, default=info.default, factory=info.default_factory)
    base = _describe(info.annotation, list(info.metadata), spec)
    if spec.kind == "":
        raise TypeError(f"{name}: no Arrow type for {base!r}")
    _vet(spec)
    return spec


def _describe(tp: Any, meta: list, spec: FieldSpec) -> Any:
    """Fill ``spec`` from an annotation; returns the innermost type."""
    outside_optional = True
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp, *extra = get_args(tp)
            meta.extend(_flatten(extra))
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1 or len(get_args(tp)) != 2:
                raise TypeError(f"{spec.name}: only Optional[X] unions map to Arrow, not {tp!r}")
            if outside_optional and any(isinstance(m, AfterValidator) or callable(m) for m in meta):
                spec.refuse("a validator outside Optional[...] also sees None")
            spec.nullable, outside_optional, tp = True, False, args[0]
        else:
            break
    _base(tp, spec)
    for m in meta:
        _constraint(m, spec)
    if spec.kind == "decimal":
        spec.arrow_type = pa.decimal128(18, spec.decimal_places if spec.decimal_places is not None else 4)
    return tp


def _flatten(items: list) -> list:
    out = []
    for m in items:
        if isinstance(m, FieldInfo):
            out.extend(_flatten(m.metadata))
        elif isinstance(m, at.Interval):
            out.extend(m)
        else:
            out.append(m)
    return out


def _base(tp: Any, spec: FieldSpec) -> None:
    if tp is AwareDatetime:
        spec.kind, spec.aware, spec.arrow_type = "datetime", True, pa.timestamp("us", "UTC")
    elif tp is datetime:
        spec.kind, spec.arrow_type = "datetime", pa.timestamp("us", "UTC")
    elif isinstance(tp, type) and issubclass(tp, datetime):  # Naive/Past/FutureDatetime
        spec.kind, spec.arrow_type = "datetime", pa.timestamp("us", "UTC")
        spec.refuse(f"{tp.__name__} is not checked column-wise")
    elif tp is date:
        spec.kind, spec.arrow_type = "date", pa.date32()
    elif tp is time:
        spec.kind, spec.arrow_type = "time", pa.time64("us")
    elif tp is bool:
        spec.kind, spec.arrow_type = "bool", pa.bool_()
    elif tp is int:
        spec.kind, spec.arrow_type = "int", pa.int64()
    elif tp is float:
        spec.kind, spec.arrow_type = "float", pa.float64()
    elif tp is str:
        spec.kind, spec.arrow_type = "str", pa.string()
    elif tp is Decimal:
        spec.kind = "decimal"  # arrow_type set once decimal_places is known
    elif get_origin(tp) is Literal:
        spec.kind, spec.arrow_type, spec.literals = "literal", pa.string(), frozenset(get_args(tp))
        if not all(type(v) is str for v in spec.literals):
            spec.refuse("only all-string Literals are checked column-wise")
    elif get_origin(tp) is list and len(get_args(tp)) == 1:
        item = FieldSpec(f"{spec.name}[]")
        _describe(get_args(tp)[0], [], item)
        _vet(item)
        if item.kind != "str" or item.nullable:
            raise TypeError(f"{spec.name}: only list[str] maps to Arrow")
        spec.kind, spec.item, spec.arrow_type = "list", item, pa.list_(pa.string())
        if item.unsupported:
            spec.refuse(item.unsupported)


def _constraint(m: Any, spec: FieldSpec) -> None:
    if isinstance(m, (at.Ge, at.Gt, at.Le, at.Lt)):
        op = type(m).__name__.lower()
        spec.bounds.append((op, getattr(m, op)))
    elif isinstance(m, at.MinLen):
        spec.min_len = m.min_length
    elif isinstance(m, at.MaxLen):
        spec.max_len = m.max_length
    elif isinstance(m, at.MultipleOf):
        spec.multiple_of = m.multiple_of
    elif type(m).__name__ == "_PydanticGeneralMetadata":
        for key, value in vars(m).items():
            if key in ("pattern", "max_digits", "decimal_places"):
                setattr(spec, key, value)
            elif value not in (None, False) and key != "allow_inf_nan":
                spec.refuse(f"constraint {key}={value!r}")
    elif isinstance(m, AfterValidator) and isinstance(m.func, _RULES):
        spec.rules.append(m.func)
    else:
        spec.refuse(f"metadata {m!r}")


def _vet(spec: FieldSpec) -> None:
    """Refuse the combinations the column-wise checks do not reproduce exactly."""
    kind = spec.kind
    for _, bound in spec.bounds:
        exact = {
            "int": type(bound) is int,
            "float": type(bound) is float or (type(bound) is int and abs(bound) <= 2**53),
            "decimal": type(bound) is int or (isinstance(bound, Decimal) and bound.is_finite()),
        }.get(kind, False)
        if not exact:
            spec.refuse(f"bound {bound!r} on a {kind} field")
    if (spec.min_len is not None or spec.max_len is not None) and kind not in ("str", "literal", "list"):
        spec.refuse(f"length limits on a {kind} field")
    if spec.pattern is not None and (kind not in ("str", "literal") or _UNPORTABLE_REGEX.search(spec.pattern)):
        spec.refuse(f"pattern {spec.pattern!r}")
    if kind == "decimal":
        if spec.max_digits is not None and spec.decimal_places is None:
            spec.refuse("max_digits without decimal_places")
        if (spec.decimal_places or 0) > 17:
            spec.refuse("more than 17 decimal places")
    elif spec.max_digits is not None or spec.decimal_places is not None:
        spec.refuse(f"digit limits on a {kind} field")
    if spec.multiple_of is not None and not (kind == "int" and type(spec.multiple_of) is int and spec.multiple_of > 0):
        spec.refuse(f"multiple_of on a {kind} field")
    for rule in spec.rules:
        if kind not in _RULE_KINDS[type(rule)] or (isinstance(rule, NotInFuture) and not spec.aware):
            spec.refuse(f"{type(rule).__name__} on a {kind} field")
