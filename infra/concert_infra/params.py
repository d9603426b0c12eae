"""Every per-environment value of the AWS deployment, in one place.

`cdk synth` reads nothing else: no AWS credentials, no lookups. The region and the availability zones are
fixed here, so the VPC's subnets are laid out without asking AWS; the account is left to the credentials
`cdk deploy` runs with (stacks are account-agnostic).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from aws_cdk import Aws

PROJECT = "concert"


@dataclass(frozen=True)
class TaskSize:
    """A Fargate task's size: ``cpu`` in CPU units (1024 = 1 vCPU), ``memory`` in MiB (a valid Fargate pair)."""

    cpu: int
    memory: int


@dataclass(frozen=True)
class EnvParams:
    name: str
    region: str
    # Redshift Serverless wants subnets in three AZs; naming them here keeps synth free of AZ lookups.
    availability_zones: tuple[str, ...]
    vpc_cidr: str
    nat_gateways: int
    # Who may open the Dagster UI through the internal load balancer (open-source Dagster has no login).
    ui_allowed_cidrs: tuple[str, ...]
    # Data stack.
    landing_ia_after_days: int
    landing_noncurrent_expire_days: int
    staging_expire_days: int
    compute_logs_expire_days: int
    # Warehouse stack (RPUs: 8 is Redshift Serverless' smallest base capacity).
    redshift_base_rpu: int
    redshift_max_rpu: int
    redshift_db: str
    # Orchestration stack.
    db_instance_class: str
    db_multi_az: bool
    db_allocated_gib: int
    db_backup_days: int
    deletion_protection: bool
    log_retention_days: int
    code_server: TaskSize
    webserver: TaskSize
    daemon: TaskSize
    # The default of every run; a job asks for more with the run tags ecs/cpu and ecs/memory.
    run: TaskSize
    concert_sources: str
    # Streaming stack.
    kinesis_shards: int
    firehose_buffer_seconds: int
    firehose_buffer_mib: int
    tags: dict[str, str] = field(default_factory=dict)

    def prefix(self) -> str:
        return f"{PROJECT}-{self.name}"

    def stack_name(self, part: str) -> str:
        return f"{self.prefix()}-{part}"

    def bucket_name(self, role: str) -> str:
        """A bucket's name: fixed by environment, account and region, so other stacks and IAM policies name it
        without a cross-stack export (and policies read as plain ARNs in review)."""
        return f"{self.prefix()}-{role}-{Aws.ACCOUNT_ID}-{self.region}"

    @property
    def run_task_family(self) -> str:
        """The EcsRunLauncher's task definition: a literal, so the instance file can name it before deploy."""
        return f"{self.prefix()}-run"


DEV = EnvParams(
    name="dev",
    region="us-east-1",
    availability_zones=("us-east-1a", "us-east-1b", "us-east-1c"),
    vpc_cidr="10.40.0.0/16",
    nat_gateways=1,
    ui_allowed_cidrs=("10.40.0.0/16",),
    landing_ia_after_days=30,
    landing_noncurrent_expire_days=30,
    staging_expire_days=7,
    compute_logs_expire_days=30,
    redshift_base_rpu=8,
    redshift_max_rpu=16,
    redshift_db="concert",
    db_instance_class="t4g.micro",
    db_multi_az=False,
    db_allocated_gib=20,
    db_backup_days=3,
    deletion_protection=False,
    log_retention_days=30,
    code_server=TaskSize(1024, 2048),
    webserver=TaskSize(512, 1024),
    daemon=TaskSize(512, 1024),
    run=TaskSize(1024, 4096),
    concert_sources="demo",
    kinesis_shards=1,
    firehose_buffer_seconds=60,
    firehose_buffer_mib=64,
    tags={"project": PROJECT, "environment": "dev"},
)

# Prod is dev with what differs for a production load: redundancy, retention, size and live sources.
PROD = replace(
    DEV,
    name="prod",
    vpc_cidr="10.41.0.0/16",
    nat_gateways=3,
    ui_allowed_cidrs=("10.41.0.0/16",),
    landing_noncurrent_expire_days=90,
    compute_logs_expire_days=90,
    redshift_max_rpu=64,
    db_instance_class="t4g.medium",
    db_multi_az=True,
    db_allocated_gib=50,
    db_backup_days=14,
    deletion_protection=True,
    log_retention_days=90,
    code_server=TaskSize(1024, 4096),
    webserver=TaskSize(1024, 2048),
    daemon=TaskSize(1024, 2048),
    concert_sources="live",
    kinesis_shards=2,
    firehose_buffer_seconds=300,
    firehose_buffer_mib=128,
    tags={"project": PROJECT, "environment": "prod"},
)

ENVIRONMENTS: dict[str, EnvParams] = {p.name: p for p in (DEV, PROD)}

# Bucket layout: the platform's settings point at these prefixes (see the orchestration stack's env).
LAKE_PREFIX = "lake"  # CONCERT_LAKE_URL = s3://<lake bucket>/lake; Redshift's COPY reads only below it
STAGING_PREFIX = f"{LAKE_PREFIX}/_staging/"  # concert_platform.storage.lake.STAGING under the lake root
COMPUTE_LOGS_PREFIX = "dagster/compute-logs"  # step logs (S3ComputeLogManager), outside the lake prefix
SALES_PREFIX = "ticket_sales/"  # concert_platform.sources.landing.SALES_DIR at the landing bucket's root
FIREHOSE_ERRORS_PREFIX = "_firehose_errors/"  # starts with "_": the landing zone never lists it
