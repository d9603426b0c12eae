from conftest import flat


def test_workgroup_is_private_in_the_isolated_subnets(each_env):
    workgroups = each_env.resources("AWS::RedshiftServerless::Workgroup", "warehouse")
    (workgroup,) = workgroups.values()
    props = workgroup["Properties"]
    assert props["PubliclyAccessible"] is False
    assert props["EnhancedVpcRouting"] is True
    assert props["Port"] == 5439
    assert {"ParameterKey": "require_ssl", "ParameterValue": "true"} in props["ConfigParameters"]
    # Three subnets, all from the VPC's isolated ("data") tier, imported from the network stack.
    assert len(props["SubnetIds"]) == 3
    assert all("dataSubnet" in subnet["Fn::ImportValue"] for subnet in props["SubnetIds"])


def test_admin_password_is_redshift_managed_in_secrets_manager(dev):
    (namespace,) = dev.resources("AWS::RedshiftServerless::Namespace", "warehouse").values()
    props = namespace["Properties"]
    assert props["ManageAdminPassword"] is True
    assert "AdminUserPassword" not in props
    assert props["AdminPasswordSecretKmsKeyId"] == props["KmsKeyId"]


def test_copy_role_reads_only_the_lake_prefix(dev):
    template = dev.template("warehouse")
    (role_id,) = dev.resources("AWS::IAM::Role", "warehouse")
    (namespace,) = dev.resources("AWS::RedshiftServerless::Namespace", "warehouse").values()
    assert namespace["Properties"]["IamRoles"] == [{"Fn::GetAtt": [role_id, "Arn"]}]
    assert namespace["Properties"]["DefaultIamRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    # Nothing but this one policy: no managed policies, no inline ones.
    role = dev.resources("AWS::IAM::Role", "warehouse")[role_id]["Properties"]
    assert "ManagedPolicyArns" not in role and "Policies" not in role
    policies = [
        p for p in dev.resources("AWS::IAM::Policy", "warehouse").values() if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    (policy,) = policies
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    lake = "arn:${AWS::Partition}:s3:::concert-dev-lake-${AWS::AccountId}-us-east-1"
    readable = [{**st, "Resource": flat(st["Resource"])} for st in statements]
    assert readable[:2] == [
        {"Action": "s3:GetObject", "Effect": "Allow", "Resource": f"{lake}/lake/*"},
        {
            "Action": "s3:ListBucket",
            "Condition": {"StringLike": {"s3:prefix": ["lake", "lake/*"]}},
            "Effect": "Allow",
            "Resource": lake,
        },
    ]
    assert readable[2]["Action"] == "kms:Decrypt" and readable[2]["Resource"].startswith(
        "${import:concert-dev-data:ExportsOutputFnGetAttLakeKey"
    )
    assert len(readable) == 3
    template.has_output(
        "RedshiftIamRole", {"Value": {"Fn::GetAtt": [role_id, "Arn"]}, "Description": "CONCERT_REDSHIFT_IAM_ROLE"}
    )


def test_only_the_platforms_tasks_reach_redshift(dev):
    ingress = [
        sg["Properties"].get("SecurityGroupIngress") for sg in dev.resources("AWS::EC2::SecurityGroup", "warehouse").values()
    ]
    rules = dev.resources("AWS::EC2::SecurityGroupIngress", "warehouse").values()
    assert ingress == [None] or ingress == [[]]
    (rule,) = rules
    assert rule["Properties"]["FromPort"] == rule["Properties"]["ToPort"] == 5439
    assert "TasksSg" in rule["Properties"]["SourceSecurityGroupId"]["Fn::ImportValue"]
