"""Tests see none of the caller's environment: no exported key, no `.env`, no DAGSTER_HOME, no AWS profile.

``make run`` records DAGSTER_HOME in ``.env`` and developers keep live keys there or export them, while
``Settings()`` reads both. The session-wide guard in conftest.py removes them; the last test here runs
a pytest session in a folder that has them and checks that its tests see the defaults.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from concert_platform.settings import Settings
from concert_platform_tests.conftest import settings_variables

THIS_FILE = Path(__file__).resolve()

# A consistent live configuration, so that without the guard Settings() accepts it rather than failing.
LEAKS = {
    "TICKETMASTER_API_KEY": "leak",
    "SPOTIFY_CLIENT_ID": "leak",
    "SPOTIFY_CLIENT_SECRET": "leak",
    "MUSICBRAINZ_USER_AGENT": "Leak/1.0 ( leak@example.com )",
    "CONCERT_SOURCES": "live",
    "CONCERT_WAREHOUSE_URL": "postgresql://leak@127.0.0.1:1/leak",
    "DAGSTER_HOME": "/leak/dagster_home",
    "DAGSTER_PG_HOST": "leak",
    "AWS_PROFILE": "leak",
    "AWS_ACCESS_KEY_ID": "leak",
    "AWS_SECRET_ACCESS_KEY": "leak",
}


def _defaults() -> dict:
    return {name: field.get_default(call_default_factory=True) for name, field in Settings.model_fields.items()}


def test_settings_see_none_of_the_callers_environment():
    # Run by itself in this suite, and by the session below with every leak in place.
    present = [name for name in os.environ if name.lower() in {v.lower() for v in settings_variables()}]
    assert present == []
    assert [name for name in os.environ if name in LEAKS or name.startswith("DAGSTER_PG_")] == []
    assert Settings().model_dump() == _defaults()


def test_a_test_can_still_set_a_variable_on_purpose(monkeypatch):
    monkeypatch.setenv("CONCERT_WAREHOUSE_SCHEMA", "on_purpose")
    monkeypatch.setenv("CONCERT_DEMO_SEED", "11")
    settings = Settings()
    assert (settings.warehouse_schema, settings.demo_seed) == ("on_purpose", 11)


def test_settings_variables_cover_every_field():
    names = settings_variables()
    assert {"TICKETMASTER_API_KEY", "CONCERT_LAKE_URL", "SPOTIFY_CLIENT_SECRET"} <= names
    # Each field contributes at least its own name and its alias.
    assert len(names) >= 2 * len(Settings.model_fields)


def test_a_session_started_amid_leaks_sees_none_of_them(tmp_path):
    (tmp_path / ".env").write_text("".join(f"{name}={value}\n" for name, value in LEAKS.items()))
    env = {**os.environ, **LEAKS}

    # Without the guard the leaks are real: Settings() in that folder reads `.env` alone.
    control = subprocess.run(
        [
            sys.executable,
            "-c",
            "from concert_platform.settings import Settings; s = Settings(); "
            "print(s.ticketmaster_api_key.get_secret_value(), s.warehouse_url)",
        ],
        cwd=tmp_path,
        env={name: value for name, value in env.items() if name not in LEAKS},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert control.returncode == 0, control.stderr
    assert control.stdout.split() == [LEAKS["TICKETMASTER_API_KEY"], LEAKS["CONCERT_WAREHOUSE_URL"]]

    inner = [
        f"{THIS_FILE}::{test.__name__}"
        for test in (test_settings_see_none_of_the_callers_environment, test_a_test_can_still_set_a_variable_on_purpose)
    ]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *inner],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
