"""TicketSale: one purchase, as it arrives in the landing zone's files.

This is an outside contract (partners write these files), so every rule here
is a promise to them: see the README's landing-zone section.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from concert_platform.models.base import BaseEntity, CurrencyCode, Identifier, Money, PastTimestamp

SaleChannel = Literal["web", "mobile", "box_office", "partner"]


class TicketSale(BaseEntity):
    sale_id: Identifier
    concert_id: Identifier = Field(description="A concert_id of the concerts table")
    sold_at: PastTimestamp = Field(description="ISO-8601 with offset; its UTC date is the partition")
    quantity: Annotated[int, Field(ge=1, le=20)]
    unit_price: Money
    currency: CurrencyCode
    channel: SaleChannel
    customer_id: Annotated[str, Field(max_length=128)] | None = None
    section: Annotated[str, Field(max_length=64)] | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "sale_id": "S-20261003-000042",
                    "concert_id": "vvG1IZ9KbJ5ZDx",
                    "sold_at": "2026-10-03T14:22:05+02:00",
                    "quantity": 2,
                    "unit_price": "89.50",
                    "currency": "EUR",
                    "channel": "web",
                    "customer_id": "C-88121",
                    "section": "Floor A",
                }
            ]
        }
    }
