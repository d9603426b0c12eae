"""deploy/Dockerfile and .dockerignore, read instruction by instruction (no Docker engine here to build them)."""

from __future__ import annotations

import re

from dagster._cli.code_server import start_command
from packaging.utils import canonicalize_name

from concert_platform_tests.deploy.artifacts import (
    DEV_LOCK,
    DOCKER_LAUNCHER_LOCK,
    DOCKERIGNORE,
    INSTANCE,
    LOCK,
    PYPROJECT,
    ROOT,
    WORKSPACE,
    code_location_module,
    dockerfile_env,
    dockerfile_instructions,
)

CODE_SERVER = ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "concert_platform.definitions"]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")


def _pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            pin = _PIN.match(line)
            assert pin, f"not an exact pin: {line!r}"
            pins[canonicalize_name(pin[1])] = pin[2]
    return pins


def _runs():
    return [ins.args for ins in dockerfile_instructions() if ins.keyword == "RUN"]


def _copies():
    """(sources, destination) of each COPY, ${VARS} resolved."""
    instructions = dockerfile_instructions()
    env = dockerfile_env(instructions)
    copies = []
    for ins in instructions:
        if ins.keyword == "COPY":
            assert not ins.args.startswith("--"), "COPY flags are not expected"
            *sources, dest = ins.args.split()
            copies.append((sources, re.sub(r"\$\{(\w+)\}", lambda m: env[m[1]], dest)))
    return copies


def test_one_python_311_slim_stage():
    froms = [ins.args for ins in dockerfile_instructions() if ins.keyword == "FROM"]
    assert froms == ["python:3.11-slim"]


def test_default_command_is_the_code_server_of_the_code_location():
    instructions = dockerfile_instructions()
    [cmd] = [ins for ins in instructions if ins.keyword == "CMD"]
    argv = cmd.exec_form()
    assert argv == CODE_SERVER
    assert argv[argv.index("-m") + 1] == code_location_module()
    start_command.make_context("start", argv[3:])  # flags the real CLI knows
    exposed = [ins.args for ins in instructions if ins.keyword == "EXPOSE"]
    assert exposed == [argv[argv.index("-p") + 1]]
    assert not any(ins.keyword == "ENTRYPOINT" for ins in instructions)  # compose/Helm commands replace CMD whole


def test_installs_the_lock_then_the_package_without_dependencies():
    runs = _runs()
    lock = [i for i, run in enumerate(runs) if re.search(r"pip install --no-cache-dir -r requirements\.lock\b", run)]
    package = [i for i, run in enumerate(runs) if re.search(r"pip install --no-cache-dir --no-deps \.$", run)]
    assert len(lock) == 1 and len(package) == 1 and lock[0] < package[0]
    # Every pip install is cached nowhere and pinned: the lock, the docker launcher's lock held to it, the package
    installs = [run for run in runs if "pip install" in run]
    assert all("--no-cache-dir" in run for run in installs)
    assert [run for run in installs if " -r " in run and "requirements.lock" not in run.split(" -r ")[1].split()[0]] == [
        "pip install --no-cache-dir -c requirements.lock -r deploy/requirements-docker.lock"
    ]
    assert len(installs) == 3


def test_dagster_home_holds_the_deploy_instance_and_workspace():
    env = dockerfile_env(dockerfile_instructions())
    home = env["DAGSTER_HOME"]
    assert home == "/opt/dagster/dagster_home"
    copies = {dest: sources for sources, dest in _copies()}
    assert copies[f"{home}/dagster.yaml"] == [str(INSTANCE.relative_to(ROOT))]
    assert copies[f"{home}/workspace.yaml"] == [str(WORKSPACE.relative_to(ROOT))]


def test_current_image_comes_from_a_build_arg():
    instructions = dockerfile_instructions()
    args = [ins.args.partition("=")[0] for ins in instructions if ins.keyword == "ARG"]
    assert "DAGSTER_CURRENT_IMAGE" in args
    assert "DAGSTER_CURRENT_IMAGE=${DAGSTER_CURRENT_IMAGE}" in " ".join(ins.args for ins in instructions if ins.keyword == "ENV")


def test_runs_as_a_numeric_non_root_user():
    instructions = dockerfile_instructions()
    users = [(i, ins.args) for i, ins in enumerate(instructions) if ins.keyword == "USER"]
    assert users, "no USER: the image would run as root"
    last_index, user = users[-1]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    # Nothing after the switch needs root (no RUN runs as the user by accident of order)
    assert not any(ins.keyword == "RUN" for ins in instructions[last_index:])


def test_every_copied_file_exists_and_is_in_the_build_context():
    patterns = [line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*", ".dockerignore must start by excluding everything"
    let_in = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    for sources, _ in _copies():
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
            assert source.rstrip("/") in let_in, f"COPY {source}: excluded by .dockerignore"
    # Local secrets, environments and data never enter the context, whatever is let in
    assert "**/.env" in patterns
    assert not any(name in let_in for name in (".env", ".venv", ".dagster_home", ".concert_data", "concert_platform_tests"))


def _lock_pins(path):
    return _pins("\n".join(line for line in path.read_text().splitlines() if not line.startswith((" ", "-"))))


def test_docker_launcher_lock_is_pinned_and_disjoint_from_the_runtime_lock():
    extra = _pins(DOCKER_LAUNCHER_LOCK.read_text())
    runtime = _lock_pins(LOCK)
    # Installed with `-c requirements.lock`: a package in both would be two pins for one name
    assert set(extra) & set(runtime) == set()
    # `make lock` resolves pyproject's `deploy` extra into the dev lock: the image installs the same versions
    dev = _lock_pins(DEV_LOCK)
    assert {name: dev.get(name) for name in extra} == extra
    # dagster-docker ships with each Dagster release: the same version as the other 0.x integrations
    integrations = {
        str(canonicalize_name(req.split("==")[0])): req.split("==")[1]
        for req in PYPROJECT["project"]["dependencies"]
        if req.startswith("dagster-postgres==")
    }
    assert extra["dagster-docker"] == integrations["dagster-postgres"]
