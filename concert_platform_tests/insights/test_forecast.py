"""The demand forecaster held to a generated world with known truth.

A model is trained for a cutoff C on the sales before C and the shows played
before C, then scored on the shows played from C to the world's "today", as of
days in the horizon buckets on or after C (``demand_world.split``). The world
and its seed are fixed, so every number here comes out the same on every run;
each assertion message prints the table it was read from.
"""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from concert_platform.insights.baselines import AdditivePickup, MultiplicativePickup
from concert_platform.insights.bounds import QUANTILE_COLUMNS
from concert_platform.insights.curves import booking_curves, snapshots
from concert_platform.insights.forecast import CALIBRATION_SHARE, DemandForecaster, PickupBase, calibration_mask
from concert_platform.insights.horizons import HORIZONS
from concert_platform.insights.leakage import future_sales_used, targets_after_cutoff
from concert_platform.insights.metrics import score_by_horizon, wape
from concert_platform.insights.model_features import FeatureEncoder, with_features
from concert_platform_tests.insights import world


@pytest.fixture(scope="module")
def forecaster(world_split) -> DemandForecaster:
    started = time.perf_counter()
    fitted = DemandForecaster.fit(world_split.train, seed=0)
    print(f"\nDemandForecaster.fit on {len(world_split.train):,} snapshot rows: {time.perf_counter() - started:.1f} s")
    return fitted


@pytest.fixture(scope="module")
def backtest(world_split, forecaster) -> pd.DataFrame:
    """Per model and horizon bucket: the backtest metrics on the held-out shows, and 'all' over every bucket."""
    test = world_split.test
    models = [forecaster, AdditivePickup.fit(world_split.train), MultiplicativePickup.fit(world_split.train)]
    tables = []
    for model in models:
        scored = pd.concat([test, model.predict(test)], axis=1)
        overall = {"model": model.name, "horizon_days": 0, "n": len(scored)}
        overall["wape"] = wape(scored["final_tickets"], scored["forecast_p50"])
        tables += [score_by_horizon(scored, model.name), pd.DataFrame([overall])]
    return pd.concat(tables, ignore_index=True)


def _table(backtest: pd.DataFrame) -> str:
    wide = backtest.pivot(index="horizon_days", columns="model", values="wape").sort_index(ascending=False)
    coverage = backtest[backtest["model"] == "gbm"].set_index("horizon_days")["coverage_80"]
    return (
        "WAPE by horizon (0 = all buckets) and the gbm's 80% coverage:\n" + wide.assign(coverage_80=coverage).round(3).to_string()
    )


@pytest.mark.accuracy
def test_gbm_corrects_per_bucket_the_pickup_that_erred_less_on_its_fitting_shows(world_split, forecaster):
    """On this world the additive pickup is the known-capacity base 60 days out, the multiplicative one nearer;
    for unknown capacity the additive pickup, one mean over all venue sizes, is never the better one."""
    known, unknown = forecaster.known.base, forecaster.unknown.base
    assert known.by_horizon == {
        60: "additive_pickup",
        30: "multiplicative_pickup",
        14: "multiplicative_pickup",
        7: "multiplicative_pickup",
        1: "multiplicative_pickup",
    }, known
    assert set(unknown.by_horizon.values()) == {"multiplicative_pickup"}, unknown


@pytest.mark.accuracy
def test_training_sees_only_sales_and_shows_before_the_cutoff(demand_world, world_split):
    assert pd.to_datetime(world_split.daily_before["sale_date"]).max() < pd.Timestamp(world_split.cutoff)
    # every feature of every row, training and test, counts only sales before its as-of date
    assert future_sales_used(world_split.train, demand_world.daily).empty
    assert future_sales_used(world_split.test, demand_world.daily).empty
    # targets only for shows played before the cutoff; the test shows all played on or after it
    assert targets_after_cutoff(world_split.train, world_split.cutoff).empty
    assert world_split.train["final_tickets"].notna().sum() > 100_000
    assert (pd.to_datetime(world_split.test["local_date"]) >= pd.Timestamp(world_split.cutoff)).all()
    assert (pd.to_datetime(world_split.test["as_of"]) >= pd.Timestamp(world_split.cutoff)).all()


@pytest.mark.accuracy
def test_gbm_beats_both_pickups_by_a_fifth_overall_and_is_no_worse_in_any_bucket(backtest):
    wape_of = backtest.pivot(index="horizon_days", columns="model", values="wape")
    better_pickup = wape_of[["additive_pickup", "multiplicative_pickup"]].min(axis=1)
    print("\n" + _table(backtest))
    assert wape_of.loc[0, "gbm"] <= 0.8 * better_pickup[0], _table(backtest)
    # Close to the show the gbm keeps little of its correction to its base, the multiplicative pickup there (the
    # shrinkage chosen on calibration shows), so the two can tie; 5% is room for the calibration shows' chance.
    assert (wape_of.loc[list(HORIZONS), "gbm"] <= 1.05 * better_pickup[list(HORIZONS)]).all(), _table(backtest)


@pytest.mark.accuracy
def test_80_percent_intervals_cover_about_80_percent_in_every_bucket(backtest):
    coverage = backtest[(backtest["model"] == "gbm") & (backtest["horizon_days"] > 0)].set_index("horizon_days")["coverage_80"]
    assert coverage.between(0.74, 0.86).all(), _table(backtest)


@pytest.mark.accuracy
def test_p50_is_closer_to_the_truth_than_the_pickups_for_shows_of_unknown_capacity(world_split, forecaster):
    """The fallback booking model for venues missing from the capacity reference still beats the pickups."""
    test = world_split.test[world_split.test["capacity"].isna()]
    assert test["concert_id"].nunique() > 50
    ours = wape(test["final_tickets"], forecaster.predict(test)["forecast_p50"])
    pickups = [
        wape(test["final_tickets"], m.fit(world_split.train).predict(test)["forecast_p50"])
        for m in (AdditivePickup, MultiplicativePickup)
    ]
    assert ours < min(pickups), (ours, pickups)


def _finished_club_shows() -> pd.DataFrame:
    """Five finished shows at 1,000-seat venues, each as of 60 days and 1 day before the show, and once 120 days out.

    A day out each has sold 90% of its final: a ratio of 10/9 is exact, a mean of what was still sold (50) is
    off by up to 40. Sixty days out the few tickets sold run against the finals (20 for the show that ends at
    100, 1 for the one that ends at 900), so the ratio (2,500 / 38) sends them anywhere from 66 to capacity,
    while the mean of what was still sold (492.4) lands each within 412 of its final.
    """
    final = np.array([100.0, 300.0, 500.0, 700.0, 900.0])
    sold = {120: np.zeros(5), 60: np.array([20.0, 10.0, 5.0, 2.0, 1.0]), 1: 0.9 * final}
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "concert_id": [f"C{i}" for i in range(5)],
                    "capacity": pd.array([1000] * 5, "Int64"),
                    "days_to_show": days,
                    "horizon_days": pd.array([{120: None, 60: 60, 1: 1}[days]] * 5, "Int64"),
                    "tickets_sold_to_date": sold[days],
                    "final_tickets": final,
                    "censored": False,
                }
            )
            for days in (120, 60, 1)
        ],
        ignore_index=True,
    )


def test_the_base_is_the_additive_pickup_where_the_multiplicative_one_errs_more():
    rows = _finished_club_shows()
    additive, multiplicative = AdditivePickup.fit(rows), MultiplicativePickup.fit(rows)
    base = PickupBase.fit(additive, multiplicative, rows)
    assert base.by_horizon[60] == "additive_pickup" and base.by_horizon[1] == "multiplicative_pickup"
    # over every row (120 days out, the ratio learned from nothing sold leaves each show at 0) the mean errs less too;
    # buckets without rows take that pooled choice
    assert base.pooled == "additive_pickup" and base.by_horizon[30] == base.by_horizon[7] == "additive_pickup"
    far, near, beyond = (rows[rows["days_to_show"] == days] for days in (60, 1, 120))
    assert base.project(far) == pytest.approx(far["tickets_sold_to_date"] + (2500 - 38) / 5)
    assert base.project(near) == pytest.approx(near["final_tickets"])
    assert base.project(beyond) == pytest.approx(additive.project(beyond))  # in no bucket: the pooled choice
    # the same shows, with sales 60 days out that do foretell the final: the ratio is the base there too
    foretold = rows.assign(
        tickets_sold_to_date=np.where(rows["days_to_show"] == 60, 0.2 * rows["final_tickets"], rows["tickets_sold_to_date"])
    )
    assert (
        PickupBase.fit(AdditivePickup.fit(foretold), MultiplicativePickup.fit(foretold), foretold).by_horizon[60]
        == "multiplicative_pickup"
    )


@pytest.mark.accuracy
def test_calibration_shows_are_drawn_per_concert_whatever_the_row_order(world_split):
    rows = world_split.train
    drawn = pd.Series(calibration_mask(rows, seed=3), index=rows.index)
    per_concert = drawn.groupby(rows["concert_id"]).agg(["min", "max"])
    assert (per_concert["min"] == per_concert["max"]).all()  # a show's rows are all on one side
    assert per_concert["min"].mean() == pytest.approx(CALIBRATION_SHARE, abs=0.005)
    shuffled = rows.sample(frac=1.0, random_state=1)
    assert (pd.Series(calibration_mask(shuffled, seed=3), index=shuffled.index).sort_index() == drawn).all()
    assert not (calibration_mask(rows, seed=4) == drawn.to_numpy()).all()


def test_same_data_and_seed_give_the_same_forecasts(small_split):
    train, test = small_split.train, small_split.test
    first = DemandForecaster.fit(train, seed=5).predict(test)
    again = DemandForecaster.fit(train.sample(frac=1.0, random_state=2), seed=5).predict(test)
    assert_frame_equal(first, again)
    other_seed = DemandForecaster.fit(train, seed=6).predict(test)
    assert not first.equals(other_seed)  # the seed draws the calibration shows: it does matter


def test_forecasts_stay_within_what_is_possible(small_world, small_split):
    """Every show as of the cutoff, played, cancelled or up to 130 days out: sold <= p10 <= p50 <= p90 <= capacity."""
    world = small_world
    curves = booking_curves(small_split.daily_before, world.concerts)
    now = snapshots(curves, world.concerts, world.venues, small_split.cutoff)
    now = with_features(now, world.concerts, world.venues, world.artists)
    out = DemandForecaster.fit(small_split.train, seed=0).predict(now)
    _assert_bounded(now, out)
    assert (now["days_to_show"] > 90).any() and now["capacity"].isna().any() and (now["days_to_show"] < 0).any()


def test_a_show_of_unknown_capacity_far_bigger_than_any_seen_stays_within_the_largest_final(small_split):
    """With no capacity to cap at, 30x the tickets of the best seller, far out, would run the log correction away."""
    train, test = small_split.train, small_split.test
    largest = float(train["final_tickets"].max())
    far = test[test["capacity"].notna() & (test["days_to_show"] >= 46)].head(20)
    giant = far.assign(
        capacity=pd.NA,
        tickets_sold_to_date=lambda f: f["tickets_sold_to_date"] * 0 + int(largest) // 3,
        sell_through_to_date=pd.NA,
    )
    out = DemandForecaster.fit(train, seed=0).predict(giant)
    assert (out["forecast_p90"] <= largest + 1e-6).all() and (out["forecast_p10"] >= largest // 3).all()
    assert (out["forecast_p10"] <= out["forecast_p50"]).all() and (out["forecast_p50"] <= out["forecast_p90"]).all()


@pytest.mark.accuracy
def test_scoring_100k_upcoming_shows(demand_world, forecaster):
    """Prints how long features and forecasts take for 100,000 snapshot rows (the issue asks for 10 s on 2 cores)."""
    world = demand_world
    curves = booking_curves(world.daily, world.concerts)
    now = snapshots(curves, world.concerts, world.venues, world.today)
    upcoming = now[now["days_to_show"] >= 0]
    many = upcoming.sample(n=100_000, replace=True, random_state=0).reset_index(drop=True)
    started = time.perf_counter()
    featured = with_features(many, world.concerts, world.venues, world.artists)
    built = time.perf_counter()
    out = forecaster.predict(featured)
    done = time.perf_counter()
    print(f"\nscoring 100,000 rows: features {built - started:.1f} s, forecasts {done - built:.1f} s")
    _assert_bounded(featured, out)


def _assert_bounded(frame: pd.DataFrame, out: pd.DataFrame) -> None:
    assert list(out.columns) == QUANTILE_COLUMNS and out.index.equals(frame.index)
    p10, p50, p90 = (out[c].to_numpy() for c in QUANTILE_COLUMNS)
    sold = frame["tickets_sold_to_date"].to_numpy(dtype="float64")
    capacity = frame["capacity"].astype("Float64").to_numpy(dtype="float64", na_value=np.inf)
    assert np.isfinite(out.to_numpy()).all()
    assert (sold <= p10).all() and (p10 <= p50).all() and (p50 <= p90).all()
    known = np.isfinite(capacity) & (sold <= capacity)  # an oversold show may pass its listed capacity, never go below sold
    assert (p90[known] <= capacity[known]).all()


def test_features_sit_beside_the_snapshot_columns_and_unseen_values_encode_as_missing():
    """On the hand-made world (``world``), with prices: C1 and C2 are A1's shows at V1 (Berlin, 100 seats)."""
    concerts = world.concerts().assign(price_min=[20.0, 40.0, None, 30.0, None, None, None])
    concerts["price_max"] = concerts["price_min"] * 2
    artists = pd.DataFrame(
        {
            "artist_id": ["A1", "A2"],
            "popularity": pd.array([60, None], "Int64"),
            "followers": pd.array([9_999, None], "Int64"),
            "genres": [["rock", "indie rock"], []],
            "country": ["DE", "FR"],
        }
    )
    shots = snapshots(booking_curves(world.daily(), concerts), concerts, world.venues(), date(2026, 3, 11))
    out = with_features(shots, concerts, world.venues(), artists).set_index("concert_id")
    assert_frame_equal(out[shots.columns.drop("concert_id")], shots.set_index("concert_id"))
    # V1's listed mid prices are 30 (C1), 60 (C2) and 45 (C4): median 45. A1's usual ratio is the median of
    # log(30/45) and log(60/45), so C2 is log(60/45) - (log(30/45) + log(60/45)) / 2 = log(2) / 2 above it.
    assert out.loc["C1", "price_vs_venue"] == pytest.approx(np.log(30 / 45))
    assert out.loc["C2", "price_vs_act"] == pytest.approx(np.log(2) / 2)
    assert out.loc["C1", ["popularity", "log_followers", "home_country"]].tolist() == [60.0, 4.0, 1.0]
    assert out.loc["C1", "primary_genre"] == "rock" and pd.isna(out.loc["C3", "primary_genre"])
    assert pd.isna(out.loc["C6", "size_bucket"]) and np.isnan(out.loc["C6", "log_capacity"])  # V3's capacity is unknown
    assert out.loc["C1", "weekday"] == "Tuesday" and out.loc["C1", "city"] == "Berlin"

    encoder = FeatureEncoder.fit(out.loc[["C1", "C2"]])
    assert "price_spread" in encoder.columns and "popularity" in encoder.columns
    assert "last_7d_share" in encoder.columns and encoder.vocabularies["city"] == ("Berlin",)
    matrix = pd.DataFrame(encoder.matrix(out), index=out.index, columns=list(encoder.columns))
    assert np.isnan(matrix.loc["C3", "city"]) and matrix.loc["C1", "city"] == 0.0  # Paris was never seen
    alone = FeatureEncoder.fit(out.loc[["C3"]])
    assert "popularity" not in alone.columns and "primary_genre" not in alone.columns  # nothing to learn from there
