"""The sell-out watch on hand-made frames, every number worked out here.

History: eight finished theatre shows of 2,000 seats (H1..H8), priced in EUR
at mid prices 20, 30, ..., 90, with finals f. Each had sold f x (1 - d / 40) by
d days out (0..20), so the multiplicative pickup is R(d) = 1 / (1 - d / 40),
and a show with S sold 20 days out is on course for 2 S (1 - d / 40) by d days
out; it sells out on the furthest-out day that reaches SOLD_OUT_AT (0.97) x 2,000 = 1,940.

Price bands: the quartiles of the eight mid prices are 37.5, 55 and 72.5, so
band 1 is H1-H2, band 2 H3-H4, band 3 H5-H6 and band 4 H7-H8. Share of the house
sold 20 days out (f / 4,000), and its median and p90 per band:

    band 1  H1  800  H2 1040   .20  .26   p50 .23  p90 .254
    band 2  H3 1280  H4 1520   .32  .38   p50 .35  p90 .374
    band 3  H5 1760  H6 2000   .44  .50   p50 .47  p90 .494
    band 4  H7 2000  H8 2000   .50  .50   p50 .50  p90 .50
"""

from datetime import date

import numpy as np
import pandas as pd
from pandas.testing import assert_frame_equal

from concert_platform.insights.sellout_watch import WATCH_COLUMNS, sellout_watch

AS_OF = date(2026, 5, 1)
FINALS = {"H1": 800, "H2": 1040, "H3": 1280, "H4": 1520, "H5": 1760, "H6": 2000, "H7": 2000, "H8": 2000}

# concert, status, days to show, capacity, sold, p50, sell-out probability, mid price (None: not listed), currency
UPCOMING = [
    ("U_sold", "onsale", 20, 2000, 1990, 2000, 0.99, 65, "EUR"),  # band 3; sold out already: 20 days early
    ("U_add", "onsale", 20, 2000, 1600, 2000, 0.95, 45, "EUR"),  # band 2; 3200 x (1 - 15/40) = 2000 >= 1940, 16 days: 1920
    ("U_price", "onsale", 20, 2000, 1220, 2000, 0.8, 25, "EUR"),  # band 1; 2440 x .8 = 1952 at 8 days, 1891 at 9
    (
        "U_watch",
        "onsale",
        20,
        2000,
        1000,
        1990,
        0.75,
        85,
        "EUR",
    ),  # band 4; 2000 x .975 = 1950 at 1 day, 1900 at 2; .5 is no more than p90 .5
    ("U_usd", "onsale", 20, 2000, 700, 1985, 0.9, 50, "USD"),  # no finished show priced in USD: no band
    ("U_noprice", "onsale", 20, 2000, 600, 1985, 0.9, None, None),  # the pickup never reaches 1940; p50 does, at the show
    ("U_low", "onsale", 20, 2000, 1900, 2000, 0.5, 50, "EUR"),  # probability too low
    ("U_cancelled", "cancelled", 20, 2000, 1900, 2000, 0.95, 50, "EUR"),
    ("U_past", "onsale", -1, 2000, 1990, 2000, 0.95, 50, "EUR"),
    ("U_unknown", "onsale", 20, None, 1900, 1900, 0.9, 50, "EUR"),  # capacity unknown: nothing to sell out
]


def _history() -> pd.DataFrame:
    rows = [(c, 2000, d, f * (40 - d) // 40, f) for c, f in FINALS.items() for d in range(21)]
    frame = pd.DataFrame(rows, columns=["concert_id", "capacity", "days_to_show", "tickets_sold_to_date", "final_tickets"])
    frame = frame.astype({"capacity": "Int64", "final_tickets": "Int64"})
    return frame.assign(censored=(frame["final_tickets"] >= 1940).astype("boolean"))


def _concerts() -> pd.DataFrame:
    rows = [(c, "onsale", mid, "EUR") for c, mid in zip(FINALS, range(20, 100, 10), strict=True)]
    rows += [(u[0], u[1], u[7], u[8]) for u in UPCOMING]
    frame = pd.DataFrame(rows, columns=["concert_id", "status", "mid", "currency"])
    mid = frame["mid"].astype("float64")
    return frame.drop(columns="mid").assign(price_min=mid - 5, price_max=mid + 5)


def _forecasts() -> pd.DataFrame:
    rows = [(u[0], AS_OF, u[2], u[4], u[3], u[5], u[5], u[5], u[6], "v1") for u in UPCOMING]
    columns = ["concert_id", "as_of", "days_to_show", "tickets_sold", "capacity", "forecast_p10", "forecast_p50"]
    frame = pd.DataFrame(rows, columns=[*columns, "forecast_p90", "sellout_probability", "model_version"])
    return frame.astype({"capacity": "Int64", "forecast_p10": "float64", "forecast_p50": "float64", "forecast_p90": "float64"})


def _watch(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(WATCH_COLUMNS)).astype(WATCH_COLUMNS)


def _text(probability, sold, when):
    return f"{probability} sell-out probability; sold {sold} of 2,000 with 20 days to go, {when}"


def test_watch_dates_underpricing_and_recommendations():
    ahead, no_band = "far ahead of similar-priced shows", "no price band to compare its pace in"
    no_band += " (no listed price, or no finished theatre shows in its currency)"
    on_show_day = "on course to sell out on the show day, 2026-05-21"
    # concert, as_of, days, capacity, sold, probability, p50, sell-out date, days early, band, comparables, p50, p90,
    # underpriced, recommendation, reason
    expected = _watch([
        ("U_sold", AS_OF, 20, 2000, 1990, 0.99, 2000.0, AS_OF, 20, 3, 2, 0.47, 0.494, True, "add_date",
         _text("99%", "1,990", "already sold out")
         + f"; {ahead}: 100% sold, where 2 finished theatre shows in price band 3 of 4 had sold 47% (p90 49%) by now"),
        ("U_add", AS_OF, 20, 2000, 1600, 0.95, 2000.0, date(2026, 5, 6), 15, 2, 2, 0.35, 0.374, True, "add_date",
         _text("95%", "1,600", "on course to sell out 15 days before the show, on 2026-05-06")
         + f"; {ahead}: 80% sold, where 2 finished theatre shows in price band 2 of 4 had sold 35% (p90 37%) by now"),
        ("U_price", AS_OF, 20, 2000, 1220, 0.8, 2000.0, date(2026, 5, 13), 8, 1, 2, 0.23, 0.254, True, "raise_price",
         _text("80%", "1,220", "on course to sell out 8 days before the show, on 2026-05-13")
         + f"; {ahead}: 61% sold, where 2 finished theatre shows in price band 1 of 4 had sold 23% (p90 25%) by now"),
        ("U_watch", AS_OF, 20, 2000, 1000, 0.75, 1990.0, date(2026, 5, 20), 1, 4, 2, 0.5, 0.5, False, "watch",
         _text("75%", "1,000", "on course to sell out 1 day before the show, on 2026-05-20")
         + "; not far ahead of similar-priced shows: 50% sold, where 2 finished "
         "theatre shows in price band 4 of 4 had sold 50% (p90 50%) by now"),
        # equal days early and probability: concert id order
        ("U_noprice", AS_OF, 20, 2000, 600, 0.9, 1985.0, date(2026, 5, 21), 0, None, 0, np.nan, np.nan, False, "watch",
         _text("90%", 600, on_show_day) + f"; {no_band}"),
        ("U_usd", AS_OF, 20, 2000, 700, 0.9, 1985.0, date(2026, 5, 21), 0, None, 0, np.nan, np.nan, False, "watch",
         _text("90%", 700, on_show_day) + f"; {no_band}"),
    ])  # fmt: skip
    assert_frame_equal(sellout_watch(_forecasts(), _history(), _concerts(), min_comparables=2), expected)


def test_too_few_similar_priced_shows_is_never_underpriced():
    # Three shows per (band, day) needed, two in each: no show is underpriced, the pickup (eight per day) still dates them.
    watch = sellout_watch(_forecasts(), _history(), _concerts(), min_comparables=3).set_index("concert_id")
    assert not watch["underpriced"].any()
    assert watch["recommendation"].to_dict() == {
        "U_sold": "add_date",
        "U_add": "add_date",
        "U_price": "watch",
        "U_noprice": "watch",
        "U_usd": "watch",
        "U_watch": "watch",
    }
    assert watch.loc["U_price", "days_early"] == 8
    assert watch.loc["U_price", "reason"].endswith(
        "; too few finished theatre shows in price band 1 of 4 to compare its pace with"
    )


def test_the_probability_threshold_decides_who_is_watched():
    watch = sellout_watch(_forecasts(), _history(), _concerts(), min_probability=0.5, min_comparables=2)
    assert "U_low" in watch["concert_id"].tolist()
    assert not {"U_cancelled", "U_past", "U_unknown"} & set(watch["concert_id"])


def test_nothing_watched_gives_the_columns_and_dtypes():
    assert_frame_equal(sellout_watch(_forecasts().iloc[:0], _history(), _concerts()), _watch([]))
