from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from concert_platform.models import Artist, Concert, TicketSale, Venue
from concert_platform.models.examples import INVALID, error_message, invalid_record, main


def example(model):
    return dict(model.model_config["json_schema_extra"]["examples"][0])


@pytest.mark.parametrize("model", [Artist, Venue, Concert, TicketSale])
def test_each_models_own_example_is_valid(model):
    record = model.model_validate(example(model))
    assert record.created_at.tzinfo is not None


@pytest.mark.parametrize(("model", "what", "change"), INVALID, ids=[w for _, w, _ in INVALID])
def test_documented_invalid_examples_are_rejected_with_a_message(model, what, change):
    message = error_message(model, invalid_record(model, change))
    assert message, f"{what} was accepted"
    field = next(iter(change))
    assert field in message or "record" in message


def test_ticket_sale_contract():
    sale = TicketSale.model_validate({**example(TicketSale), "unit_price": 12.5, "extra_field": "ignored"})
    assert sale.unit_price == Decimal("12.5")
    assert not hasattr(sale, "extra_field")
    assert sale.sold_at.utcoffset() == timedelta(hours=2)
    for bad in (
        {"quantity": 0},
        {"quantity": 21},
        {"unit_price": "100000.01"},
        {"unit_price": "1.00001"},
        {"currency": "usd"},
        {"channel": "Web"},
        {"concert_id": ""},
    ):
        with pytest.raises(ValidationError):
            TicketSale.model_validate({**example(TicketSale), **bad})
    assert TicketSale.model_validate({**example(TicketSale), "quantity": 20, "unit_price": "100000"}).quantity == 20


def test_sales_from_the_future_are_implausible():
    tomorrow_plus = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    with pytest.raises(ValidationError, match="future"):
        TicketSale.model_validate({**example(TicketSale), "sold_at": tomorrow_plus})


def test_concert_rules():
    base = example(Concert)
    for status in ("scheduled", "onsale", "offsale", "cancelled", "postponed", "rescheduled"):
        assert Concert.model_validate({**base, "status": status}).status == status
    with pytest.raises(ValidationError, match="currency"):
        Concert.model_validate({**base, "currency": None})
    with pytest.raises(ValidationError, match="announced"):
        Concert.model_validate({**base, "date_tba": True})
    tba = Concert.model_validate({**base, "local_date": None, "starts_at": None, "date_tba": True})
    assert tba.local_date is None
    with pytest.raises(ValidationError, match="IANA"):
        Concert.model_validate({**base, "timezone": "Mars/Olympus"})


def test_venue_location_and_capacity():
    base = example(Venue)
    assert Venue.model_validate({**base, "latitude": "40.75", "capacity": None}).latitude == 40.75
    for bad in ({"longitude": -181}, {"capacity": -1}, {"country": None}, {"name": ""}):
        with pytest.raises(ValidationError):
            Venue.model_validate({**base, **bad})


def test_artist_match_method_needs_an_id():
    base = example(Artist)
    with pytest.raises(ValidationError, match="needs a spotify_id or musicbrainz_id"):
        Artist.model_validate({**base, "spotify_id": None, "musicbrainz_id": None})
    assert Artist.model_validate({**base, "spotify_id": None, "musicbrainz_id": None, "match_method": "unmatched"})


def test_examples_module_prints_valid_and_invalid_records(capsys):
    main()
    out = capsys.readouterr().out
    assert "Valid examples" in out and "is not a valid ISO-4217 currency code" in out
