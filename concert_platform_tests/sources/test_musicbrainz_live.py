"""LiveMusicBrainz against a real HTTP stub on 127.0.0.1: parameters, agent, pacing, failures."""

from itertools import pairwise

import pytest

from concert_platform.sources import musicbrainz
from concert_platform.sources.base import MusicBrainzClient, SourceUnavailable
from concert_platform.sources.http import HttpPolicy
from concert_platform.sources.musicbrainz import LiveMusicBrainz, limiter_for, validate_user_agent

from ..stub_http import Reply, StubServer

AGENT = "ConcertPlatform/0.3.1 ( data-team@concerts.example.org )"
MBID = "5b11f4ce-a62d-471e-81fc-a69a8278c7da"
ARTIST = {
    "id": MBID,
    "name": "Nirvana",
    "type": "Group",
    "genres": [{"id": "g1", "name": "grunge", "count": 12}],
    "relations": [{"type": "free streaming", "url": {"resource": "https://open.spotify.com/artist/6olE6TJLqED3rqDCT0FyPh"}}],
}
SEARCH = {
    "created": "2026-11-02T10:00:00.000Z",
    "count": 1,
    "offset": 0,
    "artists": [{"id": MBID, "name": "Nirvana", "score": 100, "disambiguation": "90s US grunge band"}],
}
URL_ENTITY = {
    "id": "4f4068dc-2fb4-4a35-b2c1-2d4c3b0a6f55",
    "resource": "https://open.spotify.com/artist/6olE6TJLqED3rqDCT0FyPh",
    "relations": [{"type": "free streaming", "artist": {"id": MBID, "name": "Nirvana"}}],
}
RATE_LIMIT_JSON = {
    "error": "Your requests are exceeding the allowable rate limit. Please see http://wiki.musicbrainz.org/XMLWebService for more information.",
    "help": "For usage, please see: https://musicbrainz.org/development/mmd",
}
RATE_LIMIT_HTML = "<html><head><title>503 Service Temporarily Unavailable</title></head><body><h1>503</h1></body></html>"


@pytest.fixture(autouse=True)
def fresh_limiters(monkeypatch):
    """Each test starts with no process-wide pace, as a fresh process would."""
    monkeypatch.setattr(musicbrainz, "_LIMITERS", {})


def _client(stub, *, min_interval=0.0, **policy):
    sleeps = []
    client = LiveMusicBrainz(
        stub.url + "/ws/2",
        AGENT,
        min_interval=min_interval,
        sleep=sleeps.append,
        policy=HttpPolicy(**{"timeout_s": 2, "max_retries": 2, "max_retry_after_s": 5, "backoff_s": 0.5, **policy}),
    )
    return client, sleeps


def _single(seen) -> dict:
    return {key: values[0] for key, values in seen.query.items() if len(values) == 1} | {
        key: values for key, values in seen.query.items() if len(values) > 1
    }


# --- requests as MusicBrainz wants them -------------------------------------------------------------


def test_lookup_artist_sends_exact_parameters_and_the_user_agent():
    with StubServer() as stub:
        stub.add("GET", f"/ws/2/artist/{MBID}", Reply(200, ARTIST))
        client, _ = _client(stub)
        assert isinstance(client, MusicBrainzClient)
        assert client.lookup_artist(MBID.upper()) == ARTIST  # canonicalised to the lowercase MBID
        [seen] = stub.hits(f"/ws/2/artist/{MBID}")
        assert _single(seen) == {"inc": "aliases+genres+tags+url-rels", "fmt": "json"}
        assert seen.headers["User-Agent"] == AGENT
        assert client.stats.requests == 1 and client.stats.retries == 0


def test_search_sends_the_lucene_query_and_limit_and_returns_the_whole_response():
    with StubServer() as stub:
        stub.add("GET", "/ws/2/artist", Reply(200, SEARCH))
        client, _ = _client(stub)
        assert client.search_artists('artist:"Nirvana"') == SEARCH
        assert client.search_artists('artist:"AC\\/DC"', limit=25, offset=50) == SEARCH
        first, second = stub.hits("/ws/2/artist")
        assert _single(first) == {"query": 'artist:"Nirvana"', "limit": "5", "fmt": "json"}
        assert _single(second) == {"query": 'artist:"AC\\/DC"', "limit": "25", "offset": "50", "fmt": "json"}
        assert all(s.headers["User-Agent"] == AGENT for s in (first, second))


def test_search_limit_is_clamped_to_1_100():
    cases = [(0, "1"), (-4, "1"), (1, "1"), (100, "100"), (101, "100"), (500, "100")]
    with StubServer() as stub:
        stub.add("GET", "/ws/2/artist", Reply(200, SEARCH))
        client, _ = _client(stub)
        for asked, _sent in cases:
            client.search_artists('artist:"Nirvana"', limit=asked)
        assert [seen.query["limit"][0] for seen in stub.hits("/ws/2/artist")] == [sent for _asked, sent in cases]


def test_empty_search_results_are_returned_as_they_come():
    empty = {"created": "2026-11-02T10:00:00.000Z", "count": 0, "offset": 0, "artists": []}
    with StubServer() as stub:
        stub.add("GET", "/ws/2/artist", Reply(200, empty))
        client, _ = _client(stub)
        assert client.search_artists('artist:"No Such Band Anywhere"') == empty


def test_lookup_url_sends_the_resource_and_artist_rels():
    resource = "https://open.spotify.com/artist/6olE6TJLqED3rqDCT0FyPh"
    with StubServer() as stub:
        stub.add("GET", "/ws/2/url", Reply(200, URL_ENTITY))
        client, _ = _client(stub)
        assert client.lookup_url(resource) == URL_ENTITY
        [seen] = stub.hits("/ws/2/url")
        assert _single(seen) == {"resource": resource, "inc": "artist-rels", "fmt": "json"}
        assert seen.headers["User-Agent"] == AGENT


# --- the User-Agent --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "agent",
    [
        AGENT,
        "MyAwesomeTagger/1.2.0 ( http://myawesometagger.example.com )",
        "concert_platform/2026.11.0 (ops@band.example)",
        "  Tagger/1.0 ( me@tagger.io )  ",
    ],
)
def test_meaningful_user_agents_are_accepted(agent):
    assert validate_user_agent(agent) == agent.strip()


@pytest.mark.parametrize(
    "agent",
    [
        None,
        "",
        "   ",
        "ConcertPlatform",
        "ConcertPlatform/1.0",
        "ConcertPlatform/1.0 ()",
        "ConcertPlatform/1.0 ( contact )",
        "ConcertPlatform/1.0 ( not a contact )",
        "python-requests/2.32.3",
        "python-requests/2.32.3 ( me@x.org )",
        "Mozilla/5.0 ( me@x.org )",
        "curl/8.5.0 ( me@x.org )",
        "MyApp/1.0 ( me@x.org )",
        "ConcertPlatform/1.0 ( me@example.com )",
        "ConcertPlatform/1.0 ( me@x.org )\r\nX-Injected: 1",
    ],
)
def test_empty_or_generic_user_agents_are_refused(agent):
    with pytest.raises(ValueError):
        LiveMusicBrainz("https://musicbrainz.org/ws/2", agent)


# --- one pace per process and host -----------------------------------------------------------------


def test_consecutive_calls_are_never_faster_than_one_per_second():
    with StubServer() as stub:
        stub.add("GET", f"/ws/2/artist/{MBID}", Reply(200, ARTIST))
        stub.add("GET", "/ws/2/artist", Reply(200, SEARCH))
        stub.add("GET", "/ws/2/url", Reply(200, URL_ENTITY))
        client, _ = _client(stub, min_interval=1.0)
        client.lookup_artist(MBID)
        client.search_artists('artist:"Nirvana"')
        client.lookup_url("https://open.spotify.com/artist/6olE6TJLqED3rqDCT0FyPh")
        client.lookup_artist(MBID)
        times = [seen.at for seen in stub.requests]
        assert len(times) == 4
        assert all(later - earlier >= 0.95 for earlier, later in pairwise(times)), times


def test_two_clients_on_one_host_share_the_pace():
    with StubServer() as stub:
        stub.add("GET", f"/ws/2/artist/{MBID}", Reply(200, ARTIST))
        first, _ = _client(stub, min_interval=1.0)
        second, _ = _client(stub, min_interval=1.0)
        assert first.limiter is second.limiter
        first.lookup_artist(MBID)
        second.lookup_artist(MBID)
        first.lookup_artist(MBID)
        times = [seen.at for seen in stub.requests]
        assert len(times) == 3
        assert all(later - earlier >= 0.95 for earlier, later in pairwise(times)), times


def test_limiters_are_per_host_and_keep_the_longest_interval():
    a = limiter_for("https://musicbrainz.org/ws/2", 1.0)
    assert limiter_for("https://MusicBrainz.org:443/ws/2/", 0.2) is a and a.min_interval == 1.0
    assert limiter_for("https://musicbrainz.org/ws/2", 1.5) is a and a.min_interval == 1.5
    assert limiter_for("https://beta.musicbrainz.org/ws/2", 1.0) is not a


# --- failures --------------------------------------------------------------------------------------


def test_503_html_page_then_success_is_retried_with_backoff():
    with StubServer() as stub:
        stub.add("GET", f"/ws/2/artist/{MBID}", [Reply(503, RATE_LIMIT_HTML, {"Content-Type": "text/html"}), Reply(200, ARTIST)])
        client, sleeps = _client(stub)
        assert client.lookup_artist(MBID) == ARTIST
        assert sleeps == [0.5] and len(stub.hits(f"/ws/2/artist/{MBID}")) == 2
        assert client.stats.requests == 2 and client.stats.retries == 1


def test_503_json_with_retry_after_then_success_honours_retry_after():
    with StubServer() as stub:
        stub.add("GET", "/ws/2/artist", [Reply(503, RATE_LIMIT_JSON, {"Retry-After": "2"}), Reply(200, SEARCH)])
        client, sleeps = _client(stub)
        assert client.search_artists('artist:"Nirvana"') == SEARCH
        assert sleeps == [2.0]
        retried = stub.hits("/ws/2/artist")[1]
        assert _single(retried)["query"] == 'artist:"Nirvana"' and retried.headers["User-Agent"] == AGENT


def test_503_forever_gives_up_after_the_configured_retries():
    with StubServer() as stub:
        stub.add("GET", f"/ws/2/artist/{MBID}", Reply(503, RATE_LIMIT_JSON))
        client, sleeps = _client(stub, max_retries=3)
        with pytest.raises(SourceUnavailable, match="HTTP 503, gave up after 4 attempt"):
            client.lookup_artist(MBID)
        assert sleeps == [0.5, 1.0, 2.0] and len(stub.hits(f"/ws/2/artist/{MBID}")) == 4
        assert client.stats.requests == 4 and client.stats.retries == 3


def test_a_retry_after_past_the_cap_fails_at_once():
    with StubServer() as stub:
        stub.add("GET", "/ws/2/url", Reply(503, RATE_LIMIT_HTML, {"Retry-After": "3600", "Content-Type": "text/html"}))
        client, sleeps = _client(stub)
        with pytest.raises(SourceUnavailable, match="gave up after 1 attempt"):
            client.lookup_url("https://open.spotify.com/artist/x")
        assert sleeps == [] and len(stub.hits("/ws/2/url")) == 1


def test_unknown_mbid_and_unknown_url_are_none():
    with StubServer() as stub:
        stub.add("GET", f"/ws/2/artist/{MBID}", Reply(404, {"error": "Not Found", "help": "..."}))
        stub.add("GET", "/ws/2/url", Reply(404, {"error": "Not Found"}))
        client, sleeps = _client(stub)
        assert client.lookup_artist(MBID) is None
        assert client.lookup_url("https://open.spotify.com/artist/nobody") is None
        assert sleeps == [] and client.stats.requests == 2


def test_bad_request_fails_the_unit_without_retrying():
    with StubServer() as stub:
        stub.add(
            "GET", f"/ws/2/artist/{MBID}", Reply(400, {"error": "aliases+genres+tags+url-rels is not a valid inc parameter"})
        )
        client, sleeps = _client(stub)
        with pytest.raises(SourceUnavailable, match="HTTP 400.*not a valid inc"):
            client.lookup_artist(MBID)
        assert sleeps == [] and len(stub.hits(f"/ws/2/artist/{MBID}")) == 1


def test_a_malformed_mbid_fails_without_a_request():
    with StubServer() as stub:
        client, _ = _client(stub)
        with pytest.raises(SourceUnavailable, match="not an MBID"):
            client.lookup_artist("../url?resource=x")
        assert stub.requests == [] and client.stats.requests == 0


def test_a_search_answering_404_fails_the_unit():
    with StubServer() as stub:  # no route: the stub answers 404, as a wrong api_url would
        client, _ = _client(stub)
        with pytest.raises(SourceUnavailable, match="404"):
            client.search_artists('artist:"Nirvana"')


def test_malformed_bodies_fail_the_unit():
    with StubServer() as stub:
        client, _ = _client(stub)
        for body in ["{not json", "<html><body>Oops</body></html>", "", '["a list"]']:
            for path in (f"/ws/2/artist/{MBID}", "/ws/2/artist", "/ws/2/url"):
                stub.add("GET", path, Reply(200, body))
            with pytest.raises(SourceUnavailable):
                client.lookup_artist(MBID)
            with pytest.raises(SourceUnavailable):
                client.search_artists('artist:"Nirvana"')
            with pytest.raises(SourceUnavailable):
                client.lookup_url("https://open.spotify.com/artist/x")


def test_search_responses_without_artist_hits_fail_the_unit():
    with StubServer() as stub:
        client, _ = _client(stub)
        for body in [{"count": 1}, {"artists": None}, {"artists": [{"name": "no id"}]}]:
            stub.add("GET", "/ws/2/artist", Reply(200, body))
            with pytest.raises(SourceUnavailable, match="not an artist search result"):
                client.search_artists('artist:"Nirvana"')


def test_an_artist_without_an_id_fails_the_unit():
    with StubServer() as stub:
        stub.add("GET", f"/ws/2/artist/{MBID}", Reply(200, {"name": "Nirvana"}))
        client, _ = _client(stub)
        with pytest.raises(SourceUnavailable, match="no artist id"):
            client.lookup_artist(MBID)


def test_timeouts_are_retried_then_fail_the_unit():
    with StubServer() as stub:
        stub.add("GET", f"/ws/2/artist/{MBID}", Reply(200, ARTIST, delay_s=1.0))
        client, sleeps = _client(stub, timeout_s=0.2, max_retries=1)
        with pytest.raises(SourceUnavailable, match="ReadTimeout"):
            client.lookup_artist(MBID)
        assert sleeps == [0.5] and len(stub.hits(f"/ws/2/artist/{MBID}")) == 2
