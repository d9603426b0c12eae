import re
from pathlib import Path

from aws_cdk.assertions import Match

from concert_infra.params import LAKE_PREFIX, SALES_PREFIX, STAGING_PREFIX

REPO = Path(__file__).resolve().parents[2]


def _bucket_policies(synth):
    return {
        resource["Properties"]["Bucket"]["Ref"]: resource
        for resource in synth.resources("AWS::S3::BucketPolicy", "data").values()
    }


def test_every_bucket_is_encrypted_private_and_tls_only(each_env):
    buckets = each_env.resources("AWS::S3::Bucket")
    assert len(buckets) == 3, "lake, landing and the access-log bucket; no stack makes another"
    policies = _bucket_policies(each_env)
    for logical, bucket in buckets.items():
        props = bucket["Properties"]
        rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
        assert rule["SSEAlgorithm"] in ("aws:kms", "AES256"), logical
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, logical
        statements = policies[logical.split("/")[1]]["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Action"] == "s3:*" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        ), f"{logical} does not refuse plain HTTP"


def test_lake_and_landing_have_their_own_kms_keys_with_rotation(dev):
    buckets = dev.resources("AWS::S3::Bucket", "data")
    keys = {}
    for logical, bucket in buckets.items():
        rule = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        if logical.startswith(("Lake", "Landing")):
            assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
            keys[logical] = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0]
        else:
            # Only SSE-S3 buckets can receive S3 server access logs and ALB logs.
            assert logical.startswith("AccessLogs") and rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert len(set(keys.values())) == 2
    for key in dev.resources("AWS::KMS::Key", "data").values():
        assert key["Properties"]["EnableKeyRotation"] is True


def test_landing_is_versioned_and_raw_files_move_to_infrequent_access(dev):
    dev.template("data").has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": {"Fn::Join": ["", ["concert-dev-landing-", {"Ref": "AWS::AccountId"}, "-us-east-1"]]},
            "VersioningConfiguration": {"Status": "Enabled"},
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Prefix": SALES_PREFIX,
                                "Transitions": [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}],
                                "Status": "Enabled",
                            }
                        ),
                        Match.object_like({"NoncurrentVersionExpiration": {"NoncurrentDays": 30}}),
                    ]
                )
            },
            "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
        },
    )


def test_lake_staging_keys_expire_and_match_the_platforms_layout(dev):
    lake_source = (REPO / "concert_platform" / "storage" / "lake.py").read_text()
    staging = re.search(r'^STAGING = "([^"]+)"', lake_source, re.M).group(1)
    assert STAGING_PREFIX == f"{LAKE_PREFIX}/{staging}/"
    dev.template("data").has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": {"Fn::Join": ["", ["concert-dev-lake-", {"Ref": "AWS::AccountId"}, "-us-east-1"]]},
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [Match.object_like({"Prefix": "lake/_staging/", "ExpirationInDays": 7, "Status": "Enabled"})]
                )
            },
        },
    )


def test_new_sale_files_reach_a_queue_through_eventbridge(dev):
    template = dev.template("data")
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {"object": {"key": [{"prefix": SALES_PREFIX}]}, "bucket": Match.any_value()},
            },
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [Match.string_like_regexp("^LandingEvents"), "Arn"]}})],
        },
    )
    queues = dev.resources("AWS::SQS::Queue", "data")
    assert all(q["Properties"]["SqsManagedSseEnabled"] for q in queues.values())
