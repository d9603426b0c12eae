"""The landing zone on S3 (moto over HTTP): listed through boto3, built only when a listing needs it."""

import boto3

from concert_platform.defs.resources import LandingZoneResource
from concert_platform.sources.landing import read_reference_csv


def test_s3_listing_builds_its_client_at_first_use_and_sees_rewrites(aws_env, s3_bucket):
    client = boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1")
    put = lambda key, body: client.put_object(Bucket=s3_bucket, Key=f"landing/{key}", Body=body)  # noqa: E731
    put("ticket_sales/2026-10-01/a.jsonl", b'{"sale_id": "1"}\n')
    put("ticket_sales/2026-10-01/.part", b"x")  # a partner's temporary: ignored
    put("ticket_sales/2026-10-02/b.csv", b"sale_id\n2\n")
    put("reference/venue_capacities.csv", b"venue_id,capacity\nv1,100\n")

    zone = LandingZoneResource(url=f"s3://{s3_bucket}/landing", endpoint_url=aws_env).zone()
    assert read_reference_csv(zone, "venue_capacities.csv").num_rows == 1
    assert zone.s3_client is None  # reading a file is pyarrow's job: no boto3 client yet

    files = zone.sale_files()
    assert [(f.day, f.name, f.format) for f in files] == [("2026-10-01", "a.jsonl", "jsonl"), ("2026-10-02", "b.csv", "csv")]
    assert zone.s3_client is not None and all(f.etag for f in files)
    assert [f.name for f in zone.sale_files("2026-10-02")] == ["b.csv"]

    before = files[0].fingerprint
    put("ticket_sales/2026-10-01/a.jsonl", b'{"sale_id": "9"}\n')  # same size, within the same second
    assert zone.sale_files("2026-10-01")[0].fingerprint != before
