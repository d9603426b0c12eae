"""cdk-nag acknowledgements: every one names the rule and says why it does not apply here."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

from concert_infra.params import EnvParams


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge ``rule`` (e.g. ``AwsSolutions-IAM5[Resource::*]``) on ``scope`` and its children."""
    if len(reason) < 20:
        raise ValueError(f"{rule}: an acknowledgement needs a real reason, not {reason!r}")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


def object_arn_finding(params: EnvParams, bucket_role: str, key_pattern: str) -> str:
    """How cdk-nag prints an object ARN of one of our named buckets in an IAM5 finding."""
    name = f"{params.prefix()}-{bucket_role}-<AWS::AccountId>-{params.region}"
    return f"arn:<AWS::Partition>:s3:::{name}/{key_pattern}"
