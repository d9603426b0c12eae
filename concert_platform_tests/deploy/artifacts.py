"""The deployment artifacts under deploy/, read the way their tools read them, for the tests beside this file."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
INSTANCE = DEPLOY / "dagster.yaml"
WORKSPACE = DEPLOY / "workspace.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKER_LAUNCHER_LOCK = DEPLOY / "requirements-docker.lock"
COMPOSE_DIR = DEPLOY / "docker"
COMPOSE = COMPOSE_DIR / "compose.yaml"
COMPOSE_INSTANCE = COMPOSE_DIR / "dagster.yaml"
COMPOSE_ENV_DOC = COMPOSE_DIR / "compose.env.example"
HELM_VALUES = DEPLOY / "helm" / "values.yaml"
DOCKERIGNORE = ROOT / ".dockerignore"
LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# Environment variable names whose values are credentials.
SENSITIVE = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY", re.IGNORECASE)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def code_location_module() -> str:
    return PYPROJECT["tool"]["dagster"]["module_name"]


def code_location_name() -> str:
    return PYPROJECT["tool"]["dagster"]["code_location_name"]


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str

    def exec_form(self) -> list[str]:
        """CMD/ENTRYPOINT/RUN in JSON (exec) form as an argv; shell form is refused."""
        argv = json.loads(self.args)
        assert isinstance(argv, list) and all(isinstance(a, str) for a in argv), f"{self.keyword} is not exec form"
        return argv


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    """Instructions in order, continuation lines joined and comments dropped, as Docker reads them."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction is skipped, not a terminator
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends inside a continued line"
    return instructions


def dockerfile_env(instructions: list[Instruction]) -> dict[str, str]:
    """ARG defaults and ENV values, with ${NAME} references resolved in order."""
    values: dict[str, str] = {}
    for ins in instructions:
        if ins.keyword == "ARG":
            name, _, default = ins.args.partition("=")
            values[name] = default
        elif ins.keyword == "ENV":
            for pair in shlex.split(ins.args):
                name, _, value = pair.partition("=")
                values[name] = expand(value, values)
    return values


def expand(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values[m[1] or m[2]], text)


def strings(node: Any) -> Iterator[str]:
    """Every string in a parsed YAML document, keys included."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)
    elif isinstance(node, str):
        yield node


# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}; `$$` escapes a dollar for the container.
COMPOSE_REF = re.compile(r"(?<!\$)\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def compose_variables(node: Any) -> set[str]:
    return {m[1] for text in strings(node) for m in COMPOSE_REF.finditer(text)}
