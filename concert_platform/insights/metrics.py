"""Forecast and sell-out metrics, and the backtest table's rows per horizon bucket.

Every metric takes array-likes of equal length and returns a float; NaN when
it is undefined on what it was given (no rows, one class only), never a
made-up number. Conventions:

- ``wape``: sum |actual - forecast| / sum actual, so big shows weigh as much as
  their tickets do (a promoter's error in tickets, not in percent per show).
- ``quantile_loss``: the mean of the pinball losses of p10, p50 and p90.
- ``auc``: the Mann-Whitney statistic on average ranks, so a tied score between
  a sell-out and a non-sell-out counts one half.
- ``expected_calibration_error``: equal-mass bins (each about n / bins rows,
  ordered by predicted probability; tied probabilities share a bin), weighted by
  rows: equal-width bins would leave the rare high probabilities of a 5-10%
  sell-out rate in near-empty bins.

Sold-out shows' actuals are censored at capacity; forecasts are capped there
too, so scoring them against the observed final is fair to every model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from concert_platform.insights.bounds import QUANTILE_COLUMNS
from concert_platform.insights.horizons import HORIZONS

BACKTEST_COLUMNS = ["model", "horizon_days", "n", "wape", "mae", "coverage_80", "pinball_loss", "brier", "auc"]
_METRICS = BACKTEST_COLUMNS[3:]


def wape(actual, forecast) -> float:
    a, f = _floats(actual, forecast)
    total = np.abs(a).sum()
    return float(np.abs(a - f).sum() / total) if total > 0 else np.nan


def mae(actual, forecast) -> float:
    a, f = _floats(actual, forecast)
    return float(np.abs(a - f).mean()) if len(a) else np.nan


def coverage(actual, lower, upper) -> float:
    """The share of actuals inside [lower, upper], ends included."""
    a, low, high = _floats(actual, lower, upper)
    return float(((low <= a) & (a <= high)).mean()) if len(a) else np.nan


def pinball_loss(actual, forecast, quantile: float) -> float:
    a, f = _floats(actual, forecast)
    diff = a - f
    return float(np.maximum(quantile * diff, (quantile - 1) * diff).mean()) if len(a) else np.nan


def quantile_loss(actual, p10, p50, p90) -> float:
    return float(np.mean([pinball_loss(actual, f, q) for f, q in ((p10, 0.1), (p50, 0.5), (p90, 0.9))]))


def brier(outcome, probability) -> float:
    y, p = _floats(outcome, probability)
    return float(((p - y) ** 2).mean()) if len(y) else np.nan


def brier_skill(outcome, probability, base_rate: float) -> float:
    """1 - Brier / Brier of always answering ``base_rate`` (the training shows' sell-out share, not the test's)."""
    reference = brier(outcome, np.full(len(np.asarray(outcome)), base_rate))
    return 1.0 - brier(outcome, probability) / reference if reference > 0 else np.nan


def auc(outcome, score) -> float:
    y, s = _floats(outcome, score)
    positives = y == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return np.nan
    ranks = pd.Series(s).rank(method="average").to_numpy()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def expected_calibration_error(outcome, probability, bins: int = 10) -> float:
    y, p = _floats(outcome, probability)
    if not len(y):
        return np.nan
    first_rank = pd.Series(p).rank(method="min").to_numpy() - 1  # ties take their lowest rank: one bin
    which = (first_rank * bins // len(p)).astype("int64")
    per_bin = pd.DataFrame({"bin": which, "y": y, "p": p}).groupby("bin").agg(n=("y", "size"), y=("y", "mean"), p=("p", "mean"))
    return float((per_bin["n"] * (per_bin["y"] - per_bin["p"]).abs()).sum() / len(y))


def score(frame: pd.DataFrame) -> dict[str, float]:
    """The backtest metrics of one set of forecasts against ``final_tickets`` and ``censored``.

    Whatever a model does not forecast scores NaN: a pickup has no interval
    (coverage, pinball loss), a base rate no tickets (WAPE, MAE).
    """
    out = dict.fromkeys(_METRICS, np.nan)
    actual = frame["final_tickets"]
    if "forecast_p50" in frame:
        out["wape"], out["mae"] = wape(actual, frame["forecast_p50"]), mae(actual, frame["forecast_p50"])
    if set(QUANTILE_COLUMNS) <= set(frame.columns):
        p10, p50, p90 = (frame[c] for c in QUANTILE_COLUMNS)
        out["coverage_80"], out["pinball_loss"] = coverage(actual, p10, p90), quantile_loss(actual, p10, p50, p90)
    if "sellout_probability" in frame:
        known = frame[frame["sellout_probability"].notna() & frame["censored"].notna()]
        out["brier"] = brier(known["censored"], known["sellout_probability"])
        out["auc"] = auc(known["censored"], known["sellout_probability"])
    return out


def score_by_horizon(frame: pd.DataFrame, model: str) -> pd.DataFrame:
    """One backtest row per horizon bucket (60, 30, 14, 7, 1), every bucket present: n = 0 shows an empty one."""
    rows = []
    for horizon in HORIZONS:
        part = frame[(frame["horizon_days"] == horizon).fillna(False)]
        rows.append({"model": model, "horizon_days": horizon, "n": len(part), **score(part)})
    out = pd.DataFrame(rows, columns=BACKTEST_COLUMNS)
    return out.astype({"horizon_days": "int64", "n": "int64", **dict.fromkeys(_METRICS, "float64")})


def _floats(*columns) -> list[np.ndarray]:
    arrays = [pd.Series(c).astype("Float64").to_numpy(dtype="float64", na_value=np.nan) for c in columns]
    if len({len(a) for a in arrays}) > 1:
        raise ValueError(f"metric inputs differ in length: {[len(a) for a in arrays]}")
    return arrays
