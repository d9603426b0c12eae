"""Features behind the insight models, as pure pandas transforms.

Every function takes the model tables (and the daily sales roll-up) as
DataFrames plus the ``as_of`` date the features describe, and returns one row
per entity. No clock, no I/O: the same inputs give the same features.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

# Sell-through at which a show counts as sold out: not 1.0, since holds, kills and the records a partner file
# loses (about 1% rejected in the demo) leave a sold-out show's loaded count just under its capacity.
SOLD_OUT_AT = 0.97
VELOCITY_WINDOW_DAYS = 7
CHANNELS = ("web", "mobile", "box_office", "partner")


def concert_demand_features(concerts: pd.DataFrame, venues: pd.DataFrame, daily: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """One row per concert: sales so far, velocity, sell-through, days to show, price level."""
    as_of_ts = pd.Timestamp(as_of)
    sales = daily.assign(
        sale_date=pd.to_datetime(daily["sale_date"]),
        tickets=daily["tickets"].astype("int64"),
        gross_revenue=daily["gross_revenue"].astype("float64"),
    )
    sales = sales[sales["sale_date"] < as_of_ts]
    days_ago = (as_of_ts - sales["sale_date"]).dt.days
    recent = days_ago <= VELOCITY_WINDOW_DAYS
    previous = (days_ago > VELOCITY_WINDOW_DAYS) & (days_ago <= 2 * VELOCITY_WINDOW_DAYS)
    sales = sales.assign(
        tickets_recent=sales["tickets"].where(recent, 0),
        tickets_previous=sales["tickets"].where(previous, 0),
    )
    per_concert = sales.groupby("concert_id").agg(
        tickets_sold=("tickets", "sum"),
        orders=("orders", "sum"),
        gross_revenue=("gross_revenue", "sum"),
        sales_currency=("currency", "first"),
        first_sale_date=("sale_date", "min"),
        last_sale_date=("sale_date", "max"),
        selling_days=("sale_date", "nunique"),
        tickets_last_7d=("tickets_recent", "sum"),
        tickets_prev_7d=("tickets_previous", "sum"),
    )
    channel_tickets = sales.pivot_table(index="concert_id", columns="channel", values="tickets", aggfunc="sum", fill_value=0)
    for channel in CHANNELS:
        share = channel_tickets[channel] if channel in channel_tickets else pd.Series(dtype="float64")
        per_concert[f"share_{channel}"] = (share / per_concert["tickets_sold"]).reindex(per_concert.index)

    capacity = venues.set_index("venue_id")["capacity"]
    base = concerts[
        ["concert_id", "artist_id", "venue_id", "status", "local_date", "onsale_start", "price_min", "price_max", "currency"]
    ]
    out = base.merge(per_concert, left_on="concert_id", right_index=True, how="left")
    counts = ["tickets_sold", "orders", "selling_days", "tickets_last_7d", "tickets_prev_7d"]
    out[counts] = out[counts].fillna(0).astype("int64")
    out["gross_revenue"] = out["gross_revenue"].fillna(0.0)
    out["capacity"] = out["venue_id"].map(capacity).astype("Float64")
    out["velocity_7d"] = out["tickets_last_7d"] / VELOCITY_WINDOW_DAYS
    out["velocity_change"] = (out["tickets_last_7d"] - out["tickets_prev_7d"]) / VELOCITY_WINDOW_DAYS
    out["sell_through"] = (out["tickets_sold"] / out["capacity"]).astype("Float64")
    out["remaining_capacity"] = (out["capacity"] - out["tickets_sold"]).clip(lower=0)
    out["sold_out"] = (out["sell_through"] >= SOLD_OUT_AT).fillna(False).astype(bool)
    show_day = pd.to_datetime(out["local_date"])
    out["days_to_show"] = (show_day - as_of_ts).dt.days.astype("Int64")
    onsale = pd.to_datetime(out["onsale_start"], utc=True).dt.tz_localize(None).dt.normalize()
    out["days_on_sale"] = (as_of_ts - onsale).dt.days.clip(lower=0).astype("Int64")
    remaining_days = out["days_to_show"].clip(lower=0).astype("Float64")
    out["projected_sell_through"] = ((out["tickets_sold"] + out["velocity_7d"] * remaining_days) / out["capacity"]).clip(
        upper=1.0
    )
    out["avg_ticket_price"] = (out["gross_revenue"] / out["tickets_sold"].replace(0, np.nan)).astype("Float64")
    low, high = out["price_min"].astype("Float64"), out["price_max"].astype("Float64")
    spread = (high - low).where(high > low)
    out["price_level"] = ((out["avg_ticket_price"] - low) / spread).clip(0, 1)
    out["as_of"] = as_of
    return out.drop(columns=["onsale_start", "price_min", "price_max", "sales_currency"]).reset_index(drop=True)


def artist_features(artists: pd.DataFrame, venues: pd.DataFrame, demand: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """One row per artist (as headliner): touring footprint, demand so far and momentum."""
    shows = demand[demand["artist_id"].notna()].rename(columns={"artist_id": "headliner"})
    shows = shows.merge(venues[["venue_id", "country"]], on="venue_id", how="left")
    upcoming = (shows["days_to_show"] >= 0) & (shows["status"] != "cancelled")
    per_artist = (
        shows.assign(upcoming=upcoming, cancelled=shows["status"] == "cancelled")
        .groupby("headliner")
        .agg(
            concerts=("concert_id", "count"),
            upcoming_concerts=("upcoming", "sum"),
            cancelled_concerts=("cancelled", "sum"),
            venues=("venue_id", "nunique"),
            countries=("country", "nunique"),
            tickets_sold=("tickets_sold", "sum"),
            tickets_last_7d=("tickets_last_7d", "sum"),
            tickets_prev_7d=("tickets_prev_7d", "sum"),
            avg_sell_through=("sell_through", "mean"),
            sold_out_concerts=("sold_out", "sum"),
        )
    )
    base = artists[["artist_id", "name", "popularity", "followers", "match_method"]]
    out = base.merge(per_artist, left_on="artist_id", right_index=True, how="left")
    counts = [
        "concerts",
        "upcoming_concerts",
        "cancelled_concerts",
        "venues",
        "countries",
        "tickets_sold",
        "tickets_last_7d",
        "tickets_prev_7d",
        "sold_out_concerts",
    ]
    out[counts] = out[counts].fillna(0).astype("int64")
    out["avg_sell_through"] = out["avg_sell_through"].astype("Float64")
    out["cancel_rate"] = (out["cancelled_concerts"] / out["concerts"].replace(0, np.nan)).astype("Float64")
    # Momentum > 1 means this week sold more than last week; +1 keeps new acts finite.
    out["momentum"] = (out["tickets_last_7d"] + 1) / (out["tickets_prev_7d"] + 1)
    out["as_of"] = as_of
    return out.reset_index(drop=True)


def venue_features(venues: pd.DataFrame, demand: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """One row per venue: how full it gets, how often it sells out, what tickets cost there."""
    upcoming = (demand["days_to_show"] >= 0) & (demand["status"] != "cancelled")
    per_venue = (
        demand.assign(upcoming=upcoming)
        .groupby("venue_id")
        .agg(
            concerts=("concert_id", "count"),
            upcoming_concerts=("upcoming", "sum"),
            tickets_sold=("tickets_sold", "sum"),
            gross_revenue=("gross_revenue", "sum"),
            avg_sell_through=("sell_through", "mean"),
            sold_out_concerts=("sold_out", "sum"),
            tickets_last_7d=("tickets_last_7d", "sum"),
        )
    )
    base = venues[["venue_id", "name", "city", "country", "capacity"]]
    out = base.merge(per_venue, left_on="venue_id", right_index=True, how="left")
    counts = ["concerts", "upcoming_concerts", "tickets_sold", "sold_out_concerts", "tickets_last_7d"]
    out[counts] = out[counts].fillna(0).astype("int64")
    out["gross_revenue"] = out["gross_revenue"].fillna(0.0)
    out["avg_sell_through"] = out["avg_sell_through"].astype("Float64")
    out["sellout_rate"] = (out["sold_out_concerts"] / out["concerts"].replace(0, np.nan)).astype("Float64")
    out["avg_ticket_price"] = (out["gross_revenue"] / out["tickets_sold"].replace(0, np.nan)).astype("Float64")
    out["as_of"] = as_of
    return out.reset_index(drop=True)
