"""The demo world's true demand and booking curves: the ground truth the insight models are held to.

Statistical tests use fixed seeds, so they pass or fail the same way every run; each tolerance says
how far chance alone could move the number it bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from concert_platform.sources import demo_demand as dd
from concert_platform.sources.demo import DemoCatalog
from concert_platform.sources.demo_payloads import CITIES

ANCHOR = date(2026, 11, 20)
SEEDS = (7, 8, 9, 10, 11)


@pytest.fixture(scope="module")
def catalogs() -> dict[int, DemoCatalog]:
    return {seed: DemoCatalog(seed=seed, anchor=ANCHOR) for seed in SEEDS}


@pytest.fixture(scope="module")
def worlds(catalogs) -> dict[int, dd.DemandWorld]:
    return {seed: dd.demand_world(catalog) for seed, catalog in catalogs.items()}


@pytest.fixture(scope="module")
def world(worlds) -> dd.DemandWorld:
    return worlds[7]


@dataclass
class Simulation:
    sold: np.ndarray  # tickets per show over its whole sale
    final_week: np.ndarray  # of which sold in the 7 days before the show
    first_sale: np.ndarray  # epoch seconds of each show's first and last order (max int / -1 when none)
    last_sale: np.ndarray
    days: int


def _simulate(world: dd.DemandWorld, seed: int) -> Simulation:
    """Every UTC day from the first on-sale to the last show, sampled as the landing-zone seeder would."""
    first = datetime.fromtimestamp(int(world.sale_start.min()), UTC).date()
    last = datetime.fromtimestamp(int(world.show_at.max()), UTC).date()
    n = len(world)
    sold, final_week = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    first_sale, last_sale = np.full(n, np.iinfo(np.int64).max), np.full(n, -1, dtype=np.int64)
    days = (last - first).days + 1
    for i in range(days):
        day = first + timedelta(days=i)
        sales = dd.sample_day(world, day, sold, np.random.default_rng([seed, day.toordinal()]))
        moment = dd.day_start(day) + sales.second
        late = moment >= world.show_at[sales.show] - 7 * dd.DAY
        final_week += np.bincount(sales.show, weights=sales.quantity * late, minlength=n).astype(np.int64)
        np.minimum.at(first_sale, sales.show, moment)
        np.maximum.at(last_sale, sales.show, moment)
        sold += sales.tickets
        assert (sold <= world.capacity).all(), f"a show sold past its capacity on {day}"
    return Simulation(sold, final_week, first_sale, last_sale, days)


@pytest.fixture(scope="module")
def simulation(world) -> Simulation:
    return _simulate(world, seed=7)


# ---- determinism ------------------------------------------------------------------------------


def test_same_catalog_and_seed_give_the_same_world_truth_and_sales():
    one, two = (dd.demand_world(DemoCatalog(seed=7, anchor=ANCHOR)) for _ in range(2))
    pd.testing.assert_frame_equal(dd.truth_frame(one), dd.truth_frame(two))
    day = ANCHOR - timedelta(days=3)
    sold = np.rint(dd.expected_sold(one, dd.day_start(day))).astype(np.int64)
    a, b = (dd.sample_day(w, day, sold, np.random.default_rng([7, 1])) for w in (one, two))
    assert len(a.show) > 1000
    for field in ("show", "quantity", "second", "tickets"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    other = dd.demand_world(DemoCatalog(seed=7, anchor=ANCHOR), seed=8)
    assert (other.ids == one.ids).all() and not np.allclose(other.demand, one.demand)


def test_moving_the_anchor_moves_dates_but_keeps_the_truth():
    base = dd.demand_world(DemoCatalog(seed=7, anchor=ANCHOR))
    moved = dd.demand_world(DemoCatalog(seed=7, anchor=ANCHOR + timedelta(days=35)))
    assert (moved.ids == base.ids).all()
    np.testing.assert_allclose(moved.demand, base.demand)
    # DST can move a show's UTC time by an hour relative to its on-sale; the sold-out set is the same
    assert (moved.sold_out == base.sold_out).all()


# ---- the truth --------------------------------------------------------------------------------


def test_truth_frame_columns_and_censoring(world):
    truth = dd.truth_frame(world)
    assert list(truth.columns) == [
        "concert_id",
        "status",
        "played",
        "capacity",
        "true_demand",
        "expected_final",
        "sold_out",
        "sellout_at",
        "sellout_day",
        "onsale_at",
        "sales_stop_at",
        "starts_at",
    ]
    assert truth["concert_id"].is_unique and len(truth) == len(world)
    played = truth[truth["played"]]
    np.testing.assert_allclose(played["expected_final"], np.minimum(played["true_demand"], played["capacity"]), rtol=1e-9)
    sold_out = played[played["sold_out"]]
    assert (sold_out["true_demand"] > sold_out["capacity"]).all()  # censored: the truth lies above what sells
    assert (played.loc[~played["sold_out"], "true_demand"] <= played.loc[~played["sold_out"], "capacity"]).all()
    assert sold_out["sellout_day"].notna().all() and played.loc[~played["sold_out"], "sellout_day"].isna().all()
    assert (sold_out["sellout_at"] > sold_out["onsale_at"]).all() and (sold_out["sellout_at"] <= sold_out["starts_at"]).all()
    assert (sold_out["sellout_day"] == sold_out["sellout_at"].dt.date).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_five_to_ten_percent_of_played_shows_sell_out(worlds, seed):
    # ~2,600 played shows a seed: a binomial rate of 7.5% has a standard deviation of 0.5 points,
    # so 5..10% is five standard deviations either way.
    world = worlds[seed]
    assert 0.05 <= world.sold_out[world.played].mean() <= 0.10


def test_sell_out_rate_over_seeds(worlds):
    # 13,000 shows pooled: 0.23 points of standard deviation around the 7.5% the intercept was tuned to.
    played = np.concatenate([w.sold_out[w.played] for w in worlds.values()])
    assert len(played) > 12_000
    assert 0.065 <= played.mean() <= 0.085


def test_realistic_sell_through(worlds):
    """Most shows sell a good part of the room, few sell almost nothing."""
    through = np.concatenate([np.minimum(w.demand / w.capacity, 1)[w.played] for w in worlds.values()])
    assert 0.35 <= np.median(through) <= 0.6
    assert (through < 0.1).mean() < 0.05


def test_every_demo_city_has_a_metro_population():
    assert {c[0] for c in CITIES} == set(dd.METRO_MILLIONS)


# ---- what demand depends on -------------------------------------------------------------------


def test_each_driver_moves_the_mean_demand_the_expected_way(catalogs):
    drivers = dd.demand_drivers(catalogs[7])
    base = dd.log_mean_demand(drivers)
    up = {
        "popularity": drivers.popularity + 10,
        "fan_base": drivers.fan_base + 0.5,
        "market": drivers.market + np.log(2),
        "home": np.ones_like(drivers.home),
        "capacity": drivers.capacity * 2,
        "price": drivers.price + np.log(1.5),
    }
    for name, values in up.items():
        change = dd.log_mean_demand(replace(drivers, **{name: values})) - base
        expected_sign = -1 if name == "price" else 1
        changed = values != getattr(drivers, name)
        assert (np.sign(change[changed]) == expected_sign).all(), name
    # a bigger room draws more people but less than in proportion: the same act fills it less
    bigger = dd.log_mean_demand(replace(drivers, capacity=drivers.capacity * 2)) - base
    assert (bigger < np.log(2)).all()
    by_day = [dd.log_mean_demand(replace(drivers, weekday=np.full_like(drivers.weekday, d))) for d in range(7)]
    friday, saturday = by_day[4], by_day[5]
    for d in (0, 1, 2, 3, 6):
        assert (friday > by_day[d]).all() and (saturday > by_day[d]).all()


def _cluster_ols(x: np.ndarray, y: np.ndarray, cluster: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients and standard errors robust to correlation within clusters (an act's shows share its effect)."""
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ x.T @ y
    scores = x * (y - x @ beta)[:, None]
    _, group = np.unique(cluster, return_inverse=True)
    summed = np.zeros((group.max() + 1, x.shape[1]))
    np.add.at(summed, group, scores)
    return beta, np.sqrt(np.diag(bread @ summed.T @ summed @ bread))


def test_realised_demand_follows_pull_market_room_price_and_weekday(catalogs, worlds):
    """Regressed on the drivers over four catalogs (~11,800 shows), true demand rises with pull, market, room and
    Friday/Saturday and falls with price, each far beyond chance (t >= 8), and each coefficient lies within four
    cluster-robust standard errors of the generator's own (a 1-in-15,000 miss per coefficient by chance)."""
    rows, targets, clusters = [], [], []
    for seed in SEEDS[:4]:
        d = dd.demand_drivers(catalogs[seed])
        weekday = np.eye(7)[d.weekday][:, 1:]  # Monday is the base
        rows.append(
            np.column_stack(
                [np.ones(len(d.ids)), d.popularity / 10, d.fan_base, d.market, d.home, np.log(d.capacity), d.price, weekday]
            )
        )
        targets.append(np.log(worlds[seed].demand))
        clusters.append(np.where(d.artist >= 0, seed * 1000 + d.artist, -np.arange(1, len(d.ids) + 1) - seed * 100_000))
    beta, se = _cluster_ols(np.vstack(rows), np.concatenate(targets), np.concatenate(clusters))
    weekday = np.log(np.array(dd.WEEKDAY_FACTOR[1:]) / dd.WEEKDAY_FACTOR[0])
    expected = {
        "popularity": (1, dd.POPULARITY_PER_10),
        "fan_base": (2, dd.FAN_BASE_COEF),
        "market": (3, dd.MARKET_ELASTICITY),
        "home": (4, dd.HOME_BOOST),
        "capacity": (5, dd.CAPACITY_ELASTICITY),
        "price": (6, -dd.PRICE_ELASTICITY),
    }
    for name, (i, true) in expected.items():
        assert np.sign(beta[i]) == np.sign(true) and abs(beta[i] / se[i]) >= 8, (name, beta[i], se[i])
        assert abs(beta[i] - true) <= 4 * se[i], (name, beta[i], true, se[i])
    days = beta[7:]  # Tuesday .. Sunday against Monday
    np.testing.assert_array_less(np.abs(days - weekday), 4 * se[7:])
    friday, saturday = days[3], days[4]
    for other, other_se in zip(np.r_[0.0, days[[0, 1, 2, 5]]], np.r_[0.0, se[[7, 8, 9, 12]]], strict=True):
        assert friday - other >= 4 * np.hypot(se[10], other_se) and saturday - other >= 4 * np.hypot(se[11], other_se)


# ---- the booking curve ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_final_week_holds_eventbrites_57_percent(worlds, seed):
    # Each catalog lands within half a point of the aggregate; 2 points is the "few points" the issue allows.
    assert abs(dd.final_week_share(worlds[seed]) - dd.FINAL_WEEK_SHARE) <= 0.02


def test_sampled_sales_keep_the_final_week_share(world, simulation):
    # millions of tickets: sampling moves the aggregate share by well under a point
    played = world.played
    share = simulation.final_week[played].sum() / simulation.sold[played].sum()
    assert abs(share - dd.final_week_share(world)) <= 0.01
    assert abs(share - dd.FINAL_WEEK_SHARE) <= 0.03


def test_curves_rise_from_nothing_at_on_sale_to_everything_at_the_show(world):
    span = world.show_at - world.sale_start
    grid = world.sale_start[:, None] + (span[:, None] * np.linspace(-0.1, 1.1, 121)[None, :]).astype(np.int64)
    shares = np.column_stack([dd.curve_share(world, grid[:, k]) for k in range(grid.shape[1])])
    assert (np.diff(shares, axis=1) >= -1e-12).all()  # never decreasing
    assert (shares[:, :11] == 0).all()  # nothing before the sale opens
    played = world.played
    np.testing.assert_allclose(dd.curve_share(world, world.show_at)[played], 1.0, rtol=1e-12)
    assert (dd.curve_share(world, world.sale_stop)[~played] < 1).all()


def test_a_rush_right_after_the_sale_opens(world):
    """The first day on sale outsells a typical day in the middle of the window many times over."""
    long = (
        world.played & ~world.sold_out & (world.show_at - world.sale_start > 90 * dd.DAY) & (world.moved_at == world.sale_start)
    )
    first_day = dd.expected_sold(world, world.sale_start + dd.DAY) - dd.expected_sold(world, world.sale_start)
    middle = world.sale_start + (world.show_at - world.sale_start) // 2
    middle_day = dd.expected_sold(world, middle + dd.DAY) - dd.expected_sold(world, middle)
    assert long.sum() > 500
    assert first_day[long].sum() > 5 * middle_day[long].sum()
    assert (first_day[long] > middle_day[long]).all()


def test_days_add_up_to_the_expected_final(world):
    first = datetime.fromtimestamp(int(world.sale_start.min()), UTC).date()
    last = datetime.fromtimestamp(int(world.show_at.max()), UTC).date()
    total = sum(dd.expected_tickets(world, first + timedelta(days=i)) for i in range((last - first).days + 1))
    np.testing.assert_allclose(total, dd.expected_final(world), rtol=1e-9, atol=1e-6)
    played = world.played
    np.testing.assert_allclose(total[played], np.minimum(world.demand, world.capacity)[played], rtol=1e-9)


# ---- sampled sales ----------------------------------------------------------------------------


def test_sampled_sales_match_the_expectation(world, simulation):
    """Summed over the whole sale, sampled tickets average min(demand, capacity).

    Shows whose expected final is under 90% of the room are almost never cut by capacity, so their
    relative error should average zero: the bound is four standard errors of that mean.
    """
    expected = dd.expected_final(world)
    clear = world.played & (expected > 0) & (expected < 0.9 * world.capacity)
    error = simulation.sold[clear] / expected[clear] - 1
    assert clear.sum() > 2000
    assert abs(error.mean()) <= 4 * error.std() / np.sqrt(len(error))
    assert 0.02 < error.std() < 0.3  # noisy like real sales, not a copy of the expectation
    assert abs(simulation.sold[clear].sum() / expected[clear].sum() - 1) < 0.01


def test_sold_out_shows_stop_exactly_at_capacity(world, simulation):
    out = world.played & world.sold_out
    assert out.sum() > 100
    np.testing.assert_array_equal(simulation.sold[out], world.capacity[out])
    assert (simulation.last_sale[out] <= np.ceil(world.sellout_at[out])).all()  # nothing after the sell-out
    assert (simulation.sold <= world.capacity).all()


def test_sales_stay_inside_each_shows_window(world, simulation):
    sold = simulation.sold > 0
    assert (simulation.first_sale[sold] >= world.sale_start[sold]).all()
    assert (simulation.last_sale[sold] < world.sale_stop[sold]).all()


def test_cancelled_and_postponed_shows_stop_and_off_sale_shows_never_sell(world, simulation):
    anchor = dd.day_start(ANCHOR)
    stopped = np.isin(world.status, ["canceled", "cancelled", "postponed"])
    assert stopped.sum() > 150
    assert (world.sale_stop[stopped] <= np.maximum(anchor, world.sale_start[stopped])).all()  # known by the anchor
    assert (world.sale_stop[stopped] < world.show_at[stopped]).all()
    assert (simulation.last_sale[stopped] < world.sale_stop[stopped]).all()
    began = stopped & (world.sale_start < anchor - 30 * dd.DAY)
    assert (simulation.sold[began] > 0).mean() > 0.9  # they did sell before stopping
    stop_day = (world.sale_stop // dd.DAY) * dd.DAY
    after = [
        dd.expected_tickets(world, datetime.fromtimestamp(int(s) + dd.DAY, UTC).date())[i]
        for i, s in enumerate(stop_day)
        if stopped[i]
    ]
    assert max(after) == 0
    offsale = world.status == "offsale"
    assert offsale.sum() > 50 and (simulation.sold[offsale] == 0).all() and (dd.expected_final(world)[offsale] == 0).all()


def test_rescheduled_shows_follow_their_initial_date_until_the_move_then_the_new_one(world):
    moved = (world.status == "rescheduled") & (world.moved_at > world.sale_start)
    assert moved.sum() > 50
    assert (world.first_show_at[moved] < world.show_at[moved]).all()
    assert (world.moved_at[moved] <= np.minimum(world.first_show_at[moved], dd.day_start(ANCHOR))).all()
    share_at_move = dd.curve_share(world, world.moved_at)[moved]
    # against the same curve aimed at the new date, the initial date had sold more by the move
    as_if_new = dd.curve_share(replace(world, moved_at=world.sale_start, first_show_at=world.show_at), world.moved_at)[moved]
    assert (share_at_move > as_if_new).all()
    # and the move is no jump: a second either side of it
    before = dd.curve_share(world, world.moved_at - 1)[moved]
    np.testing.assert_allclose(before, share_at_move, atol=1e-5)


def test_split_orders_adds_up_exactly():
    rng = np.random.default_rng(3)
    tickets = np.array([0, 1, 2, 7, 50, 2_345, 0, 19])
    show, quantity = dd.split_orders(tickets, rng)
    np.testing.assert_array_equal(np.bincount(show, weights=quantity, minlength=len(tickets)), tickets)
    assert (quantity >= 1).all() and (quantity <= dd.ORDER_SIZES.max()).all()
    assert abs(quantity[show == 5].mean() - dd.MEAN_ORDER_SIZE) < 0.3
