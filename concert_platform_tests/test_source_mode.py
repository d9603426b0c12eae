"""CONCERT_SOURCES: the one switch between demo and live data, per source.

Credentials never choose the mode: a live source without them fails when the
definitions load (naming every missing variable), and a demo source's
credentials are ignored with a warning.
"""

import logging
import os
import subprocess
import sys

import dagster as dg
import pytest
from pydantic import ValidationError

from concert_platform.defs.assets.sources import EventWindow, ticketmaster_events_raw
from concert_platform.defs.resources import MusicBrainzResource, SpotifyResource, TicketmasterResource, build_resources
from concert_platform.settings import Settings, parse_source_modes
from concert_platform.sources.demo import DemoMusicBrainz, DemoSpotify, DemoTicketmaster
from concert_platform.sources.musicbrainz import LiveMusicBrainz
from concert_platform.sources.spotify import LiveSpotify
from concert_platform.sources.ticketmaster import LiveTicketmaster
from concert_platform_tests.defs.conftest import fresh_store

CREDENTIALS = {
    "TICKETMASTER_API_KEY": "tm-key-DO-NOT-LEAK",
    "SPOTIFY_CLIENT_ID": "concert-platform",
    "SPOTIFY_CLIENT_SECRET": "sp-secret-DO-NOT-LEAK",
    "MUSICBRAINZ_USER_AGENT": "ConcertPlatform/0.1 ( data@concert.example )",
}
ALL_DEMO = {"ticketmaster": "demo", "spotify": "demo", "musicbrainz": "demo"}
ALL_LIVE = {"ticketmaster": "live", "spotify": "live", "musicbrainz": "live"}
WORLD = {"demo_seed": 7, "demo_date": "2026-11-20"}


@pytest.fixture
def env(monkeypatch):
    """No source setting or credential from the surrounding shell; tests set what they need."""
    for variable in ["CONCERT_SOURCES", *CREDENTIALS]:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


def _settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "concert_platform.settings" and r.levelno == logging.WARNING]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("demo", ALL_DEMO),
        ("live", ALL_LIVE),
        (" LIVE ", ALL_LIVE),
        (
            "ticketmaster=live,spotify=demo,musicbrainz=live",
            {"ticketmaster": "live", "spotify": "demo", "musicbrainz": "live"},
        ),
        (
            " musicbrainz = demo , Ticketmaster=LIVE,spotify=demo ",
            {"ticketmaster": "live", "spotify": "demo", "musicbrainz": "demo"},
        ),
    ],
)
def test_the_parser_reads_one_mode_for_all_or_one_per_source(text, expected):
    assert parse_source_modes(text) == expected
    assert list(parse_source_modes(text)) == ["ticketmaster", "spotify", "musicbrainz"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ticketmaster=live,spotify=demo", "musicbrainz not named"),
        ("ticketmaster=live", "spotify, musicbrainz not named"),
        ("ticketmaster=live,spotify=demo,musicbrainz=live,lastfm=live", "unknown source 'lastfm'"),
        ("ticketmaster=live,spotify=stub,musicbrainz=live", "unknown mode 'stub' for spotify"),
        ("ticketmaster=live,spotify=demo,musicbrainz=live,spotify=live", "spotify named 2 times"),
        ("ticketmaster=live,spotify,musicbrainz=demo", "'spotify' is not source=mode"),
        ("mixed", "'mixed' is not source=mode"),
        ("ticketmaster=live,,spotify=demo,musicbrainz=demo", "'' is not source=mode"),
    ],
)
def test_the_parser_names_what_is_wrong(text, problem):
    with pytest.raises(ValueError, match="CONCERT_SOURCES") as error:
        parse_source_modes(text)
    assert problem in str(error.value)


def test_settings_default_to_demo_and_read_the_environment(env):
    assert _settings().concert_sources == ALL_DEMO
    env.setenv("CONCERT_SOURCES", "")  # `.env.example` copied as-is: the default
    assert _settings().concert_sources == ALL_DEMO
    env.setenv("CONCERT_SOURCES", "ticketmaster=demo,spotify=demo,musicbrainz=live")
    env.setenv("MUSICBRAINZ_USER_AGENT", CREDENTIALS["MUSICBRAINZ_USER_AGENT"])
    settings = _settings()
    assert settings.concert_sources == {"ticketmaster": "demo", "spotify": "demo", "musicbrainz": "live"}
    assert settings.live_sources == ["musicbrainz"]
    env.setenv("CONCERT_SOURCES", "ticketmaster=live")
    with pytest.raises(ValidationError, match="spotify, musicbrainz not named"):
        _settings()
    env.delenv("CONCERT_SOURCES")
    env.setenv("SOURCES", "live")  # only the CONCERT_ name counts
    assert _settings().concert_sources == ALL_DEMO
    assert _settings(concert_sources="musicbrainz=live,spotify=demo,ticketmaster=demo").live_sources == ["musicbrainz"]


def test_live_without_credentials_fails_naming_every_missing_variable(env):
    env.setenv("CONCERT_SOURCES", "live")
    with pytest.raises(ValidationError) as error:
        _settings()
    message = str(error.value)
    for variable in CREDENTIALS:
        assert variable in message
    assert "CONCERT_SOURCES runs ticketmaster, spotify, musicbrainz live" in message


def test_the_load_error_names_what_is_missing_and_never_shows_a_secret(env):
    env.setenv("CONCERT_SOURCES", "live")
    env.setenv("SPOTIFY_CLIENT_SECRET", CREDENTIALS["SPOTIFY_CLIENT_SECRET"])
    env.setenv("TICKETMASTER_API_KEY", CREDENTIALS["TICKETMASTER_API_KEY"])
    with pytest.raises(ValidationError) as error:
        _settings()
    message = str(error.value)
    assert "SPOTIFY_CLIENT_ID, MUSICBRAINZ_USER_AGENT are not set" in message
    assert "TICKETMASTER_API_KEY" not in message and "SPOTIFY_CLIENT_SECRET" not in message
    assert CREDENTIALS["SPOTIFY_CLIENT_SECRET"] not in message and CREDENTIALS["TICKETMASTER_API_KEY"] not in message


def test_demo_with_credentials_runs_demo_and_warns_which_are_ignored(env, caplog):
    for variable, value in CREDENTIALS.items():
        env.setenv(variable, value)
    settings = _settings(**WORLD)
    [text] = _warnings(caplog)
    assert text.startswith("CONCERT_SOURCES runs ticketmaster, spotify, musicbrainz on demo data, so TICKETMASTER_API_KEY, ")
    assert all(variable in text for variable in CREDENTIALS)
    assert not any(secret in text for secret in CREDENTIALS.values())

    resources = build_resources(settings)
    assert isinstance(resources["ticketmaster"].client(), DemoTicketmaster)
    assert isinstance(resources["spotify"].client(), DemoSpotify)
    assert isinstance(resources["musicbrainz"].client(), DemoMusicBrainz)
    # The demo resources carry no credentials, so their config in the UI shows what they use.
    assert resources["ticketmaster"].api_key is None and resources["spotify"].client_secret is None


def test_no_warning_when_modes_and_credentials_agree(env, caplog):
    assert _settings().concert_sources == ALL_DEMO
    for variable, value in CREDENTIALS.items():
        env.setenv(variable, value)
    env.setenv("CONCERT_SOURCES", "live")
    assert _settings().concert_sources == ALL_LIVE
    assert _warnings(caplog) == []


def test_mixing_named_sources_builds_each_its_own_client(env, caplog):
    env.setenv("CONCERT_SOURCES", "ticketmaster=live,spotify=demo,musicbrainz=live")
    env.setenv("TICKETMASTER_API_KEY", CREDENTIALS["TICKETMASTER_API_KEY"])
    env.setenv("MUSICBRAINZ_USER_AGENT", CREDENTIALS["MUSICBRAINZ_USER_AGENT"])
    env.setenv("SPOTIFY_CLIENT_ID", CREDENTIALS["SPOTIFY_CLIENT_ID"])  # half of Spotify's: demo asked for, so ignored
    resources = build_resources(_settings(**WORLD))
    [text] = _warnings(caplog)
    assert text.startswith("CONCERT_SOURCES runs spotify on demo data, so SPOTIFY_CLIENT_ID is ignored")
    assert [resources[s].mode for s in ("ticketmaster", "spotify", "musicbrainz")] == ["live", "demo", "live"]
    assert isinstance(resources["ticketmaster"].client(), LiveTicketmaster)
    assert isinstance(resources["spotify"].client(), DemoSpotify)
    assert isinstance(resources["musicbrainz"].client(), LiveMusicBrainz)
    # From the environment, the key reaches the resource as the variable's name, not its value.
    assert isinstance(resources["ticketmaster"].api_key, dg.EnvVar)


def test_a_live_resource_built_by_hand_without_credentials_refuses_to_build_a_client():
    with pytest.raises(ValueError, match=r"TicketmasterResource is in live mode but has no api_key \(TICKETMASTER_API_KEY\)"):
        TicketmasterResource(mode="live", **WORLD).client()
    with pytest.raises(ValueError, match=r"has no client_secret \(SPOTIFY_CLIENT_SECRET\)"):
        SpotifyResource(mode="live", client_id="i").client()
    with pytest.raises(ValueError, match=r"has no user_agent \(MUSICBRAINZ_USER_AGENT\)"):
        MusicBrainzResource(mode="live").client()
    assert isinstance(SpotifyResource(mode="live", client_id="i", client_secret="s").client(), LiveSpotify)
    with pytest.raises(ValueError):
        TicketmasterResource(mode="stub")


def test_the_raw_asset_metadata_shows_the_source_mode(tmp_path):
    results = list(
        ticketmaster_events_raw(
            dg.build_asset_context(),
            EventWindow(days_back=0, days_ahead=7),
            TicketmasterResource(mode="demo", **WORLD),
            *fresh_store(tmp_path),
        )
    )
    [output] = [r for r in results if isinstance(r, dg.Output)]
    assert output.metadata["source_mode"].value == "demo"
    live = LiveTicketmaster("http://127.0.0.1:9", "k")  # never asked anything: only its counters are read
    assert live.stats.as_metadata()["source_mode"] == "live"


def _validate(tmp_path, name: str, sources: str, **extra: str) -> subprocess.Popen:
    """``dagster definitions validate`` as a user runs it: a fresh process, the environment alone."""
    home = tmp_path / name / "home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CONCERT_", "DAGSTER_", "TICKETMASTER_", "SPOTIFY_", "MUSICBRAINZ_"))
    }
    env.update(
        DAGSTER_HOME=str(home),
        CONCERT_SOURCES=sources,
        CONCERT_LAKE_URL=str(tmp_path / name / "lake"),
        CONCERT_LANDING_URL=str(tmp_path / name / "landing"),
        CONCERT_WAREHOUSE_URL=f"duckdb:///{tmp_path / name / 'w.duckdb'}",
        **extra,
    )
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    command = [dagster, "definitions", "validate", "-m", "concert_platform.definitions"]
    return subprocess.Popen(command, cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_dagster_refuses_to_load_live_sources_without_credentials_and_loads_the_demo(tmp_path):
    live = _validate(tmp_path, "live", "live")
    demo = _validate(tmp_path, "demo", "demo", TICKETMASTER_API_KEY=CREDENTIALS["TICKETMASTER_API_KEY"])  # both at once
    live_out, demo_out = live.communicate(timeout=300)[0], demo.communicate(timeout=300)[0]
    assert live.returncode != 0, live_out
    assert "CONCERT_SOURCES runs ticketmaster, spotify, musicbrainz live" in live_out
    assert "TICKETMASTER_API_KEY, SPOTIFY_CLIENT_ID, SPOTIFY_CLIENT_SECRET, MUSICBRAINZ_USER_AGENT are not set" in live_out
    assert demo.returncode == 0, demo_out
    assert "runs ticketmaster on demo data, so TICKETMASTER_API_KEY is ignored" in demo_out  # said where people look
    assert CREDENTIALS["TICKETMASTER_API_KEY"] not in demo_out
