"""Baselines on the small world, their numbers worked out by hand from its booking curves.

Trained for Mar 15 on days 0..3 before each show, the finished shows are
C1 (club, final 70), C2 (club, 100, sold out) and C3 (theatre, 3000 seats, 300).
Tickets sold before each as-of day, 3 / 2 / 1 / 0 days out:

    C1  30  30  60  60      pickup to final  40  40  10  10
    C2   5  20  20  40                       95  80  80  60
    C3 100 100 100 300                      200 200 200   0
"""

from datetime import date

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from concert_platform.insights.baselines import (
    AdditivePickup,
    BaseRate,
    HistoricalMean,
    HistoricalQuantiles,
    MultiplicativePickup,
    PickupSellout,
    size_bucket,
)
from concert_platform.insights.curves import booking_curves, training_snapshots
from concert_platform_tests.insights import world


@pytest.fixture(scope="module")
def train():
    curves = booking_curves(world.daily(), world.concerts())
    return training_snapshots(curves, world.concerts(), world.venues(), date(2026, 3, 15), days_before=range(4))


# P1 a club 2 days out, P2 a theatre 1 day out, P3 capacity unknown 3 days out,
# P4 a club 10 days out (a day no show was trained on).
UPCOMING = pd.DataFrame(
    {
        "concert_id": ["P1", "P2", "P3", "P4"],
        "days_to_show": [2, 1, 3, 10],
        "capacity": pd.array([100, 3000, None, 100], dtype="Int64"),
        "tickets_sold_to_date": [30, 500, 10, 80],
    },
    index=[10, 11, 12, 13],  # predictions keep the snapshots' index
)


def _p50(*values):
    return pd.DataFrame({"forecast_p50": np.array(values, dtype="float64")}, index=UPCOMING.index)


def test_size_buckets():
    capacity = pd.Series([1, 1000, 1001, 5000, 20000, 20001, None], dtype="Int64")
    assert size_bucket(capacity).tolist() == ["club", "club", "theatre", "theatre", "arena", "stadium", "unknown"]


def test_additive_pickup(train):
    model = AdditivePickup.fit(train, min_shows=1)
    # P1: club 2 days out, mean pickup (40 + 80) / 2 = 60. P2: theatre 1 day out, 200.
    # P3: no size, so all shows 3 days out: (40 + 95 + 200) / 3. P4: nothing learned 10 days out: sold.
    assert_frame_equal(model.predict(UPCOMING), _p50(90, 700, 10 + 335 / 3, 80))
    # With at least 2 shows per cell, the theatre cell (1 show) gives way to all sizes: (10 + 80 + 200) / 3.
    pooled = AdditivePickup.fit(train, min_shows=2)
    assert_frame_equal(pooled.predict(UPCOMING), _p50(90, 500 + 290 / 3, 10 + 335 / 3, 80))
    # Too few shows anywhere: nothing is learned, the forecast is what has sold.
    assert_frame_equal(AdditivePickup.fit(train, min_shows=4).predict(UPCOMING), _p50(30, 500, 10, 80))


def test_multiplicative_pickup(train):
    model = MultiplicativePickup.fit(train, min_shows=1)
    # P1: club 2 days out, (70 + 100) / (30 + 20) = 3.4, so 102: capped at 100 seats.
    # P2: theatre 1 day out, 300 / 100 = 3. P3: all shows 3 days out, 470 / 135.
    assert_frame_equal(model.predict(UPCOMING), _p50(100, 1500, 10 * 470 / 135, 80))
    pooled = MultiplicativePickup.fit(train, min_shows=2)  # P2: all shows 1 day out, 470 / 180
    assert_frame_equal(pooled.predict(UPCOMING), _p50(100, 500 * 470 / 180, 10 * 470 / 135, 80))


def test_historical_mean_ignores_current_sales(train):
    model = HistoricalMean.fit(train, min_shows=1)
    # Clubs (70 + 100) / 2 = 85; the theatre 300, under P2's 500 sold; unknown size, all shows 470 / 3.
    assert_frame_equal(model.predict(UPCOMING), _p50(85, 500, 470 / 3, 85))


def test_historical_quantiles(train):
    model = HistoricalQuantiles.fit(train, min_shows=1)
    # Clubs [70, 100]: 73, 85, 97. The theatre [300]: under P2's 500 sold. All shows [70, 100, 300]:
    # p10 at rank 0.2 = 76, p50 = 100, p90 at rank 1.8 = 100 + 0.8 * 200 = 260. P4 has sold 80 already.
    expected = pd.DataFrame(
        {
            "forecast_p10": [73.0, 500.0, 76.0, 80.0],
            "forecast_p50": [85.0, 500.0, 100.0, 85.0],
            "forecast_p90": [97.0, 500.0, 260.0, 97.0],
        },
        index=UPCOMING.index,
    )
    assert_frame_equal(model.predict(UPCOMING), expected)


def test_sellout_baselines(train):
    base = BaseRate.fit(train)
    assert base.rate == pytest.approx(1 / 3)  # C2 of C1, C2, C3
    expected = pd.DataFrame({"sellout_probability": [1 / 3, 1 / 3, np.nan, 1 / 3]}, index=UPCOMING.index)
    assert_frame_equal(base.predict(UPCOMING), expected)
    # The additive projections (90, 700, -, 80) reach no capacity; the multiplicative one of P1 (102) reaches 99% of 100.
    additive = PickupSellout(AdditivePickup.fit(train, min_shows=1)).predict(UPCOMING)
    multiplicative = PickupSellout(MultiplicativePickup.fit(train, min_shows=1)).predict(UPCOMING)
    assert_frame_equal(additive, expected.assign(sellout_probability=[0.0, 0.0, np.nan, 0.0]))
    assert_frame_equal(multiplicative, expected.assign(sellout_probability=[1.0, 0.0, np.nan, 0.0]))


def test_played_shows_count_from_the_show_day():
    """A snapshot past its show (negative days to show) is looked up at 0 days out, not dropped."""
    train = pd.DataFrame(
        {
            "concert_id": ["a", "b"],
            "days_to_show": [0, 0],
            "capacity": pd.array([100, 100], dtype="Int64"),
            "tickets_sold_to_date": [40, 60],
            "final_tickets": pd.array([50, 80], dtype="Int64"),
            "censored": pd.array([False, False], dtype="boolean"),
        }
    )
    late = pd.DataFrame({"days_to_show": [-3], "capacity": pd.array([100], dtype="Int64"), "tickets_sold_to_date": [10]})
    assert AdditivePickup.fit(train, min_shows=1).predict(late)["forecast_p50"].tolist() == [25.0]  # 10 + (10 + 20) / 2
