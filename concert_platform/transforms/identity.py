"""Cross-source identity: one artist per real artist, and how we know.

Ids beat names. In order: the links Ticketmaster carries (``id_link``), the
URL relations MusicBrainz keeps between itself and Spotify (``url_relation``),
and only then an exact normalised-name match that is the single top-scored
candidate (``name_match``). Several candidates with the same top score are
never guessed between: the artist keeps what is certain and the note says why.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa

from concert_platform.models.codes import ISO_3166_ALPHA2
from concert_platform.transforms.raw import payloads
from concert_platform.transforms.ticketmaster import AttractionRef, spotify_id_from_url

_METHOD_STRENGTH = {"id_link": 3, "url_relation": 2, "name_match": 1, "unmatched": 0}
_ARTIST_TYPES = {"Person", "Group", "Orchestra", "Choir", "Character", "Other"}
# MusicBrainz scores below this are too loose to act on even when unique.
MIN_NAME_SCORE = 90


def normalise_name(name: str | None) -> str:
    decomposed = unicodedata.normalize("NFKD", name or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def spotify_artist_url(spotify_id: str) -> str:
    return f"https://open.spotify.com/artist/{spotify_id}"


def id_lookup(value: str) -> str:
    return f"id:{value}"


def search_lookup(name: str) -> str:
    return f"search:{normalise_name(name)}"


def url_lookup(resource: str) -> str:
    return f"url:{resource}"


@dataclass
class SourceIndex:
    """What one source's raw asset returned, keyed the way resolution asks."""

    by_id: dict[str, dict] = field(default_factory=dict)
    by_search: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    by_url: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    hits_by_id: dict[str, dict] = field(default_factory=dict)

    def get(self, source_id: str | None) -> dict | None:
        """The fullest object known for an id: a lookup, else a search hit."""
        if not source_id:
            return None
        return self.by_id.get(source_id) or self.hits_by_id.get(source_id)

    @classmethod
    def from_raw(cls, table: pa.Table) -> SourceIndex:
        index = cls()
        for row, payload in payloads(table):
            if row["kind"] == "artist":
                index.by_id[row["source_id"]] = payload
            elif row["kind"] == "search_hit":
                index.by_search[row["lookup"]].append(payload)
                index.hits_by_id.setdefault(row["source_id"], payload)
            elif row["kind"] == "url":
                resource = row["lookup"].removeprefix("url:")
                for relation in payload.get("relations") or []:
                    artist_id = (relation.get("artist") or {}).get("id")
                    if artist_id and artist_id not in index.by_url[resource]:
                        index.by_url[resource].append(artist_id)
        return index


@dataclass
class Resolution:
    artists: list[dict]
    artist_ids: dict[str, str]  # ticketmaster attraction id -> artist_id


@dataclass
class _Match:
    attraction: AttractionRef
    spotify_id: str | None = None
    musicbrainz_id: str | None = None
    methods: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        return max(self.methods, key=_METHOD_STRENGTH.__getitem__, default="unmatched")


def resolve_artists(attractions: Iterable[AttractionRef], spotify: SourceIndex, musicbrainz: SourceIndex) -> Resolution:
    groups: dict[str, list[_Match]] = {}
    for attraction in attractions:
        match = _match(attraction, spotify, musicbrainz)
        key = match.musicbrainz_id or (f"spotify:{match.spotify_id}" if match.spotify_id else f"tm:{attraction.ticketmaster_id}")
        groups.setdefault(key, []).append(match)
    artists, artist_ids = [], {}
    for matches in groups.values():
        artist = _artist(matches, spotify, musicbrainz)
        artists.append(artist)
        for match in matches:
            artist_ids[match.attraction.ticketmaster_id] = artist["artist_id"]
    return Resolution(artists, artist_ids)


def _match(attraction: AttractionRef, spotify: SourceIndex, musicbrainz: SourceIndex) -> _Match:
    m = _Match(attraction)
    if attraction.spotify_ids:
        m.spotify_id = attraction.spotify_ids[0]
        m.methods.append("id_link")
        if len(attraction.spotify_ids) > 1:
            m.notes.append(f"Ticketmaster links {len(attraction.spotify_ids)} Spotify ids; kept the first")
    if attraction.musicbrainz_ids:
        m.musicbrainz_id = attraction.musicbrainz_ids[0]
        m.methods.append("id_link")
    if not m.musicbrainz_id and m.spotify_id:
        candidates = musicbrainz.by_url.get(spotify_artist_url(m.spotify_id), [])
        if len(candidates) == 1:
            m.musicbrainz_id = candidates[0]
            m.methods.append("url_relation")
        elif candidates:
            m.notes.append(f"{len(candidates)} MusicBrainz artists claim this Spotify id; none chosen")
    if not m.musicbrainz_id:
        _match_musicbrainz_by_name(m, musicbrainz)
    if not m.spotify_id and m.musicbrainz_id:
        linked = spotify_ids_of(musicbrainz.by_id.get(m.musicbrainz_id))
        if len(linked) == 1:
            m.spotify_id = linked[0]
            m.methods.append("url_relation")
    if not m.spotify_id:
        _match_spotify_by_name(m, spotify)
    return m


def _match_musicbrainz_by_name(m: _Match, musicbrainz: SourceIndex) -> None:
    wanted = normalise_name(m.attraction.name)
    hits = [h for h in musicbrainz.by_search.get(search_lookup(m.attraction.name), []) if normalise_name(h.get("name")) == wanted]
    if not hits:
        return
    top = max(int(h.get("score") or 0) for h in hits)
    best = [h for h in hits if int(h.get("score") or 0) == top]
    if len(best) > 1:
        told_apart = "; ".join(h.get("disambiguation") or "no disambiguation" for h in best)
        m.notes.append(f"ambiguous: {len(best)} MusicBrainz artists named {m.attraction.name!r} scored {top} ({told_apart})")
    elif top >= MIN_NAME_SCORE:
        m.musicbrainz_id = best[0]["id"]
        m.methods.append("name_match")
        m.notes.append(f"MusicBrainz name match, score {top}")
    else:
        m.notes.append(f"best MusicBrainz name match scored {top} < {MIN_NAME_SCORE}; not used")


def _match_spotify_by_name(m: _Match, spotify: SourceIndex) -> None:
    wanted = normalise_name(m.attraction.name)
    hits = [h for h in spotify.by_search.get(search_lookup(m.attraction.name), []) if normalise_name(h.get("name")) == wanted]
    ids = list(dict.fromkeys(h["id"] for h in hits if h.get("id")))
    if len(ids) == 1:
        m.spotify_id = ids[0]
        m.methods.append("name_match")
        m.notes.append("Spotify exact name match")
    elif len(ids) > 1:
        m.notes.append(f"ambiguous: {len(ids)} Spotify artists named {m.attraction.name!r}")


def spotify_ids_of(mb_artist: dict | None) -> list[str]:
    ids = []
    for relation in (mb_artist or {}).get("relations") or []:
        sid = spotify_id_from_url((relation.get("url") or {}).get("resource"))
        if sid and sid not in ids:
            ids.append(sid)
    return ids


def _artist(matches: list[_Match], spotify: SourceIndex, musicbrainz: SourceIndex) -> dict:
    first = matches[0]
    mbid = first.musicbrainz_id
    spotify_id = next((m.spotify_id for m in matches if m.spotify_id), None)
    mb = musicbrainz.get(mbid)
    sp = spotify.get(spotify_id)
    method = max((m.method for m in matches), key=_METHOD_STRENGTH.__getitem__)
    notes = list(dict.fromkeys(n for m in matches for n in m.notes))
    if len(matches) > 1:
        notes.append("merged Ticketmaster attractions " + ", ".join(m.attraction.ticketmaster_id for m in matches))
    country = (mb or {}).get("country")
    artist_type = (mb or {}).get("type")
    return {
        "artist_id": mbid or f"tm:{first.attraction.ticketmaster_id}",
        "name": first.attraction.name,
        "ticketmaster_id": first.attraction.ticketmaster_id,
        "ticketmaster_ids": [m.attraction.ticketmaster_id for m in matches],
        "spotify_id": spotify_id,
        "musicbrainz_id": mbid,
        "match_method": method,
        "match_note": "; ".join(notes) or None,
        "genres": _genres(mb, sp, first.attraction),
        # MusicBrainz uses pseudo-countries (XW worldwide, XE Europe): not a home country.
        "country": country if country in ISO_3166_ALPHA2 else None,
        "artist_type": artist_type if artist_type in _ARTIST_TYPES else None,
        "disambiguation": (mb or {}).get("disambiguation") or None,
        "popularity": (sp or {}).get("popularity"),
        "followers": ((sp or {}).get("followers") or {}).get("total"),
        "image_url": next((i.get("url") for i in (sp or {}).get("images") or [] if i.get("url")), None),
    }


def _genres(mb: dict | None, sp: dict | None, attraction: AttractionRef) -> list[str]:
    ranked = sorted(
        (g for g in (mb or {}).get("genres") or [] if (g.get("count") or 0) > 0 and g.get("name")),
        key=lambda g: (-g["count"], g["name"]),
    )
    names = [g["name"] for g in ranked] or list((sp or {}).get("genres") or [])
    if not names and attraction.genre:
        names = [attraction.genre.lower()]
    return list(dict.fromkeys(n.strip() for n in names if n and n.strip()))[:10]
