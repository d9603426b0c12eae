"""Demo clients: the demo catalog served in the exact shapes of Ticketmaster,
Spotify and MusicBrainz (see ``demo_catalog`` for the world they describe)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from concert_platform.sources import demo_payloads as p
from concert_platform.sources.base import ClientStats
from concert_platform.sources.demo_catalog import DEFAULT_ANCHOR, DemoArtist, DemoCatalog, to_utc

__all__ = ["DEFAULT_ANCHOR", "DemoCatalog", "DemoMusicBrainz", "DemoSpotify", "DemoTicketmaster"]


class DemoTicketmaster:
    """``events.json`` over the catalog: music segment, ``sort=id,asc``.

    TBA events have no date to filter on; with ``include_tba`` (the default,
    like ``includeTBA=yes``) every window returns them, so consumers must
    dedupe by event id, as they must with the live API. Events whose time is
    TBA are placed in windows by their (hidden) start.
    """

    def __init__(self, catalog: DemoCatalog, *, page_size: int = 200, include_tba: bool = True):
        if not 1 <= page_size <= 200:
            raise ValueError("DIS1036: size must be between 1 and 200")
        self.catalog, self.page_size, self.include_tba = catalog, page_size, include_tba
        self.stats = ClientStats(source_mode="demo")
        self._sorted = sorted(catalog.events, key=lambda e: e.id)

    def search_events(self, start: datetime, end: datetime) -> Iterator[dict]:
        start, end = to_utc(start), to_utc(end)
        hits = [
            e
            for e in self._sorted
            if (e.starts_at is None and self.include_tba) or (e.starts_at is not None and start <= e.starts_at < end)
        ]
        query = (
            f"startDateTime={p.iso_z(start)}&endDateTime={p.iso_z(end)}&segmentId={p.MUSIC_SEGMENT_ID}"
            f"&includeTBA={'yes' if self.include_tba else 'no'}&sort=id,asc"
        )
        number = 0
        while True:  # an empty result is still one request and one page
            self.stats.requests += 1
            chunk = hits[number * self.page_size : (number + 1) * self.page_size]
            yield p.tm_page([self.catalog.event_payload(e) for e in chunk], query, number, self.page_size, len(hits))
            number += 1
            if number * self.page_size >= len(hits):
                return


class DemoSpotify:
    """``GET /artists/{id}`` and ``/search?type=artist`` (limit max 10, like the live API)."""

    def __init__(self, catalog: DemoCatalog):
        self.catalog, self.stats = catalog, ClientStats(source_mode="demo")
        known = sorted((a for a in catalog.artists if a.spotify_id), key=lambda a: (-a.popularity, a.spotify_id))
        self._by_id = {a.spotify_id: a for a in known}
        self._index = [(p.normalize_name(a.name), a) for a in known]

    def get_artist(self, spotify_id: str) -> dict | None:
        self.stats.requests += 1
        artist = self._by_id.get(spotify_id)
        return p.spotify_artist(artist) if artist else None

    def search_artists(self, name: str, limit: int = 5, offset: int = 0) -> dict:
        self.stats.requests += 1
        if not 1 <= limit <= 10 or not 0 <= offset <= 1000:
            raise ValueError(f"Invalid limit/offset ({limit}/{offset}): Spotify answers 400")
        q = p.search_terms(name)
        exact = [a for n, a in self._index if n == q]
        partial = [a for n, a in self._index if q and q in n and n != q]  # the real search is fuzzy too
        hits = exact + partial
        items = [p.spotify_artist(a) for a in hits[offset : offset + limit]]
        return p.spotify_search(name, items, offset, limit, len(hits))


class DemoMusicBrainz:
    """Artist lookup, Lucene-ish artist search (exact name or alias scores 100) and url lookup."""

    def __init__(self, catalog: DemoCatalog):
        self.catalog, self.stats = catalog, ClientStats(source_mode="demo")
        known = [a for a in catalog.artists if a.mbid]
        self._by_id = {a.mbid: a for a in known}
        self._index = [(p.normalize_name(a.name), {p.normalize_name(x) for x in a.aliases}, a) for a in known]
        self._urls: dict[str, list[tuple[str, DemoArtist]]] = {}
        for a in known:
            for kind, resource in p.mb_url_resources(a):
                self._urls.setdefault(resource.rstrip("/"), []).append((kind, a))

    def lookup_artist(self, mbid: str) -> dict | None:
        self.stats.requests += 1
        artist = self._by_id.get(mbid)
        return p.mb_artist(artist, self.catalog.seed) if artist else None

    def search_artists(self, query: str, limit: int = 5, offset: int = 0) -> dict:
        self.stats.requests += 1
        if not 1 <= limit <= 100:
            raise ValueError("limit must be 1..100: MusicBrainz answers 400")
        q = p.search_terms(query)
        scored = []
        for name, aliases, a in self._index:
            if q and (q == name or q in aliases):
                scored.append((100, a))
            elif q and set(q.split()) <= set(name.split()):
                scored.append((max(40, min(95, 100 * len(q.split()) // len(name.split()))), a))
        scored.sort(key=lambda s: (-s[0], s[1].name, s[1].mbid))
        page = [p.mb_artist(a, self.catalog.seed, score=score) for score, a in scored[offset : offset + limit]]
        created = f"{self.catalog.anchor.isoformat()}T00:00:00.000Z"  # never the clock
        return {"created": created, "count": len(scored), "offset": offset, "artists": page}

    def lookup_url(self, resource: str) -> dict | None:
        self.stats.requests += 1
        artists = self._urls.get(resource.rstrip("/"))
        return p.mb_url_entity(resource, artists, self.catalog.seed) if artists else None
