"""deploy/helm/values.yaml for Dagster's chart 1.13.27, checked without a cluster: keys the chart knows, our
image and code location, external PostgreSQL, and the same run queue and monitoring as deploy/dagster.yaml."""

from __future__ import annotations

import re

import pytest

from concert_platform_tests.deploy.artifacts import (
    HELM_VALUES,
    INSTANCE,
    SENSITIVE,
    code_location_module,
    dockerfile_instructions,
    load_yaml,
)

# The keys chart 1.13.27 accepts in the sections these values set (its values.schema.json forbids any
# other in these objects; listed here from the chart's schema models, so a typo fails here, not at
# `helm install`).
K8S_RUN_LAUNCHER_KEYS = {
    "image", "imagePullPolicy", "jobNamespace", "loadInclusterConfig", "kubeconfigFile", "envConfigMaps",
    "envSecrets", "envVars", "volumeMounts", "volumes", "labels", "failPodOnRunFailure", "resources",
    "schedulerName", "securityContext", "runK8sConfig",
}  # fmt: skip
RUN_K8S_CONFIG_KEYS = {"containerConfig", "podSpecConfig", "podTemplateSpecMetadata", "jobSpecConfig", "jobMetadata"}
USER_DEPLOYMENT_KEYS = {
    "name", "image", "dagsterApiGrpcArgs", "codeServerArgs", "includeConfigInLaunchedRuns", "deploymentNamespace",
    "port", "replicaCount", "env", "envConfigMaps", "envSecrets", "annotations", "nodeSelector", "affinity",
    "tolerations", "podSecurityContext", "securityContext", "resources", "livenessProbe", "readinessProbe",
    "startupProbe", "labels", "volumeMounts", "volumes", "schedulerName", "initContainers", "sidecarContainers",
    "deploymentStrategy",
}  # fmt: skip
QUEUED_COORDINATOR_KEYS = {
    "maxConcurrentRuns", "tagConcurrencyLimits", "dequeueIntervalSeconds", "dequeueNumWorkers", "dequeueUseThreads",
    "blockOpConcurrencyLimitedRuns",
}  # fmt: skip
POSTGRESQL_KEYS = {
    "image", "enabled", "postgresqlHost", "postgresqlUsername", "postgresqlPassword", "postgresqlDatabase",
    "postgresqlParams", "postgresqlScheme", "service",
}  # fmt: skip
RETENTION_KEYS = {"enabled", "sensor", "schedule", "autoMaterialize"}
TICK_KEYS = {"skipped", "success", "failure", "started"}
# The chart renders these runMonitoring keys into the instance's run_monitoring block.
RUN_MONITORING = {
    "enabled": "enabled",
    "startTimeoutSeconds": "start_timeout_seconds",
    "cancelTimeoutSeconds": "cancel_timeout_seconds",
    "maxRuntimeSeconds": "max_runtime_seconds",
    "pollIntervalSeconds": "poll_interval_seconds",
    "maxResumeRunAttempts": "max_resume_run_attempts",
}


@pytest.fixture(scope="module")
def values():
    return load_yaml(HELM_VALUES)


@pytest.fixture(scope="module")
def instance():
    return load_yaml(INSTANCE)


def _deployment(values):
    [deployment] = values["dagster-user-deployments"]["deployments"]
    return deployment


def test_only_keys_the_chart_knows(values):
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert set(launcher) <= K8S_RUN_LAUNCHER_KEYS
    assert set(launcher["runK8sConfig"]) <= RUN_K8S_CONFIG_KEYS
    assert set(_deployment(values)) <= USER_DEPLOYMENT_KEYS
    assert set(values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]) <= QUEUED_COORDINATOR_KEYS
    assert set(values["dagsterDaemon"]["runMonitoring"]) <= set(RUN_MONITORING)
    assert set(values["postgresql"]) <= POSTGRESQL_KEYS
    assert set(values["retention"]) <= RETENTION_KEYS
    for section in ("sensor", "autoMaterialize"):
        # The chart requires all four tick kinds when purgeAfterDays is a mapping
        assert set(values["retention"][section]["purgeAfterDays"]) == TICK_KEYS


def test_each_run_is_a_kubernetes_job_with_its_own_resources(values):
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert "image" not in launcher  # runs use the image the code server reports
    resources = launcher["resources"]
    assert resources["requests"]["cpu"] and resources["requests"]["memory"]
    assert _gib(resources["limits"]["memory"]) >= _gib(resources["requests"]["memory"])


def _gib(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(Mi|Gi)", quantity).groups()
    return float(number) / (1024 if unit == "Mi" else 1)


def test_user_deployment_serves_the_code_location_from_our_image(values):
    deployment = _deployment(values)
    assert deployment["dagsterApiGrpcArgs"] == ["-m", code_location_module()]
    [expose] = [ins.args for ins in dockerfile_instructions() if ins.keyword == "EXPOSE"]
    assert deployment["port"] == int(expose)
    image = deployment["image"]
    assert image["repository"].endswith("/concert-platform")
    assert image["tag"] and image["tag"] != "latest"
    # The settings reach the code server and, through includeConfigInLaunchedRuns, every run pod
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True
    assert [ref["name"] for ref in deployment["envConfigMaps"]] == ["concert-platform-env"]
    assert [ref["name"] for ref in deployment["envSecrets"]] == ["concert-platform-secrets"]
    assert deployment["podSecurityContext"]["runAsNonRoot"] is True


def test_postgresql_is_external_and_its_password_a_secret(values, instance):
    pg = values["postgresql"]
    assert pg["enabled"] is False and pg["postgresqlHost"]
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["global"]["postgresqlSecretName"]
    assert pg["postgresqlPassword"] == ""
    # Run pods use our image, so they need the same explicit driver as deploy/dagster.yaml
    assert pg["postgresqlScheme"] == instance["storage"]["postgres"]["postgres_db"]["scheme"]


def test_queue_monitoring_and_retries_match_deploy_instance(values, instance):
    daemon = values["dagsterDaemon"]
    coordinator = daemon["runCoordinator"]
    assert coordinator["enabled"] is True and coordinator["type"] == "QueuedRunCoordinator"
    queued = coordinator["config"]["queuedRunCoordinator"]
    config = instance["run_coordinator"]["config"]
    assert queued["maxConcurrentRuns"] == config["max_concurrent_runs"]
    assert queued["tagConcurrencyLimits"] == config["tag_concurrency_limits"]

    monitoring = {RUN_MONITORING[key]: value for key, value in daemon["runMonitoring"].items()}
    assert monitoring == {"max_resume_run_attempts": 0, **instance["run_monitoring"]}
    retries = daemon["runRetries"]
    assert {"enabled": retries["enabled"], "max_retries": retries["maxRetries"]} == instance["run_retries"]

    retention = values["retention"]
    assert retention["enabled"] is True
    assert {
        "schedule": {"purge_after_days": retention["schedule"]["purgeAfterDays"]},
        "sensor": {"purge_after_days": retention["sensor"]["purgeAfterDays"]},
        "auto_materialize": {"purge_after_days": retention["autoMaterialize"]["purgeAfterDays"]},
    } == instance["retention"]
    assert values["telemetry"]["enabled"] is instance["telemetry"]["enabled"] is False


def test_webserver_is_not_exposed(values):
    assert values["dagsterWebserver"]["service"]["type"] == "ClusterIP"
    assert values["ingress"]["enabled"] is False


def _walk(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, str(index)))
    else:
        yield path, node


def _inline_env(node):
    """(variable name, value) of every `env:` the values set inline, list or mapping form."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "env" and isinstance(value, list):
                yield from ((entry["name"], entry.get("value")) for entry in value)
            elif key == "env" and isinstance(value, dict):
                yield from value.items()
            else:
                yield from _inline_env(value)
    elif isinstance(node, list):
        for value in node:
            yield from _inline_env(value)


def test_no_plaintext_secret(values):
    leaves = list(_walk(values))
    assert leaves
    for path, value in leaves:
        key = path[-1]
        # Names of Secrets and switches are fine; a string under a password/secret/token key is not
        if SENSITIVE.search(key) and not key.endswith("SecretName") and not isinstance(value, bool):
            assert value in ("", None), f"{'.'.join(path)} holds a value"
    # A credential set as a plain env var would sit in the release's values and ConfigMaps
    for name, value in _inline_env(values):
        assert not (SENSITIVE.search(name) and value), f"{name} set inline; put it in concert-platform-secrets"
