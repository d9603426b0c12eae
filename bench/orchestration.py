"""Benchmark: what a run costs to start, and how long a backfill takes, through Dagster's own services.

    make bench-orchestration
    python -m bench.orchestration [--days-list 30,365] [--skip-slow] [--repeat 5]

On the embedded defaults a `make dev` user has (DuckDB warehouse, local lake and
landing zone, SQLite instance), each case in a folder laid out like a fresh clone
with its own instance and warehouse:

1. fixed cost of a run of an empty sales day: `dagster asset materialize` (CLI)
   and a run launched through GraphQL and executed by the daemon, against the
   same two for a code location holding one do-nothing asset (Dagster's floor);
   plus the import and load times they are made of.
2. backfills of demo-sized days (~20,000 sales a day) launched as the UI launches
   them, with the project's single_run policy and with one day per run: wall time
   from launch to COMPLETED_SUCCESS with every run finished, rows/s, peak memory
   of the whole process tree, runs; the warehouse's rows are checked against the
   materialisations' valid_rows.

The automation sensor (shipped running) is stopped in every session so only the
runs the bench launches use the queue and the warehouse pool.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.dagster_session import DaemonSession, prepare_clone_root, timed_cli
from bench.demo_landing import DATA, YEAR, SeededLanding, seeded_landing
from bench.process_memory import PeakMemory, tree_rss
from concert_platform_tests.clone_root import run

SALES = ["ticket_sales", "ticket_sales_daily"]
EMPTY_DAY = "2026-06-01"  # the fixed-cost folders have no landing zone at all: every day is empty
TARGET_BACKFILL_S = {365: 300.0}  # a year of days through the daemon in 5 minutes
TARGET_CLI_S = 3.0
SLOW = (365, "one_day_per_run")
VARIANTS = {"single_run": None, "one_day_per_run": "bench.one_day_per_run"}
LOCATIONS = {
    # name: (module the CLI and the workspace load, --select, job the daemon runs)
    "concert_platform": ("concert_platform.definitions", "ticket_sales,ticket_sales_daily", "ticket_sales_job"),
    "noop (Dagster's floor)": ("bench.noop_location", "noop_day", "noop_job"),
}
IMPORT_PROBE = """
import json, time
t0 = time.perf_counter()
import dagster
t1 = time.perf_counter()
import concert_platform.definitions as location
t2 = time.perf_counter()
defs = location.defs()
t3 = time.perf_counter()
defs.get_repository_def()
t4 = time.perf_counter()
print(json.dumps({"import dagster": t1 - t0, "import concert_platform.definitions": t2 - t1,
                  "defs()": t3 - t2, "resolve repository": t4 - t3, "total": t4 - t0}))
"""


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "all": [round(v, 2) for v in values]}


def import_costs(folder: Path, repeat: int) -> dict:
    interpreter = [timed_cli(folder, "python", "-c", "pass") for _ in range(repeat)]
    dagster = [timed_cli(folder, "python", "-c", "import dagster") for _ in range(repeat)]
    probes = [json.loads(run(folder, "python", "-W", "ignore", "-c", IMPORT_PROBE).stdout) for _ in range(repeat)]
    parts = {key: summary([p[key] for p in probes]) for key in probes[0]}
    return {"python -c pass": summary(interpreter), "python -c 'import dagster'": summary(dagster), "in one process": parts}


def fixed_costs(work: Path, repeat: int) -> dict:
    """Median seconds of a run of an empty day, by the CLI and by the daemon, per location."""
    results = {}
    for name, (module, select, job) in LOCATIONS.items():
        ours = module.startswith("concert_platform")
        folder = prepare_clone_root(work / f"fixed-{job}", module=None if ours else module)
        print(f"  {name}: CLI (load {load()}) ...", flush=True)
        if ours:  # ticket_sales reads the concerts from the lake
            timed_cli(folder, "dagster", "job", "execute", "-m", module, "-j", "catalog_job")
        materialize = ["dagster", "asset", "materialize", "-m", module, "--select", select, "--partition", EMPTY_DAY]
        timed_cli(folder, *materialize)  # warm-up: the instance's first write, the file cache
        cli = [timed_cli(folder, *materialize) for _ in range(repeat)]
        print(f"  {name}: daemon (load {load()}) ...", flush=True)
        with DaemonSession(folder) as session:
            if ours:
                session.stop_sensor("automation_sensor")
            session.wait_quiet()
            session.timed_run(job, {"dagster/partition": EMPTY_DAY})  # warm-up, as for the CLI
            daemon, run_ids = [], []
            for _ in range(repeat):
                seconds, run_id = session.timed_run(job, {"dagster/partition": EMPTY_DAY})
                daemon.append(seconds)
                run_ids.append(run_id)
            times = session.run_times(run_ids=run_ids)
        queued = [r["startTime"] - r["creationTime"] for r in times]
        running = [r["endTime"] - r["startTime"] for r in times]
        results[name] = {
            "cli": summary(cli),
            "daemon, launch -> SUCCESS seen": summary(daemon),
            "daemon, launch -> run started": summary(queued),
            "daemon, run started -> ended": summary(running),
        }
    return results


def backfill(work: Path, landing: SeededLanding, variant: str, days: int) -> dict:
    """One backfill of the last ``days`` seeded days on a fresh instance and warehouse."""
    from concert_platform.storage.warehouse import make_warehouse

    module = VARIANTS[variant]
    folder = prepare_clone_root(work / f"backfill-{variant}-{days}", landing.settings_env(), module)
    partitions = landing.last(days)
    with DaemonSession(folder) as session:
        session.stop_sensor("automation_sensor")
        catalog = session.ui.launch_run("catalog_job")
        if session.ui.wait_run(catalog, timeout=900) != "SUCCESS":
            raise RuntimeError(f"catalog_job failed\n{session.diagnostics()}")
        session.wait_quiet()
        idle_mb = tree_rss(session.pids())[0] / 2**20
        load_before = load()
        print(f"  {variant}, {days} days (load {load_before}) ...", flush=True)
        with PeakMemory(session.pids) as peak:
            started, launched_at = time.perf_counter(), time.time()
            backfill_id = session.ui.launch_backfill(SALES, partitions)
            result = session.ui.wait_backfill(backfill_id, timeout=4 * 3600)
            wall = time.perf_counter() - started
        runs = session.run_times(tags={"dagster/backfill": backfill_id})
        loaded = {"valid_rows": 0, "input_rows": 0, "days": 0}
        for r in runs:
            for (asset, _day), meta in session.ui.run_materializations(r["runId"]).items():
                if asset == "ticket_sales":
                    loaded["valid_rows"] += meta["valid_rows"]
                    loaded["input_rows"] += meta["input_rows"]
                    loaded["days"] += 1
    warehouse_rows = make_warehouse(f"duckdb:///{folder}/.concert_data/warehouse.duckdb", "concert").count("ticket_sales")
    succeeded = result["status"] == "COMPLETED_SUCCESS" and all(r["status"] == "SUCCESS" for r in runs)
    return {
        "variant": variant,
        "days": days,
        "status": result["status"],
        "succeeded": succeeded,
        "wall_s": wall,
        "runs": len(runs),
        # A run that never started (a failed backfill) has no times; the check below fails it anyway.
        "first_run_started_s": min((r["startTime"] for r in runs if r["startTime"]), default=launched_at) - launched_at,
        "last_run_ended_s": max((r["endTime"] for r in runs if r["endTime"]), default=launched_at) - launched_at,
        "run_seconds_total": sum(r["endTime"] - r["startTime"] for r in runs if r["startTime"] and r["endTime"]),
        "valid_rows": loaded["valid_rows"],
        "input_rows": loaded["input_rows"],
        "days_materialised": loaded["days"],
        "warehouse_rows": warehouse_rows,
        "warehouse_matches": warehouse_rows == loaded["valid_rows"] and loaded["days"] == days,
        "rows_per_s": loaded["valid_rows"] / wall,
        "peak_mb": peak.peak_mb,
        "largest_process_mb": peak.largest_mb,
        "idle_mb": idle_mb,
        "most_processes": peak.most_processes,
        "load_before": load_before,
    }


def print_fixed(imports: dict, fixed: dict) -> None:
    print(f"\n{'fixed cost of a run of an empty day':<60}{'median s':>10}{'min':>8}{'max':>8}")
    for name, result in fixed.items():
        for how, s in result.items():
            print(f"  {name + ': ' + how:<58}{s['median']:>10.2f}{s['min']:>8.2f}{s['max']:>8.2f}")
    for how in ("python -c pass", "python -c 'import dagster'"):
        s = imports[how]
        print(f"  {how:<58}{s['median']:>10.2f}{s['min']:>8.2f}{s['max']:>8.2f}")
    for part, s in imports["in one process"].items():
        print(f"    {part:<56}{s['median']:>10.2f}{s['min']:>8.2f}{s['max']:>8.2f}")
    cli = fixed["concert_platform"]["cli"]["median"]
    verdict = "met" if cli <= TARGET_CLI_S else f"missed by {cli - TARGET_CLI_S:.2f}s ({cli / TARGET_CLI_S:.1f}x)"
    print(f"target: a CLI run's fixed cost <= {TARGET_CLI_S:.0f}s: {cli:.2f}s, {verdict}")


def print_backfills(results: list[dict], skipped: list[str]) -> None:
    header = f"{'backfill':<24}{'days':>6}{'runs':>6}{'wall s':>9}{'rows/s':>10}{'valid rows':>12}{'peak MB':>9}{'check':>7}"
    print(f"\n{header}")
    for r in results:
        check = "ok" if r["warehouse_matches"] and r["succeeded"] else "FAIL"
        print(
            f"  {r['variant']:<22}{r['days']:>6}{r['runs']:>6}{r['wall_s']:>9.1f}{r['rows_per_s']:>10,.0f}"
            f"{r['valid_rows']:>12,}{r['peak_mb']:>9,.0f}{check:>7}"
        )
    for line in skipped:
        print(f"  {line}")
    for r in results:
        print(
            f"  {r['variant']} {r['days']}d: first run started {r['first_run_started_s']:.1f}s after launch, last ended at "
            f"{r['last_run_ended_s']:.1f}s, runs busy {r['run_seconds_total']:.1f}s; {r['input_rows']:,} rows read; "
            f"warehouse {r['warehouse_rows']:,} rows; tree idle {r['idle_mb']:,.0f} MB, largest process "
            f"{r['largest_process_mb']:,.0f} MB, up to {r['most_processes']} processes; load before {r['load_before']}"
        )
        target = TARGET_BACKFILL_S.get(r["days"])
        if target is not None:
            verdict = "met" if r["wall_s"] <= target else f"missed by {r['wall_s'] - target:.0f}s ({r['wall_s'] / target:.1f}x)"
            print(f"  target: {r['days']} days through the daemon <= {target / 60:.0f} min: {r['wall_s']:.0f}s, {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="run start-up cost and backfill wall time through Dagster's services")
    parser.add_argument(
        "--days-list", default="30,365", help="backfill sizes in days, comma-separated: the last N of the 365 seeded days"
    )
    parser.add_argument("--skip-slow", action="store_true", help="skip the 365-day one-day-per-run backfill (~30+ min)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per fixed-cost measurement; the median is reported")
    parser.add_argument("--only", choices=("fixed", "backfill"), help="run one half of the bench")
    args = parser.parse_args(argv)
    sizes = [int(d) for d in args.days_list.split(",") if d.strip()]
    if not sizes or not all(0 < d <= YEAR for d in sizes):
        parser.error(f"--days-list takes sizes from 1 to {YEAR} (the seeded year)")

    DATA.mkdir(exist_ok=True)
    stamp = datetime.now(UTC)
    print(f"orchestration bench, {stamp:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load {load()}", flush=True)
    report: dict = {"started": stamp.isoformat(), "cores": os.cpu_count(), "load_at_start": load()}
    with tempfile.TemporaryDirectory(dir=DATA, prefix="orchestration-") as tmp:
        work = Path(tmp)
        if args.only != "backfill":
            print("fixed cost of a run ...", flush=True)
            report["fixed"] = fixed_costs(work, args.repeat)
            report["imports"] = import_costs(work / "fixed-ticket_sales_job", args.repeat)
            print_fixed(report["imports"], report["fixed"])
        if args.only != "fixed":
            landing = seeded_landing()
            results, skipped = [], []
            for days in sizes:
                for variant in VARIANTS:
                    if args.skip_slow and (days, variant) == SLOW:
                        skipped.append(f"{variant} {days}d: skipped (--skip-slow; expected ~30+ minutes)")
                        print(f"  {skipped[-1]}", flush=True)
                        continue
                    results.append(backfill(work, landing, variant, days))
            report["backfills"], report["skipped"] = results, skipped
            print_backfills(results, skipped)
    out = DATA / f"orchestration-{stamp:%Y%m%dT%H%M}.json"
    out.write_text(json.dumps(report, indent=1))
    print(f"\nload at the end {load()}; figures in {out}")
    failed = [r for r in report.get("backfills", []) if not (r["succeeded"] and r["warehouse_matches"])]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
