"""Shared fixtures: real parts only (a moto S3 server over HTTP, temp folders, DuckDB files).

Every test session starts from a clean environment (see ``_isolated_from_the_callers_environment``).
"""

from __future__ import annotations

import os
import socket
import uuid

import boto3
import pytest
from pydantic import AliasChoices, AliasPath

from concert_platform.settings import Settings

# Besides what Settings reads: where Dagster's instance lives, and who boto3 would be.
_OTHER_VARIABLES = ("DAGSTER_HOME",)
_OTHER_PREFIXES = ("DAGSTER_PG_", "AWS_")


def settings_variables() -> set[str]:
    """Every environment variable ``Settings()`` reads, from the class itself, so a new setting is covered."""
    prefix = Settings.model_config.get("env_prefix") or ""
    names = set()
    for field_name, field in Settings.model_fields.items():
        # populate_by_name: pydantic-settings also reads a variable named like the field.
        names.add(prefix + field_name)
        for alias in (field.validation_alias, field.alias):
            choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
            for choice in choices:
                if isinstance(choice, AliasPath):
                    choice = choice.path[0]
                if isinstance(choice, str):
                    names.update({choice, prefix + choice})
    return names


@pytest.fixture(scope="session", autouse=True)
def _isolated_from_the_callers_environment(tmp_path_factory):
    """A developer's exported keys, DAGSTER_HOME, AWS profile or ``.env`` must not change what tests see.

    Tests that want a variable set it with monkeypatch (``aws_env`` does for S3), on top of this.
    """
    read = {name.lower() for name in settings_variables()}  # Settings matches names case-insensitively
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.lower() in read or name in _OTHER_VARIABLES or name.startswith(_OTHER_PREFIXES):
                mp.delenv(name)
        # boto3 falls back to ~/.aws and then to the instance metadata service: give it neither.
        nowhere = str(tmp_path_factory.mktemp("no-aws-config") / "absent")
        mp.setenv("AWS_CONFIG_FILE", nowhere)
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", nowhere)
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        # Settings reads `.env` from the current folder, where `make run` records DAGSTER_HOME and users keep keys.
        mp.setitem(Settings.model_config, "env_file", None)
        yield


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 as a real HTTP server on 127.0.0.1; boto3 and pyarrow talk to it over sockets."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch, s3_endpoint):
    """Fake credentials so nothing can reach real AWS, and the endpoint pointed at moto."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return s3_endpoint


@pytest.fixture
def s3_bucket(aws_env):
    """A fresh bucket per test; returns its name."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1").create_bucket(Bucket=name)
    return name
