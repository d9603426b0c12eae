"""The insights group materialised in process, on a generated world with known truth and on the tiny demo world.

The generated world's tables enter as the upstream assets' materialisations:
small assets of the same names return its frames, and the IO manager writes
them to the lake and the warehouse as it writes the real ones (the sales as
one table: the partitioned path is the demo world's test, which runs the real
catalog and sales jobs).
"""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import dagster as dg
import pandas as pd
import pytest

from concert_platform import demo_run
from concert_platform.defs.assets import insights_models, insights_tables
from concert_platform.defs.assets.features import artist_features, concert_demand_features
from concert_platform.defs.assets.insights_models import BEATS_BASELINES, NO_FUTURE_SALES
from concert_platform.defs.assets.insights_serving import FORECAST_COLUMNS, PICKUP_SERVING
from concert_platform.defs.build import build_definitions
from concert_platform.defs.consistency import CHECK_NAME
from concert_platform.defs.resources import build_resources
from concert_platform.insights import curves, gate
from concert_platform.storage.filesystem import open_location
from concert_platform.storage.lake import Lake
from concert_platform.storage.warehouse import make_warehouse
from concert_platform_tests.insights.demand_world import GeneratedWorld, generate_world

from .conftest import demo_settings, seed

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
INSIGHTS = dg.load_assets_from_modules([insights_models, insights_tables])
FEATURES = [concert_demand_features, artist_features]


def _upstream(world: GeneratedWorld) -> list[dg.AssetsDefinition]:
    """Assets named as the catalog and sales assets, returning the world's frames."""
    concerts = world.concerts.assign(name=lambda f: "Show " + f["concert_id"].astype(str))
    artists = world.artists.assign(match_method="id_link")  # as the catalog records how an artist was matched
    frames = {"concerts": concerts, "venues": world.venues, "artists": artists, "ticket_sales_daily": world.daily}

    def make(name: str, frame: pd.DataFrame) -> dg.AssetsDefinition:
        @dg.asset(name=name, metadata={"primary_key": []})
        def _asset() -> pd.DataFrame:
            return frame

        return _asset

    return [make(name, frame) for name, frame in frames.items()]


def _materialize(settings, instance, assets, selection=None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets,
        resources=build_resources(settings),
        instance=instance,
        selection=selection,
        run_config=QUIET,
        raise_on_error=False,
    )


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def _check(result, asset: str, name: str):
    [evaluation] = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.event_specific_data.asset_key == dg.AssetKey(asset)
        and e.event_specific_data.check_name == name
    ]
    return evaluation


def _metadata(result, asset: str) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(asset)]
    return event.materialization.metadata


@pytest.fixture(scope="module")
def small_world() -> GeneratedWorld:
    return generate_world(seed=11, n_events=600)


@pytest.fixture(scope="module")
def group_run(small_world, tmp_path_factory):
    """The whole insights group on the small world, once: its gate fails on its own numbers."""
    settings = demo_settings(tmp_path_factory.mktemp("insights"))
    instance = dg.DagsterInstance.ephemeral()
    assets = [*_upstream(small_world), *FEATURES, *INSIGHTS]
    result = _materialize(settings, instance, assets)
    return settings, instance, assets, result


def _read(settings, table: str) -> pd.DataFrame:
    return make_warehouse(settings.warehouse_url, settings.warehouse_schema).read(table).to_pandas()


def test_forecasts_cover_every_upcoming_show_within_capacity(group_run, small_world):
    settings, _, _, result = group_run
    forecasts = _read(settings, "concert_forecasts")
    assert list(forecasts.columns) == FORECAST_COLUMNS
    as_of = small_world.today  # the day after the last sales day of the world
    concerts = small_world.concerts
    upcoming = concerts[(pd.to_datetime(concerts["local_date"]) >= pd.Timestamp(as_of)) & (concerts["status"] != "cancelled")]
    assert set(forecasts["concert_id"]) == set(upcoming["concert_id"]) and forecasts["concert_id"].is_unique
    assert (forecasts["as_of"] == as_of).all()
    assert (forecasts["forecast_p10"] <= forecasts["forecast_p50"]).all()
    assert (forecasts["forecast_p50"] <= forecasts["forecast_p90"]).all()
    known = forecasts["capacity"].notna()
    assert (forecasts.loc[known, "forecast_p90"] <= forecasts.loc[known, "capacity"]).all()
    assert (forecasts["forecast_p10"] >= forecasts["tickets_sold"]).all()
    assert forecasts.loc[known, "sellout_probability"].between(0, 1).all()
    assert "booking_curves" in _metadata(result, "concert_forecasts")


def test_training_leaves_out_and_counts_the_shows_on_sale_before_the_first_loaded_day(group_run, small_world):
    """Recounted by hand: the world's sales start on its first on-sale, so only shows of unknown on-sale
    that sold nothing (they may have sold before the first day, for all the data says) are left out."""
    _, _, _, result = group_run
    daily, concerts = small_world.daily, small_world.concerts
    first = pd.Timestamp(pd.to_datetime(daily["sale_date"]).min())
    first_sold = concerts["concert_id"].map(pd.to_datetime(daily["sale_date"]).groupby(daily["concert_id"]).min())
    onsale = concerts["onsale_start"].dt.tz_localize(None).dt.normalize()
    truncated = (onsale < first) | (onsale.isna() & ~(first_sold > first))
    played = (pd.to_datetime(concerts["local_date"]) < pd.Timestamp(small_world.today)) & ~concerts["status"].isin(
        ["cancelled", "postponed"]
    )
    metadata = _metadata(result, "forecast_training")
    assert metadata["sales_loaded_from"].value == first.date().isoformat()
    assert metadata["finished_shows_not_covered"].value == int((played & truncated).sum()) >= 1
    assert metadata["finished_shows"].value == int((played & ~truncated).sum())
    assert sorted(metadata["not_covered_sample"].value) == sorted(concerts.loc[played & truncated, "concert_id"])
    upcoming = pd.to_datetime(concerts["local_date"]) >= pd.Timestamp(small_world.today)
    assert _metadata(result, "pace_alerts")["upcoming_not_covered"].value == int(
        (upcoming & truncated & (concerts["status"] != "cancelled")).sum()
    )


def test_a_failed_gate_says_why_and_production_model_does_not_follow(group_run):
    settings, _, _, result = group_run
    assert not result.success  # the blocking check fails forecast_model's step
    evaluation = _check(result, "forecast_model", BEATS_BASELINES)
    assert evaluation.passed is False
    reasons = evaluation.metadata["reasons"].value
    assert "WAPE" in reasons or "coverage" in reasons or "sell-out" in reasons
    assert isinstance(evaluation.metadata["horizons_where_a_baseline_wins"].value, list)
    materialized = _materialized(result)
    assert "production_model" not in materialized
    assert {
        "forecast_model",
        "concert_forecasts",
        "pace_alerts",
        "sellout_watch",
        "artist_market_opportunities",
        "insights_report",
    } <= materialized
    # No model was ever promoted: the pickup serves, and the forecasts say so.
    assert set(_read(settings, "concert_forecasts")["model_version"]) == {PICKUP_SERVING}
    serving = _metadata(result, "concert_forecasts")["serving"].value
    assert "no model has passed the promotion gate yet" in serving and "failed the promotion gate" in serving
    backtest = _read(settings, "forecast_backtest")
    assert {"gbm", "multiplicative_pickup", "additive_pickup", "base_rate"} <= set(backtest["model"])
    assert {60, 30, 14, 7, 1, 0} <= set(backtest["horizon_days"])
    assert "charts" in _metadata(result, "forecast_backtest")


def test_make_run_prints_the_backtest_table_and_the_verdict(group_run, capsys):
    settings, _, _, result = group_run
    demo_run.print_backtest(settings, demo_run._failed_gate(result))
    out = capsys.readouterr().out
    header, *rows = out.strip().splitlines()[1:9]
    assert header.split() == ["model", "60", "d", "30", "d", "14", "d", "7", "d", "1", "d", "overall"]
    assert {row.split()[0] for row in rows if row.strip()} >= {"gbm", "multiplicative_pickup", "additive_pickup"}
    assert "not promoted:\n  - " in out


def test_a_passed_gate_promotes_the_candidate_and_it_serves(group_run, monkeypatch):
    settings, instance, assets, _ = group_run
    # A gate with no bars: what is under test is the wiring from the check to production_model and the forecasts.
    for reasons in ("_wape_reasons", "_coverage_reasons", "_sellout_reasons"):
        monkeypatch.setattr(gate, reasons, lambda *args: iter(()))
    result = _materialize(settings, instance, assets, selection=["forecast_model", "production_model", "concert_forecasts"])
    assert result.success
    assert _check(result, "forecast_model", BEATS_BASELINES).passed is True
    [candidate] = _read(settings, "forecast_model").to_dict("records")
    [promoted] = _read(settings, "production_model").to_dict("records")
    assert promoted["model_version"] == candidate["model_version"] and candidate["model_version"].startswith("m-")
    lake = Lake(open_location(settings.lake_url))
    assert lake.fs.get_file_info(lake.location.path(candidate["artifact_folder"], "forecaster.joblib")).size > 0
    assert set(_read(settings, "concert_forecasts")["model_version"]) == {candidate["model_version"]}


def test_the_report_is_in_the_lake_and_parses(group_run):
    settings, _, _, result = group_run
    [index] = _read(settings, "insights_report").to_dict("records")
    lake = Lake(open_location(settings.lake_url))
    path = lake.location.path("insights_report", "report.html")
    assert index["report_uri"] == lake.location.display(path)
    with lake.fs.open_input_stream(path) as stream:
        page = stream.read().decode()

    class Parsed(HTMLParser):
        def __init__(self):
            super().__init__()
            self.sections, self.images = set(), 0

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "section":
                self.sections.add(attrs["id"])
            if tag == "img":
                assert attrs["src"].startswith("data:image/png;base64,")
                self.images += 1

    parsed = Parsed()
    parsed.feed(page)
    assert parsed.sections == {"forecasts", "pace", "sellout", "opportunities", "model"}
    assert parsed.images == index["charts"] == 3
    assert "Not promoted" in page


def test_a_future_sale_in_the_features_blocks_every_model(small_world, tmp_path, monkeypatch):
    """One show's sales slip a day early in the booking curves (a UTC vs local day bug): its rows count tomorrow."""
    original = curves.booking_curves
    slipped_show = small_world.daily["concert_id"].iloc[0]

    def slipping(daily, concerts):
        out = original(daily, concerts)
        slipped = out["concert_id"] == slipped_show
        out.loc[slipped, "sale_date"] = out.loc[slipped, "sale_date"].map(lambda d: d - timedelta(days=1))
        return out

    monkeypatch.setattr(curves, "booking_curves", slipping)
    settings = demo_settings(tmp_path)
    assets = [*_upstream(small_world), *FEATURES, *INSIGHTS]
    result = _materialize(
        settings,
        dg.DagsterInstance.ephemeral(),
        assets,
        selection=[
            "concerts",
            "venues",
            "artists",
            "ticket_sales_daily",
            "forecast_training",
            "forecast_backtest",
            "forecast_backtest_predictions",
            "forecast_model",
        ],
    )
    evaluation = _check(result, "forecast_training", NO_FUTURE_SALES)
    assert evaluation.passed is False and evaluation.metadata["violations"].value > 0
    assert slipped_show in evaluation.metadata["sample"].value
    assert not result.success
    assert not {"forecast_backtest", "forecast_model"} & _materialized(result)


def test_the_tiny_demo_world_runs_and_says_why_nothing_was_promoted(tmp_path):
    settings = demo_settings(tmp_path)
    _, days = seed(settings, days=2, per_day=500)
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    for job, partition in [("catalog_job", None), *(("ticket_sales_job", d) for d in days), ("features_job", None)]:
        assert defs.resolve_job_def(job).execute_in_process(instance=instance, partition_key=partition, run_config=QUIET).success
    result = defs.resolve_job_def("insights_job").execute_in_process(instance=instance, run_config=QUIET, raise_on_error=False)
    failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failed == ["forecast_model"]  # the gate, and nothing else
    evaluation = _check(result, "forecast_model", BEATS_BASELINES)
    assert evaluation.passed is False and "too few finished shows for 6 rolling-origin folds" in evaluation.description
    assert "production_model" not in _materialized(result)
    assert _read(settings, "forecast_backtest").empty
    forecasts = _read(settings, "concert_forecasts")
    assert len(forecasts) > 0 and set(forecasts["model_version"]) == {PICKUP_SERVING}
    assert "insights_report" in _materialized(result)
    # The insights' tables agree between the lake and the warehouse (forecast_model's check waits on its failed step).
    consistency = {
        e.event_specific_data.asset_key.to_user_string(): e.event_specific_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.event_specific_data.check_name == CHECK_NAME
    }
    assert set(consistency) == _materialized(result) - {"forecast_model"} and all(consistency.values())
    # What `make run` prints in place of the step's traceback.
    assert any("too few finished shows" in reason for reason in demo_run._failed_gate(result))
