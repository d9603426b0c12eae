"""The HTTP behaviour every live client shares: pacing, timeouts, retries, redaction.

One ``ApiClient`` per API. It paces requests (``RateLimiter``), honours
``Retry-After`` on 429/503 up to a cap and backs off on 5xx and network
errors, then gives up on that unit of work with ``SourceUnavailable`` so the
caller can record it and go on. Every message it builds has the client's
secrets replaced by ``***``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import requests

from concert_platform.sources.base import ClientStats, SourceUnavailable

RETRYABLE = {429, 500, 502, 503, 504}


class RateLimiter:
    """At most one request per ``min_interval`` seconds, across threads."""

    def __init__(
        self, min_interval: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ):
        self.min_interval, self.clock, self.sleep = min_interval, clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self.clock()
            if now < self._next:
                self.sleep(self._next - now)
                now = self._next
            self._next = now + self.min_interval


@dataclass(frozen=True)
class HttpPolicy:
    timeout_s: float = 10.0
    max_retries: int = 3
    max_retry_after_s: float = 60.0  # a longer Retry-After (Spotify has sent 86400) fails the unit instead
    backoff_s: float = 1.0


class ApiClient:
    def __init__(
        self,
        base_url: str,
        *,
        stats: ClientStats,
        limiter: RateLimiter,
        policy: HttpPolicy = HttpPolicy(),
        headers: dict | None = None,
        secrets: Iterable[str] = (),
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = base_url.rstrip("/")
        self.stats, self.limiter, self.policy, self.sleep = stats, limiter, policy, sleep
        self.session = session or requests.Session()
        self.session.headers.update(headers or {})
        self.secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def get_json(
        self, path: str, params: dict | None = None, *, unit: str, on_unauthorized: Callable[[], bool] | None = None
    ) -> dict | None:
        """The decoded body, or None for 404. Raises ``SourceUnavailable`` when the unit cannot be had."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        attempt, refreshed = 0, False
        while True:
            self.limiter.wait()
            self.stats.requests += 1
            try:
                response = self.session.get(url, params=params, timeout=self.policy.timeout_s)
            except (requests.Timeout, requests.ConnectionError) as error:
                attempt = self._retry_or_fail(unit, attempt, None, f"{type(error).__name__}")
                continue
            status = response.status_code
            if status == 200:
                try:
                    return response.json()
                except ValueError:
                    raise SourceUnavailable(self.redact(f"{unit}: the response is not valid JSON")) from None
            if status == 404:
                return None
            if status == 401 and on_unauthorized and not refreshed:
                refreshed = True
                if on_unauthorized():
                    self.stats.retries += 1
                    continue
            if status in RETRYABLE:
                attempt = self._retry_or_fail(unit, attempt, _retry_after(response.headers), f"HTTP {status}")
                continue
            raise SourceUnavailable(self.redact(f"{unit}: HTTP {status} {response.text[:200]}"))

    def _retry_or_fail(self, unit: str, attempt: int, retry_after: str | None, why: str) -> int:
        wait = _seconds(retry_after)
        if wait is None:
            wait = self.policy.backoff_s * (2**attempt)
        if attempt >= self.policy.max_retries or wait > self.policy.max_retry_after_s:
            raise SourceUnavailable(self.redact(f"{unit}: {why}, gave up after {attempt + 1} attempt(s) (retry in {wait:.0f}s)"))
        self.stats.retries += 1
        self.sleep(wait)
        return attempt + 1


def _retry_after(headers) -> str | None:
    """Seconds to wait: ``Retry-After``, or Ticketmaster's ``Rate-Limit-Reset`` (epoch milliseconds)."""
    if headers.get("Retry-After") is not None:
        return headers["Retry-After"]
    reset = headers.get("Rate-Limit-Reset")
    try:
        return str(max(int(reset) / 1000 - time.time(), 0.0)) if reset is not None else None
    except ValueError:
        return None


def _seconds(retry_after: str | None) -> float | None:
    try:
        return max(float(retry_after), 0.0) if retry_after is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
