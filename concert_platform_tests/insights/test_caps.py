"""Every forecaster's answers stay within what is possible: sold <= p10 <= p50 <= p90 <= capacity."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from concert_platform.insights.baselines import (
    AdditivePickup,
    BaseRate,
    HistoricalMean,
    HistoricalQuantiles,
    MultiplicativePickup,
    PickupSellout,
)
from concert_platform.insights.bounds import QUANTILE_COLUMNS
from concert_platform.insights.conformal import ConformalizedQuantiles, SplitConformal
from concert_platform.insights.curves import booking_curves, snapshots, training_snapshots

START, CUTOFF = date(2026, 1, 1), date(2026, 4, 1)


def _world(seed: int):
    """80 shows over five months at venues of every size (one of unknown capacity), some oversold."""
    rng = np.random.default_rng(seed)
    capacities = [150, 800, 2500, 12000, 40000, None]
    venues = pd.DataFrame({"venue_id": [f"V{i}" for i in range(6)], "capacity": pd.array(capacities, dtype="Int64")})
    shows = [START + timedelta(days=int(d)) for d in rng.integers(20, 150, 80)]
    concerts = pd.DataFrame(
        {
            "concert_id": [f"C{i:02d}" for i in range(80)],
            "artist_id": "A",
            "venue_id": [f"V{v}" for v in rng.integers(0, 6, 80)],
            "status": "onsale",
            "local_date": shows,
            "onsale_start": None,
        }
    )
    sales = []
    for concert, venue, show in zip(concerts["concert_id"], concerts["venue_id"], shows, strict=True):
        capacity = capacities[int(venue[1:])] or 5000
        demand = int(capacity * rng.uniform(0.2, 1.3))  # above 1: oversold past the listed capacity
        days = rng.integers(0, 60, demand // max(capacity // 50, 1) + 1)
        for day, tickets in zip(*np.unique(days, return_counts=True), strict=True):
            sales.append(
                {
                    "concert_id": concert,
                    "sale_date": show - timedelta(days=int(day)),
                    "tickets": int(tickets) * (capacity // 50 or 1),
                }
            )
    return concerts, venues, pd.DataFrame(sales)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_forecast_respects_sold_and_capacity(seed):
    concerts, venues, daily = _world(seed)
    curves = booking_curves(daily, concerts)
    train = training_snapshots(curves, concerts, venues, CUTOFF)
    now = snapshots(curves, concerts, venues, CUTOFF)
    upcoming = now[now["days_to_show"] >= 0].reset_index(drop=True)
    assert len(train) and len(upcoming)
    sold = upcoming["tickets_sold_to_date"].to_numpy(dtype="float64")
    capacity = upcoming["capacity"].astype("Float64").to_numpy(dtype="float64", na_value=np.inf)
    # The world exercises what the bounds are for: unknown capacities, projections past capacity.
    assert upcoming["capacity"].isna().any()
    assert (MultiplicativePickup.fit(train).project(upcoming) > capacity).any()
    pickup = AdditivePickup.fit(train)
    calibration = train.join(pickup.predict(train))
    quantiles = HistoricalQuantiles.fit(train)
    forecasts = [
        pickup.predict(upcoming),
        MultiplicativePickup.fit(train).predict(upcoming),
        HistoricalMean.fit(train).predict(upcoming),
        quantiles.predict(upcoming),
        SplitConformal.fit(calibration).predict(upcoming.join(pickup.predict(upcoming))),
        ConformalizedQuantiles.fit(train.join(quantiles.predict(train))).predict(upcoming.join(quantiles.predict(upcoming))),
    ]
    for forecast in forecasts:
        columns = [c for c in QUANTILE_COLUMNS if c in forecast]
        values = forecast[columns].to_numpy()
        assert np.isfinite(values).all()
        assert (values >= sold[:, None]).all()
        # Capacity caps unless tickets already sold passed it (an oversold show): then sold wins.
        assert (values <= np.maximum(capacity, sold)[:, None]).all()
        assert (np.diff(values, axis=1) >= 0).all()
    for model in (BaseRate.fit(train), PickupSellout(pickup)):
        probability = model.predict(upcoming)["sellout_probability"]
        known = upcoming["capacity"].notna().to_numpy()
        assert probability[known].between(0, 1).all() and probability[~known].isna().all()
