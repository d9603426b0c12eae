"""Which rows of a key column may repeat, among millions, without a hash table of the keys.

Arrow's group_by and value_counts build a hash table of every distinct key: for a
day of 10M sale_ids that is over 1 GB and tens of seconds here. Instead each
batch's keys are reduced to 64-bit hashes as they pass (8 bytes a row), and the
hashes are sorted once at the end. Only rows whose hash occurs more than once
(true repeats, and the rare collision) are then compared by their real keys, so
the answer is exact. DuckDB computes the hashes: vectorised and multi-threaded,
several times faster than any numpy formulation tried.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa

_NONE = np.zeros(0, dtype=np.int64)
_SOURCE = "__concert_keys"
_BITMAP = 1 << 24  # 16 MB


class KeyHashes:
    """Collects the hashes of one key column, batch by batch; `candidates` then names the rows to compare."""

    def __init__(self) -> None:
        self._hashes: list[np.ndarray] = []
        self._nulls: list[np.ndarray] = []  # positions of null keys: a null is never vouched for by its hash
        self.rows = 0
        self._con = None

    def add(self, keys: pa.Array | pa.ChunkedArray) -> None:
        if len(keys):
            self._hashes.append(self._hash(keys))
            nulls = np.flatnonzero(keys.is_null().to_numpy(zero_copy_only=False)) if keys.null_count else _NONE
            self._nulls.append(nulls + self.rows)
            self.rows += len(keys)

    def truncate(self, rows: int) -> None:
        """Forget the rows added after the first ``rows`` (a count `rows` had between two `add` calls)."""
        while self.rows > rows:
            self.rows -= len(self._hashes.pop())
            self._nulls.pop()
        if self.rows != rows:
            raise ValueError(f"{rows} is not a count of rows between two batches")

    def candidates(self, keep: np.ndarray | None = None) -> np.ndarray:
        """Sorted positions (over every row added) of the rows, among ``keep`` (a mask; all rows if None),
        whose hash another kept row shares or whose key is null: every row whose key repeats is one."""
        self.close()
        hashes = np.concatenate(self._hashes) if self._hashes else np.zeros(0, dtype=np.uint64)
        positions = np.arange(len(hashes)) if keep is None else np.flatnonzero(keep)
        if keep is not None:
            hashes = hashes[positions]
        ordered = np.sort(hashes)
        repeated = ordered[1:][ordered[1:] == ordered[:-1]]
        del ordered
        found = positions[_members(hashes, repeated)] if len(repeated) else _NONE
        nulls = np.concatenate(self._nulls) if self._nulls else _NONE
        if keep is not None and len(nulls):
            nulls = nulls[keep[nulls]]
        return np.unique(np.concatenate([found, nulls])) if len(nulls) else found.astype(np.int64)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def _hash(self, keys: pa.Array | pa.ChunkedArray) -> np.ndarray:
        if self._con is None:
            import duckdb  # here, not at import: loading the definitions does not need it

            self._con = duckdb.connect()
        self._con.register(_SOURCE, pa.table({"k": keys}))
        try:
            # DuckDB keeps a scan's rows in order (preserve_insertion_order is on by default).
            return self._con.execute(f"SELECT hash(k) AS h FROM {_SOURCE}").fetchnumpy()["h"].astype(np.uint64, copy=False)
        finally:
            self._con.unregister(_SOURCE)


def _members(hashes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mask of the ``hashes`` that are among ``values`` (sorted, few): a bitmap of their low bits rules
    out nearly every row in one pass; only the rest are looked up."""
    if len(values) * 64 > len(hashes):  # most rows repeat (a file delivered twice): the bitmap would rule out none
        return np.isin(hashes, values)
    bitmap = np.zeros(_BITMAP, dtype=bool)
    bitmap[values & np.uint64(_BITMAP - 1)] = True
    maybe = np.flatnonzero(bitmap[hashes & np.uint64(_BITMAP - 1)])
    at = np.minimum(np.searchsorted(values, hashes[maybe]), len(values) - 1)
    mask = np.zeros(len(hashes), dtype=bool)
    mask[maybe[values[at] == hashes[maybe]]] = True
    return mask


def take_rows(batches: Iterable[pa.RecordBatch], positions: np.ndarray) -> Iterator[pa.RecordBatch]:
    """The rows at sorted ``positions`` (counted over all the batches, in order), batch by batch."""
    offset = 0
    for batch in batches:
        start, stop = np.searchsorted(positions, [offset, offset + batch.num_rows])
        if stop > start:
            yield batch.take(pa.array(positions[start:stop] - offset))
        offset += batch.num_rows
