"""The embedded instance: installed by `make`, found by every command from the repo root."""

from pathlib import Path

import dagster as dg
import pytest
import yaml
from dotenv import dotenv_values

from concert_platform import instance_config

ROOT = Path(__file__).resolve().parents[1]
EMBEDDED = ROOT / "dagster.yaml"


@dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2026-03-01", timezone="UTC"))
def tiny_sales_day(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"day": context.partition_key})


def test_the_embedded_config_needs_no_server_and_no_variable():
    config = yaml.safe_load(EMBEDDED.read_text())
    assert "storage" not in config  # Dagster's default: SQLite
    # Runs as processes (Dagster's launcher), with their workers' heartbeats watched.
    assert config["run_launcher"]["class"] == "HeartbeatRunLauncher"
    assert list(instance_config.env_vars(config)) == []


def test_install_writes_the_instance_and_records_it_for_the_cli(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# mine\nTICKETMASTER_API_KEY=kept\nDAGSTER_HOME=/somewhere/else\n")
    home = tmp_path / ".dagster_home"

    assert instance_config.install(EMBEDDED, home, environ={}, env_file=env_file) == "SQLite storage in $DAGSTER_HOME"
    assert yaml.safe_load((home / "dagster.yaml").read_text()) == yaml.safe_load(EMBEDDED.read_text())
    assert dotenv_values(env_file) == {"TICKETMASTER_API_KEY": "kept", "DAGSTER_HOME": str(home)}
    assert env_file.read_text().startswith("# mine\n")

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        queue = instance.get_concurrency_config()
        assert queue.run_queue_config.max_concurrent_runs == 2
        assert queue.pool_config.default_pool_limit == 1 and queue.pool_config.pool_granularity.value == "run"
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
        assert instance.run_monitoring_enabled and not instance.telemetry_enabled
        assert instance.run_monitoring_max_runtime_seconds == 43200  # frees a run that died with its parent
        assert dg.materialize([tiny_sales_day], instance=instance, partition_key="2026-03-14").success
    assert (home / "history" / "runs.db").exists()


def test_a_config_that_reads_unset_variables_is_refused_by_name(tmp_path):
    source = tmp_path / "team.yaml"
    source.write_text(
        "storage:\n  postgres:\n    postgres_db:\n"
        "      hostname: {env: DAGSTER_PG_HOST}\n      username: {env: DAGSTER_PG_USERNAME}\n"
        "      password: {env: DAGSTER_PG_PASSWORD}\n      db_name: {env: DAGSTER_PG_DB}\n"
    )
    with pytest.raises(SystemExit, match="reads DAGSTER_PG_USERNAME, DAGSTER_PG_PASSWORD from the environment"):
        instance_config.install(source, tmp_path / "home", environ={"DAGSTER_PG_HOST": "db", "DAGSTER_PG_DB": "d"}, env_file=None)
    assert not (tmp_path / "home").exists()
    environ = {
        "DAGSTER_PG_HOST": "db.internal",
        "DAGSTER_PG_USERNAME": "u",
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_DB": "dagster",
    }
    assert (
        instance_config.install(source, tmp_path / "home", environ=environ, env_file=None)
        == "PostgreSQL storage at db.internal/dagster"
    )
