"""Shows whose sales started before the first loaded sale day are neither learnt from, scored nor paced.

The loaded sales start on F = Mar 1 (2026). Every show plays in a 100-seat hall.
On-sale times are UTC unless said; "-" is an unknown on-sale.

    show             on-sale              show    tickets per sale day         covered
    EARLY            Feb 20               Mar 10  Mar 1: 40, Mar 5: 10        no: on sale before F
    KNOWN            Mar 1 10:00          Mar 10  Mar 1: 5,  Mar 6: 20        yes: on sale on F
    UTC_EVE          Mar 1 00:30 (+02:00) Mar 12  Mar 2: 10                   no: Feb 28 22:30 UTC, before F
    SEEN_ON_F        -                    Mar 11  Mar 1: 30, Mar 8: 10        no: first seen on F, may have sold before
    SEEN_LATER       -                    Mar 12  Mar 3: 15, Mar 9: 5         yes: first seen after F
    NEVER_SEEN       -                    Mar 13  none                        no: may have sold only before F
    EARLY_NEXT       Feb 15               Mar 20  Mar 14: 1, Mar 19: 30       no
    KNOWN_NEXT       Mar 4                Mar 20  Mar 14: 1, Mar 19: 30       yes
    SEEN_ON_F_NEXT   -                    Mar 21  Mar 1: 20, Mar 20: 5        no
    SEEN_LATER_NEXT  -                    Mar 21  Mar 2: 8,  Mar 20: 12       yes
    LATE             Mar 20               Apr 30  Mar 28: 3                   yes (upcoming at the last sale day)
"""

from datetime import UTC, date, datetime, timedelta, timezone

import pandas as pd
import pytest

from concert_platform.insights.backtest import fold_cutoffs, make_folds
from concert_platform.insights.curves import (
    booking_curves,
    covered_shows,
    snapshots,
    training_snapshots,
    uncovered_finished,
)
from concert_platform.insights.pace import expected_curves, pace_alerts

CUTOFF = date(2026, 3, 15)
COVERED = {"KNOWN", "SEEN_LATER", "KNOWN_NEXT", "SEEN_LATER_NEXT", "LATE"}


def _at(month: int, day: int, hour: int = 10, zone=UTC) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=zone)


SHOWS = [  # concert, on-sale, show day, {sale day: tickets}
    ("EARLY", _at(2, 20), date(2026, 3, 10), {(3, 1): 40, (3, 5): 10}),
    ("KNOWN", _at(3, 1), date(2026, 3, 10), {(3, 1): 5, (3, 6): 20}),
    ("UTC_EVE", datetime(2026, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))), date(2026, 3, 12), {(3, 2): 10}),
    ("SEEN_ON_F", None, date(2026, 3, 11), {(3, 1): 30, (3, 8): 10}),
    ("SEEN_LATER", None, date(2026, 3, 12), {(3, 3): 15, (3, 9): 5}),
    ("NEVER_SEEN", None, date(2026, 3, 13), {}),
    ("EARLY_NEXT", _at(2, 15), date(2026, 3, 20), {(3, 14): 1, (3, 19): 30}),
    ("KNOWN_NEXT", _at(3, 4), date(2026, 3, 20), {(3, 14): 1, (3, 19): 30}),
    ("SEEN_ON_F_NEXT", None, date(2026, 3, 21), {(3, 1): 20, (3, 20): 5}),
    ("SEEN_LATER_NEXT", None, date(2026, 3, 21), {(3, 2): 8, (3, 20): 12}),
    ("LATE", _at(3, 20), date(2026, 4, 30), {(3, 28): 3}),
]


def _concerts(drop: set[str] = frozenset()) -> pd.DataFrame:
    rows = [
        (cid, "A1", "V1", "offsale" if show < CUTOFF else "onsale", show, onsale)
        for cid, onsale, show, _ in SHOWS
        if cid not in drop
    ]
    frame = pd.DataFrame(rows, columns=["concert_id", "artist_id", "venue_id", "status", "local_date", "onsale_start"])
    return frame.assign(onsale_start=pd.to_datetime(frame["onsale_start"], utc=True))


def _venues() -> pd.DataFrame:
    return pd.DataFrame({"venue_id": ["V1"], "capacity": pd.array([100], dtype="Int64")})


def _daily(extra: list[tuple[str, date, int]] = ()) -> pd.DataFrame:
    rows = [(date(2026, m, d), cid, "web", t) for cid, _, _, sales in SHOWS for (m, d), t in sales.items()]
    rows += [(day, cid, "web", t) for cid, day, t in extra]
    return pd.DataFrame(rows, columns=["sale_date", "concert_id", "channel", "tickets"])


def test_covered_shows_start_selling_within_the_loaded_days():
    concerts = _concerts()
    assert covered_shows(booking_curves(_daily(), concerts), concerts) == COVERED
    # The same shows in the daily table's own words: F is the first sale day, whatever frame carries it.
    assert covered_shows(_daily(), concerts) == COVERED


def test_with_no_sales_loaded_nothing_is_covered():
    assert covered_shows(booking_curves(pd.DataFrame(), _concerts()), _concerts()) == set()


def test_training_learns_only_from_covered_finished_shows():
    concerts, venues = _concerts(), _venues()
    curves = booking_curves(_daily(), concerts)
    train = training_snapshots(curves, concerts, venues, CUTOFF, days_before=[0])
    assert train.set_index("concert_id")["final_tickets"].to_dict() == {"KNOWN": 25, "SEEN_LATER": 20}
    assert uncovered_finished(curves, concerts, CUTOFF) == ["EARLY", "NEVER_SEEN", "SEEN_ON_F", "UTC_EVE"]


def test_a_backtest_fold_scores_only_covered_shows():
    concerts, venues, daily = _concerts(), _venues(), _daily()
    [fold] = make_folds(booking_curves(daily, concerts), daily, concerts, venues, [CUTOFF])
    assert sorted(fold.train["concert_id"].unique()) == ["KNOWN", "SEEN_LATER"]
    # EARLY_NEXT and SEEN_ON_F_NEXT are played in the fold's window, with finals in the data, but short ones.
    scored = fold.test.assign(final=fold.truth["final_tickets"])
    assert set(scored["concert_id"]) == {"KNOWN_NEXT", "SEEN_LATER_NEXT"}  # on every day of the fold's week
    on_cutoff = scored[scored["as_of"] == CUTOFF].set_index("concert_id")
    assert on_cutoff[["tickets_sold_to_date", "final"]].to_dict("index") == {
        "KNOWN_NEXT": {"tickets_sold_to_date": 1, "final": 31},
        "SEEN_LATER_NEXT": {"tickets_sold_to_date": 8, "final": 20},
    }


def test_folds_need_a_covered_show_before_the_first_cutoff():
    late = [("LATE", date(2026, 6, 22), 1)]  # the last sale day Jun 22: the last cutoff is Mar 18 (its week ends Mar 24)
    assert fold_cutoffs(_daily(late), _concerts(), folds=1) == [date(2026, 3, 18)]
    # Without KNOWN and SEEN_LATER, every show played before Mar 18 went on sale before the loaded days.
    with pytest.raises(
        ValueError, match=r"before the first cutoff 2026-03-18 with all its sales loaded \(the sales start on 2026-03-01\)"
    ):
        fold_cutoffs(_daily(late), _concerts(drop={"KNOWN", "SEEN_LATER"}), folds=1)


def test_pace_alerts_compare_only_covered_upcoming_shows():
    """History at 5 and 6 days out: KNOWN 5 and SEEN_LATER 15 sold (p25 7.5, p50 10, p75 12.5 of 100 seats).

    EARLY_NEXT and KNOWN_NEXT have 1 sold 5 days out; SEEN_ON_F_NEXT 20 six days out. Only KNOWN_NEXT's
    count is whole: EARLY_NEXT's sales before Mar 1 were never loaded, and neither was what
    SEEN_ON_F_NEXT may have sold before.
    """
    concerts, venues = _concerts(), _venues()
    seen = booking_curves(_daily()[pd.to_datetime(_daily()["sale_date"]) < pd.Timestamp(CUTOFF)], concerts)
    history = training_snapshots(seen, concerts, venues, CUTOFF)
    now = snapshots(seen, concerts, venues, CUTOFF)
    upcoming = now[now["days_to_show"] >= 0]
    forecasts = pd.DataFrame(
        {
            "concert_id": upcoming["concert_id"],
            "forecast_p10": upcoming["tickets_sold_to_date"].astype("float64"),
            "forecast_p90": upcoming["tickets_sold_to_date"].astype("float64") + 10,  # half-width 5
        }
    )
    expected = expected_curves(history)

    alerts = pace_alerts(now, expected, forecasts, covered=covered_shows(seen, concerts), min_comparables=2)
    assert alerts[["concert_id", "direction", "gap_tickets"]].to_dict("records") == [
        {"concert_id": "KNOWN_NEXT", "direction": "behind", "gap_tickets": -9.0}
    ]
    # Taken at their word, the truncated ones would be flagged too.
    everyone = pace_alerts(now, expected, forecasts, covered=set(now["concert_id"]), min_comparables=2)
    assert sorted(everyone["concert_id"]) == ["EARLY_NEXT", "KNOWN_NEXT", "SEEN_ON_F_NEXT"]
