"""Generated worlds with known truth, built once per test session (a few seconds each)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from concert_platform_tests.insights.demand_world import ANCHOR, GeneratedWorld, Split, generate_world, split

# Shows played from anchor - 270 days; by anchor + 110 about 3,600 have finished to learn from, and
# about 900 more are played before "today" (anchor + 200) to be held to.
CUTOFF = ANCHOR + timedelta(days=110)


@pytest.fixture(scope="session")
def demand_world() -> GeneratedWorld:
    """The demo catalog's 5,400 shows and their sales before anchor + 200 days."""
    return generate_world(seed=7)


@pytest.fixture(scope="session")
def world_split(demand_world) -> Split:
    return split(demand_world, CUTOFF)


@pytest.fixture(scope="session")
def small_world() -> GeneratedWorld:
    """600 shows: enough to fit every model, quick enough for tests of behaviour rather than accuracy."""
    return generate_world(seed=11, n_events=600)


@pytest.fixture(scope="session")
def small_split(small_world) -> Split:
    return split(small_world, CUTOFF)
