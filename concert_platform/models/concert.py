"""Concert: one show (a Ticketmaster event) linking a headliner and a venue."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, model_validator

from concert_platform.models.base import BaseEntity, CurrencyCode, EventDate, Identifier, Money, TimeZoneName

ConcertStatus = Literal["scheduled", "onsale", "offsale", "cancelled", "postponed", "rescheduled"]
CONCERT_STATUSES: tuple[str, ...] = ConcertStatus.__args__


class Concert(BaseEntity):
    concert_id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=500)]
    artist_id: Identifier | None = Field(None, description="Headliner; festivals may list none")
    supporting_artist_ids: list[Identifier] = Field(default_factory=list)
    venue_id: Identifier
    status: ConcertStatus
    local_date: EventDate | None = Field(None, description="None while the date is to be announced")
    local_time: time | None = None
    starts_at: AwareDatetime | None = None
    timezone: TimeZoneName | None = None
    date_tba: bool = False
    onsale_start: AwareDatetime | None = None
    onsale_end: AwareDatetime | None = None
    price_min: Money | None = None
    price_max: Money | None = None
    currency: CurrencyCode | None = None
    genre: str | None = None
    url: Annotated[str, Field(pattern=r"^https?://")] | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "concert_id": "vvG1IZ9KbJ5ZDx",
                    "name": "Radiohead - In Rainbows Tour",
                    "artist_id": "a74b1b7f-71a5-4011-9441-d0b5e4122711",
                    "venue_id": "KovZpZA7AAEA",
                    "status": "onsale",
                    "local_date": "2027-03-14",
                    "local_time": "20:00:00",
                    "starts_at": "2027-03-15T00:00:00Z",
                    "timezone": "America/New_York",
                    "price_min": "49.50",
                    "price_max": "189.00",
                    "currency": "USD",
                    "genre": "Rock",
                }
            ]
        }
    }

    @model_validator(mode="after")
    def _consistent(self) -> Concert:
        if self.price_min is not None and self.price_max is not None and self.price_max < self.price_min:
            raise ValueError(f"price_max {self.price_max} is below price_min {self.price_min}")
        if (self.price_min is not None or self.price_max is not None) and self.currency is None:
            raise ValueError("a price needs a currency")
        if self.onsale_start and self.onsale_end and self.onsale_end < self.onsale_start:
            raise ValueError("onsale_end is before onsale_start")
        if self.date_tba != (self.local_date is None):
            raise ValueError("local_date must be empty exactly when the date is to be announced")
        return self
