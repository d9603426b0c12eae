"""What every forecast of final tickets must respect, whichever model made it.

A show cannot end with fewer tickets than it has already sold, and (where the
venue's capacity is known) it cannot sell more than capacity. When the two
disagree (a show oversold past its listed capacity) tickets sold win: they
are a fact, the capacity figure is reference data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

QUANTILE_COLUMNS = ["forecast_p10", "forecast_p50", "forecast_p90"]


def bounded(values: np.ndarray | pd.Series, snapshots: pd.DataFrame) -> np.ndarray:
    """``values`` (one per snapshot row) capped at capacity where known, never below tickets sold to date."""
    sold = snapshots["tickets_sold_to_date"].to_numpy(dtype="float64")
    capacity = snapshots["capacity"].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    capped = np.fmin(np.asarray(values, dtype="float64"), capacity)  # fmin: an unknown capacity caps nothing
    return np.maximum(capped, sold)


def bounded_quantiles(p10: np.ndarray, p50: np.ndarray, p90: np.ndarray, snapshots: pd.DataFrame) -> pd.DataFrame:
    """The three quantile columns, each bounded, and ordered p10 <= p50 <= p90 by widening only.

    Bounding is monotone, so it keeps an order the inputs had; the widening
    mends inputs that crossed (a quantile model's p10 above its p50), and
    moving an interval's ends outwards can only raise its coverage.
    """
    mid = bounded(p50, snapshots)
    low = np.minimum(bounded(p10, snapshots), mid)
    high = np.maximum(bounded(p90, snapshots), mid)
    return pd.DataFrame(dict(zip(QUANTILE_COLUMNS, (low, mid, high), strict=True)), index=snapshots.index)
