"""Settings: read from the environment when built, lists comma-separated, blanks unset."""


def test_settings_lists_and_blanks(monkeypatch):
    from concert_platform.settings import Settings

    monkeypatch.setenv("CONCERT_TICKETMASTER_COUNTRIES", "US, GB")
    monkeypatch.setenv("TICKETMASTER_API_KEY", "")
    settings = Settings(_env_file=None)
    assert settings.ticketmaster_countries == ["US", "GB"] and settings.ticketmaster_cities == []
    assert settings.ticketmaster_api_key is None
    assert (
        settings.concert_sources == {"ticketmaster": "demo", "spotify": "demo", "musicbrainz": "demo"}
        and settings.live_sources == []
    )
