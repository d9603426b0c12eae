"""The promotion gate on crafted backtest tables: one that clears every bar, and one per bar it misses."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from concert_platform.insights.backtest import OVERALL, SelloutMetrics
from concert_platform.insights.gate import BaselineWin, GateResult, promotion_gate
from concert_platform.insights.metrics import BACKTEST_COLUMNS

NAN = np.nan
BUCKETS = (60, 30, 14, 7, 1, OVERALL)
# Per model, its numbers at 60, 30, 14, 7, 1 days and overall: (wape, coverage_80, pinball_loss, brier).
PASSING = {
    "gbm": [(0.30, 0.80, 50.0, NAN), (0.25, 0.78, 40.0, NAN), (0.20, 0.82, 30.0, NAN), (0.12, 0.80, 20.0, NAN),
            (0.05, 0.77, 8.0, NAN), (0.21, 0.80, 33.0, NAN)],
    "sellout": [(NAN, NAN, NAN, 0.05)] * 6,
    "additive_pickup": [(0.40, NAN, NAN, NAN), (0.31, NAN, NAN, NAN), (0.26, NAN, NAN, NAN), (0.15, NAN, NAN, NAN),
                        (0.05, NAN, NAN, NAN), (0.30, NAN, NAN, NAN)],
    "multiplicative_pickup": [(0.38, NAN, NAN, NAN), (0.33, NAN, NAN, NAN), (0.24, NAN, NAN, NAN), (0.13, NAN, NAN, NAN),
                              (0.06, NAN, NAN, NAN), (0.28, NAN, NAN, NAN)],
    # Better intervals at 14 days, better p50 nowhere: reported, not failed.
    "historical_quantiles": [(0.50, 0.70, 60.0, NAN), (0.45, 0.70, 45.0, NAN), (0.40, 0.70, 25.0, NAN), (0.35, 0.70, 30.0, NAN),
                             (0.30, 0.70, 20.0, NAN), (0.42, 0.70, 41.0, NAN)],
    "base_rate": [(NAN, NAN, NAN, 0.08)] * 5 + [(NAN, NAN, NAN, 0.09)],
    "pickup_sellout": [(NAN, NAN, NAN, 0.10), (NAN, NAN, NAN, 0.04), *[(NAN, NAN, NAN, 0.10)] * 4],
}  # fmt: skip
SELLOUT = SelloutMetrics("sellout", 30, 180, brier_skill=0.40, auc=0.90, calibration_error=0.02)
QUANTILE_WIN = BaselineWin(14, "pinball_loss", "historical_quantiles", 25.0, 30.0)
BRIER_WIN = BaselineWin(30, "brier", "pickup_sellout", 0.04, 0.05)


def _table(models: dict[str, list[tuple[float, float, float, float]]]) -> pd.DataFrame:
    rows = [
        {
            "model": model,
            "horizon_days": h,
            "n": 100,
            "wape": w,
            "mae": w * 1000,
            "coverage_80": c,
            "pinball_loss": p,
            "brier": b,
            "auc": NAN,
        }
        for model, values in models.items()
        for h, (w, c, p, b) in zip(BUCKETS, values, strict=True)
    ]
    return pd.DataFrame(rows, columns=BACKTEST_COLUMNS).astype({"horizon_days": "int64", "n": "int64"})


def _with(model: str, horizon: int, **changes: float) -> pd.DataFrame:
    table = _table(PASSING)
    at = (table["model"] == model) & (table["horizon_days"] == horizon)
    for column, value in changes.items():
        table.loc[at, column] = value
    return table


def test_a_backtest_that_clears_every_bar_passes_and_still_reports_where_baselines_win():
    result = promotion_gate(_table(PASSING), "gbm", SELLOUT)
    assert result == GateResult(True, (), (QUANTILE_WIN, BRIER_WIN))
    assert QUANTILE_WIN.describe() == "at 14 days: historical_quantiles pinball_loss 25.000 against 30.000 (5.000 better)"
    assert QUANTILE_WIN.margin == 5.0
    with pytest.raises(AttributeError):
        result.passed = False  # frozen


def test_overall_wape_not_20_percent_below_the_better_pickup():
    # 0.8 x multiplicative's 0.28 = 0.224: 0.23 misses it though every bucket still beats both pickups.
    result = promotion_gate(_with("gbm", OVERALL, wape=0.23), "gbm", SELLOUT)
    assert not result.passed
    assert result.reasons == (
        "WAPE overall 0.230 is not 20% below the better pickup baseline (multiplicative_pickup 0.280): it must be at most 0.224",
    )


def test_a_bucket_where_a_pickup_wins_fails_and_is_reported():
    # At 7 days additive scores 0.15 and multiplicative 0.13: the gate compares with the better of the two there.
    result = promotion_gate(_with("gbm", 7, wape=0.14), "gbm", SELLOUT)
    assert result.reasons == ("WAPE at 7 days 0.140 is worse than multiplicative_pickup 0.130",)
    win = BaselineWin(7, "wape", "multiplicative_pickup", 0.13, 0.14)
    assert (
        win in result.baseline_wins
        and win.describe() == "at 7 days: multiplicative_pickup wape 0.130 against 0.140 (0.010 better)"
    )
    # A tie is no worse: 0.05 against additive's 0.05 at 1 day passes.
    assert promotion_gate(_with("gbm", 1, wape=0.05), "gbm", SELLOUT).passed


@pytest.mark.parametrize(
    ("horizon", "coverage", "reason"),
    [
        (14, 0.76, "80% interval coverage at 14 days is 0.760 (n=100), outside 0.77-0.83"),
        (60, 0.84, "80% interval coverage at 60 days is 0.840 (n=100), outside 0.77-0.83"),
        (1, NAN, "80% interval coverage at 1 day is nan (n=100), outside 0.77-0.83"),  # no interval: no pass
    ],
)
def test_coverage_outside_77_to_83_percent_in_any_bucket(horizon, coverage, reason):
    result = promotion_gate(_with("gbm", horizon, coverage_80=coverage), "gbm", SELLOUT)
    assert (result.passed, result.reasons) == (False, (reason,))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"brier_skill": 0.29}, "Brier skill against the base rate 0.290 is below 0.3"),
        ({"auc": 0.84}, "AUC 0.840 is below 0.85"),
        ({"calibration_error": 0.031}, "calibration error 0.031 is above 0.03"),
        ({"auc": NAN}, "AUC nan is below 0.85"),
    ],
)
def test_each_sellout_bar_at_30_days(change, reason):
    result = promotion_gate(_table(PASSING), "gbm", replace(SELLOUT, **change))
    assert (result.passed, result.reasons) == (False, (f"sell-out (sellout) at 30 days, n=180: {reason}",))


def test_a_candidate_missing_from_the_table_fails_every_ticket_bar():
    result = promotion_gate(_table(PASSING), "lgbm", SELLOUT)
    assert not result.passed
    assert result.reasons[0] == (
        "WAPE overall nan is not 20% below the better pickup baseline (multiplicative_pickup 0.280): it must be at most 0.224"
    )
    assert len(result.reasons) == 1 + 5 + 5  # overall, then WAPE and coverage in every bucket


def test_without_pickup_rows_nothing_can_be_promoted():
    table = _table({k: v for k, v in PASSING.items() if not k.endswith("_pickup")})
    result = promotion_gate(table, "gbm", SELLOUT)
    assert not result.passed
    assert "WAPE at 60 days 0.300 is worse than no additive_pickup/multiplicative_pickup row nan" in result.reasons


def test_several_misses_give_one_reason_each():
    table = _with("gbm", 30, wape=0.32, coverage_80=0.70)
    result = promotion_gate(table, "gbm", replace(SELLOUT, auc=0.80))
    assert result.reasons == (
        "WAPE at 30 days 0.320 is worse than additive_pickup 0.310",
        "80% interval coverage at 30 days is 0.700 (n=100), outside 0.77-0.83",
        "sell-out (sellout) at 30 days, n=180: AUC 0.800 is below 0.85",
    )
    assert [(w.horizon_days, w.metric, w.baseline) for w in result.baseline_wins] == [
        (30, "wape", "additive_pickup"),
        (14, "pinball_loss", "historical_quantiles"),
        (30, "brier", "pickup_sellout"),
    ]
