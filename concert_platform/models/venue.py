"""Venue: a place concerts happen, keyed by its Ticketmaster id."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from concert_platform.models.base import BaseEntity, CountryCode, Identifier, Location, TimeZoneName


class Venue(BaseEntity, Location):
    venue_id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=300)]
    country: CountryCode
    address: Annotated[str, Field(max_length=500)] | None = None
    postal_code: Annotated[str, Field(max_length=20)] | None = None
    timezone: TimeZoneName | None = None
    # No source API publishes capacity; it comes from the landing zone's
    # reference file, so an unknown capacity is normal, not an error.
    capacity: Annotated[int, Field(gt=0, le=500000)] | None = None
    capacity_source: str | None = None

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
