"""Streamed sales, end to end on moto's Kinesis and S3 over HTTP: the producer CLI puts a demo day on a
stream, `drain` lands it as the Firehose would, and the platform's loader reads each day once."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import date

import boto3
import pytest

from concert_platform import stream_landing
from concert_platform.sources import landing
from concert_platform.sources.demo import DemoCatalog
from concert_platform.sources.landing import LandingZone
from concert_platform.storage.filesystem import open_location
from concert_platform.stream_landing import FAILED_DIR, NoPartition, drain, landing_prefix, sale_date
from concert_platform.stream_sales import PutRecordsFailed, main, put_records
from concert_platform.transforms.stream_records import MAX_RECORD_BYTES, MAX_REQUEST_BYTES, Entry, backoff, batches, entry
from concert_platform.transforms.ticket_sales import load_sales_partition

ANCHOR = date(2026, 11, 1)
DAY = "2026-11-20"  # in the past, so sold_at passes the model's not-in-future rule


@pytest.fixture
def stream(aws_env):
    """A two-shard stream on moto, so records of one delivery come from more than one shard."""
    name = f"sales-{uuid.uuid4().hex[:8]}"
    client = boto3.client("kinesis", endpoint_url=aws_env, region_name="us-east-1")
    client.create_stream(StreamName=name, ShardCount=2)
    client.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1})
    return name, client


@pytest.fixture
def zone(s3_bucket, aws_env):
    return LandingZone(open_location(f"s3://{s3_bucket}/landing", endpoint_url=aws_env), endpoint_url=aws_env)


def sale(sale_id: str, concert_id: str, sold_at: str) -> dict:
    return {
        "sale_id": sale_id,
        "concert_id": concert_id,
        "sold_at": sold_at,
        "quantity": 2,
        "unit_price": "89.50",
        "currency": "EUR",
        "channel": "web",
    }


def landed(zone: LandingZone) -> dict[str, str]:
    """sale_id -> the day folder of every JSON line in the zone's sale files; fails on a sale_id seen twice."""
    seen: Counter = Counter()
    days = {}
    for file in zone.sale_files():
        with zone.open(file.path) as stream:
            for line in stream.read().decode().splitlines():
                record = json.loads(line)
                seen[record["sale_id"]] += 1
                days[record["sale_id"]] = file.day
    assert [sale_id for sale_id, n in seen.items() if n > 1] == []
    return days


def test_a_demo_day_and_late_sales_land_once_each_in_their_utc_day_and_load(stream, zone, monkeypatch, capsys):
    name, client = stream
    monkeypatch.setenv("CONCERT_DEMO_DATE", ANCHOR.isoformat())  # the CLI's demo world is the one the loader knows
    catalog = DemoCatalog(seed=7, anchor=ANCHOR)
    known = set(catalog.event_by_id)

    assert main(["--stream", name, "--day", DAY, "--count", "1200"]) == 0
    said = capsys.readouterr().out
    assert f"on {name} in 3 requests" in said and f"{DAY}: " in said  # 1200 records: 500 + 500 + 200

    concert = sorted(known)[0]
    edges = {
        "S-EDGE-1": ("2026-11-21T23:59:59+00:00", "2026-11-21"),
        "S-EDGE-2": ("2026-11-22T00:00:01+00:00", "2026-11-22"),
        "S-EDGE-3": ("2026-11-20T23:30:00-05:00", "2026-11-21"),  # 04:30 UTC the next day
        "S-EDGE-4": ("2026-11-21T08:00:00+09:00", "2026-11-20"),  # 23:00 UTC the day before
    }
    late = [sale(sale_id, concert, sold_at) for sale_id, (sold_at, _) in edges.items()]
    put_records(client, name, late)

    drained = drain(name, zone, client=client)
    days = landed(zone)

    # Every record the generator made is in the zone once, under its UTC sale date.
    from concert_platform.stream_sales import demo_records

    demo = demo_records(date.fromisoformat(DAY), 1200, seed=7, anchor=ANCHOR)
    expected = {r["sale_id"]: sale_date(r) for r in demo} | {sale_id: day for sale_id, (_, day) in edges.items()}
    assert days == expected
    assert set(expected.values()) == {DAY, "2026-11-21", "2026-11-22"}
    assert drained.days == Counter(expected.values()) and drained.failed == 0
    assert all(f.name.startswith("stream-shardId-") and f.format == "jsonl" for f in zone.sale_files())

    # The loader reads each day as it reads partners' files: every record valid, each once.
    for day in sorted(set(expected.values())):
        part = load_sales_partition(zone, day, known)
        assert part.rejects.num_rows == 0, part.rejects.to_pylist()[:3]
        assert Counter(part.valid["sale_id"].to_pylist()) == Counter(s for s, d in expected.items() if d == day)
        assert {d.isoformat() for d in part.valid["sale_date"].to_pylist()} == {day}


def test_a_landing_day_replays_through_the_stream_into_the_same_sales(stream, zone, tmp_path, capsys):
    """CSV text, Parquet decimals and JSON numbers all go out as JSON lines the loader reads back as the same sales."""
    from concert_platform.sources.demo_sales import seed_landing_zone

    name, client = stream
    catalog = DemoCatalog(seed=7, anchor=ANCHOR)
    source = LandingZone(open_location(str(tmp_path / "partners")))
    seed_landing_zone(source, catalog, date.fromisoformat(DAY), 1, sales_per_day=400, defect_rate=0)
    assert main(["--stream", name, "--from-landing", DAY, "--landing-url", str(tmp_path / "partners")]) == 0
    assert f"landing days: {DAY}: 400" in capsys.readouterr().out
    drain(name, zone, client=client)

    known = set(catalog.event_by_id)
    columns = ["sale_id", "concert_id", "sold_at", "quantity", "unit_price", "currency", "channel", "customer_id", "section"]
    before, after = (load_sales_partition(z, DAY, known) for z in (source, zone))
    assert after.rejects.num_rows == 0 and after.valid.num_rows == before.valid.num_rows == 400
    assert after.valid.select(columns).sort_by("sale_id").equals(before.valid.select(columns).sort_by("sale_id"))


def test_draining_again_from_the_positions_lands_only_new_records(stream, zone):
    name, client = stream
    put_records(client, name, [sale("S-1", "c1", "2026-11-20T10:00:00Z")])
    first = drain(name, zone, client=client)
    put_records(client, name, [sale("S-2", "c1", "2026-11-20T23:59:59+00:00")])  # after midnight, for the 20th
    second = drain(name, zone, client=client, after=first.positions)
    assert second.days == Counter({"2026-11-20": 1}) and len(second.objects) == 1
    assert landed(zone) == {"S-1": "2026-11-20", "S-2": "2026-11-20"}
    # A new object in the day's folder changes the day's files, which is what the landing sensor reloads on.
    assert len(zone.sale_files("2026-11-20")) == 2


def test_records_without_a_partition_go_to_the_failed_folder_not_a_day(stream, zone):
    name, client = stream
    records = [{"sale_id": "S-1", "concert_id": "c1"}, sale("S-2", "c1", "yesterday"), sale("S-3", "c1", "2026-11-20T10:00:00")]
    put_records(client, name, records)
    drained = drain(name, zone, client=client)
    assert drained.failed == 2 and drained.days == Counter({"2026-11-20": 1})  # no offset: its day, where the loader rejects it
    failed = [p for p in drained.objects if f"/{FAILED_DIR}/partitioning-failed/" in p]
    assert len(failed) >= 1 and landed(zone) == {"S-3": "2026-11-20"}


def test_501_records_make_two_requests_on_moto(stream):
    name, client = stream
    summary = put_records(client, name, [sale(f"S-{i}", f"c{i % 7}", "2026-11-20T10:00:00Z") for i in range(501)])
    assert (summary.records, summary.requests, summary.retried) == (501, 2, 0)


def test_an_unknown_stream_fails_with_a_message_and_exit_code_1(aws_env, monkeypatch, capsys):
    monkeypatch.setenv("CONCERT_DEMO_DATE", ANCHOR.isoformat())
    assert main(["--stream", "no-such-stream", "--day", DAY, "--count", "10"]) == 1
    assert "cannot put records on stream 'no-such-stream'" in capsys.readouterr().err


# ---- batching and retries, without a server ----------------------------------------------------


def test_batches_keep_to_500_records_and_5_mib():
    small = [Entry(b"x" * 100, "k")] * 501
    assert [len(b) for b in batches(small)] == [500, 1]
    big = [Entry(b"x" * 1_000_000, "concert")] * 6  # five fit in 5 MiB with their keys, six do not
    assert [len(b) for b in batches(big)] == [5, 1]
    assert all(sum(e.size for e in b) <= MAX_REQUEST_BYTES for b in batches(big))
    with pytest.raises(ValueError, match="over Kinesis's"):
        list(batches([Entry(b"x" * MAX_RECORD_BYTES, "k")]))


def test_an_entry_is_one_json_line_keyed_by_concert_with_sold_at_as_given():
    made = entry(sale("S-1", "vvG1abc", "2026-11-20T23:30:00-05:00"))
    assert made.partition_key == "vvG1abc" and made.data.endswith(b"}\n") and made.data.count(b"\n") == 1
    assert json.loads(made.data)["sold_at"] == "2026-11-20T23:30:00-05:00"
    assert entry({"sale_id": "S-2"}).partition_key == "no-concert-id"


class FlakyKinesis:
    """A stand-in for boto3's Kinesis client: refuses the given sale_ids for the first ``times`` requests they are in."""

    def __init__(self, refuse: set[str], times: int):
        self.refuse, self.times, self.calls = refuse, times, []

    def put_records(self, StreamName, Records):  # noqa: N803 - boto3's argument names
        ids = [json.loads(r["Data"])["sale_id"] for r in Records]
        self.calls.append(ids)
        results = []
        for sale_id in ids:
            tries = sum(sale_id in call for call in self.calls)
            if sale_id in self.refuse and tries <= self.times:
                results.append({"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded"})
            else:
                results.append({"SequenceNumber": str(len(self.calls)), "ShardId": "shardId-000000000000"})
        return {"FailedRecordCount": sum("ErrorCode" in r for r in results), "Records": results}


def test_only_the_refused_records_are_sent_again_with_growing_waits():
    records = [sale(f"S-{i}", "c1", "2026-11-20T10:00:00Z") for i in range(10)]
    client, waits = FlakyKinesis({"S-3", "S-7"}, times=2), []
    summary = put_records(client, "s", records, sleep=waits.append)
    assert client.calls == [[f"S-{i}" for i in range(10)], ["S-3", "S-7"], ["S-3", "S-7"]]
    assert waits == [backoff(1), backoff(2)] and backoff(1) < backoff(2)
    assert (summary.records, summary.requests, summary.retried) == (10, 3, 4)


def test_records_still_refused_after_every_attempt_raise_with_their_error():
    client = FlakyKinesis({"S-1"}, times=99)
    with pytest.raises(
        PutRecordsFailed, match=r"1 of 2 records .* 8 attempts \(ProvisionedThroughputExceededException: 1\)"
    ) as raised:
        put_records(
            client,
            "s",
            [sale("S-0", "c", "2026-11-20T10:00:00Z"), sale("S-1", "c", "2026-11-20T10:00:00Z")],
            sleep=lambda s: None,
        )
    assert [json.loads(e.data)["sale_id"] for e, _ in raised.value.refused] == ["S-1"]
    assert len(client.calls) == 8


# ---- the partitioning rule -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sold_at", "day"),
    [
        ("2026-11-20T23:59:59+00:00", "2026-11-20"),
        ("2026-11-21T00:00:01+00:00", "2026-11-21"),
        ("2026-11-20T23:30:00-05:00", "2026-11-21"),
        ("2026-11-21T08:00:00+09:00", "2026-11-20"),
        ("2026-11-20T00:30:00.123456+14:00", "2026-11-19"),
        ("2026-11-20T23:59:59.999999Z", "2026-11-20"),
        ("2024-02-28T23:00:00-01:00", "2024-02-29"),
        ("2025-12-31T22:00:00-03:30", "2026-01-01"),
        ("2026-10-03T14:22:05", "2026-10-03"),  # no offset: its own day, where the loader rejects it
    ],
)
def test_the_landing_prefix_is_the_utc_day_of_sold_at(sold_at, day):
    assert landing_prefix({"sold_at": sold_at}) == f"{landing.SALES_DIR}/{day}/"


def test_the_firehose_settings_name_the_loaders_folder_and_a_suffix_it_reads():
    assert stream_landing.SALES_DIR == landing.SALES_DIR
    assert stream_landing.FIREHOSE_S3_PREFIX == "ticket_sales/!{partitionKeyFromQuery:sale_date}/"
    assert landing.sale_file_kind("x" + stream_landing.FIREHOSE_FILE_EXTENSION) == ("jsonl", None)
    assert stream_landing.FIREHOSE_METADATA_EXTRACTION_QUERY.startswith("{sale_date:(.sold_at")


@pytest.mark.parametrize(
    "record", [{}, {"sold_at": None}, {"sold_at": 5}, {"sold_at": "yesterday"}, {"sold_at": "2026-02-30T10:00:00Z"}, [1]]
)
def test_records_without_a_usable_sold_at_have_no_partition(record):
    with pytest.raises(NoPartition):
        sale_date(record)
