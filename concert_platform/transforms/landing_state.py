"""What the landing zone held for a day, as one short digest.

The sensor compares digests to decide which days changed, and each
``ticket_sales`` materialisation records the digest of the files it loaded, so
a day already loaded from the same files is never loaded again.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable

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
