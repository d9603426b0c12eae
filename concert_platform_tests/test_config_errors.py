"""Storage settings that cannot work stop the definitions from loading, with every problem named at once.

Checked from the text alone: no driver is imported and nothing is connected
to when the definitions load (`test_startup_imports` holds the imports; here a
warehouse nobody listens on still loads). Whether the places are reachable is
the run's first question (`storage/test_probes.py`, `defs/test_run_start.py`).
"""

from __future__ import annotations

import os
import socket
import subprocess

import dagster as dg
import pytest
from pydantic import ValidationError

from concert_platform.defs.build import build_definitions
from concert_platform.settings import Settings

from .clone_root import BIN, bare_environment, make_clone_root
from .password_fragments import PASSWORDS, leaked

ROLE = "arn:aws:iam::123456789012:role/concert-lake-read"
PASSWORD = PASSWORDS[0]


def _settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


def _refused(**values) -> str:
    with pytest.raises(ValidationError) as info:
        _settings(**values)
    return str(info.value)


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        (
            {"warehouse_url": f"mysql://loader:{PASSWORD}@db/dw"},
            "CONCERT_WAREHOUSE_URL: unsupported warehouse URL scheme 'mysql'",
        ),
        ({"warehouse_url": "warehouse.duckdb"}, "unsupported warehouse URL scheme '(none)'"),
        ({"warehouse_schema": "Concert"}, "CONCERT_WAREHOUSE_SCHEMA 'Concert' is not a plain name"),
        ({"warehouse_schema": "concert-data"}, "CONCERT_WAREHOUSE_SCHEMA 'concert-data' is not a plain name"),
        ({"warehouse_schema": 'con"cert'}, "is not a plain name"),
        ({"warehouse_schema": "1concert"}, "is not a plain name"),
        ({"warehouse_schema": ""}, "is not a plain name"),
        ({"warehouse_schema": "c" * 64}, "CONCERT_WAREHOUSE_SCHEMA is 64 bytes long: PostgreSQL cuts names at 63"),
        ({"warehouse_schema": "é" * 32}, "CONCERT_WAREHOUSE_SCHEMA is 64 bytes long"),
        ({"warehouse_url": f"postgresql://loader:{PASSWORD}@db:54x/dw"}, "a port must be a number from 1 to 65535"),
        ({"warehouse_url": "postgresql://db:70000/dw"}, "a port must be a number from 1 to 65535"),
        ({"warehouse_url": "postgresql://db/dw?sslmode"}, "the query after ? must be name=value pairs"),
        ({"warehouse_url": "postgresql://db/d%zzw"}, "not followed by two hex digits"),
        ({"warehouse_url": "postgresql://[::1/dw"}, "malformed host"),
        (
            {"warehouse_url": f"redshift://loader:{PASSWORD}@cluster:5439/dev", "lake_url": "s3://lake/data"},
            "CONCERT_REDSHIFT_IAM_ROLE is not set: Redshift loads the lake's Parquet with COPY",
        ),
        (
            {"warehouse_url": "redshift://loader@cluster:5439/dev", "redshift_iam_role": ROLE},
            "CONCERT_LAKE_URL is not on S3 (s3://bucket/prefix): Redshift's COPY reads the lake's files from S3",
        ),
        ({"warehouse_url": "redshift://:5439/dev", "redshift_iam_role": ROLE, "lake_url": "s3://l/x"}, "names no Redshift host"),
        ({"lake_url": "gs://bucket/lake"}, "CONCERT_LAKE_URL: unsupported scheme 'gs'"),
        ({"landing_url": "s3://"}, "CONCERT_LANDING_URL names no bucket"),
        ({"landing_url": f"s3://AKIAEXAMPLE:{PASSWORD}@bucket/landing"}, "CONCERT_LANDING_URL carries credentials"),
        ({"aws_endpoint_url": f"http://minio:{PASSWORD}@127.0.0.1:9000"}, "AWS_ENDPOINT_URL carries credentials"),
    ],
)
def test_each_unusable_setting_is_refused_naming_it_and_never_a_password(values, problem):
    message = _refused(**values)
    assert problem in message and not leaked(message, PASSWORD), message


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"warehouse_url": f"postgresql://loader:{PASSWORD}@db.example:5432/dw?sslmode=require&application_name=x"},
        {"warehouse_url": "postgresql+psycopg://loader@[::1]:5432/dw", "warehouse_schema": "_concert_2"},
        {"warehouse_url": "postgres://loader@db1:5432,db2:5433/dw?target_session_attrs=read-write&"},
        {"warehouse_url": "duckdb:///:memory:", "warehouse_schema": "c" * 63},
        {"warehouse_url": f"redshift://loader:{PASSWORD}@cluster:5439/dev", "redshift_iam_role": ROLE, "lake_url": "s3://b/l"},
        {"lake_url": "file:///srv/lake", "landing_url": "s3://bucket/landing", "aws_endpoint_url": "127.0.0.1:9000"},
    ],
)
def test_usable_settings_load(values):
    _settings(**values)


def test_every_problem_is_named_at_once_live_credentials_included(monkeypatch):
    monkeypatch.setenv("CONCERT_SOURCES", "live")
    message = _refused(warehouse_url="redshift://loader@cluster/dev", warehouse_schema="Bad Name", lake_url="lake")
    for problem in (
        "CONCERT_SOURCES runs ticketmaster, spotify, musicbrainz live, but TICKETMASTER_API_KEY",
        "CONCERT_WAREHOUSE_SCHEMA 'Bad Name' is not a plain name",
        "CONCERT_REDSHIFT_IAM_ROLE is not set",
        "CONCERT_LAKE_URL is not on S3",
    ):
        assert problem in message, message
    assert message.count("validation error") == 1


def test_loading_connects_to_nothing(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens here: a connection at load would fail
    settings = _settings(warehouse_url=f"postgresql://loader:{PASSWORD}@127.0.0.1:{port}/dw", lake_url=str(tmp_path / "lake"))
    defs = build_definitions(settings)
    assert defs.get_repository_def().get_top_level_resources()["warehouse"] is not None
    assert not (tmp_path / "lake").exists()


def _load(root, *command: str, **environment: str) -> subprocess.Popen:
    """A CLI that loads the code location, from a fresh clone's root, with a bare environment plus ``environment``."""
    return subprocess.Popen(
        [str(BIN / command[0]), *command[1:]],
        cwd=root,
        env={**bare_environment(root / ".home"), **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_dagster_refuses_to_load_and_says_why(tmp_path):
    # `dg check defs` runs this very command's implementation (definitions_validate_command_impl), and so
    # does every code server load: one process is enough to prove what users see.
    broken = {
        "CONCERT_WAREHOUSE_URL": f"mysql://loader:{PASSWORD}@db.example/dw",
        "CONCERT_WAREHOUSE_SCHEMA": "x" * 70,
        "CONCERT_LAKE_URL": str(tmp_path / "lake"),
        "CONCERT_LANDING_URL": str(tmp_path / "landing"),
    }
    load = _load(
        make_clone_root(tmp_path / "clone"), "dagster", "definitions", "validate", "-m", "concert_platform.definitions", **broken
    )
    out = load.communicate(timeout=300)[0]
    assert load.returncode != 0, out
    assert "unsupported warehouse URL scheme 'mysql'" in out and "CONCERT_WAREHOUSE_SCHEMA is 70 bytes long" in out, out
    assert not leaked(out, PASSWORD), out
    assert not (tmp_path / "lake").exists()


def test_a_resource_never_holds_a_password_the_ui_would_show(monkeypatch, tmp_path, caplog):
    from concert_platform.defs.resources import build_resources

    url = f"postgresql://loader:{PASSWORD}@db.example/dw"
    # From the environment: the variable's name stands in for the value.
    monkeypatch.setenv("CONCERT_WAREHOUSE_URL", url)
    assert build_resources(Settings(_env_file=None))["warehouse"].url == dg.EnvVar("CONCERT_WAREHOUSE_URL")
    # From .env (read by Settings, not exported, as under `make run`): exported first, like Dagster's CLI does.
    monkeypatch.delenv("CONCERT_WAREHOUSE_URL")
    (tmp_path / ".env").write_text(f"CONCERT_WAREHOUSE_URL='{url}'\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(Settings.model_config, "env_file", ".env")
    assert build_resources(Settings())["warehouse"].url == dg.EnvVar("CONCERT_WAREHOUSE_URL")
    assert os.environ["CONCERT_WAREHOUSE_URL"] == url
    # Handed over in code: passed as is, and said so, by name only.
    monkeypatch.setitem(Settings.model_config, "env_file", None)
    other = url.replace("db.example", "db2.example")
    assert build_resources(_settings(warehouse_url=other))["warehouse"].url == other
    [warning] = [r.getMessage() for r in caplog.records if r.name == "concert_platform.defs.resources"]
    assert "CONCERT_WAREHOUSE_URL was handed over in code" in warning and not leaked(warning, PASSWORD)
    caplog.clear()
    build_resources(_settings(warehouse_url=f"duckdb:///{tmp_path}/w.duckdb"))  # nothing secret, nothing said
    assert not [r for r in caplog.records if r.name == "concert_platform.defs.resources"]
