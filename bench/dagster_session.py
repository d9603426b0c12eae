"""A folder laid out like a fresh clone with the embedded instance, and Dagster's services on it.

`DaemonSession` starts what `make dev` starts (`dagster dev` is the webserver and
the daemon on one instance and one workspace) as the two commands the README
gives for a long-lived setup, so the bench can reach their processes: the
webserver, the daemon, the code servers they spawn and the run workers.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from concert_platform_tests.clone_root import bare_environment, install_instance, make_clone_root, run
from concert_platform_tests.topology.graphql import LOCATION, DagsterUI
from concert_platform_tests.topology.services import Service, free_port, wait_for_port

BENCH = Path(__file__).resolve().parent
ACTIVE_RUN = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}


def prepare_clone_root(folder: Path, settings: dict[str, str] | None = None, module: str | None = None) -> Path:
    """A clone root with the embedded instance installed; ``settings`` appended to its .env.

    ``module`` serves a bench code location instead of the project's (workspace.yaml
    is rewritten to load it, and bench/ is linked in so the CLI's ``-m`` finds it too).
    It keeps the location name the project's workspace uses, which DagsterUI addresses.
    """
    make_clone_root(folder)
    install_instance(folder)
    if settings:
        with open(folder / ".env", "a") as env:
            env.writelines(f"{key}={value}\n" for key, value in settings.items())
    if module is not None:
        os.symlink(BENCH, folder / "bench")
        (folder / "workspace.yaml").write_text(
            f"load_from:\n  - python_module:\n      module_name: {module}\n      location_name: {LOCATION}\n"
            f"      working_directory: {folder}\n"
        )
    return folder


def timed_cli(folder: Path, *argv: str, timeout: float = 600) -> float:
    """Wall seconds of one command run as a user types it in ``folder`` (nothing exported)."""
    started = time.perf_counter()
    run(folder, *argv, timeout=timeout)
    return time.perf_counter() - started


class DaemonSession:
    """``with DaemonSession(folder) as session:`` the webserver and the daemon on the folder's instance."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.logs = folder / "logs"
        self.logs.mkdir(exist_ok=True)
        self.port = free_port()
        self.env = {**bare_environment(folder / ".home"), "DAGSTER_HOME": str(folder / ".dagster_home")}
        self.ui = DagsterUI(f"http://127.0.0.1:{self.port}/graphql", self.diagnostics)
        self.services: list[Service] = []

    def __enter__(self) -> DaemonSession:
        try:
            web = self._start("webserver", ["dagster-webserver", "-h", "127.0.0.1", "-p", str(self.port), "-w", "workspace.yaml"])
            wait_for_port(self.port, 180, web.process)
            self._start("daemon", ["dagster-daemon", "run", "-w", "workspace.yaml"])
            self._wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for service in reversed(self.services):
            service.stop()

    def _start(self, name: str, argv: list[str]) -> Service:
        service = Service(name, argv, self.env, self.folder, self.logs).start()
        self.services.append(service)
        return service

    def pids(self) -> list[int]:
        return [s.process.pid for s in self.services if s.process is not None and s.process.poll() is None]

    def diagnostics(self) -> str:
        return "\n".join(service.log_tail() for service in self.services)

    def _wait_ready(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.ui.location_status() == "LOADED" and self.ui.location_error() is None and all(self.ui.daemons().values()):
                    return
            except OSError:
                pass
            time.sleep(1)
        raise TimeoutError(f"webserver and daemon not ready after {timeout:.0f}s\n{self.diagnostics()}")

    def stop_sensor(self, name: str) -> None:
        """Stop a sensor that ships running, so only the runs the bench launches use the queue."""
        data = self.ui.query(
            "query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { __typename ... on Sensor { id } } }",
            s={"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "sensorName": name},
        )["sensorOrError"]
        result = self.ui.query(
            "mutation($id: String!) { stopSensor(id: $id) { __typename ... on StopSensorMutationResult"
            " { instigationState { status } } ... on PythonError { message } } }",
            id=data["id"],
        )["stopSensor"]
        if result.get("instigationState", {}).get("status") != "STOPPED":
            raise RuntimeError(f"could not stop {name}: {result}")

    def wait_quiet(self, timeout: float = 600) -> None:
        """Until no run is queued or in progress."""
        deadline = time.monotonic() + timeout
        while any(r["status"] in ACTIVE_RUN for r in self.ui.runs(limit=1000)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"runs still active after {timeout:.0f}s\n{self.diagnostics()}")
            time.sleep(1)

    def timed_run(self, job: str, tags: dict[str, str], timeout: float = 600) -> tuple[float, str]:
        """(wall seconds from the launch request to SUCCESS observed, polled every 0.1 s; the run id)."""
        started = time.perf_counter()
        run_id = self.ui.launch_run(job, tags)
        deadline = time.monotonic() + timeout
        while (status := self.ui.run(run_id)["status"]) not in ("SUCCESS", "FAILURE", "CANCELED"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {status} after {timeout:.0f}s\n{self.diagnostics()}")
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        if status != "SUCCESS":
            raise RuntimeError(f"run {run_id} of {job} ended {status}\n{self.diagnostics()}")
        return elapsed, run_id

    def run_times(self, run_ids: list[str] | None = None, tags: dict[str, str] | None = None) -> list[dict]:
        """runId, status, creationTime, startTime, endTime (Unix seconds) of the runs matched."""
        runs_filter: dict = {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
        if run_ids is not None:
            runs_filter["runIds"] = run_ids
        data = self.ui.query(
            "query($filter: RunsFilter, $limit: Int) { runsOrError(filter: $filter, limit: $limit) { __typename ... on Runs {"
            " results { runId status creationTime startTime endTime } } ... on PythonError { message } } }",
            filter=runs_filter,
            limit=5000,
        )["runsOrError"]
        if data["__typename"] != "Runs":
            raise RuntimeError(f"runs query failed: {data}")
        return data["results"]
