from datetime import date, timedelta

import numpy as np
import pandas as pd
from pandas.testing import assert_frame_equal

from concert_platform.insights.curves import booking_curves, snapshots, training_snapshots
from concert_platform.insights.horizons import HORIZON_BUCKETS, HORIZONS, MAX_DAYS_OUT, horizon_bucket
from concert_platform_tests.insights import world


def _dates(*days):
    return pd.Series([date(2026, m, d) if m else None for m, d in days], dtype=object)


def test_booking_curves_sum_channels_and_stop_at_the_show():
    curves = booking_curves(world.daily(), world.concerts())
    c1 = curves[curves["concert_id"] == "C1"].reset_index(drop=True)
    expected = pd.DataFrame(
        {
            "concert_id": pd.Series(["C1"] * 4, dtype=str),
            "sale_date": _dates((3, 1), (3, 5), (3, 8), (3, 10)),
            "days_before": np.array([9, 5, 2, 0], dtype="int64"),
            "tickets": np.array([10, 20, 30, 10], dtype="int64"),
            "cum_tickets": np.array([10, 30, 60, 70], dtype="int64"),
        }
    )
    assert_frame_equal(c1, expected)
    # C6's sale after its show is no demand for it; C7 has no date, so no curve.
    assert curves.loc[curves["concert_id"] == "C6", "cum_tickets"].tolist() == [8]
    assert "C7" not in set(curves["concert_id"])
    assert curves.groupby("concert_id")["cum_tickets"].last().to_dict() == {
        "C1": 70, "C2": 100, "C3": 300, "C4": 35, "C5": 12, "C6": 8
    }  # fmt: skip


def test_snapshot_as_of_a_day_uses_only_the_sales_before_it():
    curves = booking_curves(world.daily(), world.concerts())
    out = snapshots(curves, world.concerts(), world.venues(), date(2026, 3, 11))
    expected = pd.DataFrame(
        {
            "concert_id": pd.Series(["C1", "C2", "C3", "C4", "C5", "C6"], dtype=str),
            "artist_id": pd.Series(["A1", "A1", "A2", "A2", "A1", "A3"], dtype=str),
            "venue_id": pd.Series(["V1", "V1", "V2", "V1", "V1", "V3"], dtype=str),
            "status": pd.Series(["offsale", "offsale", "offsale", "onsale", "cancelled", "onsale"], dtype=str),
            "local_date": _dates((3, 10), (3, 12), (3, 11), (4, 20), (3, 5), (3, 21)),
            "as_of": _dates(*[(3, 11)] * 6),
            "days_to_show": np.array([-1, 1, 0, 40, -6, 10], dtype="int64"),
            "horizon_days": pd.array([None, 1, 1, 30, None, 7], dtype="Int64"),
            # C1 went on sale Feb 28 10:00 UTC, C4 Mar 8 23:00 UTC: UTC days, as in the demand features.
            "days_on_sale": pd.array([11, None, None, 3, None, None], dtype="Int64"),
            "capacity": pd.array([100, 100, 3000, 100, 100, None], dtype="Int64"),
            # The as-of day's sales (C2's 20, C4's 5 on Mar 11) are not in.
            "tickets_sold_to_date": np.array([70, 20, 300, 30, 12, 8], dtype="int64"),
            # Sales from Mar 4 to Mar 10.
            "tickets_last_7d": np.array([60, 15, 200, 30, 0, 0], dtype="int64"),
            "last_sale_date": _dates((3, 10), (3, 9), (3, 10), (3, 9), (2, 25), (3, 1)),
            "sell_through_to_date": pd.array([0.7, 0.2, 0.1, 0.3, 0.12, None], dtype="Float64"),
            # Only C1 was played before Mar 11: C3 is on the day itself, C5 was cancelled.
            "final_tickets": pd.array([70, None, None, None, None, None], dtype="Int64"),
            "censored": pd.array([False, None, None, None, None, None], dtype="boolean"),
        }
    )
    assert_frame_equal(out, expected)


def test_training_snapshots_hold_finished_shows_at_each_day_before():
    curves = booking_curves(world.daily(), world.concerts())
    out = training_snapshots(curves, world.concerts(), world.venues(), date(2026, 3, 15), days_before=range(4))
    columns = ["concert_id", "days_to_show", "tickets_sold_to_date", "final_tickets", "censored"]
    expected = pd.DataFrame(
        {
            "concert_id": pd.Series(["C1"] * 4 + ["C2"] * 4 + ["C3"] * 4, dtype=str),
            "days_to_show": np.array([3, 2, 1, 0] * 3, dtype="int64"),
            "tickets_sold_to_date": np.array([30, 30, 60, 60, 5, 20, 20, 40, 100, 100, 100, 300], dtype="int64"),
            "final_tickets": pd.array([70] * 4 + [100] * 4 + [300] * 4, dtype="Int64"),
            # C2 sold its 100 seats: its demand is censored.
            "censored": pd.array([False] * 4 + [True] * 4 + [False] * 4, dtype="boolean"),
        }
    )
    assert_frame_equal(out[columns], expected)
    # C4 and C6 are played after the cutoff, C5 was cancelled: none is a finished example.
    early = training_snapshots(curves, world.concerts(), world.venues(), date(2026, 3, 11), days_before=[0])
    assert early["concert_id"].tolist() == ["C1"]


def test_no_snapshot_uses_a_sale_on_or_after_its_as_of():
    """Whatever is sold from the as-of day on, on any day, changes no snapshot of that day."""
    concerts, venues = world.concerts(), world.venues()
    honest = booking_curves(world.daily(), concerts)
    for offset in (-10, -3, -2, -1, 0, 1, 2, 10, 40):  # around every show day, and well before or after
        as_of = date(2026, 3, 11) + timedelta(days=offset)
        later = [(c, as_of + timedelta(days=k), "web", 1000) for c in ("C1", "C2", "C3", "C4", "C5", "C6") for k in (0, 1, 30)]
        flooded = booking_curves(world.daily(later), concerts)
        expected = snapshots(honest, concerts, venues, as_of).drop(columns=["final_tickets", "censored"])
        got = snapshots(flooded, concerts, venues, as_of).drop(columns=["final_tickets", "censored"])
        assert_frame_equal(got, expected)
        # And the count is a plain sum of the daily rows before as_of (and not after the show: C6's last one).
        daily = world.daily().merge(concerts[["concert_id", "local_date"]], on="concert_id")
        counted = (daily["sale_date"] < as_of) & (daily["sale_date"] <= daily["local_date"])
        before = daily[counted].groupby("concert_id")["tickets"].sum()
        assert got.set_index("concert_id")["tickets_sold_to_date"].to_dict() == {
            c: int(before.get(c, 0)) for c in got["concert_id"]
        }


def test_training_snapshots_see_nothing_from_the_cutoff_on():
    concerts, venues = world.concerts(), world.venues()
    cutoff = date(2026, 3, 12)
    later = [(c, cutoff + timedelta(days=k), "web", 500) for c in ("C1", "C2", "C3", "C4") for k in (0, 2)]
    honest = training_snapshots(booking_curves(world.daily(), concerts), concerts, venues, cutoff)
    flooded = training_snapshots(booking_curves(world.daily(later), concerts), concerts, venues, cutoff)
    assert_frame_equal(flooded, honest)
    assert len(honest) == 2 * (MAX_DAYS_OUT + 1)  # C1 and C3, each as of every day 0..90 before its show


def test_horizon_buckets_cover_0_to_90_days_once_each():
    days = pd.Series(range(-2, 93))
    buckets = horizon_bucket(days)
    assert buckets[days < 0].isna().all() and buckets[days > 90].isna().all()
    assert buckets[(days >= 0) & (days <= 90)].notna().all()
    assert buckets.tolist()[2:10] == [1, 1, 1, 1, 7, 7, 7, 7]
    assert {h: int((buckets == h).sum()) for h in HORIZONS} == {60: 45, 30: 24, 14: 11, 7: 7, 1: 4}
    for horizon, (low, high) in HORIZON_BUCKETS.items():
        assert low <= horizon <= high  # each bucket holds the horizon it is named for


def test_before_any_sales_day_is_loaded():
    """The daily table arrives without columns until a first day is loaded: every show has sold nothing."""
    curves = booking_curves(pd.DataFrame(), world.concerts())
    assert curves.empty and list(curves.columns) == ["concert_id", "sale_date", "days_before", "tickets", "cum_tickets"]
    out = snapshots(curves, world.concerts(), world.venues(), date(2026, 3, 11))
    assert (out["tickets_sold_to_date"] == 0).all() and out["last_sale_date"].isna().all()
    assert out["final_tickets"].tolist() == [0, pd.NA, pd.NA, pd.NA, pd.NA, pd.NA]  # C1 was played, to an empty hall


def test_an_evening_show_in_the_americas_keeps_its_last_hours_of_sales():
    # 20:00 in Los Angeles on Mar 10 is 04:00 UTC on Mar 11: sales of the show's last hours are dated Mar 11.
    concerts = world.concerts()
    start = pd.Timestamp("2026-03-11T04:00:00Z")
    concerts["starts_at"] = pd.Series([start if c == "C1" else None for c in concerts["concert_id"]], dtype="datetime64[us, UTC]")
    daily = pd.concat([world.daily(), world.daily().iloc[:1].assign(sale_date=date(2026, 3, 11), tickets=7)], ignore_index=True)
    curves = booking_curves(daily, concerts)
    c1 = curves[curves["concert_id"] == "C1"]
    assert c1["sale_date"].tolist()[-1] == date(2026, 3, 11) and c1["days_before"].tolist()[-1] == 0
    assert c1["cum_tickets"].tolist()[-1] == 77
    # Without the start time the next UTC day is after the show, as before.
    assert booking_curves(daily, world.concerts()).query("concert_id == 'C1'")["cum_tickets"].tolist()[-1] == 70
