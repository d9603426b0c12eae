"""validation: the column-wise path must agree with the model, row for row."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Literal

import pyarrow as pa
import pytest
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from concert_platform.models import TicketSale, Venue
from concert_platform.models.base import CountryCode, EventDate, PastTimestamp
from concert_platform.validation import (
    REJECTS_SCHEMA,
    arrow_schema,
    model_plan,
    models_to_table,
    rejects_table,
    table_records,
    validate_records,
    validate_table,
)

UTC = UTC
LOADED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
NOW = datetime.now(UTC)


class Sink(BaseModel):
    """Every field kind and constraint the fast path knows, in one model."""

    name: Annotated[str, Field(min_length=1, max_length=5)]
    code: Annotated[str, Field(pattern=r"^[A-Z]{2}-[0-9]+$")] | None = None
    kind: Literal["a", "b"] = "a"
    flag: bool = False
    ratio: Annotated[float, Field(gt=-1.5, le=100)]
    count: Annotated[int, Field(ge=0, lt=1000, multiple_of=5)] | None = None
    amount: Annotated[Decimal, Field(max_digits=6, decimal_places=2, ge=Decimal("-10.5"))] | None = None
    loose: Decimal | None = None
    day: EventDate
    at: datetime | None = None
    seen: PastTimestamp | None = None
    clock: time | None = None
    tags: Annotated[list[Annotated[str, Field(min_length=1, max_length=3)]], Field(max_length=3)] = Field(default_factory=list)
    country: CountryCode | None = None
    visited: list[CountryCode] = Field(default_factory=list)
    must_say: int | None  # required, but None is a value


class Forbidding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


class WithModelValidator(BaseModel):
    a: int

    @model_validator(mode="after")
    def _odd(self):
        if self.a % 2 == 0:
            raise ValueError("a must be odd")
        return self


class WithBefore(BaseModel):
    a: Annotated[int, BeforeValidator(lambda v: v * 2 if isinstance(v, int) else v)]


# ---------------------------------------------------------------- schema


def test_arrow_schema_maps_every_kind_in_field_order():
    schema = arrow_schema(Sink)
    assert schema.names == list(Sink.model_fields)
    types = {f.name: (f.type, f.nullable) for f in schema}
    assert types["name"] == (pa.string(), False)
    assert types["code"] == (pa.string(), True)
    assert types["kind"] == (pa.string(), False)
    assert types["flag"] == (pa.bool_(), False)
    assert types["ratio"] == (pa.float64(), False)
    assert types["count"] == (pa.int64(), True)
    assert types["amount"] == (pa.decimal128(18, 2), True)
    assert types["loose"] == (pa.decimal128(18, 4), True)
    assert types["day"] == (pa.date32(), False)
    assert types["at"] == (pa.timestamp("us", "UTC"), True)
    assert types["clock"] == (pa.time64("us"), True)
    assert types["tags"] == (pa.list_(pa.string()), False)
    assert arrow_schema(TicketSale).field("unit_price").type == pa.decimal128(18, 4)
    assert arrow_schema(TicketSale).field("sold_at").type == pa.timestamp("us", "UTC")


def test_models_to_table_round_trips_instances():
    sale = TicketSale.model_validate(TicketSale.model_config["json_schema_extra"]["examples"][0])
    table = models_to_table(TicketSale, [sale, sale])
    assert table.schema == arrow_schema(TicketSale)
    row = table.to_pylist()[0]
    assert row["unit_price"] == Decimal("89.50") and row["sold_at"] == sale.sold_at
    assert models_to_table(TicketSale, []).num_rows == 0


def test_plan_explains_why_rows_go_per_record():
    assert model_plan(TicketSale).reasons() == {}
    assert "model validators" in model_plan(WithModelValidator).reasons()["<model>"]
    assert "a" in model_plan(WithBefore).reasons()


# ---------------------------------------------------------------- records


def _sale(**changes):
    base = {
        "sale_id": "S-1",
        "concert_id": "c1",
        "sold_at": "2025-10-03T14:22:05+02:00",
        "quantity": 2,
        "unit_price": "89.50",
        "currency": "EUR",
        "channel": "web",
    }
    return {**base, **changes}


def test_rejects_carry_pydantics_message_on_one_line_and_the_raw_record():
    result = validate_records(
        TicketSale,
        [_sale(), _sale(sale_id="S-2", quantity=25, currency="XYZ")],
        entity="ticket_sales",
        partition_key="2025-10-03",
        source="a.jsonl",
    )
    assert result.valid.num_rows == 1 and result.rejects.schema == REJECTS_SCHEMA
    reject = result.rejects.to_pylist()[0]
    assert reject["error"] == (
        "quantity: Input should be less than or equal to 20; currency: Value error, 'XYZ' is not a valid ISO-4217 currency code"
    )
    assert json.loads(reject["record"]) == _sale(sale_id="S-2", quantity=25, currency="XYZ")
    assert (reject["entity"], reject["partition_key"], reject["source"]) == ("ticket_sales", "2025-10-03", "a.jsonl")


def test_default_factories_are_called_once_per_batch():
    for validate, data in ((validate_records, [_sale(), _sale()]), (validate_table, pa.Table.from_pylist([_sale()] * 3))):
        valid = validate(TicketSale, data, entity="ticket_sales").valid
        assert len(set(valid["created_at"].to_pylist() + valid["updated_at"].to_pylist())) == 1
    valid = validate_table(
        TicketSale, pa.Table.from_pylist([_sale()]), entity="t", defaults={"created_at": LOADED, "updated_at": LOADED}
    ).valid
    assert valid["created_at"].to_pylist() == [LOADED]


def test_rejects_table_fills_defaults_and_keeps_the_schema():
    table = rejects_table([{"entity": "x", "record": "{}", "error": "boom"}])
    assert table.schema == REJECTS_SCHEMA
    assert table.to_pylist()[0]["partition_key"] == "" and table["rejected_at"][0].as_py() is not None


def test_values_the_model_accepts_but_arrow_cannot_hold_become_rejects():
    result = validate_records(
        Venue,
        [{"venue_id": "v", "name": "n", "country": "GB", "capacity": 2**70}, {"venue_id": "w", "name": "n", "country": "GB"}],
        entity="venues",
    )
    assert result.valid["venue_id"].to_pylist() == ["w"]
    assert "capacity" in result.rejects["error"][0].as_py()


# ---------------------------------------------------------------- table


def test_clean_data_never_goes_per_record():
    rows = [
        _sale(
            sale_id=f"S-{i}",
            quantity=1 + i % 20,
            unit_price=f"{i % 1000}.{i % 100:02d}",
            sold_at=f"2025-10-03T{i % 24:02d}:{i % 60:02d}:05.{i % 999:03d}+0{i % 9}:30",
            customer_id=None if i % 3 else f"C-{i}",
        )
        for i in range(3000)
    ]
    for table in (
        pa.Table.from_pylist(rows),  # strings, as CSV and JSON deliver them
        pa.Table.from_pylist([{**r, "unit_price": float(r["unit_price"])} for r in rows]),
        pa.Table.from_pylist(validate_records(TicketSale, rows, entity="t").valid.to_pylist()),
    ):
        result = validate_table(TicketSale, table, entity="ticket_sales")
        assert result.per_record == 0 and result.valid.num_rows == 3000 and result.rejects.num_rows == 0


def test_missing_and_extra_columns():
    table = pa.table({"venue_id": ["v1", "v2"], "name": ["A", "B"], "country": ["GB", "XX"], "colour": ["r", "g"]})
    result = validate_table(Venue, table, entity="venues")
    assert result.valid["venue_id"].to_pylist() == ["v1"] and result.valid["latitude"].to_pylist() == [None]
    assert result.per_record == 1 and "country" in result.rejects["error"][0].as_py()
    forbid = validate_table(Forbidding, pa.table({"name": ["a", "b"], "x": [None, 1]}), entity="f")
    assert forbid.valid["name"].to_pylist() == ["a"] and "Extra inputs" in forbid.rejects["error"][0].as_py()


def test_models_the_fast_path_cannot_read_go_wholly_per_record():
    table = pa.table({"a": [1, 2, 3]})
    for model in (WithModelValidator, WithBefore):
        fast = validate_table(model, table, entity="m")
        slow = validate_records(model, table.to_pylist(), entity="m")
        assert fast.per_record == 3 and fast.valid.equals(slow.valid)
        assert fast.rejects["error"].to_pylist() == slow.rejects["error"].to_pylist()


def test_future_sales_are_rejected_with_the_models_message():
    table = pa.table(
        {**{k: [v] for k, v in _sale().items()}, "sold_at": pa.array([NOW + timedelta(days=3)], pa.timestamp("us", "UTC"))}
    )
    result = validate_table(TicketSale, table, entity="t")
    assert result.valid.num_rows == 0 and "lies in the future" in result.rejects["error"][0].as_py()


# ---------------------------------------------------------------- property: fast == model

_US = 1_000_000
_NOW_US = int(NOW.timestamp()) * _US
EDGE = {
    "string": [
        "",
        " ",
        " 5",
        "5 ",
        "1e-5",
        "0.1",
        "1_0",
        "+3",
        "-0",
        "007",
        "NaN",
        "inf",
        "true",
        "Yes",
        "0",
        "1",
        "20",
        "21",
        "2.0",
        "5.",
        ".5",
        "89.50",
        "89.50000",
        "0.00001",
        "100000.0001",
        "1e2",
        "-10.50",
        "-10.51",
        "2025-10-03T14:22:05Z",
        "2026-02-29T00:00:00Z",
        "2024-02-29T12:00:00+05:30",
        "2025-10-03 14:22:05Z",
        "2025-10-03T14:22:05z",
        "2025-10-03T14:22:05.1234567Z",
        "2025-10-03T14:22:05+24:00",
        "2025-10-03T14:22:05-00:00",
        "2025-04-31T10:00:00Z",
        "1999-12-31T23:59:59.999999-23:59",
        "0999-12-31T23:59:59Z",
        "2025-10-03T14:22Z",
        "20:00",
        "20:00:00",
        "2025-10-03",
        "2023-02-29",
        "1999-12-31",
        "2101-01-01",
        "EUR",
        "eur",
        "XYZ",
        "web",
        "Web",
        "web ",
        "é" * 64,
        "x" * 129,
        "GB",
        "Europe/Paris",
        "AB-12",
        "ab-12",
        "AB-١٢",
        "0x10",
        "١٢",
        "a",
        "b",
        "c",
    ],
    "int64": [0, 1, 2, 5, 20, 21, -1, 995, 1000, 100000, 100001, 2**53, 2**53 + 1, 2**62, -(2**63), 2**63 - 1],
    "double": [
        0.1,
        1e-5,
        2.0,
        2.5,
        -0.0,
        float("nan"),
        float("inf"),
        float("-inf"),
        1e20,
        89.5,
        99999.9999,
        100000.0,
        0.30000000000000004,
        1.23456,
        20.0,
        1.0,
        0.0,
        1e-4,
        12.3456,
        -1.5,
        -1.4999,
        100.0000001,
        9007199254740993.0,
        1.7e9,
        45.5,
        -10.5,
        -10.51,
        9999.99,
        10000.0,
    ],
    "bool": [True, False],
    "ts_utc": [0, _NOW_US, _NOW_US + 3 * 86400 * _US, -(2**62)],
    "date32": [0, 10957, 47847, 47848, -1],
    "decimal": [Decimal("1.5"), Decimal("-10.500"), Decimal("99999999.999"), Decimal("0.001"), Decimal("20")],
    "list": [[], ["a"], ["", "x"], ["abcd"], ["a", "b", "c", "d"], ["a", None]],
}
WILD = [
    "string",
    "int64",
    "double",
    "bool",
    "null",
    "ts_utc",
    "ts_plus2",
    "ts_naive",
    "ts_ns",
    "ts_s",
    "date32",
    "decimal",
    "list",
    "large_string",
    "dict",
    "missing",
]
_TYPES = {
    "string": pa.string(),
    "large_string": pa.large_string(),
    "int64": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "ts_utc": pa.timestamp("us", "UTC"),
    "ts_plus2": pa.timestamp("us", "+02:00"),
    "ts_naive": pa.timestamp("us"),
    "ts_s": pa.timestamp("s", "UTC"),
    "date32": pa.date32(),
    "decimal": pa.decimal128(14, 4),
    "list": pa.list_(pa.string()),
}


def _flavours(rng: random.Random) -> dict[str, dict]:
    """Per field: how its column may arrive, and a generator of mostly-good values for each way."""
    past = lambda: _NOW_US - rng.randrange(400 * 86400 * _US)  # noqa: E731

    def iso() -> str:
        moment = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(25_000_000))
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + rng.choice(["Z", "+02:00", "-05:30", ".5Z", ".123456+01:00", "+23:59"])

    money = lambda: round(rng.uniform(0, 500), rng.choice([0, 1, 2, 4]))  # noqa: E731
    text = lambda k: lambda: "".join(rng.choices("abcdefgé", k=rng.randrange(k)))  # noqa: E731
    word = lambda *ws: lambda: rng.choice(ws)  # noqa: E731
    optional = lambda k: {"string": text(k), "null": None}  # noqa: E731
    stamp = {"string": iso, "ts_utc": past, "ts_plus2": past, "ts_s": lambda: past() // _US, "ts_ns": past}
    return {
        TicketSale: {
            "sale_id": {"string": lambda: f"S-{rng.randrange(10**6)}", "large_string": lambda: "S-1"},
            "concert_id": {"string": word("c1", "vvG1IZ9KbJ5ZDx"), "dict": word("c1", "c2")},
            "sold_at": stamp,
            "quantity": {
                "int64": lambda: rng.randrange(1, 21),
                "double": lambda: float(rng.randrange(25)),
                "string": lambda: str(rng.randrange(-2, 30)),
            },
            "unit_price": {
                "string": lambda: f"{money():.{rng.choice([0, 2, 4])}f}",
                "double": money,
                "int64": lambda: rng.randrange(200),
                "decimal": lambda: Decimal(str(money())),
            },
            "currency": {"string": word("EUR", "USD", "GBP", "JPY"), "dict": word("EUR", "XYZ")},
            "channel": {"string": word("web", "mobile", "box_office", "partner")},
            "customer_id": optional(140),
            "section": optional(70),
        },
        Venue: {
            "venue_id": {"string": lambda: f"V{rng.randrange(999)}"},
            "name": {"string": text(12)},
            "country": {"string": word("GB", "US", "FR", "XX")},
            "city": optional(5),
            "region": optional(5),
            "latitude": {
                "double": lambda: rng.uniform(-95, 95),
                "int64": lambda: rng.randrange(-91, 92),
                "string": lambda: str(round(rng.uniform(-95, 95), 4)),
            },
            "longitude": {"double": lambda: rng.uniform(-185, 185), "null": None},
            "postal_code": optional(25),
            "timezone": {"string": word("Europe/Paris", "UTC", "Mars/Base"), "null": None},
            "capacity": {
                "int64": lambda: rng.randrange(-5, 600_000),
                "double": lambda: float(rng.randrange(9)),
                "string": lambda: str(rng.randrange(0, 100)),
                "null": None,
            },
        },
        Sink: {
            "name": {"string": text(7)},
            "code": {"string": word("AB-12", "AB-", "ab-1", "XY-007"), "null": None},
            "kind": {"string": word("a", "b", "c"), "null": None},
            "flag": {
                "bool": lambda: rng.random() < 0.5,
                "int64": lambda: rng.randrange(3),
                "string": word("true", "0", "Off", "YES", "maybe"),
                "null": None,
            },
            "ratio": {
                "double": lambda: rng.uniform(-3, 110),
                "string": lambda: f"{rng.uniform(-3, 110):.3g}",
                "int64": lambda: rng.randrange(-3, 110),
            },
            "count": {"int64": lambda: rng.randrange(-10, 1100, 5), "double": lambda: float(rng.randrange(0, 50)), "null": None},
            "amount": {
                "double": money,
                "string": lambda: f"{rng.uniform(-20, 10000):.{rng.randrange(4)}f}",
                "decimal": lambda: Decimal(str(money())),
                "null": None,
            },
            "loose": {"double": money, "string": lambda: str(money()), "null": None},
            "day": {
                "date32": lambda: rng.randrange(9000, 48000),
                "string": lambda: str(date(1999, 1, 1) + timedelta(days=rng.randrange(40000))),
            },
            "at": {**stamp, "ts_naive": past},
            "seen": stamp,
            "clock": {"null": None},
            "tags": {"list": lambda: rng.choice(EDGE["list"][:5]), "null": None},
            "country": {"string": word("GB", "gb", "DE"), "null": None},
            "visited": {"list": lambda: rng.choice([[], ["GB"], ["GB", "DE"], ["XX"], ["FR", "gb"]]), "null": None},
            "must_say": {"int64": lambda: rng.randrange(9), "null": None},
        },
    }


def _column(rng: random.Random, n: int, ways: dict):
    flavour = rng.choice(list(ways)) if rng.random() > 0.08 else rng.choice(WILD)
    if flavour == "missing":
        return None
    if flavour == "null":
        return pa.nulls(n)
    good = ways.get(flavour) or (
        lambda: rng.choice(EDGE.get(flavour, EDGE["string"] if "str" in flavour or flavour == "dict" else EDGE["ts_utc"]))
    )
    values = []
    for _ in range(n):
        r = rng.random()
        pool = EDGE.get({"large_string": "string", "dict": "string"}.get(flavour, flavour))
        values.append(None if r < 0.03 else rng.choice(pool) if r < 0.09 and pool else good())
    if flavour == "dict":
        return pa.array(values, pa.string()).dictionary_encode()
    if flavour == "ts_ns":
        return pa.array(
            [None if v is None else max(v, -(2**52)) * 1000 + rng.choice([0, 0, 500]) for v in values], pa.timestamp("ns", "UTC")
        )
    return pa.array(values, _TYPES[flavour])


@pytest.mark.parametrize("seed", [10, 12, 20261003])
@pytest.mark.parametrize("model", [TicketSale, Venue, Sink], ids=lambda m: m.__name__)
def test_validate_table_agrees_with_the_model_on_messy_rows(model, seed):
    rng = random.Random(seed)
    ways = _flavours(rng)[model]
    defaults = {"created_at": LOADED, "updated_at": LOADED} if "created_at" in model.model_fields else None
    rows = fast_rows = valid_rows = 0
    for _ in range(40):
        n = rng.randrange(50, 200)
        columns = {name: _column(rng, n, w) for name, w in ways.items()}
        table = pa.table({k: v for k, v in columns.items() if v is not None} or {"x": pa.nulls(n)})
        fast = validate_table(model, table, entity="e", defaults=defaults)
        slow = validate_records(model, table_records(model, table), entity="e", defaults=defaults)
        assert fast.valid.schema == slow.valid.schema == arrow_schema(model)
        assert fast.valid.to_pylist() == slow.valid.to_pylist(), table.schema
        assert fast.valid.equals(slow.valid)
        assert fast.source_rows.tolist() == slow.source_rows.tolist()
        assert sorted(zip(fast.rejects["record"].to_pylist(), fast.rejects["error"].to_pylist(), strict=True)) == sorted(
            zip(slow.rejects["record"].to_pylist(), slow.rejects["error"].to_pylist(), strict=True)
        )
        rows += n
        fast_rows += n - fast.per_record
        valid_rows += fast.valid.num_rows
    assert rows > 4000 and valid_rows > 80
    assert fast_rows > 0.6 * valid_rows, "the column-wise path should vouch for most valid rows"


def test_a_null_cell_is_an_absent_key():
    table = pa.table(
        {**{k: [v, v] for k, v in _sale().items()}, "sale_id": ["S-1", None], "customer_id": pa.array([None, None], pa.string())}
    )
    result = validate_table(TicketSale, table, entity="t")
    assert result.valid["customer_id"].to_pylist() == [None]
    assert result.rejects["error"].to_pylist() == ["sale_id: Field required"]
    sink = {"name": "a", "ratio": 1.0, "day": date(2020, 1, 1)}
    kept = validate_table(Sink, pa.Table.from_pylist([{**sink, "must_say": None, "flag": None}]), entity="s")
    assert kept.per_record == 0 and kept.valid.to_pylist()[0]["flag"] is False  # null -> the default
    assert validate_table(Sink, pa.Table.from_pylist([sink]), entity="s").rejects["error"].to_pylist() == [
        "must_say: Field required"
    ]
