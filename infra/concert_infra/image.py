"""The ECR repository for deploy/Dockerfile's image: its own stack, so it exists before a service needs a tag."""

from __future__ import annotations

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from constructs import Construct

from concert_infra.params import EnvParams


class ImageStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, params: EnvParams, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # Immutable tags: a task definition names a git-sha tag, and that tag always means the same image.
        self.repository = ecr.Repository(
            self,
            "Repository",
            repository_name=f"{params.prefix()}-platform",
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            image_scan_on_push=True,
            encryption=ecr.RepositoryEncryption.KMS,
            lifecycle_rules=[ecr.LifecycleRule(max_image_count=50, description="keep the last 50 releases")],
            removal_policy=RemovalPolicy.RETAIN,
        )
        CfnOutput(self, "RepositoryUri", value=self.repository.repository_uri)
