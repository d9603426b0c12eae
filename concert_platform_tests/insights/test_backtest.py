"""The rolling-origin backtest on a generated world whose sales the tests recount by hand.

The world: a show every two days from day 100 to day 298 (day 0 = 2025-01-01)
in a 300-, 2,000- or 8,000-seat venue, on sale 99 days before it with a
late-heavy curve of its own; every 15th show cancelled 30 days before its date; three
shows after the last sale day still selling. About a sixth of the shows sell out.

The first sale in the data is on day 2, but S000 went on sale on day 1: as far as
the data can tell, its first day's sales were never loaded, so it is not covered
(``curves.covered_shows``) and is neither learnt from nor scored. Every other show is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from concert_platform.insights.backtest import (
    BASELINES,
    OVERALL,
    PREDICTION_COLUMNS,
    LeakageError,
    backtest,
    fold_cutoffs,
    guard,
    sellout_metrics,
)
from concert_platform.insights.bounds import bounded_quantiles
from concert_platform.insights.curves import booking_curves, training_snapshots
from concert_platform.insights.horizons import HORIZONS
from concert_platform.insights.metrics import BACKTEST_COLUMNS, auc, expected_calibration_error
from concert_platform.transforms.features import SOLD_OUT_AT

DAY0 = date(2025, 1, 1)
CAPACITIES = {"V1": 300, "V2": 2000, "V3": 8000}
LAST_SALE = DAY0 + timedelta(days=300)


@dataclass(frozen=True)
class Show:
    day: date
    venue: str
    status: str
    sales: dict[date, int]  # tickets per sale day

    @property
    def capacity(self) -> int:
        return CAPACITIES[self.venue]

    def sold_before(self, moment: date) -> int:
        return sum(t for d, t in self.sales.items() if d < moment)


def _world() -> dict[str, Show]:
    rng = np.random.default_rng(9)
    days = [*range(100, 300, 2), 305, 312, 320]
    shows = {}
    for i, show_day in enumerate(days):
        venue = list(CAPACITIES)[i % 3]
        demand = CAPACITIES[venue] * float(np.exp(rng.normal(-0.5, 0.5)))
        late = rng.uniform(3, 9)  # how late-heavy this show's curve is: sell-through so far ranks shows imperfectly
        status = "cancelled" if i % 15 == 7 else ("offsale" if show_day <= 300 else "onsale")
        cum, sales = 0, {}
        for before in range(99, -1, -1):
            sale_day = show_day - before
            if sale_day > 300 or (status == "cancelled" and before < 30):
                break
            share = 0.3 * (1 - before / 100) + 0.7 * (1 - before / 100) ** late
            now = min(round(demand * share), CAPACITIES[venue])
            if now > cum:
                sales[DAY0 + timedelta(days=sale_day)] = now - cum
            cum = now
        shows[f"S{i:03d}"] = Show(DAY0 + timedelta(days=show_day), venue, status, sales)
    return shows


SHOWS = _world()
FIRST_SALE = min(day for s in SHOWS.values() for day in s.sales)
COVERED = {cid for cid, s in SHOWS.items() if s.day - timedelta(days=99) >= FIRST_SALE}
assert set(SHOWS) - COVERED == {"S000"}


def _concerts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "concert_id": list(SHOWS),
            "artist_id": [f"A{i % 7}" for i in range(len(SHOWS))],
            "venue_id": [s.venue for s in SHOWS.values()],
            "status": [s.status for s in SHOWS.values()],
            "local_date": [s.day for s in SHOWS.values()],
            "onsale_start": [datetime.combine(s.day - timedelta(days=99), datetime.min.time(), UTC) for s in SHOWS.values()],
        }
    )


def _venues() -> pd.DataFrame:
    return pd.DataFrame({"venue_id": list(CAPACITIES), "capacity": list(CAPACITIES.values())})


def _daily() -> pd.DataFrame:
    rows = [(day, cid, "web", t) for cid, s in SHOWS.items() for day, t in s.sales.items()]
    return pd.DataFrame(rows, columns=["sale_date", "concert_id", "channel", "tickets"])


@dataclass(frozen=True)
class SoldSoFar:
    """A test model: p10 what has sold, p50 twice, p90 four times that; sell-out chance the sell-through so far."""

    name: ClassVar[str] = "sold_so_far"
    predicted_on: list[pd.DataFrame]

    def predict(self, snapshots: pd.DataFrame) -> pd.DataFrame:
        self.predicted_on.append(snapshots)
        sold = snapshots["tickets_sold_to_date"].to_numpy(dtype="float64")
        out = bounded_quantiles(sold, 2 * sold, 4 * sold, snapshots)
        return out.assign(sellout_probability=snapshots["sell_through_to_date"].to_numpy(dtype="float64"))


class Recorder:
    """A model factory that keeps every frame its models were handed to fit and to predict on."""

    def __init__(self):
        self.trained_on: list[pd.DataFrame] = []
        self.predicted_on: list[pd.DataFrame] = []

    def __call__(self, train: pd.DataFrame) -> SoldSoFar:
        self.trained_on.append(train)
        return SoldSoFar(self.predicted_on)


@pytest.fixture(scope="module")
def run():
    daily, concerts = _daily(), _concerts()
    cutoffs = fold_cutoffs(daily, concerts)
    recorder = Recorder()
    result = backtest(booking_curves(daily, concerts), daily, concerts, _venues(), [*BASELINES, recorder], cutoffs)
    return cutoffs, recorder, result


def test_weekly_folds_end_when_the_longest_horizon_has_been_played(run):
    cutoffs, _, result = run
    last = LAST_SALE - timedelta(days=90 + 6)  # its week's last day is 90 days before the last sale
    assert cutoffs == [last - timedelta(days=7 * k) for k in (5, 4, 3, 2, 1, 0)]
    assert sorted(result.predictions["cutoff"].unique()) == cutoffs
    first = (last - timedelta(days=7 * 19)).isoformat()  # day 71: the first show is on day 100
    with pytest.raises(ValueError, match=f"no show was played before the first cutoff {first}"):
        fold_cutoffs(_daily(), _concerts(), folds=20)


def test_each_fold_learns_only_from_what_its_cutoff_knew(run):
    cutoffs, recorder, _ = run
    assert len(recorder.trained_on) == len(cutoffs) >= 6
    for cutoff, train in zip(cutoffs, recorder.trained_on, strict=True):
        assert (pd.to_datetime(train["last_sale_date"]).dropna() < pd.Timestamp(cutoff)).all()
        assert (pd.to_datetime(train["as_of"]) < pd.Timestamp(cutoff)).all()
        assert (pd.to_datetime(train["local_date"]) < pd.Timestamp(cutoff)).all()
        finished = {cid for cid, s in SHOWS.items() if s.day < cutoff and s.status != "cancelled" and cid in COVERED}
        finals = train.drop_duplicates("concert_id").set_index("concert_id")["final_tickets"]
        assert finals.to_dict() == {cid: SHOWS[cid].sold_before(cutoff) for cid in sorted(finished)}


def test_a_future_sale_in_the_curves_stops_the_backtest_before_any_model_learns():
    """S003's curve has every sale a day early (the local-day vs UTC-day slip): its snapshots count tomorrow."""
    daily, concerts = _daily(), _concerts()
    curves = booking_curves(daily, concerts)
    slipped = curves["concert_id"] == "S003"
    curves.loc[slipped, "sale_date"] = curves.loc[slipped, "sale_date"].map(lambda d: d - timedelta(days=1))
    leaky = Recorder()
    cutoffs = fold_cutoffs(daily, concerts)
    with pytest.raises(LeakageError) as caught:
        backtest(curves, daily, concerts, _venues(), [leaky], cutoffs)
    assert leaky.trained_on == []
    assert caught.value.cutoff == cutoffs[0]
    assert set(caught.value.violations["concert_id"]) == {"S003"}
    # The slipped dates read as before as_of, but the tickets counted are more than sold before it.
    assert set(caught.value.violations["column"]) == {"tickets_sold_to_date", "tickets_last_7d"}
    assert f"backtest fold {cutoffs[0].isoformat()} leaks" in str(caught.value)
    assert "S003" in str(caught.value) and "counts tickets sold on or after as_of" in str(caught.value)


def test_a_feature_step_that_reads_the_final_count_stops_the_backtest():
    """The classic target leak: "sold to date" taken from the whole curve. The guard checks what fit would receive."""

    def leaky(snapshots: pd.DataFrame) -> pd.DataFrame:
        return snapshots.assign(tickets_sold_to_date=snapshots["final_tickets"].fillna(snapshots["tickets_sold_to_date"]))

    daily, concerts = _daily(), _concerts()
    model = Recorder()
    with pytest.raises(LeakageError, match="counts tickets sold on or after as_of") as caught:
        backtest(booking_curves(daily, concerts), daily, concerts, _venues(), [model], fold_cutoffs(daily, concerts), leaky)
    assert model.trained_on == []
    assert set(caught.value.violations["column"]) == {"tickets_sold_to_date"}
    # Every finished show counts, as of every day before its last sale; the day itself and after are honest.
    first = caught.value.cutoff
    assert set(caught.value.violations["concert_id"]) == {
        c for c, s in SHOWS.items() if s.day < first and s.status != "cancelled" and c in COVERED
    }


def test_features_reach_fit_and_predict(run):
    daily, concerts = _daily(), _concerts()
    model = Recorder()
    marked = backtest(booking_curves(daily, concerts), daily, concerts, _venues(), [model], run[0], lambda s: s.assign(marked=1))
    assert len(model.trained_on) == len(model.predicted_on) == len(run[0])
    assert all((frame["marked"] == 1).all() for frame in model.trained_on + model.predicted_on)
    assert_frame_equal(marked.table, run[2].table[run[2].table["model"] == "sold_so_far"].reset_index(drop=True))


def test_the_guard_names_targets_of_shows_after_the_cutoff():
    daily, concerts = _daily(), _concerts()
    cutoff = DAY0 + timedelta(days=150)
    train = training_snapshots(booking_curves(daily, concerts), concerts, _venues(), cutoff + timedelta(days=1), days_before=[0])
    with pytest.raises(LeakageError, match="target of a show played on or after the cutoff") as caught:
        guard(cutoff, train, train.iloc[:0], daily)
    assert caught.value.violations["concert_id"].tolist() == ["S025"]  # day 150, the cutoff's own day


def test_the_table_has_every_model_at_every_horizon_and_overall(run):
    _, _, result = run
    names = ["additive_pickup", "multiplicative_pickup", "historical_mean", "historical_quantiles", "base_rate"]
    names += ["pickup_sellout", "sold_so_far"]
    table = result.table
    assert table.columns.tolist() == BACKTEST_COLUMNS
    assert list(zip(table["model"], table["horizon_days"], strict=True)) == [(m, h) for m in names for h in (*HORIZONS, OVERALL)]
    assert table.dtypes.drop("model").to_dict() == {"horizon_days": "int64", "n": "int64"} | dict.fromkeys(
        BACKTEST_COLUMNS[3:], "float64"
    )
    by_model = table.pivot(index="horizon_days", columns="model", values="n")
    assert (by_model.nunique(axis=1) == 1).all()  # every model scored on the same snapshots
    assert by_model.loc[OVERALL].iloc[0] == by_model.drop(OVERALL).sum().iloc[0] and (by_model.drop(OVERALL) > 0).all().all()
    # What a model does not forecast is NaN, never a number.
    pickups = table[table["model"] == "additive_pickup"]
    assert pickups["coverage_80"].isna().all() and pickups["brier"].isna().all() and pickups["wape"].notna().all()
    assert table.loc[table["model"] == "base_rate", "wape"].isna().all()
    assert result.predictions.columns.tolist() == PREDICTION_COLUMNS


def _scored(cutoff: date, low: int = 0, high: int = 90) -> list[tuple[date, str]]:
    """What a fold scores, by hand: (as-of day, show) for each day of the cutoff's week and each show played from
    that day to the last sale day, ``low``..``high`` days out."""
    return [
        (day, cid)
        for day in (cutoff + timedelta(days=k) for k in range(7))
        for cid, s in sorted(SHOWS.items())
        if s.status != "cancelled" and cid in COVERED and s.day <= LAST_SALE and low <= (s.day - day).days <= high
    ]


def test_each_fold_scores_the_shows_played_after_each_day_of_its_week_as_of_that_day(run):
    cutoffs, _, result = run
    own = result.predictions[result.predictions["model"] == "sold_so_far"]
    for cutoff in cutoffs:
        fold = own[own["cutoff"] == cutoff].sort_values(["as_of", "concert_id"])
        scored = _scored(cutoff)
        assert list(zip(fold["as_of"], fold["concert_id"], strict=True)) == scored
        assert fold["tickets_sold_to_date"].tolist() == [SHOWS[c].sold_before(day) for day, c in scored]
        assert fold["final_tickets"].tolist() == [sum(SHOWS[c].sales.values()) for _, c in scored]


def _hand_30_days(cutoffs: list[date]) -> pd.DataFrame:
    """sold_so_far's 30-day row, recounted from the world's sales with plain numpy."""
    sold, final, cap = (
        np.array(v, dtype="float64")
        for v in zip(
            *[
                (SHOWS[c].sold_before(day), sum(SHOWS[c].sales.values()), SHOWS[c].capacity)
                for cutoff in cutoffs
                for day, c in _scored(cutoff, 22, 45)
            ],
            strict=True,
        )
    )
    p10, p50, p90 = sold, np.minimum(2 * sold, cap), np.minimum(4 * sold, cap)
    pinball = [np.mean(np.maximum(q * (final - f), (q - 1) * (final - f))) for f, q in ((p10, 0.1), (p50, 0.5), (p90, 0.9))]
    y, p = (final >= SOLD_OUT_AT * cap).astype("float64"), sold / cap
    pos, neg = p[y == 1], p[y == 0]
    pairs = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    row = {
        "model": "sold_so_far",
        "horizon_days": 30,
        "n": len(sold),
        "wape": np.abs(final - p50).sum() / final.sum(),
        "mae": np.abs(final - p50).mean(),
        "coverage_80": ((p10 <= final) & (final <= p90)).mean(),
        "pinball_loss": np.mean(pinball),
        "brier": np.mean((p - y) ** 2),
        "auc": pairs.mean(),
    }
    return pd.DataFrame([row], columns=BACKTEST_COLUMNS)


def test_the_table_equals_a_hand_recount(run):
    cutoffs, _, result = run
    table = result.table
    row = table[(table["model"] == "sold_so_far") & (table["horizon_days"] == 30)].reset_index(drop=True)
    expected = _hand_30_days(cutoffs)
    assert_frame_equal(row, expected.astype(row.dtypes.to_dict()))
    assert 0 < row.at[0, "auc"] < 1  # both classes, and not a trivial ranking


def test_sellout_metrics_against_the_base_rate_of_each_fold(run):
    cutoffs, _, result = run
    metrics = sellout_metrics(result.predictions, "sold_so_far")
    y, p, base = [], [], []
    for cutoff in cutoffs:
        finished = [s for c, s in SHOWS.items() if s.day < cutoff and s.status != "cancelled" and c in COVERED]
        rate = np.mean([s.sold_before(cutoff) >= SOLD_OUT_AT * s.capacity for s in finished])
        for day, c in _scored(cutoff, 22, 45):
            s = SHOWS[c]
            y.append(float(sum(s.sales.values()) >= SOLD_OUT_AT * s.capacity))
            p.append(s.sold_before(day) / s.capacity)
            base.append(rate)
    y, p, base = np.array(y), np.array(p), np.array(base)
    assert metrics.model == "sold_so_far" and metrics.horizon_days == 30 and metrics.n == len(y)
    assert metrics.brier_skill == pytest.approx(1 - np.mean((p - y) ** 2) / np.mean((base - y) ** 2))
    assert metrics.auc == pytest.approx(auc(y, p))
    assert metrics.calibration_error == pytest.approx(expected_calibration_error(y, p))
    with pytest.raises(ValueError, match="no 'gbm'"):
        sellout_metrics(result.predictions, "gbm")


def test_too_few_folds_and_clashing_names_are_refused(run):
    cutoffs, _, _ = run
    daily, concerts = _daily(), _concerts()
    curves = booking_curves(daily, concerts)
    with pytest.raises(ValueError, match="at least 6 folds, got 5"):
        backtest(curves, daily, concerts, _venues(), BASELINES, cutoffs[:5])
    with pytest.raises(ValueError, match="distinct names"):
        backtest(curves, daily, concerts, _venues(), [Recorder(), Recorder()], cutoffs)
