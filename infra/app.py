"""The CDK app: `python app.py` (or `cdk synth`) writes every stack of one environment to cdk.out.

    python app.py                       # dev, the image tag "unreleased"
    python app.py --env prod --image-tag 3f2a9c1
    cdk synth -c env=prod -c image_tag=3f2a9c1
    cdk deploy -c env=prod -c image_tag=3f2a9c1 --all

No AWS credentials are needed to synthesise: no lookups, fixed region and availability zones (params.py).
Synthesis fails if cdk-nag's AWS Solutions checks find anything not acknowledged with a reason.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import aws_cdk as cdk

from concert_infra.app_builder import UNRELEASED_TAG, build
from concert_infra.params import ENVIRONMENTS


def main() -> None:
    started = time.monotonic()
    # The cdk CLI says where with CDK_OUTDIR; `python app.py` alone writes beside this file, as `cdk synth` does.
    app = cdk.App(outdir=None if os.environ.get("CDK_OUTDIR") else str(Path(__file__).resolve().parent / "cdk.out"))
    # Options when run by hand, context (-c env=..., -c image_tag=...) when run by the cdk CLI.
    parser = argparse.ArgumentParser(description="Synthesise the concert platform's stacks")
    parser.add_argument("--env", choices=sorted(ENVIRONMENTS), default=app.node.try_get_context("env") or "dev")
    parser.add_argument("--image-tag", default=app.node.try_get_context("image_tag") or UNRELEASED_TAG)
    args = parser.parse_args()
    env_name = args.env
    if env_name not in ENVIRONMENTS:
        sys.exit(f"unknown environment {env_name!r}: one of {', '.join(ENVIRONMENTS)} (-c env=...)")
    stacks = build(app, ENVIRONMENTS[env_name], image_tag=args.image_tag)
    assembly = app.synth()
    for stack in stacks.all():
        template = assembly.get_stack_by_name(stack.stack_name).template
        print(f"{stack.stack_name:32} {len(template.get('Resources', {})):4} resources", file=sys.stderr)
    print(
        f"synthesised {len(stacks.all())} stacks for {env_name} into {assembly.directory} in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
