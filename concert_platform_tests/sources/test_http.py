from itertools import pairwise

import pytest

from concert_platform.sources.base import ClientStats, SourceUnavailable
from concert_platform.sources.http import ApiClient, HttpPolicy, RateLimiter

from ..stub_http import Reply, StubServer


def _client(stub, **policy):
    sleeps = []
    client = ApiClient(
        stub.url + "/api",
        stats=ClientStats(),
        limiter=RateLimiter(0.0),
        sleep=sleeps.append,
        policy=HttpPolicy(**{"timeout_s": 2, "max_retries": 2, "max_retry_after_s": 5, **policy}),
        secrets=["s3cret-key"],
    )
    return client, sleeps


def test_retry_after_is_honoured_then_success():
    with StubServer() as stub:
        stub.add("GET", "/api/x", [Reply(429, {"e": 1}, {"Retry-After": "3"}), Reply(503), Reply(200, {"ok": True})])
        client, sleeps = _client(stub)
        assert client.get_json("x", unit="x") == {"ok": True}
        assert sleeps == [3.0, 2.0] and client.stats.requests == 3 and client.stats.retries == 2


def test_a_retry_after_past_the_cap_fails_the_unit_at_once():
    with StubServer() as stub:
        stub.add("GET", "/api/x", Reply(429, {"error": {"status": 429, "reason": "QUOTA_EXCEEDED"}}, {"Retry-After": "86400"}))
        client, sleeps = _client(stub)
        with pytest.raises(SourceUnavailable, match="gave up after 1 attempt"):
            client.get_json("x", unit="x")
        assert sleeps == [] and len(stub.hits("/api/x")) == 1


def test_not_found_malformed_json_client_errors_and_timeouts():
    with StubServer() as stub:
        stub.add("GET", "/api/bad", Reply(200, "{not json"))
        stub.add("GET", "/api/forbidden", Reply(403, "no s3cret-key for you"))
        stub.add("GET", "/api/slow", Reply(200, {"late": True}, delay_s=1.5))
        client, _ = _client(stub, timeout_s=0.3, max_retries=1)
        assert client.get_json("missing", unit="m") is None
        with pytest.raises(SourceUnavailable, match="not valid JSON"):
            client.get_json("bad", unit="b")
        with pytest.raises(SourceUnavailable, match="HTTP 403") as info:
            client.get_json("forbidden", unit="f")
        assert "s3cret-key" not in str(info.value) and "***" in str(info.value)
        with pytest.raises(SourceUnavailable, match="ReadTimeout"):
            client.get_json("slow", unit="s")
        assert len(stub.hits("/api/slow")) == 2


def test_unauthorized_refreshes_once():
    with StubServer() as stub:
        stub.add("GET", "/api/x", [Reply(401), Reply(200, {"ok": 1})])
        client, _ = _client(stub)
        refreshed = []
        assert client.get_json("x", unit="x", on_unauthorized=lambda: refreshed.append(1) or True) == {"ok": 1}
        assert refreshed == [1]


def test_the_limiter_paces_requests():
    with StubServer() as stub:
        stub.add("GET", "/api/x", Reply(200, {}))
        client = ApiClient(stub.url + "/api", stats=ClientStats(), limiter=RateLimiter(0.2))
        for _ in range(4):
            client.get_json("x", unit="x")
        times = [r.at for r in stub.hits("/api/x")]
        assert all(b - a >= 0.18 for a, b in pairwise(times))


def test_ticketmasters_rate_limit_reset_is_a_retry_after():
    import time

    with StubServer() as stub:
        reset_ms = str(int((time.time() + 4) * 1000))
        stub.add(
            "GET",
            "/api/x",
            [
                Reply(429, {"fault": {"faultstring": "Rate limit quota violation"}}, {"Rate-Limit-Reset": reset_ms}),
                Reply(200, {"ok": True}),
            ],
        )
        client, sleeps = _client(stub)
        assert client.get_json("x", unit="x") == {"ok": True}
        assert len(sleeps) == 1 and 2.5 < sleeps[0] <= 4.0
