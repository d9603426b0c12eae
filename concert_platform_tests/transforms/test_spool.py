"""The spool a big day waits in, and the hashes that find its repeated sale_ids without holding them."""

from __future__ import annotations

import os
import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from concert_platform.transforms import key_hashes
from concert_platform.transforms.key_hashes import KeyHashes, take_rows
from concert_platform.transforms.spool import Spool, SpoolError
from concert_platform.transforms.ticket_sales import SALES_SCHEMA, find_duplicates


def _sales(ids: list[str], quantity: int = 1) -> pa.Table:
    n = len(ids)
    return (
        pa.table(
            {
                "sale_id": ids,
                "concert_id": ["c1"] * n,
                "sold_at": pa.array([datetime(2026, 3, 1, 12, tzinfo=UTC)] * n, SALES_SCHEMA.field("sold_at").type),
                "quantity": pa.array([quantity] * n, SALES_SCHEMA.field("quantity").type),
                "unit_price": pa.array([Decimal("12.5")] * n, SALES_SCHEMA.field("unit_price").type),
                "currency": ["EUR"] * n,
                "channel": ["web"] * n,
                "customer_id": pa.array([None] * n, pa.string()),
                "section": ["A"] * n,
                "created_at": pa.array([datetime(2026, 3, 2, tzinfo=UTC)] * n, SALES_SCHEMA.field("created_at").type),
                "updated_at": pa.array([datetime(2026, 3, 2, tzinfo=UTC)] * n, SALES_SCHEMA.field("updated_at").type),
                "sale_date": pa.array([date(2026, 3, 1)] * n, pa.date32()),
                "source_file": ["a.jsonl"] * n,
            }
        )
        .select(SALES_SCHEMA.names)
        .cast(SALES_SCHEMA)
    )


def _spool(*parts: list[str]) -> Spool:
    spool = Spool(SALES_SCHEMA)
    for tag, ids in enumerate(parts):
        writer = spool.part(tag)
        for start in range(0, len(ids), 3):  # several batches per part
            writer.write(_sales(ids[start : start + 3]))
        writer.commit()
    return spool


def test_rows_come_back_exactly_as_written_less_the_dropped_ones():
    spool = _spool([f"s{i}" for i in range(7)], [], [f"t{i}" for i in range(5)])
    whole = spool.table()
    assert whole.num_rows == 12 and whole.read().equals(
        pa.concat_tables([_sales([f"s{i}" for i in range(7)]), _sales([f"t{i}" for i in range(5)])])
    )
    assert whole.read().schema == SALES_SCHEMA  # types, nullability and field order as written
    keep = np.ones(12, dtype=bool)
    keep[[0, 6, 7]] = False
    kept = spool.table(keep)
    assert kept.num_rows == 9 and kept["sale_id"].to_pylist() == [f"s{i}" for i in range(1, 6)] + ["t1", "t2", "t3", "t4"]
    assert kept.head(2)["sale_id"].to_pylist() == ["s1", "s2"] and kept.head(2).schema == SALES_SCHEMA
    assert spool.take(np.array([1, 8]), ["sale_id"])["sale_id"].to_pylist() == ["s1", "t1"]
    assert spool.tags(np.array([0, 6, 7, 11])).tolist() == [0, 0, 2, 2]  # the empty part holds no rows


def test_each_open_is_a_stream_of_its_own_and_two_can_be_read_side_by_side():
    table = _spool([f"s{i}" for i in range(100)]).table()
    first, second = table.open(), table.open()
    results = {}
    threads = [
        threading.Thread(target=lambda r=r, k=k: results.__setitem__(k, r.read_all())) for k, r in ((1, first), (2, second))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results[1].equals(results[2]) and results[1].num_rows == 100


def test_a_discarded_part_leaves_nothing_and_close_deletes_the_folder():
    spool = Spool(SALES_SCHEMA)
    writer = spool.part(0)
    writer.write(_sales(["a", "b"]))
    writer.discard()
    assert spool.rows == 0 and not os.path.exists(writer.path)
    table = _spool(["a"]).table()
    folder = table._folder.path
    assert os.listdir(folder)
    table.close()
    assert not os.path.exists(folder)


def test_a_spool_that_cannot_be_written_says_so():
    spool = Spool(SALES_SCHEMA)
    os.rmdir(spool._folder.path)
    with pytest.raises(SpoolError, match="cannot write the local spool"):
        spool.part(0).write(_sales(["a"]))


def test_candidates_are_every_repeat_and_null_and_nothing_else():
    hashes = KeyHashes()
    hashes.add(pa.array(["a", "b", "a", None, "c", "b"]))
    hashes.add(pa.chunked_array([pa.array(["d", None]), pa.array(["e", "c"])]))
    assert hashes.candidates().tolist() == [0, 1, 2, 3, 4, 5, 7, 9]
    keep = np.ones(10, dtype=bool)
    keep[[2, 3]] = False  # "a" no longer repeats among the kept rows; a dropped null is not looked at
    assert hashes.candidates(keep).tolist() == [1, 4, 5, 7, 9]
    hashes.truncate(6)
    assert hashes.rows == 6 and hashes.candidates().tolist() == [0, 1, 2, 3, 5]
    with pytest.raises(ValueError):
        hashes.truncate(5)


def test_colliding_hashes_cost_a_look_not_a_wrong_answer(monkeypatch):
    # Every key hashes alike: every row is a candidate, and the exact comparison sorts them out.
    monkeypatch.setattr(KeyHashes, "_hash", lambda self, keys: np.zeros(len(keys), dtype=np.uint64))
    table = _sales(["x", "y", "x", "z"])
    hashes = KeyHashes()
    hashes.add(table["sale_id"])
    maybe = hashes.candidates()
    assert maybe.tolist() == [0, 1, 2, 3]
    keys = [n for n in SALES_SCHEMA.names if n not in ("created_at", "updated_at", "sale_date", "source_file")]
    drop, clash, counts, copies = find_duplicates(table.take(pa.array(maybe)), keys, positions=maybe)
    assert drop.tolist() == [2] and clash.tolist() == [] and copies == 1


def test_many_rows_repeating_take_the_plain_path():
    ids = pa.array([f"s{i % 1000}" for i in range(5000)])
    hashes = KeyHashes()
    hashes.add(ids)
    assert hashes.candidates().tolist() == list(range(5000))
    assert len(key_hashes._members(np.arange(10, dtype=np.uint64), np.array([3, 4], dtype=np.uint64)).nonzero()[0]) == 2


def test_take_rows_picks_positions_across_batches():
    table = pa.table({"k": list(range(10))})
    picked = list(take_rows(table.to_batches(max_chunksize=3), np.array([0, 4, 5, 9])))
    assert [v for b in picked for v in b.column(0).to_pylist()] == [0, 4, 5, 9]


def test_the_spool_of_a_killed_process_is_swept_once_stale(tmp_path):
    import subprocess
    import sys
    import time

    from concert_platform.transforms.spool import STALE_AFTER_S, sweep_stale

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(gone.stdout)
    old = time.time() - STALE_AFTER_S - 60
    folders = {}
    for name, pid, touched in (("stale", dead, old), ("recent", dead, time.time()), ("live", os.getpid(), old)):
        folder = tmp_path / f"concert-spool-{pid}-{name}"
        folder.mkdir()
        (folder / "part-00000-0.arrow").write_bytes(b"x")
        os.utime(folder / "part-00000-0.arrow", (touched, touched))
        os.utime(folder, (touched, touched))
        folders[name] = folder
    (tmp_path / "unrelated").mkdir()
    assert sweep_stale(str(tmp_path)) == [str(folders["stale"])]
    assert not folders["stale"].exists() and folders["recent"].exists() and folders["live"].exists()
    assert (tmp_path / "unrelated").exists()
