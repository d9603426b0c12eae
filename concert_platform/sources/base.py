"""What every source client offers, demo or live.

Clients return payloads exactly as the real API shapes them (see
shared/API_NOTES.md); parsing lives in ``concert_platform.transforms`` so the
same code runs on demo and live data. A live client slots in by implementing
one of these protocols; nothing above ``sources`` changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass
class ClientStats:
    """Counters a client keeps so assets can report what a run cost."""

    requests: int = 0
    retries: int = 0
    failures: int = 0
    failed_units: list[str] = field(default_factory=list)
    # "demo" or "live": the raw assets' metadata shows which data a run loaded.
    source_mode: str | None = None

    def as_metadata(self) -> dict[str, int | str]:
        counts: dict[str, int | str] = {"requests": self.requests, "retries": self.retries, "failures": self.failures}
        return counts if self.source_mode is None else {"source_mode": self.source_mode, **counts}


@runtime_checkable
class TicketmasterClient(Protocol):
    stats: ClientStats

    def search_events(self, start: datetime, end: datetime) -> Iterator[dict]:
        """Yield Discovery v2 ``events.json`` response pages (whole JSON objects)
        for music events starting in [start, end), paging to the real end."""
        ...


@runtime_checkable
class SpotifyClient(Protocol):
    stats: ClientStats

    def get_artist(self, spotify_id: str) -> dict | None:
        """``GET /artists/{id}``: the artist object, or None when unknown (404)."""
        ...

    def search_artists(self, name: str, limit: int = 5) -> dict:
        """``GET /search?type=artist``: the whole response (``{"artists": {paging}}``)."""
        ...


@runtime_checkable
class MusicBrainzClient(Protocol):
    stats: ClientStats

    def lookup_artist(self, mbid: str) -> dict | None:
        """``GET /artist/<mbid>?inc=aliases+genres+tags+url-rels``, or None when unknown (404)."""
        ...

    def search_artists(self, query: str, limit: int = 5) -> dict:
        """``GET /artist?query=…``: the whole search response (``{"count", "offset", "artists"}``)."""
        ...

    def lookup_url(self, resource: str) -> dict | None:
        """``GET /url?resource=…&inc=artist-rels``: the url entity, or None when unknown (404)."""
        ...


class SourceUnavailable(Exception):
    """One unit of work (an artist, a date window) could not be fetched.

    Clients raise it after their own retries; assets record the unit as
    failed and go on with the rest. Messages must never contain credentials.
    """
