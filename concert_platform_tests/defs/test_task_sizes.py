"""Every job says how big a task its runs need where each run is its own Fargate task (EcsRunLauncher, infra/)."""

import pytest

from concert_platform.defs.build import build_definitions

from .conftest import demo_settings

# Fargate's CPU units and the memory (MiB) each allows.
FARGATE = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
}


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    defs = build_definitions(demo_settings(tmp_path_factory.mktemp("sizes")))
    return [job for job in defs.resolve_all_job_defs() if not job.name.startswith("__")]


def test_every_job_asks_for_a_task_size_fargate_offers(jobs):
    assert {job.name for job in jobs} >= {"catalog_job", "features_job", "insights_job", "ticket_sales_job", "consistency_job"}
    for job in jobs:
        cpu, memory = int(job.tags["ecs/cpu"]), int(job.tags["ecs/memory"])
        assert memory in FARGATE[cpu], f"{job.name}: {cpu} CPU units cannot have {memory} MiB on Fargate"


def test_the_insights_get_more_memory_than_the_default_run_task(jobs):
    sizes = {job.name: (int(job.tags["ecs/cpu"]), int(job.tags["ecs/memory"])) for job in jobs}
    assert sizes["insights_job"] == (1024, 8192) and sizes["ticket_sales_job"] == (1024, 4096)
