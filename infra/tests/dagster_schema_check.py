"""Run by the platform's Python (which has Dagster and dagster-aws), not infra's: loads $1/dagster.yaml as
Dagster loads an instance file, then checks the run launcher's and compute log manager's config against
those classes' own schemas, without constructing them (EcsRunLauncher would call AWS)."""

import importlib
import sys

from dagster._config import process_config
from dagster._config.field import resolve_to_config_type
from dagster._core.instance.config import dagster_instance_config

config, _ = dagster_instance_config(sys.argv[1])
for key in ("run_launcher", "compute_logs", "run_coordinator"):
    block = config[key]
    cls = getattr(importlib.import_module(block["module"]), block["class"])
    result = process_config(resolve_to_config_type(cls.config_type()), block.get("config") or {})
    if not result.success:
        raise SystemExit(f"{key}: " + "; ".join(error.message for error in result.errors))
    print(f"{key}: {block['class']} config valid")
