from datetime import date, timedelta

import pytest

from concert_platform.defs.resources import LakeResource, WarehouseResource
from concert_platform.settings import Settings
from concert_platform.sources.demo import DemoCatalog
from concert_platform.sources.demo_sales import seed_landing_zone
from concert_platform.sources.landing import LandingZone
from concert_platform.storage.filesystem import open_location

DEMO_DATE = date(2026, 11, 20)
DAYS = 3


def fresh_store(folder) -> tuple[LakeResource, WarehouseResource]:
    """An empty lake and warehouse: ticketmaster_events_raw finds no history to carry over."""
    return LakeResource(url=str(folder / "lake")), WarehouseResource(url=f"duckdb:///{folder}/warehouse.duckdb")


def demo_settings(tmp_path, **overrides) -> Settings:
    values = dict(
        lake_url=str(tmp_path / "lake"),
        landing_url=str(tmp_path / "landing"),
        warehouse_url=f"duckdb:///{tmp_path}/warehouse.duckdb",
        demo_date=DEMO_DATE,
    )
    return Settings(_env_file=None, **{**values, **overrides})


def seed(settings: Settings, days: int = DAYS, per_day: int = 3000):
    zone = LandingZone(open_location(settings.landing_url, settings.aws_endpoint_url))
    start = DEMO_DATE - timedelta(days=days)
    summary = seed_landing_zone(
        zone,
        DemoCatalog(seed=settings.demo_seed, anchor=DEMO_DATE),
        start,
        days,
        sales_per_day=per_day,
        seed=settings.demo_seed,
    )
    return summary, [(start + timedelta(days=i)).isoformat() for i in range(days)]


@pytest.fixture
def settings(tmp_path):
    return demo_settings(tmp_path)


def check_results(result) -> dict[tuple[str, str], bool]:
    """(asset, check) -> passed, for every check a run evaluated."""
    out = {}
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            out[(data.asset_key.to_user_string(), data.check_name)] = data.passed
    return out
