"""The demand forecaster: gradient boosting on booking-curve snapshots, with conformal intervals.

What it predicts. For a show whose venue capacity is known, the REMAINING
SELL-THROUGH (final - sold) / capacity as of the snapshot, mapped back to
tickets as sold + remaining x capacity. The boosted trees do not start from
nothing: they learn the correction to the multiplicative pickup, whose
remaining sell-through is also one of their features. Trees split a number
into steps, and "final = sold x a ratio for this many days out" is a product
they would approximate coarsely; from the pickup they spend their splits on
what it cannot see: the length of the sale, the act's pull, the price, the
market. Close to the show the pickup is hard to beat (what is left is the
final days' surge, which no feature foretells), so the correction is SHRUNK
per horizon bucket: p50 = pickup + a x correction, with a in 0, 0.1 .. 1
chosen on calibration shows to minimise their absolute error in tickets.
Where the correction does not pay on shows it never saw, the forecast stays
the pickup's.

Intervals. p10 and p90 come from two more boosted models fitted with the
pinball loss on the same target, then conformalized (CQR) per horizon bucket
in sell-through units on those calibration shows, so that about 80% of shows
land inside [p10, p90] in every bucket.

Calibration shows are drawn by concert (a seeded draw per concert,
``calibration_mask``), never by row: a show's snapshots are one booking
curve seen on many days, and rows of one show on both sides would make the
intervals look better calibrated than they are. Every model is fitted on the
other shows; the pickup too, so the calibration shows are new to all of it.

Shows of unknown capacity (a venue missing from the capacity reference) have
no sell-through. For them a second booking model, fitted with the capacity
features left out, learns the correction to the same pickup on a log scale,
log(final + 1) - log(pickup + 1), shrunk per bucket in the same way, and
split conformal on that log scale gives intervals that scale with the show.
Nothing caps them, as there is no capacity to cap at; they are never below
tickets sold.

Censoring. The target is tickets SOLD, and a show cannot sell more than its
capacity, so a sold-out show's final (capacity) is the exact value of that
target, not a censored one: its remaining sell-through is exactly 1 - sold /
capacity, and it is trained on as such. What is censored is the DEMAND behind
a sell-out, which this model never claims to estimate: no demand is imputed
above capacity, and every forecast is capped there (``bounds``). The
sell-out model (``sellout``) learns P(final >= SOLD_OUT_AT x capacity)
directly, an event observed exactly for every finished show, so it needs no
imputation either. What censoring does cost: how far a show's demand passed
its capacity is unknown, so two sold-out shows look alike to both models
however much demand was turned away.

Rows learned from: snapshots of finished shows (``final_tickets`` known) on
``TRAINING_DAYS`` days before the show; rows of one show a day apart are
near-duplicates, and thinning them to these days cuts the fit about six-fold
at no measurable cost in accuracy. Every model is fitted on rows sorted by
concert and day with a fixed ``random_state`` and without early stopping, so
the same rows and seed give the same forecasts whatever order they came in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from concert_platform.insights.baselines import MultiplicativePickup
from concert_platform.insights.bounds import bounded, bounded_quantiles
from concert_platform.insights.conformal import ConformalizedQuantiles, SplitConformal
from concert_platform.insights.horizons import HORIZONS
from concert_platform.insights.model_features import CAPACITY_FEATURES, FEATURES, FeatureEncoder

TRAINING_DAYS = (0, 1, 2, 3, 5, 7, 10, 14, 18, 22, 30, 38, 46, 60, 75, 90)  # every horizon bucket, 2 to 4 days each
CALIBRATION_SHARE = 0.25
SHRINK_GRID = np.round(np.linspace(0.0, 1.0, 11), 1)
BOOSTING = {
    "max_iter": 100,
    "learning_rate": 0.15,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 20,
    "early_stopping": False,  # no random validation split: the fit is the same every time, and its length known
}


def calibration_mask(rows: pd.DataFrame, seed: int, share: float = CALIBRATION_SHARE) -> np.ndarray:
    """Per row, whether its concert is drawn for calibration: a seeded draw per concert, the same whatever the row order."""
    concerts = np.sort(rows["concert_id"].astype(str).unique())
    drawn = np.random.default_rng(seed).permutation(len(concerts))[: int(round(share * len(concerts)))]
    return rows["concert_id"].astype(str).isin(concerts[drawn]).to_numpy()


def finished_rows(train: pd.DataFrame) -> pd.DataFrame:
    """Finished shows' snapshots, sorted by concert and day, on a fresh index."""
    rows = train[train["final_tickets"].notna().to_numpy()]
    return rows.sort_values(["concert_id", "days_to_show"], kind="stable", ignore_index=True)


def capacity(frame: pd.DataFrame) -> np.ndarray:
    """Each row's capacity as a float, NaN where it is unknown (or not a positive number)."""
    seats = frame["capacity"].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    return np.where(seats > 0, seats, np.nan)


def known_capacity(frame: pd.DataFrame) -> np.ndarray:
    return ~np.isnan(capacity(frame))


def pickup_sell_through(pickup: MultiplicativePickup, frame: pd.DataFrame) -> np.ndarray:
    """The pickup's projected final over capacity, past 1 when it projects more than fits (NaN: capacity unknown)."""
    return pickup.project(frame) / capacity(frame)


def pickup_matrix(encoder: FeatureEncoder, pickup: MultiplicativePickup, frame: pd.DataFrame) -> np.ndarray:
    """The encoded features with ``pickup_sell_through`` as one more (numeric) column."""
    return np.column_stack([encoder.matrix(frame), pickup_sell_through(pickup, frame)])


def boosted(categorical: np.ndarray, seed: int, **loss) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(**loss, **BOOSTING, categorical_features=categorical, random_state=seed)


@dataclass(frozen=True)
class Shrinkage:
    """The share of the trees' correction kept per horizon bucket (and over all buckets, for rows in none)."""

    by_horizon: dict[int, float]
    pooled: float

    @classmethod
    def fit(cls, loss, horizons: np.ndarray) -> Self:
        """``loss(a)``: per row, the absolute error of the forecast that keeps ``a`` of the correction."""
        losses = np.array([loss(a) for a in SHRINK_GRID])  # (grid, rows)
        pooled = float(SHRINK_GRID[np.argmin(losses.sum(axis=1))])
        by_horizon = {}
        for h in HORIZONS:
            here = horizons == h
            by_horizon[h] = float(SHRINK_GRID[np.argmin(losses[:, here].sum(axis=1))]) if here.any() else pooled
        return cls(by_horizon, pooled)

    def factor(self, frame: pd.DataFrame) -> np.ndarray:
        return frame["horizon_days"].map(self.by_horizon).astype("float64").fillna(self.pooled).to_numpy()


@dataclass(frozen=True, eq=False)
class DemandForecaster:
    """forecast_p10, forecast_p50 and forecast_p90 of final tickets per snapshot (rows built with ``with_features``)."""

    name: ClassVar[str] = "gbm"
    known: _KnownCapacity
    unknown: _UnknownCapacity

    @classmethod
    def fit(cls, train: pd.DataFrame, seed: int = 0) -> Self:
        """Fitted on ``train``'s finished shows (``curves.training_snapshots`` rows with ``with_features`` columns)."""
        finished = finished_rows(train)
        # the pickup learns a ratio for every day before the show, so it sees every day
        pickup = MultiplicativePickup.fit(finished[~calibration_mask(finished, seed)])
        rows = finished[finished["days_to_show"].isin(TRAINING_DAYS).to_numpy()].reset_index(drop=True)
        calibrating = calibration_mask(rows, seed)
        if not calibrating.any() or calibrating.all():
            raise ValueError(f"too few finished shows to fit and calibrate on: {rows['concert_id'].nunique()}")
        return cls(_KnownCapacity.fit(rows, calibrating, pickup, seed), _UnknownCapacity.fit(rows, calibrating, pickup, seed))

    def predict(self, snapshots: pd.DataFrame) -> pd.DataFrame:
        """Bounded forecasts on ``snapshots``' index: within [tickets sold, capacity], p10 <= p50 <= p90."""
        frame = snapshots.reset_index(drop=True)
        known = known_capacity(frame)
        out = np.full((3, len(frame)), np.nan)
        if known.any():
            out[:, known] = self.known.predict(frame[known])
        if (~known).any():
            out[:, ~known] = self.unknown.predict(frame[~known])
        return bounded_quantiles(*out, frame).set_axis(snapshots.index)


@dataclass(frozen=True, eq=False)
class _KnownCapacity:
    """Shows of known capacity: quantile models of the correction to the pickup's remaining sell-through, and CQR."""

    pickup: MultiplicativePickup
    encoder: FeatureEncoder
    quantiles: tuple[HistGradientBoostingRegressor, ...]  # p10, p50, p90
    shrinkage: Shrinkage  # of the p50's correction
    margins: ConformalizedQuantiles  # in sell-through units

    @classmethod
    def fit(cls, rows: pd.DataFrame, calibrating: np.ndarray, pickup: MultiplicativePickup, seed: int) -> Self:
        fitting, held = known_capacity(rows) & ~calibrating, known_capacity(rows) & calibrating
        if not (fitting.any() and held.any()):
            raise ValueError("too few finished shows of known capacity to learn and calibrate sell-through on")
        encoder = FeatureEncoder.fit(rows[fitting], FEATURES)
        x = pickup_matrix(encoder, pickup, rows)
        final = rows["final_tickets"].to_numpy(dtype="float64")
        correction = _remaining(rows, final) - _pickup_remaining(pickup, rows)
        categorical = np.append(encoder.categorical_mask, False)
        quantiles = tuple(
            boosted(categorical, seed, loss="quantile", quantile=q).fit(x[fitting], correction[fitting]) for q in (0.1, 0.5, 0.9)
        )
        calibration = rows[held]
        sell_through = _SellThrough(calibration, _pickup_remaining(pickup, calibration))
        low, mid, high = (model.predict(x[held]) for model in quantiles)
        horizons = calibration["horizon_days"].to_numpy(dtype="float64", na_value=np.nan)
        shrinkage = Shrinkage.fit(lambda a: np.abs(final[held] - sell_through.tickets(sell_through.clip(a * mid))), horizons)
        scores = pd.DataFrame(
            {
                "final_tickets": _remaining(calibration, final[held]),
                "forecast_p10": sell_through.clip(low),
                "forecast_p90": sell_through.clip(high),
                "horizon_days": horizons,
            }
        )
        margins = ConformalizedQuantiles.fit(scores)
        if not np.isfinite(margins.pooled):
            raise ValueError(f"too few finished shows to calibrate intervals on: {rows['concert_id'].nunique()}")
        return cls(pickup, encoder, quantiles, shrinkage, margins)

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        """(3, rows): p10, p50, p90 in tickets, before bounding."""
        x = pickup_matrix(self.encoder, self.pickup, rows)
        sell_through = _SellThrough(rows, _pickup_remaining(self.pickup, rows))
        low, mid, high = (model.predict(x) for model in self.quantiles)
        margin = self.margins.margin(rows)
        return np.vstack(
            [
                sell_through.tickets(sell_through.clip(low) - margin),
                sell_through.tickets(sell_through.clip(self.shrinkage.factor(rows) * mid)),
                sell_through.tickets(sell_through.clip(high) + margin),
            ]
        )


@dataclass(frozen=True, eq=False)
class _UnknownCapacity:
    """Shows of unknown capacity: the correction to the pickup on a log scale, and split conformal on that scale."""

    pickup: MultiplicativePickup
    encoder: FeatureEncoder  # without the capacity features
    model: HistGradientBoostingRegressor  # log(final + 1) - log(pickup + 1)
    shrinkage: Shrinkage
    margins: SplitConformal  # on log(tickets + 1)

    @classmethod
    def fit(cls, rows: pd.DataFrame, calibrating: np.ndarray, pickup: MultiplicativePickup, seed: int) -> Self:
        rows = rows.assign(capacity=pd.NA)  # every training show, looking as the shows this model is for look
        encoder = FeatureEncoder.fit(rows[~calibrating], [c for c in FEATURES if c not in CAPACITY_FEATURES])
        x = encoder.matrix(rows)
        final = rows["final_tickets"].to_numpy(dtype="float64")
        model = boosted(encoder.categorical_mask, seed, loss="quantile", quantile=0.5)
        model.fit(x[~calibrating], np.log1p(final[~calibrating]) - _log_pickup(pickup, rows[~calibrating]))
        calibration, mid = rows[calibrating], model.predict(x[calibrating])
        shrinkage = Shrinkage.fit(
            lambda a: np.abs(final[calibrating] - np.expm1(_log_forecast(pickup, calibration, a * mid))),
            calibration["horizon_days"].to_numpy(dtype="float64", na_value=np.nan),
        )
        scores = calibration[["horizon_days"]].assign(
            final_tickets=np.log1p(final[calibrating]),
            forecast_p50=_log_forecast(pickup, calibration, shrinkage.factor(calibration) * mid),
        )
        margins = SplitConformal.fit(scores)
        if not np.isfinite(margins.pooled):
            raise ValueError(f"too few finished shows to calibrate intervals on: {rows['concert_id'].nunique()}")
        return cls(pickup, encoder, model, shrinkage, margins)

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        """(3, rows): p10, p50, p90 in tickets, before bounding."""
        mid = _log_forecast(self.pickup, rows, self.shrinkage.factor(rows) * self.model.predict(self.encoder.matrix(rows)))
        margin = self.margins.margin(rows)
        return np.expm1(np.vstack([mid - margin, mid, mid + margin]))


@dataclass(frozen=True, eq=False)
class _SellThrough:
    """Remaining sell-through of some rows (known capacity): the pickup's, clipping, and the way back to tickets."""

    rows: pd.DataFrame
    base: np.ndarray  # the pickup's remaining sell-through

    def clip(self, correction: np.ndarray) -> np.ndarray:
        """The pickup's remaining sell-through plus ``correction``, within what is left to sell."""
        left = np.maximum(_remaining(self.rows, capacity(self.rows)), 0.0)
        return np.clip(self.base + correction, 0.0, left)

    def tickets(self, remaining: np.ndarray) -> np.ndarray:
        """Final tickets for a remaining sell-through: sold + remaining x capacity."""
        sold = self.rows["tickets_sold_to_date"].to_numpy(dtype="float64")
        return sold + remaining * capacity(self.rows)


def _remaining(rows: pd.DataFrame, final) -> np.ndarray:
    """(final - sold) / capacity, NaN where capacity is unknown."""
    sold = rows["tickets_sold_to_date"].to_numpy(dtype="float64")
    return (np.asarray(final, dtype="float64") - sold) / capacity(rows)


def _pickup_remaining(pickup: MultiplicativePickup, rows: pd.DataFrame) -> np.ndarray:
    return _remaining(rows, bounded(pickup.project(rows), rows))


def _log_pickup(pickup: MultiplicativePickup, rows: pd.DataFrame) -> np.ndarray:
    """log(1 + the pickup's projection), never below tickets sold (rows of unknown capacity: nothing caps it)."""
    return np.log1p(bounded(pickup.project(rows), rows))


def _log_forecast(pickup: MultiplicativePickup, rows: pd.DataFrame, correction: np.ndarray) -> np.ndarray:
    """log(1 + final tickets) as the pickup plus ``correction``, never below tickets sold."""
    log_sold = np.log1p(rows["tickets_sold_to_date"].to_numpy(dtype="float64"))
    return np.maximum(_log_pickup(pickup, rows) + correction, log_sold)
