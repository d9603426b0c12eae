"""LiveSpotify against a real HTTP server on 127.0.0.1 (no network, no spotipy)."""

import base64
from itertools import pairwise

import pytest

from concert_platform.sources.base import SourceUnavailable, SpotifyClient
from concert_platform.sources.http import HttpPolicy
from concert_platform.sources.spotify import LiveSpotify

from ..stub_http import Reply, StubServer

CLIENT_ID, SECRET = "my-client-id", "sup3r-s3cret-value"
BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
ARTIST_ID = "0OdUWJ0sBjDrqHygGUXeCF"
ARTIST = {
    "id": ARTIST_ID,
    "name": "Band of Horses",
    "type": "artist",
    "uri": f"spotify:artist:{ARTIST_ID}",
    "href": f"https://api.spotify.com/v1/artists/{ARTIST_ID}",
    "images": [],
    "external_urls": {"spotify": f"https://open.spotify.com/artist/{ARTIST_ID}"},
}


def token(value="tok-1", expires_in=3600):
    return Reply(200, {"access_token": value, "token_type": "Bearer", "expires_in": expires_in})


def make(stub, *, min_interval=0.0, clock=None, **policy):
    sleeps = []
    extra = {"clock": clock} if clock else {}
    client = LiveSpotify(
        CLIENT_ID,
        SECRET,
        api_url=stub.url + "/v1",
        token_url=stub.url + "/api/token",
        policy=HttpPolicy(**{"timeout_s": 2, "max_retries": 2, "max_retry_after_s": 30, "backoff_s": 1, **policy}),
        min_interval=min_interval,
        sleep=sleeps.append,
        **extra,
    )
    return client, sleeps


def assert_clean(text):
    assert SECRET not in text and BASIC.split()[1] not in text and "tok-" not in text


def test_implements_the_protocol():
    with StubServer() as stub:
        assert isinstance(make(stub)[0], SpotifyClient)


def test_token_is_fetched_once_with_basic_auth_and_reused():
    with StubServer() as stub:
        stub.add("POST", "/api/token", token("tok-1"))
        stub.add("GET", f"/v1/artists/{ARTIST_ID}", Reply(200, ARTIST))
        stub.add("GET", "/v1/search", Reply(200, {"artists": {"items": [ARTIST], "next": None, "total": 1}}))
        client, _ = make(stub)
        assert client.get_artist(ARTIST_ID) == ARTIST
        assert client.get_artist(ARTIST_ID) == ARTIST
        assert client.search_artists("Band of Horses")["artists"]["items"] == [ARTIST]
        fetches = stub.hits("/api/token")
        assert len(fetches) == 1
        assert fetches[0].headers["Authorization"] == BASIC
        assert fetches[0].body == b"grant_type=client_credentials"
        for seen in stub.requests:
            if seen.path.startswith("/v1/"):
                assert seen.headers["Authorization"] == "Bearer tok-1"
        assert client.stats.requests == 3 and client.stats.retries == 0


def test_an_expired_token_is_fetched_again_before_the_request():
    now = [1000.0]
    with StubServer() as stub:
        stub.add("POST", "/api/token", [token("tok-1", 3600), token("tok-2", 3600)])
        stub.add("GET", f"/v1/artists/{ARTIST_ID}", Reply(200, ARTIST))
        client, _ = make(stub, clock=lambda: now[0])
        client.get_artist(ARTIST_ID)
        now[0] += 3600  # past expiry (minus the safety margin)
        client.get_artist(ARTIST_ID)
        assert len(stub.hits("/api/token")) == 2
        assert stub.hits(f"/v1/artists/{ARTIST_ID}")[-1].headers["Authorization"] == "Bearer tok-2"


def test_401_refreshes_the_token_exactly_once_and_retries():
    expired = Reply(401, {"error": {"status": 401, "message": "The access token expired"}})
    with StubServer() as stub:
        stub.add("POST", "/api/token", [token("tok-1"), token("tok-2")])
        stub.add("GET", f"/v1/artists/{ARTIST_ID}", [expired, Reply(200, ARTIST)])
        client, _ = make(stub)
        assert client.get_artist(ARTIST_ID) == ARTIST
        assert len(stub.hits("/api/token")) == 2
        auths = [s.headers["Authorization"] for s in stub.hits(f"/v1/artists/{ARTIST_ID}")]
        assert auths == ["Bearer tok-1", "Bearer tok-2"]


def test_a_second_401_fails_the_unit_without_another_refresh():
    expired = Reply(401, {"error": {"status": 401, "message": "The access token expired"}})
    with StubServer() as stub:
        stub.add("POST", "/api/token", [token("tok-1"), token("tok-2"), token("tok-3")])
        stub.add("GET", f"/v1/artists/{ARTIST_ID}", expired)
        client, _ = make(stub)
        with pytest.raises(SourceUnavailable, match="HTTP 401") as info:
            client.get_artist(ARTIST_ID)
        assert len(stub.hits("/api/token")) == 2 and len(stub.hits(f"/v1/artists/{ARTIST_ID}")) == 2
        assert_clean(str(info.value))


def test_a_failing_token_endpoint_is_source_unavailable_without_the_secret():
    with StubServer() as stub:
        stub.add("POST", "/api/token", Reply(400, {"error": "invalid_client", "echo": SECRET}))
        client, _ = make(stub)
        with pytest.raises(SourceUnavailable, match="token request failed") as info:
            client.get_artist(ARTIST_ID)
        assert_clean(str(info.value))
        assert_clean(repr(info.value))
        assert stub.hits(f"/v1/artists/{ARTIST_ID}") == []


def test_429_with_a_short_retry_after_waits_then_succeeds():
    with StubServer() as stub:
        stub.add("POST", "/api/token", token())
        stub.add(
            "GET", f"/v1/artists/{ARTIST_ID}", [Reply(429, {"error": {"status": 429}}, {"Retry-After": "2"}), Reply(200, ARTIST)]
        )
        client, sleeps = make(stub)
        assert client.get_artist(ARTIST_ID) == ARTIST
        assert sleeps == [2.0] and client.stats.retries == 1 and client.stats.requests == 2


@pytest.mark.parametrize("retry_after", ["3600", "86400"])
def test_429_past_the_cap_fails_the_unit_at_once(retry_after):
    quota = {"error": {"status": 429, "message": "Too many requests", "reason": "QUOTA_EXCEEDED"}}
    with StubServer() as stub:
        stub.add("POST", "/api/token", token())
        stub.add("GET", "/v1/search", Reply(429, quota, {"Retry-After": retry_after}))
        client, sleeps = make(stub)
        with pytest.raises(SourceUnavailable, match="HTTP 429") as info:
            client.search_artists("Band of Horses")
        assert sleeps == [] and len(stub.hits("/v1/search")) == 1
        assert_clean(str(info.value))


def test_5xx_backs_off_then_succeeds_and_gives_up_after_max_retries():
    with StubServer() as stub:
        stub.add("POST", "/api/token", token())
        stub.add("GET", f"/v1/artists/{ARTIST_ID}", [Reply(502), Reply(503), Reply(200, ARTIST)])
        stub.add("GET", "/v1/artists/broken", Reply(500))
        client, sleeps = make(stub)
        assert client.get_artist(ARTIST_ID) == ARTIST
        assert sleeps == [1.0, 2.0]
        with pytest.raises(SourceUnavailable, match="HTTP 500"):
            client.get_artist("broken")
        assert len(stub.hits("/v1/artists/broken")) == 3


def test_unknown_artist_is_none():
    with StubServer() as stub:
        stub.add("POST", "/api/token", token())
        stub.add("GET", "/v1/artists/nope", Reply(404, {"error": {"status": 404, "message": "Resource not found"}}))
        client, _ = make(stub)
        assert client.get_artist("nope") is None


def test_403_is_not_retried_and_the_batch_endpoint_is_never_used():
    with StubServer() as stub:
        stub.add("POST", "/api/token", token())
        stub.add("GET", "/v1/artists", Reply(403, {"error": {"status": 403, "message": "Forbidden"}}))
        stub.add("GET", f"/v1/artists/{ARTIST_ID}", Reply(403, {"error": {"status": 403, "message": "Forbidden"}}))
        client, sleeps = make(stub)
        with pytest.raises(SourceUnavailable, match="HTTP 403"):
            client.get_artist(ARTIST_ID)
        assert sleeps == [] and len(stub.hits(f"/v1/artists/{ARTIST_ID}")) == 1
        assert stub.hits("/v1/artists") == [] and not hasattr(client, "get_artists")


def test_search_sends_the_query_and_caps_the_limit_at_10():
    def search(seen):
        limit = int(seen.query["limit"][0])
        if limit > 10:
            return Reply(400, {"error": {"status": 400, "message": "Invalid limit"}})
        return Reply(200, {"artists": {"items": [], "limit": limit, "next": None, "offset": 0, "total": 0}})

    with StubServer() as stub:
        stub.add("POST", "/api/token", token())
        stub.add("GET", "/v1/search", search)
        client, _ = make(stub)
        assert client.search_artists("Sigur Rós & Friends", limit=50)["artists"]["limit"] == 10
        assert client.search_artists("x")["artists"]["limit"] == 5
        first = stub.hits("/v1/search")[0].query
        assert first == {"q": ["Sigur Rós & Friends"], "type": ["artist"], "limit": ["10"], "offset": ["0"]}
        with pytest.raises(ValueError):
            client.search_artists("x", offset=1001)


def test_malformed_json_is_source_unavailable():
    with StubServer() as stub:
        stub.add("POST", "/api/token", token())
        stub.add("GET", f"/v1/artists/{ARTIST_ID}", Reply(200, "{not json"))
        client, _ = make(stub)
        with pytest.raises(SourceUnavailable, match="not valid JSON"):
            client.get_artist(ARTIST_ID)


def test_a_timeout_is_source_unavailable_after_retries():
    with StubServer() as stub:
        stub.add("POST", "/api/token", token())
        stub.add("GET", f"/v1/artists/{ARTIST_ID}", Reply(200, ARTIST, delay_s=1.0))
        client, sleeps = make(stub, timeout_s=0.2, max_retries=1)
        with pytest.raises(SourceUnavailable, match="Timeout") as info:
            client.get_artist(ARTIST_ID)
        assert len(stub.hits(f"/v1/artists/{ARTIST_ID}")) == 2 and sleeps == [1.0]
        assert_clean(str(info.value))


def test_a_token_endpoint_timeout_is_source_unavailable():
    with StubServer() as stub:
        stub.add("POST", "/api/token", Reply(200, {"access_token": "tok-1", "expires_in": 3600}, delay_s=1.0))
        client, _ = make(stub, timeout_s=0.2)
        with pytest.raises(SourceUnavailable, match="token request failed.*Timeout"):
            client.get_artist(ARTIST_ID)


def test_requests_are_paced_by_min_interval():
    with StubServer() as stub:
        stub.add("POST", "/api/token", token())
        stub.add("GET", f"/v1/artists/{ARTIST_ID}", Reply(200, ARTIST))
        client, _ = make(stub, min_interval=0.15)
        for _ in range(4):
            client.get_artist(ARTIST_ID)
        times = [s.at for s in stub.hits(f"/v1/artists/{ARTIST_ID}")]
        assert len(times) == 4
        assert all(b - a >= 0.14 for a, b in pairwise(times))  # 10 ms slack for clock granularity


def test_neither_secret_nor_token_appears_in_any_error():
    leaky = {"error": {"status": 400, "message": f"bad request, secret={SECRET} token=tok-1"}}
    with StubServer() as stub:
        stub.add("POST", "/api/token", token("tok-1"))
        stub.add("GET", "/v1/artists/leak", Reply(400, leaky))
        stub.add("GET", "/v1/artists/gone", Reply(429, {}, {"Retry-After": "86400"}))
        client, _ = make(stub)
        errors = []
        for spotify_id in ("leak", "gone"):
            with pytest.raises(SourceUnavailable) as info:
                client.get_artist(spotify_id)
            errors.append(info.value)
        for error in errors:
            assert_clean(str(error))
            assert_clean(repr(error))
        assert "***" in str(errors[0])
        assert_clean(repr(client.stats))
