"""The live Ticketmaster Discovery v2 client: ``events.json`` over date windows.

Mirrors ``DemoTicketmaster``: music segment (``segmentId``, not
``classificationName``, which also returns film and theatre), ``sort=id,asc``,
``includeTBA=yes`` and whole response pages yielded as they come; the caller
dedupes by event id (TBA events come back in every window, by design: they have
no date to filter on, and dropping them would lose events).

Work is cut into units, one per country (and city, when given) and date window
of ``window_days``. A unit pages from 0 to ``number + 1 >= totalPages`` and never
past the deep-paging ceiling (``size * page < 1000``, DIS1035): when a window
holds more than 1000 events it is split in half, recursively, down to one hour;
a one-hour window still over the ceiling is fetched as far as the API allows and
listed in ``truncated_units``. A unit that fails (``SourceUnavailable`` after
``ApiClient``'s retries, a 400 DIS10xx, a malformed body, an exhausted daily
budget) is recorded in ``stats.failed_units``/``stats.failures`` and the other
units go on.

Pacing: one ``RateLimiter`` (4 requests/s) and a daily budget that every
attempt counts against, retries and 400s included; past it the remaining
units fail without a request (the budget resets at 00:00 UTC; it is per
client instance, not shared across processes). ``sleep`` is what ``ApiClient``
waits with on ``Retry-After``/backoff; the pacing itself always sleeps for real,
since ``RateLimiter`` measures with the real monotonic clock. 429s are waited
out on ``Retry-After`` (capped by ``HttpPolicy.max_retry_after_s``);
``ApiClient`` does not read ``Rate-Limit-Reset``, so a 429 without
``Retry-After`` falls back to exponential backoff. The API key travels as
the ``apikey`` query parameter, so full URLs are never logged, every message is redacted, no
exception is chained to a ``requests`` error (whose text holds the URL), and a
filter on urllib3's logger masks the key in its DEBUG request lines.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta

import requests

from concert_platform.sources.base import ClientStats, SourceUnavailable
from concert_platform.sources.http import ApiClient, HttpPolicy, RateLimiter

log = logging.getLogger(__name__)

MUSIC_SEGMENT_ID = "KZFzniwnSyZfZ7v7nJ"
PAGE_SIZE = 200  # the API's maximum (DIS1036 above it)
DEEP_PAGING_LIMIT = 1000  # only pages with size * page < 1000 are served (DIS1035)
MIN_WINDOW = timedelta(hours=1)


def iso_z(moment: datetime) -> str:
    """The only date format the API accepts (else 400 DIS1015): ``YYYY-MM-DDTHH:mm:ssZ`` in UTC."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _label(start: datetime, end: datetime) -> str:
    """``2026-11-01/2026-11-08`` for whole days, full UTC timestamps for split windows."""
    if start.time() == end.time() == datetime.min.time():
        return f"{start:%Y-%m-%d}/{end:%Y-%m-%d}"
    return f"{iso_z(start)}/{iso_z(end)}"


class _RedactKey(logging.Filter):
    """urllib3 logs every request line at DEBUG, query string (and so ``apikey``) included:
    a filter on its logger replaces the key before any handler sees the record."""

    def __init__(self, secret: str):
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, "***"), None
        return True


def _guard_logs(secret: str) -> None:
    for name in ("urllib3.connectionpool", "urllib3.util.retry", "requests"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactKey) and f.secret == secret for f in logger.filters):
            logger.addFilter(_RedactKey(secret))


class _BudgetedLimiter(RateLimiter):
    """The shared pacing plus a per-UTC-day request budget, checked before every attempt
    (``ApiClient`` calls ``wait`` before each try, so retries count too)."""

    def __init__(self, min_interval: float, daily_budget: int, *, today: Callable[[], date]):
        super().__init__(min_interval)  # real sleep: RateLimiter measures with the real monotonic clock
        self.daily_budget, self.today = daily_budget, today
        self.day: date | None = None
        self.used = 0

    def exhausted(self) -> bool:
        self._roll()
        return self.used >= self.daily_budget

    def wait(self) -> None:
        if self.exhausted():
            raise SourceUnavailable(f"daily request budget of {self.daily_budget} exhausted")
        self.used += 1
        super().wait()

    def _roll(self) -> None:
        day = self.today()
        if day != self.day:
            self.day, self.used = day, 0


class LiveTicketmaster:
    """``TicketmasterClient`` over the real Discovery API (root ``…/discovery/v2``)."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        country_codes: Iterable[str] = ("US",),
        cities: Iterable[str] = (),
        window_days: int = 7,
        policy: HttpPolicy = HttpPolicy(),
        per_second: float = 4,
        daily_budget: int = 5000,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not api_key:
            raise ValueError("a Ticketmaster API key is required")
        if window_days < 1 or per_second <= 0 or daily_budget < 0:
            raise ValueError("window_days >= 1, per_second > 0 and daily_budget >= 0 are required")
        self.country_codes, self.cities = tuple(country_codes), tuple(cities)
        self.window = timedelta(days=window_days)
        self.stats = ClientStats(source_mode="live")
        self.truncated_units: list[str] = []
        self._key = api_key
        _guard_logs(api_key)
        self.limiter = _BudgetedLimiter(1.0 / per_second, daily_budget, today=lambda: datetime.now(UTC).date())
        self.api = ApiClient(
            api_url, stats=self.stats, limiter=self.limiter, policy=policy, secrets=[api_key], session=session, sleep=sleep
        )

    # -- the protocol ---------------------------------------------------------------------------

    def search_events(self, start: datetime, end: datetime) -> Iterator[dict]:
        start, end = _utc(start).replace(microsecond=0), _utc(end).replace(microsecond=0)
        for place in self._places():
            cursor = start
            while cursor < end:
                stop = min(cursor + self.window, end)
                yield from self._window(place, cursor, stop)
                cursor = stop

    # -- internals ------------------------------------------------------------------------------

    def _places(self) -> list[dict]:
        if not self.cities:
            return [{"countryCode": c} for c in self.country_codes]
        return [{"countryCode": c, "city": city} for c in self.country_codes for city in self.cities]

    def _window(self, place: dict, start: datetime, end: datetime) -> Iterator[dict]:
        unit = " ".join(filter(None, [place["countryCode"], place.get("city")])) + f" {_label(start, end)}"
        try:
            if self.limiter.exhausted():
                raise SourceUnavailable(f"daily request budget of {self.limiter.daily_budget} exhausted")
            number = 0
            while True:
                page = self._get(place, start, end, number, unit)
                info = page["page"]
                total, pages = int(info.get("totalElements") or 0), int(info.get("totalPages") or 0)
                if number == 0 and total > DEEP_PAGING_LIMIT and end - start >= 2 * MIN_WINDOW:
                    middle = start + timedelta(seconds=int((end - start).total_seconds()) // 2)
                    log.info("Ticketmaster %s holds %d events, over the paging ceiling: splitting it", unit, total)
                    yield from self._window(place, start, middle)
                    yield from self._window(place, middle, end)
                    return
                yield page
                number += 1
                if number >= pages:
                    return
                if PAGE_SIZE * number >= DEEP_PAGING_LIMIT:
                    log.warning(
                        "Ticketmaster %s: %d events in under two hours, only the first %d fetched", unit, total, DEEP_PAGING_LIMIT
                    )
                    self.truncated_units.append(unit)
                    return
        except SourceUnavailable as error:
            message = self.api.redact(str(error))
            if not message.startswith(unit):
                message = f"{unit}: {message}"
            log.warning("Ticketmaster unit failed: %s", message)
            self.stats.failures += 1
            self.stats.failed_units.append(unit)

    def _get(self, place: dict, start: datetime, end: datetime, number: int, unit: str) -> dict:
        params = {
            "apikey": self._key,
            "segmentId": MUSIC_SEGMENT_ID,
            **place,
            "startDateTime": iso_z(start),
            "endDateTime": iso_z(end),
            "includeTBA": "yes",
            "size": PAGE_SIZE,
            "page": number,
            "sort": "id,asc",
        }
        try:
            page = self.api.get_json("events.json", params, unit=unit)
        except SourceUnavailable as error:  # drop the chained requests error: its text holds the URL with the key
            raise SourceUnavailable(self.api.redact(str(error))) from None
        except requests.RequestException as error:  # anything ApiClient does not catch (redirects, bad chunks, …)
            raise SourceUnavailable(f"{unit}: {type(error).__name__}") from None
        if page is None:
            raise SourceUnavailable(f"{unit}: HTTP 404 for events.json (wrong API root?)")
        if not isinstance(page, dict) or not isinstance(page.get("page"), dict):
            raise SourceUnavailable(f"{unit}: the response has no page object")
        return page
