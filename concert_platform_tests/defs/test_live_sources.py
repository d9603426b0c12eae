"""The live clients end to end: three API stubs on 127.0.0.1, the raw and model
assets materialised against them, identities resolved, and no secret anywhere."""

import logging
import re
from itertools import pairwise
from pathlib import Path

import dagster as dg
import pytest

from concert_platform.defs.assets.catalog import artists, concerts, venues
from concert_platform.defs.assets.sources import musicbrainz_artists_raw, spotify_artists_raw, ticketmaster_events_raw
from concert_platform.defs.resources import build_resources
from concert_platform.settings import Settings
from concert_platform.storage.warehouse import make_warehouse

from ..stub_http import Reply, Seen, StubServer
from ..transforms.payloads import (
    MBID_A,
    MBID_B,
    MBID_TWIN_1,
    MBID_TWIN_2,
    SPOTIFY_A,
    SPOTIFY_B,
    attraction,
    event,
    mb_artist,
    spotify_artist,
    venue,
)

TM_KEY = "tm-key-DO-NOT-LEAK-1234"
SPOTIFY_SECRET = "sp-secret-DO-NOT-LEAK-5678"
TOKEN = "bearer-DO-NOT-LEAK-9012"
SECRETS = (TM_KEY, SPOTIFY_SECRET, TOKEN)
SPOTIFY_C = "6olE6TJLqED3rqDCT0FyPh"
MBID_BJORK = "33333333-3333-4333-8333-333333333333"

EVENTS = [
    event("E1", [attraction("A1", "Radiohead", spotify=SPOTIFY_A, mbid=MBID_A), attraction("A3", "Twins")]),
    event("E2", [attraction("A2", "Nirvana", spotify=SPOTIFY_B)], status="canceled"),
    event("E3", [attraction("A4", "Björk")], tz=None, venue_obj=venue("KovZ2", tz="Europe/London")),
]
MB_ARTISTS = {MBID_A: mb_artist(MBID_A, "Radiohead", spotify=SPOTIFY_A), MBID_B: mb_artist(MBID_B, "Nirvana", country="US")}
MB_SEARCH = {
    "Twins": [
        {**mb_artist(MBID_TWIN_1, "Twins", disambiguation="UK duo"), "score": 100},
        {**mb_artist(MBID_TWIN_2, "Twins", disambiguation="Finnish band"), "score": 100},
    ],
    "Björk": [{**mb_artist(MBID_BJORK, "Björk", country="IS"), "score": 100}],
}
SPOTIFY_ARTISTS = {
    SPOTIFY_A: spotify_artist(SPOTIFY_A, "Radiohead", popularity=79),
    SPOTIFY_B: spotify_artist(SPOTIFY_B, "Nirvana"),
}
SPOTIFY_SEARCH = {"Twins": [spotify_artist(SPOTIFY_C, "Twins")]}


def _events(seen: Seen) -> Reply:
    start, end = seen.query["startDateTime"][0], seen.query["endDateTime"][0]
    found = [e for e in EVENTS if start <= e["dates"]["start"]["dateTime"] < end]
    page = {"size": 200, "totalElements": len(found), "totalPages": 1 if found else 0, "number": 0}
    return Reply(200, {"_embedded": {"events": found}, "page": page} if found else {"page": page})


def _mb_search(seen: Seen) -> Reply:
    name = re.search(r'artist:"(.*)"', seen.query["query"][0]).group(1)
    hits = MB_SEARCH.get(name, [])
    return Reply(200, {"created": "2026-11-25T00:00:00Z", "count": len(hits), "offset": 0, "artists": hits})


def _mb_url(seen: Seen) -> Reply:
    if seen.query["resource"][0] == f"https://open.spotify.com/artist/{SPOTIFY_B}":
        return Reply(
            200,
            {
                "id": "u-1",
                "resource": seen.query["resource"][0],
                "relations": [{"type": "free streaming", "target-type": "artist", "artist": {"id": MBID_B, "name": "Nirvana"}}],
            },
        )
    return Reply(404, {"error": "Not Found"})


def _spotify_search(seen: Seen) -> Reply:
    assert seen.headers.get("Authorization") == f"Bearer {TOKEN}"
    items = SPOTIFY_SEARCH.get(seen.query["q"][0], [])
    return Reply(
        200,
        {"artists": {"href": "x", "items": items, "limit": 10, "next": None, "offset": 0, "previous": None, "total": len(items)}},
    )


@pytest.fixture
def stub():
    with StubServer() as server:
        server.add("GET", "/discovery/v2/events.json", _events)
        server.add("POST", "/api/token", Reply(200, {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600}))
        for sid, payload in SPOTIFY_ARTISTS.items():
            server.add("GET", f"/v1/artists/{sid}", Reply(200, payload))
        server.add("GET", "/v1/search", _spotify_search)
        for mbid, payload in MB_ARTISTS.items():
            server.add("GET", f"/ws/2/artist/{mbid}", Reply(200, payload))
        server.add("GET", "/ws/2/artist", _mb_search)
        server.add("GET", "/ws/2/url", _mb_url)
        yield server


def test_live_sources_and_models_against_the_stubs(stub, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("TICKETMASTER_API_KEY", TM_KEY)  # from the environment, as in production
    monkeypatch.setenv("CONCERT_SOURCES", "live")  # credentials alone never switch a source to live
    settings = Settings(
        _env_file=None,
        lake_url=str(tmp_path / "lake"),
        landing_url=str(tmp_path / "landing"),
        warehouse_url=f"duckdb:///{tmp_path}/w.duckdb",
        demo_date="2027-03-12",
        ticketmaster_api_url=f"{stub.url}/discovery/v2",
        spotify_api_url=f"{stub.url}/v1",
        spotify_token_url=f"{stub.url}/api/token",
        musicbrainz_api_url=f"{stub.url}/ws/2",
        spotify_client_id="concert-platform",
        spotify_client_secret=SPOTIFY_SECRET,
        musicbrainz_user_agent="ConcertPlatform/0.1 ( data@concert.example )",
    )
    run_config = {"ops": {"ticketmaster_events_raw": {"config": {"days_back": 0, "days_ahead": 7}}}}
    result = dg.materialize(
        [ticketmaster_events_raw, musicbrainz_artists_raw, spotify_artists_raw, artists, venues, concerts],
        resources=build_resources(settings),
        run_config=run_config,
    )
    assert result.success

    warehouse = make_warehouse(settings.warehouse_url, settings.warehouse_schema)
    by_tm = {a["ticketmaster_id"]: a for a in warehouse.read("artists").to_pylist()}
    assert (by_tm["A1"]["artist_id"], by_tm["A1"]["spotify_id"], by_tm["A1"]["match_method"]) == (MBID_A, SPOTIFY_A, "id_link")
    assert by_tm["A1"]["popularity"] == 79
    assert (by_tm["A2"]["musicbrainz_id"], by_tm["A2"]["country"]) == (MBID_B, "US")  # via the URL relation + its lookup
    assert by_tm["A3"]["musicbrainz_id"] is None and "ambiguous: 2 MusicBrainz artists" in by_tm["A3"]["match_note"]
    assert (by_tm["A3"]["spotify_id"], by_tm["A3"]["match_method"]) == (SPOTIFY_C, "name_match")
    assert (by_tm["A4"]["artist_id"], by_tm["A4"]["match_method"]) == (MBID_BJORK, "name_match")
    by_id = {c["concert_id"]: c for c in warehouse.read("concerts").to_pylist()}
    assert by_id["E1"]["artist_id"] == MBID_A and by_id["E1"]["supporting_artist_ids"] == ["tm:A3"]
    assert by_id["E2"]["status"] == "cancelled" and by_id["E3"]["timezone"] == "Europe/London"

    # What each API was asked, and how it was paced.
    [tm_call] = stub.hits("/discovery/v2/events.json")
    assert tm_call.query["segmentId"] == ["KZFzniwnSyZfZ7v7nJ"] and tm_call.query["apikey"] == [TM_KEY]
    assert len(stub.hits("/api/token")) == 1
    mb_calls = sorted(r.at for r in stub.requests if r.path.startswith("/ws/2/"))
    assert len(mb_calls) == 5 and all(b - a >= 0.95 for a, b in pairwise(mb_calls))
    source_meta = result.asset_materializations_for_node("musicbrainz_artists_raw")[0].metadata
    assert source_meta["requests"].value == 5 and source_meta["failures"].value == 0
    for raw_asset in ("ticketmaster_events_raw", "musicbrainz_artists_raw", "spotify_artists_raw"):
        assert result.asset_materializations_for_node(raw_asset)[0].metadata["source_mode"].value == "live"

    # No secret in the logs, the run's events, or anything stored in the lake or warehouse.
    stored = b"".join(p.read_bytes() for p in Path(tmp_path).rglob("*") if p.is_file())
    events_text = "".join(repr(e) for e in result.all_events)
    for secret in SECRETS:
        assert secret not in caplog.text and secret not in events_text
        assert secret.encode() not in stored
