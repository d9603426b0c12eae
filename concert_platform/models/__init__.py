"""The Pydantic contracts of the platform: no Dagster, no I/O."""

from concert_platform.models.artist import Artist
from concert_platform.models.base import BaseEntity, Location
from concert_platform.models.concert import CONCERT_STATUSES, Concert
from concert_platform.models.ticket_sale import TicketSale
from concert_platform.models.venue import Venue

__all__ = ["Artist", "BaseEntity", "CONCERT_STATUSES", "Concert", "Location", "TicketSale", "Venue"]
