"""The Dagster instance file the ECS services and run tasks load, rendered from deploy/dagster.yaml.

Everything but where runs execute and where step logs go is deploy/dagster.yaml as it is (storage from the
DAGSTER_PG_* variables, the queue and its limits, run monitoring, retries, retention), so the two files
cannot drift apart: only ``run_launcher`` is replaced (EcsRunLauncher: each run its own Fargate task) and
``compute_logs`` added (S3, since no two tasks share a disk). Pure: no AWS, no CDK.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

# infra/concert_infra/instance_yaml.py -> the repository root.
REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_INSTANCE = REPO_ROOT / "deploy" / "dagster.yaml"

# Run tags copied onto each run's ECS task, so cost and task lists can be filtered by job, day and backfill
# (dagster/run_id and dagster/job_name are always set by the launcher).
PROPAGATED_TAGS = ("dagster/partition", "dagster/backfill", "dagster/schedule_name", "dagster/sensor_name")

HEADER = """\
# Rendered by infra/concert_infra/instance_yaml.py from deploy/dagster.yaml: do not edit here.
# Identical to deploy/dagster.yaml except `run_launcher` (EcsRunLauncher: every run is its own Fargate task
# from the task definition named below; a job asks for more CPU or memory with the run tags ecs/cpu and
# ecs/memory) and `compute_logs` (step logs in S3, read by the webserver). Every value is a literal or an
# env: reference; no secret is written here.
"""


@dataclass(frozen=True)
class EcsInstanceSettings:
    run_task_family: str
    run_container: str
    compute_log_bucket_env: str
    compute_log_prefix: str


def instance_config(settings: EcsInstanceSettings, base: dict | None = None) -> dict:
    """deploy/dagster.yaml (or ``base``) with the ECS run launcher and S3 compute logs."""
    config = dict(base if base is not None else yaml.safe_load(DEPLOY_INSTANCE.read_text()))
    config["run_launcher"] = {
        "module": "dagster_aws.ecs",
        "class": "EcsRunLauncher",
        "config": {
            # A family name: the launcher resolves it to the latest revision when it starts, so a deploy that
            # registers a new revision (a new image tag) is picked up by the daemon's restart in the same deploy.
            "task_definition": settings.run_task_family,
            "container_name": settings.run_container,
            # The task definition injects the secrets itself; without this the launcher would list every
            # Secrets Manager secret tagged `dagster` (secretsmanager:ListSecrets on *).
            "secrets_tag": None,
            # Runs start in the daemon's cluster, subnets and security group, read from its own task.
            "use_current_ecs_task_config": True,
            "propagate_tags": {"allow_list": list(PROPAGATED_TAGS)},
        },
    }
    config["compute_logs"] = {
        "module": "dagster_aws.s3.compute_log_manager",
        "class": "S3ComputeLogManager",
        "config": {
            "bucket": {"env": settings.compute_log_bucket_env},
            "prefix": settings.compute_log_prefix,
            "upload_interval": 30,
        },
    }
    return config


def render(settings: EcsInstanceSettings, base: dict | None = None) -> str:
    return HEADER + yaml.safe_dump(instance_config(settings, base), sort_keys=False, width=120)
