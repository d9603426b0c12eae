"""Pace alerts on hand-made frames, every number worked out here.

History: five finished theatre shows of 2,000 seats (T1..T5) and three clubs
of 400 (K1..K3). Tickets sold by 14 and 7 days before their show:

    T1..T5  14 days out   250  500  750 1000 1250   sell-through p25 .25  p50 .375  p75 .5
             7 days out  1000 1250 1500 1750 2000                p25 .625 p50 .75   p75 .875
    K1..K3  14 days out  100  200  300             three shows: too few to compare with
"""

from datetime import date

import pandas as pd
from pandas.testing import assert_frame_equal

from concert_platform.insights.pace import PACE_COLUMNS, expected_curves, pace_alerts

AS_OF = date(2026, 3, 1)


def _history() -> pd.DataFrame:
    rows = [(f"T{i}", 2000, 14, sold) for i, sold in enumerate([250, 500, 750, 1000, 1250], 1)]
    rows += [(f"T{i}", 2000, 7, sold) for i, sold in enumerate([1000, 1250, 1500, 1750, 2000], 1)]
    rows += [(f"K{i}", 400, 14, sold) for i, sold in enumerate([100, 200, 300], 1)]
    rows += [("UNFINISHED", 2000, 14, 0), ("NO_CAPACITY", None, 14, 900)]
    frame = pd.DataFrame(rows, columns=["concert_id", "capacity", "days_to_show", "tickets_sold_to_date"])
    finals = [400 if c.startswith("K") else 2000 for c in frame["concert_id"]]
    final = pd.array(finals, dtype="Int64")
    final[frame["concert_id"].eq("UNFINISHED").to_numpy()] = pd.NA  # an upcoming show is no history
    return frame.assign(capacity=frame["capacity"].astype("Int64"), final_tickets=final)


# concert, status, days to show, capacity, sold, forecast p10, p90 (None: no forecast row)
SHOWS = [
    ("B2", "onsale", 14, 4000, 500, 2000, 3000),  # the same as B, listed first: the concert id breaks the tie
    ("B", "onsale", 14, 4000, 500, 2000, 3000),  # expected 1500 (1000-2000): 1000 behind, 2.0 half-widths
    (
        "A2",
        "onsale",
        7,
        2000,
        1800,
        1800,
        1875,
    ),  # 300 ahead, 8.0: ties A in units, fewer tickets: ranked after A although listed first
    ("A", "onsale", 7, 2000, 1900, 1900, 2000),  # expected 1500 (1250-1750): 400 ahead, 8.0
    ("N", "onsale", 14, 4000, 1400, 1400, 1500),  # 2.0 half-widths, but inside p25-p75: usual
    ("S", "onsale", 14, 4000, 900, 1500, 3500),  # below p25, but only 0.6 half-widths
    ("K", "onsale", 14, 400, 10, 10, 200),  # clubs: three comparables
    ("X", "cancelled", 14, 4000, 100, 100, 300),
    ("P", "postponed", 14, 4000, 100, 100, 300),
    ("U", "onsale", 14, None, 100, 100, 300),  # capacity unknown
    ("F", "onsale", 14, 4000, 100, None, None),  # no forecast
    ("Z", "onsale", 14, 4000, 4000, 4000, 4000),  # sold out: a zero-width interval
]
ALL = {s[0] for s in SHOWS}  # every show's whole sale window loaded


def _snapshots() -> pd.DataFrame:
    frame = pd.DataFrame(
        [s[:5] for s in SHOWS], columns=["concert_id", "status", "days_to_show", "capacity", "tickets_sold_to_date"]
    )
    return frame.assign(as_of=AS_OF, capacity=frame["capacity"].astype("Int64"))


def _forecasts() -> pd.DataFrame:
    rows = [(s[0], s[5], (s[5] + s[6]) / 2, s[6], 0.1) for s in SHOWS if s[5] is not None]
    return pd.DataFrame(rows, columns=["concert_id", "forecast_p10", "forecast_p50", "forecast_p90", "sellout_probability"])


def _alerts(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(PACE_COLUMNS)).astype(PACE_COLUMNS)


def test_expected_curves_are_the_quantiles_of_sell_through_per_size_and_day():
    expected = pd.DataFrame(
        {
            "size_bucket": ["club", "theatre", "theatre"],
            "days_to_show": [14, 7, 14],
            "sell_through_p25": [0.375, 0.625, 0.25],
            "sell_through_p50": [0.5, 0.75, 0.375],
            "sell_through_p75": [0.625, 0.875, 0.5],
            # p90 of five values sits 60% of the way from the 4th to the 5th; of three, 80% from the 2nd to the 3rd
            "sell_through_p90": [0.7, 0.95, 0.575],
            "comparable_shows": [3, 5, 5],
        }
    )
    assert_frame_equal(expected_curves(_history()), expected)


def test_behind_and_ahead_flagged_with_gap_units_rank_and_reason():
    def reason(sold, cap, days, expected, low, high, gap, direction, units):
        return (
            f"sold {sold} of {cap} with {days} days to go; 5 similar theatre shows had sold {expected} "
            f"(p25-p75 {low}-{high}) by now, scaled to this house: {gap} {direction}, {units} interval half-widths"
        )

    # concert, as_of, days, size, capacity, sold, comparables, expected, p25, p75, gap, units, direction, rank, reason
    expected = _alerts([
        ("A", AS_OF, 7, "theatre", 2000, 1900, 5, 1500.0, 1250.0, 1750.0, 400.0, 8.0, "ahead", 1,
         reason("1,900", "2,000", 7, "1,500", "1,250", "1,750", 400, "ahead", "8.0")),
        ("A2", AS_OF, 7, "theatre", 2000, 1800, 5, 1500.0, 1250.0, 1750.0, 300.0, 8.0, "ahead", 2,
         reason("1,800", "2,000", 7, "1,500", "1,250", "1,750", 300, "ahead", "8.0")),
        # equal severity: concert id order
        ("B", AS_OF, 14, "theatre", 4000, 500, 5, 1500.0, 1000.0, 2000.0, -1000.0, -2.0, "behind", 3,
         reason(500, "4,000", 14, "1,500", "1,000", "2,000", "1,000", "behind", "2.0")),
        ("B2", AS_OF, 14, "theatre", 4000, 500, 5, 1500.0, 1000.0, 2000.0, -1000.0, -2.0, "behind", 4,
         reason(500, "4,000", 14, "1,500", "1,000", "2,000", "1,000", "behind", "2.0")),
    ])  # fmt: skip
    alerts = pace_alerts(_snapshots(), expected_curves(_history()), _forecasts(), covered=ALL)
    assert_frame_equal(alerts, expected)


def test_the_gap_threshold_decides_the_small_gap():
    # S: 900 sold against 1500 expected, 600 behind over a half-width of 1000: flagged only from 0.6 down.
    alerts = pace_alerts(_snapshots(), expected_curves(_history()), _forecasts(), covered=ALL, min_gap_half_widths=0.6)
    assert alerts["concert_id"].tolist() == ["A", "A2", "B", "B2", "S"]
    assert alerts["gap_in_interval_units"].iloc[-1] == -0.6


def test_too_few_comparables_are_not_flagged_until_the_bar_is_lowered():
    expected = expected_curves(_history())
    # K: 10 of 400 against clubs' 200 (p25 150) is far behind, and 190 / 95 = 2.0 half-widths.
    assert "K" not in pace_alerts(_snapshots(), expected, _forecasts(), covered=ALL)["concert_id"].tolist()
    lowered = pace_alerts(_snapshots(), expected, _forecasts(), covered=ALL, min_comparables=3)
    assert lowered.set_index("concert_id").loc["K", ["gap_tickets", "gap_in_interval_units"]].tolist() == [-190.0, -2.0]


def test_past_shows_are_never_flagged_even_with_a_curve_for_their_day():
    expected = expected_curves(_history())
    expected = pd.concat([expected, expected[expected["days_to_show"] == 14].assign(days_to_show=-2)], ignore_index=True)
    past = _snapshots().assign(days_to_show=-2)
    assert pace_alerts(past, expected, _forecasts(), covered=ALL).empty


def test_nothing_flagged_gives_the_columns_and_dtypes():
    assert_frame_equal(pace_alerts(_snapshots().iloc[:0], expected_curves(_history()), _forecasts(), covered=ALL), _alerts([]))


def test_a_show_on_sale_before_the_first_loaded_day_is_not_compared():
    """A's and B's sales before the first loaded day are missing: behind may be the load's doing, so neither is flagged."""
    alerts = pace_alerts(_snapshots(), expected_curves(_history()), _forecasts(), covered=ALL - {"A", "B"})
    assert alerts["concert_id"].tolist() == ["A2", "B2"]
    assert alerts["severity_rank"].tolist() == [1, 2]
    assert pace_alerts(_snapshots(), expected_curves(_history()), _forecasts(), covered=set()).empty
