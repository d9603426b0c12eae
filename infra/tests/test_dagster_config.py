"""The rendered instance file against Dagster's own schemas, in the platform's venv (`make install`): the
versions of dagster and dagster-aws that the image runs (requirements.lock)."""

import os
import subprocess
from pathlib import Path

import yaml

from concert_infra.instance_yaml import REPO_ROOT

PLATFORM_PYTHON = Path(os.environ.get("CONCERT_PLATFORM_PYTHON", REPO_ROOT / ".venv" / "bin" / "python"))
CHECK = Path(__file__).with_name("dagster_schema_check.py")
ENV = {
    "DAGSTER_PG_HOST": "db.internal",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_USERNAME": "dagster",
    "DAGSTER_PG_PASSWORD": "not-a-secret",
    "DAGSTER_PG_DB": "dagster",
    "DAGSTER_COMPUTE_LOG_BUCKET": "concert-dev-lake",
}


def _check(instance_yaml: str, tmp_path) -> subprocess.CompletedProcess:
    assert PLATFORM_PYTHON.exists(), f"{PLATFORM_PYTHON} is missing: run `make install` first (the platform's venv)"
    (tmp_path / "dagster.yaml").write_text(instance_yaml)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path), **ENV}
    return subprocess.run([str(PLATFORM_PYTHON), str(CHECK), str(tmp_path)], env=env, capture_output=True, text=True, timeout=120)


def _instance_yaml(synth) -> str:
    (task,) = [
        t
        for t in synth.resources("AWS::ECS::TaskDefinition", "orchestration").values()
        if t["Properties"]["Family"].endswith("-run")
    ]
    (container,) = task["Properties"]["ContainerDefinitions"]
    return next(e["Value"] for e in container["Environment"] if e["Name"] == "DAGSTER_INSTANCE_YAML")


def test_rendered_instance_is_valid_for_dagster(dev, tmp_path):
    done = _check(_instance_yaml(dev), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "run_launcher: EcsRunLauncher config valid" in done.stdout
    assert "compute_logs: S3ComputeLogManager config valid" in done.stdout


def test_the_check_refuses_a_bad_launcher_config(dev, tmp_path):
    instance = yaml.safe_load(_instance_yaml(dev))
    instance["run_launcher"]["config"]["propagate_tags"] = {"deny_list": ["x"]}
    done = _check(yaml.safe_dump(instance), tmp_path)
    assert done.returncode != 0 and "run_launcher" in done.stderr + done.stdout
