import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from concert_platform.transforms.event_history import with_history
from concert_platform.transforms.raw import RAW_SCHEMA, raw_row, raw_table

from .payloads import attraction, event

WINDOW_START = datetime(2027, 1, 1, tzinfo=UTC)
BEFORE, AFTER = datetime(2026, 12, 1, 8, tzinfo=UTC), datetime(2027, 1, 2, 8, tzinfo=UTC)
OLD, NEW = "window:2026-03-01/2027-12-01", "window:2026-11-02/2028-01-01"


def _event(eid: str, date_time: str | None = None, local_date: str | None = None, tba: bool = False) -> dict:
    payload = event(eid, [attraction("K1", "Radiohead")], tba=tba)
    if not tba:
        start = payload["dates"]["start"]
        if date_time is None:  # time TBA: Ticketmaster sends the local date alone
            del start["dateTime"], start["localTime"]
            start["timeTBA"] = True
        else:
            start["dateTime"] = date_time
        start["localDate"] = local_date or date_time[:10]
    return payload


def _raw(lookup: str, fetched_at: datetime, *events: dict) -> pa.Table:
    return raw_table(raw_row(e["id"], "event", lookup, e, fetched_at=fetched_at) for e in events)


def _by_id(table: pa.Table) -> dict[str, dict]:
    return {row["source_id"]: row for row in table.to_pylist()}


def test_a_show_played_before_the_window_is_carried_as_it_was_fetched():
    previous = _raw(OLD, BEFORE, _event("E-played", "2026-12-20T01:00:00Z"), _event("E-seen", "2027-02-01T20:00:00Z"))
    fetched = _raw(NEW, AFTER, _event("E-seen", "2027-02-01T20:00:00Z"))
    merged = with_history(previous, fetched, WINDOW_START)
    assert merged.schema == RAW_SCHEMA
    assert merged["source_id"].to_pylist() == ["E-played", "E-seen"]
    played = _by_id(merged)["E-played"]
    assert (played["lookup"], played["fetched_at"]) == (OLD, BEFORE)  # tells a carried row from a fetched one
    assert played["payload"] == previous["payload"][0].as_py()


def test_a_show_inside_the_window_the_fetch_no_longer_returns_is_dropped():
    previous = _raw(
        OLD,
        BEFORE,
        _event("E-removed", "2027-01-15T20:00:00Z"),
        _event("E-at-start", "2027-01-01T00:00:00Z"),  # the window's first instant is inside it
        _event("E-kept", "2026-12-31T23:59:00Z"),
    )
    merged = with_history(previous, _raw(NEW, AFTER), WINDOW_START)
    assert merged["source_id"].to_pylist() == ["E-kept"]


def test_a_tba_show_lives_only_as_long_as_it_is_fetched():
    previous = _raw(OLD, BEFORE, _event("E-tba-gone", tba=True), _event("E-tba-back", tba=True))
    fetched = _raw(NEW, AFTER, _event("E-tba-back", tba=True))
    merged = with_history(previous, fetched, WINDOW_START)
    assert merged["source_id"].to_pylist() == ["E-tba-back"]
    assert _by_id(merged)["E-tba-back"]["lookup"] == NEW


def test_a_refetched_show_takes_the_new_fetch_even_when_it_was_dated_before_the_window():
    moved = _event("E-moved", "2027-03-01T20:00:00Z")
    moved["dates"]["status"]["code"] = "rescheduled"
    previous = _raw(OLD, BEFORE, _event("E-moved", "2026-12-10T20:00:00Z"))
    merged = with_history(previous, _raw(NEW, AFTER, moved), WINDOW_START)
    assert merged.num_rows == 1
    row = merged.to_pylist()[0]
    assert (row["lookup"], row["fetched_at"]) == (NEW, AFTER)
    assert json.loads(row["payload"])["dates"]["status"]["code"] == "rescheduled"


def test_a_show_with_its_time_tba_is_dated_by_its_local_day():
    previous = _raw(
        OLD,
        BEFORE,
        _event("E-day-before", local_date="2026-12-31"),
        _event("E-first-day", local_date="2027-01-01"),
    )
    merged = with_history(previous, _raw(NEW, AFTER), WINDOW_START)
    assert merged["source_id"].to_pylist() == ["E-day-before"]


def test_no_previous_value_is_the_fetch_alone_sorted():
    fetched = _raw(NEW, AFTER, _event("E2", "2027-02-01T20:00:00Z"), _event("E1", "2027-02-02T20:00:00Z"))
    assert with_history(None, fetched, WINDOW_START)["source_id"].to_pylist() == ["E1", "E2"]
    with pytest.raises(ValueError, match="timezone-aware"):
        with_history(None, fetched, WINDOW_START.replace(tzinfo=None))
