"""deploy/dagster.yaml and deploy/docker/dagster.yaml as real Dagster instances on the local PostgreSQL,
and deploy/workspace.yaml as Dagster's workspace loader reads it."""

import shutil
import time
import uuid

import dagster as dg
import psycopg
import pytest
import yaml
from dagster._core.remote_origin import GrpcServerCodeLocationOrigin, InProcessCodeLocationOrigin, RemoteRepositoryOrigin
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    ScheduleInstigatorData,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.load import location_origins_from_yaml_paths
from dagster_docker import DockerRunLauncher
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from dagster_shared.check import CheckError

from concert_platform.run_health.launcher import HeartbeatRunLauncher
from concert_platform_tests.deploy.artifacts import (
    COMPOSE,
    COMPOSE_INSTANCE,
    INSTANCE,
    WORKSPACE,
    code_location_module,
    code_location_name,
    load_yaml,
)

PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}
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
def pg_env(monkeypatch, pg_database):
    """The DAGSTER_PG_* variables every deployed process gets, pointing at the fresh database."""
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


def _home(tmp_path, source, name="dagster_home"):
    """A DAGSTER_HOME holding `source` as its dagster.yaml, as the image and compose lay it out."""
    home = tmp_path / name
    home.mkdir()
    shutil.copy(source, home / "dagster.yaml")
    return home


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


def _assert_deployed_settings(instance: dg.DagsterInstance) -> None:
    """What every deployment variant shares: the queue, monitoring, retries, telemetry off."""
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    queue = instance.get_concurrency_config().run_queue_config
    assert queue.max_concurrent_runs == 8
    assert list(queue.tag_concurrency_limits) == [{"key": "dagster/backfill", "limit": 6}]
    # Backfills never take every slot: the schedules and the sensor always find one free.
    assert queue.tag_concurrency_limits[0]["limit"] < queue.max_concurrent_runs
    assert queue.max_user_code_failure_retries == 5 and queue.user_code_failure_retry_delay == 30
    # No pool limit: the `warehouse` pool throttles only the embedded DuckDB instance
    assert instance.get_concurrency_config().pool_config.default_pool_limit is None
    assert instance.run_monitoring_enabled
    assert instance.run_monitoring_start_timeout_seconds == 300
    assert instance.run_monitoring_cancel_timeout_seconds == 180
    assert instance.run_monitoring_max_runtime_seconds == 43200
    assert instance.run_monitoring_poll_interval_seconds == 60
    assert instance.run_monitoring_max_resume_run_attempts == 0
    assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
    assert not instance.telemetry_enabled


def test_deploy_instance_runs_on_postgres(tmp_path, pg_env):
    home = _home(tmp_path, INSTANCE)

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        # The DefaultRunLauncher, plus a health check from the run workers' heartbeats (concert_platform/run_health)
        assert type(instance.run_launcher) is HeartbeatRunLauncher and isinstance(instance.run_launcher, dg.DefaultRunLauncher)
        assert instance.run_launcher.supports_check_run_worker_health and instance.run_launcher.stale_after_seconds == 120
        _assert_deployed_settings(instance)
        result = dg.materialize([tiny_sales_day], instance=instance, partition_key=DAY)
        assert result.success
        instance.add_instigator_state(_schedule_state())

    # A new instance object from the same config, as the webserver or the daemon would open it
    with dg.DagsterInstance.from_config(str(home)) as reopened:
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


def test_default_launcher_cannot_resume_runs(tmp_path):
    # Why deploy/dagster.yaml leaves max_resume_run_attempts unset: its launcher, like the DefaultRunLauncher,
    # cannot resume a run, and the instance refuses to load (storage dropped here, so SQLite stands in for PostgreSQL).
    config = load_yaml(INSTANCE)
    del config["storage"]
    config["run_monitoring"]["max_resume_run_attempts"] = 1
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(CheckError, match="does not support resuming runs"):
        dg.DagsterInstance.from_config(str(tmp_path))


def test_compose_instance_is_the_deploy_instance_with_a_docker_launcher(tmp_path, pg_env):
    deploy, compose_instance = load_yaml(INSTANCE), load_yaml(COMPOSE_INSTANCE)
    launcher = compose_instance.pop("run_launcher")
    deploy.pop("run_launcher")
    assert compose_instance == deploy

    compose = load_yaml(COMPOSE)
    services = compose["services"]
    config = launcher["config"]
    assert (launcher["module"], launcher["class"]) == ("dagster_docker", "DockerRunLauncher")
    # Runs join the network compose creates, under the fixed name compose gives it
    assert config["network"] == compose["networks"]["concert_platform"]["name"]
    assert all(service["networks"] == ["concert_platform"] for service in services.values())
    # Each run's container gets exactly the settings the code location was loaded with, and the
    # daemon, which copies them from its own environment, has every one of them
    code_env = set(services["concert_platform_code"]["environment"]) - {"DAGSTER_CURRENT_IMAGE"}
    assert set(config["env_vars"]) == code_env
    assert set(config["env_vars"]) <= set(services["daemon"]["environment"])
    # Step logs go to the named volume the webserver reads them from
    (volume, mount), *more = config["container_kwargs"]["volumes"].items()
    assert not more and volume == compose["volumes"]["dagster_storage"]["name"]
    assert f"dagster_storage:{mount['bind']}" in services["webserver"]["volumes"]

    home = _home(tmp_path, COMPOSE_INSTANCE)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.run_launcher, DockerRunLauncher)
        assert instance.run_launcher.networks == [config["network"]]
        assert list(instance.run_launcher.env_vars) == config["env_vars"]
        _assert_deployed_settings(instance)


def test_workspace_finds_the_code_server_from_the_environment(monkeypatch):
    monkeypatch.setenv("CONCERT_CODE_SERVER_HOST", "10.20.30.40")
    monkeypatch.setenv("CONCERT_CODE_SERVER_PORT", "4123")
    [origin] = location_origins_from_yaml_paths([str(WORKSPACE)])
    assert isinstance(origin, GrpcServerCodeLocationOrigin)
    assert (origin.host, origin.port, origin.location_name) == ("10.20.30.40", 4123, code_location_name())
    assert code_location_module() == "concert_platform.definitions"

    monkeypatch.delenv("CONCERT_CODE_SERVER_HOST")
    with pytest.raises(Exception, match="CONCERT_CODE_SERVER_HOST"):
        location_origins_from_yaml_paths([str(WORKSPACE)])
