"""`make run`, then `dagster dev`, `dagster-webserver` and `dagster-daemon run` typed in a fresh
clone's root with nothing exported: one instance, and a backfill from the UI over every seeded day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from concert_platform_tests.clone_root import install_instance, make_clone_root, run

from .browser import rendered_text
from .graphql import DagsterUI
from .services import free_port, serve_in_clone

pytestmark = pytest.mark.topology

SALES = ["ticket_sales", "ticket_sales_daily"]
SEEDED = 3


def test_make_run_then_the_ui_backfills_every_seeded_day_on_the_same_instance(tmp_path):
    root = make_clone_root(tmp_path / "clone")
    home = install_instance(root)  # what `make run` and `make dev` do first
    run(root, "python", "-m", "concert_platform.demo_run", "--days", str(SEEDED), exported={"DAGSTER_HOME": str(home)})
    days = [(datetime.now(UTC).date() - timedelta(days=n)).isoformat() for n in range(SEEDED, 0, -1)]

    port = free_port()
    dev = serve_in_clone(root, "dagster_dev", ["dagster", "dev", "-h", "127.0.0.1", "-p", str(port)], port)
    ui = DagsterUI(f"http://127.0.0.1:{port}/graphql", lambda: dev.log_tail())
    try:
        ui.wait_until_ready()
        made_by_make_run = {r["runId"] for r in ui.runs()}
        assert len(made_by_make_run) == 4  # catalog, the seeded days, features, insights: the UI shows them
        backfill = ui.wait_backfill(ui.launch_backfill(SALES, days))
        assert backfill["status"] in ("COMPLETED_SUCCESS", "COMPLETED"), (backfill, dev.log_tail())
        assert all(r["status"] == "SUCCESS" for r in backfill["runs"])
        # ...and the asset's page shows every seeded day materialised, none failed.
        page = rendered_text(f"http://127.0.0.1:{port}/assets/ticket_sales?view=partitions")
        assert f"Failed (0) Materialized ({SEEDED}) Materializing (0)" in page, page[:2000]
    finally:
        dev.stop()

    # The two services a longer-lived machine runs, again with nothing exported.
    port = free_port()
    webserver = serve_in_clone(root, "webserver", ["dagster-webserver", "-h", "127.0.0.1", "-p", str(port)], port)
    daemon = serve_in_clone(root, "daemon", ["dagster-daemon", "run"], None)
    ui = DagsterUI(f"http://127.0.0.1:{port}/graphql", lambda: webserver.log_tail() + daemon.log_tail())
    try:
        ui.wait_until_ready()
        assert made_by_make_run | {r["runId"] for r in backfill["runs"]} <= {r["runId"] for r in ui.runs()}
        empty_day = (datetime.now(UTC).date() - timedelta(days=SEEDED + 5)).isoformat()
        run_id = ui.launch_run("ticket_sales_job", {"dagster/partition": empty_day})
        assert ui.wait_run(run_id) == "SUCCESS", ui.diagnostics()
    finally:
        daemon.stop()
        webserver.stop()
