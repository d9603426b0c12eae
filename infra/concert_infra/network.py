"""The VPC every other stack lives in, and the security group Dagster's tasks share."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from concert_infra.params import EnvParams


class NetworkStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, params: EnvParams, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.params = params
        # Public subnets hold only the NAT gateways (the sources' APIs are on the internet); tasks run in
        # private subnets, the databases in isolated ones with no route out.
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(params.vpc_cidr),
            availability_zones=list(params.availability_zones),
            nat_gateways=params.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(name="tasks", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20),
                ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
            ],
            restrict_default_security_group=False,
        )
        # S3 through a gateway endpoint: free, and lake/landing traffic (gigabytes a day at scale) skips the NAT's
        # per-GB charge.
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        flow_logs = logs.LogGroup(self, "FlowLogs", retention=logs.RetentionDays.ONE_MONTH)
        self.vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))

        # One group for the code server, webserver, daemon and every run task: the EcsRunLauncher starts runs
        # in the daemon's own network configuration, so they share it anyway. The databases admit this group.
        self.tasks_sg = ec2.SecurityGroup(
            self, "TasksSg", vpc=self.vpc, description="Dagster code server, webserver, daemon and run tasks"
        )
        self.tasks_sg.add_ingress_rule(self.tasks_sg, ec2.Port.tcp(4000), "gRPC to the code server from the webserver and daemon")
        # The UI's internal load balancer group lives here too: the rule letting it reach the webserver sits on
        # the tasks' group, and both in one stack keeps the stacks' references one-way.
        self.ui_lb_sg = ec2.SecurityGroup(
            self, "UiLbSg", vpc=self.vpc, description="Internal load balancer of the Dagster UI", allow_all_outbound=False
        )
        for cidr in params.ui_allowed_cidrs:
            self.ui_lb_sg.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(80), "Dagster UI from the VPC / VPN")
