"""A demo world with known truth, shaped like the platform's tables, built without landing a file.

The demo catalog (``sources.demo_catalog``) gives the artists, venues and shows;
``sources.demo_demand`` gives every show's true demand and samples its sales
day by day. This module rolls those sales up into a frame shaped like
``ticket_sales_daily`` (one channel, ``web``) for every UTC day before
``today``, and turns the catalog into the ``concerts``, ``venues`` and
``artists`` frames as the model assets would hold them, with their gaps:

- venues: capacity known for the ~90% the landing zone's reference file lists
  (the same draw as ``demo_sales._write_capacities``), else unknown;
- artists: ``artist_id`` the MusicBrainz id when known, else ``tm:<id>``;
  popularity and followers only where Spotify shows them (its Extended
  quota), genres Spotify's words, country MusicBrainz's (no pseudo-countries);
- concerts: Ticketmaster's two spellings of cancelled folded into one, the
  0-0 "price not set" placeholder and an unknown on-sale as missing.

The catalog's shows lie between anchor - 270 and anchor + 240 days
(``demo_catalog.PAST_DAYS``, ``FUTURE_DAYS``) and go on sale 14 to 180 days
before; with ``today`` at anchor + 200 most shows have finished and the rest
are upcoming with partial curves. The sales start on the first on-sale, so
every show's whole curve is in them. ``N_EVENTS`` is the demo catalog's count:
about 10.6 shows a day over those 510 days, as its 3,000 were over the 285
days it used to span, so the later shows are as many as before and more past
ones are there to learn from. Artists and venues stay in proportion to the
shows (the demo catalog has 300 and 150 for its 5,400).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from concert_platform.insights.curves import booking_curves, training_snapshots
from concert_platform.insights.model_features import with_features
from concert_platform.sources import demo_demand as dd
from concert_platform.sources.demo import DemoCatalog
from concert_platform.sources.demo_payloads import CITIES, genre_of
from concert_platform.transforms.sales_daily import DAILY_SALES_SCHEMA

ANCHOR = date(2026, 11, 1)
TODAY_AFTER_ANCHOR = 200
N_EVENTS = 5400
CHANNEL = "web"
_STATUS = {"canceled": "cancelled"}  # as transforms.ticketmaster folds Ticketmaster's spellings


@dataclass(frozen=True, eq=False)
class GeneratedWorld:
    """The platform's view of the world as of ``today`` (sales of the days before it), and the truth behind it."""

    catalog: DemoCatalog
    demand: dd.DemandWorld
    truth: pd.DataFrame  # dd.truth_frame: true demand, expected final, sold out, per dated show
    today: date
    daily: pd.DataFrame  # ticket_sales_daily as the warehouse hands it over (dates as datetime.date)
    concerts: pd.DataFrame
    venues: pd.DataFrame
    artists: pd.DataFrame


def generate_world(
    seed: int = 7, n_events: int = N_EVENTS, anchor: date = ANCHOR, today: date | None = None, history_days: int | None = None
) -> GeneratedWorld:
    """A catalog of ``n_events`` shows (fewer artists and venues in proportion) and its sales before ``today``:
    all of them, or those of the last ``history_days`` days, as `make run` seeds them (``today=anchor,
    history_days=300`` is its world)."""
    catalog = DemoCatalog(
        seed=seed, anchor=anchor, n_artists=max(30, n_events // 10), n_venues=max(len(CITIES), n_events // 20), n_events=n_events
    )
    world = dd.demand_world(catalog, seed)
    today = today or anchor + timedelta(days=TODAY_AFTER_ANCHOR)
    events = dd.dated_events(catalog)
    return GeneratedWorld(
        catalog=catalog,
        demand=world,
        truth=dd.truth_frame(world),
        today=today,
        daily=_daily(world, events, today, seed, history_days),
        concerts=_concerts(catalog),
        venues=_venues(catalog, seed),
        artists=_artists(catalog),
    )


def _daily(world: dd.DemandWorld, events: list, today: date, seed: int, history_days: int | None) -> pd.DataFrame:
    """Every UTC day from the first on-sale (or ``history_days`` before ``today``) to the day before ``today``,
    sampled as the landing-zone seeder would: what sold before the first day counts against capacity."""
    first = datetime.fromtimestamp(int(world.sale_start.min()), UTC).date()
    if history_days is not None:
        first = today - timedelta(days=history_days)
    sold = dd.sold_before(world, first)
    price = np.round([sum(dd.price_range(e)) / 2 for e in events], 2)
    currency = np.array([e.currency for e in events])
    parts = []
    for i in range((today - first).days):
        day = first + timedelta(days=i)
        sales = dd.sample_day(world, day, sold, np.random.default_rng([seed, day.toordinal()]))
        sold += sales.tickets
        shows = np.flatnonzero(sales.tickets)
        orders = np.bincount(sales.show, minlength=len(world))[shows]
        parts.append((np.full(len(shows), day.toordinal()), shows, orders, sales.tickets[shows]))
    ordinal, show, orders, tickets = (np.concatenate(column) for column in zip(*parts, strict=True))
    epoch = date(1970, 1, 1).toordinal()
    money = pa.decimal128(18, 4)
    table = pa.table(
        {
            "sale_date": pa.array((ordinal - epoch).astype("int32"), pa.date32()),
            "concert_id": world.ids[show],
            "channel": np.full(len(show), CHANNEL),
            "currency": currency[show],
            "orders": orders.astype("int64"),
            "tickets": tickets.astype("int64"),
            "gross_revenue": pa.array(tickets * price[show]).cast(money),
            "min_unit_price": pa.array(price[show]).cast(money),
            "max_unit_price": pa.array(price[show]).cast(money),
        }
    ).cast(DAILY_SALES_SCHEMA)
    return table.sort_by([("sale_date", "ascending"), ("concert_id", "ascending")]).to_pandas()


def _artist_id(artist) -> str:
    return artist.mbid or f"tm:{artist.tm_id}"


def _concerts(catalog: DemoCatalog) -> pd.DataFrame:
    rows = []
    for e in catalog.events:
        listed = e.price is not None and e.price[1] > 0
        rows.append(
            {
                "concert_id": e.id,
                "artist_id": _artist_id(e.headliner) if e.headliner else None,
                "venue_id": e.venue.id,
                "status": _STATUS.get(e.status, e.status),
                "local_date": e.local_date,
                "onsale_start": None if e.onsale_unknown else e.onsale_start,
                "price_min": e.price[0] if listed else None,
                "price_max": e.price[1] if listed else None,
                "currency": e.currency if listed else None,
            }
        )
    out = pd.DataFrame(rows)
    out["onsale_start"] = pd.to_datetime(out["onsale_start"], utc=True)
    return out


def _venues(catalog: DemoCatalog, seed: int) -> pd.DataFrame:
    listed = np.random.default_rng([seed, 0]).random(len(catalog.venues)) < 0.9
    return pd.DataFrame(
        {
            "venue_id": [v.id for v in catalog.venues],
            "name": [v.name for v in catalog.venues],
            "city": [v.city.strip() for v in catalog.venues],
            "country": [v.country_code for v in catalog.venues],
            "capacity": pd.array([v.capacity if keep else None for v, keep in zip(catalog.venues, listed, strict=True)], "Int64"),
        }
    )


def _artists(catalog: DemoCatalog) -> pd.DataFrame:
    rows = {}
    for a in catalog.artists:
        shown = a.spotify_id is not None and a.extended
        rows[_artist_id(a)] = {
            "artist_id": _artist_id(a),
            "name": a.name,
            "popularity": a.popularity if shown else None,
            "followers": a.followers if shown else None,
            "genres": list(genre_of(a.genre)[3]),
            "country": a.mb_country if a.mbid and a.mb_country not in (None, "XW") else None,
        }
    out = pd.DataFrame(list(rows.values()))
    return out.astype({"popularity": "Int64", "followers": "Int64"})


@dataclass(frozen=True, eq=False)
class Split:
    """What a model trained for ``cutoff`` may learn from, and the later shows it is held to.

    ``train``: shows played before the cutoff, as of every day 0..90 before the show, built from the
    sales before the cutoff only. ``test``: shows played from the cutoff to ``today``, as of the days
    in the horizon buckets that fall on or after the cutoff (a forecast made once the model exists),
    built from every sale before ``today``; their finals are known. Both carry the model features.
    """

    cutoff: date
    daily_before: pd.DataFrame  # the sales a model trained for the cutoff may see
    train: pd.DataFrame
    test: pd.DataFrame


def split(world: GeneratedWorld, cutoff: date) -> Split:
    daily_before = world.daily[pd.to_datetime(world.daily["sale_date"]) < pd.Timestamp(cutoff)]
    tables = (world.concerts, world.venues)
    train = training_snapshots(booking_curves(daily_before, world.concerts), *tables, cutoff)
    later = training_snapshots(booking_curves(world.daily, world.concerts), *tables, world.today)
    shown = pd.to_datetime(later["local_date"]) >= pd.Timestamp(cutoff)
    asked = (pd.to_datetime(later["as_of"]) >= pd.Timestamp(cutoff)) & later["horizon_days"].notna()
    test = later[(shown & asked).to_numpy()].reset_index(drop=True)
    return Split(
        cutoff=cutoff,
        daily_before=daily_before,
        train=with_features(train, world.concerts, world.venues, world.artists),
        test=with_features(test, world.concerts, world.venues, world.artists),
    )
