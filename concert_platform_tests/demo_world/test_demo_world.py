"""`make run`'s demo world end to end, as a new user gets it: 300 days of sales in a fresh clone's root,
the insights group trained, backtested and promoted through its gate; then the same job launched from
the UI's GraphQL API and run by the daemon, which promotes the same model again.

Minutes long (6M sales loaded), so it has its own marker, which CI runs (`make test-demo-world`).
The demo date is pinned, so the world, and the gate's verdict on it, are the same every day."""

from __future__ import annotations

import re

import pytest

from concert_platform.storage.warehouse import make_warehouse
from concert_platform_tests.clone_root import install_instance, make_clone_root, run
from concert_platform_tests.topology.graphql import DagsterUI
from concert_platform_tests.topology.services import free_port, serve_in_clone

pytestmark = pytest.mark.demo_world

DEMO_DATE = "2026-11-26"


def test_make_run_trains_and_promotes_and_the_daemon_does_it_again_from_the_ui(tmp_path):
    root = make_clone_root(tmp_path / "clone")
    home = install_instance(root)
    with open(root / ".env", "a", encoding="utf-8") as env:  # read by the CLI, the code server and the run workers
        env.write(f"CONCERT_DEMO_DATE={DEMO_DATE}\n")
    out = run(root, "python", "-m", "concert_platform.demo_run", timeout=1800, exported={"DAGSTER_HOME": str(home)}).stdout

    # make run's last lines: the backtest table against the baselines, and the verdict.
    assert "insights_job                                     ok in" in out, out
    assert out.rstrip().endswith("promoted: the forecaster passed the promotion gate"), out[-3000:]
    table = out[out.index("backtest: WAPE by horizon") :]
    for model in ("gbm", "additive_pickup", "multiplicative_pickup", "historical_mean", "historical_quantiles"):
        assert re.search(rf"^  {model}\s+\d\.\d{{3}}(\s+\d\.\d{{3}}){{5}}$", table, flags=re.M), table

    warehouse = make_warehouse(f"duckdb:///{root}/.concert_data/warehouse.duckdb", "concert")
    [promoted] = warehouse.read("production_model").to_pylist()
    forecasts = warehouse.read("concert_forecasts").to_pandas()
    assert len(forecasts) > 1000 and set(forecasts["model_version"]) == {promoted["model_version"]}
    assert (forecasts["forecast_p10"] <= forecasts["forecast_p50"]).all()
    assert (forecasts["forecast_p50"] <= forecasts["forecast_p90"]).all()
    assert warehouse.count("forecast_training") > 100_000 and warehouse.count("pace_alerts") > 0
    lake = root / ".concert_data" / "lake"
    assert any((lake / "models" / promoted["model_version"]).iterdir())  # the promoted model's files
    assert (lake / "insights_report" / "report.html").stat().st_size > 10_000

    # The UI's path: insights_job launched through GraphQL, queued, and run by the daemon in a run worker.
    port = free_port()
    webserver = serve_in_clone(root, "webserver", ["dagster-webserver", "-h", "127.0.0.1", "-p", str(port)], port)
    daemon = serve_in_clone(root, "daemon", ["dagster-daemon", "run"], None)
    ui = DagsterUI(f"http://127.0.0.1:{port}/graphql", lambda: webserver.log_tail() + daemon.log_tail())
    try:
        ui.wait_until_ready()
        run_id = ui.launch_run("insights_job")
        assert ui.wait_run(run_id, timeout=900) == "SUCCESS", ui.diagnostics()
        made = ui.run_materializations(run_id)
        assert {asset for asset, _ in made} >= {"forecast_training", "forecast_backtest", "forecast_model", "production_model"}
        assert {asset for asset, _ in made} >= {"concert_forecasts", "pace_alerts", "sellout_watch", "insights_report"}
    finally:
        daemon.stop()
        webserver.stop()
    # Same data, same seed, same code: the daemon's run promoted the very same model version.
    [again] = warehouse.read("production_model").to_pylist()
    assert again["model_version"] == promoted["model_version"]
