"""Real Dagster instances from the repo's own instance files: the embedded one (SQLite in a temp
DAGSTER_HOME) and deploy/dagster.yaml (a fresh database on the local PostgreSQL)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from concert_platform.storage.sql import quote_ident

ROOT = Path(__file__).resolve().parents[2]
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
INSTANCE_FILES = {"embedded": ROOT / "dagster.yaml", "deploy": ROOT / "deploy" / "dagster.yaml"}


def _admin() -> psycopg.Connection:
    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)


@pytest.fixture(params=sorted(INSTANCE_FILES))
def instance(request, tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(INSTANCE_FILES[request.param], home / "dagster.yaml")
    database = None
    if request.param == "deploy":
        database = f"run_health_{uuid.uuid4().hex[:12]}"
        with _admin() as conn:
            conn.execute(f"CREATE DATABASE {quote_ident(database)}")
        for name, value in {"HOST": "127.0.0.1", "PORT": "5432", "USERNAME": "postgres", "PASSWORD": "", "DB": database}.items():
            monkeypatch.setenv(f"DAGSTER_PG_{name}", value)
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            yield instance
    finally:
        if database:
            with _admin() as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(database)} WITH (FORCE)")
