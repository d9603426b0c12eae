"""A run reaches the warehouse and the lake before it reads anything, and no piece of a password is stored.

Real runs on a Dagster instance kept on disk, so what the event log, the run
storage (job snapshots hold resource config) and the compute logs keep can be
searched: in-process and through the `dagster` CLI, against the real local
PostgreSQL with a password that holds every character that breaks URLs.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import uuid
import zlib
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from concert_platform.defs.assets.sources import ticketmaster_events_raw
from concert_platform.defs.build import build_definitions
from concert_platform.defs.resources import build_resources
from concert_platform.settings import Settings
from concert_platform.storage.sql import quote_ident
from concert_platform.storage.warehouse import make_warehouse

from ..clone_root import BIN, bare_environment, make_clone_root
from ..password_fragments import PASSWORDS, leaked
from .conftest import DEMO_DATE

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = PASSWORDS[0]
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
# Two days of the demo world's events, not its year: the run is what is tested, not the volume.
TWO_DAYS = {"ops": {"ticketmaster_events_raw": {"config": {"days_back": 0, "days_ahead": 2}}}}


@pytest.fixture
def pg_schema():
    name = f"run_start_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(PG_SERVER, autocommit=True) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {quote_ident(name)} CASCADE")


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    """One instance on disk for the module's runs (making one costs seconds); what it stores is searched whole."""
    home = tmp_path_factory.mktemp("dagster_home")
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        yield instance, home


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def everything_stored(folder: Path) -> bytes:
    """Every file's bytes, plus every value of every SQLite table, zlib blobs (Dagster's snapshots) inflated."""
    chunks = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        chunks.append(path.read_bytes())
        if path.suffix == ".db":
            with sqlite3.connect(path) as db:
                for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                    for row in db.execute(f"SELECT * FROM {quote_ident(table)}"):
                        for value in row:
                            if isinstance(value, bytes):
                                try:
                                    value = zlib.decompress(value)
                                except zlib.error:
                                    pass
                            chunks.append(value if isinstance(value, bytes) else str(value).encode())
    return b"\n".join(chunks)


def _settings(tmp_path, **values) -> Settings:
    """The warehouse URL comes from the environment, as in production, unless given here."""
    places = {"lake_url": str(tmp_path / "lake"), "landing_url": str(tmp_path / "landing"), "demo_date": DEMO_DATE}
    return Settings(_env_file=None, **{**places, **values})


def test_a_run_with_a_hard_password_loads_and_stores_no_piece_of_it(tmp_path, instance, pg_schema, monkeypatch, caplog):
    instance, home = instance
    # Pasted as is: the hard case (percent-encoded passwords are covered URL by URL in storage/test_masking.py).
    monkeypatch.setenv("CONCERT_WAREHOUSE_URL", f"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/postgres")
    resources = build_resources(_settings(tmp_path, warehouse_schema=pg_schema))
    result = dg.materialize([ticketmaster_events_raw], resources=resources, instance=instance, run_config={**QUIET, **TWO_DAYS})
    assert result.success
    assert make_warehouse(PG_SERVER, pg_schema).count("ticketmaster_events_raw") > 0  # the password got the loader in

    events = "\n".join(repr(e) for e in result.all_events)
    assert not leaked(events, PASSWORD) and not leaked(caplog.text, PASSWORD)
    assert not leaked(everything_stored(home), PASSWORD)
    assert not leaked(everything_stored(tmp_path / "lake"), PASSWORD)


def test_an_unreachable_warehouse_fails_the_run_before_any_step_naming_where(tmp_path, instance, monkeypatch):
    instance, home = instance
    port = _closed_port()
    monkeypatch.setenv("CONCERT_WAREHOUSE_URL", f"postgresql://loader:{PASSWORD}@127.0.0.1:{port}/dw")
    job = build_definitions(_settings(tmp_path)).resolve_job_def("ticket_sales_job")
    result = job.execute_in_process(instance=instance, partition_key="2026-11-19", run_config=QUIET, raise_on_error=False)

    assert not result.success
    kinds = [event.event_type_value for event in result.all_events]
    assert "RESOURCE_INIT_FAILURE" in kinds and "STEP_START" not in kinds  # no step ran, so nothing was read
    [failure] = [event for event in result.all_events if event.event_type_value == "RESOURCE_INIT_FAILURE"]
    said = failure.event_specific_data.error.to_string()
    assert "the warehouse (CONCERT_WAREHOUSE_URL) cannot be reached, so the run stops before reading anything" in said
    assert f"cannot connect to postgresql://loader:***@127.0.0.1:{port}/dw (schema concert)" in said
    assert not leaked(said, PASSWORD) and not leaked(everything_stored(home), PASSWORD)
    assert not (tmp_path / "lake").exists() or not any(p.is_file() for p in (tmp_path / "lake").rglob("*"))


def test_an_unwritable_lake_fails_the_run_before_any_step(tmp_path, instance):
    instance, _ = instance
    (tmp_path / "lake").write_text("a file where the lake's folder should be")
    resources = build_resources(_settings(tmp_path, warehouse_url=f"duckdb:///{tmp_path}/w.duckdb"))
    run_config = {**QUIET, **TWO_DAYS}
    result = dg.materialize(
        [ticketmaster_events_raw], resources=resources, instance=instance, run_config=run_config, raise_on_error=False
    )
    assert not result.success
    assert "STEP_START" not in [event.event_type_value for event in result.all_events]
    [failure] = [event for event in result.all_events if event.event_type_value == "RESOURCE_INIT_FAILURE"]
    assert (
        f"the lake (CONCERT_LAKE_URL) at {tmp_path / 'lake'} cannot be written" in failure.event_specific_data.error.to_string()
    )


@pytest.mark.chaos  # a real `dagster` process: seconds of imports before the run starts
def test_a_cli_run_stores_no_piece_of_the_password_in_its_instance_or_compute_logs(tmp_path, pg_schema):
    root = make_clone_root(tmp_path / "clone")
    home = root / ".dagster_home"
    home.mkdir()
    environment = {
        **bare_environment(root / ".home"),
        "DAGSTER_HOME": str(home),
        "CONCERT_WAREHOUSE_URL": f"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/postgres",
        "CONCERT_WAREHOUSE_SCHEMA": pg_schema,
        "CONCERT_DEMO_DATE": DEMO_DATE.isoformat(),
    }
    done = subprocess.run(
        [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            "-m",
            "concert_platform.definitions",
            "--select",
            "ticketmaster_events_raw",
            "--config-json",
            json.dumps(TWO_DAYS),
        ],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert make_warehouse(PG_SERVER, pg_schema).count("ticketmaster_events_raw") > 0
    assert not leaked(done.stdout + done.stderr, PASSWORD)
    stored = everything_stored(home)
    assert b"ticketmaster_events_raw" in stored and list(home.rglob("compute_logs/*.err"))  # there to be searched
    assert not leaked(stored, PASSWORD) and not leaked(everything_stored(root / ".concert_data"), PASSWORD)
