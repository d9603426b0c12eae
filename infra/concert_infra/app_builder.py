"""Builds every stack of one environment into a CDK app, with cdk-nag's AWS Solutions checks attached."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from concert_infra.data import DataStack
from concert_infra.image import ImageStack
from concert_infra.network import NetworkStack
from concert_infra.orchestration import OrchestrationStack
from concert_infra.params import EnvParams
from concert_infra.streaming import StreamingStack
from concert_infra.warehouse import WarehouseStack

# What a synth without `-c image_tag=...` puts in the task definitions; deploys pass the pushed image's tag.
UNRELEASED_TAG = "unreleased"


@dataclass
class Stacks:
    network: NetworkStack
    image: ImageStack
    data: DataStack
    warehouse: WarehouseStack
    orchestration: OrchestrationStack
    streaming: StreamingStack

    def all(self) -> list[cdk.Stack]:
        return [self.network, self.image, self.data, self.warehouse, self.orchestration, self.streaming]


def build(app: cdk.App, params: EnvParams, *, image_tag: str = UNRELEASED_TAG, nag: bool = True) -> Stacks:
    # Account-agnostic: `cdk deploy` takes the account from its credentials; the region is fixed so that the
    # availability zones in params can be named without a lookup.
    env = cdk.Environment(region=params.region)

    def kw(part: str, description: str) -> dict:
        return {
            "stack_name": params.stack_name(part),
            "env": env,
            "description": f"concert platform ({params.name}): {description}",
        }

    network = NetworkStack(app, params.stack_name("network"), params=params, **kw("network", "VPC and the tasks' security group"))
    image = ImageStack(
        app, params.stack_name("image"), params=params, **kw("image", "ECR repository of deploy/Dockerfile's image")
    )
    data = DataStack(app, params.stack_name("data"), params=params, **kw("data", "lake and landing buckets"))
    warehouse = WarehouseStack(
        app,
        params.stack_name("warehouse"),
        params=params,
        vpc=network.vpc,
        tasks_sg=network.tasks_sg,
        lake_key=data.lake_key,
        **kw("warehouse", "Redshift Serverless and its COPY role"),
    )
    orchestration = OrchestrationStack(
        app,
        params.stack_name("orchestration"),
        params=params,
        image_tag=image_tag,
        vpc=network.vpc,
        tasks_sg=network.tasks_sg,
        ui_lb_sg=network.ui_lb_sg,
        repository=image.repository,
        lake_key=data.lake_key,
        lake_url=data.lake_url,
        landing_key=data.landing_key,
        landing_url=data.landing_url,
        redshift_iam_role=warehouse.copy_role.role_arn,
        **kw("orchestration", "Dagster on ECS Fargate, RDS PostgreSQL, secrets"),
    )
    streaming = StreamingStack(
        app,
        params.stack_name("streaming"),
        params=params,
        landing_key=data.landing_key,
        **kw("streaming", "Kinesis sales stream and Firehose into the landing zone"),
    )
    # Buckets are found by name (params.bucket_name), not by export: say the order outright.
    for consumer in (warehouse, orchestration, streaming):
        consumer.add_stack_dependency(data)
    stacks = Stacks(network, image, data, warehouse, orchestration, streaming)
    for stack in stacks.all():
        for key, value in params.tags.items():
            cdk.Tags.of(stack).add(key, value)
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks
