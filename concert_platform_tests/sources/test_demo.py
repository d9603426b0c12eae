"""The demo clients: API shapes, paging, quirks, determinism and cross-source consistency."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import available_timezones

import pytest

from concert_platform.models.codes import ISO_3166_ALPHA2, ISO_4217
from concert_platform.sources.base import MusicBrainzClient, SpotifyClient, TicketmasterClient
from concert_platform.sources.demo import DemoCatalog, DemoMusicBrainz, DemoSpotify, DemoTicketmaster
from concert_platform.sources.demo_catalog import FUTURE_DAYS, PAST_DAYS
from concert_platform.sources.demo_payloads import normalize_name

ANCHOR = date(2026, 11, 1)
EVERYTHING = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")
ZONES = frozenset(available_timezones())
EVENT_KEYS = {"id", "name", "type", "url", "test", "locale", "dates", "sales", "classifications", "_embedded", "_links"}
VENUE_KEYS = {"id", "name", "type", "timezone", "postalCode", "city", "country", "address", "location", "markets"}
MBID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def catalog() -> DemoCatalog:
    return DemoCatalog(seed=7, anchor=ANCHOR)


@pytest.fixture(scope="module")
def events(catalog) -> list[dict]:
    """Every event payload, from one sweep over all time."""
    return [e for page in DemoTicketmaster(catalog).search_events(*EVERYTHING) for e in page["_embedded"]["events"]]


@pytest.fixture(scope="module")
def attractions(events) -> dict[str, dict]:
    return {a["id"]: a for e in events for a in e["_embedded"].get("attractions", [])}


def _share(items, predicate) -> float:
    items = list(items)
    return sum(1 for i in items if predicate(i)) / len(items)


def test_catalog_sizes_and_unique_ids(catalog, events):
    assert len(catalog.artists) == 300 and len(catalog.venues) == 150 and len(catalog.events) == 5400
    assert len({a.tm_id for a in catalog.artists}) == 300
    assert len({v.id for v in catalog.venues}) == 150
    assert len({e["id"] for e in events}) == len(events) == 5400
    days = [e.local_date for e in catalog.events if e.local_date]
    assert min(days) >= ANCHOR - timedelta(days=PAST_DAYS) and max(days) <= ANCHOR + timedelta(days=FUTURE_DAYS)


def test_clients_implement_the_protocols(catalog):
    assert isinstance(DemoTicketmaster(catalog), TicketmasterClient)
    assert isinstance(DemoSpotify(catalog), SpotifyClient)
    assert isinstance(DemoMusicBrainz(catalog), MusicBrainzClient)


def test_ticketmaster_pages_to_the_end_sorted_by_id(catalog):
    client = DemoTicketmaster(catalog, include_tba=False)
    start, end = datetime(2026, 11, 10, tzinfo=UTC), datetime(2027, 1, 20, tzinfo=UTC)
    pages = list(client.search_events(start, end))
    assert client.stats.requests == len(pages) == pages[0]["page"]["totalPages"] > 1
    ids = []
    for number, page in enumerate(pages):
        assert set(page) == {"_links", "_embedded", "page"}
        assert page["page"]["number"] == number and page["page"]["size"] == 200
        assert len(page["_embedded"]["events"]) <= 200
        assert ("next" in page["_links"]) == (number + 1 < page["page"]["totalPages"])
        for event in page["_embedded"]["events"]:
            ids.append(event["id"])
            if "dateTime" in event["dates"]["start"]:
                moment = datetime.fromisoformat(event["dates"]["start"]["dateTime"].replace("Z", "+00:00"))
                assert start <= moment < end
    assert ids == sorted(ids) and len(ids) == pages[0]["page"]["totalElements"]
    expected = {e.id for e in catalog.events if e.starts_at and start <= e.starts_at < end}
    assert set(ids) == expected


def test_ticketmaster_empty_window_has_no_embedded(catalog):
    client = DemoTicketmaster(catalog, include_tba=False)
    pages = list(client.search_events(datetime(2001, 1, 1, tzinfo=UTC), datetime(2001, 1, 2, tzinfo=UTC)))
    assert len(pages) == 1 and client.stats.requests == 1
    assert "_embedded" not in pages[0]
    assert pages[0]["page"] == {"size": 200, "totalElements": 0, "totalPages": 0, "number": 0}


def test_tba_events_come_with_every_window_when_included(catalog):
    window = (datetime(2001, 1, 1, tzinfo=UTC), datetime(2001, 1, 2, tzinfo=UTC))
    events = [e for p in DemoTicketmaster(catalog).search_events(*window) for e in p["_embedded"]["events"]]
    assert events and all(e["dates"]["start"]["dateTBA"] and "localDate" not in e["dates"]["start"] for e in events)
    with pytest.raises(ValueError):
        DemoTicketmaster(catalog, page_size=500)


def test_event_shape(events):
    for e in events:
        assert EVENT_KEYS <= set(e)
        assert e["type"] == "event" and e["test"] is False and e["url"].startswith("https://")
        start = e["dates"]["start"]
        assert {"dateTBD", "dateTBA", "timeTBA", "noSpecificTime"} <= set(start)
        if not start["dateTBA"] and not start["timeTBA"]:
            assert re.match(r"^\d{2}:\d{2}:\d{2}$", start["localTime"]) and start["dateTime"].endswith("Z")
        assert e["classifications"][0]["segment"] == {"id": "KZFzniwnSyZfZ7v7nJ", "name": "Music"}
        for price in e.get("priceRanges", []):
            assert price["type"] == "standard" and price["currency"] in ISO_4217 and 0 <= price["min"] <= price["max"]
        venue = e["_embedded"]["venues"][0]
        assert VENUE_KEYS <= set(venue)
        assert venue["timezone"] in ZONES and venue["country"]["countryCode"] in ISO_3166_ALPHA2
        assert isinstance(venue["location"]["latitude"], str) and -90 <= float(venue["location"]["latitude"]) <= 90
        assert isinstance(venue["location"]["longitude"], str) and -180 <= float(venue["location"]["longitude"]) <= 180
        if venue["country"]["countryCode"] == "US":
            assert venue["state"]["stateCode"] and venue["dmas"]


def test_event_quirks_present(events):
    statuses = Counter(e["dates"]["status"]["code"] for e in events)
    assert set(statuses) == {"onsale", "offsale", "canceled", "cancelled", "postponed", "rescheduled"}
    assert statuses["onsale"] / len(events) > 0.7
    assert 0.12 < _share(events, lambda e: "timezone" not in e["dates"]) < 0.28
    assert 0.18 < _share(events, lambda e: "priceRanges" not in e) < 0.32
    assert any(p["min"] == p["max"] == 0 for e in events for p in e.get("priceRanges", []))
    postponed = [e for e in events if e["dates"]["status"]["code"] == "postponed" and "localDate" in e["dates"]["start"]]
    assert postponed and all("initialStartDate" in e["dates"] for e in postponed)
    assert any(e["sales"]["public"]["startDateTime"] == "1900-01-01T18:00:00Z" for e in events)
    assert any(e["dates"]["start"]["dateTBA"] for e in events)
    starts = [e["dates"]["start"] for e in events]
    assert any(s["timeTBA"] and "localDate" in s and "dateTime" not in s for s in starts)
    assert any(e["classifications"][0]["genre"]["name"] == "Undefined" for e in events)
    assert any("attractions" not in e["_embedded"] for e in events)
    assert any(len(e["_embedded"].get("attractions", [])) > 1 for e in events)
    cities = {v["city"]["name"] for e in events for v in e["_embedded"]["venues"]}
    assert any(c != c.strip() for c in cities)
    assert len({v["country"]["countryCode"] for e in events for v in e["_embedded"]["venues"]}) >= 8


def test_matinee_and_evening_are_two_events(events):
    shows = Counter(
        (e["_embedded"]["attractions"][0]["id"], e["_embedded"]["venues"][0]["id"], e["dates"]["start"]["localDate"])
        for e in events
        if "attractions" in e["_embedded"] and "localDate" in e["dates"]["start"]
    )
    assert any(count >= 2 for count in shows.values())


def test_attraction_links_are_sparse_and_valid(attractions):
    assert len(attractions) > 250
    assert 0.45 < _share(attractions.values(), lambda a: "spotify" in a.get("externalLinks", {})) < 0.72
    assert 0.38 < _share(attractions.values(), lambda a: "musicbrainz" in a.get("externalLinks", {})) < 0.62
    assert any("externalLinks" not in a for a in attractions.values())
    for a in attractions.values():
        assert a["type"] == "attraction" and a["classifications"] and "upcomingEvents" in a
        for link in a.get("externalLinks", {}).get("spotify", []):
            assert re.match(r"^https://open\.spotify\.com/artist/[0-9A-Za-z]{22}$", link["url"])
        for link in a.get("externalLinks", {}).get("musicbrainz", []):
            assert MBID.match(link["id"])


def test_cross_source_links_agree(catalog, attractions):
    spotify, mb = DemoSpotify(catalog), DemoMusicBrainz(catalog)
    checked = 0
    for a in attractions.values():
        links = a.get("externalLinks", {})
        sp_id = links["spotify"][0]["url"].rsplit("/", 1)[1] if "spotify" in links else None
        mbid = links["musicbrainz"][0]["id"] if "musicbrainz" in links else None
        if sp_id:
            artist = spotify.get_artist(sp_id)
            assert normalize_name(artist["name"]) == normalize_name(a["name"])
            url = mb.lookup_url(f"https://open.spotify.com/artist/{sp_id}")
            if url:
                assert url["relations"][0]["artist"]["id"] == mbid or mbid is None
        if mbid:
            found = mb.lookup_artist(mbid)
            assert normalize_name(found["name"]) == normalize_name(a["name"])
            rel = [r["url"]["resource"] for r in found["relations"] if "open.spotify.com/artist/" in r["url"]["resource"]]
            if rel and sp_id:
                assert rel == [f"https://open.spotify.com/artist/{sp_id}"]
                checked += 1
    assert checked > 20


def test_some_artists_are_reachable_only_by_name(catalog, attractions):
    spotify, mb = DemoSpotify(catalog), DemoMusicBrainz(catalog)
    unlinked = [a for a in attractions.values() if not {"spotify", "musicbrainz"} & set(a.get("externalLinks", {}))]
    found = [
        a
        for a in unlinked
        if spotify.search_artists(a["name"])["artists"]["total"] and mb.search_artists(f'artist:"{a["name"].strip()}"')["count"]
    ]
    assert len(found) >= 5


def test_same_name_artists_are_told_apart_by_disambiguation(catalog):
    names = Counter(a.name for a in catalog.artists)
    shared = [n for n, k in names.items() if k > 1]
    assert 3 <= len(shared) <= 8
    mb, spotify = DemoMusicBrainz(catalog), DemoSpotify(catalog)
    for name in shared:
        top = [x for x in mb.search_artists(f'artist:"{name}"')["artists"] if x["score"] == 100]
        assert len(top) >= 2 and len({x["disambiguation"] for x in top}) == len(top) and len({x["id"] for x in top}) == len(top)
        items = spotify.search_artists(name.upper(), limit=10)["artists"]["items"]
        assert sum(normalize_name(i["name"]) == normalize_name(name) for i in items) >= 2


def test_names_carry_whitespace_and_accent_quirks(catalog):
    assert any(a.tm_name != a.tm_name.strip() or "  " in a.tm_name for a in catalog.artists)
    assert any(a.name != a.name.encode("ascii", "ignore").decode() for a in catalog.artists)
    assert any(a.tm_name != a.name and a.tm_name.isascii() and not a.name.isascii() for a in catalog.artists)


def test_spotify_shapes_and_search_paging(catalog):
    client = DemoSpotify(catalog)
    artists = [client.get_artist(a.spotify_id) for a in catalog.artists if a.spotify_id]
    for artist in artists:
        assert {"id", "name", "type", "uri", "href", "external_urls", "images"} <= set(artist)
        assert SPOTIFY_ID.match(artist["id"]) and artist["uri"] == f"spotify:artist:{artist['id']}"
        assert artist["external_urls"]["spotify"].endswith(artist["id"])
    assert 0.35 < _share(artists, lambda a: "popularity" in a and "followers" in a and "genres" in a) < 0.65
    assert any(a["images"] == [] for a in artists)
    assert client.get_artist("0" * 22) is None
    seen, offset = [], 0
    while True:  # "The" matches many names: page until `next` is null
        page = client.search_artists("the", limit=10, offset=offset)["artists"]
        assert set(page) == {"href", "limit", "next", "offset", "previous", "total", "items"}
        seen += [i["id"] for i in page["items"]]
        if page["next"] is None:
            break
        offset += 10
    assert len(seen) == len(set(seen)) == page["total"] > 10
    empty = client.search_artists("no such artist at all")["artists"]
    assert empty["total"] == 0 and empty["items"] == [] and empty["next"] is None
    with pytest.raises(ValueError):
        client.search_artists("x", limit=50)


def test_musicbrainz_shapes(catalog):
    client = DemoMusicBrainz(catalog)
    found = [client.lookup_artist(a.mbid) for a in catalog.artists if a.mbid]
    for artist in found:
        assert {
            "id",
            "name",
            "sort-name",
            "type",
            "life-span",
            "disambiguation",
            "genres",
            "tags",
            "aliases",
            "relations",
        } <= set(artist)
        assert artist["type"] in ("Person", "Group") and MBID.match(artist["id"])
        begin = artist["life-span"]["begin"]
        assert begin is None or re.match(r"^\d{4}(-\d{2}(-\d{2})?)?$", begin)
        assert all(r["target-type"] == "url" and r["url"]["resource"].startswith("https://") for r in artist["relations"])
    assert any("country" not in a for a in found) and any(a.get("country") == "XW" for a in found)
    assert {len(a["life-span"]["begin"] or "") for a in found} >= {4, 7, 10}
    assert any(g["count"] < 0 for a in found for g in a["genres"])
    assert any(r["type"] == "streaming" for a in found for r in a["relations"])
    result = client.search_artists(found[0]["name"])
    assert {"created", "count", "offset", "artists"} <= set(result)
    assert result["artists"][0]["score"] == 100 and all(isinstance(a["score"], int) for a in result["artists"])
    assert client.lookup_artist("00000000-0000-4000-8000-000000000000") is None
    assert client.lookup_url("https://open.spotify.com/artist/" + "0" * 22) is None
    assert client.stats.requests == len(found) + 3


def test_same_inputs_same_payloads_and_ids_survive_a_new_anchor(catalog, events):
    client = DemoTicketmaster(DemoCatalog(seed=7, anchor=ANCHOR))
    again = [e for p in client.search_events(*EVERYTHING) for e in p["_embedded"]["events"]]
    assert json.dumps(again, sort_keys=True) == json.dumps(events, sort_keys=True)
    moved = DemoCatalog(seed=7, anchor=ANCHOR + timedelta(days=10))
    assert [e.id for e in moved.events] == [e.id for e in catalog.events]
    assert all(
        m.local_date == o.local_date + timedelta(days=10)
        for m, o in zip(moved.events, catalog.events, strict=True)
        if o.local_date
    )
    assert [a.spotify_id for a in moved.artists] == [a.spotify_id for a in catalog.artists]
    other = DemoCatalog(seed=8, anchor=ANCHOR)
    assert not {e.id for e in other.events} & {e.id for e in catalog.events}
