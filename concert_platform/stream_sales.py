"""Put ticket sales onto a Kinesis Data Stream: ``python -m concert_platform.stream_sales``.

    python -m concert_platform.stream_sales --stream ticket-sales --day 2026-11-20 --count 5000
    python -m concert_platform.stream_sales --stream ticket-sales --from-landing 2026-11-20

``--day`` sends that many of the demo world's sales on that day (the generator
of ``sources/demo_sales.py``, anchored and seeded by CONCERT_DEMO_DATE and
CONCERT_DEMO_SEED); ``--from-landing`` sends the records of a day already in
the landing zone (CONCERT_LANDING_URL, e.g. a day `make run` seeded). The
endpoint is AWS_ENDPOINT_URL (the settings'), or ``--endpoint-url`` (moto,
LocalStack); credentials and region are boto3's own.

Records go out in PutRecords requests within Kinesis's limits, keyed by
concert_id; records a request reports as failed are sent again with backoff,
and if some still fail the command says which and exits with 1. The Firehose
behind the stream lands each record under its sold_at's UTC date
(`stream_landing`), so the summary printed counts records per landing day.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date

from concert_platform.stream_landing import NoPartition, sale_date
from concert_platform.transforms.stream_records import Entry, backoff, batches, entry, failed, request

MAX_ATTEMPTS = 8


class PutRecordsFailed(Exception):
    """Records Kinesis still refused after every retry."""

    def __init__(self, refused: list[tuple[Entry, str]], sent: int, attempts: int):
        codes = Counter(code for _, code in refused)
        super().__init__(
            f"{len(refused)} of {sent} records were not written to the stream after {attempts} attempts "
            f"({', '.join(f'{code}: {n}' for code, n in codes.most_common())})"
        )
        self.refused = refused


@dataclass
class PutSummary:
    records: int = 0
    requests: int = 0  # PutRecords calls, retries included
    retried: int = 0  # records sent more than once
    days: Counter = field(default_factory=Counter)  # records per landing day ("unpartitioned": none)


def put_records(
    client,
    stream: str,
    records: Iterable[Mapping],
    *,
    max_attempts: int = MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> PutSummary:
    """Send ``records`` (sale dicts) to ``stream``; raises PutRecordsFailed for records still refused at the end.

    Only the records an answer reports as failed are sent again, so a retry never
    writes a record twice; a retried record may land after later ones of its concert."""
    summary = PutSummary()
    refused: list[tuple[Entry, str]] = []
    for batch in batches(_counted(records, summary)):
        pending = batch
        for attempt in range(1, max_attempts + 1):
            summary.requests += 1
            rejected = failed(pending, client.put_records(**request(stream, pending)))
            if not rejected:
                break
            if attempt == max_attempts:
                refused += rejected
                break
            pending = [item for item, _ in rejected]
            summary.retried += len(pending)
            sleep(backoff(attempt))
    if refused:
        raise PutRecordsFailed(refused, summary.records, max_attempts)
    return summary


def _counted(records: Iterable[Mapping], summary: PutSummary) -> Iterator[Entry]:
    for record in records:
        summary.records += 1
        try:
            summary.days[sale_date(record)] += 1
        except NoPartition:
            summary.days["unpartitioned"] += 1
        yield entry(record)


def demo_records(day: date, count: int, *, seed: int, anchor: date, defect_rate: float = 0.0) -> list[dict]:
    """About ``count`` of the demo world's sales on ``day``, as `write_day_of_sales` writes them."""
    from concert_platform.sources.demo import DemoCatalog
    from concert_platform.sources.demo_sales import write_day_of_sales
    from concert_platform.sources.landing import LandingZone
    from concert_platform.storage.filesystem import open_location

    with tempfile.TemporaryDirectory(prefix="stream-sales-") as folder:
        zone = LandingZone(open_location(folder))
        catalog = DemoCatalog(seed=seed, anchor=anchor)
        write_day_of_sales(zone, catalog, day, count, defect_rate=defect_rate, seed=seed)
        with open(f"{zone.sales_folder(day.isoformat())}/sales.jsonl", encoding="utf-8") as lines:
            return [record for record in map(_parsed, lines) if isinstance(record, dict)]


def _parsed(line: str):
    try:
        return json.loads(line)
    except ValueError:
        return None  # the generator's deliberate not-JSON line (defect_rate > 0): nothing to send


def landing_records(zone, day: str, out=sys.stderr) -> Iterator[dict]:
    """The records of a landing-zone day's files, read as the loader reads them (bad rows and unreadable files left out)."""
    from concert_platform.models import TicketSale
    from concert_platform.transforms.sale_files import UnparseableFile, sale_batches

    for file in zone.sale_files(day):
        try:
            for batch in sale_batches(zone, file, 10_000, tuple(TicketSale.model_fields), ("sold_at",)):
                yield from batch.table.to_pylist() if batch.table is not None else batch.records or []
        except (UnparseableFile, OSError, ValueError) as exc:  # pyarrow's errors are ValueErrors and OSErrors
            print(f"skipped {file.name}: {' '.join(str(exc).split())[:200]}", file=out)


def _kinesis(endpoint_url: str | None, region: str | None):
    import boto3
    from botocore.config import Config

    # Whole-request throttling is botocore's to retry; per-record failures are put_records's.
    config = Config(retries={"max_attempts": 5, "mode": "standard"})
    return boto3.session.Session().client("kinesis", endpoint_url=endpoint_url, region_name=region, config=config)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m concert_platform.stream_sales", description="Put ticket sales onto a Kinesis Data Stream."
    )
    parser.add_argument("--stream", required=True, help="the Kinesis Data Stream's name")
    parser.add_argument("--endpoint-url", help="Kinesis endpoint (default: AWS_ENDPOINT_URL, else AWS's)")
    parser.add_argument("--region", help="AWS region (default: boto3's, AWS_REGION / AWS_DEFAULT_REGION)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--day", type=date.fromisoformat, help="send demo sales of this UTC day (YYYY-MM-DD)")
    source.add_argument("--from-landing", metavar="DAY", type=date.fromisoformat, help="send the records of this landing day")
    parser.add_argument("--count", type=int, default=1000, help="with --day: about how many sales (default 1000)")
    parser.add_argument("--defect-rate", type=float, default=0.0, help="with --day: share of spoiled records (default 0)")
    parser.add_argument("--landing-url", help="with --from-landing: the landing zone (default: CONCERT_LANDING_URL)")
    return parser


def main(argv: list[str] | None = None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from concert_platform.settings import Settings

    args = _parser().parse_args(argv)
    settings = Settings()
    endpoint = args.endpoint_url or settings.aws_endpoint_url
    if args.day:
        records = demo_records(
            args.day, args.count, seed=settings.demo_seed, anchor=settings.demo_anchor, defect_rate=args.defect_rate
        )
    else:
        from concert_platform.sources.landing import LandingZone
        from concert_platform.storage.filesystem import open_location

        zone = LandingZone(open_location(args.landing_url or settings.landing_url, endpoint), endpoint_url=endpoint)
        records = landing_records(zone, args.from_landing.isoformat())
    try:
        summary = put_records(_kinesis(endpoint, args.region), args.stream, records)
    except PutRecordsFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as exc:
        print(f"error: cannot put records on stream {args.stream!r}: {exc}", file=sys.stderr)
        return 1
    days = ", ".join(f"{day}: {n}" for day, n in sorted(summary.days.items()))
    print(
        f"put {summary.records} records on {args.stream} in {summary.requests} requests "
        f"({summary.retried} retried); landing days: {days or 'none'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
