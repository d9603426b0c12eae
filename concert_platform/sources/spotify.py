"""Live Spotify Web API client (client-credentials flow) on the shared ``ApiClient``.

Why not spotipy: spotipy only refreshes a token when its own clock says it has
expired (a server-side 401 "The access token expired" is raised, not retried),
its ``SpotifyException`` messages and error logs carry the request URL and the
raw error body, and its retry loop lives in urllib3. ``ApiClient`` already gives
us pacing, timeouts, a capped ``Retry-After``, 5xx backoff, a single refresh on
401 and redaction, all tested, so the only Spotify-specific part is the token.

What this client deliberately does:

* ``get_artist`` is ``GET /artists/{id}``; there is no batch method, because
  ``GET /artists?ids=`` answers 403 for Development Mode apps (API_NOTES).
* ``search_artists`` caps ``limit`` at 10 (Spotify answers 400 above it).
* The token is fetched lazily, cached until shortly before ``expires_in``, and
  fetched again once when the API answers 401.
* The client secret, the Basic credentials and every bearer token are redacted
  from every message this client raises; it logs nothing.
* ``stats.failures``/``failed_units`` are left to the caller (the assets count
  each ``SourceUnavailable`` themselves).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from urllib.parse import quote

import requests

from concert_platform.sources.base import ClientStats, SourceUnavailable
from concert_platform.sources.http import ApiClient, HttpPolicy, RateLimiter

API_URL = "https://api.spotify.com/v1"
TOKEN_URL = "https://accounts.spotify.com/api/token"
SEARCH_MAX_LIMIT = 10
SEARCH_MAX_OFFSET = 1000
TOKEN_EXPIRY_MARGIN_S = 60.0  # fetch a new token this long before Spotify's expiry

__all__ = ["API_URL", "TOKEN_URL", "LiveSpotify"]


class LiveSpotify:
    """``SpotifyClient`` over the real Web API.

    ``sleep`` is used for retry waits (``Retry-After``, backoff); request pacing
    (``min_interval``) always uses real time.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        api_url: str = API_URL,
        token_url: str = TOKEN_URL,
        policy: HttpPolicy = HttpPolicy(),
        min_interval: float = 0.2,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not client_id or not client_secret:
            raise ValueError("Spotify client id and client secret are both required")
        self.stats = ClientStats(source_mode="live")
        self.token_url, self.policy, self.clock = token_url, policy, clock
        self._basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._api = ApiClient(
            api_url,
            stats=self.stats,
            limiter=RateLimiter(min_interval),
            policy=policy,
            secrets=[client_secret, self._basic],
            session=session,
            sleep=sleep,
        )
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.token_fetches = 0

    # --- the SpotifyClient protocol -------------------------------------------------

    def get_artist(self, spotify_id: str) -> dict | None:
        """``GET /artists/{id}``: the artist object, or None when Spotify does not know the id (404)."""
        return self._get(f"artists/{quote(spotify_id, safe='')}", None, unit=f"spotify artist {spotify_id}")

    def search_artists(self, name: str, limit: int = 5, offset: int = 0) -> dict:
        """``GET /search?type=artist``: the whole response; ``limit`` is capped at 10 (more is a 400)."""
        limit = max(1, min(int(limit), SEARCH_MAX_LIMIT))
        if not 0 <= offset <= SEARCH_MAX_OFFSET:
            raise ValueError(f"offset must be 0..{SEARCH_MAX_OFFSET}: Spotify answers 400")
        params = {"q": name, "type": "artist", "limit": limit, "offset": offset}
        body = self._get("search", params, unit=f"spotify search {name!r}")
        if body is None:  # a 404 on /search is not "no results": the endpoint is gone or misconfigured
            raise SourceUnavailable(f"spotify search {name!r}: HTTP 404 from the search endpoint")
        return body

    # --- internals ------------------------------------------------------------------

    def _get(self, path: str, params: dict | None, *, unit: str) -> dict | None:
        self._ensure_token(unit)
        return self._api.get_json(path, params, unit=unit, on_unauthorized=lambda: self._refresh(unit))

    def _ensure_token(self, unit: str) -> None:
        with self._lock:
            if self._token is None or self.clock() >= self._expires_at:
                self._fetch_token(unit)

    def _refresh(self, unit: str) -> bool:
        """Called once per request on a 401: drop the token and fetch a new one."""
        with self._lock:
            self._fetch_token(unit)
        return True

    def _fetch_token(self, unit: str) -> None:
        """``POST token_url`` with Basic auth and ``grant_type=client_credentials``. Caller holds the lock."""
        self.token_fetches += 1
        why = None
        try:
            response = self._api.session.post(
                self.token_url,
                data={"grant_type": "client_credentials"},
                headers={"Authorization": f"Basic {self._basic}"},
                timeout=self.policy.timeout_s,
            )
        except requests.RequestException as error:
            why = type(error).__name__
        else:
            if response.status_code == 200:
                try:
                    payload = response.json()
                    token, expires_in = payload["access_token"], float(payload.get("expires_in", 3600))
                    if not isinstance(token, str) or not token:
                        raise ValueError
                except (ValueError, KeyError, TypeError):
                    why = "the token response is not usable"
                else:
                    self._token = token
                    self._expires_at = self.clock() + max(expires_in - TOKEN_EXPIRY_MARGIN_S, 0.0)
                    self._api.secrets.append(token)
                    self._api.session.headers["Authorization"] = f"Bearer {token}"
                    return
            else:
                why = f"HTTP {response.status_code}"
        self._token = None
        self._api.session.headers.pop("Authorization", None)
        raise SourceUnavailable(self._api.redact(f"{unit}: Spotify token request failed ({why})"))
