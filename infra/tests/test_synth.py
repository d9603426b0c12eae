"""`python app.py` as `make infra-synth` runs it, with no AWS credentials or configuration in reach."""

import json
import os
import subprocess
import sys
from pathlib import Path

INFRA = Path(__file__).resolve().parents[1]


def test_app_synthesises_every_stack_without_aws_credentials(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    # No profile or config file either: HOME points at an empty folder.
    env |= {"HOME": str(tmp_path), "CDK_OUTDIR": str(tmp_path / "out"), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    done = subprocess.run([sys.executable, "app.py"], cwd=INFRA, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for part in ["network", "image", "data", "warehouse", "orchestration", "streaming"]:
        assert f"concert-dev-{part}" in done.stderr
        assert json.loads((tmp_path / "out" / f"concert-dev-{part}.template.json").read_text())["Resources"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert "missing" not in manifest, "synth needed a lookup"
