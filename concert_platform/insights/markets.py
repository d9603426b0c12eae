"""Market opportunities: per artist, the markets with strong demand signals where it has no upcoming show.

A market is a city and its country, as ``venues`` name them. Its size class is
the size bucket (``baselines.size_bucket``) of its largest venue of known
capacity: no source gives metro populations, and a city that holds an arena
draws like one. Sell-through is final tickets / capacity of FINISHED shows in
``concert_demand_features``: played (days to show below 0), not cancelled or
postponed, capacity known; an upcoming show's sell-through is no result yet.

Signals, per artist and market:

- ``artist_similar_market_sell_through``: the mean over the artist's finished
  shows in similar markets: the market itself, markets of the same country and
  markets of the same size class (an unknown class is like no other). Fewer than
  ``MIN_ARTIST_SHOWS`` such shows: missing.
- ``genre_market_sell_through``: the mean over finished shows in the market whose
  headliner's primary genre (the first listed, as in ``model_features``) is the
  artist's. Fewer than ``MIN_GENRE_SHOWS``: missing.
- ``popularity`` (0-100) and ``momentum`` (``features.artist_features``: tickets
  of the last 7 days + 1 over the 7 before + 1).

Score: ``WEIGHTS`` times each signal on a 0-1 scale: sell-through clipped to
0-1, popularity / 100, momentum as log2 clipped to -1..1 and mapped onto 0-1
(flat 0.5, doubling 1). A missing signal adds 0: no evidence is no demand. A
market with neither sell-through signal is no candidate: popularity and
momentum are the same in every market, so they cannot pick one.

Kept: markets scoring at least ``MIN_SCORE`` where the artist has no upcoming
show (not cancelled; a postponed show is still coming), the best
``MAX_MARKETS`` per artist. Rank 1 is the highest score, ties by city then
country; rows by artist then rank.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from concert_platform.insights.baselines import size_bucket
from concert_platform.insights.curves import NOT_PLAYED
from concert_platform.insights.model_features import primary_genre

MIN_ARTIST_SHOWS = 2
MIN_GENRE_SHOWS = 3
WEIGHTS = {"artist_similar_market_sell_through": 0.4, "genre_market_sell_through": 0.3, "popularity": 0.2, "momentum": 0.1}
MIN_SCORE = 0.5
MAX_MARKETS = 5
MARKET = ["city", "country"]
MARKET_COLUMNS = {
    "artist_id": "str",
    "city": "str",
    "country": "str",
    "rank": "int64",
    "score": "float64",
    "artist_similar_market_sell_through": "float64",
    "artist_similar_market_shows": "int64",
    "genre": "object",
    "genre_market_sell_through": "float64",
    "genre_market_shows": "int64",
    "popularity": "float64",
    "momentum": "float64",
    "reasons": "str",
}


def artist_market_opportunities(
    demand: pd.DataFrame,
    venues: pd.DataFrame,
    artists: pd.DataFrame,
    artist_stats: pd.DataFrame,
    min_score: float = MIN_SCORE,
    max_markets: int = MAX_MARKETS,
) -> pd.DataFrame:
    """``demand``: ``concert_demand_features``; ``artist_stats``: ``artist_features`` (popularity, momentum)."""
    places = venues[venues["city"].notna()]
    markets = places.assign(capacity=places["capacity"].astype("Float64")).groupby(MARKET, as_index=False)["capacity"].max()
    markets["size_class"] = size_bucket(markets["capacity"]).to_numpy()
    genre = artists.drop_duplicates("artist_id").set_index("artist_id")["genres"].map(primary_genre).astype(object)
    shows = demand[demand["artist_id"].notna()].merge(places[["venue_id", *MARKET]], on="venue_id")
    shows = shows.assign(genre=shows["artist_id"].map(genre).astype(object))
    played = (shows["days_to_show"] < 0) & ~shows["status"].isin(NOT_PLAYED) & shows["sell_through"].notna()
    finished = shows[played.fillna(False).to_numpy()].assign(sell_through=lambda f: f["sell_through"].astype("float64"))

    like = markets.merge(markets, how="cross", suffixes=("", "_played"))
    same_size = (like["size_class"] == like["size_class_played"]) & (like["size_class"] != "unknown")
    like = like[(like["country"] == like["country_played"]) | same_size]
    own = finished.rename(columns={"city": "city_played", "country": "country_played"})
    near = own.merge(like, on=["city_played", "country_played"]).groupby(["artist_id", *MARKET])["sell_through"]
    by_artist = _mean(near, "artist_similar_market", MIN_ARTIST_SHOWS)
    in_genre = _mean(finished.groupby(["genre", *MARKET])["sell_through"], "genre_market", MIN_GENRE_SHOWS)
    fans = genre.rename("genre").rename_axis("artist_id").reset_index().dropna().merge(in_genre, on="genre")
    out = by_artist.merge(fans.drop(columns="genre"), on=["artist_id", *MARKET], how="outer")

    booked = shows[((shows["days_to_show"] >= 0) & (shows["status"] != "cancelled")).fillna(False).to_numpy()]
    out = out.merge(booked[["artist_id", *MARKET]].drop_duplicates(), on=["artist_id", *MARKET], how="left", indicator=True)
    out = out[out["_merge"] == "left_only"].drop(columns="_merge")
    stats = artist_stats.drop_duplicates("artist_id").set_index("artist_id")
    out["genre"] = out["artist_id"].map(genre)
    for column in ("popularity", "momentum"):
        out[column] = pd.to_numeric(out["artist_id"].map(stats[column])).astype("float64")
    scaled = {
        "artist_similar_market_sell_through": out["artist_similar_market_sell_through"].clip(0, 1),
        "genre_market_sell_through": out["genre_market_sell_through"].clip(0, 1),
        "popularity": out["popularity"] / 100,
        "momentum": (np.log2(out["momentum"]).clip(-1, 1) + 1) / 2,
    }
    out["score"] = sum(weight * scaled[name].fillna(0.0) for name, weight in WEIGHTS.items())
    out = out[out["score"] >= min_score].sort_values(["artist_id", "score", *MARKET], ascending=[True, False, True, True])
    out["rank"] = out.groupby("artist_id").cumcount() + 1
    out = out[out["rank"] <= max_markets].reset_index(drop=True)
    for column in ("artist_similar_market_shows", "genre_market_shows"):
        out[column] = out[column].fillna(0)
    out["reasons"] = [_reasons(row) for row in out.itertuples()]
    return out[list(MARKET_COLUMNS)].astype(MARKET_COLUMNS)


def _mean(grouped, prefix: str, min_shows: int) -> pd.DataFrame:
    """The group means and counts, as ``<prefix>_sell_through`` and ``<prefix>_shows``, of groups with enough shows."""
    out = pd.DataFrame({f"{prefix}_sell_through": grouped.mean(), f"{prefix}_shows": grouped.size()})
    return out[out[f"{prefix}_shows"] >= min_shows].reset_index()


def _reasons(row) -> str:
    artist = (
        f"its {row.artist_similar_market_shows:.0f} finished shows in similar markets (same country or size class) "
        f"sold {row.artist_similar_market_sell_through:.0%} of capacity on average"
        if row.artist_similar_market_shows
        else "too few of its own finished shows in similar markets to judge"
    )
    genre = (
        f"{row.genre_market_shows:.0f} {row.genre} shows in {row.city} sold {row.genre_market_sell_through:.0%} of capacity on average"
        if row.genre_market_shows
        else f"too few {row.genre or 'same-genre'} shows in {row.city} to judge"
    )
    popularity = "popularity unknown" if np.isnan(row.popularity) else f"popularity {row.popularity:.0f}/100"
    momentum = (
        "momentum unknown" if np.isnan(row.momentum) else f"momentum {row.momentum:.2f} (last 7 days' tickets vs the 7 before)"
    )
    return f"{artist}; {genre}; {popularity}; {momentum}"
