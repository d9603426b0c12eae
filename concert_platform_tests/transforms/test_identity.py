import pyarrow as pa

from concert_platform.models import Artist
from concert_platform.transforms.fetch_plan import Request, musicbrainz_requests, spotify_requests
from concert_platform.transforms.identity import (
    SourceIndex,
    id_lookup,
    normalise_name,
    resolve_artists,
    search_lookup,
    spotify_artist_url,
    url_lookup,
)
from concert_platform.transforms.raw import raw_row, raw_table
from concert_platform.transforms.ticketmaster import AttractionRef

from .payloads import MBID_A, MBID_B, MBID_TWIN_1, MBID_TWIN_2, SPOTIFY_A, SPOTIFY_B, mb_artist, spotify_artist

SPOTIFY_C = "6olE6TJLqED3rqDCT0FyPh"
SPOTIFY_D = "3WrFJ7ztbogyGnTHbHJFl2"

ATTRACTIONS = [
    AttractionRef("K1", "Radiohead", spotify_ids=(SPOTIFY_A,), musicbrainz_ids=(MBID_A,)),
    AttractionRef("K2", "Nirvana", spotify_ids=(SPOTIFY_B,)),
    AttractionRef(
        "K3",
        "Twins",
    ),
    AttractionRef("K4", "Björk", musicbrainz_ids=("33333333-3333-4333-8333-333333333333",)),
    AttractionRef("K5", "Radiohead (UK)", musicbrainz_ids=(MBID_A,)),
    AttractionRef("K6", "Nobody Knows"),
]


def _sources():
    mb = raw_table(
        [
            raw_row(MBID_A, "artist", id_lookup(MBID_A), mb_artist(MBID_A, "Radiohead", spotify=SPOTIFY_A)),
            raw_row(
                "url-1",
                "url",
                url_lookup(spotify_artist_url(SPOTIFY_B)),
                {
                    "id": "url-1",
                    "resource": spotify_artist_url(SPOTIFY_B),
                    "relations": [
                        {"type": "free streaming", "target-type": "artist", "artist": {"id": MBID_B, "name": "Nirvana"}}
                    ],
                },
            ),
            raw_row(MBID_B, "artist", id_lookup(MBID_B), mb_artist(MBID_B, "Nirvana", country="US")),
            raw_row(
                MBID_TWIN_1,
                "search_hit",
                search_lookup("Twins"),
                {**mb_artist(MBID_TWIN_1, "Twins", disambiguation="UK duo"), "score": 100},
            ),
            raw_row(
                MBID_TWIN_2,
                "search_hit",
                search_lookup("Twins"),
                {**mb_artist(MBID_TWIN_2, "Twins", disambiguation="Finnish band"), "score": 100},
            ),
            raw_row(
                "33333333-3333-4333-8333-333333333333",
                "artist",
                id_lookup("33333333-3333-4333-8333-333333333333"),
                mb_artist("33333333-3333-4333-8333-333333333333", "Björk", spotify=SPOTIFY_D, country="XW"),
            ),
        ]
    )
    sp = raw_table(
        [
            raw_row(SPOTIFY_A, "artist", id_lookup(SPOTIFY_A), spotify_artist(SPOTIFY_A, "Radiohead", popularity=79)),
            raw_row(SPOTIFY_C, "search_hit", search_lookup("Twins"), spotify_artist(SPOTIFY_C, "Twins")),
            raw_row(
                "7aaaaaaaaaaaaaaaaaaaaa",
                "search_hit",
                search_lookup("Twins"),
                spotify_artist("7aaaaaaaaaaaaaaaaaaaaa", "Twins Tribute"),
            ),
        ]
    )
    return SourceIndex.from_raw(sp), SourceIndex.from_raw(mb)


def test_identities_resolve_by_ids_first_and_never_guess():
    spotify, musicbrainz = _sources()
    resolution = resolve_artists(ATTRACTIONS, spotify, musicbrainz)
    by_tm = {a["ticketmaster_id"]: a for a in resolution.artists}

    radiohead = by_tm["K1"]
    assert (radiohead["artist_id"], radiohead["spotify_id"], radiohead["match_method"]) == (MBID_A, SPOTIFY_A, "id_link")
    assert radiohead["ticketmaster_ids"] == ["K1", "K5"]  # K5 names the same MBID: one artist
    assert radiohead["popularity"] == 79 and radiohead["genres"] == ["art rock"] and radiohead["country"] == "GB"
    assert resolution.artist_ids["K5"] == MBID_A

    nirvana = by_tm["K2"]
    assert nirvana["musicbrainz_id"] == MBID_B and nirvana["match_method"] == "id_link"  # spotify id came from TM
    assert nirvana["country"] == "US"

    twins = by_tm["K3"]
    assert twins["musicbrainz_id"] is None
    assert "ambiguous: 2 MusicBrainz artists" in twins["match_note"] and "Finnish band" in twins["match_note"]
    assert twins["spotify_id"] == SPOTIFY_C and twins["match_method"] == "name_match"

    bjork = by_tm["K4"]
    assert bjork["spotify_id"] == SPOTIFY_D and bjork["country"] is None  # XW is not a country

    nobody = by_tm["K6"]
    assert (nobody["artist_id"], nobody["match_method"]) == ("tm:K6", "unmatched")

    for artist in resolution.artists:
        Artist.model_validate(artist)


def test_a_unique_name_match_then_a_url_relation():
    spotify, musicbrainz = _sources()
    bjork_id = "33333333-3333-4333-8333-333333333333"
    musicbrainz.by_search[search_lookup("Bjork")].append({**mb_artist(bjork_id, "Björk"), "score": 100})
    musicbrainz.by_search[search_lookup("Bjork")].append({**mb_artist(MBID_B, "Bjork Tribute"), "score": 100})
    [artist] = resolve_artists([AttractionRef("K9", "Bjork")], spotify, musicbrainz).artists
    assert artist["musicbrainz_id"] == bjork_id  # the tribute act's name is not an exact match
    assert artist["spotify_id"] == SPOTIFY_D
    assert artist["match_method"] == "url_relation"
    assert "name match, score 100" in artist["match_note"]
    assert resolve_artists([], spotify, musicbrainz).artists == []


def test_fetch_plans_spend_no_search_on_known_ids():
    mb_plan = musicbrainz_requests(ATTRACTIONS + [AttractionRef("K7", " twins ")])
    assert Request("lookup", MBID_A) in mb_plan
    assert Request("url", spotify_artist_url(SPOTIFY_B)) in mb_plan
    assert [r for r in mb_plan if r.kind == "search"] == [Request("search", "Twins"), Request("search", "Nobody Knows")]
    _, musicbrainz = _sources()
    sp_plan = spotify_requests(ATTRACTIONS, musicbrainz)
    assert Request("lookup", SPOTIFY_D) in sp_plan  # learned from MusicBrainz' url relation
    assert Request("search", "Björk") not in sp_plan


def test_normalised_names():
    assert normalise_name("  Björk ") == normalise_name("bjork") == "bjork"
    assert normalise_name(None) == ""


def test_raw_table_shape():
    table = raw_table([raw_row("x", "artist", "id:x", {"name": "X", "id": "x"})])
    assert table.schema.field("fetched_at").type == pa.timestamp("us", "UTC")
    assert table["name"].to_pylist() == ["X"]
