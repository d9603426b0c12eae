"""The live MusicBrainz Web Service v2 client (see shared/API_NOTES.md, MusicBrainz).

Everything HTTP goes through ``ApiClient``: pacing, timeouts, 503 handling
(``Retry-After`` honoured up to the policy's cap, else exponential backoff),
404 → None, other 4xx → ``SourceUnavailable`` at once. This module adds what
is particular to MusicBrainz:

- ``fmt=json`` on every request and a meaningful User-Agent
  (``App/1.0 ( contact )``); a missing or generic agent is refused at
  construction, because MusicBrainz throttles such agents hard.
- One pace per host for the whole process: the limit (one request per second
  on average) is per IP, so every client instance talking to the same host
  shares one ``RateLimiter`` (``limiter_for``). Retries are paced too.
- Payloads are returned as MusicBrainz shapes them; only the minimum the
  assets rely on (a JSON object, an ``id`` on artists and search hits, an
  ``artists`` list in searches) is checked, and a response without it fails
  the unit with ``SourceUnavailable`` instead of crashing the asset.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import quote, urlsplit

import requests

from concert_platform.sources.base import ClientStats, SourceUnavailable
from concert_platform.sources.http import ApiClient, HttpPolicy, RateLimiter

__all__ = ["ARTIST_INC", "LiveMusicBrainz", "URL_INC", "limiter_for", "validate_user_agent"]

ARTIST_INC = "aliases+genres+tags+url-rels"
URL_INC = "artist-rels"
SEARCH_LIMIT_MIN, SEARCH_LIMIT_MAX = 1, 100

# ``App/1.2.3 ( me@example.org )`` or ``App/1.2.3 ( https://example.org/app )``
_USER_AGENT = re.compile(
    r"^(?P<app>[A-Za-z0-9][\w.\-]*)/(?P<version>[A-Za-z0-9][\w.\-+]*) \(\s*(?P<contact>[^()\s][^()\r\n]*?)\s*\)$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://[^\s/]+\.[^\s]+$")
# Library and browser defaults, and names that only say "an application".
_GENERIC_APPS = {
    "python-requests",
    "requests",
    "python-urllib",
    "urllib",
    "python",
    "python-httpx",
    "httpx",
    "aiohttp",
    "curl",
    "wget",
    "mozilla",
    "java",
    "go-http-client",
    "okhttp",
    "axios",
    "node-fetch",
    "libwww-perl",
    "app",
    "myapp",
    "application",
    "test",
    "client",
    "useragent",
    "user-agent",
    "unknown",
}
_PLACEHOLDER_CONTACTS = {"contact", "email", "e-mail", "url", "you@example.com", "me@example.com"}

_LIMITERS: dict[str, RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def validate_user_agent(user_agent: str | None) -> str:
    """The agent, stripped, when it looks like ``App/version ( contact )`` with a real app name and contact."""
    agent = (user_agent or "").strip()
    match = _USER_AGENT.match(agent)
    if not match:
        raise ValueError(f"MusicBrainz needs a User-Agent like 'ConcertPlatform/1.0 ( ops@example.org )', got {agent!r}")
    app, contact = match["app"].lower(), match["contact"].strip()
    if app in _GENERIC_APPS:
        raise ValueError(f"MusicBrainz throttles generic User-Agents; name the application, not {match['app']!r}")
    if contact.lower() in _PLACEHOLDER_CONTACTS or not (_EMAIL.match(contact) or _URL.match(contact)):
        raise ValueError(f"the User-Agent contact must be an e-mail address or an http(s) URL, got {contact!r}")
    return agent


def limiter_for(api_url: str, min_interval: float) -> RateLimiter:
    """The process-wide limiter for the API's host (the limit is per IP, not per client).

    Clients asking for different intervals on one host get the longest of them.
    """
    host = (urlsplit(api_url).hostname or "").lower()
    if not host:
        raise ValueError(f"not an absolute URL: {api_url!r}")
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(host)
        if limiter is None:
            limiter = _LIMITERS[host] = RateLimiter(min_interval)
        elif min_interval > limiter.min_interval:
            limiter.min_interval = min_interval
        return limiter


class LiveMusicBrainz:
    """``MusicBrainzClient`` over the real web service."""

    def __init__(
        self,
        api_url: str,
        user_agent: str,
        *,
        min_interval: float = 1.0,
        policy: HttpPolicy = HttpPolicy(),
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if min_interval < 0:
            raise ValueError("min_interval must be >= 0 seconds")
        agent = validate_user_agent(user_agent)
        self.stats = ClientStats(source_mode="live")
        self.limiter = limiter_for(api_url, min_interval)
        self.api = ApiClient(
            api_url,
            stats=self.stats,
            limiter=self.limiter,
            policy=policy,
            headers={"User-Agent": agent, "Accept": "application/json"},
            session=session,
            sleep=sleep,
        )

    def lookup_artist(self, mbid: str) -> dict | None:
        unit = f"musicbrainz artist {mbid!r}"
        try:
            canonical = str(uuid.UUID(str(mbid).strip()))
        except ValueError:
            # MusicBrainz answers 400 to a malformed MBID: same outcome, without spending a paced request.
            raise SourceUnavailable(f"{unit}: not an MBID") from None
        artist = self._get(f"artist/{canonical}", {"inc": ARTIST_INC}, unit)
        if artist is not None and not isinstance(artist.get("id"), str):
            raise SourceUnavailable(f"{unit}: the response has no artist id")
        return artist

    def search_artists(self, query: str, limit: int = 5, offset: int = 0) -> dict:
        """``query`` is a Lucene query (``artist:"Name"``); ``limit`` is clamped to 1..100, ``offset`` to >= 0."""
        unit = f"musicbrainz search {query!r}"
        limit = max(SEARCH_LIMIT_MIN, min(SEARCH_LIMIT_MAX, int(limit)))
        params = {"query": query, "limit": str(limit)}
        if offset:
            params["offset"] = str(max(0, int(offset)))
        result = self._get("artist", params, unit)
        if result is None:  # search never answers 404 for no hits: the URL is wrong
            raise SourceUnavailable(f"{unit}: HTTP 404 (is the API URL right?)")
        hits = result.get("artists")
        if not isinstance(hits, list) or not all(isinstance(h, dict) and isinstance(h.get("id"), str) for h in hits):
            raise SourceUnavailable(f"{unit}: the response is not an artist search result")
        return result

    def lookup_url(self, resource: str) -> dict | None:
        return self._get("url", {"resource": resource, "inc": URL_INC}, f"musicbrainz url {resource!r}")

    def _get(self, path: str, params: dict, unit: str) -> dict | None:
        body = self.api.get_json(quote(path, safe="/"), {**params, "fmt": "json"}, unit=unit)
        if body is not None and not isinstance(body, dict):
            raise SourceUnavailable(f"{unit}: the response is not a JSON object")
        return body
