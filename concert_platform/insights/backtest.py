"""Rolling-origin backtest: every model refitted at each cutoff and scored on the shows that followed it.

A model is a factory ``fit(train_snapshots) -> fitted``; the fitted model has
a ``name`` and ``predict(snapshots)``, a frame on the snapshots' index with
``forecast_p50`` (and ``forecast_p10``, ``forecast_p90``) or
``sellout_probability``. The baselines are models like any other.

Cutoffs (``fold_cutoffs``): every ``step_days`` (a week) back from the last,
which is the last sale day L minus 90 days (the far end of the 60-day
bucket) minus the days of a fold's week after the first. A show 90 days out
on the last day a fold scores is played on L at the latest, so every fold's
every bucket holds shows whose final count is in the data; a later last
cutoff would score its far buckets on the near shows only.

A cutoff C is the start of day C. Fold C trains on the booking curves cut to
sales before C and on ``training_snapshots(cutoff=C)``: covered shows played
before C, as of each of 0..90 days before their show, with their final
tickets. The model fitted then serves a week, as a weekly retrain would: it
is scored as of each day d from C to the next cutoff (C + ``step_days``),
on every covered show played from d to L (not cancelled or postponed), with
what a forecast made on day d would have seen (sales before d), its target
still unknown. The show's days to show at d decide its bucket
(``horizon_bucket``: 25 days out scores in the 30-day bucket); shows over 90
days out are not scored. A show is scored again on later days, nearer, as
the daily forecasts do, so ``n`` counts snapshots, not distinct shows.

``features`` (say ``model_features.with_features`` over the catalog) adds
columns to the training and scored snapshots alike. Then the guard: before any
model sees a fold, the leakage detectors recount what the models are about to
receive from the daily sales table, and ``LeakageError`` names every violation.

The table (``metrics.BACKTEST_COLUMNS``): per model, one row per horizon
bucket (60, 30, 14, 7, 1) over all folds pooled (a metric over the pooled
snapshots, not a mean of per-fold metrics), then one ``OVERALL`` row
(horizon_days 0, no bucket's label) over every scored snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from concert_platform.insights.baselines import (
    AdditivePickup,
    BaseRate,
    HistoricalMean,
    HistoricalQuantiles,
    MultiplicativePickup,
    PickupSellout,
)
from concert_platform.insights.bounds import QUANTILE_COLUMNS
from concert_platform.insights.curves import NOT_PLAYED, booking_curves, covered_shows, snapshots, training_snapshots
from concert_platform.insights.horizons import MAX_DAYS_OUT
from concert_platform.insights.leakage import future_sales_used, targets_after_cutoff
from concert_platform.insights.metrics import BACKTEST_COLUMNS, auc, brier, expected_calibration_error, score, score_by_horizon

MIN_FOLDS = 6
STEP_DAYS = 7
OVERALL = 0
SELLOUT_HORIZON = 30

Model = Callable[[pd.DataFrame], Any]  # fit(train_snapshots) -> a fitted model with .name and .predict
Features = Callable[[pd.DataFrame], pd.DataFrame]  # snapshots -> the same rows, with feature columns added


def pickup_sellout(train: pd.DataFrame) -> PickupSellout:
    """The sell-out baseline on the additive pickup's projection (the more conservative of the two)."""
    return PickupSellout(AdditivePickup.fit(train))


TICKET_BASELINES: tuple[Model, ...] = (AdditivePickup.fit, MultiplicativePickup.fit, HistoricalMean.fit, HistoricalQuantiles.fit)
SELLOUT_BASELINES: tuple[Model, ...] = (BaseRate.fit, pickup_sellout)
BASELINES = TICKET_BASELINES + SELLOUT_BASELINES

_KEYS = ["cutoff", "concert_id", "as_of", "days_to_show", "horizon_days", "capacity", "tickets_sold_to_date"]
PREDICTION_COLUMNS = ["model", *_KEYS, "final_tickets", "censored", *QUANTILE_COLUMNS, "sellout_probability"]
_FORECASTS = [*QUANTILE_COLUMNS, "sellout_probability"]


class LeakageError(ValueError):
    """A fold's data holds what its cutoff could not know; ``violations`` has the rows (leakage.VIOLATION_COLUMNS)."""

    def __init__(self, cutoff: date, violations: pd.DataFrame):
        self.cutoff, self.violations = cutoff, violations
        shown = violations.head(20).to_string(index=False)
        super().__init__(f"backtest fold {cutoff.isoformat()} leaks, {len(violations)} violation(s):\n{shown}")


@dataclass(frozen=True)
class Fold:
    cutoff: date
    train: pd.DataFrame  # training_snapshots for the cutoff: what every model's fit receives
    test: pd.DataFrame  # the scored shows as of each day of the fold's week, targets unknown: what predict receives
    truth: pd.DataFrame  # final_tickets and censored of the test shows, on test's index


@dataclass(frozen=True)
class Backtest:
    table: pd.DataFrame  # BACKTEST_COLUMNS
    predictions: pd.DataFrame  # PREDICTION_COLUMNS: one row per model, fold and scored snapshot


@dataclass(frozen=True)
class SelloutMetrics:
    """A sell-out model's scores at one horizon bucket, over the backtest's pooled snapshots there."""

    model: str
    horizon_days: int
    n: int
    brier_skill: float  # 1 - its Brier / the base_rate model's Brier on the same snapshots
    auc: float
    calibration_error: float  # metrics.expected_calibration_error


def last_sale_day(daily: pd.DataFrame) -> date:
    return pd.to_datetime(daily["sale_date"]).max().date()


def fold_cutoffs(daily: pd.DataFrame, concerts: pd.DataFrame, folds: int = MIN_FOLDS, step_days: int = STEP_DAYS) -> list[date]:
    """``folds`` cutoffs ``step_days`` apart, oldest first, the last one so that its week's last scored day is
    90 days before the last sale day.

    ValueError when no covered show was played before the first: its fold would have nothing to learn from."""
    last = last_sale_day(daily) - timedelta(days=MAX_DAYS_OUT + step_days - 1)
    cutoffs = [last - timedelta(days=step_days * k) for k in reversed(range(folds))]
    covered = concerts["concert_id"].astype(str).isin(covered_shows(booking_curves(daily, concerts), concerts))
    played = concerts.loc[~concerts["status"].isin(NOT_PLAYED) & covered, "local_date"].dropna()
    if not (pd.to_datetime(played) < pd.Timestamp(cutoffs[0])).any():
        raise ValueError(
            f"too little history for {folds} folds every {step_days} days up to {last}: "
            f"no show was played before the first cutoff {cutoffs[0]} with all its sales loaded "
            f"(the sales start on {pd.to_datetime(daily['sale_date']).min().date()})"
        )
    return cutoffs


def guard(cutoff: date, train: pd.DataFrame, test: pd.DataFrame, daily: pd.DataFrame) -> None:
    """Raise ``LeakageError`` when a fold's features count a sale on or after their as-of day, or carry a later show's target."""
    found = [
        future_sales_used(train, daily),
        targets_after_cutoff(train, cutoff),
        future_sales_used(test, daily),
        targets_after_cutoff(test, cutoff),  # the answers are not handed to predict
    ]
    found = [part for part in found if len(part)]
    if found:
        raise LeakageError(cutoff, pd.concat(found, ignore_index=True))


def make_folds(
    curves: pd.DataFrame,
    daily: pd.DataFrame,
    concerts: pd.DataFrame,
    venues: pd.DataFrame,
    cutoffs: Sequence[date],
    features: Features | None = None,
    step_days: int = STEP_DAYS,
) -> Iterator[Fold]:
    """Each cutoff's fold, guarded: trained as of the cutoff, scored as of each day of its week.

    ``curves`` are booking_curves of ``daily``; the guard recounts from ``daily``."""
    end = last_sale_day(daily) + timedelta(days=1)
    truth = snapshots(curves, concerts, venues, end).set_index("concert_id")[["final_tickets", "censored"]]
    covered = covered_shows(curves, concerts)
    sale_day = pd.to_datetime(curves["sale_date"])
    for cutoff in cutoffs:
        train = training_snapshots(curves[sale_day < pd.Timestamp(cutoff)], concerts, venues, cutoff)
        days = [cutoff + timedelta(days=k) for k in range(step_days)]
        as_of = pd.concat([snapshots(curves[sale_day < pd.Timestamp(d)], concerts, venues, d) for d in days], ignore_index=True)
        # A truncated show's count and its final are both short: no score to trust.
        known = as_of["concert_id"].map(truth["final_tickets"]).notna() & as_of["concert_id"].isin(covered)
        test = as_of[as_of["horizon_days"].notna() & known].reset_index(drop=True)
        if features is not None:
            train, test = features(train), features(test)
        guard(cutoff, train, test, daily)
        fold_truth = truth.loc[test["concert_id"]].set_axis(test.index)
        yield Fold(cutoff, train, test, fold_truth)


def backtest(
    curves: pd.DataFrame,
    daily: pd.DataFrame,
    concerts: pd.DataFrame,
    venues: pd.DataFrame,
    models: Sequence[Model],
    cutoffs: Sequence[date],
    features: Features | None = None,
) -> Backtest:
    """Every model fitted and scored on every fold; the pooled table and every prediction."""
    if len(cutoffs) < MIN_FOLDS:
        raise ValueError(f"a backtest needs at least {MIN_FOLDS} folds, got {len(cutoffs)} cutoffs")
    scored: dict[str, list[pd.DataFrame]] = {}
    for fold in make_folds(curves, daily, concerts, venues, cutoffs, features):
        # Shallow copies: under copy-on-write one model writing to its frame changes nobody else's.
        fitted = [model(fold.train.copy(deep=False)) for model in models]
        names = [f.name for f in fitted]
        if len(set(names)) < len(names):
            raise ValueError(f"models must have distinct names, got {names}")
        for model in fitted:
            scored.setdefault(model.name, []).append(_predict(model, fold))
    frames = {name: pd.concat(parts, ignore_index=True) for name, parts in scored.items()}
    table = pd.concat([_score(name, frame) for name, frame in frames.items()], ignore_index=True)
    predictions = pd.concat(
        [frame.assign(model=name).reindex(columns=PREDICTION_COLUMNS) for name, frame in frames.items()], ignore_index=True
    )
    return Backtest(table, predictions.astype(dict.fromkeys(_FORECASTS, "float64")))


def sellout_metrics(predictions: pd.DataFrame, model: str, horizon: int = SELLOUT_HORIZON) -> SelloutMetrics:
    """A sell-out model's metrics at ``horizon`` from the backtest's predictions, against the base_rate model's."""
    at = predictions[predictions["horizon_days"] == horizon].set_index(["cutoff", "as_of", "concert_id"])
    own = at.loc[at["model"] == model, ["sellout_probability", "censored"]]
    base = at.loc[at["model"] == BaseRate.name, "sellout_probability"].rename("base")
    if own.empty or base.empty:
        raise ValueError(f"the predictions at {horizon} days hold no {model!r} or no {BaseRate.name!r} rows")
    rows = own.join(base, how="inner").dropna()
    y, p = rows["censored"].astype("float64"), rows["sellout_probability"]
    reference = brier(y, rows["base"])
    skill = 1.0 - brier(y, p) / reference if reference > 0 else np.nan
    return SelloutMetrics(model, horizon, len(rows), skill, auc(y, p), expected_calibration_error(y, p))


def _predict(model: Any, fold: Fold) -> pd.DataFrame:
    out = model.predict(fold.test.copy(deep=False))
    if not out.index.equals(fold.test.index):
        raise ValueError(f"{model.name} predicted on another index than the snapshots it was given")
    columns = [c for c in _FORECASTS if c in out]
    if not columns:
        raise ValueError(f"{model.name} predicted none of {_FORECASTS}")
    keys = fold.test.assign(cutoff=fold.cutoff)[_KEYS]
    return pd.concat([keys, fold.truth, out[columns].astype("float64")], axis=1)


def _score(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    by_horizon = score_by_horizon(frame, name)
    overall = pd.DataFrame([{"model": name, "horizon_days": OVERALL, "n": len(frame), **score(frame)}], columns=BACKTEST_COLUMNS)
    return pd.concat([by_horizon, overall.astype(by_horizon.dtypes.to_dict())], ignore_index=True)
