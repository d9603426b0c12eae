"""Benchmark: one big day of ticket sales through the plain CLI, and the peak memory of its process tree.

    make bench-big-day
    python -m bench.big_day [--rows 10000000] [--baseline-rows 1000000] [--warehouses duckdb,postgresql]
                            [--stages | --only-stages] [--before-package DIR]

Each case is a folder laid out like a fresh clone (embedded instance, nothing
exported) whose .env points the landing zone at a cached day of demo sales
(`write_day_of_sales`, one ``sales.jsonl`` with the demo's 1% defects, written
once under bench/.data) and the lake and warehouse at the case's own temporary
folder (or a PostgreSQL database of its own). The catalog is loaded first
(`dagster job execute -j catalog_job`: ticket_sales reads the concerts), then the
timed command is what a user types:

    dagster asset materialize -m concert_platform.definitions --select ticket_sales --partition DAY

(``--select ticket_sales,ticket_sales_daily``: the nightly job's two assets.)

Reported: wall time of that command, valid rows per second, and the peak RSS of
its whole process tree (sampled every 0.1 s; a PostgreSQL server is not part of
the tree). The baseline in the same run is the same command on a day of
``--baseline-rows`` (the 1M day `make bench` uses): what a run costs besides the
day, and how memory grows with the day's size. ``--before-package DIR`` runs every
case a second time with the clone's ``concert_platform`` linked to DIR, a copy of
the package before a change (``git worktree add /tmp/before <commit>`` gives one),
so the old code is measured beside the new on the same machine at the same time.

``--stages`` also runs the big day in process (the same job, an SQLite instance)
with the project's steps wrapped, sampling RSS and ``pyarrow.total_allocated_bytes()``
every 0.05 s, and reports the peak of each stage: where the peak comes from.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing as mp
import os
import subprocess
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

from bench.dagster_session import prepare_clone_root
from bench.process_memory import PeakMemory
from concert_platform_tests.clone_root import BIN, bare_environment, run

DATA = Path(__file__).parent / ".data"
DAY = date(2026, 11, 10)
SEED = 7
MODULE = "concert_platform.definitions"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
TARGET_MB = 2048


# -- the landing zone ---------------------------------------------------------------

# The demo world sells at most ~4.4M tickets' worth of sales on one day before its shows sell out, so a
# bigger day is written in chunks, each by a fresh market (every show unsold again) with a seed of its own,
# and the chunk's number goes into its sale_ids so chunks never share one: one file of ``rows`` sales
# whose defects (1%: invalid fields, unknown concerts, other days, duplicates) stay within their chunk.
CHUNK_ROWS = 2_500_000


def _write_landing(path: str, rows: int, done: str) -> None:
    import shutil

    from concert_platform.sources.demo import DemoCatalog
    from concert_platform.sources.demo_sales import write_day_of_sales
    from concert_platform.sources.landing import LandingZone
    from concert_platform.storage.filesystem import open_location

    catalog = DemoCatalog(seed=SEED, anchor=DAY)
    chunks = -(-rows // CHUNK_ROWS)
    target = Path(path, "ticket_sales", DAY.isoformat(), "sales.jsonl")
    target.parent.mkdir(parents=True)
    records, prefix = 0, f'"S-{DAY:%Y%m%d}-'.encode()
    with open(target, "wb") as out:
        for k in range(chunks):
            scratch = Path(path, f".chunk-{k}")
            n = rows // chunks + (1 if k < rows % chunks else 0)
            summary = write_day_of_sales(LandingZone(open_location(str(scratch))), catalog, DAY, n, seed=SEED + k)
            records += summary.records
            with open(scratch / "ticket_sales" / DAY.isoformat() / "sales.jsonl", "rb") as chunk:
                while block := chunk.read(64 << 20):
                    # A sale_id (`"S-20261110-web-0000001"`) is the only value that starts so; a block
                    # boundary inside one is mended by reading on to the end of the line.
                    block += chunk.readline()
                    out.write(block.replace(prefix, prefix + f"{k}-".encode()) if chunks > 1 else block)
            shutil.rmtree(scratch)
    Path(done).write_text(f"{records}\n")


def landing(rows: int) -> Path:
    """A landing zone holding one day of about ``rows`` sales, written once (in a process of its own:
    each chunk is generated whole in memory) and reused; ``.complete`` is written last."""
    path = DATA / f"big-day-{rows}-{DAY.isoformat()}"
    done = path / ".complete"
    if not done.exists():
        import shutil

        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        print(f"writing one day of {rows:,} demo sales into {path} (once) ...", flush=True)
        began = time.perf_counter()
        child = mp.get_context("spawn").Process(target=_write_landing, args=(str(path), rows, str(done)))
        child.start()
        child.join()
        if child.exitcode != 0 or not done.exists():
            raise RuntimeError(f"writing the landing zone failed (exit {child.exitcode})")
        print(f"  {int(done.read_text()):,} records in {time.perf_counter() - began:.0f}s", flush=True)
    return path


# -- one case through the CLI -------------------------------------------------------


def _settings(zone: Path, out: Path, warehouse_url: str) -> dict[str, str]:
    return {
        "CONCERT_LANDING_URL": str(zone),
        "CONCERT_LAKE_URL": str(out / "lake"),
        "CONCERT_WAREHOUSE_URL": warehouse_url,
        # The concerts catalog_job builds are the ones the generated sales name.
        "CONCERT_DEMO_DATE": DAY.isoformat(),
        "CONCERT_DEMO_SEED": str(SEED),
        "CONCERT_SALES_START_DATE": DAY.isoformat(),
    }


def _pg_database() -> tuple[str, str]:
    import psycopg

    name = f"bench_big_day_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"{PG_SERVER}/{name}"


def _drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def case(
    work: Path, zone: Path, rows: int, warehouse: str, package: Path | None = None, attempt: int = 0, select: str = "ticket_sales"
) -> dict:
    """One timed CLI run; ``package`` replaces the clone's concert_platform (the code before a change)."""
    label = "before" if package is not None else "now"
    folder = work / f"{warehouse}-{rows}-{label}-{attempt}"
    database = None
    if warehouse == "postgresql":
        database, url = _pg_database()
    else:
        url = f"duckdb:///{folder}/out/warehouse.duckdb"
    try:
        prepare_clone_root(folder, _settings(zone, folder / "out", url))
        if package is not None:  # the CLI imports the package from the folder it runs in
            (folder / "concert_platform").unlink()
            (folder / "concert_platform").symlink_to(package.resolve(), target_is_directory=True)
        run(folder, "dagster", "job", "execute", "-m", MODULE, "-j", "catalog_job", timeout=900)
        print(f"  {warehouse}, {rows:,} sales, {label} (load {_load()}) ...", flush=True)
        argv = [str(BIN / "dagster"), "asset", "materialize", "-m", MODULE, "--select", select]
        argv += ["--partition", DAY.isoformat()]
        log = folder / "materialize.log"
        with open(log, "w") as out:
            started = time.perf_counter()
            process = subprocess.Popen(argv, cwd=folder, env=bare_environment(folder / ".home"), stdout=out, stderr=out)
            with PeakMemory(lambda: [process.pid], interval=0.1) as peak:
                code = process.wait(timeout=3600)
            wall = time.perf_counter() - started
        if code != 0:
            raise RuntimeError(f"dagster asset materialize failed ({code}); its output:\n{log.read_text()[-4000:]}")
        meta = _materialization(folder)
        return {
            "warehouse": warehouse,
            "code": label,
            "rows": rows,
            "wall_s": wall,
            "input_rows": meta["input_rows"],
            "valid_rows": meta["valid_rows"],
            "rejected_rows": meta["rejected_rows"],
            "rows_per_s": meta["valid_rows"] / wall,
            "peak_mb": peak.peak_mb,
            "largest_process_mb": peak.largest_mb,
            "processes": peak.most_processes,
        }
    finally:
        if database is not None:
            _drop_pg_database(database)


def _materialization(folder: Path) -> dict:
    """The numbers of the run's ticket_sales materialisation, read from the folder's instance."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(folder / ".dagster_home")) as instance:
        [record] = instance.fetch_materializations(dg.AssetKey("ticket_sales"), limit=1).records
        metadata = record.asset_materialization.metadata
    return {key: metadata[key].value for key in ("input_rows", "valid_rows", "rejected_rows")}


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


# -- where the peak comes from --------------------------------------------------------


class Stages:
    """Marks which wrapped steps are running and samples RSS and Arrow's allocations meanwhile.

    Steps run inside one another and side by side (the lake's staging in a thread beside the
    warehouse load), so a sample is charged to the set of steps running at that moment.
    """

    def __init__(self, interval: float = 0.05):
        import psutil
        import pyarrow as pa

        self._process, self._arrow = psutil.Process(), pa.total_allocated_bytes
        self.interval = interval
        self.active: dict[int, str] = {}  # entry number -> label
        self.peaks: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])  # rss MB, arrow MB, seconds
        self.order: list[str] = []
        self._entries = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="stages", daemon=True)

    def wrap(self, owner, name: str, label: str) -> None:
        original = getattr(owner, name, None)
        if original is None:
            return  # a step this version of the code does not have

        @functools.wraps(original)
        def marked(*args, **kwargs):
            with self._lock:
                self._entries += 1
                entry = self._entries
                self.active[entry] = label
            try:
                return original(*args, **kwargs)
            finally:
                with self._lock:
                    del self.active[entry]

        setattr(owner, name, marked)

    def _sample(self) -> None:
        last = time.perf_counter()
        while not self._stop.wait(self.interval):
            rss, arrow = self._process.memory_info().rss / 2**20, self._arrow() / 2**20
            with self._lock:
                key = " | ".join(dict.fromkeys(self.active.values())) or "(Dagster, outside the steps)"
            now = time.perf_counter()
            peak = self.peaks[key]
            if key not in self.order:
                self.order.append(key)
            peak[0], peak[1], peak[2] = max(peak[0], rss), max(peak[1], arrow), peak[2] + now - last
            last = now

    def __enter__(self) -> Stages:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _stages_child(zone: str, out: str, queue) -> None:
    import dagster as dg

    from concert_platform.defs import io_manager
    from concert_platform.defs.assets import modeled, sales
    from concert_platform.defs.build import build_definitions
    from concert_platform.settings import Settings
    from concert_platform.storage import publish
    from concert_platform.storage.duckdb_warehouse import DuckDBWarehouse
    from concert_platform.storage.lake import Lake
    from concert_platform.transforms import ticket_sales

    settings = Settings(
        _env_file=None,
        landing_url=zone,
        lake_url=f"{out}/lake",
        warehouse_url=f"duckdb:///{out}/warehouse.duckdb",
        demo_date=DAY,
        demo_seed=SEED,
        sales_start_date=DAY,
    )
    defs = build_definitions(settings)
    quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    Path(out, "home").mkdir()
    with dg.DagsterInstance.local_temp(f"{out}/home", overrides={"telemetry": {"enabled": False}}) as instance:
        assert defs.resolve_job_def("catalog_job").execute_in_process(instance=instance, run_config=quiet).success
        stages = Stages()
        stages.wrap(ticket_sales._Load, "load_file", "read + validate")
        stages.wrap(ticket_sales._Load, "finish", "de-duplicate")
        stages.wrap(ticket_sales.KeyHashes, "candidates", "repeated key hashes")
        stages.wrap(ticket_sales, "find_duplicates", "find duplicates")
        stages.wrap(sales, "model_checks", "checks")
        stages.wrap(modeled, "_repeats", "primary key")
        stages.wrap(modeled, "_outside", "foreign key")
        stages.wrap(sales, "model_metadata", "day metadata")
        stages.wrap(modeled, "reject_reasons", "reject reasons")
        stages.wrap(io_manager, "table_metadata", "materialisation metadata")
        stages.wrap(io_manager, "publish", "publish")
        stages.wrap(publish, "_stage_and_load", "stage + load")
        stages.wrap(Lake, "stage", "lake stage")
        stages.wrap(Lake, "switch", "lake move")
        stages.wrap(DuckDBWarehouse, "_apply", "warehouse statements")
        stages.wrap(DuckDBWarehouse, "_record", "warehouse commit record")
        job = defs.resolve_job_def("ticket_sales_job")
        started = time.perf_counter()
        with stages:
            result = job.execute_in_process(
                instance=instance, run_config=quiet, partition_key=DAY.isoformat(), asset_selection=[dg.AssetKey("ticket_sales")]
            )
        wall = time.perf_counter() - started
    assert result.success
    queue.put({"wall_s": wall, "stages": [(key, *stages.peaks[key]) for key in stages.order]})


def stage_profile(work: Path, zone: Path) -> dict:
    out = work / "stages"
    out.mkdir()
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_stages_child, args=(str(zone), str(out), queue))
    child.start()
    result = queue.get()
    child.join()
    return result


# -- report -------------------------------------------------------------------------


def print_cases(results: list[dict]) -> None:
    print(f"\n{'case':<32}{'rows read':>12}{'valid':>12}{'wall s':>8}{'rows/s':>10}{'peak MB':>9}{'largest MB':>11}{'procs':>6}")
    for r in results:
        print(
            f"  {r['warehouse'] + ', ' + format(r['rows'], ',') + ', ' + r['code']:<30}{r['input_rows']:>12,}{r['valid_rows']:>12,}"
            f"{r['wall_s']:>8.1f}{r['rows_per_s']:>10,.0f}{r['peak_mb']:>9,.0f}{r['largest_process_mb']:>11,.0f}"
            f"{r['processes']:>6}"
        )
    for r in results:
        if r["rows"] >= 10_000_000:
            verdict = "met" if r["peak_mb"] <= TARGET_MB else f"missed by {r['peak_mb'] - TARGET_MB:,.0f} MB"
            print(
                f"  target: {r['warehouse']}, {r['rows']:,} sales, {r['code']}, peak <= {TARGET_MB:,} MB: {r['peak_mb']:,.0f} MB, {verdict}"
            )


def print_stages(profile: dict) -> None:
    print(f"\nin process, {profile['wall_s']:.1f}s; peak per stage (steps running at the sample):")
    print(f"  {'stage':<70}{'RSS MB':>8}{'Arrow MB':>10}{'s':>7}")
    for key, rss, arrow, seconds in profile["stages"]:
        print(f"  {key[:70]:<70}{rss:>8,.0f}{arrow:>10,.0f}{seconds:>7.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="one big day of ticket sales through the CLI: wall time and peak memory")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--baseline-rows", type=int, default=1_000_000, help="the same command on a smaller day; 0: none")
    parser.add_argument("--warehouses", default="duckdb", help="comma-separated: duckdb, postgresql")
    parser.add_argument("--stages", action="store_true", help="also profile the big day's stages in process (DuckDB)")
    parser.add_argument(
        "--before-package",
        type=Path,
        help="a copy of concert_platform/ before a change (e.g. from `git worktree add`): each case runs with it too",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each case")
    parser.add_argument(
        "--select",
        default="ticket_sales",
        help="assets the timed command materialises; ticket_sales,ticket_sales_daily is the nightly job's pair",
    )
    parser.add_argument("--only-stages", action="store_true", help="profile the stages, run no CLI case")
    args = parser.parse_args(argv)
    warehouses = [w.strip() for w in args.warehouses.split(",") if w.strip()]
    if not warehouses or set(warehouses) - {"duckdb", "postgresql"}:
        parser.error("--warehouses takes duckdb and/or postgresql")

    DATA.mkdir(exist_ok=True)
    stamp = datetime.now(UTC)
    print(f"big-day bench, {stamp:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load {_load()}", flush=True)
    sizes = [args.rows] if args.only_stages else [n for n in (args.baseline_rows, args.rows) if n]
    zones = {n: landing(n) for n in sizes}
    report: dict = {"started": stamp.isoformat(), "cores": os.cpu_count(), "cases": []}
    with tempfile.TemporaryDirectory(dir=DATA, prefix="big-day-") as tmp:
        work = Path(tmp)
        if not args.only_stages:
            packages = [None] if args.before_package is None else [args.before_package, None]
            for warehouse in warehouses:
                for rows in sizes:
                    for attempt in range(args.repeat):  # interleaved, so a busy spell of the machine hits both
                        for package in packages:
                            report["cases"].append(case(work, zones[rows], rows, warehouse, package, attempt, args.select))
            print_cases(report["cases"])
        if args.stages or args.only_stages:
            print(f"\nstages of the {args.rows:,}-sale day, in process ...", flush=True)
            report["stages"] = stage_profile(work, zones[args.rows])
            print_stages(report["stages"])
    out = DATA / f"big-day-{stamp:%Y%m%dT%H%M}.json"
    out.write_text(json.dumps(report, indent=1))
    print(f"\nload at the end {_load()}; figures in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
