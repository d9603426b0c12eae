from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from concert_platform.transforms.features import artist_features, concert_demand_features, venue_features
from concert_platform.transforms.sales_daily import DAILY_SALES_SCHEMA, daily_sales

AS_OF = date(2026, 10, 15)


def _concerts():
    return pd.DataFrame(
        [
            {
                "concert_id": "C1",
                "artist_id": "A1",
                "venue_id": "V1",
                "status": "onsale",
                "local_date": date(2026, 10, 25),
                "onsale_start": datetime(2026, 9, 15, tzinfo=UTC),
                "price_min": Decimal("50"),
                "price_max": Decimal("150"),
                "currency": "USD",
            },
            {
                "concert_id": "C2",
                "artist_id": "A1",
                "venue_id": "V2",
                "status": "cancelled",
                "local_date": date(2026, 10, 1),
                "onsale_start": None,
                "price_min": None,
                "price_max": None,
                "currency": None,
            },
            {
                "concert_id": "C3",
                "artist_id": None,
                "venue_id": "V1",
                "status": "onsale",
                "local_date": None,
                "onsale_start": None,
                "price_min": None,
                "price_max": None,
                "currency": None,
            },
        ]
    )


def _venues():
    return pd.DataFrame(
        [
            {"venue_id": "V1", "name": "Hall", "city": "Berlin", "country": "DE", "capacity": 100},
            {"venue_id": "V2", "name": "Club", "city": "Paris", "country": "FR", "capacity": None},
        ]
    )


def _daily():
    rows = [
        # 8..14 days before as_of: the previous week
        (date(2026, 10, 1), "C1", "web", 20, Decimal("2000")),
        # the last 7 days
        (date(2026, 10, 10), "C1", "web", 30, Decimal("3000")),
        (date(2026, 10, 14), "C1", "mobile", 10, Decimal("1000")),
        (date(2026, 10, 15), "C1", "web", 99, Decimal("9900")),  # on as_of: not yet counted
    ]
    return pd.DataFrame(
        [
            {
                "sale_date": d,
                "concert_id": c,
                "channel": ch,
                "currency": "USD",
                "orders": t // 2,
                "tickets": t,
                "gross_revenue": r,
                "min_unit_price": Decimal("100"),
                "max_unit_price": Decimal("100"),
            }
            for d, c, ch, t, r in rows
        ]
    )


def test_concert_demand_features():
    out = concert_demand_features(_concerts(), _venues(), _daily(), AS_OF).set_index("concert_id")
    c1 = out.loc["C1"]
    assert c1["tickets_sold"] == 60 and c1["tickets_last_7d"] == 40 and c1["tickets_prev_7d"] == 20
    assert c1["velocity_7d"] == pytest.approx(40 / 7)
    assert c1["sell_through"] == pytest.approx(0.6) and c1["remaining_capacity"] == 40
    assert c1["days_to_show"] == 10 and c1["days_on_sale"] == 30
    assert c1["projected_sell_through"] == 1.0  # 60 + 40/7*10 > capacity: capped
    assert c1["avg_ticket_price"] == pytest.approx(100.0) and c1["price_level"] == pytest.approx(0.5)
    assert c1["share_web"] == pytest.approx(50 / 60) and c1["share_mobile"] == pytest.approx(10 / 60)
    assert not c1["sold_out"]
    c2 = out.loc["C2"]
    assert c2["tickets_sold"] == 0 and pd.isna(c2["sell_through"]) and c2["days_to_show"] == -14
    assert pd.isna(out.loc["C3"]["days_to_show"])
    assert (out["as_of"] == AS_OF).all()


def test_sold_out_and_empty_sales():
    daily = _daily().assign(tickets=100)
    out = concert_demand_features(_concerts(), _venues(), daily.iloc[:1], AS_OF).set_index("concert_id")
    assert out.loc["C1"]["sold_out"]
    empty = concert_demand_features(_concerts(), _venues(), _daily().iloc[:0], AS_OF)
    assert (empty["tickets_sold"] == 0).all() and len(empty) == 3


def test_artist_and_venue_features():
    demand = concert_demand_features(_concerts(), _venues(), _daily(), AS_OF)
    artists = pd.DataFrame(
        [
            {"artist_id": "A1", "name": "Band", "popularity": 50, "followers": 10, "match_method": "id_link"},
            {"artist_id": "A2", "name": "Quiet", "popularity": None, "followers": None, "match_method": "unmatched"},
        ]
    )
    a = artist_features(artists, _venues(), demand, AS_OF).set_index("artist_id")
    assert a.loc["A1", "concerts"] == 2 and a.loc["A1", "upcoming_concerts"] == 1 and a.loc["A1", "cancelled_concerts"] == 1
    assert a.loc["A1", "countries"] == 2 and a.loc["A1", "cancel_rate"] == 0.5
    assert a.loc["A1", "momentum"] == pytest.approx(41 / 21)
    assert a.loc["A2", "concerts"] == 0 and a.loc["A2", "momentum"] == 1.0
    v = venue_features(_venues(), demand, AS_OF).set_index("venue_id")
    assert v.loc["V1", "concerts"] == 2 and v.loc["V1", "tickets_sold"] == 60
    assert v.loc["V1", "avg_ticket_price"] == pytest.approx(100.0)
    assert v.loc["V2", "sold_out_concerts"] == 0


def test_daily_roll_up():
    sales = pa.table(
        {
            "sale_date": pa.array([date(2026, 10, 1)] * 3, pa.date32()),
            "concert_id": ["a", "a", "b"],
            "channel": ["web", "web", "mobile"],
            "currency": ["USD"] * 3,
            "quantity": pa.array([2, 3, 1], pa.int64()),
            "unit_price": pa.array([Decimal("10.5"), Decimal("20"), Decimal("5")], pa.decimal128(18, 4)),
        }
    )
    rolled = daily_sales(sales).to_pylist()
    first = {k: rolled[0][k] for k in ("concert_id", "orders", "tickets", "gross_revenue", "min_unit_price", "max_unit_price")}
    assert first == {
        "concert_id": "a",
        "orders": 2,
        "tickets": 5,
        "gross_revenue": Decimal("81.0000"),
        "min_unit_price": Decimal("10.5000"),
        "max_unit_price": Decimal("20.0000"),
    }
    assert rolled[1]["tickets"] == 1
    assert daily_sales(sales.slice(0, 0)).schema == DAILY_SALES_SCHEMA


def test_a_stream_of_batches_rolls_up_as_the_whole_table_does(monkeypatch):
    rng = np.random.default_rng(3)
    n = 5_000
    sales = pa.table(
        {
            "sale_date": pa.array([date(2026, 10, 1)] * n, pa.date32()),
            "concert_id": pa.array([f"c{i}" for i in rng.integers(0, 40, n)]),
            "channel": pa.array(["web", "mobile", "partner"]).take(rng.integers(0, 3, n)),
            "currency": pa.array(["USD", "EUR"]).take(rng.integers(0, 2, n)),
            "quantity": pa.array(rng.integers(1, 9, n), pa.int64()),
            "unit_price": pa.array([Decimal(int(c)) / 100 for c in rng.integers(500, 30_000, n)], pa.decimal128(18, 4)),
            "sale_id": pa.array([f"s{i}" for i in range(n)]),  # a column the roll-up does not read
        }
    )
    whole = daily_sales(sales)
    # Small batches, and partial groups merged among themselves several times on the way.
    monkeypatch.setattr("concert_platform.transforms.sales_daily._COMPACT_AT", 200)
    streamed = daily_sales(pa.RecordBatchReader.from_batches(sales.schema, sales.to_batches(max_chunksize=97)))
    assert streamed.equals(whole) and streamed.schema == DAILY_SALES_SCHEMA
    assert pc.sum(streamed["tickets"]).as_py() == pc.sum(sales["quantity"]).as_py()
    assert daily_sales(pa.table({}).to_reader()).equals(DAILY_SALES_SCHEMA.empty_table())
