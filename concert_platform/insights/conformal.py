"""Conformal prediction intervals for final tickets, calibrated per horizon bucket.

Split conformal: on a calibration set the forecaster never trained on, score
each show by how far its final landed from the forecast; the
ceil((n+1)(1-alpha))-th smallest of n scores is a margin that covers a new,
exchangeable show with probability at least 1 - alpha (and, for continuous
scores, below 1 - alpha + 1/(n+1)). Errors grow with the days left before a
show, so each horizon bucket gets its own margin; a bucket too small for a
finite margin (or absent from calibration) borrows the margin of all buckets
pooled, which keeps the guarantee on average over buckets, not within it.

``SplitConformal`` puts the margin around a point forecast (optionally scaled
per show, e.g. by capacity, so a club and an arena get intervals of their own
size); ``ConformalizedQuantiles`` (CQR) widens, or narrows, a quantile model's
own p10..p90. Both bound the result afterwards, capped at capacity and floored
at tickets sold: the final always lies in that range, so bounding never
uncovers it and coverage is kept. With the default alpha = 0.2 the interval's
ends are the ``forecast_p10`` and ``forecast_p90`` columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Self

import numpy as np
import pandas as pd

from concert_platform.insights.bounds import bounded_quantiles
from concert_platform.insights.horizons import HORIZONS

ALPHA = 0.2


def conformal_quantile(scores, alpha: float = ALPHA) -> float:
    """The ceil((n+1)(1-alpha))-th smallest score; infinite when n is too small for that rank to exist."""
    ordered = np.sort(np.asarray(scores, dtype="float64"))
    # The epsilon keeps float noise (20 * 0.8 = 16.000000000000004) from raising the rank by one.
    rank = math.ceil((len(ordered) + 1) * (1 - alpha) - 1e-9)
    return float(ordered[rank - 1]) if 0 < rank <= len(ordered) else math.inf


def cqr_scores(actual, lower, upper) -> np.ndarray:
    """How far each actual lies outside [lower, upper]; negative when inside, by its distance to the nearer end."""
    y, low, high = (np.asarray(v, dtype="float64") for v in (actual, lower, upper))
    return np.maximum(low - y, y - high)


def cqr_correction(actual, lower, upper, alpha: float = ALPHA) -> float:
    """The CQR margin: subtract it from every lower and add it to every upper prediction."""
    return conformal_quantile(cqr_scores(actual, lower, upper), alpha)


@dataclass(frozen=True)
class _Margins:
    """A conformal margin per horizon bucket, and the pooled one for buckets without a finite one."""

    alpha: float
    by_horizon: dict[int, float]
    pooled: float

    @classmethod
    def _calibrate(cls, scores: np.ndarray, horizons: pd.Series, alpha: float, **fields) -> Self:
        buckets = horizons.to_numpy(dtype="float64", na_value=np.nan)
        by_horizon = {h: conformal_quantile(scores[buckets == h], alpha) for h in HORIZONS}
        return cls(alpha=alpha, by_horizon=by_horizon, pooled=conformal_quantile(scores, alpha), **fields)

    def margin(self, frame: pd.DataFrame) -> np.ndarray:
        """Each row's margin, from its horizon bucket."""
        own = frame["horizon_days"].map(self.by_horizon).astype("float64").fillna(math.inf).to_numpy()
        return np.where(np.isfinite(own), own, self.pooled)


@dataclass(frozen=True)
class SplitConformal(_Margins):
    """forecast_p50 -/+ margin x scale, with the margin learned per horizon bucket."""

    scale: str | None = None  # a column of positive numbers both frames hold, e.g. "capacity"; None: tickets

    @classmethod
    def fit(cls, calibration: pd.DataFrame, alpha: float = ALPHA, scale: str | None = None) -> Self:
        """``calibration``: rows with ``final_tickets``, ``forecast_p50`` and ``horizon_days``."""
        actual = calibration["final_tickets"].to_numpy(dtype="float64")
        residual = np.abs(actual - calibration["forecast_p50"].to_numpy(dtype="float64"))
        return cls._calibrate(residual / _scale(calibration, scale), calibration["horizon_days"], alpha, scale=scale)

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Bounded forecast_p10, forecast_p50, forecast_p90 on ``frame``'s index (it holds the snapshot columns)."""
        p50 = frame["forecast_p50"].to_numpy(dtype="float64")
        width = self.margin(frame) * _scale(frame, self.scale)
        return bounded_quantiles(p50 - width, p50, p50 + width, frame)


@dataclass(frozen=True)
class ConformalizedQuantiles(_Margins):
    """A quantile model's [forecast_p10, forecast_p90] moved out (or in) by a margin per horizon bucket."""

    @classmethod
    def fit(cls, calibration: pd.DataFrame, alpha: float = ALPHA) -> Self:
        """``calibration``: rows with ``final_tickets``, ``forecast_p10``, ``forecast_p90`` and ``horizon_days``."""
        scores = cqr_scores(calibration["final_tickets"], calibration["forecast_p10"], calibration["forecast_p90"])
        return cls._calibrate(scores, calibration["horizon_days"], alpha)

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        low, mid, high = (frame[c].to_numpy(dtype="float64") for c in ("forecast_p10", "forecast_p50", "forecast_p90"))
        margin = self.margin(frame)
        return bounded_quantiles(low - margin, mid, high + margin, frame)


def _scale(frame: pd.DataFrame, column: str | None) -> np.ndarray:
    if column is None:
        return np.ones(len(frame))
    values = frame[column].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    if not (np.isfinite(values) & (values > 0)).all():
        raise ValueError(f"conformal scale {column!r} must be positive and known on every row")
    return values
