"""LiveTicketmaster against a real HTTP server on 127.0.0.1 (StubServer): real sockets, real requests."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest

from concert_platform.sources.base import TicketmasterClient
from concert_platform.sources.http import HttpPolicy
from concert_platform.sources.ticketmaster import LiveTicketmaster

from ..stub_http import Reply, StubServer

KEY = "tm-s3cret-KEY-0123456789"
PATH = "/discovery/v2/events.json"
NOV1 = datetime(2026, 11, 1, tzinfo=UTC)
FMT = "%Y-%m-%dT%H:%M:%SZ"


def _q(seen, name):
    return seen.query[name][0]


def _at(seen, name):
    return datetime.strptime(_q(seen, name), FMT).replace(tzinfo=UTC)


class FakeDiscovery:
    """Serves events.json over a list of (id, start) like the real API: filter, sort by id, page,
    refuse deep pages (DIS1035), empty result without ``_embedded``."""

    def __init__(self, events):
        self.events = sorted(events)

    def __call__(self, seen):
        start, end = _at(seen, "startDateTime"), _at(seen, "endDateTime")
        size, number = int(_q(seen, "size")), int(_q(seen, "page"))
        if size * number >= 1000:
            return Reply(400, {"errors": [{"code": "DIS1035", "detail": "deep paging", "status": "400 BAD_REQUEST"}]})
        hits = [(i, at) for i, at in self.events if start <= at < end]
        chunk = hits[number * size : (number + 1) * size]
        body = {
            "_links": {"self": {"href": f"/discovery/v2/events.json?page={number}"}},
            "page": {"size": size, "totalElements": len(hits), "totalPages": -(-len(hits) // size), "number": number},
        }
        if chunk:
            body["_embedded"] = {"events": [{"id": i, "dates": {"start": {"dateTime": at.strftime(FMT)}}} for i, at in chunk]}
        return Reply(200, body)


def _events(n, start=NOV1, step=timedelta(minutes=5), prefix="E"):
    return [(f"{prefix}{k:05d}", start + k * step) for k in range(n)]


def _client(stub, sleeps=None, **kwargs):
    policy = kwargs.pop("policy", HttpPolicy(timeout_s=2, max_retries=2, max_retry_after_s=30, backoff_s=0.01))
    kwargs.setdefault("per_second", 1000)
    return LiveTicketmaster(
        stub.url + "/discovery/v2",
        KEY,
        policy=policy,
        sleep=(sleeps.append if sleeps is not None else (lambda s: None)),
        **kwargs,
    )


def _ids(pages):
    return [e["id"] for p in pages for e in (p.get("_embedded") or {}).get("events", [])]


def _clean(client):
    text = repr(client.stats) + repr(client.truncated_units)
    assert KEY not in text


def test_it_is_a_ticketmaster_client():
    assert isinstance(LiveTicketmaster("http://x", KEY), TicketmasterClient)


def test_pages_to_the_end_and_sends_the_exact_query():
    with StubServer() as stub:
        stub.add("GET", PATH, FakeDiscovery(_events(450)))
        client = _client(stub)
        pages = list(client.search_events(NOV1, NOV1 + timedelta(days=7)))
        assert [p["page"]["number"] for p in pages] == [0, 1, 2]
        assert _ids(pages) == [f"E{k:05d}" for k in range(450)]
        hits = stub.hits(PATH)
        assert len(hits) == 3 and client.stats.requests == 3 and client.stats.failed_units == []
        assert hits[0].query == {
            "apikey": [KEY],
            "segmentId": ["KZFzniwnSyZfZ7v7nJ"],
            "countryCode": ["US"],
            "startDateTime": ["2026-11-01T00:00:00Z"],
            "endDateTime": ["2026-11-08T00:00:00Z"],
            "includeTBA": ["yes"],
            "size": ["200"],
            "page": ["0"],
            "sort": ["id,asc"],
        }
        assert "classificationName" not in hits[0].query
        assert [_q(h, "page") for h in hits] == ["0", "1", "2"]


def test_dates_are_cut_into_windows_per_country_and_city_in_utc():
    with StubServer() as stub:
        stub.add("GET", PATH, FakeDiscovery([]))
        client = _client(stub, country_codes=("US", "CA"), cities=("Chicago",), window_days=7)
        local = timezone(timedelta(hours=-5))
        start = datetime(2026, 10, 31, 19, 0, 0, 500000, tzinfo=local)  # = 2026-11-01T00:00:00.5Z
        list(client.search_events(start, start + timedelta(days=10)))
        got = [(_q(h, "countryCode"), _q(h, "city"), _q(h, "startDateTime"), _q(h, "endDateTime")) for h in stub.hits(PATH)]
        assert got == [
            ("US", "Chicago", "2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"),
            ("US", "Chicago", "2026-11-08T00:00:00Z", "2026-11-11T00:00:00Z"),
            ("CA", "Chicago", "2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"),
            ("CA", "Chicago", "2026-11-08T00:00:00Z", "2026-11-11T00:00:00Z"),
        ]


def test_a_window_over_the_paging_ceiling_is_split_until_every_event_comes_back():
    events = _events(1500, step=timedelta(minutes=6))  # 1500 events over 6.25 days
    with StubServer() as stub:
        stub.add("GET", PATH, FakeDiscovery(events))
        client = _client(stub)
        pages = list(client.search_events(NOV1, NOV1 + timedelta(days=7)))
        assert sorted(set(_ids(pages))) == [i for i, _ in events]
        assert client.stats.failed_units == [] and client.truncated_units == []
        hits = stub.hits(PATH)
        assert all(int(_q(h, "page")) * 200 < 1000 for h in hits)  # never asked for a deep page
        windows = [(_q(h, "startDateTime"), _q(h, "endDateTime")) for h in hits if _q(h, "page") == "0"]
        assert windows == [
            ("2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"),  # 1500 > 1000: split
            ("2026-11-01T00:00:00Z", "2026-11-04T12:00:00Z"),  # 840 events
            ("2026-11-04T12:00:00Z", "2026-11-08T00:00:00Z"),  # 660 events
        ]
        assert len(hits) == 1 + 5 + 4
        assert [p["page"]["number"] for p in pages] == [0, 1, 2, 3, 4, 0, 1, 2, 3]  # the over-full page 0 is not yielded


def test_a_one_hour_window_over_the_ceiling_is_fetched_as_far_as_allowed_and_reported():
    events = _events(1200, step=timedelta(seconds=2))  # 1200 events in 40 minutes
    with StubServer() as stub:
        stub.add("GET", PATH, FakeDiscovery(events))
        client = _client(stub)
        pages = list(client.search_events(NOV1, NOV1 + timedelta(hours=1)))
        assert len(_ids(pages)) == 1000 and len(stub.hits(PATH)) == 5
        assert client.truncated_units == ["US 2026-11-01T00:00:00Z/2026-11-01T01:00:00Z"]


def test_429_with_retry_after_then_success():
    with StubServer() as stub:
        quota = {
            "fault": {"faultstring": "Rate limit quota violation", "detail": {"errorcode": "policies.ratelimit.QuotaViolation"}}
        }
        stub.add(
            "GET",
            PATH,
            [
                Reply(429, quota, {"Retry-After": "20"}),
                Reply(200, {"page": {"size": 200, "totalElements": 0, "totalPages": 0, "number": 0}}),
            ],
        )
        sleeps = []
        client = _client(stub, sleeps)
        pages = list(client.search_events(NOV1, NOV1 + timedelta(days=7)))
        assert len(pages) == 1 and sleeps == [20.0]
        assert client.stats.requests == 2 and client.stats.retries == 1 and client.stats.failed_units == []


def test_503_then_success():
    with StubServer() as stub:
        stub.add(
            "GET",
            PATH,
            [
                Reply(503, "<html>busy</html>"),
                Reply(200, {"page": {"size": 200, "totalElements": 0, "totalPages": 0, "number": 0}}),
            ],
        )
        sleeps = []
        client = _client(stub, sleeps)
        assert len(list(client.search_events(NOV1, NOV1 + timedelta(days=7)))) == 1
        assert sleeps == [0.01] and client.stats.retries == 1 and len(stub.hits(PATH)) == 2


def test_a_400_is_not_retried_and_fails_only_its_window():
    fake = FakeDiscovery(_events(30, step=timedelta(hours=12)))  # 15 days of events

    def route(seen):
        if _q(seen, "startDateTime") == "2026-11-08T00:00:00Z":
            return Reply(400, {"errors": [{"code": "DIS1015", "detail": f"bad date; apikey={KEY}", "status": "400 BAD_REQUEST"}]})
        return fake(seen)

    with StubServer() as stub:
        stub.add("GET", PATH, route)
        sleeps = []
        client = _client(stub, sleeps, country_codes=("US", "GB"))
        pages = list(client.search_events(NOV1, NOV1 + timedelta(days=15)))
        assert client.stats.failed_units == ["US 2026-11-08/2026-11-15", "GB 2026-11-08/2026-11-15"]
        assert client.stats.failures == 2 and client.stats.retries == 0 and sleeps == []
        assert len(stub.hits(PATH)) == 6  # 3 windows x 2 countries, the 400s asked once each
        assert sorted(set(_ids(pages))) == [f"E{k:05d}" for k in list(range(14)) + list(range(28, 30))]
        _clean(client)


def test_malformed_json_fails_the_window():
    with StubServer() as stub:
        stub.add("GET", PATH, Reply(200, '{"page": {oops'))
        client = _client(stub)
        assert list(client.search_events(NOV1, NOV1 + timedelta(days=7))) == []
        assert client.stats.failed_units == ["US 2026-11-01/2026-11-08"] and client.stats.failures == 1


def test_a_body_without_a_page_object_fails_the_window():
    with StubServer() as stub:
        stub.add("GET", PATH, Reply(200, ["not", "a", "page"]))
        client = _client(stub)
        assert list(client.search_events(NOV1, NOV1 + timedelta(days=7))) == []
        assert client.stats.failed_units == ["US 2026-11-01/2026-11-08"]


def test_a_timeout_is_retried_then_fails_the_window_without_stopping_the_next():
    slow = Reply(200, {"page": {"size": 200, "totalElements": 0, "totalPages": 0, "number": 0}}, delay_s=0.6)
    fast = Reply(200, {"page": {"size": 200, "totalElements": 0, "totalPages": 0, "number": 0}})

    with StubServer() as stub:
        stub.add("GET", PATH, lambda seen: slow if _q(seen, "startDateTime").startswith("2026-11-01") else fast)
        client = _client(stub, policy=HttpPolicy(timeout_s=0.2, max_retries=1, backoff_s=0.01))
        pages = list(client.search_events(NOV1, NOV1 + timedelta(days=14)))
        assert len(pages) == 1 and client.stats.failed_units == ["US 2026-11-01/2026-11-08"]
        assert client.stats.requests == 3 and client.stats.retries == 1
        _clean(client)


def test_an_empty_result_is_one_request_and_one_page():
    with StubServer() as stub:
        stub.add("GET", PATH, FakeDiscovery([]))
        client = _client(stub)
        pages = list(client.search_events(NOV1, NOV1 + timedelta(days=7)))
        assert len(pages) == 1 and "_embedded" not in pages[0] and pages[0]["page"]["totalPages"] == 0
        assert len(stub.hits(PATH)) == 1 and client.stats.failed_units == []


def test_requests_are_paced_at_four_per_second():
    with StubServer() as stub:
        stub.add("GET", PATH, FakeDiscovery(_events(5, step=timedelta(days=1))))
        client = LiveTicketmaster(stub.url + "/discovery/v2", KEY, window_days=1)  # defaults: 4/s
        list(client.search_events(NOV1, NOV1 + timedelta(days=5)))
        at = [h.at for h in stub.hits(PATH)]
        assert len(at) == 5
        gaps = [b - a for a, b in pairwise(at)]
        assert min(gaps) >= 0.24, gaps  # 0.25 s at the client; a little jitter on the way in


def test_the_daily_budget_counts_every_attempt_and_fails_the_remaining_windows():
    with StubServer() as stub:
        stub.add(
            "GET",
            PATH,
            [
                Reply(503),
                Reply(400, {"errors": [{"code": "DIS1015"}]}),
                Reply(200, {"page": {"size": 200, "totalElements": 0, "totalPages": 0, "number": 0}}),
            ],
        )
        client = _client(stub, window_days=1, daily_budget=4)
        pages = list(client.search_events(NOV1, NOV1 + timedelta(days=5)))
        # day 1: 503 + 400 (2 requests, failed); days 2 and 3: one each; days 4 and 5: over budget, never asked
        assert len(stub.hits(PATH)) == 4 and client.stats.requests == 4 and len(pages) == 2
        assert client.stats.failed_units == ["US 2026-11-01/2026-11-02", "US 2026-11-04/2026-11-05", "US 2026-11-05/2026-11-06"]


def test_the_budget_stops_a_window_mid_paging_and_resets_the_next_day():
    with StubServer() as stub:
        stub.add("GET", PATH, FakeDiscovery(_events(450)))
        client = _client(stub, daily_budget=2)
        pages = list(client.search_events(NOV1, NOV1 + timedelta(days=7)))
        assert len(pages) == 2 and client.stats.failed_units == ["US 2026-11-01/2026-11-08"]
        client.limiter.today = lambda: datetime(2099, 1, 1).date()  # a new UTC day
        assert len(list(client.search_events(NOV1, NOV1 + timedelta(days=7)))) == 2
        assert len(stub.hits(PATH)) == 4 and client.stats.requests == 4


def test_the_key_never_leaks_into_exceptions_stats_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    with StubServer() as stub:
        # a redirect loop makes requests raise TooManyRedirects, whose message holds the full URL with the key
        stub.add("GET", PATH, lambda seen: Reply(302, b"", {"Location": PATH + "?apikey=" + KEY}))
        client = _client(stub)
        assert list(client.search_events(NOV1, NOV1 + timedelta(days=7))) == []
        assert client.stats.failed_units == ["US 2026-11-01/2026-11-08"]
        # the error raised for the unit carries neither the key nor a chained exception holding it
        from concert_platform.sources.base import SourceUnavailable

        with pytest.raises(SourceUnavailable) as info:
            client._get({"countryCode": "US"}, NOV1, NOV1 + timedelta(days=1), 0, "unit")
        assert KEY not in str(info.value) and info.value.__suppress_context__ and info.value.__cause__ is None
    dead = LiveTicketmaster(
        "http://127.0.0.1:9/discovery/v2", KEY, policy=HttpPolicy(timeout_s=0.5, max_retries=0), sleep=lambda s: None
    )
    assert list(dead.search_events(NOV1, NOV1 + timedelta(days=1))) == [] and dead.stats.failures == 1
    _clean(client)
    _clean(dead)
    for record in caplog.records:
        assert KEY not in record.getMessage()
