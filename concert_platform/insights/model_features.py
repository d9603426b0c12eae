"""The features the forecast and sell-out models learn from, and the matrix they are fed.

``with_features`` adds the feature columns to snapshot rows (``curves.snapshots``
or ``curves.training_snapshots``): training, backtests and scoring all call it,
so a model is scored on exactly what it was trained on. It is a pure function
of its inputs: sales features come from the snapshot itself (sales before its
as-of date), everything else from the catalog (``concerts``, ``venues``,
``artists``), which holds no sales.

Relative prices are catalog statistics: a show's mid price against the median
mid price of the shows listed at its venue (one venue, one currency), and that
ratio against the act's usual ratio. They are taken over the ``concerts`` frame
given, so training and scoring must be handed the same catalog (the assets
hand over the ``concerts`` table whole).

``FeatureEncoder`` turns the feature columns into the float matrix the
gradient boosting models take: numbers as they are (missing as NaN, which the
models route on their own), categories as codes of the values seen in
training (an unseen value is missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import pandas as pd

from concert_platform.insights.baselines import size_bucket

NUMERIC_FEATURES = [
    "days_to_show",
    "days_on_sale",
    "sale_window_days",  # on-sale to show: a short sale packs its opening rush into the horizon
    "tickets_sold_to_date",
    "log_tickets_sold",
    "sell_through_to_date",
    "tickets_last_7d",
    "sell_through_last_7d",
    "last_7d_share",  # the last week's share of all tickets sold: pace
    "log_capacity",
    "price_vs_venue",
    "price_vs_act",
    "price_spread",
    "popularity",
    "log_followers",
    "home_country",
]
CATEGORICAL_FEATURES = ["size_bucket", "primary_genre", "city", "weekday"]
FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES
# What the catalog alone says about a concert (``concert_features``).
CATALOG_FEATURES = [
    "price_vs_venue",
    "price_vs_act",
    "price_spread",
    "popularity",
    "log_followers",
    "home_country",
    "primary_genre",
    "city",
]
# What depends on the venue's capacity: left out of the model for shows whose capacity is unknown.
CAPACITY_FEATURES = ["log_capacity", "sell_through_to_date", "sell_through_last_7d", "size_bucket"]
MAX_CATEGORIES = 250  # the most frequent values a category keeps; HistGradientBoosting takes fewer than 255


def with_features(snapshots: pd.DataFrame, concerts: pd.DataFrame, venues: pd.DataFrame, artists: pd.DataFrame) -> pd.DataFrame:
    """``snapshots`` with the ``FEATURES`` columns it lacks added, on the same index (its own columns untouched)."""
    out = snapshots.copy()
    catalog = concert_features(concerts, venues, artists).reindex(out["concert_id"].astype(str).to_numpy())
    sold = _floats(out["tickets_sold_to_date"])
    last_week = _floats(out["tickets_last_7d"])
    seats = _floats(out["capacity"])
    seats = np.where(seats > 0, seats, np.nan)
    out["sale_window_days"] = _floats(out["days_on_sale"]) + _floats(out["days_to_show"])
    out["log_tickets_sold"] = np.log1p(sold)
    out["sell_through_last_7d"] = last_week / seats
    out["last_7d_share"] = last_week / np.where(sold > 0, sold, np.nan)
    out["log_capacity"] = np.log(seats)
    buckets = size_bucket(out["capacity"])
    out["size_bucket"] = buckets.where(buckets != "unknown", None).to_numpy()
    for column in CATALOG_FEATURES:
        out[column] = catalog[column].to_numpy()
    out["weekday"] = pd.to_datetime(out["local_date"]).dt.day_name().to_numpy()
    return out


def concert_features(concerts: pd.DataFrame, venues: pd.DataFrame, artists: pd.DataFrame) -> pd.DataFrame:
    """One row per concert (indexed by ``concert_id``): what the catalog says about it, with no sales."""
    venue = venues.drop_duplicates("venue_id").set_index("venue_id")
    artist = artists.drop_duplicates("artist_id").set_index("artist_id")
    frame = pd.DataFrame(
        {
            "concert_id": concerts["concert_id"].astype(str).to_numpy(),
            "artist_id": concerts["artist_id"].to_numpy(),
            "venue_id": concerts["venue_id"].to_numpy(),
            "low": _floats(concerts["price_min"]),
            "high": _floats(concerts["price_max"]),
        }
    )
    listed = (frame["low"] > 0) & (frame["high"] >= frame["low"])  # 0-0 and inverted ranges are no price
    mid = ((frame["low"] + frame["high"]) / 2).where(listed)
    venue_mid = mid.groupby(frame["venue_id"]).transform("median")
    frame["price_vs_venue"] = np.log(mid / venue_mid)
    act_usual = frame["price_vs_venue"].groupby(frame["artist_id"]).transform("median")  # festivals: NaN
    frame["price_vs_act"] = frame["price_vs_venue"] - act_usual
    frame["price_spread"] = np.log(frame["high"] / frame["low"]).where(listed)
    frame["popularity"] = _floats(frame["artist_id"].map(artist["popularity"]))
    followers = _floats(frame["artist_id"].map(artist["followers"]))
    frame["log_followers"] = np.log10(np.where(followers >= 0, followers, np.nan) + 1)
    frame["primary_genre"] = frame["artist_id"].map(artist["genres"].map(primary_genre)).astype(object)
    frame["city"] = frame["venue_id"].map(venue["city"]).astype(object)
    home, country = frame["artist_id"].map(artist["country"]), frame["venue_id"].map(venue["country"])
    frame["home_country"] = (home == country).astype("float64").where(home.notna() & country.notna())
    out = frame.drop_duplicates("concert_id").set_index("concert_id")[CATALOG_FEATURES]
    return out.astype({c: "float64" for c in CATALOG_FEATURES if c not in CATEGORICAL_FEATURES})


@dataclass(frozen=True)
class FeatureEncoder:
    """The feature matrix: numbers as floats, categories as codes of the values seen when fitted."""

    columns: tuple[str, ...]
    vocabularies: dict[str, tuple[str, ...]]  # categorical column -> values in code order

    @classmethod
    def fit(cls, frame: pd.DataFrame, columns: list[str] = FEATURES) -> Self:
        """The encoder of ``columns`` as ``frame`` holds them; a column without a single value there is left out."""
        kept, vocabularies = [], {}
        for column in columns:
            if column in CATEGORICAL_FEATURES:
                counts = _labels(frame[column]).dropna().value_counts()
                # most frequent first, ties by value: the same data gives the same codes
                ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_CATEGORIES]
                if ranked:
                    vocabularies[column] = tuple(sorted(value for value, _ in ranked))
                    kept.append(column)
            elif np.isfinite(_floats(frame[column])).any():  # HistGradientBoosting cannot bin an all-missing column
                kept.append(column)
        return cls(tuple(kept), vocabularies)

    @property
    def categorical_mask(self) -> np.ndarray:
        return np.array([c in self.vocabularies for c in self.columns])

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The rows of ``frame`` as a float matrix, one column per encoded feature."""
        missing = [c for c in self.columns if c not in frame]
        if missing:
            raise KeyError(f"feature columns missing (build the frame with with_features): {missing}")
        out = np.empty((len(frame), len(self.columns)))
        for j, column in enumerate(self.columns):
            if column in self.vocabularies:
                codes = {value: float(i) for i, value in enumerate(self.vocabularies[column])}
                out[:, j] = _labels(frame[column]).map(codes).to_numpy(dtype="float64", na_value=np.nan)
            else:
                out[:, j] = _floats(frame[column])
        return out


def _labels(values: pd.Series) -> pd.Series:
    """Category values as strings, missing as None."""
    return values.astype(object).where(values.notna(), None).map(lambda v: None if v is None else str(v))


def primary_genre(genres) -> str | None:
    """The first of an artist's genres (the identity resolution ranks them), None when it has none."""
    if isinstance(genres, str):
        return genres or None
    if genres is None or (isinstance(genres, float) and np.isnan(genres)) or len(genres) == 0:
        return None
    return str(genres[0])


def _floats(values) -> np.ndarray:
    return pd.to_numeric(pd.Series(values), errors="coerce").astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
