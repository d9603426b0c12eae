"""Dagster on ECS Fargate: the code server, the webserver (behind an internal load balancer) and the daemon,
one task definition per run (EcsRunLauncher), PostgreSQL on RDS for the instance, logs in CloudWatch.

Secrets (the database password, CONCERT_WAREHOUSE_URL, the API keys) are Secrets Manager references in the
task definitions' ``secrets``: ECS injects them as environment variables when a task starts, and the task
definitions hold only their ARNs. The instance file is rendered by `instance_yaml` and handed to every
container as DAGSTER_INSTANCE_YAML; the entry point writes it to $DAGSTER_HOME/dagster.yaml before the
command runs, so the image (deploy/Dockerfile) needs no ECS-specific build.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_servicediscovery as servicediscovery
from constructs import Construct

from concert_infra.instance_yaml import EcsInstanceSettings, render
from concert_infra.nag import acknowledge, object_arn_finding
from concert_infra.params import COMPUTE_LOGS_PREFIX, LAKE_PREFIX, PROJECT, EnvParams, TaskSize

CODE_SERVER_PORT = 4000
WEBSERVER_PORT = 3000
RUN_CONTAINER = "run"
IMAGE_DAGSTER_HOME = "/opt/dagster/dagster_home"  # deploy/Dockerfile's DAGSTER_HOME: workspace.yaml is there
# The image's DAGSTER_HOME holds deploy/dagster.yaml, root-owned; the ECS instance goes in a folder the
# image's user (10001) may create inside it.
DAGSTER_HOME = f"{IMAGE_DAGSTER_HOME}/ecs"
WORKSPACE = f"{DAGSTER_HOME}/workspace.yaml"
ENTRY_POINT = [
    "/bin/sh",
    "-c",
    'mkdir -p "$DAGSTER_HOME" && printf "%s\\n" "$DAGSTER_INSTANCE_YAML" > "$DAGSTER_HOME/dagster.yaml"'
    f' && cp {IMAGE_DAGSTER_HOME}/workspace.yaml "$DAGSTER_HOME/workspace.yaml" && exec "$@"',
    "concert-entrypoint",
]
COMPUTE_LOG_BUCKET_ENV = "DAGSTER_COMPUTE_LOG_BUCKET"
# Secret name (under concert/<env>/) -> the variable it becomes. Created with a random placeholder value:
# put the real one with `aws secretsmanager put-secret-value` (infra/README.md) before the first run.
APP_SECRETS = {
    "warehouse-url": "CONCERT_WAREHOUSE_URL",
    "ticketmaster-api-key": "TICKETMASTER_API_KEY",
    "spotify-client-id": "SPOTIFY_CLIENT_ID",
    "spotify-client-secret": "SPOTIFY_CLIENT_SECRET",
}
MUSICBRAINZ_USER_AGENT = "concert-platform/1.0 (data-platform@example.com)"


class OrchestrationStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        params: EnvParams,
        image_tag: str,
        vpc: ec2.IVpc,
        tasks_sg: ec2.ISecurityGroup,
        ui_lb_sg: ec2.ISecurityGroup,
        repository: ecr.IRepository,
        lake_key: kms.IKey,
        lake_url: str,
        landing_key: kms.IKey,
        landing_url: str,
        redshift_iam_role: str,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.params = params
        prefix = params.prefix()
        removal = RemovalPolicy.RETAIN if params.deletion_protection else RemovalPolicy.DESTROY
        task_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        lake = s3.Bucket.from_bucket_name(self, "Lake", params.bucket_name("lake"))
        landing = s3.Bucket.from_bucket_name(self, "Landing", params.bucket_name("landing"))
        access_logs = s3.Bucket.from_bucket_name(self, "AccessLogs", params.bucket_name("access-logs"))

        # --- Dagster's instance storage -------------------------------------------------------------------
        self.database = rds.DatabaseInstance(
            self,
            "InstanceDb",
            engine=rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_17_9),
            instance_type=ec2.InstanceType(params.db_instance_class),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            credentials=rds.Credentials.from_generated_secret("dagster", secret_name=f"{prefix}/dagster-pg"),
            database_name="dagster",
            allocated_storage=params.db_allocated_gib,
            storage_encrypted=True,
            multi_az=params.db_multi_az,
            backup_retention=Duration.days(params.db_backup_days),
            deletion_protection=params.deletion_protection,
            cloudwatch_logs_exports=["postgresql"],
            removal_policy=RemovalPolicy.SNAPSHOT if params.deletion_protection else RemovalPolicy.DESTROY,
        )
        self.database.connections.allow_default_port_from(tasks_sg, "Dagster services and runs")
        acknowledge(
            self.database,
            "AwsSolutions-RDS11",
            "The default port: the instance is in isolated subnets and admits only the tasks' security group",
        )
        if not params.db_multi_az:
            acknowledge(
                self.database, "AwsSolutions-RDS3", f"{params.name} is single-AZ to save cost; prod is Multi-AZ (params.py)"
            )
        if not params.deletion_protection:
            acknowledge(
                self.database,
                "AwsSolutions-RDS10",
                f"{params.name} is torn down freely; prod has deletion protection (params.py)",
            )
        db_secret = self.database.secret
        acknowledge(
            self.database.node.find_child("Secret"),
            "AwsSolutions-SMG4",
            "ECS reads DAGSTER_PG_PASSWORD at task start only; a rotation would cut running services off. Rotate by hand with a "
            "rolling restart",
        )

        self.app_secrets = {
            variable: secretsmanager.Secret(
                self,
                f"Secret{variable.title().replace('_', '')}",
                secret_name=f"{prefix}/{name}",
                description=f"{variable} for the concert platform ({params.name}); set its value with put-secret-value",
                removal_policy=removal,
            )
            for name, variable in APP_SECRETS.items()
        }
        for secret in self.app_secrets.values():
            acknowledge(
                secret,
                "AwsSolutions-SMG4",
                "Issued outside AWS (Ticketmaster, Spotify, the warehouse's loader user): rotated at the issuer, then put here",
            )

        # --- Cluster, logs, roles ---------------------------------------------------------------------------
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=f"{prefix}-dagster",
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        namespace = servicediscovery.PrivateDnsNamespace(self, "Namespace", name=f"{prefix}.internal", vpc=vpc)
        self.code_server_host = f"code-server.{prefix}.internal"
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/{PROJECT}/{params.name}/dagster",
            retention=_retention(params.log_retention_days),
            removal_policy=removal,
        )
        self.execution_role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="Pulls the image, reads the secrets",
        )
        acknowledge(
            self.execution_role,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken has no resource-level permissions (CDK's grant for pulling the image)",
        )
        image = ecs.ContainerImage.from_ecr_repository(repository, tag=image_tag)

        self.instance_settings = EcsInstanceSettings(
            run_task_family=params.run_task_family,
            run_container=RUN_CONTAINER,
            compute_log_bucket_env=COMPUTE_LOG_BUCKET_ENV,
            compute_log_prefix=COMPUTE_LOGS_PREFIX,
        )
        self.instance_yaml = render(self.instance_settings)
        dagster_env = {
            "DAGSTER_HOME": DAGSTER_HOME,
            "DAGSTER_INSTANCE_YAML": self.instance_yaml,
            "DAGSTER_PG_HOST": self.database.db_instance_endpoint_address,
            "DAGSTER_PG_PORT": self.database.db_instance_endpoint_port,
            "DAGSTER_PG_DB": "dagster",
            COMPUTE_LOG_BUCKET_ENV: lake.bucket_name,
            "CONCERT_CODE_SERVER_HOST": self.code_server_host,
            "CONCERT_CODE_SERVER_PORT": str(CODE_SERVER_PORT),
            "AWS_DEFAULT_REGION": self.region,
        }
        dagster_secrets = {
            "DAGSTER_PG_USERNAME": ecs.Secret.from_secrets_manager(db_secret, "username"),
            "DAGSTER_PG_PASSWORD": ecs.Secret.from_secrets_manager(db_secret, "password"),
        }
        platform_env = {
            "CONCERT_SOURCES": params.concert_sources,
            "CONCERT_LAKE_URL": lake_url,
            "CONCERT_LANDING_URL": landing_url,
            "CONCERT_WAREHOUSE_SCHEMA": "concert",
            "CONCERT_REDSHIFT_IAM_ROLE": redshift_iam_role,
            "MUSICBRAINZ_USER_AGENT": MUSICBRAINZ_USER_AGENT,
            # Firehose adds a file to today's folder every buffer interval: a day counts as settled only after
            # two intervals without one, so the landing sensor loads a streamed day once its deliveries pause
            # (after midnight, or a quiet spell) instead of once per delivery.
            "CONCERT_LANDING_SETTLE_SECONDS": str(2 * params.firehose_buffer_seconds + 60),
        }
        platform_secrets = {variable: ecs.Secret.from_secrets_manager(secret) for variable, secret in self.app_secrets.items()}

        lake_access = _LakeAccess(params, lake, lake_key, landing, landing_key)
        self.run_role = self._task_role("RunRole", "Each Dagster run: the lake, the landing zone, step logs")
        lake_access.read_write_lake(self.run_role)
        lake_access.read_landing(self.run_role)
        lake_access.write_compute_logs(self.run_role)
        self.code_server_role = self._task_role("CodeServerRole", "The code server: lists the landing zone for the sensor")
        lake_access.read_landing(self.code_server_role)
        lake_access.read_lake(self.code_server_role)
        self.webserver_role = self._task_role("WebserverRole", "The webserver: step logs, terminating runs")
        lake_access.read_compute_logs(self.webserver_role)
        self.daemon_role = self._task_role("DaemonRole", "The daemon: EcsRunLauncher starts, watches and stops run tasks")

        # --- Task definitions -------------------------------------------------------------------------------
        self.run_task = self._task_definition(
            "RunTask",
            family=params.run_task_family,
            size=params.run,
            role=self.run_role,
            image=image,
            container=RUN_CONTAINER,
            command=None,  # the launcher sets `dagster api execute_run ...` per run
            env={**dagster_env, **platform_env},
            secrets={**dagster_secrets, **platform_secrets},
        )
        code_server_task = self._task_definition(
            "CodeServerTask",
            family=f"{prefix}-code-server",
            size=params.code_server,
            role=self.code_server_role,
            image=image,
            container="code-server",
            command=[
                "dagster",
                "code-server",
                "start",
                "-h",
                "0.0.0.0",
                "-p",
                str(CODE_SERVER_PORT),
                "-m",
                "concert_platform.definitions",
            ],
            env={**dagster_env, **platform_env},
            secrets={**dagster_secrets, **platform_secrets},
            port=CODE_SERVER_PORT,
        )
        webserver_task = self._task_definition(
            "WebserverTask",
            family=f"{prefix}-webserver",
            size=params.webserver,
            role=self.webserver_role,
            image=image,
            container="webserver",
            command=["dagster-webserver", "-h", "0.0.0.0", "-p", str(WEBSERVER_PORT), "-w", WORKSPACE],
            env=dagster_env,
            secrets=dagster_secrets,
            port=WEBSERVER_PORT,
        )
        daemon_task = self._task_definition(
            "DaemonTask",
            family=f"{prefix}-daemon",
            size=params.daemon,
            role=self.daemon_role,
            image=image,
            container="daemon",
            command=["dagster-daemon", "run", "-w", WORKSPACE],
            # The run task's revision: a change to it (size, image, settings) changes the daemon's task
            # definition too, so the daemon restarts and its launcher resolves the new revision.
            env={**dagster_env, "CONCERT_RUN_TASK_DEFINITION": self.run_task.task_definition_arn},
            secrets=dagster_secrets,
        )
        self._grant_run_launcher(self.daemon_role, launches=True)
        self._grant_run_launcher(self.webserver_role, launches=False)

        # --- Services ---------------------------------------------------------------------------------------
        common = dict(
            cluster=self.cluster,
            security_groups=[tasks_sg],
            vpc_subnets=task_subnets,
            assign_public_ip=False,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        self.code_server = ecs.FargateService(
            self,
            "CodeServer",
            task_definition=code_server_task,
            desired_count=1,
            cloud_map_options=ecs.CloudMapOptions(
                name="code-server", cloud_map_namespace=namespace, dns_ttl=Duration.seconds(10)
            ),
            **common,
        )
        # Exactly one daemon per instance: a deploy stops the old one before starting the new one.
        self.daemon = ecs.FargateService(
            self, "Daemon", task_definition=daemon_task, desired_count=1, min_healthy_percent=0, max_healthy_percent=100, **common
        )
        self.webserver = ecs.FargateService(
            self,
            "Webserver",
            task_definition=webserver_task,
            desired_count=1,
            health_check_grace_period=Duration.minutes(2),
            **common,
        )

        # Internal only: open-source Dagster has no login, so the UI is reachable from the VPC (VPN, bastion,
        # peered networks in ui_allowed_cidrs), never from the internet.
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "UiLb",
            vpc=vpc,
            internet_facing=False,
            vpc_subnets=task_subnets,
            security_group=ui_lb_sg,
            drop_invalid_header_fields=True,
        )
        self.load_balancer.log_access_logs(access_logs, prefix=f"alb/{prefix}")
        listener = self.load_balancer.add_listener("Http", port=80, open=False)
        listener.add_targets(
            "Webserver",
            port=WEBSERVER_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[self.webserver.load_balancer_target(container_name="webserver", container_port=WEBSERVER_PORT)],
            health_check=elbv2.HealthCheck(path="/server_info", healthy_http_codes="200"),
            deregistration_delay=Duration.seconds(30),
        )

        CfnOutput(self, "DagsterUiUrl", value=f"http://{self.load_balancer.load_balancer_dns_name}", description="internal only")
        CfnOutput(self, "RunTaskDefinitionFamily", value=params.run_task_family)
        CfnOutput(self, "DagsterPgHost", value=self.database.db_instance_endpoint_address, description="DAGSTER_PG_HOST")
        CfnOutput(self, "DagsterPgSecretArn", value=db_secret.secret_arn, description="DAGSTER_PG_USERNAME / DAGSTER_PG_PASSWORD")
        CfnOutput(self, "LogGroup", value=self.log_group.log_group_name)
        for variable, secret in self.app_secrets.items():
            CfnOutput(self, f"{variable.title().replace('_', '')}SecretName", value=secret.secret_name, description=variable)

    def _task_role(self, construct_id: str, description: str) -> iam.Role:
        return iam.Role(self, construct_id, assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"), description=description)

    def _task_definition(
        self,
        construct_id: str,
        *,
        family: str,
        size: TaskSize,
        role: iam.IRole,
        image: ecs.ContainerImage,
        container: str,
        command: list[str] | None,
        env: dict[str, str],
        secrets: dict[str, ecs.Secret],
        port: int | None = None,
    ) -> ecs.FargateTaskDefinition:
        task = ecs.FargateTaskDefinition(
            self,
            construct_id,
            family=family,
            cpu=size.cpu,
            memory_limit_mib=size.memory,
            task_role=role,
            execution_role=self.execution_role,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64, operating_system_family=ecs.OperatingSystemFamily.LINUX
            ),
        )
        task.add_container(
            container,
            container_name=container,
            image=image,
            entry_point=ENTRY_POINT,
            command=command,
            environment=env,
            secrets=secrets,
            logging=ecs.LogDrivers.aws_logs(stream_prefix=container, log_group=self.log_group),
            port_mappings=[ecs.PortMapping(container_port=port)] if port else None,
        )
        acknowledge(
            task,
            "AwsSolutions-ECS2",
            "Plain environment variables hold only non-secret settings (URLs, host names, the instance file); every "
            "secret is a Secrets Manager reference in `secrets`",
        )
        return task

    def _grant_run_launcher(self, role: iam.Role, *, launches: bool) -> None:
        """What dagster_aws's EcsRunLauncher calls: the daemon launches, watches and stops run tasks; the
        webserver builds the launcher to terminate a run from the UI (it describes the task definition first)."""
        stack = Stack.of(self)
        cluster_name = f"{self.params.prefix()}-dagster"  # the literal Cluster is given, so the ARN reads plainly
        cluster_tasks = stack.format_arn(service="ecs", resource="task", resource_name=f"{cluster_name}/*")
        role.add_to_policy(iam.PolicyStatement(actions=["ecs:DescribeTasks", "ecs:StopTask"], resources=[cluster_tasks]))
        # No resource-level permissions exist for these two reads (IAM's service authorization reference).
        unscoped = ["ecs:DescribeTaskDefinition"]
        if launches:
            run_revisions = stack.format_arn(
                service="ecs", resource="task-definition", resource_name=f"{self.params.run_task_family}:*"
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["ecs:RunTask"],
                    resources=[run_revisions],
                    conditions={"ArnEquals": {"ecs:cluster": self.cluster.cluster_arn}},
                )
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["ecs:TagResource"],
                    resources=[cluster_tasks],
                    conditions={"StringEquals": {"ecs:CreateAction": "RunTask"}},
                )
            )
            # use_current_ecs_task_config: the daemon reads its own task's network interface to start runs alike.
            unscoped.append("ec2:DescribeNetworkInterfaces")
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["iam:PassRole"],
                    resources=[self.run_role.role_arn, self.execution_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
                )
            )
        role.add_to_policy(iam.PolicyStatement(actions=unscoped, resources=["*"]))
        region, account = self.params.region, "<AWS::AccountId>"
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:{region}:{account}:task/{cluster_name}/*]",
            "Run tasks get new ARNs each run; the wildcard is limited to tasks of this environment's cluster",
        )
        if launches:
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:{region}:{account}:task-definition/{self.params.run_task_family}:*]",
                "Any revision of the run task family (the launcher uses the latest); no other task definition",
            )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            f"{', '.join(unscoped)}: actions without resource-level permissions; read-only",
        )


_LAKE_WHY = "Asset files have one key per asset and partition under lake/; the wildcard stops at the lake prefix"
_LOGS_WHY = "One step-log object per run and step under the compute-logs prefix, outside the lake"


class _LakeAccess:
    """Object-level grants by prefix, written out so every action and key pattern is visible in review."""

    def __init__(
        self, params: EnvParams, lake: s3.IBucket, lake_key: kms.IKey, landing: s3.IBucket, landing_key: kms.IKey
    ) -> None:
        self.params = params
        self.lake, self.lake_key, self.landing, self.landing_key = lake, lake_key, landing, landing_key

    def _objects(self, role: iam.Role, bucket_role: str, key_patterns: list[str], actions: list[str], why: str) -> None:
        bucket = self.lake if bucket_role == "lake" else self.landing
        role.add_to_policy(iam.PolicyStatement(actions=actions, resources=[bucket.arn_for_objects(p) for p in key_patterns]))
        for pattern in key_patterns:
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{object_arn_finding(self.params, bucket_role, pattern)}]", why)

    def _list(self, role: iam.Role, bucket: s3.IBucket, prefixes: list[str]) -> None:
        patterns = [p for prefix in prefixes for p in (prefix, f"{prefix}/*")]
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"], resources=[bucket.bucket_arn], conditions={"StringLike": {"s3:prefix": patterns}}
            )
        )

    def read_write_lake(self, role: iam.Role) -> None:
        actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
        self._objects(role, "lake", [f"{LAKE_PREFIX}/*"], actions, _LAKE_WHY)
        self._list(role, self.lake, [LAKE_PREFIX])
        role.add_to_policy(iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[self.lake_key.key_arn]))

    def read_lake(self, role: iam.Role) -> None:
        self._objects(role, "lake", [f"{LAKE_PREFIX}/*"], ["s3:GetObject"], _LAKE_WHY)
        self._list(role, self.lake, [LAKE_PREFIX])
        role.add_to_policy(iam.PolicyStatement(actions=["kms:Decrypt"], resources=[self.lake_key.key_arn]))

    def read_landing(self, role: iam.Role) -> None:
        # Sale files and reference data; Firehose's error records (_firehose_errors/) stay out of reach.
        why = "Sale files and reference data have partner-chosen names under these two folders; nothing else is readable"
        self._objects(role, "landing", ["ticket_sales/*", "reference/*"], ["s3:GetObject"], why)
        self._list(role, self.landing, ["ticket_sales", "reference"])
        role.add_to_policy(iam.PolicyStatement(actions=["kms:Decrypt"], resources=[self.landing_key.key_arn]))

    def write_compute_logs(self, role: iam.Role) -> None:
        self._objects(role, "lake", [f"{COMPUTE_LOGS_PREFIX}/*"], ["s3:GetObject", "s3:PutObject"], _LOGS_WHY)
        self._list(role, self.lake, [COMPUTE_LOGS_PREFIX])

    def read_compute_logs(self, role: iam.Role) -> None:
        self._objects(role, "lake", [f"{COMPUTE_LOGS_PREFIX}/*"], ["s3:GetObject"], _LOGS_WHY)
        self._list(role, self.lake, [COMPUTE_LOGS_PREFIX])
        role.add_to_policy(iam.PolicyStatement(actions=["kms:Decrypt"], resources=[self.lake_key.key_arn]))


def _retention(days: int) -> logs.RetentionDays:
    return {30: logs.RetentionDays.ONE_MONTH, 90: logs.RetentionDays.THREE_MONTHS, 365: logs.RetentionDays.ONE_YEAR}[days]
