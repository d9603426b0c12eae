"""Feature assets: thin wrappers over the pure transforms in ``transforms.features``."""

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pandas as pd

from concert_platform.defs.automation import FOLLOWS_UPSTREAM
from concert_platform.defs.io_manager import PRIMARY_KEY, WAREHOUSE_POOL
from concert_platform.transforms import features as f
from concert_platform.transforms.sales_daily import DAILY_SALES_SCHEMA


def _as_of(daily: pd.DataFrame) -> date:
    """The day after the last sales day loaded; today when nothing is loaded yet."""
    if daily.empty:
        return datetime.now(UTC).date()
    return pd.to_datetime(daily["sale_date"]).max().date() + timedelta(days=1)


def _as_of_demand(demand: pd.DataFrame) -> date:
    """Artist and venue features describe the same day as the demand features they build on."""
    return demand["as_of"].iloc[0] if len(demand) else datetime.now(UTC).date()


@dg.asset(
    group_name="features",
    kinds={"pandas", "duckdb"},
    pool=WAREHOUSE_POOL,
    automation_condition=FOLLOWS_UPSTREAM,
    metadata={PRIMARY_KEY: ["concert_id"]},
    description="Per concert: tickets sold, 7-day velocity, sell-through, days to show, price level.",
)
def concert_demand_features(concerts: pd.DataFrame, venues: pd.DataFrame, ticket_sales_daily: pd.DataFrame) -> pd.DataFrame:
    if ticket_sales_daily.columns.empty:  # no sales day loaded yet: the lake has no schema to give
        ticket_sales_daily = DAILY_SALES_SCHEMA.empty_table().to_pandas()
    return f.concert_demand_features(concerts, venues, ticket_sales_daily, _as_of(ticket_sales_daily))


@dg.asset(
    group_name="features",
    kinds={"pandas", "duckdb"},
    pool=WAREHOUSE_POOL,
    automation_condition=FOLLOWS_UPSTREAM,
    metadata={PRIMARY_KEY: ["artist_id"]},
    description="Per artist: shows, cancellations, reach, demand and week-on-week momentum.",
)
def artist_features(artists: pd.DataFrame, venues: pd.DataFrame, concert_demand_features: pd.DataFrame) -> pd.DataFrame:
    return f.artist_features(artists, venues, concert_demand_features, _as_of_demand(concert_demand_features))


@dg.asset(
    group_name="features",
    kinds={"pandas", "duckdb"},
    pool=WAREHOUSE_POOL,
    automation_condition=FOLLOWS_UPSTREAM,
    metadata={PRIMARY_KEY: ["venue_id"]},
    description="Per venue: utilisation, sell-outs, ticket prices.",
)
def venue_features(venues: pd.DataFrame, concert_demand_features: pd.DataFrame) -> pd.DataFrame:
    return f.venue_features(venues, concert_demand_features, _as_of_demand(concert_demand_features))
