"""Declarative automation, evaluated as the daemon evaluates it: what follows new sales, and what a
failed blocking check on a dimension holds back."""

import dagster as dg

from concert_platform.defs.assets import catalog as catalog_module
from concert_platform.defs.build import build_definitions

from .conftest import seed

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def _requested(result) -> dict[str, set]:
    """Asset -> the partitions requested (None for an unpartitioned asset)."""
    requested = {}
    for r in result.results:
        if r.true_subset.size:
            subset = r.true_subset
            requested[r.key.to_user_string()] = (
                set(subset.expensively_compute_partition_keys()) if subset.is_partitioned else {None}
            )
    return requested


def test_a_days_roll_up_and_the_features_follow_its_sales(settings):
    _, days = seed(settings, days=2, per_day=800)
    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        for job, partition in (
            ("catalog_job", None),
            ("ticket_sales_job", days[0]),
            ("ticket_sales_job", days[1]),
            ("features_job", None),
        ):
            assert (
                defs.resolve_job_def(job).execute_in_process(instance=instance, partition_key=partition, run_config=QUIET).success
            )
        # Two days hold no finished show: the promotion gate fails (forecast_model's blocking check), by design.
        insights = defs.resolve_job_def("insights_job").execute_in_process(
            instance=instance, run_config=QUIET, raise_on_error=False
        )
        assert {e.step_key for e in insights.all_events if e.event_type_value == "STEP_FAILURE"} == {"forecast_model"}
        cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance).cursor
        assert dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor).total_requested == 0

        # An older day's sales reloaded on their own (a late file, a click in the UI): its roll-up follows
        # (not the latest day's), and once it has run, the features follow the roll-up.
        sales_only = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={dg.AssetKey("ticket_sales")})
        assert sales_only.execute_in_process(instance=instance, partition_key=days[0], run_config=QUIET).success
        evaluation = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        assert _requested(evaluation) == {"ticket_sales_daily": {days[0]}}

        daily_only = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={dg.AssetKey("ticket_sales_daily")})
        assert daily_only.execute_in_process(instance=instance, partition_key=days[0], run_config=QUIET).success
        evaluation = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=evaluation.cursor)
        # The insights follow the same sales, all of them but production_model: the candidate's last gate failed,
        # and only a passing gate promotes.
        insights_group = {k.to_user_string() for k in defs.resolve_asset_graph().asset_keys_for_group("insights")}
        features = {"concert_demand_features", "artist_features", "venue_features"}
        assert _requested(evaluation) == dict.fromkeys(features | insights_group - {"production_model"}, {None})


def test_features_wait_when_a_dimensions_blocking_check_fails(settings, monkeypatch):
    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        assert defs.resolve_job_def("catalog_job").execute_in_process(instance=instance, run_config=QUIET).success
        assert defs.resolve_job_def("features_job").execute_in_process(instance=instance, run_config=QUIET).success
        cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance).cursor

        real = catalog_module.concert_records
        monkeypatch.setattr(catalog_module, "concert_records", lambda *args: (lambda rows: rows + rows[:1])(real(*args)))
        broken = defs.resolve_job_def("catalog_job").execute_in_process(instance=instance, run_config=QUIET, raise_on_error=False)
        assert not broken.success  # the duplicated concert fails primary_key_unique, a blocking check
        [check] = [e.event_specific_data for e in broken.all_events
                   if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.event_specific_data.asset_key == dg.AssetKey("concerts")
                   and e.event_specific_data.check_name == "primary_key_unique"]  # fmt: skip
        assert not check.passed and check.blocking

        # concert_demand_features reads concerts: it waits. artist/venue features read the healthy
        # artists and venues (refreshed by the same run) and the demand features still built on good concerts.
        requested = _requested(dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor))
        assert "concert_demand_features" not in requested

        monkeypatch.setattr(catalog_module, "concert_records", real)
        assert defs.resolve_job_def("catalog_job").execute_in_process(instance=instance, run_config=QUIET).success
        requested = _requested(dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor))
        assert {"concert_demand_features", "artist_features", "venue_features"} <= set(requested)
