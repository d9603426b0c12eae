"""Valid and invalid records of each model, with the messages users get.

python -m concert_platform.models.examples
"""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from concert_platform.models import Artist, Concert, TicketSale, Venue
from concert_platform.models.base import condense


def _example(model: type[BaseModel]) -> dict:
    return dict(model.model_config["json_schema_extra"]["examples"][0])


# (model, what is wrong, the change that makes the example wrong)
INVALID: list[tuple[type[BaseModel], str, dict]] = [
    (TicketSale, "quantity above the limit of 20", {"quantity": 25}),
    (TicketSale, "negative price", {"unit_price": "-5"}),
    (TicketSale, "unknown currency", {"currency": "XYZ"}),
    (TicketSale, "timestamp without offset", {"sold_at": "2026-10-03T14:22:05"}),
    (TicketSale, "unknown channel", {"channel": "fax"}),
    (TicketSale, "missing sale_id", {"sale_id": None}),
    (Concert, "status outside the closed set", {"status": "sold-ish"}),
    (Concert, "price range upside down", {"price_min": "200", "price_max": "100"}),
    (Concert, "show in the year 1900", {"local_date": "1900-05-01"}),
    (Venue, "capacity zero", {"capacity": 0}),
    (Venue, "country not ISO-3166", {"country": "UK"}),
    (Venue, "latitude out of range", {"latitude": 123.4}),
    (Artist, "Spotify id of the wrong length", {"spotify_id": "abc"}),
    (Artist, "popularity above 100", {"popularity": 140}),
]


def invalid_record(model: type[BaseModel], change: dict) -> dict:
    record = _example(model)
    for key, value in change.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def error_message(model: type[BaseModel], record: dict) -> str | None:
    """Pydantic's messages for ``record`` in one line, or None when it is valid."""
    try:
        model.model_validate(record)
    except ValidationError as error:
        return condense(error)
    return None


def main() -> None:
    print("Valid examples\n")
    for model in (Artist, Venue, Concert, TicketSale):
        print(
            f"{model.__name__}: {model.model_validate(_example(model)).model_dump_json(exclude={'created_at', 'updated_at'})}\n"
        )
    print("Invalid examples and the message each gets\n")
    for model, what, change in INVALID:
        print(f"{model.__name__} with {what} {change}:\n    {error_message(model, invalid_record(model, change))}")


if __name__ == "__main__":
    main()
