"""The Dagster UI's GraphQL API, as the UI calls it: launch, backfill, sensors, schedules, terminate, reload."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable

LOCATION = "concert_platform"
REPOSITORY = "__repository__"
TERMINAL_RUN = {"SUCCESS", "FAILURE", "CANCELED"}
TERMINAL_BACKFILL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


class GraphQLError(RuntimeError):
    pass


class DagsterUI:
    def __init__(self, url: str, diagnostics: Callable[[], str] = lambda: ""):
        self.url = url
        self.diagnostics = diagnostics  # the services' logs, for a failure message that explains itself

    def query(self, document: str, **variables) -> dict:
        body = json.dumps({"query": document, "variables": variables}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        if answer.get("errors"):
            raise GraphQLError(json.dumps(answer["errors"], indent=1))
        return answer["data"]

    def _ok(self, result: dict, typename: str) -> dict:
        if result.get("__typename") != typename:
            raise GraphQLError(f"expected {typename}, got {json.dumps(result, indent=1)}")
        return result

    # -- workspace -------------------------------------------------------------

    def location_status(self) -> str | None:
        data = self.query("{ locationStatusesOrError { ... on WorkspaceLocationStatusEntries { entries { name loadStatus } } } }")
        entries = data["locationStatusesOrError"].get("entries") or []
        return next((e["loadStatus"] for e in entries if e["name"] == LOCATION), None)

    def location_error(self) -> str | None:
        data = self.query(
            "{ workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError { __typename"
            " ... on PythonError { message } } } } } }"
        )
        for entry in data["workspaceOrError"]["locationEntries"]:
            if entry["name"] == LOCATION:
                error = entry["locationOrLoadError"] or {}
                return error.get("message") if error.get("__typename") == "PythonError" else None
        return "location missing from the workspace"

    def wait_until_ready(self, timeout: float = 180) -> None:
        """Until the code location is loaded without error and every required daemon is healthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.location_status() == "LOADED" and self.location_error() is None and all(self.daemons().values()):
                    return
            except OSError:  # the webserver is still starting
                pass
            time.sleep(1)
        raise TimeoutError(f"not ready after {timeout:.0f}s\n{self.diagnostics()}")

    def reload_location(self) -> dict:
        return self.query(
            "mutation($name: String!) { reloadRepositoryLocation(repositoryLocationName: $name) { __typename"
            " ... on WorkspaceLocationEntry { name locationOrLoadError { __typename ... on PythonError { message } } }"
            " ... on PythonError { message } } }",
            name=LOCATION,
        )["reloadRepositoryLocation"]

    def daemons(self) -> dict[str, bool]:
        data = self.query("{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }")
        statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
        return {s["daemonType"]: bool(s["healthy"]) for s in statuses if s["required"]}

    # -- runs ------------------------------------------------------------------

    def launch_run(self, job: str, tags: dict[str, str] | None = None) -> str:
        result = self.query(
            "mutation($params: ExecutionParams!) { launchRun(executionParams: $params) { __typename"
            " ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } ... on InvalidSubsetError { message }"
            " ... on RunConfigValidationInvalid { errors { message } } } }",
            params={
                "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": job},
                "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]},
            },
        )["launchRun"]
        return self._ok(result, "LaunchRunSuccess")["run"]["runId"]

    def run(self, run_id: str) -> dict:
        return self.query(
            "query($id: ID!) { runOrError(runId: $id) { __typename ... on Run { runId status tags { key value } } } }", id=run_id
        )["runOrError"]

    def run_step_events(self, run_id: str) -> list[dict]:
        data = self.query(
            "query($id: ID!) { logsForRun(runId: $id, limit: 5000) { ... on EventConnection { events { __typename"
            " ... on MessageEvent { message stepKey } } } } }",
            id=run_id,
        )
        return data["logsForRun"].get("events") or []

    def wait_run(self, run_id: str, timeout: float = 300) -> str:
        return self._wait(lambda: self.run(run_id)["status"], TERMINAL_RUN, timeout, f"run {run_id}")

    def run_materializations(self, run_id: str) -> dict[tuple[str, str | None], dict]:
        """(asset, partition) -> that materialisation's metadata, label -> value."""
        data = self.query(
            "query($id: ID!) { runOrError(runId: $id) { ... on Run { assetMaterializations { assetKey { path } partition"
            " metadataEntries { label ... on IntMetadataEntry { intValue } ... on TextMetadataEntry { text }"
            " ... on JsonMetadataEntry { jsonString } ... on PathMetadataEntry { path } } } } } }",
            id=run_id,
        )
        found = {}
        for m in data["runOrError"]["assetMaterializations"]:
            values = {
                e["label"]: next((e[k] for k in ("intValue", "text", "jsonString", "path") if k in e), None)
                for e in m["metadataEntries"]
            }
            found[(m["assetKey"]["path"][-1], m["partition"])] = values
        return found

    def check_executions(self, asset: str, check: str, partition: str) -> list[dict]:
        data = self.query(
            "query($key: AssetKeyInput!, $check: String!, $partition: String) {"
            " assetCheckExecutions(assetKey: $key, checkName: $check, partition: $partition, limit: 10) {"
            " runId status partition evaluation { success metadataEntries { label ... on FloatMetadataEntry { floatValue } } } } }",
            key={"path": [asset]},
            check=check,
            partition=partition,
        )
        return data["assetCheckExecutions"]

    def terminate_run(self, run_id: str) -> None:
        result = self.query(
            "mutation($id: String!) { terminateRun(runId: $id) { __typename ... on TerminateRunFailure { message }"
            " ... on PythonError { message } } }",
            id=run_id,
        )["terminateRun"]
        self._ok(result, "TerminateRunSuccess")

    def runs(self, tags: dict[str, str] | None = None, limit: int = 500) -> list[dict]:
        runs_filter = {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
        data = self.query(
            "query($filter: RunsFilter, $limit: Int) { runsOrError(filter: $filter, limit: $limit) { ... on Runs {"
            " results { runId status jobName tags { key value } } } } }",
            filter=runs_filter,
            limit=limit,
        )
        return data["runsOrError"]["results"]

    # -- backfills ---------------------------------------------------------------

    def launch_backfill(self, assets: list[str], partitions: list[str]) -> str:
        """What the UI's "Materialize selected" with a partition range sends."""
        result = self.query(
            "mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) { __typename"
            " ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } ... on InvalidSubsetError { message } } }",
            params={
                "partitionNames": partitions,
                "assetSelection": [{"path": [asset]} for asset in assets],
                "fromFailure": False,
                "tags": [],
            },
        )["launchPartitionBackfill"]
        return self._ok(result, "LaunchBackfillSuccess")["backfillId"]

    def backfill(self, backfill_id: str) -> dict:
        return self.query(
            "query($id: String!) { partitionBackfillOrError(backfillId: $id) { __typename ... on PartitionBackfill {"
            " status numPartitions runs { runId status tags { key value } } error { message } } } }",
            id=backfill_id,
        )["partitionBackfillOrError"]

    def wait_backfill(self, backfill_id: str, timeout: float = 600) -> dict:
        self._wait(lambda: self.backfill(backfill_id)["status"], TERMINAL_BACKFILL, timeout, f"backfill {backfill_id}")
        # The backfill is done when its runs are: wait for every run it launched to finish too.
        for run in self.backfill(backfill_id)["runs"]:
            self.wait_run(run["runId"], timeout)
        return self.backfill(backfill_id)

    # -- sensors and schedules -----------------------------------------------------

    def _instigator(self, kind: str, name: str) -> dict:
        return {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, f"{kind}Name": name}

    def start_sensor(self, name: str) -> None:
        result = self.query(
            "mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) { __typename ... on Sensor { sensorState { status } }"
            " ... on PythonError { message } } }",
            s=self._instigator("sensor", name),
        )["startSensor"]
        assert self._ok(result, "Sensor")["sensorState"]["status"] == "RUNNING"

    def sensor_ticks(self, name: str, limit: int = 20) -> list[dict]:
        data = self.query(
            "query($s: SensorSelector!, $limit: Int) { sensorOrError(sensorSelector: $s) { __typename ... on Sensor {"
            " sensorState { status ticks(limit: $limit) { tickId status timestamp runIds skipReason error { message } } } } } }",
            s=self._instigator("sensor", name),
            limit=limit,
        )
        return self._ok(data["sensorOrError"], "Sensor")["sensorState"]["ticks"]

    def wait_for_sensor_tick(self, name: str, after: float, timeout: float = 180) -> dict:
        """The first finished tick that started after ``after`` (a Unix time)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = [t for t in self.sensor_ticks(name) if t["timestamp"] > after and t["status"] != "STARTED"]
            if done:
                return min(done, key=lambda t: t["timestamp"])
            time.sleep(1)
        raise TimeoutError(f"no tick of {name} after {after} within {timeout:.0f}s\n{self.diagnostics()}")

    def schedule_dry_run(self, name: str, timestamp: float) -> dict:
        result = self.query(
            "mutation($s: ScheduleSelector!, $t: Float) { scheduleDryRun(selectorData: $s, timestamp: $t) { __typename"
            " ... on DryRunInstigationTick { evaluationResult { skipReason error { message }"
            " runRequests { runKey jobName tags { key value } } } } ... on PythonError { message } } }",
            s=self._instigator("schedule", name),
            t=timestamp,
        )["scheduleDryRun"]
        return self._ok(result, "DryRunInstigationTick")["evaluationResult"]

    def _wait(self, read: Callable[[], str], done: set[str], timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            status = read()
            if status in done:
                return status
            time.sleep(1)
        raise TimeoutError(f"{what} still {status} after {timeout:.0f}s\n{self.diagnostics()}")
