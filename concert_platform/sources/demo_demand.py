"""True ticket demand and booking curves of the demo world: the ground truth behind its sales.

Every dated show in the demo catalog gets a TRUE DEMAND, the tickets it would
sell with unlimited capacity. Its logarithm is linear in the headliner's pull
(Spotify popularity, and followers beyond what that popularity predicts), the
market (metro population, and whether the act plays its home country), the
room's size, the price against what such an act in such a room charges, and
the local weekday; an artist effect shared by all of an act's shows and a show
effect add what no feature explains (``DemandDrivers``, ``log_mean_demand``).

Sales follow a BOOKING CURVE from the public on-sale to the show: a rush as
the sale opens (bigger acts, bigger rush), a flat trickle, a ramp over the last
weeks and a surge in the final days, tuned so that about 57% of tickets sell in
the final week (Eventbrite's 2024 figure for US music events). Expected sales
by a moment are ``min(demand * curve share, capacity)``: a show whose demand
passes its capacity sells out when its curve reaches it, and its demand is
censored there (``sellout_at``).

Statuses, as of the catalog's anchor (Ticketmaster's status is the state on
that day, so every change happened before it): ``onsale`` shows sell up to the
show; ``rescheduled`` ones sold toward their initial date until the move was
announced, then spread what was left over the curve to the new date;
``postponed`` ones paused and ``canceled``/``cancelled`` ones stopped at a
moment between their on-sale and the anchor, for good; ``offsale`` ones never
sell. Shows without a date (TBA) have no demand and are left out.

``sample_day`` turns a day's expectation into orders (negative binomial order
counts: day-to-day swings beyond Poisson; sizes as partners report them).
Orders stop exactly at capacity, and a show sells its last seats on the day
its expected sales reach capacity, so a sold-out show ends exactly there.

Pure: numpy (and pandas for the truth frame), no I/O, no clock. Every draw
comes from a generator seeded by the seed, so one catalog and seed give one
world, and one generator state one day of orders.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from concert_platform.sources.demo_catalog import SELLING_STATUSES, DemoCatalog, DemoEvent
from concert_platform.sources.demo_payloads import PRICE_SCALE, VENUE_KINDS

DAY = 86_400
FINAL_WEEK_SHARE = 0.57  # Eventbrite 2024: share of US music-event tickets sold in the final week
STOPPING_STATUSES = frozenset({"canceled", "cancelled", "postponed"})  # sold for a while, then stopped as of the anchor

# Metro populations in millions, by city as the demo catalog names them (Brooklyn is New York's market).
METRO_MILLIONS = {
    "New York": 19.5,
    "Brooklyn": 19.5,
    "Los Angeles": 12.8,
    "Chicago": 9.3,
    "Austin": 2.4,
    "Nashville": 2.1,
    "Denver": 3.0,
    "Phoenix": 5.0,
    "Seattle": 4.0,
    "Atlanta": 6.3,
    "Honolulu": 1.0,
    "London": 14.3,
    "Manchester": 2.8,
    "Glasgow": 1.7,
    "Berlin": 6.1,
    "Hamburg": 5.4,
    "München": 2.9,
    "Paris": 12.3,
    "Lyon": 2.3,
    "Amsterdam": 2.5,
    "Rotterdam": 1.8,
    "Dublin": 2.1,
    "Madrid": 6.8,
    "Stockholm": 2.4,
    "Toronto": 6.7,
    "Montréal": 4.3,
    "Vancouver": 2.6,
    "Calgary": 1.6,
    "Sydney": 5.3,
    "Melbourne": 5.2,
    "Brisbane": 2.6,
    "Perth": 2.2,
    "Auckland": 1.7,
    "Ciudad de México": 21.8,
}
WEEKDAY_FACTOR = (0.75, 0.80, 0.85, 0.95, 1.20, 1.30, 0.90)  # Monday .. Sunday, of the local show day
FESTIVAL_POPULARITY = 75  # a festival (no headliner) pulls like a well-known act

# log(demand) = INTERCEPT + the terms below (see log_mean_demand); the intercept puts ~7.5% of played shows
# over capacity on the demo catalog. CAPACITY_ELASTICITY < 1: a bigger room draws more people (reach,
# promotion, cheaper seats) but not in proportion, so the same act fills a small room more easily.
INTERCEPT = 7.17
POPULARITY_PER_10 = 0.21
FAN_BASE_COEF = 0.40  # per tenfold followers beyond what the popularity predicts
MARKET_ELASTICITY = 0.20  # per e-fold metro population, around REFERENCE_MILLIONS
REFERENCE_MILLIONS = 3.0
HOME_BOOST = 0.20
CAPACITY_ELASTICITY = 0.75  # around REFERENCE_CAPACITY seats
REFERENCE_CAPACITY = 3000
PRICE_ELASTICITY = 0.80  # of the mid price against FAIR_PRICE_FACTOR x the act's and room's price level
# The catalog lists low = level * U(0.8, 1.3) and high = low * U(1.5, 4.0), so its mean mid price is ~1.97 levels.
FAIR_PRICE_FACTOR = 1.97
ARTIST_SD = 0.20  # an act's buzz beyond its numbers, shared by all its shows
SHOW_SD = 0.20

# Booking curve: shares of the on-sale rush, the flat trickle, the ramp and the final surge.
RUSH_SHARE, RUSH_PER_POPULARITY = 0.04, 0.14  # rush share = RUSH_SHARE + RUSH_PER_POPULARITY * popularity / 100
RUSH_DAYS = 1.0  # the rush decays with this time constant after the sale opens
RAMP_DAYS = 21.0
SURGE_DAYS = 2.5  # median; each show's varies
LATE_SHARES = (0.16, 0.18, 0.66)  # flat, ramp, surge: the typical split of what the rush leaves

# Order sizes as the partners report them, and how much a show's daily orders swing beyond Poisson.
ORDER_SIZES = np.array([1, 2, 3, 4, 5, 6, 8, 10])
ORDER_SIZE_P = np.array([0.30, 0.38, 0.12, 0.12, 0.03, 0.03, 0.01, 0.01])
MEAN_ORDER_SIZE = float(ORDER_SIZES @ ORDER_SIZE_P)
ORDER_DISPERSION = 10.0  # negative binomial shape: a big show's day varies by ~1/sqrt(10) ~ 32%


@dataclass(frozen=True, eq=False)
class DemandDrivers:
    """What a show's demand depends on, one entry per dated show in catalog order."""

    ids: np.ndarray  # concert ids
    popularity: np.ndarray  # the headliner's Spotify popularity, FESTIVAL_POPULARITY for festivals
    fan_base: np.ndarray  # log10 followers above what the popularity predicts (0 for festivals)
    market: np.ndarray  # ln(metro population / REFERENCE_MILLIONS)
    home: np.ndarray  # the headliner is from the venue's country
    capacity: np.ndarray  # seats (int64)
    price: np.ndarray  # ln(mid price / fair price for the act, room and currency)
    weekday: np.ndarray  # of the local show day, Monday = 0
    artist: np.ndarray  # the headliner's index in catalog.artists, -1 for festivals


@dataclass(frozen=True, eq=False)
class DemandWorld:
    """Every dated show's true demand and sale schedule, as arrays in catalog order. Times are epoch seconds."""

    ids: np.ndarray
    status: np.ndarray
    capacity: np.ndarray  # int64
    demand: np.ndarray  # true demand: expected tickets with unlimited capacity
    sale_start: np.ndarray  # public on-sale
    sale_stop: np.ndarray  # the show; the cancellation or postponement; sale_start for shows that never sell
    show_at: np.ndarray
    first_show_at: np.ndarray  # the initial date of a rescheduled show, else show_at
    moved_at: np.ndarray  # when a reschedule was announced; sale_start when there was none
    shares: np.ndarray  # (n, 4): rush, flat, ramp and surge shares of the curve, rows summing to 1
    surge_days: np.ndarray
    sellout_at: np.ndarray  # float: when expected sales reach capacity, NaN if they never do

    @property
    def played(self) -> np.ndarray:
        """Shows that are (or were) played on their date, as opposed to cancelled, postponed or off sale."""
        return np.isin(self.status, list(SELLING_STATUSES))

    @property
    def sold_out(self) -> np.ndarray:
        return ~np.isnan(self.sellout_at)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, eq=False)
class DaySales:
    """One UTC day of orders, sorted by time: show index into the world, tickets, second of the day."""

    show: np.ndarray
    quantity: np.ndarray
    second: np.ndarray
    tickets: np.ndarray  # per show: the day's tickets (what to add to ``sold``)


# ---- drivers and truth ------------------------------------------------------------------------


def dated_events(catalog: DemoCatalog) -> list[DemoEvent]:
    """The shows a world covers, in catalog order: those with a date (TBA shows cannot sell)."""
    return [e for e in catalog.events if e.starts_at is not None]


def price_range(event: DemoEvent) -> tuple[float, float]:
    """What tickets cost: the listed range, or the room's default when none is listed (or it is 0-0)."""
    if event.price and event.price[1] > 0:
        return event.price
    floor = VENUE_KINDS[event.venue.kind][3] * PRICE_SCALE[event.currency]
    return floor, floor * 3


def fair_price(kind: str, currency: str, popularity: float) -> float:
    """The mid price the catalog asks on average for an act this popular in a room of this kind."""
    return VENUE_KINDS[kind][3] * PRICE_SCALE[currency] * (0.7 + popularity / 100) * FAIR_PRICE_FACTOR


def demand_drivers(catalog: DemoCatalog) -> DemandDrivers:
    events = dated_events(catalog)
    artist_index = {a.tm_id: i for i, a in enumerate(catalog.artists)}
    popularity = np.array([e.headliner.popularity if e.headliner else FESTIVAL_POPULARITY for e in events], dtype=float)
    followers = np.array([np.log10(e.headliner.followers) if e.headliner else np.nan for e in events])
    # the catalog draws log10(followers) = 2 + popularity/20 + U(0, 1): the excess over its mean is the fan base
    fan_base = np.where(np.isnan(followers), 0.0, followers - (2.5 + popularity / 20))
    mids = np.array([sum(price_range(e)) / 2 for e in events])
    fair = np.array([fair_price(e.venue.kind, e.currency, pop) for e, pop in zip(events, popularity, strict=True)])
    return DemandDrivers(
        ids=np.array([e.id for e in events]),
        popularity=popularity,
        fan_base=fan_base,
        market=np.log(np.array([METRO_MILLIONS[e.venue.city.strip()] for e in events]) / REFERENCE_MILLIONS),
        home=np.array([e.headliner is not None and e.headliner.country == e.venue.country_code for e in events]),
        capacity=np.array([e.venue.capacity for e in events], dtype=np.int64),
        price=np.log(mids / fair),
        weekday=np.array([e.local_date.weekday() for e in events], dtype=np.int64),
        artist=np.array([artist_index[e.headliner.tm_id] if e.headliner else -1 for e in events], dtype=np.int64),
    )


def log_mean_demand(drivers: DemandDrivers) -> np.ndarray:
    """ln(true demand) before the artist and show effects: what the drivers alone explain."""
    return (
        INTERCEPT
        + POPULARITY_PER_10 * (drivers.popularity - 50) / 10
        + FAN_BASE_COEF * drivers.fan_base
        + MARKET_ELASTICITY * drivers.market
        + HOME_BOOST * drivers.home
        + CAPACITY_ELASTICITY * np.log(drivers.capacity / REFERENCE_CAPACITY)
        - PRICE_ELASTICITY * drivers.price
        + np.log(np.asarray(WEEKDAY_FACTOR))[drivers.weekday]
    )


def demand_world(catalog: DemoCatalog, seed: int | None = None) -> DemandWorld:
    """The catalog's dated shows with their true demand and sale schedule (``seed`` defaults to the catalog's)."""
    seed = catalog.seed if seed is None else seed
    # demo_sales draws from (seed, 0) and (seed, day ordinal): a three-part key is a stream of its own
    rng = np.random.default_rng([seed, 0, 1])
    events, drivers = dated_events(catalog), demand_drivers(catalog)
    n = len(events)
    # Every draw is made for every show, in one fixed order, so a show's draws do not depend on the others' statuses.
    artist_effect = rng.normal(0.0, ARTIST_SD, len(catalog.artists))
    show_effect = rng.normal(0.0, SHOW_SD, n)
    rush = np.clip((RUSH_SHARE + RUSH_PER_POPULARITY * drivers.popularity / 100) * rng.lognormal(0.0, 0.3, n), 0.0, 0.4)
    late = np.asarray(LATE_SHARES) * rng.lognormal(0.0, 0.2, (n, 3))
    late *= ((1 - rush) / late.sum(axis=1))[:, None]
    surge_days = SURGE_DAYS * rng.lognormal(0.0, 0.25, n)
    when = rng.uniform(0.15, 0.85, n)  # how far from on-sale to the anchor (or the date) a stop or a move fell

    log_demand = log_mean_demand(drivers) + np.where(drivers.artist >= 0, artist_effect[drivers.artist], 0.0) + show_effect
    status = np.array([e.status for e in events])
    sale_start = _epoch([e.onsale_start for e in events])
    show_at = _epoch([e.starts_at for e in events])
    anchor = day_start(catalog.anchor)
    first_show_at = _epoch([_initial_start(e) for e in events])

    def moment_before(limit: np.ndarray) -> np.ndarray:
        return sale_start + np.floor(when * np.maximum(np.minimum(limit, anchor) - sale_start, 0)).astype(np.int64)

    sale_stop = np.where(np.isin(status, list(STOPPING_STATUSES)), moment_before(show_at), show_at)
    sale_stop = np.where(np.isin(status, list(SELLING_STATUSES | STOPPING_STATUSES)), sale_stop, sale_start)
    world = DemandWorld(
        ids=drivers.ids,
        status=status,
        capacity=drivers.capacity,
        demand=np.exp(log_demand),
        sale_start=sale_start,
        sale_stop=sale_stop,
        show_at=show_at,
        first_show_at=first_show_at,
        moved_at=np.where(status == "rescheduled", moment_before(first_show_at), sale_start),
        shares=np.column_stack([rush, late]),
        surge_days=surge_days,
        sellout_at=np.full(n, np.nan),
    )
    return replace(world, sellout_at=_sellout_moments(world))


def _epoch(moments: list[datetime]) -> np.ndarray:
    return np.array([int(m.timestamp()) for m in moments], dtype=np.int64)


def _initial_start(event: DemoEvent) -> datetime:
    """A rescheduled show's initial date in UTC (the catalog keeps it as local wall time); else its date."""
    if event.status != "rescheduled" or event.initial_start is None:
        return event.starts_at
    return event.initial_start.replace(tzinfo=ZoneInfo(event.venue.timezone)).astimezone(UTC)


# ---- the booking curve ------------------------------------------------------------------------


def _exp_share(x: np.ndarray, length: np.ndarray, scale: np.ndarray | float) -> np.ndarray:
    """Share of an exponential density exp(-u/scale) on [0, length] that lies in [0, x]."""
    return np.expm1(-x / scale) / np.expm1(-length / scale)


def _window_share(world: DemandWorld, elapsed: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Share of a curve over a window of ``length`` seconds that has sold ``elapsed`` seconds after on-sale."""
    length = np.maximum(length, 1) / DAY  # a window of at most nothing (a move announced before on-sale) sells nothing
    s = np.clip(elapsed / DAY, 0.0, length)
    to_show = length - s
    rush, flat, ramp, surge = world.shares.T
    return (
        rush * _exp_share(s, length, RUSH_DAYS)
        + flat * s / length
        + ramp * (1 - _exp_share(to_show, length, RAMP_DAYS))
        + surge * (1 - _exp_share(to_show, length, world.surge_days))
    )


def curve_share(world: DemandWorld, at: np.ndarray | int) -> np.ndarray:
    """Share of each show's true demand its curve has sold by ``at`` (epoch seconds: one moment, or one per show).

    A rescheduled show follows the curve to its initial date until the move, then spreads what that curve had
    left over the rest of the curve to its new date. Nothing sells after ``sale_stop``.
    """
    t = np.minimum(np.broadcast_to(np.asarray(at, dtype=np.int64), world.sale_start.shape), world.sale_stop)
    start = world.sale_start
    to_first, to_new = world.first_show_at - start, world.show_at - start
    before = _window_share(world, t - start, to_first)
    at_move_first = _window_share(world, world.moved_at - start, to_first)
    at_move_new = _window_share(world, world.moved_at - start, to_new)
    after = at_move_first + (1 - at_move_first) * (_window_share(world, t - start, to_new) - at_move_new) / (1 - at_move_new)
    return np.where(t < world.moved_at, before, after)


def expected_sold(world: DemandWorld, at: np.ndarray | int) -> np.ndarray:
    """Expected tickets each show has sold by ``at``: its curve's share of the demand, never past capacity."""
    return np.minimum(world.demand * curve_share(world, at), world.capacity)


def sold_before(world: DemandWorld, day: date) -> np.ndarray:
    """Whole tickets each show has sold before the UTC ``day`` in expectation: where a seeder starting that day
    begins, so capacity binds as in the world (the sales before it are in no file)."""
    return np.floor(expected_sold(world, day_start(day))).astype(np.int64)


def expected_tickets(world: DemandWorld, day: date) -> np.ndarray:
    """Expected tickets each show sells on the UTC ``day``; summed over every day, ``expected_final``."""
    d0 = day_start(day)
    return expected_sold(world, d0 + DAY) - expected_sold(world, d0)


def expected_final(world: DemandWorld) -> np.ndarray:
    """Expected tickets over each show's whole sale: min(demand, capacity) for played shows, less if stopped early."""
    return expected_sold(world, world.sale_stop)


def day_start(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp())


def _sellout_moments(world: DemandWorld) -> np.ndarray:
    """When each show's expected sales reach capacity (NaN if never): bisection on the monotone curve."""
    out = np.full(len(world), np.nan)
    hits = world.demand * curve_share(world, world.sale_stop) >= world.capacity
    if not hits.any():
        return out
    sub = _take(world, hits)
    low, high = sub.sale_start.astype(np.int64), sub.sale_stop.astype(np.int64)
    while (high - low > 1).any():  # windows are under a year (2^25 s): 25 halvings, to the second
        mid = (low + high) // 2
        reached = sub.demand * curve_share(sub, mid) >= sub.capacity
        high, low = np.where(reached, mid, high), np.where(reached, low, mid)
    out[hits] = high
    return out


def _take(world: DemandWorld, mask: np.ndarray) -> DemandWorld:
    return DemandWorld(**{f.name: getattr(world, f.name)[mask] for f in fields(world)})


def final_week_share(world: DemandWorld, mask: np.ndarray | None = None) -> float:
    """Share of the expected tickets of played shows (or of ``mask``) that sell in the week before the show."""
    shows = world.played if mask is None else mask
    final = expected_sold(world, world.show_at)[shows]
    week_before = expected_sold(world, world.show_at - 7 * DAY)[shows]
    return float((final - week_before).sum() / final.sum())


def truth_frame(world: DemandWorld) -> pd.DataFrame:
    """The ground truth, one row per dated show: what the models are held to.

    ``true_demand`` is uncensored; ``expected_final`` is min(true_demand, capacity) for played shows (what the
    sales converge to in expectation) and the expected sales up to the stop for cancelled or postponed ones.
    """
    sellout = pd.to_datetime(world.sellout_at, unit="s", utc=True)
    return pd.DataFrame(
        {
            "concert_id": world.ids,
            "status": world.status,
            "played": world.played,
            "capacity": world.capacity,
            "true_demand": world.demand,
            "expected_final": expected_final(world),
            "sold_out": world.sold_out,
            "sellout_at": sellout,
            "sellout_day": [None if pd.isna(m) else m.date() for m in sellout],
            "onsale_at": pd.to_datetime(world.sale_start, unit="s", utc=True),
            "sales_stop_at": pd.to_datetime(world.sale_stop, unit="s", utc=True),
            "starts_at": pd.to_datetime(world.show_at, unit="s", utc=True),
        }
    )


# ---- sampling ---------------------------------------------------------------------------------


def sample_day(world: DemandWorld, day: date, sold: np.ndarray, rng: np.random.Generator) -> DaySales:
    """The UTC ``day``'s orders, given the tickets each show has ``sold`` before it (not changed here).

    Order counts are negative binomial around the day's expectation over the mean order size; orders that would
    pass capacity are cut to the seats left. On the day a show's expected sales reach capacity, orders for its
    last seats are added, so a show that sells out in expectation ends exactly at capacity.
    """
    d0 = day_start(day)
    room = world.capacity - sold
    mean_orders = expected_tickets(world, day) / MEAN_ORDER_SIZE
    counts = np.zeros(len(world), dtype=np.int64)
    live = mean_orders > 0
    counts[live] = rng.negative_binomial(ORDER_DISPERSION, ORDER_DISPERSION / (ORDER_DISPERSION + mean_orders[live]))
    show = np.repeat(np.arange(len(world)), counts)
    quantity = fit_orders(show, rng.choice(ORDER_SIZES, size=len(show), p=ORDER_SIZE_P), counts, room)
    due = (world.sellout_at >= d0) & (world.sellout_at < d0 + DAY)
    last_seats = np.where(due, room - np.bincount(show, weights=quantity, minlength=len(world)).astype(np.int64), 0)
    extra_show, extra_quantity = split_orders(last_seats, rng)
    show, quantity = np.concatenate([show, extra_show]), np.concatenate([quantity, extra_quantity])
    show, quantity = show[quantity > 0], quantity[quantity > 0]
    # when in the day: inside the show's selling window, and before its sell-out
    end = np.minimum(
        np.minimum(world.sale_stop, d0 + DAY), np.where(np.isnan(world.sellout_at), np.inf, np.ceil(world.sellout_at))
    )
    low = np.maximum(world.sale_start, d0) - d0
    high = np.maximum(end.astype(np.int64) - d0, low + 1)
    second = low[show] + np.floor(rng.random(len(show)) * (high - low)[show]).astype(np.int64)
    order = np.lexsort((show, second))
    tickets = np.bincount(show, weights=quantity, minlength=len(world)).astype(np.int64)
    return DaySales(show=show[order], quantity=quantity[order], second=second[order], tickets=tickets)


def split_orders(tickets: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(show index, quantity) of orders of the usual sizes adding up to exactly ``tickets`` per show."""
    shows, quantities = [], []
    left = np.asarray(tickets, dtype=np.int64).copy()
    while (left > 0).any():  # enough orders for most shows at once; the few still short go round again
        counts = np.where(left > 0, np.ceil(left / MEAN_ORDER_SIZE).astype(np.int64) + 2, 0)
        show = np.repeat(np.arange(len(left)), counts)
        quantity = fit_orders(show, rng.choice(ORDER_SIZES, size=len(show), p=ORDER_SIZE_P), counts, left)
        left -= np.bincount(show, weights=quantity, minlength=len(left)).astype(np.int64)
        shows.append(show[quantity > 0])
        quantities.append(quantity[quantity > 0])
    if not shows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(shows), np.concatenate(quantities)


def fit_orders(show: np.ndarray, quantity: np.ndarray, counts: np.ndarray, room: np.ndarray) -> np.ndarray:
    """Cut orders grouped by show (``counts`` each, in order) so each show's total stays within its ``room``."""
    total = np.cumsum(quantity)
    first = np.cumsum(counts) - counts
    before = total - quantity - (total - quantity)[first[show]]  # this show's tickets in earlier orders
    return np.clip(room[show] - before, 0, quantity).astype(np.int64)
