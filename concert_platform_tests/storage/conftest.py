"""A real PostgreSQL on 127.0.0.1: each test gets a schema (or a database) of its own, dropped afterwards."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from concert_platform.storage.sql import quote_ident

# Only this server: tests never reach anything but the local machine.
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_URL = f"{PG_SERVER}/postgres"


@pytest.fixture(scope="session")
def pg_url() -> str:
    try:
        with psycopg.connect(PG_URL, connect_timeout=5):
            pass
    except psycopg.OperationalError as exc:
        pytest.fail(f"these tests need PostgreSQL at {PG_URL} (trust auth): {exc}")
    return PG_URL


@pytest.fixture
def pg_admin(pg_url):
    """An autocommit connection for setting up and inspecting, outside the code under test."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def pg_schema(pg_admin) -> str:
    """A fresh schema name; the warehouse creates it on its first load. Dropped with all it holds afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    pg_admin.execute(f"DROP SCHEMA IF EXISTS {quote_ident(name)} CASCADE")


@pytest.fixture
def pg_database(pg_admin) -> str:
    """A fresh database; returns its name. Dropped afterwards, sessions still on it included."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    pg_admin.execute(f"CREATE DATABASE {quote_ident(name)}")
    yield name
    pg_admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
