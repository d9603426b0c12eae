"""A day too big to hold: its valid rows wait in a spool, and memory holds a batch of them, not the day."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pyarrow as pa

from concert_platform.sources.landing import LandingZone
from concert_platform.storage.filesystem import open_location
from concert_platform.transforms import spool as spool_module
from concert_platform.transforms.ticket_sales import load_sales_partition, spool_sales_partition
from concert_platform_tests.sale_records import sale_record

DAY = "2025-10-03"
LOADED = datetime(2025, 10, 4, 6, 0, tzinfo=UTC)


def _write_day(tmp_path, rows: int) -> LandingZone:
    folder = tmp_path / "landing" / "ticket_sales" / DAY
    folder.mkdir(parents=True)
    with open(folder / "a.jsonl", "w") as out:
        for i in range(rows):
            sale = sale_record(i, DAY, sale_id=f"S-{i:07d}")
            out.write(json.dumps(sale) + "\n")
        out.write(json.dumps({**sale, "quantity": 2 + i % 5}) + "\n")  # the last sale_id twice, differing
    return LandingZone(open_location(str(tmp_path / "landing")))


def test_memory_holds_a_batch_not_the_day(tmp_path, monkeypatch):
    zone = _write_day(tmp_path, 60_000)
    allocated = []
    real = spool_module.PartWriter.write
    monkeypatch.setattr(
        spool_module.PartWriter, "write", lambda self, t: allocated.append(pa.total_allocated_bytes()) or real(self, t)
    )
    before = pa.total_allocated_bytes()
    day = spool_sales_partition(zone, DAY, {"c1"}, batch_rows=2_000, loaded_at=LOADED)
    whole = day.valid.read()
    assert whole.num_rows == 59_999 and day.rejects.num_rows == 2 and len(allocated) >= 25
    # Holding the valid rows so far (what the day's table used to be) would grow to the whole table.
    assert max(allocated) - before < whole.nbytes / 4
    day.close()


def test_the_spooled_day_is_the_day_read_whole(tmp_path):
    zone = _write_day(tmp_path, 5_000)
    spooled = spool_sales_partition(zone, DAY, {"c1"}, batch_rows=700, loaded_at=LOADED)
    whole = load_sales_partition(zone, DAY, {"c1"}, batch_rows=700, loaded_at=LOADED)
    assert spooled.valid.read().equals(whole.valid) and spooled.rejects.equals(whole.rejects)
    assert spooled.stats == whole.stats and spooled.stats["rejected_by_reason"] == {"conflicting sale_id": 2}
    folder = spooled.valid._folder.path
    spooled.close()
    assert not os.path.exists(folder)
