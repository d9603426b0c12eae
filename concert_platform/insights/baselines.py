"""The baselines a forecast model must beat, fitted on finished shows' snapshots.

Each baseline is fitted with ``fit(train)`` on ``curves.training_snapshots``
rows (those with a ``final_tickets`` target) and answers ``predict(snapshots)``
with a frame on the snapshots' index: ``forecast_p50`` (and ``forecast_p10``,
``forecast_p90`` when it has them), or ``sellout_probability`` for the
sell-out baselines. Every ticket forecast goes through ``bounds``: capped at
capacity where known, never below tickets sold.

What "similar shows" means here: the same venue-size bucket (``size_bucket``)
and, for the pickup models, the same number of days before the show. A cell
with fewer than ``min_shows`` shows is too noisy and falls back to all sizes
at that day; with nothing learned at all a forecast is the tickets sold.
Sold-out shows' finals are taken as observed (demand censored at capacity),
which is what a pickup practitioner does; the baselines are meant to be plain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np
import pandas as pd
from pandas.api.typing import SeriesGroupBy

from concert_platform.insights.bounds import QUANTILE_COLUMNS, bounded, bounded_quantiles
from concert_platform.insights.horizons import MAX_DAYS_OUT
from concert_platform.transforms.features import SOLD_OUT_AT

# Venue sizes: capacity up to each edge; above the last, "stadium"; capacity unknown, "unknown".
SIZE_BUCKETS: tuple[tuple[int, str], ...] = ((1_000, "club"), (5_000, "theatre"), (20_000, "arena"))
MIN_SHOWS = 5
QUANTILES = (0.1, 0.5, 0.9)


def size_bucket(capacity: pd.Series) -> pd.Series:
    """The venue-size bucket of each capacity."""
    cap = capacity.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    conditions = [np.isnan(cap)] + [cap <= edge for edge, _ in SIZE_BUCKETS]
    names = ["unknown"] + [name for _, name in SIZE_BUCKETS]
    return pd.Series(np.select(conditions, names, default="stadium"), index=capacity.index, dtype=str)


@dataclass(frozen=True)
class AdditivePickup:
    """Final = sold + the mean tickets similar shows still sold from this many days out."""

    name: ClassVar[str] = "additive_pickup"
    by_size: pd.Series  # (size bucket, days before) -> learned pickup
    pooled: pd.Series  # days before -> learned pickup, over all sizes

    @classmethod
    def fit(cls, train: pd.DataFrame, min_shows: int = MIN_SHOWS) -> Self:
        rows = _finished(train)
        return cls(*(cls._pickup(_cells(rows, keys, min_shows)) for keys in (["size", "days"], ["days"])))

    @staticmethod
    def _pickup(cells: pd.DataFrame) -> pd.Series:
        return (cells["final"] - cells["sold"]) / cells["shows"]

    def project(self, snapshots: pd.DataFrame) -> np.ndarray:
        """The pickup projection before bounding."""
        sold = snapshots["tickets_sold_to_date"].to_numpy(dtype="float64")
        return sold + _lookup(self.by_size, self.pooled, snapshots, default=0.0)

    def predict(self, snapshots: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"forecast_p50": bounded(self.project(snapshots), snapshots)}, index=snapshots.index)


@dataclass(frozen=True)
class MultiplicativePickup(AdditivePickup):
    """Final = sold x (sum of finals / sum sold then) over similar shows, from this many days out.

    A ratio of sums, not a mean of ratios: a show that had sold nothing yet
    has no ratio of its own, but its final still counts.
    """

    name: ClassVar[str] = "multiplicative_pickup"

    @staticmethod
    def _pickup(cells: pd.DataFrame) -> pd.Series:
        return (cells["final"] / cells["sold"])[cells["sold"] > 0]

    def project(self, snapshots: pd.DataFrame) -> np.ndarray:
        sold = snapshots["tickets_sold_to_date"].to_numpy(dtype="float64")
        return sold * _lookup(self.by_size, self.pooled, snapshots, default=1.0)


@dataclass(frozen=True)
class HistoricalMean:
    """Final = the mean final tickets of past shows in the same size bucket, whatever has sold so far."""

    name: ClassVar[str] = "historical_mean"
    by_size: pd.DataFrame  # size bucket -> forecast columns
    pooled: pd.DataFrame  # one row: the same over all sizes

    @classmethod
    def fit(cls, train: pd.DataFrame, min_shows: int = MIN_SHOWS) -> Self:
        shows = _finished(train).drop_duplicates("concert_id")
        by_size, pooled = shows.groupby("size")["final"], shows.assign(size="all").groupby("size")["final"]
        return cls(*(cls._describe(g)[g.size() >= min_shows] for g in (by_size, pooled)))

    @staticmethod
    def _describe(finals: SeriesGroupBy) -> pd.DataFrame:
        return finals.mean().to_frame("forecast_p50")

    def _raw(self, snapshots: pd.DataFrame) -> pd.DataFrame:
        """Each snapshot's bucket statistics, the pooled ones where its bucket has too few shows."""
        values = self.by_size.reindex(size_bucket(snapshots["capacity"]).to_numpy())
        if len(self.pooled):
            values = values.fillna(self.pooled.iloc[0])
        return values.fillna(0.0)  # nothing learned at all: the floor at tickets sold decides

    def predict(self, snapshots: pd.DataFrame) -> pd.DataFrame:
        p50 = self._raw(snapshots)["forecast_p50"].to_numpy()
        return pd.DataFrame({"forecast_p50": bounded(p50, snapshots)}, index=snapshots.index)


@dataclass(frozen=True)
class HistoricalQuantiles(HistoricalMean):
    """p10, p50 and p90 of past shows' final tickets in the same size bucket (linear interpolation)."""

    name: ClassVar[str] = "historical_quantiles"

    @staticmethod
    def _describe(finals: SeriesGroupBy) -> pd.DataFrame:
        return pd.DataFrame({column: finals.quantile(q) for column, q in zip(QUANTILE_COLUMNS, QUANTILES, strict=True)})

    def predict(self, snapshots: pd.DataFrame) -> pd.DataFrame:
        raw = self._raw(snapshots)
        return bounded_quantiles(*(raw[c].to_numpy() for c in QUANTILE_COLUMNS), snapshots)


@dataclass(frozen=True)
class BaseRate:
    """Sell-out probability = the share of past shows that sold out; unknown capacity, no answer (NaN)."""

    name: ClassVar[str] = "base_rate"
    rate: float

    @classmethod
    def fit(cls, train: pd.DataFrame) -> Self:
        shows = _finished(train).drop_duplicates("concert_id")
        return cls(float(shows["censored"].dropna().astype(float).mean()))

    def predict(self, snapshots: pd.DataFrame) -> pd.DataFrame:
        known = snapshots["capacity"].notna().to_numpy()
        return pd.DataFrame({"sellout_probability": np.where(known, self.rate, np.nan)}, index=snapshots.index)


@dataclass(frozen=True)
class PickupSellout:
    """Sell-out probability 1 when a fitted pickup's projection reaches capacity, else 0."""

    name: ClassVar[str] = "pickup_sellout"
    pickup: AdditivePickup

    def predict(self, snapshots: pd.DataFrame) -> pd.DataFrame:
        capacity = snapshots["capacity"].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
        reaches = self.pickup.project(snapshots) >= SOLD_OUT_AT * capacity
        probability = np.where(np.isnan(capacity), np.nan, reaches.astype("float64"))
        return pd.DataFrame({"sellout_probability": probability}, index=snapshots.index)


def _finished(train: pd.DataFrame) -> pd.DataFrame:
    rows = train[train["final_tickets"].notna()]
    return pd.DataFrame(
        {
            "concert_id": rows["concert_id"],
            "size": size_bucket(rows["capacity"]),
            "days": _days(rows),
            "sold": rows["tickets_sold_to_date"].astype("float64"),
            "final": rows["final_tickets"].astype("float64"),
            "censored": rows["censored"],
        }
    )


def _days(snapshots: pd.DataFrame) -> np.ndarray:
    """Days to show as the pickup tables know them: a played show reads as its show day, beyond 90 as 90."""
    return snapshots["days_to_show"].to_numpy(dtype="int64").clip(0, MAX_DAYS_OUT)


def _cells(rows: pd.DataFrame, keys: list[str], min_shows: int) -> pd.DataFrame:
    """Per cell of ``keys``: the sums of final and sold tickets, and the shows, where there are enough shows."""
    grouped = rows.groupby(keys)
    cells = grouped[["final", "sold"]].sum().assign(shows=grouped.size())
    return cells[cells["shows"] >= min_shows]


def _lookup(by_size: pd.Series, pooled: pd.Series, snapshots: pd.DataFrame, default: float) -> np.ndarray:
    """Per snapshot, the learned value of its (size, days) cell, else of its days over all sizes, else ``default``."""
    days = _days(snapshots)
    keys = pd.MultiIndex.from_arrays([size_bucket(snapshots["capacity"]).to_numpy(), days])
    exact = by_size.reindex(keys).to_numpy(dtype="float64")
    fallback = pooled.reindex(days).to_numpy(dtype="float64")
    return np.where(np.isnan(exact), np.where(np.isnan(fallback), default, fallback), exact)
