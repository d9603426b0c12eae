"""The demand forecaster: gradient boosting on booking-curve snapshots, with conformal intervals.

What it predicts. For a show whose venue capacity is known, the REMAINING
SELL-THROUGH (final - sold) / capacity as of the snapshot, mapped back to
tickets as sold + remaining x capacity. The boosted trees do not start from
nothing: they learn the correction to a pickup baseline (the BASE,
``PickupBase``), and both pickups' remaining sell-through are among their
features. Trees split a number into steps, and "final = sold x a ratio for
this many days out" is a product they would approximate coarsely; from the
pickup they spend their splits on what it cannot see: the length of the sale,
the act's pull, the price, the market.

Which pickup is the base depends on the horizon bucket: the additive or the
multiplicative one, whichever made the smaller absolute error in tickets on
the fitting shows' rows of that bucket (the rows the trees learn from; over
every bucket, for rows in none).
Far out the multiplicative pickup multiplies a few tickets sold by a large,
noisy ratio, while the additive pickup's mean of what similar shows still
sold stays steady; near the show the ratio is small and follows the show's
own pace. Both pickups are fitted on the fitting shows, every day before the
show, never on the calibration shows. Each pickup that is a base somewhere
gets its own trees, fitted on every row to the correction to that pickup
(``_Corrections``); a row takes the correction of its bucket's base. Where
both pickups are a base, that is twice the trees, and about 1.6 times the fit.

Close to the show the base is hard to beat (what is left is the final days'
surge, which no feature foretells), so the correction is SHRUNK per horizon
bucket: p50 = base + a x correction, with a in 0, 0.1 .. 1 chosen on
calibration shows to minimise their absolute error in tickets. Where the
correction does not pay on shows it never saw, the forecast stays the base's.

Intervals. p10 and p90 come from two more boosted models fitted with the
pinball loss on the same target, then conformalized (CQR) per horizon bucket
in sell-through units on those calibration shows, so that about 80% of shows
land inside [p10, p90] in every bucket.

Calibration shows are drawn by concert (a seeded draw per concert,
``calibration_mask``), never by row: a show's snapshots are one booking
curve seen on many days, and rows of one show on both sides would make the
intervals look better calibrated than they are. Every model is fitted on the
other shows, the pickups and the choice of base too, so the calibration shows
are new to all of it.

Shows of unknown capacity (a venue missing from the capacity reference) have
no sell-through. For them a second booking model, fitted with the capacity
features left out, learns the correction to a base on a log scale,
log(final + 1) - log(base + 1), shrunk per bucket in the same way, and
split conformal on that log scale gives intervals that scale with the show.
There is no capacity to cap them at: they are never below tickets sold, and
never above the most tickets any finished show in training sold (a show far
bigger than anything seen would otherwise have its log correction run away).
Its base is chosen the same way, on the fitting shows as this model sees
them: capacity unknown, so each pickup's cells of unknown size.

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

from concert_platform.insights.baselines import AdditivePickup, MultiplicativePickup
from concert_platform.insights.bounds import bounded, bounded_quantiles
from concert_platform.insights.conformal import ConformalizedQuantiles, SplitConformal
from concert_platform.insights.horizons import HORIZONS
from concert_platform.insights.model_features import CAPACITY_FEATURES, FEATURES, FeatureEncoder

TRAINING_DAYS = (0, 1, 2, 3, 5, 7, 10, 14, 18, 22, 30, 38, 46, 60, 75, 90)  # every horizon bucket, 2 to 4 days each
CALIBRATION_SHARE = 0.25
# The p10..p90 interval is conformalised at a nominal 81%, not 80%. Split conformal guarantees coverage for
# shows exchangeable with the calibration ones; the shows a forecast is for are played after every calibration
# show, and the older finished shows a fold learns from are mostly short-lead ones (a long-lead show played long
# ago went on sale before the loaded sales began). On the demo's rolling-origin backtest, coverage at a nominal
# 80% came out about a point short, near the gate's 77% floor; a point of margin centres it in the 77-83% band.
INTERVAL_ALPHA = 0.19
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
    """The encoded features with ``pickup_sell_through`` as one more (numeric) column (the sell-out model's)."""
    return np.column_stack([encoder.matrix(frame), pickup_sell_through(pickup, frame)])


def boosted(categorical: np.ndarray, seed: int, **loss) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(**loss, **BOOSTING, categorical_features=categorical, random_state=seed)


def horizons_of(frame: pd.DataFrame) -> np.ndarray:
    """Each row's horizon bucket as a float, NaN for rows in none."""
    return frame["horizon_days"].to_numpy(dtype="float64", na_value=np.nan)


@dataclass(frozen=True)
class PickupBase:
    """Which pickup the trees correct per horizon bucket (and over all buckets, for rows in none), by its name."""

    additive: AdditivePickup
    multiplicative: MultiplicativePickup
    by_horizon: dict[int, str]
    pooled: str

    @classmethod
    def fit(cls, additive: AdditivePickup, multiplicative: MultiplicativePickup, rows: pd.DataFrame) -> Self:
        """Per bucket, the pickup of the smaller absolute error in tickets on ``rows`` (finished shows), bounded as
        forecasts are. A tie goes to the multiplicative pickup, the base before there was a choice."""
        final = rows["final_tickets"].to_numpy(dtype="float64")
        additive_error, multiplicative_error = (np.abs(final - projected(p, rows)) for p in (additive, multiplicative))
        horizons = horizons_of(rows)

        def better(here: np.ndarray) -> str:
            return additive.name if additive_error[here].sum() < multiplicative_error[here].sum() else multiplicative.name

        pooled = better(np.ones(len(rows), dtype=bool))
        by_horizon = {h: better(horizons == h) if (horizons == h).any() else pooled for h in HORIZONS}
        return cls(additive, multiplicative, by_horizon, pooled)

    @property
    def pickups(self) -> tuple[AdditivePickup, MultiplicativePickup]:
        return self.additive, self.multiplicative

    @property
    def used(self) -> tuple[AdditivePickup, ...]:
        """The pickups that are the base somewhere."""
        names = {*self.by_horizon.values(), self.pooled}
        return tuple(p for p in self.pickups if p.name in names)

    def names(self, frame: pd.DataFrame) -> np.ndarray:
        """Each row's base, by name."""
        horizons = horizons_of(frame)
        out = np.full(len(frame), self.pooled, dtype=object)
        for h, name in self.by_horizon.items():
            out[horizons == h] = name
        return out

    def project(self, frame: pd.DataFrame) -> np.ndarray:
        """Each row's base forecast in tickets, bounded."""
        additive = self.names(frame) == self.additive.name
        return np.where(additive, projected(self.additive, frame), projected(self.multiplicative, frame))


def projected(pickup: AdditivePickup, frame: pd.DataFrame) -> np.ndarray:
    """The pickup's forecast in tickets: never below tickets sold, at most capacity where known."""
    return bounded(pickup.project(frame), frame)


def base_matrix(encoder: FeatureEncoder, base: PickupBase, frame: pd.DataFrame) -> np.ndarray:
    """The encoded features and each pickup's remaining sell-through, unbounded: past what is left when it projects
    more than fits, a hint of demand turned away (NaN: capacity unknown)."""
    return np.column_stack([encoder.matrix(frame), *(_remaining(frame, p.project(frame)) for p in base.pickups)])


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
        # the pickups learn a value for every day before the show, so they see every day
        fitting = finished[~calibration_mask(finished, seed)]
        pickups = AdditivePickup.fit(fitting), MultiplicativePickup.fit(fitting)
        rows = finished[finished["days_to_show"].isin(TRAINING_DAYS).to_numpy()].reset_index(drop=True)
        calibrating = calibration_mask(rows, seed)
        if not calibrating.any() or calibrating.all():
            raise ValueError(f"too few finished shows to fit and calibrate on: {rows['concert_id'].nunique()}")
        return cls(_KnownCapacity.fit(rows, calibrating, pickups, seed), _UnknownCapacity.fit(rows, calibrating, pickups, seed))

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


Pickups = tuple[AdditivePickup, MultiplicativePickup]  # fitted on the fitting shows


@dataclass(frozen=True, eq=False)
class _Corrections:
    """Quantile models of the correction to each pickup that is a base somewhere; a row takes its base's.

    Each pickup's models learn from every row, not only from the rows of the buckets it is the base of: what
    corrects a pickup 38 days out tells about 50 days out, and a row in no bucket (its base the pooled choice)
    meets trees that learned its base's correction up to 90 days out. One set of trees for both corrections
    would spend its splits finding where the base changes, and with training days 38 and 46 either side of
    the bucket edge (45/46) its split would fall at 42, handing days 43 to 45 the other pickup's correction.
    """

    models: dict[str, tuple[HistGradientBoostingRegressor, ...]]  # pickup name -> one model per quantile

    @classmethod
    def fit(
        cls, x: np.ndarray, targets: dict[str, np.ndarray], categorical: np.ndarray, seed: int, quantiles: tuple[float, ...]
    ) -> Self:
        """``targets``: per pickup, the correction to it on every row of ``x``."""
        return cls(
            {
                name: tuple(boosted(categorical, seed, loss="quantile", quantile=q).fit(x, target) for q in quantiles)
                for name, target in sorted(targets.items())
            }
        )

    def predict(self, x: np.ndarray, bases: np.ndarray) -> np.ndarray:
        """(quantiles, rows): each row's correction to its base (``PickupBase.names``)."""
        out = np.full((len(next(iter(self.models.values()))), len(x)), np.nan)
        for name, models in self.models.items():
            here = bases == name
            if here.any():
                out[:, here] = [model.predict(x[here]) for model in models]
        return out


@dataclass(frozen=True, eq=False)
class _KnownCapacity:
    """Shows of known capacity: quantile models of the correction to the base's remaining sell-through, and CQR."""

    base: PickupBase  # chosen on the fitting shows of known capacity
    encoder: FeatureEncoder
    quantiles: _Corrections  # p10, p50, p90
    shrinkage: Shrinkage  # of the p50's correction
    margins: ConformalizedQuantiles  # in sell-through units

    @classmethod
    def fit(cls, rows: pd.DataFrame, calibrating: np.ndarray, pickups: Pickups, seed: int) -> Self:
        fitting, held = known_capacity(rows) & ~calibrating, known_capacity(rows) & calibrating
        if not (fitting.any() and held.any()):
            raise ValueError("too few finished shows of known capacity to learn and calibrate sell-through on")
        base = PickupBase.fit(*pickups, rows[fitting])
        encoder = FeatureEncoder.fit(rows[fitting], FEATURES)
        x = base_matrix(encoder, base, rows)
        final = rows["final_tickets"].to_numpy(dtype="float64")
        targets = {p.name: (_remaining(rows, final) - _remaining(rows, projected(p, rows)))[fitting] for p in base.used}
        categorical = np.append(encoder.categorical_mask, [False] * len(base.pickups))
        bases = base.names(rows)
        quantiles = _Corrections.fit(x[fitting], targets, categorical, seed, (0.1, 0.5, 0.9))
        calibration = rows[held]
        sell_through = _SellThrough(calibration, _base_remaining(base, calibration))
        low, mid, high = quantiles.predict(x[held], bases[held])
        horizons = horizons_of(calibration)
        shrinkage = Shrinkage.fit(lambda a: np.abs(final[held] - sell_through.tickets(sell_through.clip(a * mid))), horizons)
        scores = pd.DataFrame(
            {
                "final_tickets": _remaining(calibration, final[held]),
                "forecast_p10": sell_through.clip(low),
                "forecast_p90": sell_through.clip(high),
                "horizon_days": horizons,
            }
        )
        margins = ConformalizedQuantiles.fit(scores, alpha=INTERVAL_ALPHA)
        if not np.isfinite(margins.pooled):
            raise ValueError(f"too few finished shows to calibrate intervals on: {rows['concert_id'].nunique()}")
        return cls(base, encoder, quantiles, shrinkage, margins)

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        """(3, rows): p10, p50, p90 in tickets, before bounding."""
        x = base_matrix(self.encoder, self.base, rows)
        sell_through = _SellThrough(rows, _base_remaining(self.base, rows))
        low, mid, high = self.quantiles.predict(x, self.base.names(rows))
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
    """Shows of unknown capacity: the correction to the base on a log scale, and split conformal on that scale."""

    base: PickupBase  # chosen on the fitting shows as this model sees them, capacity unknown
    encoder: FeatureEncoder  # without the capacity features
    model: _Corrections  # median of log(final + 1) - log(base + 1)
    shrinkage: Shrinkage
    margins: SplitConformal  # on log(tickets + 1)
    # With no capacity to cap at, a show selling far beyond anything in training would have its log correction
    # run away (millions of tickets): no forecast goes past the most tickets any finished show sold.
    largest_final: float

    @classmethod
    def fit(cls, rows: pd.DataFrame, calibrating: np.ndarray, pickups: Pickups, seed: int) -> Self:
        largest_final = float(rows["final_tickets"].max())
        rows = rows.assign(capacity=pd.NA)  # every training show, looking as the shows this model is for look
        base = PickupBase.fit(*pickups, rows[~calibrating])
        encoder = FeatureEncoder.fit(rows[~calibrating], [c for c in FEATURES if c not in CAPACITY_FEATURES])
        x = encoder.matrix(rows)
        final = rows["final_tickets"].to_numpy(dtype="float64")
        targets = {p.name: (np.log1p(final) - np.log1p(projected(p, rows)))[~calibrating] for p in base.used}
        bases = base.names(rows)
        model = _Corrections.fit(x[~calibrating], targets, encoder.categorical_mask, seed, (0.5,))
        calibration, [mid] = rows[calibrating], model.predict(x[calibrating], bases[calibrating])
        shrinkage = Shrinkage.fit(
            lambda a: np.abs(final[calibrating] - np.expm1(_log_forecast(base, calibration, a * mid))), horizons_of(calibration)
        )
        scores = calibration[["horizon_days"]].assign(
            final_tickets=np.log1p(final[calibrating]),
            forecast_p50=_log_forecast(base, calibration, shrinkage.factor(calibration) * mid),
        )
        margins = SplitConformal.fit(scores, alpha=INTERVAL_ALPHA)
        if not np.isfinite(margins.pooled):
            raise ValueError(f"too few finished shows to calibrate intervals on: {rows['concert_id'].nunique()}")
        return cls(base, encoder, model, shrinkage, margins, largest_final)

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        """(3, rows): p10, p50, p90 in tickets, before bounding; none past ``largest_final`` (or tickets sold)."""
        [correction] = self.model.predict(self.encoder.matrix(rows), self.base.names(rows))
        mid = _log_forecast(self.base, rows, self.shrinkage.factor(rows) * correction)
        margin = self.margins.margin(rows)
        ceiling = np.maximum(self.largest_final, rows["tickets_sold_to_date"].to_numpy(dtype="float64"))
        return np.minimum(np.expm1(np.vstack([mid - margin, mid, mid + margin])), ceiling)


@dataclass(frozen=True, eq=False)
class _SellThrough:
    """Remaining sell-through of some rows (known capacity): the base's, clipping, and the way back to tickets."""

    rows: pd.DataFrame
    base: np.ndarray  # the base's remaining sell-through

    def clip(self, correction: np.ndarray) -> np.ndarray:
        """The base's remaining sell-through plus ``correction``, within what is left to sell."""
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


def _base_remaining(base: PickupBase, rows: pd.DataFrame) -> np.ndarray:
    return _remaining(rows, base.project(rows))


def _log_forecast(base: PickupBase, rows: pd.DataFrame, correction: np.ndarray) -> np.ndarray:
    """log(1 + final tickets) as the base plus ``correction``, never below tickets sold (nothing caps it: capacity unknown)."""
    log_sold = np.log1p(rows["tickets_sold_to_date"].to_numpy(dtype="float64"))
    return np.maximum(np.log1p(base.project(rows)) + correction, log_sold)
