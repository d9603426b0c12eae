"""Which files are still settling: pure, on listed files."""

from datetime import UTC, datetime, timedelta

from concert_platform.sources.landing import LandingFile
from concert_platform.transforms.landing_state import unsettled

NOW = datetime(2026, 10, 2, 12, 0, tzinfo=UTC)


def listed(day: str, name: str, modified: str | None) -> LandingFile:
    return LandingFile(f"root/ticket_sales/{day}/{name}", day, name, "jsonl", 10, modified)


def test_files_modified_within_the_settle_time_hold_their_day():
    files = [
        listed("2026-10-01", "old.jsonl", (NOW - timedelta(seconds=61)).isoformat()),
        listed("2026-10-01", "fresh.jsonl", (NOW - timedelta(seconds=59)).isoformat()),
        listed("2026-10-02", "ahead.jsonl", (NOW + timedelta(seconds=5)).isoformat()),  # a store whose clock runs ahead
        listed("2026-10-03", "naive.jsonl", (NOW - timedelta(seconds=1)).replace(tzinfo=None).isoformat()),  # UTC
        listed("2026-10-04", "unknown.jsonl", None),  # the store gives no time: settled
    ]
    waiting = unsettled(files, NOW, 60)
    assert {day: [f.name for f in fs] for day, fs in waiting.items()} == {
        "2026-10-01": ["fresh.jsonl"],
        "2026-10-02": ["ahead.jsonl"],
        "2026-10-03": ["naive.jsonl"],
    }
    assert unsettled(files, NOW, 0) == {}
