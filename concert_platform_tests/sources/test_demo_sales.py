"""The landing-zone generator: layout, readability, defects, capacity, determinism, speed."""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from concert_platform.models import TicketSale
from concert_platform.sources import demo_demand as dd
from concert_platform.sources.demo import DemoCatalog
from concert_platform.sources.demo_sales import DEFECT_KINDS, NOT_JSON_LINE, seed_landing_zone, write_day_of_sales
from concert_platform.sources.landing import LandingZone
from concert_platform.storage.filesystem import open_location

ANCHOR = date(2026, 11, 1)
START = date(2026, 10, 1)  # sale days in the past, so sold_at passes the model's not-in-future rule
DAYS = 5
_STRINGS = {
    c: pa.string() for c in ("sale_id", "concert_id", "sold_at", "currency", "channel", "customer_id", "section", "app_version")
}
_FILE_CHANNELS = {"web.jsonl": ("web",), "mobile.csv": ("mobile", "box_office"), "partner.parquet": ("partner",)}


@pytest.fixture(scope="module")
def catalog() -> DemoCatalog:
    return DemoCatalog(seed=7, anchor=ANCHOR)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, catalog):
    root = tmp_path_factory.mktemp("landing")
    summary = seed_landing_zone(LandingZone(open_location(str(root))), catalog, START, DAYS, sales_per_day=3000)
    return root, summary


def _read_day(folder) -> list[tuple[str, object]]:
    """(file name, record dict or the raw line when it is not JSON) for every line/row of a day."""
    rows = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.endswith(".jsonl"):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    try:
                        rows.append((name, json.loads(line)))
                    except json.JSONDecodeError:
                        rows.append((name, line))
        elif name.endswith(".csv"):
            options = pacsv.ConvertOptions(column_types=_STRINGS, strings_can_be_null=True)
            rows += [(name, r) for r in pacsv.read_csv(path, convert_options=options).to_pylist()]
        elif name != "corrupt.parquet":
            rows += [(name, {**r, "unit_price": float(r["unit_price"])}) for r in pq.read_table(path).to_pylist()]
    return rows


@pytest.fixture(scope="module")
def records(seeded) -> dict[str, list[tuple[str, object]]]:
    root, summary = seeded
    return {day: _read_day(root / "ticket_sales" / day) for day in summary.days}


def _is_clean(day: str, rec: dict, catalog) -> bool:
    if not isinstance(rec, dict) or not rec.get("sale_id") or rec["concert_id"] not in catalog.event_by_id:
        return False
    if not 1 <= rec["quantity"] <= 20 or rec["unit_price"] < 0:
        return False
    if not re.match(r"^[A-Z]{3}$", rec["currency"]) or rec["currency"] == "XYZ":
        return False
    sold = datetime.fromisoformat(rec["sold_at"])
    return sold.tzinfo is not None and sold.astimezone(UTC).date().isoformat() == day


def test_layout_and_every_file_readable(seeded, records):
    root, summary = seeded
    zone = LandingZone(open_location(str(root)))
    listed = zone.sale_files()
    middle = (START + timedelta(days=DAYS // 2)).isoformat()
    expected = {(d, n) for d in summary.days for n in _FILE_CHANNELS} | {(middle, "corrupt.parquet")}
    assert {(f.day, f.name) for f in listed} == expected
    assert {f.format for f in listed} == {"jsonl", "csv", "parquet"}
    for day in summary.days:
        folder = root / "ticket_sales" / day
        assert pq.read_table(folder / "partner.parquet").num_rows > 0
        assert pacsv.read_csv(folder / "mobile.csv").num_rows > 0
        assert sum(1 for _, r in records[day] if isinstance(r, str)) == 1  # one non-JSON line per jsonl
    with pytest.raises(pa.ArrowInvalid):
        pq.read_table(root / "ticket_sales" / middle / "corrupt.parquet")
    assert summary.records == sum(len(r) for r in records.values())


def test_capacity_reference_file(seeded, catalog):
    root, summary = seeded
    table = pacsv.read_csv(root / "reference" / "venue_capacities.csv")
    assert table.column_names == ["venue_id", "capacity", "source"]
    assert summary.capacities_written == table.num_rows and 0.8 * 150 <= table.num_rows <= 0.97 * 150
    bounds = {"club": (200, 2000), "theatre": (1500, 5000), "arena": (10_000, 25_000), "stadium": (40_000, 80_000)}
    for venue_id, capacity in zip(table["venue_id"].to_pylist(), table["capacity"].to_pylist(), strict=True):
        low, high = bounds[catalog.venue_by_id[venue_id].kind]
        assert low <= capacity <= high


def test_every_defect_kind_is_present_and_counted(seeded, records, catalog):
    _, summary = seeded
    assert all(summary.defects[kind] >= 1 for kind in DEFECT_KINDS)
    found = Counter()
    for day, rows in records.items():
        lines = Counter((name, json.dumps(r, sort_keys=True, default=str)) for name, r in rows)
        found["exact_duplicate"] += sum(count - 1 for count in lines.values())
        by_id = defaultdict(set)
        for _name, r in rows:
            if isinstance(r, str):
                found["not_json"] += r.strip() == NOT_JSON_LINE
                continue
            by_id[r.get("sale_id")].add(json.dumps(r, sort_keys=True, default=str))
            found["quantity_out_of_range"] += r["quantity"] in (0, 25)
            found["negative_price"] += r["unit_price"] < 0
            found["bad_currency"] += r["currency"] in ("XYZ",) or r["currency"].islower()
            found["unknown_concert"] += r["concert_id"] not in catalog.event_by_id
            found["missing_sale_id"] += not r.get("sale_id")
            sold = datetime.fromisoformat(r["sold_at"])
            found["sold_at_without_offset"] += sold.tzinfo is None
            found["sold_at_other_day"] += sold.tzinfo is not None and sold.astimezone(UTC).date().isoformat() != day
        found["duplicate_sale_id"] += sum(len(v) - 1 for k, v in by_id.items() if k)
    assert found == Counter({k: v for k, v in summary.defects.items() if k != "corrupt_file"})
    defective = sum(v for k, v in summary.defects.items() if k not in ("not_json", "corrupt_file"))
    assert 0.005 < defective / summary.records < 0.03


def test_model_rejects_exactly_the_row_defects_it_can_see(seeded, records):
    _, summary = seeded
    failures, extra_fields = 0, 0
    for rows in records.values():
        for _, r in rows:
            if isinstance(r, str):
                continue
            extra_fields += bool({"promo_code", "app_version", "partner_ref"} & set(r))
            try:
                TicketSale.model_validate(r)
            except ValidationError:
                failures += 1
    visible = ("quantity_out_of_range", "negative_price", "bad_currency", "sold_at_without_offset", "missing_sale_id")
    assert failures == sum(summary.defects[k] for k in visible)
    assert extra_fields > 0


def test_clean_sales_follow_the_catalog(records, catalog):
    world = dd.demand_world(catalog)
    index = {concert_id: i for i, concert_id in enumerate(world.ids)}
    checked = 0
    for day, rows in records.items():
        ids = Counter(r.get("sale_id") for _, r in rows if isinstance(r, dict))
        for name, r in rows:
            if not _is_clean(day, r, catalog) or ids[r["sale_id"]] > 1:
                continue
            event = catalog.event_by_id[r["concert_id"]]
            sold = datetime.fromisoformat(r["sold_at"])
            # inside the show's selling window: on-sale to the show, or to its cancellation or postponement
            i = index[r["concert_id"]]
            assert world.sale_start[i] <= sold.timestamp() < world.sale_stop[i] <= event.starts_at.timestamp()
            zone = ZoneInfo(event.venue.timezone)
            assert sold.utcoffset() == sold.astimezone(zone).utcoffset()
            assert r["currency"] == event.currency
            if event.price and event.price[1] > 0:
                assert event.price[0] <= r["unit_price"] <= event.price[1]
            assert r["channel"] in _FILE_CHANNELS[name]
            assert re.match(rf"^S-{day.replace('-', '')}-{r['channel']}-\d{{7}}$", r["sale_id"])
            checked += 1
    assert checked > 0.95 * sum(len(r) for r in records.values())


def test_capacity_is_never_exceeded_and_shows_sell_out(tmp_path, catalog):
    began = time.perf_counter()
    summary = seed_landing_zone(LandingZone(open_location(str(tmp_path))), catalog, START, 14, defect_rate=0.0)
    assert time.perf_counter() - began < 20  # a few seconds on two cores; generous for busy machines
    assert summary.defects == dict.fromkeys(DEFECT_KINDS, 0) and summary.records > 14 * 15_000
    tickets = Counter()
    for day in summary.days:
        for _, r in _read_day(tmp_path / "ticket_sales" / day):
            tickets[r["concert_id"]] += r["quantity"]
    assert sum(tickets.values()) == summary.tickets
    # what each show sold before the first seeded day is in no file, but counts against its capacity
    world = dd.demand_world(catalog)
    before = dict(zip(world.ids, dd.sold_before(world, START), strict=True))
    for concert_id, sold in tickets.items():
        assert before[concert_id] + sold <= catalog.event_by_id[concert_id].venue.capacity
    sold_out_here = [c for c in summary.sold_out if tickets[c]]
    assert sold_out_here
    for concert_id in summary.sold_out:  # sold out exactly, before the first day or during the seeded ones
        assert before[concert_id] + tickets[concert_id] == catalog.event_by_id[concert_id].venue.capacity


def test_same_inputs_give_byte_identical_files(tmp_path, catalog):
    def tree(root):
        return {
            os.path.relpath(os.path.join(d, f), root): open(os.path.join(d, f), "rb").read()
            for d, _, files in os.walk(root)
            for f in files
        }

    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        zone = LandingZone(open_location(str(tmp_path / name)))
        seed_landing_zone(zone, catalog, START, 3, sales_per_day=1500, seed=seed)
    a, b, c = tree(tmp_path / "a"), tree(tmp_path / "b"), tree(tmp_path / "c")
    assert a == b and len(a) == 1 + 3 * 3 + 1
    assert a.keys() == c.keys() and a != c


def test_one_big_day_in_jsonl(tmp_path, catalog):
    zone = LandingZone(open_location(str(tmp_path)))
    clean = write_day_of_sales(zone, catalog, date(2026, 11, 3), 50_000, defect_rate=0.0)
    path = tmp_path / "ticket_sales" / "2026-11-03" / "sales.jsonl"
    assert clean.files == [str(path)] and clean.records == 50_000
    table = pajson.read_json(path)
    assert table.num_rows == 50_000 and set(table["channel"].to_pylist()) == {"web", "mobile", "box_office", "partner"}
    assert len(set(table["sale_id"].to_pylist())) == 50_000
    spoiled = write_day_of_sales(zone, catalog, date(2026, 11, 4), 50_000)
    assert spoiled.records == 50_000 + spoiled.defects["exact_duplicate"] + 1
    assert all(spoiled.defects[k] >= 1 for k in DEFECT_KINDS if k != "corrupt_file")


def test_seeds_an_s3_landing_zone(s3_bucket, aws_env, catalog):
    location = open_location(f"s3://{s3_bucket}/landing", endpoint_url=aws_env)
    zone = LandingZone(location)
    summary = seed_landing_zone(zone, catalog, START, 1, sales_per_day=500)
    assert {f.name for f in zone.sale_files(START.isoformat())} == {*_FILE_CHANNELS, "corrupt.parquet"}
    with zone.open(zone.reference_path("venue_capacities.csv")) as f:
        assert f.read().startswith(b'"venue_id","capacity","source"')
    assert summary.records > 400


def test_days_before_any_show_goes_on_sale_are_seeded_as_empty_files(tmp_path):
    # `DEMO_DAYS=500 make run`: the days start before the demo world's first sale.
    from concert_platform.transforms.ticket_sales import load_sales_partition

    anchor = date(2026, 11, 20)
    zone = LandingZone(open_location(str(tmp_path)))
    first = anchor - timedelta(days=500)
    summary = seed_landing_zone(zone, DemoCatalog(seed=7, anchor=anchor), first, 3, sales_per_day=500, defect_rate=0)
    assert summary.records == 0 and {f.day for f in zone.sale_files()} == {
        (first + timedelta(days=i)).isoformat() for i in range(3)
    }
    day = load_sales_partition(zone, first.isoformat(), {"C-1"})
    assert day.valid.num_rows == day.rejects.num_rows == 0 and day.stats["files"] == 3
