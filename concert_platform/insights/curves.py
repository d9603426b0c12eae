"""Booking curves and the snapshots the forecasters learn from and predict on.

A booking curve is a concert's cumulative tickets by days before the show. A
snapshot is a concert's state as of a date, built ONLY from sales with
``sale_date < as_of`` (the as-of day itself is not over yet), together with
the training target ``final_tickets`` when the show was played before the
date the snapshot is allowed to know about.

Only a show whose whole sale window lies within the loaded sales is an
example (``covered_shows``): the loaded sales start on a first day F, and a
show on sale before F lost its earlier sales, so its final tickets and its
tickets sold to date are understated. Such a show is still forecast (its
count is a lower bound), but it teaches nothing and is scored against nothing.

Sold-out shows are censored: their final tickets are capacity, their demand
is only known to be at least that. ``censored`` marks them (the same
threshold as ``transforms.features.SOLD_OUT_AT``), and it is also the label
of the sell-out models. Dates in every frame are ``datetime.date`` objects,
as in the feature tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import numpy as np
import pandas as pd

from concert_platform.insights.horizons import MAX_DAYS_OUT, horizon_bucket
from concert_platform.transforms.features import SOLD_OUT_AT, VELOCITY_WINDOW_DAYS

# Shows in these states were not played on their local_date, so their sales are no final demand.
NOT_PLAYED = ("cancelled", "postponed")
CURVE_COLUMNS = ["concert_id", "sale_date", "days_before", "tickets", "cum_tickets"]
SNAPSHOT_COLUMNS = [
    "concert_id",
    "artist_id",
    "venue_id",
    "status",
    "local_date",
    "as_of",
    "days_to_show",
    "horizon_days",
    "days_on_sale",
    "capacity",
    "tickets_sold_to_date",
    "tickets_last_7d",
    "last_sale_date",
    "sell_through_to_date",
    "final_tickets",
    "censored",
]


def booking_curves(daily: pd.DataFrame, concerts: pd.DataFrame) -> pd.DataFrame:
    """One row per concert and sale day up to the show: tickets that day (all channels) and cumulative."""
    sales = daily.reindex(columns=["concert_id", "sale_date", "tickets"])
    sales = sales.assign(concert_id=sales["concert_id"].astype(str), sale_date=_day(sales["sale_date"]))
    per_day = sales.groupby(["concert_id", "sale_date"], as_index=False)["tickets"].sum()
    dated = concerts[concerts["local_date"].notna()]
    show = _day(dated["local_date"])
    shows = pd.DataFrame({"concert_id": dated["concert_id"].astype(str), "show": show, "last": _last_sale_day(dated, show)})
    out = per_day.merge(shows, on="concert_id")  # sales of unknown or undated concerts have no curve
    # A sale dated after the show (late settlement, a data error) is no demand for it.
    out = out[out["sale_date"] <= out["last"]].sort_values(["concert_id", "sale_date"], ignore_index=True)
    out["days_before"] = (out["show"] - out["sale_date"]).dt.days.clip(lower=0).astype("int64")
    out["tickets"] = out["tickets"].astype("int64")
    out["cum_tickets"] = out.groupby("concert_id")["tickets"].cumsum().astype("int64")
    out["sale_date"] = _dates(out["sale_date"])
    return out[CURVE_COLUMNS]


def covered_shows(curves: pd.DataFrame, concerts: pd.DataFrame) -> set[str]:
    """The ids of ``concerts`` whose whole sale window lies within the loaded sales.

    ``curves``: ``booking_curves``, or any frame of ``concert_id`` and ``sale_date`` (the daily table).
    F is its first sale day. A show is covered when its public on-sale (UTC day) is on
    or after F; with its on-sale unknown, when its first sale day is after F (one first seen on F may
    have sold before it; one never seen may have sold only before it). No sales: nothing is covered.
    """
    sale_day = _day(curves["sale_date"])
    if sale_day.dropna().empty:
        return set()
    first_loaded = sale_day.min()
    first_sold = sale_day.groupby(curves["concert_id"].astype(str).to_numpy()).min()
    ids = concerts["concert_id"].astype(str)
    onsale = _utc_day(concerts["onsale_start"])
    seen_from = ids.map(first_sold)
    covered = (onsale >= first_loaded) | (onsale.isna() & (seen_from > first_loaded))
    return set(ids[covered.to_numpy()])


def snapshots(curves: pd.DataFrame, concerts: pd.DataFrame, venues: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Every dated concert as of ``as_of``; ``final_tickets`` only for shows played before it."""
    shows = _shows(concerts, venues)
    return _state(curves, shows.assign(as_of=pd.Timestamp(as_of)), pd.Timestamp(as_of))


def training_snapshots(
    curves: pd.DataFrame,
    concerts: pd.DataFrame,
    venues: pd.DataFrame,
    cutoff: date,
    days_before: Iterable[int] = range(MAX_DAYS_OUT + 1),
) -> pd.DataFrame:
    """Covered shows played before ``cutoff``, each as of every ``days_before`` its show, with its final tickets.

    Everything a row holds (features and target) comes from sales before the
    cutoff, so a model fitted on these for cutoff C has seen nothing of C or later.
    A show on sale before the first loaded sale day is left out (``covered_shows``).
    """
    shows = _shows(concerts, venues)
    finished = shows[_played_before(shows, pd.Timestamp(cutoff)) & shows["concert_id"].isin(covered_shows(curves, concerts))]
    offsets = np.asarray(list(days_before), dtype="int64")
    points = finished.loc[finished.index.repeat(len(offsets))].reset_index(drop=True)
    points["as_of"] = points["show"] - pd.to_timedelta(np.tile(offsets, len(finished)), unit="D")
    return _state(curves, points, pd.Timestamp(cutoff))


def uncovered_finished(curves: pd.DataFrame, concerts: pd.DataFrame, cutoff: date) -> list[str]:
    """The shows played before ``cutoff`` that ``training_snapshots`` leaves out as not covered, sorted."""
    dated = concerts[concerts["local_date"].notna()]
    shows = pd.DataFrame(
        {"concert_id": dated["concert_id"].astype(str), "show": _day(dated["local_date"]), "status": dated["status"]}
    )
    played = shows.loc[_played_before(shows, pd.Timestamp(cutoff)), "concert_id"]
    return sorted(set(played) - covered_shows(curves, concerts))


def _shows(concerts: pd.DataFrame, venues: pd.DataFrame) -> pd.DataFrame:
    dated = concerts[concerts["local_date"].notna()]
    capacity = venues.set_index("venue_id")["capacity"]
    onsale = _utc_day(dated["onsale_start"])
    return pd.DataFrame(
        {
            "concert_id": dated["concert_id"].astype(str),
            "artist_id": dated["artist_id"],
            "venue_id": dated["venue_id"],
            "status": dated["status"],
            "show": _day(dated["local_date"]),
            "onsale": onsale,
            "capacity": pd.to_numeric(dated["venue_id"].map(capacity)).astype("Int64"),
        }
    ).reset_index(drop=True)


def _played_before(shows: pd.DataFrame, moment: pd.Timestamp) -> pd.Series:
    return (shows["show"] < moment) & ~shows["status"].isin(NOT_PLAYED)


def _state(curves: pd.DataFrame, points: pd.DataFrame, label_before: pd.Timestamp) -> pd.DataFrame:
    """Each (concert, as_of) point's sales strictly before its as_of; its target when played before ``label_before``."""
    cum = pd.DataFrame(
        {"concert_id": curves["concert_id"].astype(str), "sale_at": _day(curves["sale_date"]), "cum": curves["cum_tickets"]}
    ).sort_values("sale_at")
    points = points.assign(as_of=points["as_of"].astype("datetime64[ns]"))
    points["week_start"] = points["as_of"] - pd.Timedelta(days=VELOCITY_WINDOW_DAYS)
    before = _cum_before(points, cum, "as_of")
    week_before = _cum_before(points, cum, "week_start")
    finals = cum.groupby("concert_id")["cum"].max()
    out = points.reset_index(drop=True)
    out["tickets_sold_to_date"] = before["cum"].fillna(0).astype("int64")
    out["tickets_last_7d"] = out["tickets_sold_to_date"] - week_before["cum"].fillna(0).astype("int64")
    out["last_sale_date"] = _dates(before["sale_at"])
    out["days_to_show"] = (out["show"] - out["as_of"]).dt.days.astype("int64")
    out["horizon_days"] = horizon_bucket(out["days_to_show"])
    out["days_on_sale"] = (out["as_of"] - out["onsale"]).dt.days.clip(lower=0).astype("Int64")
    out["sell_through_to_date"] = (out["tickets_sold_to_date"] / out["capacity"]).astype("Float64")
    played = _played_before(out, label_before)
    final = out["concert_id"].map(finals).fillna(0).astype("Int64")  # a played show without sales sold none
    out["final_tickets"] = final.where(played, pd.NA)
    out["censored"] = (out["final_tickets"] >= SOLD_OUT_AT * out["capacity"]).astype("boolean")
    out["local_date"] = _dates(out["show"])
    out["as_of"] = _dates(out["as_of"])
    return out[SNAPSHOT_COLUMNS].sort_values(["concert_id", "as_of"], ignore_index=True)


def _cum_before(points: pd.DataFrame, cum: pd.DataFrame, moment: str) -> pd.DataFrame:
    """The cumulative tickets of the last sale day strictly before each point's ``moment``, in the points' order."""
    keyed = points[["concert_id", moment]].reset_index(drop=True).rename_axis("row").reset_index()
    joined = pd.merge_asof(
        keyed.sort_values(moment),
        cum,
        left_on=moment,
        right_on="sale_at",
        by="concert_id",
        allow_exact_matches=False,  # a sale on the moment itself is not before it
        direction="backward",
    )
    return joined.set_index("row").sort_index()[["sale_at", "cum"]]


def _last_sale_day(concerts: pd.DataFrame, show: pd.Series) -> pd.Series:
    """The last UTC sale day of each show: its local date, or the UTC date of its start when later.

    Sale days are UTC dates: an evening show in the Americas starts on the next UTC day, and the
    tickets sold in its last hours are dated then; they count as sold on the show's day."""
    if "starts_at" not in concerts:
        return show
    starts = pd.to_datetime(concerts["starts_at"], utc=True).dt.tz_localize(None).dt.normalize()
    return show.where(starts.isna() | (starts <= show), starts).astype("datetime64[ns]")


def _utc_day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True).dt.tz_localize(None).dt.normalize().astype("datetime64[ns]")


def _day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).astype("datetime64[ns]")


def _dates(values: pd.Series) -> pd.Series:
    return values.dt.date.astype(object).where(values.notna(), None)
