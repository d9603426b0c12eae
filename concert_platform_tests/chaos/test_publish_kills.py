"""Chaos: the plain CLI's run killed with SIGKILL inside a publish, on DuckDB and on PostgreSQL, and a
publish into an unreachable warehouse and onto a full lake disk.

Each case loads a day, lands one more file for it, and runs `dagster asset materialize` for that day
again with ``CONCERT_FAULT_AT`` naming the point where the run's process kills itself
(``storage/faults.py``). Afterwards the lake (as its reader follows the warehouse's commit record) and
the warehouse hold the same rows, the old day's or the new day's; a plain re-run then loads the new
day and leaves no staged file behind.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from concert_platform.storage import faults
from concert_platform.storage.consistency import compare
from concert_platform.storage.lake import Lake
from concert_platform.storage.warehouse import make_warehouse
from concert_platform_tests.clone_root import BIN, bare_environment, install_instance, make_clone_root, run

pytestmark = pytest.mark.chaos

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
CATALOG = "ticketmaster_events_raw,musicbrainz_artists_raw,spotify_artists_raw,artists,venues,concerts"
SCHEMA = "concert"
EXTRA_SALES = 250


def _day() -> str:
    return (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


class Clone:
    """A fresh clone's root with a day of demo sales loaded, on the warehouse ``warehouse_url``."""

    def __init__(self, root: Path, warehouse_url: str, lake_url: str | None = None) -> None:
        self.root, self.day = root, _day()
        self.env = {"CONCERT_WAREHOUSE_URL": warehouse_url, "CONCERT_LAKE_URL": lake_url or str(root / ".concert_data/lake")}
        self.lake = Lake.from_url(self.env["CONCERT_LAKE_URL"])
        self.warehouse = make_warehouse(warehouse_url if "://" in warehouse_url else f"duckdb:///{warehouse_url}", SCHEMA)

    def setup(self) -> None:
        make_clone_root(self.root)
        install_instance(self.root)
        run(self.root, "python", "-m", "concert_platform.demo_run", "--days", "1", "--seed-only", exported=self.env)
        run(self.root, "dagster", "asset", "materialize", "-m", "concert_platform.definitions", "--select", CATALOG,
            exported=self.env)  # fmt: skip
        self.load()

    def load(self, fault: str | None = None, *, must_succeed: bool = True, **env: str) -> subprocess.CompletedProcess:
        """Load the day through the CLI (with ``fault`` or ``must_succeed=False``: whatever the outcome)."""
        argv = ["dagster", "asset", "materialize", "-m", "concert_platform.definitions", "--select", "ticket_sales",
                "--partition", self.day]  # fmt: skip
        if fault is None and must_succeed:
            return run(self.root, *argv, exported={**self.env, **env})
        extra = {faults.VARIABLE: fault} if fault else {}
        return subprocess.run(
            [str(BIN / argv[0]), *argv[1:]],
            cwd=self.root,
            env={**bare_environment(self.root / ".home"), **self.env, **extra, **env},
            capture_output=True,
            text=True,
            timeout=300,
        )

    def land_more(self) -> None:
        """One more file for the day: EXTRA_SALES sales of a known concert."""
        concert = self.lake.read("concerts", columns=["concert_id"])["concert_id"][0].as_py()
        at = f"{self.day}T12:00:00+00:00"
        lines = [
            json.dumps(
                {
                    "sale_id": f"X-{uuid.uuid4().hex}",
                    "concert_id": concert,
                    "sold_at": at,
                    "quantity": 1,
                    "unit_price": "10.00",
                    "currency": "EUR",
                    "channel": "web",
                }
            )  # fmt: skip
            for _ in range(EXTRA_SALES)
        ]
        folder = self.root / ".concert_data/landing/ticket_sales" / self.day
        (folder / f"extra-{uuid.uuid4().hex[:6]}.jsonl").write_text("\n".join(lines) + "\n")

    def rows(self) -> int:
        """The day's rows, after asserting that the lake and the warehouse agree on them."""
        report = compare(self.lake, self.warehouse, "ticket_sales", "sale_date")
        assert report.agree, report.differences
        shown = self.lake.following(self.warehouse.committed_versions).read("ticket_sales", [self.day]).num_rows
        assert shown == self.warehouse.count("ticket_sales", {"sale_date": datetime.fromisoformat(self.day).date()})
        return shown

    def staged(self) -> list[str]:
        return [
            *self.lake.staged_versions("ticket_sales", self.day),
            *self.lake.staged_versions("rejected_records/ticket_sales", self.day),
        ]


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse_url(request, tmp_path):
    if request.param == "duckdb":
        yield f"duckdb:///{tmp_path / 'clone/.concert_data/warehouse.duckdb'}"
        return
    name = f"chaos_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{PG_SERVER}/{name}"
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_run_killed_at_each_point_of_a_publish_leaves_one_state(tmp_path, warehouse_url):
    clone = Clone(tmp_path / "clone", warehouse_url)
    clone.setup()
    before = clone.rows()
    grown = before
    for point in faults.POINTS:
        clone.land_more()
        grown += EXTRA_SALES
        killed = clone.load(fault=point)
        assert killed.returncode == -9, f"the run was not killed at {point}:\n{killed.stdout}\n{killed.stderr}"
        # Killed before the commit: the old day on both sides; after it: the new day on both sides.
        expected = grown if point == faults.AFTER_COMMIT else grown - EXTRA_SALES
        assert clone.rows() == expected, point
        clone.load()
        assert clone.rows() == grown, point
        assert clone.staged() == [], point


def test_an_unreachable_warehouse_fails_the_run_before_it_reads_and_changes_nothing(tmp_path):
    clone = Clone(tmp_path / "clone", f"duckdb:///{tmp_path / 'clone/.concert_data/warehouse.duckdb'}")
    clone.setup()
    before = clone.rows()
    clone.land_more()
    secret = "S3cret-pw"
    done = clone.load(
        must_succeed=False, CONCERT_WAREHOUSE_URL=f"postgresql://postgres:{secret}@127.0.0.1:9/gone"
    )  # nothing listens on 9
    assert done.returncode != 0
    assert "cannot connect" in done.stdout + done.stderr
    assert secret not in done.stdout + done.stderr
    assert clone.rows() == before and clone.staged() == []


@pytest.fixture
def small_disk(tmp_path):
    """A 64 MiB tmpfs: a real filesystem that fills up, and can be made read-only."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"the chaos suite mounts a tmpfs (as root, like CI): {done.stderr}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * (1 << 20))
                out.flush()
        except OSError:
            pass
    return filler


def test_a_full_or_read_only_lake_fails_the_run_and_changes_nothing(tmp_path, small_disk):
    clone = Clone(tmp_path / "clone", f"duckdb:///{tmp_path / 'clone/.concert_data/warehouse.duckdb'}", str(small_disk / "lake"))
    clone.setup()
    before = clone.rows()
    clone.land_more()

    filler = _fill(small_disk)
    full = clone.load(must_succeed=False)
    assert full.returncode != 0 and "No space left on device" in full.stdout + full.stderr
    assert clone.rows() == before
    filler.unlink()
    assert clone.staged() == []

    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        read_only = clone.load(must_succeed=False)
        assert read_only.returncode != 0 and "Read-only file system" in read_only.stdout + read_only.stderr
        assert clone.rows() == before
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)

    clone.load()
    assert clone.rows() == before + EXTRA_SALES and clone.staged() == []
