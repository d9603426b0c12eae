"""Horizon buckets: how far before the show a forecast is made.

Forecasts are scored per bucket, not per day: a few shows per exact day are
too noisy to compare models on. Each bucket is named for the horizon a
promoter asks about (60, 30, 14, 7 and 1 days out) and holds the days closer
to it than to its neighbours, the edges near the geometric midpoints
(sqrt(1*7) ~ 2.6, sqrt(7*14) ~ 9.9, sqrt(14*30) ~ 20.5, sqrt(30*60) ~ 42),
because booking curves change on a log scale of time, not a linear one:

    horizon_days   days to show (inclusive)
    1              0 - 3
    7              4 - 10
    14             11 - 21
    30             22 - 45
    60             46 - 90

Days to show outside 0..90 belong to no bucket (NA): past shows, and shows
so far out that sales have hardly started.
"""

from __future__ import annotations

import pandas as pd

HORIZON_BUCKETS: dict[int, tuple[int, int]] = {1: (0, 3), 7: (4, 10), 14: (11, 21), 30: (22, 45), 60: (46, 90)}
HORIZONS: tuple[int, ...] = tuple(sorted(HORIZON_BUCKETS, reverse=True))  # 60, 30, 14, 7, 1: the order reports use
MAX_DAYS_OUT = max(high for _, high in HORIZON_BUCKETS.values())


def horizon_bucket(days_to_show: pd.Series) -> pd.Series:
    """The horizon bucket (1, 7, 14, 30 or 60) of each number of days to show; NA outside 0..90."""
    days = pd.to_numeric(days_to_show).astype("Float64")
    out = pd.Series(pd.NA, index=days_to_show.index, dtype="Int64")
    for label, (low, high) in HORIZON_BUCKETS.items():
        out = out.mask(((days >= low) & (days <= high)).fillna(False), label)
    return out
