"""Pace alerts: upcoming shows selling behind or ahead of similar finished shows at the same days to show.

The expected curve (``expected_curves``) is what finished shows of the same
venue-size bucket (``baselines.size_bucket``) had sold by each number of days
before their show, as a share of their capacity: the quantiles of that share
per (size bucket, days to show) cell, over ``curves.training_snapshots`` rows,
which count sales strictly before each as-of day as an upcoming show's own
snapshot does. Capacity, not final tickets, is the scale: an upcoming show's
final is what is being forecast, its capacity is known, so "similar shows had
sold 42% of the house by now" compares shows of different sizes without
guessing anything. The expected tickets are the cell's median share times the
show's capacity. The history is of covered shows only (``curves.covered_shows``,
as ``training_snapshots`` keeps them): a show on sale before the first loaded
sale day would pull the expectation down with sales that were never loaded.

A show is flagged when both hold:

- its tickets sold are outside the middle half (p25-p75) of its similar shows'
  at this day: it is unusual among them, not merely off their median;
- the gap to the median is at least ``MIN_GAP_HALF_WIDTHS`` half-widths of its
  forecast interval, (p90 - p10) / 2 from ``concert_forecasts``: a gap smaller
  than the forecast's own uncertainty is noise the forecast already allows for.

Severity rank 1 is the largest gap in interval units (then in tickets, then by
concert id), behind and ahead ranked together.

Never flagged, whatever their pace: past, cancelled and postponed shows (a
postponed show's date is not the one it sold for); shows not covered, on sale
before the first loaded sale day (their tickets sold leave out what was sold
before it: behind could be an artefact of the load, ahead is understated and
its gap would rank it wrongly, so they are not compared at all and are left
to the forecasts, which still cover them); shows of unknown capacity;
shows whose cell has fewer than ``MIN_COMPARABLES`` finished shows (sizes are
not pooled: a club's curve says nothing about an arena's), which includes every
show further out than the history's days before the show (``MAX_DAYS_OUT``
when built with the default); and shows without a forecast or with a zero-width
interval (a sold-out show's), whose gap has no interval units.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

from concert_platform.insights.baselines import MIN_SHOWS, size_bucket
from concert_platform.insights.curves import NOT_PLAYED

MIN_COMPARABLES = MIN_SHOWS  # the baselines' bar for "enough similar shows" in a cell
MIN_GAP_HALF_WIDTHS = 1.0
QUANTILES = {"sell_through_p25": 0.25, "sell_through_p50": 0.5, "sell_through_p75": 0.75, "sell_through_p90": 0.9}
PACE_COLUMNS = {
    "concert_id": "str",
    "as_of": "object",
    "days_to_show": "int64",
    "size_bucket": "str",
    "capacity": "int64",
    "tickets_sold": "int64",
    "comparable_shows": "int64",
    "expected_tickets": "float64",
    "expected_p25": "float64",
    "expected_p75": "float64",
    "gap_tickets": "float64",
    "gap_in_interval_units": "float64",
    "direction": "str",
    "severity_rank": "int64",
    "reason": "str",
}


def expected_curves(history: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Per (size bucket, *by, days to show): finished shows of known capacity, quantiles of the share of it sold by then.

    Rows with a missing ``by`` value belong to no cell.
    """
    rows = history[history["final_tickets"].notna().to_numpy() & (_floats(history["capacity"]) > 0)]
    frame = pd.DataFrame(
        {
            "size_bucket": size_bucket(rows["capacity"]).to_numpy(),
            **{column: rows[column].to_numpy() for column in by},
            "days_to_show": rows["days_to_show"].to_numpy(dtype="int64"),
            "sell_through": rows["tickets_sold_to_date"].to_numpy(dtype="float64") / _floats(rows["capacity"]),
        }
    )
    grouped = frame.groupby(["size_bucket", *by, "days_to_show"])["sell_through"]
    cells = pd.concat({name: grouped.quantile(q) for name, q in QUANTILES.items()}, axis=1)
    return cells.assign(comparable_shows=grouped.size()).reset_index()


def pace_alerts(
    snapshots: pd.DataFrame,
    expected: pd.DataFrame,
    forecasts: pd.DataFrame,
    *,
    covered: Collection[str],
    min_comparables: int = MIN_COMPARABLES,
    min_gap_half_widths: float = MIN_GAP_HALF_WIDTHS,
) -> pd.DataFrame:
    """The flagged shows among ``snapshots`` (``curves.snapshots``), most severe first; ``expected`` from ``expected_curves``.

    ``covered``: the ids of the shows whose whole sale window is loaded (``curves.covered_shows``); no other is flagged.
    """
    playing = (snapshots["days_to_show"] >= 0) & ~snapshots["status"].isin(NOT_PLAYED)
    upcoming = snapshots[playing & snapshots["concert_id"].astype(str).isin(set(covered))]
    upcoming = upcoming[_floats(upcoming["capacity"]) > 0]
    shows = pd.DataFrame(
        {
            "concert_id": upcoming["concert_id"].astype(str).to_numpy(),
            "as_of": upcoming["as_of"].to_numpy(),
            "days_to_show": upcoming["days_to_show"].to_numpy(dtype="int64"),
            "size_bucket": size_bucket(upcoming["capacity"]).to_numpy(),
            "capacity": upcoming["capacity"].to_numpy(dtype="int64"),
            "tickets_sold": upcoming["tickets_sold_to_date"].to_numpy(dtype="int64"),
        }
    )
    half_width = (forecasts["forecast_p90"] - forecasts["forecast_p10"]).to_numpy(dtype="float64") / 2
    spread = pd.DataFrame({"concert_id": forecasts["concert_id"].astype(str).to_numpy(), "half_width": half_width})
    cells = expected[expected["comparable_shows"] >= min_comparables]
    out = shows.merge(cells, on=["size_bucket", "days_to_show"]).merge(spread[spread["half_width"] > 0], on="concert_id")
    out["expected_tickets"] = out["sell_through_p50"] * out["capacity"]
    out["expected_p25"] = out["sell_through_p25"] * out["capacity"]
    out["expected_p75"] = out["sell_through_p75"] * out["capacity"]
    out["gap_tickets"] = out["tickets_sold"] - out["expected_tickets"]
    out["gap_in_interval_units"] = out["gap_tickets"] / out["half_width"]
    unusual = (out["tickets_sold"] < out["expected_p25"]) | (out["tickets_sold"] > out["expected_p75"])
    out = out[unusual & (out["gap_in_interval_units"].abs() >= min_gap_half_widths)]
    out = out.assign(units=-out["gap_in_interval_units"].abs(), tickets=-out["gap_tickets"].abs())
    out = out.sort_values(["units", "tickets", "concert_id"], ignore_index=True)
    out["direction"] = np.where(out["gap_tickets"] < 0, "behind", "ahead")
    out["severity_rank"] = np.arange(1, len(out) + 1)
    out["reason"] = [_reason(row) for row in out.itertuples()]
    return out[list(PACE_COLUMNS)].astype(PACE_COLUMNS)


def days_to_go(days: int) -> str:
    return "on the day of the show" if days == 0 else f"with {days} day{'s' if days != 1 else ''} to go"


def _reason(row) -> str:
    return (
        f"sold {row.tickets_sold:,} of {row.capacity:,} {days_to_go(row.days_to_show)}; "
        f"{row.comparable_shows} similar {row.size_bucket} shows had sold {row.expected_tickets:,.0f} "
        f"(p25-p75 {row.expected_p25:,.0f}-{row.expected_p75:,.0f}) by now, scaled to this house: "
        f"{abs(row.gap_tickets):,.0f} {row.direction}, {abs(row.gap_in_interval_units):.1f} interval half-widths"
    )


def _floats(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values).astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
