"""Venue: a place concerts happen, keyed by its Ticketmaster id."""

from __future__ import annotations

from typing import Annotated, Optional

from pydantic import Field

from concert_platform.models.base import BaseEntity, CountryCode, Identifier, Location, TimeZoneName


class Venue(BaseEntity, Location):
    venue_id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=300)]
    country: CountryCode
    address: Optional[Annotated[str, Field(max_length=500)]] = None
    postal_code: Optional[Annotated[str, Field(max_length=20)]] = None
    timezone: Optional[TimeZoneName] = None
    # No source API publishes capacity; it comes from the landing zone's
    # reference file, so an unknown capacity is normal, not an error.
    capacity: Optional[Annotated[int, Field(gt=0, le=500_000)]] = None
    capacity_source: Optional[str] = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "venue_id": "KovZpZA7AAEA",
                    "name": "Madison Square Garden",
                    "address": "4 Pennsylvania Plaza",
                    "postal_code": "10001",
                    "city": "New York",
                    "region": "NY",
                    "country": "US",
                    "latitude": 40.7505,
                    "longitude": -73.9934,
                    "timezone": "America/New_York",
                    "capacity": 19500,
                    "capacity_source": "reference/venue_capacities.csv",
                }
            ]
        }
    }
