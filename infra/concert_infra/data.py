"""The lake and the landing zone: two KMS-encrypted, private, TLS-only buckets, plus the access-log bucket.

The landing bucket sends its events to EventBridge; a rule puts every new sale file (``ticket_sales/``) on
an SQS queue. Nothing reads that queue yet: today ``landing_zone_sensor`` lists the bucket. A push-based
sensor would read the queue instead (one message per new object, no listing), so the queue is the seam.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk.region_info import RegionInfo
from constructs import Construct

from concert_infra.nag import acknowledge
from concert_infra.params import COMPUTE_LOGS_PREFIX, LAKE_PREFIX, SALES_PREFIX, STAGING_PREFIX, EnvParams


class DataStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, params: EnvParams, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal = RemovalPolicy.RETAIN if params.deletion_protection else RemovalPolicy.DESTROY

        # S3 server access logs and ALB access logs can only be delivered to an SSE-S3 bucket, so this one
        # bucket is not KMS-encrypted; it holds request logs, no data.
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            bucket_name=params.bucket_name("access-logs"),
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=removal,
        )
        # The UI's load balancer (orchestration stack) delivers its access logs here, under alb/.
        self.access_logs.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.AccountPrincipal(RegionInfo.get(params.region).elbv2_account)],
                actions=["s3:PutObject"],
                resources=[self.access_logs.arn_for_objects(f"alb/{params.prefix()}/AWSLogs/{Aws.ACCOUNT_ID}/*")],
            )
        )
        acknowledge(
            self.access_logs, "AwsSolutions-S1", "This is the access-log bucket itself; logging it into itself would loop"
        )

        # One key per bucket, so a grant on one (Redshift's COPY role: the lake) never opens the other.
        self.lake_key = kms.Key(
            self, "LakeKey", enable_key_rotation=True, description=f"{params.prefix()} lake", removal_policy=removal
        )
        self.landing_key = kms.Key(
            self, "LandingKey", enable_key_rotation=True, description=f"{params.prefix()} landing zone", removal_policy=removal
        )

        self.lake = s3.Bucket(
            self,
            "Lake",
            bucket_name=params.bucket_name("lake"),
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.lake_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="lake/",
            lifecycle_rules=[
                # What a killed writer left under _staging/. A committed-but-unmoved staged file is the partition's
                # lake copy until the partition's next write moves it in (storage.lake.reconcile): keep this well
                # above the time to re-run a failed day.
                s3.LifecycleRule(
                    id="expire-staging", prefix=STAGING_PREFIX, expiration=Duration.days(params.staging_expire_days)
                ),
                s3.LifecycleRule(
                    id="expire-compute-logs",
                    prefix=f"{COMPUTE_LOGS_PREFIX}/",
                    expiration=Duration.days(params.compute_logs_expire_days),
                ),
                s3.LifecycleRule(id="abort-multipart", abort_incomplete_multipart_upload_after=Duration.days(7)),
            ],
            removal_policy=removal,
        )

        self.landing = s3.Bucket(
            self,
            "Landing",
            bucket_name=params.bucket_name("landing"),
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.landing_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="landing/",
            lifecycle_rules=[
                # Raw files are read once or twice in their first days (load, maybe a reload), then kept for
                # audit: infrequent access after that.
                s3.LifecycleRule(
                    id="raw-to-infrequent-access",
                    prefix=SALES_PREFIX,
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(params.landing_ia_after_days),
                        )
                    ],
                ),
                s3.LifecycleRule(
                    id="expire-replaced-versions",
                    noncurrent_version_expiration=Duration.days(params.landing_noncurrent_expire_days),
                ),
                s3.LifecycleRule(id="abort-multipart", abort_incomplete_multipart_upload_after=Duration.days(7)),
            ],
            removal_policy=removal,
        )
        # EventBridge delivery is a bucket property; set on the L1 so no notification-handler Lambda is created.
        landing_cfn: s3.CfnBucket = self.landing.node.default_child
        landing_cfn.add_property_override("NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True)

        dead_letters = sqs.Queue(
            self,
            "LandingEventsDlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(dead_letters, "AwsSolutions-SQS3", "This queue is the dead-letter queue of LandingEvents")
        self.landing_events = sqs.Queue(
            self,
            "LandingEvents",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=5),
        )
        events.Rule(
            self,
            "NewSaleFiles",
            description="New landing files under ticket_sales/: the push alternative to landing_zone_sensor's listing",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={"bucket": {"name": [self.landing.bucket_name]}, "object": {"key": [{"prefix": SALES_PREFIX}]}},
            ),
            targets=[targets.SqsQueue(self.landing_events)],
        )

        # From the names, not the buckets' Refs: other stacks use these without a cross-stack export.
        self.lake_url = f"s3://{params.bucket_name('lake')}/{LAKE_PREFIX}"
        self.landing_url = f"s3://{params.bucket_name('landing')}"
        CfnOutput(self, "LakeUrl", value=self.lake_url, description="CONCERT_LAKE_URL")
        CfnOutput(self, "LandingUrl", value=self.landing_url, description="CONCERT_LANDING_URL")
        CfnOutput(self, "LandingEventsQueueUrl", value=self.landing_events.queue_url)
