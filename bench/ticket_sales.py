"""Benchmark: one day of ticket sales, validate -> lake -> warehouse (DuckDB).

    make bench                       # 1,000,000 sales
    python -m bench.ticket_sales --rows 200000 --naive-rows 50000

Each path runs in its own process so its peak RSS is its own. The naive path
(json.loads + one ``model_validate`` per record, pandas, row-by-row INSERTs)
is what the platform replaced; it runs on a sample (``--naive-rows``) because
at its speed a million rows take many minutes, and rows/s is what is compared.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

DAY = date(2026, 11, 10)
DATA = Path(__file__).parent / ".data"


def _peak_rss_mb() -> float:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a spawned
    # child would report its parent's peak.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(rows: int) -> tuple[Path, list[str]]:
    """A landing zone holding one day of `rows` sales (written once, reused) and the known concert ids."""
    from concert_platform.sources.demo import DemoCatalog
    from concert_platform.sources.demo_sales import write_day_of_sales
    from concert_platform.sources.landing import LandingZone
    from concert_platform.storage.filesystem import open_location

    catalog = DemoCatalog(seed=7, anchor=DAY)
    landing = DATA / f"landing-{rows}"
    if not (landing / "ticket_sales" / DAY.isoformat()).exists():
        shutil.rmtree(landing, ignore_errors=True)
        write_day_of_sales(LandingZone(open_location(str(landing))), catalog, DAY, rows)
    return landing, [event.id for event in catalog.events]


def fast_path(landing: str, concert_ids: list[str], out: str, queue) -> None:
    import pyarrow as pa

    from concert_platform.sources.landing import LandingZone
    from concert_platform.storage.filesystem import open_location
    from concert_platform.storage.lake import Lake
    from concert_platform.storage.publish import publish
    from concert_platform.storage.warehouse import make_warehouse
    from concert_platform.transforms.ticket_sales import load_sales_partition

    started = time.perf_counter()
    partition = load_sales_partition(LandingZone(open_location(landing)), DAY.isoformat(), pa.array(concert_ids))
    validated = time.perf_counter()
    publish(
        Lake(open_location(f"{out}/lake")),
        make_warehouse(f"duckdb:///{out}/fast.duckdb", "bench"),
        "ticket_sales",
        partition.valid,
        partition=DAY.isoformat(),
        where={"sale_date": DAY},
        rejects=partition.rejects,
    )
    loaded = time.perf_counter()
    queue.put(
        {
            "rows": partition.stats["rows_read"],
            "valid": partition.valid.num_rows,
            "seconds": loaded - started,
            "validate_s": validated - started,
            "publish_s": loaded - validated,
            "peak_rss_mb": _peak_rss_mb(),
        }
    )


def naive_path(landing: str, limit: int, out: str, queue) -> None:
    import duckdb
    import pandas as pd
    from pydantic import ValidationError

    from concert_platform.models import TicketSale

    started = time.perf_counter()
    rows, seen = [], 0
    for path in sorted(Path(landing, "ticket_sales", DAY.isoformat()).glob("*.jsonl")):
        with open(path) as lines:
            for line in lines:
                if seen >= limit:
                    break
                seen += 1
                try:
                    rows.append(TicketSale.model_validate(json.loads(line)).model_dump())
                except (ValueError, ValidationError):
                    continue
    frame = pd.DataFrame(rows)
    con = duckdb.connect(f"{out}/naive.duckdb")
    con.execute(
        "CREATE TABLE ticket_sales (sale_id VARCHAR, concert_id VARCHAR, sold_at TIMESTAMPTZ, quantity BIGINT, "
        "unit_price DECIMAL(18,4), currency VARCHAR, channel VARCHAR, customer_id VARCHAR, section VARCHAR)"
    )
    columns = ["sale_id", "concert_id", "sold_at", "quantity", "unit_price", "currency", "channel", "customer_id", "section"]
    con.execute("BEGIN")
    for record in frame[columns].itertuples(index=False):
        con.execute("INSERT INTO ticket_sales VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", list(record))
    con.execute("COMMIT")
    con.close()
    queue.put({"rows": seen, "valid": len(rows), "seconds": time.perf_counter() - started, "peak_rss_mb": _peak_rss_mb()})


def _in_child(target, *args) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="ticket_sales partition benchmark")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--naive-rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="fast-path runs; the median is reported")
    args = parser.parse_args(argv)

    print(f"preparing a landing zone with one day of {args.rows:,} sales ...", flush=True)
    landing, concert_ids = prepare(args.rows)
    with tempfile.TemporaryDirectory(dir=DATA) as out:
        runs = sorted(
            (_in_child(fast_path, str(landing), concert_ids, out) for _ in range(args.repeat)), key=lambda r: r["seconds"]
        )
        fast = runs[len(runs) // 2]
        naive = _in_child(naive_path, str(landing), min(args.naive_rows, args.rows), out)
    fast_rate, naive_rate = fast["rows"] / fast["seconds"], naive["rows"] / naive["seconds"]
    print(f"\n{'path':<8}{'rows':>12}{'seconds':>10}{'rows/s':>12}{'peak RSS':>12}")
    for name, r, rate in (("fast", fast, fast_rate), ("naive", naive, naive_rate)):
        print(f"{name:<8}{r['rows']:>12,}{r['seconds']:>10.2f}{rate:>12,.0f}{r['peak_rss_mb']:>9,.0f} MB")
    print(
        f"\nfast path: validate {fast['validate_s']:.2f}s, lake + warehouse {fast['publish_s']:.2f}s; "
        f"{fast['valid']:,} valid of {fast['rows']:,}"
    )
    timings = ", ".join(f"{r['seconds']:.2f}" for r in runs)
    print(f"fast-path runs: {timings} s (the median is shown)")
    print(f"speed-up: {fast_rate / naive_rate:.1f}x (targets: >= 300,000 rows/s and >= 15x)")


if __name__ == "__main__":
    DATA.mkdir(exist_ok=True)
    main()
