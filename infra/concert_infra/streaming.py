"""Streaming ingestion: a Kinesis Data Stream, and a Firehose delivery stream writing it into the landing zone.

Each record is one sale (a JSON object, the landing zone's fields). Firehose reads its ``sold_at``, converts it
to UTC with the JQ program below and files the record under ``ticket_sales/<UTC sale date>/`` (dynamic
partitioning), so a record lands in the folder of its sale date, never of its arrival. Objects are
newline-delimited JSON, gzipped, named ``<stream>-<version>-<time>-<uuid>.jsonl.gz``: a name the loader reads
(``.jsonl.gz``) with no ``_``/``.`` prefix and no ``.tmp``/``.part`` suffix.

A sale sold at 23:59:50 UTC that Firehose delivers after midnight still goes to the previous day's folder, as a
new file written after that day's nightly load. `landing_zone_sensor` sees the day's files change (its digest
covers names, sizes and ETags) and reloads the whole day, which replaces the partition: the late sale is
counted once, in its own day. The tasks' CONCERT_LANDING_SETTLE_SECONDS is two buffer intervals plus a
minute, so the sensor loads a streamed day once its deliveries pause (just after midnight) rather than on every
delivery; the nightly schedule (01:00 UTC) loads the finished day either way.

Records Firehose cannot partition (no ``sold_at``, not JSON, a time it cannot parse) go to
``_firehose_errors/``, which the landing zone never lists (leading ``_``). A ``sold_at`` without an offset is
filed by its written date and reaches the loader, which rejects it with its reason (counted in the day's
rejects) rather than Firehose dropping it out of sight.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from concert_platform.stream_landing import (
    FIREHOSE_ERROR_OUTPUT_PREFIX,
    FIREHOSE_FILE_EXTENSION,
    FIREHOSE_METADATA_EXTRACTION_QUERY,
    FIREHOSE_S3_PREFIX,
)
from constructs import Construct

from concert_infra.nag import acknowledge, object_arn_finding
from concert_infra.params import FIREHOSE_ERRORS_PREFIX, SALES_PREFIX, EnvParams

# One rule for where a streamed sale lands, the platform's own (concert_platform.stream_landing, standard library
# only): the jq 1.6 program Firehose runs, checked there against the same rule in Python and the loader.
SALE_DATE_JQ = FIREHOSE_METADATA_EXTRACTION_QUERY
SALES_OBJECT_PREFIX = FIREHOSE_S3_PREFIX
ERROR_OBJECT_PREFIX = FIREHOSE_ERROR_OUTPUT_PREFIX
FILE_EXTENSION = FIREHOSE_FILE_EXTENSION + ".gz"  # gzipped: the loader reads gzip


class StreamingStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        params: EnvParams,
        landing_key: kms.IKey,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prefix = params.prefix()
        landing = s3.Bucket.from_bucket_name(self, "Landing", params.bucket_name("landing"))
        self.stream = kinesis.Stream(
            self,
            "Sales",
            stream_name=f"{prefix}-sales",
            shard_count=params.kinesis_shards,
            stream_mode=kinesis.StreamMode.PROVISIONED,
            encryption=kinesis.StreamEncryption.MANAGED,
        )

        log_group = logs.LogGroup(self, "FirehoseLogs", retention=logs.RetentionDays.ONE_MONTH)
        log_stream = logs.LogStream(self, "FirehoseDelivery", log_group=log_group, log_stream_name="S3Delivery")

        role = iam.Role(
            self, "FirehoseRole", assumed_by=iam.ServicePrincipal("firehose.amazonaws.com"), description="Sales stream to landing"
        )
        self.stream.grant_read(role)
        role.add_to_policy(iam.PolicyStatement(actions=["kinesis:DescribeStream"], resources=[self.stream.stream_arn]))
        # Writes only its two prefixes: the day folders and its error folder.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[landing.arn_for_objects(f"{SALES_PREFIX}*"), landing.arn_for_objects(f"{FIREHOSE_ERRORS_PREFIX}*")],
            )
        )
        role.add_to_policy(iam.PolicyStatement(actions=["s3:GetBucketLocation", "s3:ListBucket"], resources=[landing.bucket_arn]))
        role.add_to_policy(iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[landing_key.key_arn]))
        log_group.grant_write(role)
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{object_arn_finding(params, 'landing', SALES_PREFIX + '*')}]",
            "Firehose names each object itself (a new key per buffer) under the day folders: the wildcard stops at ticket_sales/",
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{object_arn_finding(params, 'landing', FIREHOSE_ERRORS_PREFIX + '*')}]",
            "Firehose names its error objects itself under _firehose_errors/, which the landing zone never lists",
        )

        self.delivery = firehose.CfnDeliveryStream(
            self,
            "SalesToLanding",
            delivery_stream_name=f"{prefix}-sales-to-landing",
            delivery_stream_type="KinesisStreamAsSource",
            kinesis_stream_source_configuration=firehose.CfnDeliveryStream.KinesisStreamSourceConfigurationProperty(
                kinesis_stream_arn=self.stream.stream_arn, role_arn=role.role_arn
            ),
            extended_s3_destination_configuration=firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=landing.bucket_arn,
                role_arn=role.role_arn,
                prefix=SALES_OBJECT_PREFIX,
                error_output_prefix=ERROR_OBJECT_PREFIX,
                file_extension=FILE_EXTENSION,
                compression_format="GZIP",
                # Dynamic partitioning buffers at least 64 MiB or the interval, whichever comes first.
                buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(
                    interval_in_seconds=params.firehose_buffer_seconds, size_in_m_bs=params.firehose_buffer_mib
                ),
                encryption_configuration=firehose.CfnDeliveryStream.EncryptionConfigurationProperty(
                    kms_encryption_config=firehose.CfnDeliveryStream.KMSEncryptionConfigProperty(
                        awskms_key_arn=landing_key.key_arn
                    )
                ),
                dynamic_partitioning_configuration=firehose.CfnDeliveryStream.DynamicPartitioningConfigurationProperty(
                    enabled=True, retry_options=firehose.CfnDeliveryStream.RetryOptionsProperty(duration_in_seconds=300)
                ),
                processing_configuration=firehose.CfnDeliveryStream.ProcessingConfigurationProperty(
                    enabled=True,
                    processors=[
                        firehose.CfnDeliveryStream.ProcessorProperty(
                            type="MetadataExtraction",
                            parameters=[
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="MetadataExtractionQuery", parameter_value=SALE_DATE_JQ
                                ),
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="JsonParsingEngine", parameter_value="JQ-1.6"
                                ),
                            ],
                        ),
                        # Firehose concatenates records as sent; this makes each one a line (JSON lines).
                        firehose.CfnDeliveryStream.ProcessorProperty(
                            type="AppendDelimiterToRecord",
                            parameters=[
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="Delimiter", parameter_value="\\n"
                                )
                            ],
                        ),
                    ],
                ),
                cloud_watch_logging_options=firehose.CfnDeliveryStream.CloudWatchLoggingOptionsProperty(
                    enabled=True, log_group_name=log_group.log_group_name, log_stream_name=log_stream.log_stream_name
                ),
            ),
        )
        self.delivery.node.add_dependency(role)
        acknowledge(
            self.delivery,
            "AwsSolutions-KDF1",
            "A delivery stream reading a Kinesis stream cannot take its own SSE: records are encrypted in the stream (KMS) and in S3 (the landing key)",
        )
        CfnOutput(self, "SalesStreamName", value=self.stream.stream_name)
        CfnOutput(self, "DeliveryStreamName", value=f"{prefix}-sales-to-landing")
