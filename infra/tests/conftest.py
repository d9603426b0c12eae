"""Each environment's app is synthesised once per session (about ten seconds each), with cdk-nag attached:
building it at all means the AWS Solutions checks passed."""

from __future__ import annotations

import os
from dataclasses import dataclass

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from concert_infra.app_builder import Stacks, build
from concert_infra.params import ENVIRONMENTS, EnvParams

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@dataclass
class Synth:
    params: EnvParams
    stacks: Stacks
    templates: dict[str, dict]  # stack part ("data", ...) -> the template as JSON

    def template(self, part: str) -> Template:
        return Template.from_json(self.templates[part])

    def resources(self, resource_type: str, part: str | None = None) -> dict[str, dict]:
        """logical id -> resource, of one stack or of all (ids prefixed with the stack part)."""
        parts = [part] if part else list(self.templates)
        return {
            (logical if part else f"{p}/{logical}"): resource
            for p in parts
            for logical, resource in self.templates[p].get("Resources", {}).items()
            if resource["Type"] == resource_type
        }


def flat(value) -> str | list:
    """A template value as readable text: Fn::Join joined, {"Ref": X} as ${X}, an import as ${import:X},
    Fn::GetAtt as ${X.Attr}; lists element-wise. Makes ARNs comparable as plain strings."""
    if isinstance(value, list):
        return [flat(v) for v in value]
    if isinstance(value, str):
        return value
    (key, arg), *_ = value.items()
    if key == "Fn::Join":
        return arg[0].join(flat(part) for part in arg[1])
    if key == "Ref":
        return f"${{{arg}}}"
    if key == "Fn::ImportValue":
        return f"${{import:{arg}}}"
    if key == "Fn::GetAtt":
        return f"${{{arg[0]}.{arg[1]}}}"
    raise ValueError(f"no flat form for {value}")


def synthesise(env_name: str, outdir) -> Synth:
    # No analytics: the CDK metadata resource would put library versions into every snapshot.
    app = cdk.App(outdir=str(outdir), analytics_reporting=False)
    params = ENVIRONMENTS[env_name]
    stacks = build(app, params)
    assembly = app.synth()
    templates = {
        s.stack_name.removeprefix(params.prefix() + "-"): assembly.get_stack_by_name(s.stack_name).template for s in stacks.all()
    }
    return Synth(params, stacks, templates)


@pytest.fixture(scope="session")
def dev(tmp_path_factory) -> Synth:
    return synthesise("dev", tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def prod(tmp_path_factory) -> Synth:
    return synthesise("prod", tmp_path_factory.mktemp("cdk-prod"))


@pytest.fixture(params=["dev", "prod"], scope="session")
def each_env(request, dev, prod) -> Synth:
    return {"dev": dev, "prod": prod}[request.param]
