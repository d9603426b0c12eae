"""The promotion gate: whether a forecaster's backtest earns it production, and if not, why.

Pure: it reads the backtest table (``backtest.Backtest.table``) and the
sell-out model's metrics at 30 days out (``backtest.sellout_metrics``), and
answers a frozen ``GateResult``. The criteria of issue 9, each a constant below:

- WAPE overall at least 20% below the better pickup baseline's overall WAPE;
- WAPE in every horizon bucket no worse than the better pickup baseline in that
  bucket (the better of the two per bucket: no bucket where either pickup wins);
- 80% interval coverage within [0.77, 0.83] in every bucket;
- sell-out at 30 days out: Brier skill against the base rate at least 0.30,
  AUC at least 0.85, calibration error at most 0.03.

A number that is missing or undefined (no rows, NaN) fails its criterion: no
evidence is no pass. Every failed criterion is one reason, with its numbers.

Honest reporting, whether or not the gate passes: ``baseline_wins`` lists each
horizon bucket (and overall) where a baseline beats the candidate, on WAPE and
pinball loss against the ticket baselines and on Brier against the sell-out
baselines, with the best such baseline and by how much.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from concert_platform.insights.backtest import OVERALL, SelloutMetrics
from concert_platform.insights.baselines import (
    AdditivePickup,
    BaseRate,
    HistoricalMean,
    HistoricalQuantiles,
    MultiplicativePickup,
    PickupSellout,
)
from concert_platform.insights.horizons import HORIZONS

MIN_WAPE_IMPROVEMENT = 0.20
MIN_COVERAGE, MAX_COVERAGE = 0.77, 0.83
MIN_BRIER_SKILL = 0.30
MIN_AUC = 0.85
MAX_CALIBRATION_ERROR = 0.03

PICKUPS = (AdditivePickup.name, MultiplicativePickup.name)
TICKET_BASELINES = (*PICKUPS, HistoricalMean.name, HistoricalQuantiles.name)
SELLOUT_BASELINES = (BaseRate.name, PickupSellout.name)


@dataclass(frozen=True)
class BaselineWin:
    """At ``horizon_days`` (0: overall), ``baseline`` scored better than the candidate on ``metric`` (lower is better)."""

    horizon_days: int
    metric: str
    baseline: str
    baseline_value: float
    candidate_value: float

    @property
    def margin(self) -> float:
        return self.candidate_value - self.baseline_value

    def describe(self) -> str:
        return (
            f"{_where(self.horizon_days)}: {self.baseline} {self.metric} {self.baseline_value:.3f} "
            f"against {self.candidate_value:.3f} ({self.margin:.3f} better)"
        )


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reasons: tuple[str, ...]  # one per failed criterion, with its numbers; empty when passed
    baseline_wins: tuple[BaselineWin, ...]


def promotion_gate(table: pd.DataFrame, candidate: str, sellout: SelloutMetrics) -> GateResult:
    """Judge ``candidate`` (a ticket model's name in ``table``) and the sell-out model behind ``sellout``."""
    metrics = table.set_index(["model", "horizon_days"])
    reasons = [*_wape_reasons(metrics, candidate), *_coverage_reasons(metrics, candidate), *_sellout_reasons(sellout)]
    wins = [
        *_wins(metrics, candidate, "wape", TICKET_BASELINES),
        *_wins(metrics, candidate, "pinball_loss", TICKET_BASELINES),
        *_wins(metrics, sellout.model, "brier", SELLOUT_BASELINES),
    ]
    return GateResult(not reasons, tuple(reasons), tuple(wins))


def _wape_reasons(metrics: pd.DataFrame, candidate: str) -> Iterator[str]:
    pickup, best = _best(metrics, PICKUPS, OVERALL, "wape")
    own, bar = _value(metrics, candidate, OVERALL, "wape"), (1 - MIN_WAPE_IMPROVEMENT) * best
    if not own <= bar:  # NaN on either side fails
        yield (
            f"WAPE overall {own:.3f} is not {MIN_WAPE_IMPROVEMENT:.0%} below the better pickup baseline "
            f"({pickup} {best:.3f}): it must be at most {bar:.3f}"
        )
    for horizon in HORIZONS:
        pickup, best = _best(metrics, PICKUPS, horizon, "wape")
        own = _value(metrics, candidate, horizon, "wape")
        if not own <= best:
            yield f"WAPE {_where(horizon)} {own:.3f} is worse than {pickup} {best:.3f}"


def _coverage_reasons(metrics: pd.DataFrame, candidate: str) -> Iterator[str]:
    for horizon in HORIZONS:
        covered = _value(metrics, candidate, horizon, "coverage_80")
        if not MIN_COVERAGE <= covered <= MAX_COVERAGE:
            n = _value(metrics, candidate, horizon, "n")
            yield f"80% interval coverage {_where(horizon)} is {covered:.3f} (n={n:.0f}), outside {MIN_COVERAGE}-{MAX_COVERAGE}"


def _sellout_reasons(s: SelloutMetrics) -> Iterator[str]:
    where = f"sell-out ({s.model}) {_where(s.horizon_days)}, n={s.n}"
    if not s.brier_skill >= MIN_BRIER_SKILL:
        yield f"{where}: Brier skill against the base rate {s.brier_skill:.3f} is below {MIN_BRIER_SKILL}"
    if not s.auc >= MIN_AUC:
        yield f"{where}: AUC {s.auc:.3f} is below {MIN_AUC}"
    if not s.calibration_error <= MAX_CALIBRATION_ERROR:
        yield f"{where}: calibration error {s.calibration_error:.3f} is above {MAX_CALIBRATION_ERROR}"


def _wins(metrics: pd.DataFrame, model: str, metric: str, baselines: Sequence[str]) -> Iterator[BaselineWin]:
    for horizon in (*HORIZONS, OVERALL):
        baseline, best = _best(metrics, baselines, horizon, metric)
        own = _value(metrics, model, horizon, metric)
        if best < own:  # False when either is NaN: nothing to compare
            yield BaselineWin(horizon, metric, baseline, best, own)


def _best(metrics: pd.DataFrame, models: Sequence[str], horizon: int, metric: str) -> tuple[str, float]:
    """The model of ``models`` with the lowest ``metric`` at ``horizon``, and that value; NaN when none has one."""
    values = {model: _value(metrics, model, horizon, metric) for model in models}
    known = {model: value for model, value in values.items() if not np.isnan(value)}
    if not known:
        return f"no {'/'.join(models)} row", np.nan
    best = min(known, key=known.__getitem__)
    return best, known[best]


def _where(horizon: int) -> str:
    return "overall" if horizon == OVERALL else f"at {horizon} day{'' if horizon == 1 else 's'}"


def _value(metrics: pd.DataFrame, model: str, horizon: int, column: str) -> float:
    key = (model, horizon)
    return float(metrics.at[key, column]) if key in metrics.index else np.nan
