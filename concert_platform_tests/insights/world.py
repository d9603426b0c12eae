"""A small world of concerts whose booking curves the insight tests work out by hand.

Shows (capacity): C1 Mar 10 (100), C2 Mar 12 (100, sells out), C3 Mar 11
(3000), C4 Apr 20 (100, upcoming), C5 Mar 5 (cancelled), C6 Mar 21 at a venue
of unknown capacity, C7 to be announced. Tickets per sale day:

    C1  Mar 1: 10   Mar 5: 15 web + 5 mobile   Mar 8: 30   Mar 10 (show): 10   final 70
    C2  Mar 2: 5    Mar 9: 15   Mar 11: 20   Mar 12 (show): 60                 final 100, sold out
    C3  Mar 1: 100  Mar 10: 200                                                final 300
    C4  Mar 9: 30   Mar 11: 5
    C5  Feb 25: 12
    C6  Mar 1: 8    Mar 22 (after the show): 3
    C7  Mar 1: 4
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd

SALES = [
    ("C1", date(2026, 3, 1), "web", 10),
    ("C1", date(2026, 3, 5), "web", 15),
    ("C1", date(2026, 3, 5), "mobile", 5),
    ("C1", date(2026, 3, 8), "web", 30),
    ("C1", date(2026, 3, 10), "web", 10),
    ("C2", date(2026, 3, 2), "web", 5),
    ("C2", date(2026, 3, 9), "web", 15),
    ("C2", date(2026, 3, 11), "web", 20),
    ("C2", date(2026, 3, 12), "web", 60),
    ("C3", date(2026, 3, 1), "web", 100),
    ("C3", date(2026, 3, 10), "web", 200),
    ("C4", date(2026, 3, 9), "web", 30),
    ("C4", date(2026, 3, 11), "web", 5),
    ("C5", date(2026, 2, 25), "web", 12),
    ("C6", date(2026, 3, 1), "web", 8),
    ("C6", date(2026, 3, 22), "web", 3),
    ("C7", date(2026, 3, 1), "web", 4),
]


def concerts() -> pd.DataFrame:
    rows = [
        ("C1", "A1", "V1", "offsale", date(2026, 3, 10), datetime(2026, 2, 28, 10, tzinfo=UTC)),
        ("C2", "A1", "V1", "offsale", date(2026, 3, 12), None),
        ("C3", "A2", "V2", "offsale", date(2026, 3, 11), None),
        ("C4", "A2", "V1", "onsale", date(2026, 4, 20), datetime(2026, 3, 8, 23, tzinfo=UTC)),
        ("C5", "A1", "V1", "cancelled", date(2026, 3, 5), None),
        ("C6", "A3", "V3", "onsale", date(2026, 3, 21), None),
        ("C7", "A3", "V1", "scheduled", None, None),
    ]
    columns = ["concert_id", "artist_id", "venue_id", "status", "local_date", "onsale_start"]
    return pd.DataFrame(rows, columns=columns).assign(price_min=None, price_max=None, currency="USD")


def venues() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "venue_id": ["V1", "V2", "V3"],
            "capacity": [100, 3000, None],
            "city": ["Berlin", "Paris", "Oslo"],
            "country": ["DE", "FR", "NO"],
        }
    )


def daily(extra: list[tuple[str, date, str, int]] = ()) -> pd.DataFrame:
    """The daily roll-up as the warehouse hands it over (dates as ``datetime.date``), plus ``extra`` sales."""
    return pd.DataFrame(
        [
            {
                "sale_date": day,
                "concert_id": concert,
                "channel": channel,
                "currency": "USD",
                "orders": tickets,
                "tickets": tickets,
                "gross_revenue": Decimal(tickets * 50),
                "min_unit_price": Decimal(50),
                "max_unit_price": Decimal(50),
            }
            for concert, day, channel, tickets in [*SALES, *extra]
        ]
    )
