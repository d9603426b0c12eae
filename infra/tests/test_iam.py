"""Least privilege across every stack: no wildcard action on a wildcard resource, and the few `*` resources
are actions IAM cannot scope."""

from conftest import flat

# Actions AWS offers no resource-level permissions for (IAM's service authorization reference).
UNSCOPABLE = {"ecs:DescribeTaskDefinition", "ec2:DescribeNetworkInterfaces", "ecr:GetAuthorizationToken"}


def _statements(synth):
    """(where, statement) of every identity policy: AWS::IAM::Policy, managed policies, roles' inline policies."""
    for where, policy in {**synth.resources("AWS::IAM::Policy"), **synth.resources("AWS::IAM::ManagedPolicy")}.items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            yield where, statement
    for where, role in synth.resources("AWS::IAM::Role").items():
        for inline in role["Properties"].get("Policies", []):
            for statement in inline["PolicyDocument"]["Statement"]:
                yield where, statement


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_no_policy_allows_wildcard_actions(each_env):
    for where, statement in _statements(each_env):
        for action in _as_list(statement["Action"]):
            assert action != "*" and not action.endswith(":*"), f"{where}: {action}"


def test_resource_star_only_for_actions_iam_cannot_scope(each_env):
    for where, statement in _statements(each_env):
        if "*" in _as_list(statement["Resource"]):
            assert set(_as_list(statement["Action"])) <= UNSCOPABLE, f"{where}: {statement['Action']} on *"


def test_key_policies_only_delegate_to_the_account(each_env):
    # The one `kms:*` on `*` is KMS's default key policy: the account's own IAM policies decide, as above.
    for where, key in each_env.resources("AWS::KMS::Key").items():
        for statement in key["Properties"]["KeyPolicy"]["Statement"]:
            if statement["Action"] == "kms:*":
                assert flat(statement["Principal"]["AWS"]) == "arn:${AWS::Partition}:iam::${AWS::AccountId}:root", where


def test_no_role_carries_a_managed_policy(each_env):
    for where, role in each_env.resources("AWS::IAM::Role").items():
        assert "ManagedPolicyArns" not in role["Properties"], where


def test_daemon_runs_only_the_run_task_family_in_its_own_cluster(dev):
    statements = [s for where, s in _statements(dev) if where.startswith("orchestration/DaemonRole")]
    (run_task,) = [s for s in statements if s["Action"] == "ecs:RunTask"]
    assert flat(run_task["Resource"]) == "arn:${AWS::Partition}:ecs:us-east-1:${AWS::AccountId}:task-definition/concert-dev-run:*"
    assert list(run_task["Condition"]["ArnEquals"]) == ["ecs:cluster"]
    (pass_role,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert sorted(r["Fn::GetAtt"][0][:7] for r in pass_role["Resource"]) == ["Executi", "RunRole"]


def test_run_tasks_cannot_read_firehose_errors_or_write_the_landing_zone(dev):
    statements = [s for where, s in _statements(dev) if where.startswith("orchestration/RunRole")]
    landing = "arn:${AWS::Partition}:s3:::concert-dev-landing-${AWS::AccountId}-us-east-1"
    landing_grants = {
        (action, resource)
        for s in statements
        for action in _as_list(s["Action"])
        for resource in _as_list(flat(s["Resource"]))
        if resource.startswith(landing)
    }
    assert landing_grants == {
        ("s3:GetObject", f"{landing}/ticket_sales/*"),
        ("s3:GetObject", f"{landing}/reference/*"),
        ("s3:ListBucket", landing),
    }
