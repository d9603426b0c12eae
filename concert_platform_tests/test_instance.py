"""The Dagster instance config: the top-level dagster.yaml against a real PostgreSQL, and its SQLite variant."""

import shutil
import time
import uuid
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import yaml
from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteRepositoryOrigin
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    ScheduleInstigatorData,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from concert_platform import instance_config

PROJECT_CONFIG = Path(__file__).resolve().parents[1] / "dagster.yaml"
PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}
PG_VARS = ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB")
DAY = "2026-03-14"


@dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2026-03-01", timezone="UTC"))
def tiny_sales_day(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"day": context.partition_key, "rows": 3})


def _admin() -> psycopg.Connection:
    return psycopg.connect(host=PG["host"], port=PG["port"], user=PG["user"], dbname="postgres", autocommit=True)


@pytest.fixture
def pg_database():
    """A fresh database with a random name on the local PostgreSQL, dropped afterwards."""
    name = f"dagster_instance_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def no_pg_env(monkeypatch):
    for var in (*PG_VARS, "DAGSTER_PG_URL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def pg_env(monkeypatch, pg_database):
    """The DAGSTER_PG_* variables a team member exports, pointing at the fresh database."""
    values = {
        "DAGSTER_PG_HOST": PG["host"],
        "DAGSTER_PG_PORT": PG["port"],
        "DAGSTER_PG_USERNAME": PG["user"],
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_DB": pg_database,
    }
    for var, value in values.items():
        monkeypatch.setenv(var, value)
    return values


def _schedule_state() -> InstigatorState:
    code_location = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name="concert_platform.definitions"), location_name="concert_platform"
    )
    origin = RemoteRepositoryOrigin(code_location, "__repository__").get_instigator_origin("ticket_sales_schedule")
    return InstigatorState(
        origin,
        InstigatorType.SCHEDULE,
        InstigatorStatus.RUNNING,
        ScheduleInstigatorData(cron_schedule="0 1 * * *", start_timestamp=time.time()),
    )


def _assert_shared_settings(instance: dg.DagsterInstance) -> None:
    """What both variants keep: the run queue limits, retries, telemetry off."""
    queue = instance.get_concurrency_config().run_queue_config
    assert queue.max_concurrent_runs == 2
    assert list(queue.tag_concurrency_limits) == [{"key": "dagster/backfill", "limit": 2}]
    assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
    assert not instance.telemetry_enabled


def test_top_level_config_runs_on_postgres(tmp_path, monkeypatch, pg_env):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_CONFIG, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        _assert_shared_settings(instance)
        result = dg.materialize([tiny_sales_day], instance=instance, partition_key=DAY)
        assert result.success
        instance.add_instigator_state(_schedule_state())

    # A new instance object from the same config (as the webserver or the daemon would open it)
    with dg.DagsterInstance.get() as reopened:
        run = reopened.get_run_by_id(result.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        event = reopened.get_latest_materialization_event(tiny_sales_day.key)
        assert event is not None and event.run_id == result.run_id
        assert event.asset_materialization.partition == DAY
        assert event.asset_materialization.metadata["rows"].value == 3
        assert reopened.get_materialized_partitions(tiny_sales_day.key) == {DAY}
        states = reopened.all_instigator_state(instigator_type=InstigatorType.SCHEDULE)
        assert [(s.name, s.status) for s in states] == [("ticket_sales_schedule", InstigatorStatus.RUNNING)]

    # ...and it really is that database that holds them
    with psycopg.connect(host=PG["host"], port=PG["port"], user=PG["user"], dbname=pg_env["DAGSTER_PG_DB"]) as conn:
        assert conn.execute("SELECT status FROM runs WHERE run_id = %s", (result.run_id,)).fetchone() == ("SUCCESS",)
        assert conn.execute("SELECT count(*) FROM instigators").fetchone() == (1,)
    assert not (home / "history").exists() and not (home / "schedules").exists()  # no SQLite on the side


def test_local_variant_drops_only_storage_and_loads_as_sqlite(tmp_path, monkeypatch, no_pg_env, capsys):
    instance_config.main(["--source", str(PROJECT_CONFIG), "--local"])
    local = yaml.safe_load(capsys.readouterr().out)
    project = yaml.safe_load(PROJECT_CONFIG.read_text())
    assert "storage" in project and "storage" not in local
    assert local == {key: value for key, value in project.items() if key != "storage"}

    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(local))
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert type(instance.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "SqliteScheduleStorage"
        _assert_shared_settings(instance)
        assert dg.materialize([tiny_sales_day], instance=instance, partition_key=DAY).success
    assert (tmp_path / "history" / "runs.db").exists()


def test_install_chooses_storage_from_the_environment(tmp_path, monkeypatch, no_pg_env):
    # What `make run` / `make dev` do on a fresh machine: no DAGSTER_PG_* -> SQLite, no server
    assert instance_config.install(PROJECT_CONFIG, tmp_path) == "SQLite storage in $DAGSTER_HOME"
    assert "storage" not in yaml.safe_load((tmp_path / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"

    # DAGSTER_PG_HOST without the rest: a clear error naming what is missing, not a half-configured instance
    monkeypatch.setenv("DAGSTER_PG_HOST", "db.internal")
    with pytest.raises(SystemExit, match="DAGSTER_PG_PORT, DAGSTER_PG_USERNAME, DAGSTER_PG_PASSWORD, DAGSTER_PG_DB"):
        instance_config.install(PROJECT_CONFIG, tmp_path)

    # All of them: the top-level file itself, byte for byte below the header
    for var in PG_VARS[1:]:
        monkeypatch.setenv(var, "x" if var != "DAGSTER_PG_PORT" else "5432")
    assert instance_config.install(PROJECT_CONFIG, tmp_path) == "PostgreSQL storage at db.internal/x"
    assert (tmp_path / "dagster.yaml").read_text().endswith(PROJECT_CONFIG.read_text())
