"""Ticketmaster history that accumulates: a new fetch, plus the played shows that fell out of its window.

Ticketmaster is asked about a window that moves with the reference date, so a
show played before the window's start is no longer returned. Its raw row is
carried over from the previous materialisation instead: the insights engine
trains on finished shows, and ``concerts`` would otherwise forget them.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pyarrow as pa

from concert_platform.transforms.raw import RAW_SCHEMA
from concert_platform.transforms.ticketmaster import parse_event


def with_history(previous: pa.Table | None, fetched: pa.Table, window_start: datetime) -> pa.Table:
    """``fetched`` plus each event of ``previous`` that it lacks and that started before ``window_start``.

    An absent event dated inside the window was removed by Ticketmaster and is
    dropped; a TBA event has no date to have left the window by, so it lives
    only as long as it is fetched. Carried rows keep their own ``fetched_at``
    and ``lookup``, which tell them from fetched ones. Sorted by ``source_id``.
    """
    if window_start.tzinfo is None:
        raise ValueError("window_start must be timezone-aware")
    fetched = fetched.select(RAW_SCHEMA.names).cast(RAW_SCHEMA)
    if previous is None or previous.num_rows == 0:
        return fetched.sort_by("source_id")
    previous = previous.select(RAW_SCHEMA.names).cast(RAW_SCHEMA)
    refetched = set(fetched["source_id"].to_pylist())
    keep = [
        kind == "event" and source_id not in refetched and played_before(json.loads(payload), window_start)
        for source_id, kind, payload in zip(
            previous["source_id"].to_pylist(), previous["kind"].to_pylist(), previous["payload"].to_pylist(), strict=True
        )
    ]
    carried = previous.filter(pa.array(keep, pa.bool_()))
    return pa.concat_tables([fetched, carried]).sort_by("source_id")


def played_before(payload: dict, window_start: datetime) -> bool:
    """Whether the event's start lies before ``window_start``, read as ``concerts`` reads it (`parse_event`).

    Without a ``dateTime`` (time TBA) only the local date is known: the event
    counts as before the window when that date is before the window's first UTC
    day. An unreadable date counts as not before, so the event is not carried.
    """
    event = parse_event(payload, None)
    if event["date_tba"]:
        return False
    try:
        if event["starts_at"]:
            starts_at = datetime.fromisoformat(event["starts_at"])
            return (starts_at if starts_at.tzinfo else starts_at.replace(tzinfo=UTC)) < window_start
        return date.fromisoformat(event["local_date"]) < window_start.astimezone(UTC).date()
    except (TypeError, ValueError):
        return False
