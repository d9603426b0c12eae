"""Seeded ticket-sale files for the landing zone, defects included.

Sales are the demo world's (``demo_demand``): every show's true demand,
sold along its booking curve from the public on-sale to the show (a rush as
the sale opens, 57% in the final week), stopped or shifted for cancelled,
postponed and rescheduled shows, and never past the venue's capacity: a show
whose demand passes it sells out and stops. Each day lands as ``web.jsonl``, ``mobile.csv`` (mobile and box office) and
``partner.parquet``, the way three partners would drop them.

About ``defect_rate`` of the rows in every file carry one defect each, every
kind in every file (see ``ROW_DEFECTS``); each ``web.jsonl`` also holds one
line that is not JSON, and the middle day gets a ``corrupt.parquet`` of
garbage. All draws come from numpy Generators seeded by (seed, day): the same
inputs give byte-identical files. Work is columnar (numpy + pyarrow compute)
so a million rows take a couple of seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from concert_platform.sources import demo_demand as dd
from concert_platform.sources.demo import DemoCatalog
from concert_platform.sources.demo_payloads import VENUE_KINDS, token
from concert_platform.sources.landing import VENUE_CAPACITIES, LandingZone

DAY = 86_400
CHANNELS = ("web", "mobile", "box_office", "partner")
CHANNEL_SHARE = (0.50, 0.30, 0.05, 0.15)
SPLIT_FILES = {"web.jsonl": (0,), "mobile.csv": (1, 2), "partner.parquet": (3,)}
ROW_DEFECTS = (
    "quantity_out_of_range",
    "negative_price",
    "bad_currency",
    "unknown_concert",
    "sold_at_other_day",
    "sold_at_without_offset",
    "missing_sale_id",
    "exact_duplicate",
    "duplicate_sale_id",
)
DEFECT_KINDS = ROW_DEFECTS + ("not_json", "corrupt_file")
NOT_JSON_LINE = "#### upload interrupted: connection reset by peer ####"
_SECTIONS = {
    "club": ("GA", "Balcony"),
    "theatre": ("Stalls", "Circle", "Balcony", "Orchestra"),
    "arena": ("Floor A", "Floor B", "Lower 101", "Lower 112", "Upper 204", "Upper 215"),
    "stadium": ("Pitch", "Field", "Block A", "Block K", "Upper 310"),
}
_KINDS = tuple(VENUE_KINDS)
Orders = tuple[np.ndarray, np.ndarray, np.ndarray]  # show index, quantity, second of the UTC day


@dataclass
class SeedSummary:
    days: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # paths inside the zone's filesystem
    records: int = 0  # lines/rows in sale files, defective ones included (corrupt.parquet not counted)
    defects: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DEFECT_KINDS, 0))
    capacities_written: int = 0
    tickets: int = 0  # tickets the generator sold (duplicated lines not counted twice)
    sold_out: list[str] = field(default_factory=list)  # concert ids that hit capacity


class _Market:
    """The demo world's dated shows as columns, and how many tickets each has sold so far."""

    def __init__(self, catalog: DemoCatalog, seed: int):
        events = dd.dated_events(catalog)
        self.world = dd.demand_world(catalog, seed)
        self.venues = catalog.venues
        vindex = {v.id: i for i, v in enumerate(self.venues)}
        self.ids = pa.array(self.world.ids, pa.string())
        self.known_ids = set(catalog.event_by_id)
        self.venue = np.array([vindex[e.venue.id] for e in events], dtype=np.int64)
        self.kind = np.array([_KINDS.index(e.venue.kind) for e in events], dtype=np.int64)
        ranges = [dd.price_range(e) for e in events]
        self.price_lo = np.array([r[0] for r in ranges], dtype=float)
        self.price_hi = np.array([r[1] for r in ranges], dtype=float)
        self.currency = pa.array([e.currency for e in events], pa.string())
        self.sold = np.zeros(len(events), dtype=np.int64)

    def sell_from(self, day: date) -> None:
        """Start at ``day`` with what each show sold before it (sales no file holds), so capacity still binds."""
        self.sold = dd.sold_before(self.world, day)

    def sample(self, day: date, rng: np.random.Generator) -> Orders:
        """The world's own orders on ``day`` (dd.sample_day), counted as sold."""
        sales = dd.sample_day(self.world, day, self.sold, rng)
        self.sold += sales.tickets
        return sales.show, sales.quantity, sales.second

    def draw(self, day: date, n: int, rng: np.random.Generator) -> Orders:
        """About ``n`` orders on ``day``, spread over the shows as the world's demand that day is, within capacity.

        For benchmarks, which need a day of any size; ``sample`` gives the world's own tens of thousands."""
        world, d0 = self.world, dd.day_start(day)
        lo = np.clip(world.sale_start - d0, 0, DAY)
        hi = np.clip(np.minimum(world.sale_stop, d0 + DAY) - d0, 0, DAY)
        weight = np.where(hi > lo, np.maximum(dd.expected_tickets(world, day), 0.0), 0.0)
        if weight.sum() <= 0:  # the world sells nothing that day: spread over the shows on sale, by demand
            weight = np.where(hi > lo, world.demand, 0.0)
        events, quantities, need = [], [], n
        for _ in range(4):  # redraw what sold-out shows could not take, so ``n`` is met when capacity allows
            weight[self.sold >= world.capacity] = 0.0
            if need <= 0 or weight.sum() <= 0:
                break
            counts = rng.multinomial(need, weight / weight.sum())
            ev = np.repeat(np.arange(len(counts)), counts)
            sizes = rng.choice(dd.ORDER_SIZES, size=len(ev), p=dd.ORDER_SIZE_P)
            q = dd.fit_orders(ev, sizes, counts, world.capacity - self.sold)
            ev, q = ev[q > 0], q[q > 0]
            self.sold += np.bincount(ev, weights=q, minlength=len(self.sold)).astype(np.int64)
            events.append(ev)
            quantities.append(q)
            need -= len(ev)
        ev = np.concatenate(events) if events else np.zeros(0, dtype=np.int64)
        q = np.concatenate(quantities) if quantities else np.zeros(0, dtype=np.int64)
        second = lo[ev] + np.floor(rng.random(len(ev)) * (hi - lo)[ev]).astype(np.int64)
        order = np.lexsort((ev, second))
        return ev[order], q[order], second[order]

    @property
    def sold_out(self) -> list[str]:
        return sorted(self.ids.filter(pa.array(self.sold >= self.world.capacity)).to_pylist())


def _utc_offsets(market: _Market, d0: int) -> np.ndarray:
    """Offset in seconds of every venue at every UTC hour of the day (DST switches on the hour)."""
    table = np.zeros((len(market.venues), 24), dtype=np.int64)
    for i, venue in enumerate(market.venues):
        zone = ZoneInfo(venue.timezone)
        for hour in range(24):
            moment = datetime.fromtimestamp(d0 + hour * 3600, UTC).astimezone(zone)
            table[i, hour] = int(moment.utcoffset().total_seconds())
    return table


def _offset_text(seconds: np.ndarray) -> pa.Array:
    sign = np.where(seconds < 0, "-", "+")
    hours, minutes = np.abs(seconds) // 3600, np.abs(seconds) % 3600 // 60
    # Typed: a day with no sales (no show on sale yet) has no offsets, and an untyped empty array is null-typed.
    return pa.array([f"{s}{h:02d}:{m:02d}" for s, h, m in zip(sign, hours, minutes, strict=True)], pa.string())


def _sales_table(market: _Market, day: date, orders: Orders, rng: np.random.Generator) -> pa.Table:
    d0 = dd.day_start(day)
    ev, quantity, second = orders
    rows = len(ev)
    offsets = _utc_offsets(market, d0)[market.venue[ev], second // 3600]
    unique_offsets, offset_index = np.unique(offsets, return_inverse=True)
    local = pa.array((np.datetime64(day, "s") + second + offsets).astype("datetime64[s]"))
    sold_at = pc.binary_join_element_wise(
        pc.utf8_replace_slice(pc.cast(local, pa.string()), 10, 11, "T"), _offset_text(unique_offsets).take(offset_index), ""
    )
    channel = rng.choice(len(CHANNELS), size=rows, p=CHANNEL_SHARE)
    serial = np.zeros(rows, dtype=np.int64)
    for c in range(len(CHANNELS)):
        serial[channel == c] = np.arange(1, int((channel == c).sum()) + 1)
    prefixes = pa.array([f"S-{day:%Y%m%d}-{c}-" for c in CHANNELS]).take(channel)
    sale_id = pc.binary_join_element_wise(prefixes, pc.utf8_lpad(pc.cast(pa.array(serial), pa.string()), 7, "0"), "")
    # whole cents inside the event's range; four price tiers, except partners who sometimes pass on 4 decimals
    lo, hi = np.ceil(market.price_lo[ev] * 100 - 1e-6), np.floor(market.price_hi[ev] * 100 + 1e-6)
    tier_price = np.rint(lo + (hi - lo) * rng.integers(0, 4, rows) / 3) * 100
    exact = (channel == 3) & (rng.random(rows) < 0.1)
    price_e4 = np.where(exact, lo * 100 + np.floor((hi - lo) * 100 * rng.random(rows)), tier_price)
    kinds = market.kind[ev]
    names = [s for k in _KINDS for s in _SECTIONS[k]]
    first = np.cumsum([0] + [len(_SECTIONS[k]) for k in _KINDS])[:-1]
    width = np.array([len(_SECTIONS[k]) for k in _KINDS])
    section = pa.array(names).take(first[kinds] + np.floor(rng.random(rows) * width[kinds]).astype(np.int64))
    customer = pc.binary_join_element_wise("C-", pc.cast(pa.array(rng.integers(1, 500_000, rows)), pa.string()), "")
    return pa.table(
        {
            "sale_id": sale_id,
            "concert_id": market.ids.take(ev),
            "sold_at": sold_at,
            "quantity": pa.array(quantity, pa.int64()),
            "unit_price": pa.array(price_e4 / 10_000),
            "currency": market.currency.take(ev),
            "channel": pa.array(CHANNELS).take(channel),
            "customer_id": _null_where(customer, rng.random(rows) < 0.25),
            "section": _null_where(section, rng.random(rows) < 0.2),
        }
    )


def _null_where(values: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


# ---- defects ---------------------------------------------------------------------------------


def _apply_defects(
    table: pa.Table, rng: np.random.Generator, rate: float, tag: str, market: _Market, counts: dict[str, int]
) -> pa.Table:
    """Spoil about ``rate`` of the rows, one defect per row, every kind at least once."""
    n = table.num_rows
    k = max(len(ROW_DEFECTS), round(rate * n)) if rate > 0 else 0
    kinds = np.arange(k) % len(ROW_DEFECTS)
    n_donors = int((kinds == ROW_DEFECTS.index("duplicate_sale_id")).sum())
    if k == 0 or n < 2 * k + n_donors:
        return table  # too few rows to spoil without spoiling everything
    picked = rng.choice(n, size=k + n_donors, replace=False)
    rows, originals = picked[:k], table.take(pa.array(picked)).to_pylist()
    donors = iter(originals[k:])
    edits: dict[str, dict[int, object]] = {}
    for i, (row, kind) in enumerate(zip(rows.tolist(), kinds.tolist(), strict=True)):
        rec, name = originals[i], ROW_DEFECTS[kind]
        counts[name] += 1
        if name == "quantity_out_of_range":
            edits.setdefault("quantity", {})[row] = 0 if i % 2 else 25
        elif name == "negative_price":
            edits.setdefault("unit_price", {})[row] = -(rec["unit_price"] or 5.0)
        elif name == "bad_currency":
            edits.setdefault("currency", {})[row] = "XYZ" if i % 2 else rec["currency"].lower()
        elif name == "unknown_concert":
            ghost = "vvG1" + token("ghost", tag, i, length=10)
            edits.setdefault("concert_id", {})[row] = ghost if ghost not in market.known_ids else ghost + "X"
        elif name == "sold_at_other_day":
            shift = timedelta(days=(1 + i % 3) * (1 if i % 2 else -1))
            edits.setdefault("sold_at", {})[row] = (datetime.fromisoformat(rec["sold_at"]) + shift).isoformat()
        elif name == "sold_at_without_offset":
            edits.setdefault("sold_at", {})[row] = rec["sold_at"][:19]
        elif name == "missing_sale_id":
            edits.setdefault("sale_id", {})[row] = None
        elif name == "duplicate_sale_id":  # another, different sale's id: the two records collide
            edits.setdefault("sale_id", {})[row] = next(donors)["sale_id"]
    for column, changes in edits.items():
        at = sorted(changes)
        mask = np.zeros(n, dtype=bool)
        mask[at] = True
        values = table.column(column).combine_chunks()
        replaced = pc.replace_with_mask(values, pa.array(mask), pa.array([changes[r] for r in at], values.type))
        table = table.set_column(table.schema.get_field_index(column), column, replaced)
    repeated = np.sort(rows[kinds == ROW_DEFECTS.index("exact_duplicate")])
    return table.take(np.insert(np.arange(n), repeated + 1, repeated))  # the same line again, right after


# ---- writing ---------------------------------------------------------------------------------


def _jsonl_bytes(table: pa.Table, rng: np.random.Generator, not_json: bool) -> tuple[bytes, int]:
    """NDJSON assembled column-wise: every value is an id, code or number we made, so no escaping is needed."""
    join = pc.binary_join_element_wise

    def optional(key: str, values) -> pa.ChunkedArray:  # absent keys, as partners leave them out
        return pc.coalesce(join(f',"{key}":"', values, '"', ""), "")

    table, n = table.combine_chunks(), table.num_rows  # joins run ~30% faster on single chunks
    lines = join(
        "{",
        pc.coalesce(join('"sale_id":"', table["sale_id"], '",', ""), ""),
        '"concert_id":"',
        table["concert_id"],
        '","sold_at":"',
        table["sold_at"],
        '","quantity":',
        pc.cast(table["quantity"], pa.string()),
        ',"unit_price":',
        pc.cast(table["unit_price"], pa.string()),
        ',"currency":"',
        table["currency"],
        '","channel":"',
        table["channel"],
        '"',
        optional("customer_id", table["customer_id"]),
        optional("section", table["section"]),
        optional("promo_code", table["promo_code"]),
        "}\n",
        "",
    )
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    if n == 0:
        return b"", 0
    # the string buffer already is the file, every line ending in a newline: splice the bad line in, copy once
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset : lines.offset + n + 1]
    text, at = memoryview(lines.buffers()[2]), int(offsets[int(rng.integers(0, n + 1))])
    bad = (NOT_JSON_LINE + "\n").encode() if not_json else b""
    return b"".join((text[offsets[0] : at], bad, text[at : offsets[-1]])), n + bool(not_json)


def _csv_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink)
    return sink.getvalue().to_pybytes()


def _with_extra_field(table: pa.Table, name: str, rng: np.random.Generator) -> pa.Table:
    """Each partner adds a field the contract does not know (added before defects, so duplicates stay exact)."""
    n = table.num_rows
    if name.endswith(".jsonl"):
        promo = pa.array(["SUMMER10", "FANCLUB"]).take(rng.integers(0, 2, n))
        return table.append_column("promo_code", _null_where(promo, rng.random(n) >= 0.02))
    if name.endswith(".csv"):
        version = pa.array(["5.12.0", "5.13.1"]).take(rng.integers(0, 2, n))
        return table.append_column("app_version", _null_where(version, rng.random(n) < 0.7))
    reference = pc.binary_join_element_wise("P", pc.cast(pa.array(np.arange(n)), pa.string()), "")
    return table.append_column("partner_ref", reference)


def _write_file(zone: LandingZone, path: str, table: pa.Table, rng: np.random.Generator, not_json: bool) -> int:
    if path.endswith(".jsonl"):
        data, lines = _jsonl_bytes(table, rng, not_json)
        zone.write_bytes(path, data)
        return lines
    if path.endswith(".csv"):
        zone.write_bytes(path, _csv_bytes(table))
        return table.num_rows
    # the partner's own types: narrower ints and exact decimals
    table = table.set_column(3, "quantity", pc.cast(table["quantity"], pa.int32()))
    table = table.set_column(4, "unit_price", pc.cast(table["unit_price"], pa.decimal128(12, 4)))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    zone.write_bytes(path, sink.getvalue().to_pybytes())
    return table.num_rows


def _write_day(
    zone: LandingZone,
    market: _Market,
    day: date,
    orders: Orders,
    rng: np.random.Generator,
    layout: dict[str, tuple[int, ...]],
    rate: float,
    summary: SeedSummary,
) -> None:
    table = _sales_table(market, day, orders, rng)
    summary.days.append(day.isoformat())
    summary.tickets += int(pc.sum(table["quantity"]).as_py() or 0)
    folder = zone.sales_folder(day.isoformat())
    for name, channels in layout.items():
        part = (
            table
            if len(channels) == len(CHANNELS)
            else table.filter(pc.is_in(table["channel"], value_set=pa.array([CHANNELS[c] for c in channels])))
        )
        part = _apply_defects(_with_extra_field(part, name, rng), rng, rate, f"{day}/{name}", market, summary.defects)
        not_json = rate > 0 and part.num_rows > 0
        summary.records += _write_file(zone, f"{folder}/{name}", part, rng, not_json)
        summary.defects["not_json"] += int(not_json and name.endswith(".jsonl"))
        summary.files.append(f"{folder}/{name}")


def _write_capacities(zone: LandingZone, catalog: DemoCatalog, seed: int) -> int:
    rng = np.random.default_rng([seed, 0])  # day ordinals start at 1, so no day shares this stream
    listed = sorted(
        (v for v, keep in zip(catalog.venues, rng.random(len(catalog.venues)) < 0.9, strict=True) if keep), key=lambda v: v.id
    )
    sources = pa.array(["venue website", "promoter survey", "manual entry"]).take(rng.integers(0, 3, len(listed)))
    table = pa.table(
        {"venue_id": [v.id for v in listed], "capacity": pa.array([v.capacity for v in listed], pa.int64()), "source": sources}
    )
    zone.write_bytes(zone.reference_path(VENUE_CAPACITIES), _csv_bytes(table))
    return len(listed)


def seed_landing_zone(
    zone: LandingZone,
    catalog: DemoCatalog,
    start: date,
    days: int,
    *,
    sales_per_day: int | None = None,
    defect_rate: float = 0.01,
    seed: int = 7,
) -> SeedSummary:
    """Write the capacity reference and ``days`` days of the world's sales from ``start`` (UTC sale dates).

    Shows that went on sale before ``start`` carry what they sold before it, so capacity binds as in the
    world; those earlier sales are in no file. ``sales_per_day`` keeps about that many of each day's orders
    (a random sample), for tests that want small days: sampled files no longer add up to the world's demand.
    """
    summary = SeedSummary(capacities_written=_write_capacities(zone, catalog, seed))
    summary.files.append(zone.reference_path(VENUE_CAPACITIES))
    market = _Market(catalog, seed)
    market.sell_from(start)
    for i in range(days):
        day = start + timedelta(days=i)
        rng = np.random.default_rng([seed, day.toordinal()])
        orders = market.sample(day, rng)
        if sales_per_day is not None and len(orders[0]) > sales_per_day:
            keep = np.sort(rng.choice(len(orders[0]), size=sales_per_day, replace=False))
            orders = tuple(column[keep] for column in orders)
        _write_day(zone, market, day, orders, rng, SPLIT_FILES, defect_rate, summary)
        if defect_rate > 0 and i == days // 2:
            path = f"{zone.sales_folder(day.isoformat())}/corrupt.parquet"
            zone.write_bytes(path, b"PAR1" + rng.bytes(2048))  # magic up front, no footer: unreadable as a whole
            summary.files.append(path)
            summary.defects["corrupt_file"] += 1
    summary.sold_out = market.sold_out
    return summary


def write_day_of_sales(
    zone: LandingZone,
    catalog: DemoCatalog,
    day: date,
    n_sales: int,
    *,
    defect_rate: float = 0.01,
    seed: int = 7,
    split_by_channel: bool = False,
) -> SeedSummary:
    """One (big) day on its own, every show starting unsold: ``sales.jsonl`` with all channels,
    or the three partner files with ``split_by_channel``. Meant for benchmarks (1M rows in seconds)."""
    summary, market = SeedSummary(), _Market(catalog, seed)
    layout = SPLIT_FILES if split_by_channel else {"sales.jsonl": tuple(range(len(CHANNELS)))}
    rng = np.random.default_rng([seed, day.toordinal()])
    _write_day(zone, market, day, market.draw(day, n_sales, rng), rng, layout, defect_rate, summary)
    summary.sold_out = market.sold_out
    return summary
