"""Sell-out watch: shows likely to sell out early, as candidates for an extra date or a higher price.

Watched: upcoming shows of known capacity, not cancelled or postponed (the
``concerts`` status), whose ``sellout_probability`` in ``concert_forecasts`` is
at least ``WATCH_PROBABILITY``.

Sell-out date. The forecast p50 is capped at capacity, so its path reaches
capacity at the show at the earliest; the date comes from the multiplicative
pickup instead (``baselines.MultiplicativePickup`` fitted on ``history``, the
finished shows' ``curves.training_snapshots``). Similar shows had sold 1 / R(d)
of their final by d days out, so a show with S sold D days out is on course for
S x R(D) / R(d), uncapped, by d days out. ``days_early`` is the furthest-out
d <= D where that reaches ``SOLD_OUT_AT`` x capacity (``sellout_date`` = show
date - d): days_to_show for a show already sold out, 0 (the show day) for one
whose path never gets there, when the model sees a sell-out the pickup does not.

Underpriced: watched, and more of the house sold than ``FAR_AHEAD`` (90%) of at
least ``MIN_COMPARABLES`` finished shows at a similar price had sold at the same
days to show. Similar price: the same size bucket and price band, the quartile
of the mid price ((price_min + price_max) / 2) among the finished shows of that
size bucket and currency (currencies do not compare), band 1 the cheapest.
Without a listed price or enough such shows a show is not underpriced; its
reason says which.

Recommendation, the first rule that holds:

- ``add_date``: sells out at least ``ADD_DATE_DAYS_EARLY`` days before the show:
  weeks of buyers turned away, more than a price rise absorbs, and time to sell a second night;
- ``raise_price``: underpriced: demand at this price outruns similar shows';
- ``watch``: otherwise: likely to sell out, but late and not shown to be underpriced.

Rows: by days early, then sell-out probability (both descending), then concert id.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from concert_platform.insights.baselines import MultiplicativePickup, size_bucket
from concert_platform.insights.curves import NOT_PLAYED
from concert_platform.insights.pace import MIN_COMPARABLES, days_to_go, expected_curves
from concert_platform.transforms.features import SOLD_OUT_AT

WATCH_PROBABILITY = 0.7
FAR_AHEAD = "sell_through_p90"  # the quantile of similar shows' sell-through an underpriced show is above
PRICE_QUANTILES = (0.25, 0.5, 0.75)  # band edges: quartiles
ADD_DATE_DAYS_EARLY = 14
WATCH_COLUMNS = {
    "concert_id": "str",
    "as_of": "object",
    "days_to_show": "int64",
    "capacity": "int64",
    "tickets_sold": "int64",
    "sellout_probability": "float64",
    "forecast_p50": "float64",
    "sellout_date": "object",
    "days_early": "int64",
    "price_band": "Int64",
    "comparable_shows": "int64",
    "similar_sell_through_p50": "float64",
    "similar_sell_through_p90": "float64",
    "underpriced": "bool",
    "recommendation": "str",
    "reason": "str",
}


def sellout_watch(
    forecasts: pd.DataFrame,
    history: pd.DataFrame,
    concerts: pd.DataFrame,
    min_probability: float = WATCH_PROBABILITY,
    min_comparables: int = MIN_COMPARABLES,
) -> pd.DataFrame:
    """The watched shows among ``forecasts`` (``concert_forecasts`` rows), earliest sell-outs first."""
    catalog = concerts.assign(concert_id=concerts["concert_id"].astype(str)).drop_duplicates("concert_id")
    status = catalog.set_index("concert_id")["status"]
    ids = forecasts["concert_id"].astype(str)
    watched = (forecasts["sellout_probability"] >= min_probability) & (forecasts["days_to_show"] >= 0)
    watched &= ~ids.map(status).isin(NOT_PLAYED) & (forecasts["capacity"].astype("Float64") > 0)
    keep = watched.fillna(False).to_numpy()
    # The ids as an array: assigning a Series to an empty frame would take the Series' rows (every show) instead.
    out = forecasts[keep].assign(concert_id=ids[keep].to_numpy()).reset_index(drop=True)
    out = out.astype({"capacity": "int64", "tickets_sold": "int64", "days_to_show": "int64"})
    out["days_early"] = _sellout_days(out, MultiplicativePickup.fit(history, min_comparables))
    out["sellout_date"] = [
        a + timedelta(days=int(d - e)) for a, d, e in zip(out["as_of"], out["days_to_show"], out["days_early"], strict=True)
    ]
    bands = _price_bands(history, out, concerts)
    priced = history.assign(price_band=history["concert_id"].astype(str).map(bands).astype("float64"))
    similar = expected_curves(priced, by=["price_band"])
    similar = similar[similar["comparable_shows"] >= min_comparables]
    out["size_bucket"] = size_bucket(out["capacity"]).to_numpy()
    out["price_band"] = out["concert_id"].map(bands).astype("float64")
    out = out.merge(similar, on=["size_bucket", "price_band", "days_to_show"], how="left")
    out["comparable_shows"] = out["comparable_shows"].fillna(0)
    out["similar_sell_through_p50"], out["similar_sell_through_p90"] = out["sell_through_p50"], out[FAR_AHEAD]
    out["underpriced"] = (out["tickets_sold"] / out["capacity"] > out[FAR_AHEAD]).fillna(False)
    out["recommendation"] = np.select(
        [out["days_early"] >= ADD_DATE_DAYS_EARLY, out["underpriced"]], ["add_date", "raise_price"], default="watch"
    )
    out["reason"] = [_reason(row) for row in out.itertuples()]
    out = out.sort_values(["days_early", "sellout_probability", "concert_id"], ascending=[False, False, True], ignore_index=True)
    return out[list(WATCH_COLUMNS)].astype(WATCH_COLUMNS)


def _sellout_days(shows: pd.DataFrame, pickup: MultiplicativePickup) -> np.ndarray:
    """Per show, the furthest-out day (<= its days to show) its pickup path reaches sold out; 0 when it never does."""
    days = shows["days_to_show"].to_numpy(dtype="int64")
    show = np.repeat(np.arange(len(shows)), days + 1)
    day = np.concatenate([np.arange(d, -1, -1) for d in days]) if len(days) else np.zeros(0, dtype="int64")
    ones = np.ones(len(show))  # R(d) is the pickup's projection of one ticket
    grid = pd.DataFrame({"tickets_sold_to_date": ones, "capacity": shows["capacity"].to_numpy()[show], "days_to_show": day})
    factor = pickup.project(grid)
    now = factor[np.searchsorted(show, np.arange(len(shows)))]  # each show's first grid row is its own day
    path = shows["tickets_sold"].to_numpy(dtype="float64")[show] * now[show] / factor
    reached = path >= SOLD_OUT_AT * grid["capacity"].to_numpy(dtype="float64")
    first = pd.Series(day[reached]).groupby(show[reached]).max()
    return first.reindex(range(len(shows)), fill_value=0).to_numpy(dtype="int64")


def _price_bands(history: pd.DataFrame, shows: pd.DataFrame, concerts: pd.DataFrame) -> pd.Series:
    """Concert id -> price band (1..4) for ``history``'s finished shows and ``shows``, by its size bucket and currency."""
    low, high = (pd.to_numeric(concerts[c], errors="coerce").astype("float64") for c in ("price_min", "price_max"))
    listed = (low > 0) & (high >= low)
    mid = ((low + high) / 2).where(listed).to_numpy()
    catalog = pd.DataFrame(
        {"concert_id": concerts["concert_id"].astype(str).to_numpy(), "mid": mid, "currency": concerts["currency"].to_numpy()}
    )
    finished = history[history["final_tickets"].notna()].drop_duplicates("concert_id")
    rows = pd.concat([finished[["concert_id", "capacity"]], shows[["concert_id", "capacity"]]]).drop_duplicates("concert_id")
    rows = rows.assign(concert_id=rows["concert_id"].astype(str), size=size_bucket(rows["capacity"]).to_numpy())
    rows = rows.merge(catalog.drop_duplicates("concert_id"), on="concert_id", how="left")
    rows["finished"] = rows["concert_id"].isin(finished["concert_id"].astype(str))
    edges = rows[rows["finished"]].groupby(["size", "currency"])["mid"].quantile(list(PRICE_QUANTILES))
    rows = rows.join(edges.unstack().reindex(columns=list(PRICE_QUANTILES)), on=["size", "currency"])
    band = 1 + sum((rows["mid"] > rows[q]).astype("float64") for q in PRICE_QUANTILES)
    return pd.Series(band.where(rows["mid"].notna() & rows[PRICE_QUANTILES[0]].notna()).to_numpy(), index=rows["concert_id"])


def _reason(row) -> str:
    if row.tickets_sold >= SOLD_OUT_AT * row.capacity:
        when = "already sold out"
    elif row.days_early:
        when = f"on course to sell out {row.days_early} day{'s' if row.days_early != 1 else ''} before the show, on {row.sellout_date}"
    else:
        when = f"on course to sell out on the show day, {row.sellout_date}"
    text = f"{row.sellout_probability:.0%} sell-out probability; sold {row.tickets_sold:,} of {row.capacity:,} {days_to_go(row.days_to_show)}, {when}"
    if np.isnan(row.price_band):
        return f"{text}; no price band to compare its pace in (no listed price, or no finished {row.size_bucket} shows in its currency)"
    band = f"{row.size_bucket} shows in price band {row.price_band:.0f} of {len(PRICE_QUANTILES) + 1}"
    if row.comparable_shows == 0:
        return f"{text}; too few finished {band} to compare its pace with"
    pace = "far ahead of" if row.underpriced else "not far ahead of"
    return (
        f"{text}; {pace} similar-priced shows: {row.tickets_sold / row.capacity:.0%} sold, where {row.comparable_shows:.0f} "
        f"finished {band} had sold {row.similar_sell_through_p50:.0%} (p90 {row.similar_sell_through_p90:.0%}) by now"
    )
