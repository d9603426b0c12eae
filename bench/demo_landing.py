"""The demo landing zone the orchestration bench backfills: a year of demo-sized days, seeded once.

The demo date is pinned so the concerts that `catalog_job` builds are the ones the
seeded sales name, on any day the bench runs; the partitions then start at the
first seeded day. The demo world sells from about 7 months before its date to 8
after it, so a world dated 2026-05-01 has ~20,000 sales on every day of the year
below (a world dated at the year's end has none in its first months, and
`seed_landing_zone` fails on a day without a sale). The days are fixed and in the
past, so they are partitions on any later day too.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

DATA = Path(__file__).parent / ".data"
DEMO_DATE = date(2026, 5, 1)
LAST_DAY = date(2026, 11, 24)
DEMO_SEED = 7
SALES_PER_DAY = 20_000
YEAR = 365


@dataclass(frozen=True)
class SeededLanding:
    path: Path
    days: list[str]  # every seeded day, oldest first; a backfill of N days takes the last N

    @property
    def start(self) -> str:
        return self.days[0]

    def last(self, n: int) -> list[str]:
        return self.days[-n:]

    def settings_env(self) -> dict[str, str]:
        """What a clone root's .env needs so `catalog_job` builds the concerts these sales name."""
        return {
            "CONCERT_LANDING_URL": str(self.path),
            "CONCERT_DEMO_DATE": DEMO_DATE.isoformat(),
            "CONCERT_DEMO_SEED": str(DEMO_SEED),
            "CONCERT_SALES_START_DATE": self.start,
        }


def seeded_landing(days: int = YEAR, per_day: int = SALES_PER_DAY) -> SeededLanding:
    """``days`` days of sales ending on LAST_DAY, written under bench/.data once."""
    start = LAST_DAY - timedelta(days=days - 1)
    path = DATA / f"landing-{days}d-{per_day}-{DEMO_DATE.isoformat()}-{LAST_DAY.isoformat()}"
    all_days = [(start + timedelta(days=i)).isoformat() for i in range(days)]
    done = path / ".complete"  # written last: a seeding that was interrupted is redone, not reused
    if not done.exists():
        from concert_platform.sources.demo import DemoCatalog
        from concert_platform.sources.demo_sales import seed_landing_zone
        from concert_platform.sources.landing import LandingZone
        from concert_platform.storage.filesystem import open_location

        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        print(f"seeding {days} days of ~{per_day:,} demo sales into {path} (once) ...", flush=True)
        began = time.perf_counter()
        summary = seed_landing_zone(
            LandingZone(open_location(str(path))),
            DemoCatalog(seed=DEMO_SEED, anchor=DEMO_DATE),
            start,
            days,
            sales_per_day=per_day,
            seed=DEMO_SEED,
        )
        print(f"  {summary.records:,} records in {len(summary.files)} files, {time.perf_counter() - began:.0f}s", flush=True)
        done.write_text(f"{summary.records}\n")
    return SeededLanding(path, all_days)


def seeded_records(landing: SeededLanding) -> int:
    return int((landing.path / ".complete").read_text())


if __name__ == "__main__":
    landing = seeded_landing()
    print(f"{landing.path}: {seeded_records(landing):,} records, {landing.days[0]} .. {landing.days[-1]}")
