"""Dagster's own processes, started as an operator starts them, and stopped the way they need.

Each service runs in a session of its own, so stopping it stops what it spawned
(the code server's gRPC child, the run workers). `dagster` processes ignore
SIGTERM for a long while; SIGINT first, then SIGKILL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from concert_platform_tests.clone_root import bare_environment

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the process exited ({process.returncode}) before it listened on {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


class Service:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path, logs: Path):
        self.name, self.argv, self.env, self.cwd = name, argv, env, cwd
        self.log_path = logs / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Service:
        command = [str(BIN / self.argv[0]), *self.argv[1:]]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def stop(self, grace: float = 20) -> None:
        """SIGINT to the whole session, SIGKILL to what is left after ``grace`` seconds."""
        if self.process is None or self.process.poll() is not None:
            return
        self._signal(signal.SIGINT)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def kill(self) -> None:
        """What a crash or `kill -9` does: no chance to clean up."""
        if self.process is not None:
            self._signal(signal.SIGKILL)
            self.process.wait(30)

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return f"--- {self.name} ---\n" + "\n".join(text.splitlines()[-lines:])


def serve_in_clone(root: Path, name: str, argv: list[str], port: int | None) -> Service:
    """A service started in a fresh clone's root with nothing exported, and up once ``port`` answers."""
    service = Service(name, argv, bare_environment(root / ".home"), root, root).start()
    if port is not None:
        wait_for_port(port, 180, service.process)
    return service
