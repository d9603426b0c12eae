"""Which API calls the raw artist assets make, decided from what is already known.

Pure: given Ticketmaster's attractions (and, for Spotify, what MusicBrainz
returned) list the requests, strongest first, so no name search is spent on
an artist an id already identifies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from concert_platform.transforms.identity import SourceIndex, normalise_name, spotify_artist_url, spotify_ids_of
from concert_platform.transforms.ticketmaster import AttractionRef


@dataclass(frozen=True)
class Request:
    kind: Literal["lookup", "url", "search"]
    value: str  # an id, a URL resource, or a name


def musicbrainz_requests(attractions: Iterable[AttractionRef]) -> list[Request]:
    requests: dict[Request, None] = {}
    for a in attractions:
        if a.musicbrainz_ids:
            requests[Request("lookup", a.musicbrainz_ids[0])] = None
        elif a.spotify_ids:
            requests[Request("url", spotify_artist_url(a.spotify_ids[0]))] = None
        else:
            requests[Request("search", a.name)] = None
    return _unique_searches(requests)


def spotify_requests(attractions: Iterable[AttractionRef], musicbrainz: SourceIndex) -> list[Request]:
    requests: dict[Request, None] = {}
    for a in attractions:
        linked = list(a.spotify_ids)
        if not linked and a.musicbrainz_ids:
            linked = spotify_ids_of(musicbrainz.get(a.musicbrainz_ids[0]))
        if linked:
            requests[Request("lookup", linked[0])] = None
        else:
            requests[Request("search", a.name)] = None
    return _unique_searches(requests)


def _unique_searches(requests: dict[Request, None]) -> list[Request]:
    # Two attractions spelled "Foo" and " foo " are one search.
    seen, out = set(), []
    for r in requests:
        key = (r.kind, normalise_name(r.value) if r.kind == "search" else r.value)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out
