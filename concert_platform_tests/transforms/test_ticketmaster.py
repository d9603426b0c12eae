from concert_platform.models import Concert, Venue
from concert_platform.transforms.ticketmaster import parse_events, spotify_id_from_url

from .payloads import SPOTIFY_A, attraction, event, venue


def test_events_split_into_venues_concerts_and_attractions():
    parts = parse_events(
        [
            event("E1", [attraction("K1", "Radiohead", spotify=SPOTIFY_A), attraction("K2", "Support")]),
            event("E2", [attraction("K1", "Radiohead", spotify=SPOTIFY_A)], status="canceled", tz=None, prices=((0, 0),)),
            event("E1", [attraction("K1", "Radiohead", spotify=SPOTIFY_A)]),  # a repeat from an overlapping window
        ]
    )
    assert set(parts.concerts) == {"E1", "E2"}
    assert parts.lineups["E1"] == ["K1"]  # the later copy wins
    assert parts.attractions["K1"].spotify_ids == (SPOTIFY_A,)
    venue_record = parts.venues["KovZpZA7AAEA"]
    assert venue_record["name"] == "Madison Square Garden" and venue_record["city"] == "New York"
    assert Venue.model_validate(venue_record).latitude == 40.7505

    e2 = parts.concerts["E2"]
    assert e2["status"] == "cancelled"
    assert e2["timezone"] == "America/New_York"  # fell back to the venue's
    assert e2["price_min"] is None and e2["currency"] is None  # 0/0 means unpublished
    assert e2["onsale_start"] is None  # the 1900-01-01 placeholder
    assert e2["genre"] is None  # "Undefined"


def test_both_spellings_of_cancelled_and_tba_dates_validate():
    parts = parse_events(
        [event("A", [], status="cancelled"), event("B", [], status="canceled"), event("C", [], tba=True, prices=None)]
    )
    assert parts.concerts["A"]["status"] == parts.concerts["B"]["status"] == "cancelled"
    tba = parts.concerts["C"]
    assert tba["date_tba"] and tba["local_date"] is None and tba["starts_at"] is None
    for concert in parts.concerts.values():
        Concert.model_validate({**concert, "artist_id": None})


def test_price_ranges_take_the_span_in_one_currency():
    parts = parse_events([event("P", [], prices=((30, 60), (25, 120)))])
    assert (parts.concerts["P"]["price_min"], parts.concerts["P"]["price_max"]) == (25, 120)


def test_junk_coordinates_reach_the_model_and_are_rejected_there():
    bad = venue()
    bad["location"] = {"latitude": "north", "longitude": ""}
    record = parse_events([event("X", [], venue_obj=bad)]).venues["KovZpZA7AAEA"]
    assert record["longitude"] is None and record["latitude"] == "north"


def test_spotify_urls():
    assert spotify_id_from_url(f"https://open.spotify.com/artist/{SPOTIFY_A}?si=x") == SPOTIFY_A
    assert spotify_id_from_url(f"https://open.spotify.com/intl-de/artist/{SPOTIFY_A}") == SPOTIFY_A
    assert spotify_id_from_url("https://open.spotify.com/album/123") is None
    assert spotify_id_from_url(None) is None
