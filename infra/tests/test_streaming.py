"""Firehose files each sale under its UTC sale date, in a name the landing zone's loader reads."""

import re
from pathlib import Path

import jq
import pytest
from concert_platform.stream_landing import sale_date

from concert_infra.streaming import SALE_DATE_JQ

REPO = Path(__file__).resolve().parents[2]


def _delivery(synth) -> dict:
    (stream,) = synth.resources("AWS::KinesisFirehose::DeliveryStream", "streaming").values()
    return stream["Properties"]


def _landing_contract():
    """SALES_DIR, the sale formats and the compressions, as concert_platform/sources/landing.py declares them."""
    source = (REPO / "concert_platform" / "sources" / "landing.py").read_text()
    sales_dir = re.search(r'^SALES_DIR = "([^"]+)"', source, re.M).group(1)
    formats = set(re.findall(r'"(\.[a-z]+)": "[a-z]+"', re.search(r"^SALE_FORMATS = \{(.*)\}$", source, re.M).group(1)))
    compressions = re.search(r"^COMPRESSIONS = \{(.*)\}$", source, re.M).group(1)
    gzip = {suffix for suffix, kind in re.findall(r'"(\.[a-z]+)": "([a-z]+)"', compressions) if kind == "gzip"}
    return sales_dir, formats, gzip


def test_prefix_files_records_under_their_sale_date_folder(each_env):
    sales_dir, formats, gzip = _landing_contract()
    s3 = _delivery(each_env)["ExtendedS3DestinationConfiguration"]
    assert s3["Prefix"] == f"{sales_dir}/!{{partitionKeyFromQuery:sale_date}}/"
    assert s3["DynamicPartitioningConfiguration"]["Enabled"] is True
    # Objects land directly in the day folder (the loader ignores sub-folders) with a suffix it reads.
    stem, _, compression = s3["FileExtension"].rpartition(".")
    assert f"{stem}" in formats and f".{compression}" in gzip and s3["CompressionFormat"] == "GZIP"
    assert s3["ErrorOutputPrefix"].startswith("_"), "error records must stay out of the loader's listing"
    processors = {
        p["Type"]: {q["ParameterName"]: q["ParameterValue"] for q in p["Parameters"]}
        for p in s3["ProcessingConfiguration"]["Processors"]
    }
    assert processors["MetadataExtraction"] == {"MetadataExtractionQuery": SALE_DATE_JQ, "JsonParsingEngine": "JQ-1.6"}
    assert processors["AppendDelimiterToRecord"] == {"Delimiter": "\\n"}, "one JSON object per line"
    assert "landing" in str(s3["BucketARN"]) and s3["EncryptionConfiguration"]["KMSEncryptionConfig"]


@pytest.mark.parametrize(
    "sold_at",
    [
        "2026-10-03T14:22:05+02:00",
        "2026-10-03T00:30:00+02:00",  # the previous day in UTC
        "2026-10-03T23:30:00-05:00",  # the next day in UTC
        "2026-10-03T23:59:59.999999Z",
        "2026-10-03T00:00:00+00:00",
        "2026-10-03T01:00:00+0530",
        "2026-10-03T05:29:59+05:30",
        "2026-10-03T05:30:00+05:30",
        "2026-12-31T20:00:00-08",
        "2024-02-29 23:15:00-01:00",
    ],
)
def test_partition_key_is_the_platforms_sale_date(sold_at):
    """The JQ program Firehose runs, run by libjq on real records, against the platform's rule in Python
    (stream_landing.sale_date: the UTC date of a sold_at in the contract's form, else the day it starts with,
    where the loader rejects it with its reason)."""
    record = {"sale_id": "S-1", "concert_id": "c1", "sold_at": sold_at, "quantity": 2}
    assert jq.compile(SALE_DATE_JQ).input_value(record).first() == {"sale_date": sale_date(record)}


def test_a_time_without_offset_is_filed_by_its_written_date():
    # The loader then rejects it by name ("timestamp without offset"), counted in the day's rejects.
    assert jq.compile(SALE_DATE_JQ).input_value({"sold_at": "2026-10-03T23:30:00"}).first() == {"sale_date": "2026-10-03"}


@pytest.mark.parametrize("record", [{"sale_id": "S-1"}, {"sold_at": "yesterday"}, {"sold_at": 1759500000}])
def test_a_record_without_a_readable_sold_at_fails_partitioning(record):
    # Firehose sends such records to the error prefix instead of a day folder.
    with pytest.raises(ValueError):
        jq.compile(SALE_DATE_JQ).input_value(record).first()


def test_stream_is_encrypted_and_feeds_the_delivery_stream(each_env):
    ((stream_id, stream),) = each_env.resources("AWS::Kinesis::Stream", "streaming").items()
    assert stream["Properties"]["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}
    assert stream["Properties"]["ShardCount"] == each_env.params.kinesis_shards
    source = _delivery(each_env)["KinesisStreamSourceConfiguration"]
    assert source["KinesisStreamARN"] == {"Fn::GetAtt": [stream_id, "Arn"]}
