from datetime import date

import pandas as pd
from pandas.testing import assert_frame_equal

from concert_platform.insights.curves import booking_curves, snapshots, training_snapshots
from concert_platform.insights.leakage import VIOLATION_COLUMNS, future_sales_used, targets_after_cutoff
from concert_platform_tests.insights import world

AS_OF = date(2026, 3, 11)


def _snapshots(as_of=AS_OF):
    return snapshots(booking_curves(world.daily(), world.concerts()), world.concerts(), world.venues(), as_of)


def _violations(rows):
    return pd.DataFrame(rows, columns=VIOLATION_COLUMNS).astype({c: str for c in VIOLATION_COLUMNS if c != "as_of"})


def test_honest_snapshots_have_no_violations():
    daily = world.daily()
    assert future_sales_used(_snapshots(), daily).empty
    train = training_snapshots(booking_curves(daily, world.concerts()), world.concerts(), world.venues(), date(2026, 3, 15))
    assert future_sales_used(train, daily).empty
    assert targets_after_cutoff(train, date(2026, 3, 15)).empty


def test_a_planted_future_sale_is_flagged():
    """C2 sells 7 tickets on the as-of day; a snapshot that counts them is caught, with what it may hold instead."""
    daily = world.daily([("C2", AS_OF, "partner", 7)])
    leaky = _snapshots()
    c2 = leaky["concert_id"] == "C2"
    leaky.loc[c2, "tickets_sold_to_date"] += 27  # the as-of day's 20 + 7
    leaky.loc[c2, "last_sale_date"] = AS_OF
    expected = _violations(
        [
            ("C2", AS_OF, "tickets_sold_to_date", "47", "20", "counts tickets sold on or after as_of"),
            ("C2", AS_OF, "last_sale_date", "2026-03-11", "before as_of", "a sale on or after as_of"),
        ]
    )
    assert_frame_equal(future_sales_used(leaky, daily), expected)


def test_snapshots_computed_a_day_late_are_flagged():
    """The classic off-by-one: features as of the 12th labelled the 11th (a `<=` where `<` belongs)."""
    leaky = _snapshots(date(2026, 3, 12)).assign(as_of=AS_OF)
    found = future_sales_used(leaky, world.daily())
    assert sorted(zip(found["concert_id"], found["column"], strict=True)) == [
        ("C2", "last_sale_date"),
        ("C2", "tickets_last_7d"),
        ("C2", "tickets_sold_to_date"),
        ("C4", "last_sale_date"),
        ("C4", "tickets_last_7d"),
        ("C4", "tickets_sold_to_date"),
    ]


def test_targets_of_shows_after_the_cutoff_are_flagged():
    curves = booking_curves(world.daily(), world.concerts())
    train = training_snapshots(curves, world.concerts(), world.venues(), date(2026, 3, 15), days_before=[0])
    # Trained for Mar 11, C2 (Mar 12) and C3 (Mar 11) could not have been finished examples.
    expected = _violations(
        [
            (
                "C2",
                date(2026, 3, 12),
                "final_tickets",
                "100",
                "shows before 2026-03-11",
                "target of a show played on or after the cutoff",
            ),
            (
                "C3",
                date(2026, 3, 11),
                "final_tickets",
                "300",
                "shows before 2026-03-11",
                "target of a show played on or after the cutoff",
            ),
        ]
    )
    assert_frame_equal(targets_after_cutoff(train, AS_OF), expected)
