"""Benchmark: replace one day of ticket_sales in a warehouse table that already holds other days.

    make bench-warehouse                                 # 1,000,000 sales a day, 2 other days, 3 rounds
    python -m bench.warehouse_replace --rows 200000 --repeat 1 --engines postgres,duckdb

The day is real ``SALES_SCHEMA`` rows from the demo generator, validated by
``load_sales_partition`` (no defects, so every row is valid), kept as
Parquet in ``bench/.data`` and reused. Each round and engine starts from a
fresh table holding the other days, with the primary key (sale_date,
sale_id), and times two partition replaces through ``Warehouse.load``, each
in its own process so its peak memory is its own:

- **new**: the day is not in the table yet (a daily run);
- **reload**: the day is there and is replaced (a re-run or backfill).

Engines: ``postgres`` (the platform's PostgreSQL warehouse: the table is
partitioned by day, and a day is built aside and swapped in,
``storage/postgres_partitions.py``), ``postgres-plain`` (the same warehouse on a
plain table as earlier versions created it, which it still loads with DELETE
and binary COPY), ``postgres-baseline`` (the path before binary COPY, kept
here: CSV into a staging table, DELETE, INSERT ... ORDER BY key, on a plain
table), ``duckdb`` (the DuckDB warehouse as the platform runs it: its tables
declare no key) and ``duckdb-key`` (the same table created with the primary key
first). PostgreSQL is the server at ``--pg-url``; each round gets a database of
its own, dropped afterwards. Reported per engine and case: the median wall
time of the rounds, rows/s, CPU seconds of the loading process and of its
PostgreSQL backend, and peak RSS of both (the backend's counts the shared
buffers it touched); the loading process's RSS before the replace, the day's
Arrow table read, is in brackets. For ``postgres`` also the stages of that
round: building the day's table (CREATE, COPY, primary key) and the swap.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import tempfile
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

DATA = Path(__file__).parent / ".data"
DAY = date(2026, 11, 10)
KEY = ("sale_date", "sale_id")
TABLE = "ticket_sales"
SCHEMA = "bench"
ENGINES = ("postgres-baseline", "postgres-plain", "postgres", "duckdb", "duckdb-key")
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def prepare(rows: int, other_days: int) -> dict[date, Path]:
    """One Parquet file of ``rows`` valid sales per day: the timed day and the days before it."""
    import pyarrow.parquet as pq

    from concert_platform.sources.demo import DemoCatalog
    from concert_platform.sources.demo_sales import write_day_of_sales
    from concert_platform.sources.landing import LandingZone
    from concert_platform.storage.filesystem import open_location
    from concert_platform.transforms.ticket_sales import load_sales_partition

    folder = DATA / f"replace-{rows}"
    folder.mkdir(parents=True, exist_ok=True)
    days = [DAY - timedelta(days=n) for n in range(other_days, -1, -1)]
    files = {day: folder / f"{day}.parquet" for day in days}
    catalog = None
    for day, path in files.items():
        if path.exists():
            continue
        catalog = catalog or DemoCatalog(seed=7, anchor=DAY)
        with tempfile.TemporaryDirectory(dir=DATA) as landing:
            zone = LandingZone(open_location(landing))
            write_day_of_sales(zone, catalog, day, rows, defect_rate=0)
            partition = load_sales_partition(zone, day.isoformat(), [event.id for event in catalog.events])
        pq.write_table(partition.valid, f"{path}.tmp")
        os.replace(f"{path}.tmp", path)
    return files


# -- engines -------------------------------------------------------------------------------------


def _baseline_class():
    """The PostgreSQL partition replace as it was before binary COPY (b82d284), for comparison in the same run.

    Covers what the sales need: their types went to pyarrow's CSV writer unchanged.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    from concert_platform.storage.postgres_warehouse import PostgresWarehouse, _advisory_lock, _escape
    from concert_platform.storage.sql import pyformat_ident, pyformat_qualified, pyformat_where, quote_ident

    options = pa_csv.WriteOptions(include_header=False)

    def csv_chunk(batch):
        # What the CSV encoder was for the sales types: pyarrow's writer on the batch as it is.
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(batch, sink, options)
        return sink.getvalue()

    def write_csv(data, copy) -> None:
        with ThreadPoolExecutor(1) as encoder:
            pending: Future | None = None
            for batch in data.to_batches(max_chunksize=65_536):
                encoded = encoder.submit(csv_chunk, batch)
                if pending is not None:
                    copy.write(pending.result())
                pending = encoded
            if pending is not None:
                copy.write(pending.result())

    class BaselinePostgresWarehouse(PostgresWarehouse):
        def _apply(self, cur, index, op, data) -> None:
            assert op.where is not None, "the baseline covers partition replaces"
            table = pyformat_qualified(self.schema, op.table)
            self._prepare(cur, op, {field.name: field.type for field in data.schema})
            stage = f"pg_temp.{quote_ident(f'_concert_stage_{index}')}"
            cur.execute(f"CREATE TEMP TABLE {_escape(stage)} (LIKE {table}) ON COMMIT DROP", ())
            columns = ", ".join(quote_ident(name) for name in data.schema.names)
            with cur.copy(f"COPY {stage} ({columns}) FROM STDIN (FORMAT csv)") as copy:
                write_csv(data, copy)
            _advisory_lock(cur, "slice", self.schema, op.table, *sorted((k, str(v)) for k, v in op.where.items()))
            condition, params = pyformat_where(op.where)
            cur.execute(f"DELETE FROM {table}{condition}", params)
            columns = _escape(columns)
            order = f" ORDER BY {', '.join(pyformat_ident(name) for name in op.primary_key)}"
            cur.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {_escape(stage)}{order}", ())

    return BaselinePostgresWarehouse


def _staged_class():
    """The platform's PostgreSQL warehouse, noting how long a day's build and its swap took."""
    from concert_platform.storage.postgres_warehouse import PostgresWarehouse

    class TimedSwap:
        def __init__(self, swap, stages: dict[str, float]) -> None:
            self.swap, self.stages = swap, stages

        def run(self, cur, lock_timeout_s: float) -> None:
            started = time.perf_counter()
            self.swap.run(cur, lock_timeout_s)
            self.stages["swap"] = time.perf_counter() - started

    class StagedPostgresWarehouse(PostgresWarehouse):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.stages: dict[str, float] = {}

        def _build_day(self, *args):
            started = time.perf_counter()
            swap = super()._build_day(*args)
            self.stages["build"] = time.perf_counter() - started
            return TimedSwap(swap, self.stages)

    return StagedPostgresWarehouse


def _warehouse(engine: str, where: str, application_name: str = "concert_bench"):
    from concert_platform.storage.duckdb_warehouse import DuckDBWarehouse
    from concert_platform.storage.postgres_warehouse import PostgresWarehouse

    if engine.startswith("duckdb"):
        return DuckDBWarehouse(where, SCHEMA)
    url = f"{where}?application_name={application_name}"
    kind = {"postgres-baseline": _baseline_class, "postgres": _staged_class}.get(engine, lambda: PostgresWarehouse)()
    return kind(url, SCHEMA)


def _create_plain_postgres_table(where: str, schema) -> None:
    """The table as versions before day partitions created it: plain, with the key."""
    import psycopg

    from concert_platform.storage.postgres_types import create_table
    from concert_platform.storage.sql import pyformat_ident, pyformat_qualified

    with psycopg.connect(where) as conn:
        conn.execute(f"CREATE SCHEMA {pyformat_ident(SCHEMA)}", ())
        for statement in create_table(pyformat_qualified(SCHEMA, TABLE), {f.name: f.type for f in schema}, KEY):
            conn.execute(statement, ())


def _create_duckdb_table_with_key(path: str, schema) -> None:
    import duckdb

    from concert_platform.storage.sql import quote_ident

    con = duckdb.connect(path)
    try:
        con.register("empty", schema.empty_table())
        described = con.execute("DESCRIBE SELECT * FROM empty").fetchall()
        definitions = [f"{quote_ident(name)} {kind}" for name, kind, *_ in described]
        definitions.append(f"PRIMARY KEY ({', '.join(quote_ident(name) for name in KEY)})")
        con.execute(f"CREATE SCHEMA {quote_ident(SCHEMA)}")
        con.execute(f"CREATE TABLE {quote_ident(SCHEMA)}.{quote_ident(TABLE)} ({', '.join(definitions)})")
    finally:
        con.close()


# -- the measured processes ------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _settle(engine: str, where: str) -> None:
    """The same starting point for every timed replace: no dead rows, fresh statistics, nothing dirty."""
    if engine.startswith("duckdb"):
        return
    import psycopg

    with psycopg.connect(where, autocommit=True) as conn:
        conn.execute(f'VACUUM ANALYZE "{SCHEMA}"."{TABLE}"')
        conn.execute("CHECKPOINT")


def setup(engine: str, where: str, files: list[str], queue) -> None:
    """The other days, loaded untimed through the platform's own path (the older PostgreSQL engines into
    a plain table made first, as earlier versions made it)."""
    import pyarrow.parquet as pq

    from concert_platform.storage.postgres_warehouse import PostgresWarehouse
    from concert_platform.storage.warehouse import Replace

    if engine in ("postgres-baseline", "postgres-plain"):
        _create_plain_postgres_table(where, pq.read_schema(files[0]))
    warehouse = PostgresWarehouse(where, SCHEMA) if engine.startswith("postgres") else _warehouse(engine, where)
    for path in files:
        table = pq.read_table(path)
        warehouse.load([Replace(TABLE, table, {"sale_date": table.column("sale_date")[0].as_py()}, KEY)])
    _settle(engine, where)
    queue.put({})


def replace(engine: str, where: str, path: str, queue) -> None:
    """One timed partition replace of the day in ``path``."""
    import psutil
    import pyarrow.parquet as pq

    from bench.process_memory import PeakMemory
    from concert_platform.storage.warehouse import Replace

    table = pq.read_table(path)
    table.validate(full=True)  # touch every page now, so the timed replace does not page the file in
    name = f"concert_bench_{uuid.uuid4().hex[:8]}"
    warehouse = _warehouse(engine, where, name)
    operation = Replace(TABLE, table, {"sale_date": table.column("sale_date")[0].as_py()}, KEY)
    me = psutil.Process()
    start_mb = me.memory_info().rss / 2**20
    with warehouse.session():
        backend = _backend(engine, where, warehouse, name)
        with PeakMemory(lambda: [backend.pid] if backend else []) as server_peak:
            server_before = _cpu(backend)
            client_before = _cpu(me)
            started = time.perf_counter()
            warehouse.load([operation])
            seconds = time.perf_counter() - started
            client_cpu, server_cpu = _cpu(me) - client_before, _cpu(backend) - server_before
    queue.put(
        {
            "rows": table.num_rows,
            "seconds": seconds,
            "client_cpu": client_cpu,
            "server_cpu": server_cpu if backend else None,
            "client_mb": _peak_rss_mb(),
            "client_start_mb": start_mb,
            "server_mb": server_peak.peak_mb if backend else None,
            "stages": dict(getattr(warehouse, "stages", {})),
        }
    )


def _backend(engine: str, where: str, warehouse, name: str):
    """The session's PostgreSQL backend process (same machine), found by its application_name."""
    if engine.startswith("duckdb"):
        return None
    import psutil
    import psycopg

    warehouse.tables()  # opens the session's connection
    with psycopg.connect(where) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", (name,)).fetchall()
    return psutil.Process(rows[0][0]) if len(rows) == 1 else None


def _cpu(process) -> float:
    if process is None:
        return 0.0
    times = process.cpu_times()
    return times.user + times.system


def _in_child(target, *args) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    if process.exitcode:
        raise RuntimeError(f"{target.__name__}{args} failed with exit code {process.exitcode}")
    return result


# -- one round -----------------------------------------------------------------------------------


def round_of(engine: str, files: dict[date, Path], pg_url: str, scratch: str) -> dict[str, dict]:
    import psycopg

    others = [str(path) for day, path in files.items() if day != DAY]
    if engine.startswith("duckdb"):
        where = f"{scratch}/{engine}-{uuid.uuid4().hex[:8]}.duckdb"
        if engine == "duckdb-key":
            import pyarrow.parquet as pq

            _create_duckdb_table_with_key(where, pq.read_schema(files[DAY]))
        database = None
    else:
        database = f"concert_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        where = pg_url.rsplit("/", 1)[0] + f"/{database}"
    try:
        _in_child(setup, engine, where, others)
        new = _in_child(replace, engine, where, str(files[DAY]))
        _settle(engine, where)
        reload = _in_child(replace, engine, where, str(files[DAY]))
    finally:
        if database is not None:
            with psycopg.connect(pg_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        elif os.path.exists(where):
            os.remove(where)
    return {"new": new, "reload": reload}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="warehouse partition replace benchmark")
    parser.add_argument("--rows", type=int, default=1_000_000, help="sales per day")
    parser.add_argument("--other-days", type=int, default=2, help="days already in the table")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median is reported")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--pg-url", default=ADMIN_URL, help="a PostgreSQL database to connect to for CREATE DATABASE")
    args = parser.parse_args(argv)
    engines = [engine.strip() for engine in args.engines.split(",") if engine.strip()]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown:
        parser.error(f"unknown engines {unknown}; choose from {', '.join(ENGINES)}")

    DATA.mkdir(exist_ok=True)
    print(f"preparing {args.other_days + 1} days of {args.rows:,} sales ...", flush=True)
    files = prepare(args.rows, args.other_days)
    results: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory(dir=DATA) as scratch:
        for n in range(args.repeat):
            for engine in engines:  # interleaved, so a busy spell on a shared machine hits every engine
                load = os.getloadavg()[0]
                for case, result in round_of(engine, files, args.pg_url, scratch).items():
                    results.setdefault((engine, case), []).append(result | {"load": load})
                    print(
                        f"round {n + 1} {engine:<18}{case:<8}{result['seconds']:7.2f} s "
                        f"{result['rows'] / result['seconds']:>10,.0f} rows/s  (load {load:.1f})",
                        flush=True,
                    )
    _report(results, args)


def _report(results: dict[tuple[str, str], list[dict]], args) -> None:
    def cell(value, width: int, form: str) -> str:
        return f"{'-' if value is None else format(value, form):>{width}}"

    print(f"\nmedian of {args.repeat} round(s); {args.rows:,} rows a day, {args.other_days} other days in the table")
    header = f"{'engine':<19}{'case':<8}{'seconds':>9}{'rows/s':>11}{'client CPU':>12}{'server CPU':>12}{'client MB':>17}{'server MB':>11}"
    print(header)
    for (engine, case), runs in results.items():
        median = statistics.median(run["seconds"] for run in runs)
        middle = min(runs, key=lambda run: abs(run["seconds"] - median))
        print(
            f"{engine:<19}{case:<8}{median:>9.2f}{middle['rows'] / median:>11,.0f}"
            f"{middle['client_cpu']:>12.2f}{cell(middle['server_cpu'], 12, '.2f')}"
            f"{middle['client_mb']:>10,.0f} ({middle['client_start_mb']:,.0f}){cell(middle['server_mb'], 11, ',.0f')}"
        )
        rounds = ", ".join(f"{run['seconds']:.2f}" for run in runs)
        print(f"{'':<27}rounds: {rounds} s")
        if middle["stages"]:
            stages = ", ".join(f"{name} {seconds:.2f}" for name, seconds in middle["stages"].items())
            print(f"{'':<27}stages of that round: {stages} s (build: CREATE, COPY, primary key)")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
