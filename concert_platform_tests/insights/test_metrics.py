import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from concert_platform.insights.metrics import (
    BACKTEST_COLUMNS,
    auc,
    brier,
    brier_skill,
    coverage,
    expected_calibration_error,
    mae,
    pinball_loss,
    quantile_loss,
    score_by_horizon,
    wape,
)


def test_point_and_interval_metrics():
    assert wape([100, 200, 0], [110, 150, 10]) == pytest.approx(70 / 300)
    assert mae([100, 200, 0], [110, 150, 10]) == pytest.approx(70 / 3)
    assert np.isnan(wape([0, 0], [1, 2]))
    # Ends count as inside: 5 and 10 are, 15 and 20 are not.
    assert coverage([5, 10, 15, 20], [0, 10, 16, 0], [10, 10, 20, 19]) == 0.5
    with pytest.raises(ValueError, match="differ in length"):
        mae([1, 2], [1])


def test_pinball_loss():
    # Errors actual - forecast of 10 - 12 = -2 and 20 - 15 = 5.
    assert pinball_loss([10, 20], [12, 15], 0.1) == pytest.approx((0.9 * 2 + 0.1 * 5) / 2)  # 1.15
    assert pinball_loss([10, 20], [12, 15], 0.5) == pytest.approx((0.5 * 2 + 0.5 * 5) / 2)  # 1.75
    assert pinball_loss([10, 20], [12, 15], 0.9) == pytest.approx((0.1 * 2 + 0.9 * 5) / 2)  # 2.35
    assert quantile_loss([10, 20], [12, 15], [12, 15], [12, 15]) == pytest.approx((1.15 + 1.75 + 2.35) / 3)


def test_brier_and_skill():
    y, p = [1, 0, 1, 0], [0.9, 0.2, 0.6, 0.5]
    assert brier(y, p) == pytest.approx((0.01 + 0.04 + 0.16 + 0.25) / 4)  # 0.115
    # Always 0.25: (0.5625 + 0.0625 + 0.5625 + 0.0625) / 4 = 0.3125.
    assert brier_skill(y, p, 0.25) == pytest.approx(1 - 0.115 / 0.3125)
    assert brier_skill(y, [0.25] * 4, 0.25) == pytest.approx(0.0)


def test_auc_counts_ties_as_half():
    y = [1, 1, 0, 0, 1, 0]
    s = [0.9, 0.5, 0.5, 0.1, 0.3, 0.3]
    # Positives 0.9, 0.5, 0.3 against negatives 0.5, 0.1, 0.3: 3 + (0.5 + 1 + 1) + (0 + 1 + 0.5) of 9 pairs.
    assert auc(y, s) == pytest.approx(7 / 9)
    assert auc([1, 0, 1, 0], [0.5] * 4) == 0.5
    assert auc([1, 1, 0], [0.1, 0.2, 0.9]) == 0.0
    assert np.isnan(auc([1, 1], [0.2, 0.3]))


def test_expected_calibration_error_on_equal_mass_bins():
    p = [0.1, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 0.9]
    y = [0, 0, 0, 1, 0, 1, 1, 0, 1, 1]
    # Five bins of two: |0 - .1|, |.5 - .25|, |.5 - .5|, |.5 - .75|, |1 - .9|, each weighing 2 of 10.
    assert expected_calibration_error(y, p, bins=5) == pytest.approx(2 * (0.1 + 0.25 + 0 + 0.25 + 0.1) / 10)
    # Tied probabilities share a bin even when it overflows: bins {.2, .2, .2} and {.8}.
    assert expected_calibration_error([1, 1, 0, 0], [0.2, 0.2, 0.2, 0.8], bins=2) == pytest.approx(
        (3 * abs(2 / 3 - 0.2) + abs(0 - 0.8)) / 4
    )
    # One constant forecast is one bin: the gap between it and the observed rate.
    assert expected_calibration_error([1, 0, 0, 0], [0.4] * 4) == pytest.approx(0.15)


def _frame():
    rows = [
        # horizon, final, p10, p50, p90, sell-out probability, sold out
        (1, 100, 90, 95, 100, 0.8, True),
        (1, 50, 30, 60, 70, 0.1, False),
        (7, 40, 50, 55, 60, 0.3, None),  # capacity unknown: no sell-out label
        (60, 10, 0, 10, 5, 0.2, False),
        (60, 20, 0, 20, 25, 0.6, True),
        (60, 30, 0, 30, 30, 0.6, False),
        (None, 1000, 0, 0, 0, 0.9, True),  # beyond 90 days: in no bucket
    ]
    columns = ["horizon_days", "final_tickets", "forecast_p10", "forecast_p50", "forecast_p90", "sellout_probability", "censored"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"horizon_days": "Int64", "final_tickets": "Int64", "censored": "boolean"})


def test_backtest_rows_per_horizon_by_hand():
    got = score_by_horizon(_frame(), "model_a")
    nan = np.nan
    expected = pd.DataFrame(
        [
            # 60: p10 errors 10, 20, 30 -> 2; p50 exact; p90 errors 5, -5, 0 -> (4.5 + 0.5) / 3.
            ("model_a", 60, 3, 0.0, 0.0, 2 / 3, (2 + 0 + 5 / 3) / 3, 0.56 / 3, 0.75),
            ("model_a", 30, 0, nan, nan, nan, nan, nan, nan),
            ("model_a", 14, 0, nan, nan, nan, nan, nan, nan),
            # 7: one show below its interval: pinball (0.9 * 10 + 0.5 * 15 + 0.1 * 20) / 3.
            ("model_a", 7, 1, 15 / 40, 15.0, 0.0, (9 + 7.5 + 2) / 3, nan, nan),
            # 1: pinball q10 (1 + 2) / 2, q50 (2.5 + 5) / 2, q90 (0 + 2) / 2; Brier (0.04 + 0.01) / 2.
            ("model_a", 1, 2, 15 / 150, 7.5, 1.0, (1.5 + 3.75 + 1.0) / 3, 0.025, 1.0),
        ],
        columns=BACKTEST_COLUMNS,
    )
    assert_frame_equal(got, expected)


def test_models_without_intervals_or_tickets_score_nan_there():
    frame = _frame()
    pickup = score_by_horizon(frame.drop(columns=["forecast_p10", "forecast_p90", "sellout_probability"]), "additive_pickup")
    assert pickup["coverage_80"].isna().all() and pickup["pinball_loss"].isna().all() and pickup["brier"].isna().all()
    assert pickup.loc[pickup["horizon_days"] == 1, "wape"].item() == pytest.approx(0.1)
    base_rate = score_by_horizon(frame[["horizon_days", "final_tickets", "sellout_probability", "censored"]], "base_rate")
    assert base_rate["wape"].isna().all()
    assert base_rate.loc[base_rate["horizon_days"] == 60, "auc"].item() == pytest.approx(0.75)
