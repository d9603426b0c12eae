"""How many demo shows a Ticketmaster fetch window returns, counted from the catalog itself."""

from datetime import UTC, date, datetime, time, timedelta

from concert_platform.defs.assets.sources import EventWindow
from concert_platform.sources.demo import DemoCatalog


def shows_in_window(anchor: date, days_back: int = EventWindow().days_back, seed: int = 7) -> int:
    """Shows starting from ``days_back`` days before the anchor on (the window reaches past the last), and TBA ones."""
    start = datetime.combine(anchor - timedelta(days=days_back), time(), UTC)
    return sum(1 for e in DemoCatalog(seed=seed, anchor=anchor).events if e.starts_at is None or e.starts_at >= start)
