"""deploy/docker/compose.yaml, checked without a Docker engine: its services, commands, mounts and variables."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

import pytest
from dagster._cli.code_server import start_command
from dagster._daemon.cli import run_command
from dagster_webserver.cli import dagster_webserver

from concert_platform_tests.deploy.artifacts import (
    COMPOSE,
    COMPOSE_DIR,
    COMPOSE_ENV_DOC,
    COMPOSE_INSTANCE,
    COMPOSE_REF,
    SENSITIVE,
    WORKSPACE,
    compose_variables,
    dockerfile_env,
    dockerfile_instructions,
    load_yaml,
)

SERVICES = ("postgresql", "concert_platform_code", "webserver", "daemon")


@pytest.fixture(scope="module")
def compose():
    return load_yaml(COMPOSE)


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def _cmd_instruction():
    [cmd] = [ins for ins in dockerfile_instructions() if ins.keyword == "CMD"]
    return cmd.exec_form()


def _option(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def _mounts(service: dict) -> dict[str, str]:
    """container path -> host path (a relative one resolved from the compose file's directory) or volume name."""
    mounts = {}
    for entry in service.get("volumes", []):
        source, target, *_ = entry.split(":")
        if source.startswith("."):
            source = str((COMPOSE_DIR / source).resolve())
        mounts[target] = source
    return mounts


def test_the_four_processes_are_services(services):
    assert set(SERVICES) <= set(services)
    for name in SERVICES:
        assert services[name]["healthcheck"]["test"], f"{name} has no healthcheck"
    # The webserver and the daemon start once the database and the code server answer
    for name in ("webserver", "daemon"):
        depends = services[name]["depends_on"]
        assert depends["postgresql"]["condition"] == "service_healthy"
        assert depends["concert_platform_code"]["condition"] == "service_healthy"


def test_code_server_runs_the_images_default_command(services):
    code = services["concert_platform_code"]
    assert code["command"] == _cmd_instruction()
    # ...which the real CLI accepts, flag by flag
    start_command.make_context("start", code["command"][3:])
    port = _option(code["command"], "-p")
    assert code["expose"] == [port]
    assert code["healthcheck"]["test"] == ["CMD", "dagster", "api", "grpc-health-check", "-p", port]
    # The image the code server reports is the one compose builds, so runs start from it
    assert code["environment"]["DAGSTER_CURRENT_IMAGE"] == code["image"] == code["build"]["args"]["DAGSTER_CURRENT_IMAGE"]


def test_webserver_and_daemon_read_the_mounted_instance_and_workspace(services):
    home = dockerfile_env(dockerfile_instructions())["DAGSTER_HOME"]
    code_command = services["concert_platform_code"]["command"]
    for name, cli in (("webserver", dagster_webserver), ("daemon", run_command)):
        service = services[name]
        command = service["command"]
        mounts = _mounts(service)
        workspace = _option(command, "-w")
        assert mounts[workspace] == str(WORKSPACE)
        # The real CLI accepts the argv, with the workspace path as the mount makes it exist
        args = [mounts[workspace] if arg == workspace else arg for arg in command]
        cli.make_context(args[0], args[2:] if name == "daemon" else args[1:])
        assert mounts[str(PurePosixPath(home) / "dagster.yaml")] == str(COMPOSE_INSTANCE)
        assert mounts["/var/run/docker.sock"] == "/var/run/docker.sock"
        assert service["environment"]["CONCERT_CODE_SERVER_HOST"] == "concert_platform_code"
        assert service["environment"]["CONCERT_CODE_SERVER_PORT"] == _option(code_command, "-p")


def test_webserver_is_published_on_loopback_only(services):
    for name, service in services.items():
        for port in service.get("ports", []):
            assert name == "webserver" and port.startswith("127.0.0.1:"), f"{name} publishes {port}"


def test_every_variable_is_documented(compose):
    documented = {m[1] for m in re.finditer(r"^#?\s*([A-Z][A-Z0-9_]*)=", COMPOSE_ENV_DOC.read_text(), re.MULTILINE)}
    used = compose_variables(compose)
    assert used, "no ${VAR} found: the scan is broken"
    assert used - documented == set(), "used in compose.yaml, missing from compose.env.example"
    assert documented - used == set(), "documented in compose.env.example, no longer used"


def test_no_secret_is_written_in_compose(services):
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if not SENSITIVE.search(key):
                continue
            ref = COMPOSE_REF.fullmatch(str(value))
            assert ref, f"{name}.{key} must be a ${{VARIABLE}} reference"
            # A default is a literal: only "required" (:?) or an empty default are allowed
            assert ref[2] in (None, ":?") or ref[3] == "", f"{name}.{key} has a literal default"


def test_documented_secrets_are_placeholders():
    for line in COMPOSE_ENV_DOC.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not name.startswith("#") and SENSITIVE.search(name):
            assert value in ("", "CHANGE_ME"), f"compose.env.example holds a value for {name}"
