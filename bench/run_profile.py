"""Where a run's time goes: the CLI's fixed cost by phase, and a range run's cost per day by step.

    python -m bench.run_profile [--days 30] [--skip-cli]

``cli``: cProfile around `dagster asset materialize` of an empty day in a clone
root (catalog loaded), summed by phase. ``range``: an in-process run of
ticket_sales_job over the last N seeded days on an SQLite instance (as the
embedded one) with the project's functions wrapped in timers, so each day's cost
splits into reading/validating, checks and metadata, lake write, warehouse
DELETE+INSERT, the roll-up, and what is left: Dagster's own work around them.
"""

from __future__ import annotations

import argparse
import functools
import pstats
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from bench.dagster_session import prepare_clone_root, timed_cli
from bench.demo_landing import DATA, DEMO_DATE, DEMO_SEED, seeded_landing
from bench.orchestration import EMPTY_DAY

CLI_PHASES = {
    # label: (file suffix, function) whose cumulative time is the phase
    "whole command": ("bin/dagster", "<module>"),
    "import dagster": ("dagster/__init__.py", "<module>"),
    "code location import + load": ("dagster/_grpc/utils.py", "get_loadable_targets"),
    "instance (SQLite storage) set-up": ("dagster/_core/instance/factory.py", "create_instance_from_ref"),
    "executing the run": ("dagster/_core/execution/api.py", "execute_job"),
    "  of which event log writes": ("dagster/_core/instance/methods/event_methods.py", "handle_new_event"),
    "  of which the ticket_sales steps' own code": ("concert_platform/defs/assets/sales.py", "load_sales_day"),
}


def cli_phases(work: Path) -> dict[str, tuple[float, int]]:
    """(cumulative seconds, calls) per phase of one profiled `dagster asset materialize` of an empty day."""
    folder = prepare_clone_root(work / "cli-profile")
    timed_cli(folder, "dagster", "job", "execute", "-m", "concert_platform.definitions", "-j", "catalog_job")
    args = ["asset", "materialize", "-m", "concert_platform.definitions", "--select", "ticket_sales,ticket_sales_daily"]
    dagster = str(Path(__import__("sys").executable).parent / "dagster")
    timed_cli(folder, "dagster", *args, "--partition", EMPTY_DAY)  # warm-up
    timed_cli(folder, "python", "-m", "cProfile", "-o", str(folder / "cli.prof"), dagster, *args, "--partition", EMPTY_DAY)
    stats = pstats.Stats(str(folder / "cli.prof")).stats  # type: ignore[attr-defined]
    found = {}
    for label, (suffix, name) in CLI_PHASES.items():
        matches = [(v[3], v[1]) for (file, _line, func), v in stats.items() if file.endswith(suffix) and func == name]
        found[label] = max(matches, default=(0.0, 0))
    return found


class Timers:
    """Wraps functions and methods; sums wall seconds and calls per label, from any thread."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def wrap(self, owner, name: str, label: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds[label] += time.perf_counter() - started
                    self.calls[label] += 1

        setattr(owner, name, timed)


# Labels whose calls run one after another on the run's main thread (none inside another):
# what they leave of the run's wall time is Dagster's.
MAIN_THREAD = (
    "read + validate",
    "checks + day metadata",
    "materialisation metadata",
    "publish (lake | warehouse)",
    "lake read",
    "roll-up",
)


def range_costs(days: int) -> dict:
    import dagster as dg

    from concert_platform.defs import io_manager
    from concert_platform.defs.assets import sales
    from concert_platform.defs.build import build_definitions
    from concert_platform.settings import Settings
    from concert_platform.storage.duckdb_warehouse import DuckDBWarehouse
    from concert_platform.storage.lake import Lake

    landing = seeded_landing()
    partitions = landing.last(days)
    timers = Timers()
    timers.wrap(sales, "spool_sales_partition", "read + validate")
    timers.wrap(sales, "model_checks", "checks + day metadata")
    timers.wrap(sales, "model_metadata", "checks + day metadata")
    timers.wrap(sales, "daily_sales", "roll-up")
    timers.wrap(io_manager, "table_metadata", "materialisation metadata")
    timers.wrap(io_manager, "publish", "publish (lake | warehouse)")
    timers.wrap(Lake, "write", "  lake write (thread)")
    timers.wrap(Lake, "read", "lake read")
    timers.wrap(DuckDBWarehouse, "load", "  warehouse DELETE+INSERT (thread)")
    timers.wrap(DuckDBWarehouse, "_open_file", "    open the DuckDB file")
    timers.wrap(DuckDBWarehouse, "_apply", "    DELETE + INSERT statements")
    timers.wrap(dg.DagsterInstance, "handle_new_event", "  Dagster event log writes")
    quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    with tempfile.TemporaryDirectory(dir=DATA, prefix="range-") as tmp:
        settings = Settings(
            lake_url=f"{tmp}/lake",
            warehouse_url=f"duckdb:///{tmp}/warehouse.duckdb",
            landing_url=str(landing.path),
            demo_date=DEMO_DATE,
            demo_seed=DEMO_SEED,
            sales_start_date=landing.start,
        )
        defs = build_definitions(settings)
        Path(tmp, "home").mkdir()
        with dg.DagsterInstance.local_temp(f"{tmp}/home", overrides={"telemetry": {"enabled": False}}) as instance:
            assert defs.resolve_job_def("catalog_job").execute_in_process(instance=instance, run_config=quiet).success
            timers.seconds.clear()
            timers.calls.clear()
            started = time.perf_counter()
            result = defs.resolve_job_def("ticket_sales_job").execute_in_process(
                instance=instance,
                run_config=quiet,
                tags={"dagster/asset_partition_range_start": partitions[0], "dagster/asset_partition_range_end": partitions[-1]},
            )
            wall = time.perf_counter() - started
    assert result.success
    ours = sum(timers.seconds[label] for label in MAIN_THREAD)
    valid = sum(m.metadata["valid_rows"].value for m in result.asset_materializations_for_node("ticket_sales"))
    return {
        "days": days,
        "wall_s": wall,
        "valid_rows": valid,
        "seconds": dict(timers.seconds),
        "calls": dict(timers.calls),
        "dagster_s": wall - ours,
    }


def print_range(r: dict) -> None:
    days, wall = r["days"], r["wall_s"]
    print(
        f"\nin-process range run, {days} days, {r['valid_rows']:,} valid rows: {wall:.1f}s, {r['valid_rows'] / wall:,.0f} rows/s"
    )
    print(f"{'step':<40}{'s total':>9}{'ms/day':>9}{'share':>8}{'calls':>7}")
    rows = [*((label, r["seconds"].get(label, 0.0)) for label in MAIN_THREAD), ("Dagster (the rest of the run)", r["dagster_s"])]
    for label, seconds in rows:
        calls = r["calls"].get(label, "")
        print(f"  {label:<38}{seconds:>9.2f}{1000 * seconds / days:>9.0f}{seconds / wall:>8.0%}{calls!s:>7}")
        if label == "publish (lake | warehouse)":
            load = r["seconds"].get("  warehouse DELETE+INSERT (thread)", 0.0)
            statements = r["seconds"].get("    open the DuckDB file", 0.0) + r["seconds"].get(
                "    DELETE + INSERT statements", 0.0
            )
            inner_rows = [
                (label, r["seconds"].get(label, 0.0), r["calls"].get(label, 0))
                for label in (
                    "  lake write (thread)",
                    "  warehouse DELETE+INSERT (thread)",
                    "    open the DuckDB file",
                    "    DELETE + INSERT statements",
                )
            ]
            inner_rows.append(("    COMMIT + close (checkpoint)", load - statements, ""))
            for inner, s, calls in inner_rows:
                print(f"  {inner:<38}{s:>9.2f}{1000 * s / days:>9.0f}{'':>8}{calls!s:>7}")
    events = "  Dagster event log writes"
    s = r["seconds"].get(events, 0.0)
    print(f"  {events:<38}{s:>9.2f}{1000 * s / days:>9.0f}{s / wall:>8.0%}{r['calls'].get(events, 0):>7}  (inside the above)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="where a run's time goes")
    parser.add_argument("--days", type=int, default=30, help="days of the in-process range run (last N of the seeded year)")
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args(argv)
    DATA.mkdir(exist_ok=True)
    if not args.skip_cli:
        with tempfile.TemporaryDirectory(dir=DATA, prefix="profile-") as tmp:
            phases = cli_phases(Path(tmp))
        print("\n`dagster asset materialize` of an empty day under cProfile (cumulative s, calls)")
        for label, (seconds, calls) in phases.items():
            print(f"  {label:<46}{seconds:>7.2f}{calls:>6}")
    print_range(range_costs(args.days))


if __name__ == "__main__":
    main()
