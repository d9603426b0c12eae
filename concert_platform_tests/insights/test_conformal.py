import math

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from concert_platform.insights.conformal import (
    ConformalizedQuantiles,
    SplitConformal,
    conformal_quantile,
    cqr_correction,
)
from concert_platform.insights.horizons import HORIZONS
from concert_platform.insights.metrics import coverage


def test_conformal_quantile_is_the_finite_sample_rank():
    scores = [5, 1, 4, 2, 3]
    assert conformal_quantile(scores, 0.2) == 5  # rank ceil(6 * 0.8) = 5
    assert conformal_quantile(scores, 0.5) == 3  # rank ceil(6 * 0.5) = 3
    assert conformal_quantile(scores, 0.1) == math.inf  # rank ceil(6 * 0.9) = 6 > 5 scores
    assert conformal_quantile(range(1, 20), 0.2) == 16  # rank 20 * 0.8 = 16 exactly, not 17 by float noise
    assert conformal_quantile([], 0.2) == math.inf


def test_cqr_correction_by_hand():
    actual, lower, upper = [10, 20, 30], [12, 15, 20], [18, 25, 28]
    # Scores max(lower - y, y - upper): 2 (below), -5 (inside, 5 from both ends), 2 (above).
    assert cqr_correction(actual, lower, upper, 0.5) == 2  # rank ceil(4 * 0.5) = 2 of [-5, 2, 2]
    assert cqr_correction(actual, lower, upper, 0.75) == -5  # rank 1: the intervals may narrow


def _calibration():
    rows = [(1, 100, 101), (1, 100, 98), (1, 100, 103), (1, 100, 96)]  # residuals 1, 2, 3, 4
    rows += [(7, 500, 510), (7, 500, 480), (7, 500, 530), (7, 500, 460)]  # 10, 20, 30, 40
    rows += [(30, 50, 55)]  # 5: one show is too few for a finite margin of its own
    frame = pd.DataFrame(rows, columns=["horizon_days", "forecast_p50", "final_tickets"])
    return frame.astype({"horizon_days": "Int64", "final_tickets": "Int64", "forecast_p50": "float64"})


def test_split_conformal_margins_per_bucket_then_bounds():
    model = SplitConformal.fit(_calibration())
    # Four residuals per bucket: rank ceil(5 * 0.8) = 4, the largest. All nine pooled: rank 8 of
    # [1, 2, 3, 4, 5, 10, 20, 30, 40] = 30, for bucket 30 and for buckets without calibration.
    assert model.by_horizon == {60: math.inf, 30: math.inf, 14: math.inf, 7: 40.0, 1: 4.0}
    assert model.pooled == 30.0
    frame = pd.DataFrame(
        {
            "horizon_days": pd.array([1, 7, 30, 14, None, 1], dtype="Int64"),
            "forecast_p50": [100.0, 500.0, 200.0, 60.0, 1000.0, 98.0],
            "tickets_sold_to_date": [90, 470, 10, 50, 0, 99],
            "capacity": pd.array([102, 600, None, 100, None, 100], dtype="Int64"),
        },
        index=list("abcdef"),
    )
    expected = pd.DataFrame(
        {
            # a: 96..104 capped at 102. b: 460 floored at 470 sold. c, d, e: margin 30; d floored at 50.
            # f: p50 98 under its 99 sold: all three floored to 99, the 102 capped at 100.
            "forecast_p10": [96.0, 470.0, 170.0, 50.0, 970.0, 99.0],
            "forecast_p50": [100.0, 500.0, 200.0, 60.0, 1000.0, 99.0],
            "forecast_p90": [102.0, 540.0, 230.0, 90.0, 1030.0, 100.0],
        },
        index=list("abcdef"),
    )
    assert_frame_equal(model.predict(frame), expected)


def test_split_conformal_scaled_by_capacity():
    calibration = _calibration().assign(capacity=[100, 200, 100, 400, 1000, 1000, 2000, 1000, 50])
    # Residuals per seat: bucket 1: .01, .01, .03, .01 -> .03; bucket 7: .01, .02, .015, .04 -> .04.
    model = SplitConformal.fit(calibration, scale="capacity")
    assert model.by_horizon[1] == pytest.approx(0.03) and model.by_horizon[7] == pytest.approx(0.04)
    frame = pd.DataFrame(
        {
            "horizon_days": pd.array([1, 7], dtype="Int64"),
            "forecast_p50": [500.0, 5000.0],
            "tickets_sold_to_date": [0, 0],
            "capacity": pd.array([1000, 10000], dtype="Int64"),
        }
    )
    out = model.predict(frame)
    assert out["forecast_p10"].tolist() == pytest.approx([470.0, 4600.0])
    assert out["forecast_p90"].tolist() == pytest.approx([530.0, 5400.0])
    with pytest.raises(ValueError, match="positive and known"):
        SplitConformal.fit(calibration.assign(capacity=pd.array([None] * 9, dtype="Int64")), scale="capacity")


def test_cqr_narrows_without_crossing():
    calibration = pd.DataFrame(
        {
            "horizon_days": pd.array([1] * 4, dtype="Int64"),
            "final_tickets": [50, 50, 50, 50],
            "forecast_p10": [0.0, 10.0, 20.0, 30.0],
            "forecast_p90": [100.0, 90.0, 80.0, 70.0],
        }
    )
    model = ConformalizedQuantiles.fit(calibration)  # scores -50, -40, -30, -20: rank 4, so -20
    assert model.by_horizon[1] == -20.0
    frame = pd.DataFrame(
        {
            "horizon_days": pd.array([1, 1], dtype="Int64"),
            "forecast_p10": [0.0, 45.0],
            "forecast_p50": [50.0, 50.0],
            "forecast_p90": [100.0, 55.0],
            "tickets_sold_to_date": [0, 0],
            "capacity": pd.array([None, None], dtype="Int64"),
        }
    )
    expected = pd.DataFrame({"forecast_p10": [20.0, 50.0], "forecast_p50": [50.0, 50.0], "forecast_p90": [80.0, 50.0]})
    assert_frame_equal(model.predict(frame), expected)


# Coverage on fresh data, exchangeable with the calibration set. With n = 19 calibration shows per
# bucket and alpha = 0.2 the margin is the 16th of 19 scores, whose coverage of a new show is
# Beta(16, 4) distributed: mean 16 / 20 = 0.80 exactly, sd 0.087. Scoring each draw on 200 test shows
# adds binomial noise (sd 0.028), so one seed's coverage has sd ~0.092 and the mean of 500 seeds
# sd ~0.0041. The tolerance of 0.015 is 3.7 of those: a correct method fails it with probability
# ~2e-4 per bucket (the seeds are fixed, so the test is deterministic). Without the finite-sample
# rank (np.quantile's interpolated 0.8 quantile, between the 15th and 16th) coverage would be ~0.77,
# 7 sd away: the test tells the difference.
SEEDS, N_CALIBRATION, N_TEST, TOLERANCE = 500, 19, 200, 0.015
NOISE = {60: 120.0, 30: 60.0, 14: 30.0, 7: 15.0, 1: 5.0}  # wider with more days left: one margin would not do


def _shows(rng, n):
    horizon = np.repeat(HORIZONS, n)
    sd = np.vectorize(NOISE.get)(horizon)
    demand = rng.uniform(800, 1200, len(horizon))
    final = demand + sd * rng.standard_normal(len(horizon))
    return pd.DataFrame(
        {
            "horizon_days": pd.array(horizon, dtype="Int64"),
            "final_tickets": final,
            # A biased, too-confident forecaster: conformal needs no good model, only exchangeability.
            "forecast_p10": demand - 0.5 * sd,
            "forecast_p50": demand + 0.3 * sd,
            "forecast_p90": demand + 0.5 * sd,
            "tickets_sold_to_date": np.zeros(len(horizon), dtype="int64"),
            "capacity": pd.array([None] * len(horizon), dtype="Int64"),
        }
    )


@pytest.mark.parametrize("method", [SplitConformal, ConformalizedQuantiles])
def test_80_percent_intervals_cover_80_percent_of_new_shows_in_every_bucket(method):
    inside = []
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed)
        model = method.fit(_shows(rng, N_CALIBRATION))
        test = _shows(rng, N_TEST)
        interval = model.predict(test)
        y = test["final_tickets"].to_numpy()
        inside.append((interval["forecast_p10"].to_numpy() <= y) & (y <= interval["forecast_p90"].to_numpy()))
    # Every seed's test set has N_TEST shows per bucket in HORIZONS order, so the mean per column block
    # is the mean over seeds of each seed's coverage in that bucket.
    per_bucket = np.stack(inside).reshape(SEEDS, len(HORIZONS), N_TEST).mean(axis=(0, 2))
    mean = dict(zip(HORIZONS, per_bucket.round(4), strict=True))
    assert all(abs(m - 0.8) <= TOLERANCE for m in per_bucket), mean


def test_bounds_never_uncover_a_final_and_keep_the_order():
    """Capped at capacity and floored at tickets sold, an interval covers at least what it covered before."""
    rng = np.random.default_rng(7)
    calibration, test = _shows(rng, 50), _shows(rng, 400)
    for frame in (calibration, test):
        capacity = np.round(rng.uniform(900, 1250, len(frame)))
        frame["final_tickets"] = np.minimum(frame["final_tickets"], capacity)  # sold out: censored at capacity
        frame["capacity"] = pd.array(capacity.astype("int64"), dtype="Int64")
        frame["tickets_sold_to_date"] = np.floor(frame["final_tickets"] * rng.uniform(0.2, 1.0, len(frame))).astype("int64")
    model = SplitConformal.fit(calibration)
    bounded = model.predict(test)
    free = model.predict(test.assign(tickets_sold_to_date=-(10**9), capacity=pd.array([None] * len(test), dtype="Int64")))
    y = test["final_tickets"]
    assert coverage(y, bounded["forecast_p10"], bounded["forecast_p90"]) >= coverage(
        y, free["forecast_p10"], free["forecast_p90"]
    )
    assert (bounded["forecast_p10"] >= test["tickets_sold_to_date"]).all()
    assert (bounded["forecast_p90"] <= test["capacity"].astype("float64")).all()
    assert (bounded["forecast_p10"] <= bounded["forecast_p50"]).all() and (
        bounded["forecast_p50"] <= bounded["forecast_p90"]
    ).all()
