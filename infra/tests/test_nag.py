"""cdk-nag's AWS Solutions pack runs on every synth (app_builder.build attaches it): the dev and prod
fixtures exist only because synthesis passed. These tests show the pack is live and its acknowledgements
are each justified."""

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from concert_infra.app_builder import build
from concert_infra.nag import acknowledge
from concert_infra.params import DEV


def test_both_environments_pass_the_aws_solutions_checks(dev, prod):
    assert len(dev.templates) == len(prod.templates) == 6


def test_an_unacknowledged_finding_fails_synthesis(tmp_path):
    app = cdk.App(outdir=str(tmp_path), analytics_reporting=False)
    stacks = build(app, DEV)
    # A bucket with none of the data stack's protections.
    s3.Bucket(stacks.data, "Careless")
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = (tmp_path / "validation-report.json").read_text()
    assert "concert-dev-data/Careless/Resource" in report and "AwsSolutions-S10" in report


def test_acknowledgements_need_a_reason(tmp_path):
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "S")
    with pytest.raises(ValueError, match="real reason"):
        acknowledge(stack, "AwsSolutions-S1", "because")


def test_every_acknowledgement_carries_its_reason(dev):
    acknowledged = {}
    for stack in dev.stacks.all():
        for construct in stack.node.find_all():
            for entry in construct.node.metadata:
                if entry.type == "aws:cdk:acknowledged-rules":
                    for rule, reason in entry.data.items():
                        # CDK's own acknowledgements (CloudFormation-Validate::...) are not ours to justify.
                        if rule.startswith("Annotation::AwsSolutions-"):
                            acknowledged[(construct.node.path, rule)] = reason
    assert len(acknowledged) > 10
    for (path, rule), reason in acknowledged.items():
        assert len(reason) >= 40, f"{path} {rule}: {reason!r}"
