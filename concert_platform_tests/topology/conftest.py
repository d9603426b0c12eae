"""The production topology on 127.0.0.1: a code server, a webserver and a daemon as separate
processes, on PostgreSQL instance storage (deploy/dagster.yaml) and a PostgreSQL warehouse.

Started once per test module, from the same commands the Dockerfile and the compose file run.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from concert_platform import instance_config
from concert_platform.settings import Settings
from concert_platform.storage.sql import quote_ident
from concert_platform.storage.warehouse import Warehouse, make_warehouse
from concert_platform_tests.defs.conftest import DEMO_DATE, demo_settings, seed

from .graphql import DagsterUI
from .services import Service, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
PG = "postgresql://postgres@127.0.0.1:5432"
DAYS = 35  # the first 32 are backfilled; the last 3 hold the day whose files are all unreadable
PER_DAY = 2500


def _admin() -> psycopg.Connection:
    return psycopg.connect(f"{PG}/postgres", autocommit=True)


@dataclass
class Topology:
    root: Path
    env: dict[str, str]
    settings: Settings
    days: list[str]
    ui: DagsterUI
    services: dict[str, Service] = field(default_factory=dict)

    def warehouse(self, schema: str | None = None) -> Warehouse:
        return make_warehouse(self.settings.warehouse_url, schema or self.settings.warehouse_schema)

    def start(self, name: str, argv: list[str], port: int | None = None) -> Service:
        service = Service(name, argv, self.env, self.root, self.root / "logs").start()
        self.services[name] = service
        if port is not None:
            wait_for_port(port, 120, service.process)
        return service

    def start_code_server(self) -> Service:
        # The Dockerfile's command, listening on loopback instead of 0.0.0.0.
        port = int(self.env["CONCERT_CODE_SERVER_PORT"])
        argv = ["dagster", "code-server", "start", "-h", "127.0.0.1", "-p", str(port), "-m", "concert_platform.definitions"]
        return self.start("code_server", argv, port)

    def diagnostics(self) -> str:
        return "\n".join(service.log_tail() for service in self.services.values())


@pytest.fixture(scope="module")
def instance_source() -> Path:
    """The instance config the services run on; a test module may override it with a derived copy."""
    return ROOT / "deploy" / "dagster.yaml"


@pytest.fixture(scope="module")
def topology(tmp_path_factory, instance_source):
    root = tmp_path_factory.mktemp("topology")
    (root / "logs").mkdir()
    instance_db, warehouse_db = f"dagster_{uuid.uuid4().hex[:10]}", f"warehouse_{uuid.uuid4().hex[:10]}"
    with _admin() as conn:
        for db in (instance_db, warehouse_db):
            conn.execute(f"CREATE DATABASE {quote_ident(db)}")
    settings = demo_settings(root, warehouse_url=f"{PG}/{warehouse_db}")
    _, days = seed(settings, days=DAYS, per_day=PER_DAY)

    home = root / "dagster_home"
    code_port, web_port = free_port(), free_port()
    env = {
        "PATH": f"{Path(shutil.which('dagster') or ROOT / '.venv/bin/dagster').parent}:/usr/bin:/bin",
        "HOME": str(root),
        "LANG": "C.UTF-8",
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": "5432",
        "DAGSTER_PG_USERNAME": "postgres",
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_DB": instance_db,
        "CONCERT_CODE_SERVER_HOST": "127.0.0.1",
        "CONCERT_CODE_SERVER_PORT": str(code_port),
        "CONCERT_SOURCES": "demo",
        "CONCERT_LAKE_URL": settings.lake_url,
        "CONCERT_LANDING_URL": settings.landing_url,
        "CONCERT_WAREHOUSE_URL": settings.warehouse_url,
        "CONCERT_WAREHOUSE_SCHEMA": settings.warehouse_schema,
        "CONCERT_DEMO_DATE": DEMO_DATE.isoformat(),
        "CONCERT_LANDING_SETTLE_SECONDS": "0",  # the sensor test expects a run on the tick after a file lands
    }
    instance_config.install(instance_source, home, environ=env, env_file=None)
    topology = Topology(root, env, settings, days, DagsterUI(f"http://127.0.0.1:{web_port}/graphql"))
    topology.ui.diagnostics = topology.diagnostics
    workspace = str(ROOT / "deploy" / "workspace.yaml")
    try:
        topology.start_code_server()
        topology.start("webserver", ["dagster-webserver", "-h", "127.0.0.1", "-p", str(web_port), "-w", workspace], web_port)
        topology.start("daemon", ["dagster-daemon", "run", "-w", workspace])
        topology.ui.wait_until_ready()
        yield topology
    finally:
        for service in reversed(list(topology.services.values())):
            service.stop()
        with _admin() as conn:
            for db in (instance_db, warehouse_db):
                conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(db)} WITH (FORCE)")
