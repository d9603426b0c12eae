"""What the landing zone held for a day, as one short digest.

The sensor compares digests to decide which days changed, and each
``ticket_sales`` materialisation records the digest of the files it loaded, so
a day already loaded from the same files is never loaded again.

A file modified less than a settle time ago may still be growing, or be the
first of several a partner is uploading: the sensor waits for such a day
(`unsettled`) instead of loading it twice.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

from concert_platform.sources.landing import LandingFile


def files_digest(files: Iterable[LandingFile]) -> str:
    """Changes when a file is added, rewritten, re-uploaded or removed; not when the listing's order does."""
    entries = sorted(f"{f.name}\t{f.fingerprint}" for f in files)
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()[:20]


def day_digests(files: Iterable[LandingFile]) -> dict[str, str]:
    """One digest per day that has files, so the sensor's cursor stays one short entry per day."""
    by_day: dict[str, list[LandingFile]] = defaultdict(list)
    for f in files:
        by_day[f.day].append(f)
    return {day: files_digest(day_files) for day, day_files in by_day.items()}


def unsettled(files: Iterable[LandingFile], now: datetime, settle_seconds: float) -> dict[str, list[LandingFile]]:
    """Day -> its files modified less than ``settle_seconds`` before ``now`` (or after it: a store whose
    clock runs ahead). A file whose store gives no modification time counts as settled."""
    waiting: dict[str, list[LandingFile]] = defaultdict(list)
    if settle_seconds <= 0:
        return {}
    for f in files:
        if f.modified and (now - _aware(datetime.fromisoformat(f.modified))).total_seconds() < settle_seconds:
            waiting[f.day].append(f)
    return dict(waiting)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # stores that give no zone give UTC
