"""The Firehose's partitioning query, run by jq 1.6 (the engine the Firehose names, JQ-1.6), gives the same
partition as `stream_landing.sale_date` for the same records, and fails where it fails.

Needs the ``jq`` command on PATH (Debian's ``jq`` package)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from concert_platform.stream_landing import FIREHOSE_METADATA_EXTRACTION_QUERY, NoPartition, sale_date

SOLD_AT = [
    "2026-11-20T23:59:59+00:00",
    "2026-11-21T00:00:01+00:00",
    "2026-11-20T23:30:00-05:00",
    "2026-11-21T08:00:00+09:00",
    "2026-11-20T00:30:00.123456+14:00",
    "2026-11-20T23:59:59.999999Z",
    "2024-02-28T23:00:00-01:00",
    "2023-02-28T23:00:00-01:00",
    "2025-12-31T22:00:00-03:30",
    "1000-01-01T00:30:00+01:00",
    "9899-12-31T23:00:00-02:00",
    "2026-10-03T14:22:05",
    "2026-10-03 14:22:05+02:00",
    "2026-10-03T24:00:00Z",
    "2026-02-29T10:00:00Z",
    "2026-04-31T10:00:00Z",
    "2026-11-20T23:30:00-05:00\n",
    "2026-11-20",
    "20261120",
    "yesterday",
    "",
    None,
    5,
]


def jq_partitions(records: list) -> list[str | None]:
    """Each record's sale_date by the Firehose's query under jq, None where jq fails (the Firehose's error output)."""
    jq = shutil.which("jq")
    assert jq, "the jq command (1.6, as the Firehose runs) is needed: apt-get install jq"
    version = subprocess.run([jq, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert version == "jq-1.6", f"the Firehose runs jq 1.6, this is {version}"
    found = []
    for record in records:
        run = subprocess.run(
            [jq, "-c", FIREHOSE_METADATA_EXTRACTION_QUERY], input=json.dumps(record), capture_output=True, text=True
        )
        found.append(json.loads(run.stdout)["sale_date"] if run.returncode == 0 else None)
    return found


def python_partition(record) -> str | None:
    try:
        return sale_date(record)
    except NoPartition:
        return None


@pytest.mark.parametrize("batch", ["sold_at", "shapes"])
def test_jq_and_python_partition_alike(batch):
    if batch == "sold_at":
        records = [{"sale_id": "S-1", "sold_at": value} for value in SOLD_AT]
    else:
        records = [{}, [1], "text", None, {"sold_at": {"at": "2026-11-20T10:00:00Z"}}]
    python = [python_partition(record) for record in records]
    assert jq_partitions(records) == python
    if batch == "sold_at":
        assert python[:3] == ["2026-11-20", "2026-11-21", "2026-11-21"] and None in python
        assert python[9:11] == ["1000-01-01", "9899-12-31"]  # UTC dates the loader would never list: the local day
