import yaml

from concert_infra.instance_yaml import DEPLOY_INSTANCE, PROPAGATED_TAGS
from conftest import flat

SECRET_VARIABLES = {
    "DAGSTER_PG_USERNAME",
    "DAGSTER_PG_PASSWORD",
    "CONCERT_WAREHOUSE_URL",
    "TICKETMASTER_API_KEY",
    "SPOTIFY_CLIENT_ID",
    "SPOTIFY_CLIENT_SECRET",
}


def _task_definitions(synth):
    """family -> (logical id, its one container definition, the task definition's properties)."""
    found = {}
    for logical, task in synth.resources("AWS::ECS::TaskDefinition", "orchestration").items():
        (container,) = task["Properties"]["ContainerDefinitions"]
        found[task["Properties"]["Family"]] = (logical, container, task["Properties"])
    return found


def _env(container) -> dict:
    return {e["Name"]: e["Value"] for e in container.get("Environment", [])}


def test_secrets_are_referenced_never_inlined(each_env):
    for family, (_, container, _) in _task_definitions(each_env).items():
        env = _env(container)
        assert not SECRET_VARIABLES & set(env), f"{family} has a secret in plain environment"
        for secret in container.get("Secrets", []):
            value_from = flat(secret["ValueFrom"])
            assert value_from.startswith("${") or value_from.startswith("arn:"), value_from
            assert "Secret" in value_from, value_from
    for logical, secret in each_env.resources("AWS::SecretsManager::Secret").items():
        assert "SecretString" not in secret["Properties"], logical
    (db,) = each_env.resources("AWS::RDS::DBInstance", "orchestration").values()
    assert flat(db["Properties"]["MasterUserPassword"]).startswith("{{resolve:secretsmanager:")


def test_run_task_definition_is_what_the_launcher_names(each_env):
    params = each_env.params
    tasks = _task_definitions(each_env)
    _, container, props = tasks[params.run_task_family]
    assert container["Name"] == "run"
    assert (int(props["Cpu"]), int(props["Memory"])) == (params.run.cpu, params.run.memory)
    assert props["RequiresCompatibilities"] == ["FARGATE"] and props["NetworkMode"] == "awsvpc"
    assert "Command" not in container, "the launcher sets each run's command"
    assert container["EntryPoint"][:2] == ["/bin/sh", "-c"] and "DAGSTER_INSTANCE_YAML" in container["EntryPoint"][2]
    assert {s["Name"] for s in container["Secrets"]} == SECRET_VARIABLES
    env = _env(container)
    assert env["CONCERT_SOURCES"] == params.concert_sources
    assert int(env["CONCERT_LANDING_SETTLE_SECONDS"]) > 2 * params.firehose_buffer_seconds
    assert flat(env["CONCERT_LAKE_URL"]) == f"s3://concert-{params.name}-lake-${{AWS::AccountId}}-us-east-1/lake"
    assert flat(env["CONCERT_LANDING_URL"]) == f"s3://concert-{params.name}-landing-${{AWS::AccountId}}-us-east-1"
    assert flat(env["CONCERT_REDSHIFT_IAM_ROLE"]).startswith(
        f"${{import:concert-{params.name}-warehouse:ExportsOutputFnGetAttCopyRole"
    )
    logging = container["LogConfiguration"]
    assert logging["LogDriver"] == "awslogs" and logging["Options"]["awslogs-stream-prefix"] == "run"
    assert props["TaskRoleArn"]["Fn::GetAtt"][0].startswith("RunRole")


def test_every_service_logs_to_cloudwatch_and_runs_private(dev):
    (log_group_id,) = dev.resources("AWS::Logs::LogGroup", "orchestration")
    for family, (_, container, _) in _task_definitions(dev).items():
        assert container["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": log_group_id}, family
    services = dev.resources("AWS::ECS::Service", "orchestration")
    assert len(services) == 3
    for service in services.values():
        network = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED"
        assert all("tasksSubnet" in s["Fn::ImportValue"] for s in network["Subnets"])
    (daemon,) = [s for logical, s in services.items() if logical.startswith("Daemon")]
    assert daemon["Properties"]["DesiredCount"] == 1
    assert daemon["Properties"]["DeploymentConfiguration"]["MaximumPercent"] == 100, "never two daemons"


def test_webserver_is_only_behind_an_internal_load_balancer(dev):
    (lb,) = dev.resources("AWS::ElasticLoadBalancingV2::LoadBalancer", "orchestration").values()
    assert lb["Properties"]["Scheme"] == "internal"
    attributes = {a["Key"]: a["Value"] for a in lb["Properties"]["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    (target_group,) = dev.resources("AWS::ElasticLoadBalancingV2::TargetGroup", "orchestration").values()
    assert target_group["Properties"]["HealthCheckPath"] == "/server_info"
    assert target_group["Properties"]["Port"] == 3000
    (lb_sg,) = [sg for logical, sg in dev.resources("AWS::EC2::SecurityGroup", "network").items() if logical.startswith("UiLbSg")]
    assert [rule["CidrIp"] for rule in lb_sg["Properties"]["SecurityGroupIngress"]] == list(dev.params.ui_allowed_cidrs)
    assert "0.0.0.0/0" not in list(dev.params.ui_allowed_cidrs)


def test_database_is_encrypted_private_and_backed_up(each_env):
    (db,) = each_env.resources("AWS::RDS::DBInstance", "orchestration").values()
    props = db["Properties"]
    assert props["StorageEncrypted"] is True
    assert props["PubliclyAccessible"] is False
    assert all(
        "dataSubnet" in s["Fn::ImportValue"]
        for s in each_env.resources("AWS::RDS::DBSubnetGroup", "orchestration").popitem()[1]["Properties"]["SubnetIds"]
    )
    assert props["MultiAZ"] is each_env.params.db_multi_az
    assert props["DeletionProtection"] is each_env.params.deletion_protection
    assert props["BackupRetentionPeriod"] == each_env.params.db_backup_days


def _instance_from(container) -> dict:
    return yaml.safe_load(_env(container)["DAGSTER_INSTANCE_YAML"])


def test_rendered_instance_matches_the_stack(each_env):
    tasks = _task_definitions(each_env)
    run_logical, run_container, _ = tasks[each_env.params.run_task_family]
    instances = {family: _instance_from(container) for family, (_, container, _) in tasks.items()}
    assert len({yaml.safe_dump(i) for i in instances.values()}) == 1, "every service and run loads the same instance"
    instance = next(iter(instances.values()))
    launcher = instance["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_aws.ecs", "EcsRunLauncher")
    assert launcher["config"]["task_definition"] == each_env.params.run_task_family
    assert launcher["config"]["container_name"] == run_container["Name"]
    assert launcher["config"]["secrets_tag"] is None
    assert launcher["config"]["propagate_tags"]["allow_list"] == list(PROPAGATED_TAGS)
    # Every env: the file names is provided to every task (plain or as a secret), and the step-log bucket is the lake.
    wanted = _env_references(instance)
    assert wanted == {
        "DAGSTER_PG_HOST",
        "DAGSTER_PG_PORT",
        "DAGSTER_PG_USERNAME",
        "DAGSTER_PG_PASSWORD",
        "DAGSTER_PG_DB",
        "DAGSTER_COMPUTE_LOG_BUCKET",
    }
    for family, (_, container, _) in tasks.items():
        provided = set(_env(container)) | {s["Name"] for s in container.get("Secrets", [])}
        assert wanted <= provided, f"{family} lacks {wanted - provided}"
        assert (
            flat(_env(container)["DAGSTER_COMPUTE_LOG_BUCKET"])
            == f"concert-{each_env.params.name}-lake-${{AWS::AccountId}}-us-east-1"
        )
    # The daemon's task definition changes with each run task revision, so it restarts and picks the new one up.
    _, daemon, _ = tasks[f"concert-{each_env.params.name}-daemon"]
    assert _env(daemon)["CONCERT_RUN_TASK_DEFINITION"] == {"Ref": run_logical}


def test_rendered_instance_is_deploy_dagster_yaml_elsewhere(dev):
    _, container, _ = _task_definitions(dev)[dev.params.run_task_family]
    instance = _instance_from(container)
    deploy = yaml.safe_load(DEPLOY_INSTANCE.read_text())
    assert {k: v for k, v in instance.items() if k not in ("run_launcher", "compute_logs")} == {
        k: v for k, v in deploy.items() if k != "run_launcher"
    }
    assert instance["storage"]["postgres"]["postgres_db"]["scheme"] == "postgresql+psycopg2"
    assert instance["compute_logs"]["config"]["prefix"] == "dagster/compute-logs"


def _env_references(node) -> set[str]:
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {node["env"]}
        return set().union(*(_env_references(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_env_references(v) for v in node)) if node else set()
    return set()
