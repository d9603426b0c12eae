"""Each dev stack's whole template as a snapshot (tests/__snapshots__/), so any change to the deployed
resources shows in review. After an intended change: `make infra-test PYTEST_ARGS=--snapshot-update`."""

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

STACKS = ["network", "image", "data", "warehouse", "orchestration", "streaming"]


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("part", STACKS)
def test_template_snapshot(dev, snapshot_json, part):
    assert dev.templates[part] == snapshot_json
