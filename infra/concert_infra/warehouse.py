"""Redshift Serverless in the isolated subnets, and the one role its COPY assumes to read the lake.

The admin password is Redshift-managed: Redshift generates it, keeps it in Secrets Manager (encrypted with
this stack's key) and rotates it; it never passes through CloudFormation. The platform connects as its own
loader user, whose URL is the CONCERT_WAREHOUSE_URL secret (orchestration stack).
"""

from __future__ import annotations

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_redshiftserverless as redshift
from aws_cdk import aws_s3 as s3
from constructs import Construct

from concert_infra.nag import acknowledge, object_arn_finding
from concert_infra.params import LAKE_PREFIX, EnvParams

REDSHIFT_PORT = 5439


class WarehouseStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        params: EnvParams,
        vpc: ec2.IVpc,
        tasks_sg: ec2.ISecurityGroup,
        lake_key: kms.IKey,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal = RemovalPolicy.RETAIN if params.deletion_protection else RemovalPolicy.DESTROY
        lake = s3.Bucket.from_bucket_name(self, "Lake", params.bucket_name("lake"))
        key = kms.Key(
            self, "WarehouseKey", enable_key_rotation=True, description=f"{params.prefix()} Redshift", removal_policy=removal
        )

        # Redshift's COPY reads Parquet the lake staged or published under lake/ (both live there) and nothing
        # else: not the landing zone, not the compute logs beside the lake.
        self.copy_role = iam.Role(
            self,
            "CopyRole",
            description="Assumed by Redshift's COPY: read the lake prefix only",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("redshift.amazonaws.com"), iam.ServicePrincipal("redshift-serverless.amazonaws.com")
            ),
        )
        policy = iam.Policy(
            self,
            "CopyReadsLake",
            statements=[
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[lake.arn_for_objects(f"{LAKE_PREFIX}/*")]),
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[lake.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [LAKE_PREFIX, f"{LAKE_PREFIX}/*"]}},
                ),
                iam.PolicyStatement(actions=["kms:Decrypt"], resources=[lake_key.key_arn]),
            ],
        )
        policy.attach_to_role(self.copy_role)
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{object_arn_finding(params, 'lake', LAKE_PREFIX + '/*')}]",
            "COPY reads any object under the lake prefix (each day's file has its own key); the wildcard stops at lake/",
        )

        self.security_group = ec2.SecurityGroup(self, "RedshiftSg", vpc=vpc, description="Redshift Serverless workgroup")
        self.security_group.add_ingress_rule(tasks_sg, ec2.Port.tcp(REDSHIFT_PORT), "Dagster run tasks load the warehouse")

        namespace_name = f"{params.prefix()}-warehouse"
        self.namespace = redshift.CfnNamespace(
            self,
            "Namespace",
            namespace_name=namespace_name,
            db_name=params.redshift_db,
            admin_username="concert_admin",
            manage_admin_password=True,
            admin_password_secret_kms_key_id=key.key_arn,
            kms_key_id=key.key_arn,
            iam_roles=[self.copy_role.role_arn],
            default_iam_role_arn=self.copy_role.role_arn,
            log_exports=["userlog", "connectionlog", "useractivitylog"],
        )
        self.namespace.apply_removal_policy(removal)
        self.workgroup = redshift.CfnWorkgroup(
            self,
            "Workgroup",
            workgroup_name=f"{params.prefix()}-warehouse",
            namespace_name=namespace_name,
            base_capacity=params.redshift_base_rpu,
            max_capacity=params.redshift_max_rpu,
            port=REDSHIFT_PORT,
            publicly_accessible=False,
            # COPY's reads of the lake go through the VPC (the S3 gateway endpoint), not Redshift's own network.
            enhanced_vpc_routing=True,
            subnet_ids=vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids,
            security_group_ids=[self.security_group.security_group_id],
            config_parameters=[
                redshift.CfnWorkgroup.ConfigParameterProperty(parameter_key="require_ssl", parameter_value="true")
            ],
        )
        self.workgroup.add_resource_dependency(self.namespace)

        self.endpoint = self.workgroup.attr_workgroup_endpoint_address
        CfnOutput(self, "RedshiftIamRole", value=self.copy_role.role_arn, description="CONCERT_REDSHIFT_IAM_ROLE")
        CfnOutput(
            self,
            "RedshiftEndpoint",
            value=self.endpoint,
            description="host of CONCERT_WAREHOUSE_URL (redshift://user:pw@host:5439/db)",
        )
        CfnOutput(self, "RedshiftDatabase", value=params.redshift_db)
