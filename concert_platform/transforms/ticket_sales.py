"""One day of ticket sales from the landing zone: read, validate, de-duplicate.

Files are read in bounded batches and validated column-wise against
TicketSale; only rejected rows touch Python one at a time. Each batch's valid
rows go to a local spool (`transforms.spool`) as soon as they are checked, and
only their sale_ids' 64-bit hashes stay in memory (`transforms.key_hashes`), so
memory holds one batch, not the day: a day of 10M sales is published from the
spool as a stream. Sale_ids are de-duplicated over the whole day at the end,
reading back only the rows whose sale_id may repeat.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from concert_platform.models import TicketSale
from concert_platform.models import base as model_base
from concert_platform.sources.landing import LandingFile, LandingZone
from concert_platform.transforms.key_hashes import KeyHashes
from concert_platform.transforms.landing_state import files_digest
from concert_platform.transforms.sale_files import Batch, UnparseableFile, prefetched, sale_batches
from concert_platform.transforms.spool import PartWriter, Spool, SpooledTable
from concert_platform.validation import (
    arrow_schema,
    model_plan,
    record_json,
    reject_reason,
    rejects_table,
    table_records,
    validate_records,
    validate_table,
)

ENTITY = "ticket_sales"
SALES_SCHEMA = (
    arrow_schema(TicketSale)
    .append(pa.field("sale_date", pa.date32(), nullable=False))
    .append(pa.field("source_file", pa.string(), nullable=False))
)
_LOAD_FIELDS = ("created_at", "updated_at")  # ours to set: one load timestamp, whatever a file says
_FIELDS = tuple(TicketSale.model_fields)
_TEXT = tuple(f.name for f in model_plan(TicketSale).fields if f.kind in ("datetime", "date", "time"))
_KEYS = [f for f in _FIELDS if f not in _LOAD_FIELDS]  # what makes two records of a sale_id the same


@dataclass
class SalesPartition:
    valid: pa.Table  # SALES_SCHEMA
    rejects: pa.Table  # REJECTS_SCHEMA
    stats: dict = field(default_factory=dict)


@dataclass
class SpooledSalesPartition:
    """A day loaded without holding it: its valid rows stay in a local spool until published."""

    valid: SpooledTable  # SALES_SCHEMA
    rejects: pa.Table  # REJECTS_SCHEMA
    stats: dict = field(default_factory=dict)

    def close(self) -> None:
        self.valid.close()


def spool_sales_partition(
    zone: LandingZone,
    day: str,
    known_concert_ids: set[str] | pa.Array | pa.ChunkedArray,
    *,
    batch_rows: int = 250_000,
    loaded_at: datetime | None = None,
) -> SpooledSalesPartition:
    """``loaded_at`` (default: now) stamps created_at, updated_at and rejected_at alike."""
    run = _Load(day, known_concert_ids, loaded_at or model_base.utc_now(), batch_rows)
    files = zone.sale_files(day)
    for index, file in enumerate(files):
        run.load_file(zone, index, file)
    return run.finish(files)


def load_sales_partition(
    zone: LandingZone,
    day: str,
    known_concert_ids: set[str] | pa.Array | pa.ChunkedArray,
    *,
    batch_rows: int = 250_000,
    loaded_at: datetime | None = None,
) -> SalesPartition:
    """`spool_sales_partition` with the valid rows read into one table: for days that fit in memory."""
    spooled = spool_sales_partition(zone, day, known_concert_ids, batch_rows=batch_rows, loaded_at=loaded_at)
    try:
        return SalesPartition(spooled.valid.read(), spooled.rejects, spooled.stats)
    finally:
        spooled.close()


class _Load:
    def __init__(self, day: str, known, loaded_at: datetime, batch_rows: int):
        self.day, self.loaded_at, self.batch_rows = day, loaded_at, batch_rows
        self.day_value = date.fromisoformat(day)
        if isinstance(known, (pa.Array, pa.ChunkedArray)):
            self.known = pc.unique(known.cast(pa.string()))
        else:
            self.known = pa.array(sorted(known), pa.string())
        self.defaults = dict.fromkeys(_LOAD_FIELDS, loaded_at)
        self.spool = Spool(SALES_SCHEMA)
        self.sale_ids = KeyHashes()  # of every spooled row, in spool order
        self.rejects: list[dict] = []
        self.unparseable: list[str] = []
        self.rows_read = 0

    def load_file(self, zone: LandingZone, index: int, file: LandingFile) -> None:
        # A file's results are kept only once it has been read to the end, so a
        # failure half-way never leaves half a file behind.
        part, rejects, hashed = self.spool.part(index), [], self.sale_ids.rows
        try:
            batches = prefetched(sale_batches(zone, file, self.batch_rows, _FIELDS, _TEXT))
            rows = self._read(file, batches, part, rejects)
        except (UnparseableFile, pa.ArrowException, ValueError, OSError) as exc:
            self._forget(part, hashed)
            return self._unparseable(file, " ".join(str(exc).split()))
        except BaseException:  # the spool's own failures (SpoolError) among them: not the file's fault
            self._forget(part, hashed)
            raise
        if rows and len(rejects) == rows and all(r["_reason"] == "invalid JSON line" for r in rejects):
            self._forget(part, hashed)
            return self._unparseable(file, "no line is a JSON object")
        part.commit()
        self.rejects += rejects
        self.rows_read += rows

    def _forget(self, part: PartWriter, hashed: int) -> None:
        part.discard()
        self.sale_ids.truncate(hashed)

    def _unparseable(self, file: LandingFile, error: str) -> None:
        self.unparseable.append(file.name)
        self.rejects.append(
            self._reject(file.name, {"file": file.name}, f"cannot parse {file.name}: {error}", "unparseable file")
        )

    def _read(self, file: LandingFile, batches, part: PartWriter, rejects: list) -> int:
        rows = 0
        for batch in batches:
            rows += batch.num_rows + len(batch.bad_rows)
            for bad in batch.bad_rows:
                rejects.append(self._reject(file.name, {"line": bad.line, "text": bad.text}, bad.error, bad.reason))
            if batch.num_rows:
                valid = self._check(file, batch, rejects)
                part.write(valid)
                self.sale_ids.add(valid["sale_id"])
        return rows

    def _check(self, file: LandingFile, batch: Batch, rejects: list) -> pa.Table:
        """Validate one batch; returns its valid rows."""
        # Rows numbered as the reader numbers them (from 1), for rejects of values no warehouse can store.
        args = dict(entity=ENTITY, partition_key=self.day, source=file.name, defaults=self.defaults, rows=batch.row_numbers() + 1)
        if batch.table is not None:
            table = batch.table.drop_columns([c for c in _LOAD_FIELDS if c in batch.table.column_names])
            result = validate_table(TicketSale, table, **args)
        else:
            records = [{k: v for k, v in r.items() if k not in _LOAD_FIELDS} for r in batch.records]
            result = validate_records(TicketSale, records, **args)
        for reject in result.rejects.to_pylist():
            rejects.append({**reject, "_reason": reject_reason(reject["error"])})

        valid, at = result.valid, result.source_rows
        known = pc.is_in(valid["concert_id"], value_set=self.known)
        on_day = pc.equal(pc.cast(valid["sold_at"], pa.date32()), pa.scalar(self.day_value, pa.date32()))
        good = pc.and_(known, on_day).to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(~good):
            sale = valid.slice(int(i), 1).to_pylist()[0]
            if not known[int(i)].as_py():
                error, reason = f"concert_id {sale['concert_id']!r} is not a known concert", "unknown concert_id"
            else:
                sold_at = sale["sold_at"]
                error = f"sold_at {sold_at.isoformat()} falls on {sold_at.date()} in UTC, not on {self.day}"
                reason = "sold_at outside partition day"
            rejects.append(self._reject(file.name, _raw(batch, int(at[i])), error, reason))
        keep = valid.filter(pa.array(good))
        n = keep.num_rows
        return pa.Table.from_arrays(
            [*keep.columns, pa.repeat(pa.scalar(self.day_value, pa.date32()), n), pa.repeat(pa.scalar(file.name), n)],
            schema=SALES_SCHEMA,
        )

    def _reject(self, source: str, record, error: str, reason: str) -> dict:
        return {
            "entity": ENTITY,
            "partition_key": self.day,
            "source": source,
            "record": record_json(record),
            "error": error,
            "rejected_at": self.loaded_at,
            "_reason": reason,
        }

    def finish(self, files: list[LandingFile]) -> SpooledSalesPartition:
        keep, copies = None, 0
        maybe = self.sale_ids.candidates()  # every row whose sale_id repeats, and the odd hash collision
        if len(maybe):
            candidates = self.spool.take(maybe, _KEYS)
            drop, clash_at, counts, copies = find_duplicates(candidates, _KEYS, positions=maybe)
            if len(clash_at):
                # The validated row stands in for the raw line: re-reading the files
                # to recover the original text would cost a second full parse.
                clashing = candidates.take(pa.array(np.searchsorted(maybe, clash_at)))
                for at, record in zip(self.spool.tags(clash_at), clashing.to_pylist(), strict=True):
                    error = f"sale_id {record['sale_id']!r} has {counts[record['sale_id']]} different records in this partition"
                    self.rejects.append(self._reject(files[at].name, record, error, "conflicting sale_id"))
            if len(drop):
                keep = np.ones(self.spool.rows, dtype=bool)
                keep[drop] = False
        valid = self.spool.table(keep)
        stats = {
            "files": len(files),
            "landing_digest": files_digest(files),
            "unparseable_files": list(self.unparseable),
            "rows_read": self.rows_read,
            "valid": valid.num_rows,
            "rejected": len(self.rejects),
            "rejected_by_reason": dict(sorted(Counter(r["_reason"] for r in self.rejects).items())),
            "duplicates_dropped": copies,
        }
        rejects = rejects_table([{**r, "rejected_at": self.loaded_at} for r in self.rejects])
        return SpooledSalesPartition(valid, rejects, stats)


# Exact copies are dropped; records sharing a sale_id but differing are all
# rejected, since there is no telling which one is true.
_NONE = np.zeros(0, dtype=np.int64)


def find_duplicates(
    table: pa.Table, keys: list[str], positions: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, dict[str, int], int]:
    """(positions to drop, positions of clashing records, records per clashing sale_id, copies dropped).

    ``positions`` numbers the rows of ``table`` (default: 0, 1, ...); a table of only the rows whose
    sale_id may repeat gives the answer the whole day would.
    """
    n = table.num_rows
    repeated = _more_than_once(table.select(["sale_id"])) if n else None
    if repeated is None or repeated.num_rows == 0:
        return _NONE, _NONE, {}, 0  # the common case costs one hash pass
    at = np.arange(n, dtype=np.int64) if positions is None else np.asarray(positions, dtype=np.int64)
    rows = table.select(keys).append_column("_pos", pa.array(at))
    candidates = rows.filter(pc.is_in(rows["sale_id"], value_set=repeated["sale_id"]))
    firsts = _array(candidates.group_by(keys, use_threads=False).aggregate([("_pos", "min")])["_pos_min"])
    is_first = pc.is_in(candidates["_pos"], value_set=firsts)
    copies = candidates.filter(pc.invert(is_first))["_pos"].to_numpy()
    distinct = candidates.filter(is_first)
    clashing = _more_than_once(distinct)
    clash = distinct.filter(pc.is_in(distinct["sale_id"], value_set=clashing["sale_id"]))["_pos"].to_numpy()
    counts = dict(zip(clashing["sale_id"].to_pylist(), clashing["count_all"].to_pylist(), strict=True))
    return np.sort(np.concatenate([copies, clash])), np.sort(clash), counts, len(copies)


def _more_than_once(rows: pa.Table) -> pa.Table:
    counts = rows.group_by("sale_id", use_threads=False).aggregate([([], "count_all")])
    found = counts.filter(pc.greater(counts["count_all"], 1))
    return pa.table({"sale_id": _array(found["sale_id"]), "count_all": _array(found["count_all"])})


def _array(column) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _raw(batch: Batch, i: int) -> dict:
    """Row ``i`` of a batch as it arrived: the parsed line, or the cells of the table row."""
    if batch.records is not None:
        return batch.records[i]
    return table_records(TicketSale, batch.table.slice(i, 1))[0]
