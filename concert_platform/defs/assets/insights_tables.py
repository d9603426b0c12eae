"""The insights a promoter acts on: forecasts, pace alerts, the sell-out watch, market opportunities, the report.

Thin wrappers over ``concert_platform.insights`` (pace, sellout_watch,
markets, plots, report) and ``insights_serving``, imported inside the asset
functions (scikit-learn and matplotlib stay out of loading the code location).

``concert_forecasts`` serves the model recorded in ``production_model`` (read
from the lake, not taken as an input: a failed gate skips production_model in
the run, and the forecasts must still follow the day's sales), or the
multiplicative pickup when no model was ever promoted; its ``model_version``
column and metadata say which, and why.
"""

import hashlib
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from concert_platform.defs.assets.insights_models import GROUP, md_list, sales_or_empty
from concert_platform.defs.automation import FOLLOWS_UPSTREAM
from concert_platform.defs.io_manager import PRIMARY_KEY, WAREHOUSE_POOL
from concert_platform.defs.resources import LakeResource, WarehouseResource

REPORT_ASSET = "insights_report"
REPORT_FILE = "report.html"
FAN_SHOWS = 6  # booking-curve panels in the forecasts' chart: the shows that matter most
PREVIEW = 10


def _preview(frame: pd.DataFrame, columns: list[str], rows: int = PREVIEW) -> dg.MetadataValue:
    return dg.MetadataValue.md(frame[columns].head(rows).to_markdown(index=False) if len(frame) else "_none_")


def _production(lake: LakeResource, warehouse: WarehouseResource) -> pd.DataFrame | None:
    """The production_model record the warehouse committed; None when no model was ever promoted."""
    committed = lake.lake().following(warehouse.warehouse().committed_versions)
    return committed.read("production_model").to_pandas() if committed.exists("production_model") else None


@dg.asset(
    group_name=GROUP,
    automation_condition=FOLLOWS_UPSTREAM,
    kinds={"pandas", "duckdb"},
    pool=WAREHOUSE_POOL,
    metadata={PRIMARY_KEY: ["concert_id"]},
    description="Per upcoming show (not yet played, not cancelled) as of the day after the last sales day: tickets "
    "sold, final tickets p10/p50/p90 (never above capacity), sell-out probability, and the model version serving.",
)
def concert_forecasts(
    context: dg.AssetExecutionContext,
    concerts: pd.DataFrame,
    venues: pd.DataFrame,
    artists: pd.DataFrame,
    ticket_sales_daily: pd.DataFrame,
    forecast_training: pd.DataFrame,
    forecast_backtest: pd.DataFrame,
    forecast_backtest_predictions: pd.DataFrame,
    lake: LakeResource,
    warehouse: WarehouseResource,
):
    from concert_platform.defs.assets import insights_serving as s
    from concert_platform.insights import plots

    daily = sales_or_empty(ticket_sales_daily)
    moment = s.as_of(daily, datetime.now(UTC).date())
    production = _production(lake, warehouse)
    serves = s.serving(production, s.judge(forecast_backtest, forecast_backtest_predictions))
    if serves.model_version == s.PICKUP_SERVING:
        model = s.PickupServing.fit(forecast_training)
    else:
        model = s.load(lake.lake(), serves.model_version)
    rows, booked = s.upcoming_snapshots(daily, concerts, venues, artists, moment)
    out = s.forecasts(rows, model, serves.model_version)
    context.log.info(serves.why)
    top = s.shows_that_matter(out, FAN_SHOWS)
    fan = s.forecast_fan(booked, top, concerts)
    return dg.Output(
        out,
        metadata={
            "as_of": dg.MetadataValue.text(moment.isoformat()),
            "model_version": dg.MetadataValue.text(serves.model_version),
            "serving": dg.MetadataValue.md(serves.why),
            "upcoming_shows": len(out),
            "likely_sellouts": int((out["sellout_probability"] >= 0.5).sum()),
            "shows_that_matter": _preview(
                top,
                [
                    "concert_id",
                    "days_to_show",
                    "tickets_sold",
                    "capacity",
                    "forecast_p10",
                    "forecast_p50",
                    "forecast_p90",
                    "sellout_probability",
                ],
            ),
            "booking_curves": dg.MetadataValue.md(plots.markdown_image(fan, "booking curves and forecast fans")),
        },
    )


@dg.asset(
    group_name=GROUP,
    automation_condition=FOLLOWS_UPSTREAM,
    kinds={"pandas", "duckdb"},
    pool=WAREHOUSE_POOL,
    metadata={PRIMARY_KEY: ["concert_id"]},
    description="Upcoming shows selling behind or ahead of similar finished shows at the same days to show, by how "
    "much (tickets and forecast-interval half-widths) and why; rank 1 the most severe. Shows on sale before the first "
    "loaded sales day are not compared: their sales before it were never loaded.",
)
def pace_alerts(
    concert_forecasts: pd.DataFrame, forecast_training: pd.DataFrame, concerts: pd.DataFrame, ticket_sales_daily: pd.DataFrame
) -> dg.Output:
    from concert_platform.insights import curves, pace

    status = concerts.assign(concert_id=concerts["concert_id"].astype(str)).drop_duplicates("concert_id").set_index("concert_id")
    snapshots = concert_forecasts.rename(columns={"tickets_sold": "tickets_sold_to_date"}).assign(
        status=lambda f: f["concert_id"].map(status["status"])
    )
    # forecast_training holds covered shows only, so the expectation is whole; the upcoming shows need the same test.
    covered = curves.covered_shows(curves.booking_curves(sales_or_empty(ticket_sales_daily), concerts), concerts)
    out = pace.pace_alerts(snapshots, pace.expected_curves(forecast_training), concert_forecasts, covered=covered)
    return dg.Output(
        out,
        metadata={
            "behind": int((out["direction"] == "behind").sum()),
            "ahead": int((out["direction"] == "ahead").sum()),
            "upcoming_not_covered": dg.MetadataValue.int(int((~concert_forecasts["concert_id"].astype(str).isin(covered)).sum())),
            "most_severe": _preview(out, ["severity_rank", "concert_id", "direction", "gap_tickets", "reason"]),
        },
    )


@dg.asset(
    group_name=GROUP,
    automation_condition=FOLLOWS_UPSTREAM,
    kinds={"pandas", "duckdb"},
    pool=WAREHOUSE_POOL,
    metadata={PRIMARY_KEY: ["concert_id"]},
    description="Shows likely to sell out early: candidates for an extra date (add_date) or a higher price "
    "(raise_price, when far ahead of similar-priced shows), earliest sell-outs first.",
)
def sellout_watch(concert_forecasts: pd.DataFrame, forecast_training: pd.DataFrame, concerts: pd.DataFrame) -> dg.Output:
    from concert_platform.insights import sellout_watch as watch

    out = watch.sellout_watch(concert_forecasts, forecast_training, concerts)
    counts = out["recommendation"].value_counts().to_dict()
    return dg.Output(
        out,
        metadata={
            "watched": len(out),
            "recommendations": dg.MetadataValue.json({k: int(v) for k, v in sorted(counts.items())}),
            "earliest_sellouts": _preview(out, ["concert_id", "sellout_probability", "days_early", "recommendation", "reason"]),
        },
    )


@dg.asset(
    group_name=GROUP,
    automation_condition=FOLLOWS_UPSTREAM,
    kinds={"pandas", "duckdb"},
    pool=WAREHOUSE_POOL,
    metadata={PRIMARY_KEY: ["artist_id", "city", "country"]},
    description="Per artist, the markets with strong demand signals and no upcoming show there, ranked, with reasons.",
)
def artist_market_opportunities(
    concert_demand_features: pd.DataFrame, venues: pd.DataFrame, artists: pd.DataFrame, artist_features: pd.DataFrame
) -> dg.Output:
    from concert_platform.insights import markets

    out = markets.artist_market_opportunities(concert_demand_features, venues, artists, artist_features)
    return dg.Output(
        out,
        metadata={
            "artists": int(out["artist_id"].nunique()),
            "markets": int(out[["city", "country"]].drop_duplicates().shape[0]),
            "best": _preview(out.sort_values("score", ascending=False), ["artist_id", "city", "country", "score", "reasons"]),
        },
    )


@dg.asset(
    group_name=GROUP,
    automation_condition=FOLLOWS_UPSTREAM,
    kinds={"html", "duckdb"},
    pool=WAREHOUSE_POOL,
    metadata={PRIMARY_KEY: ["report_uri"]},
    description="One self-contained HTML page a promoter can open (insights_report/report.html in the lake): "
    "forecasts, pace alerts, the sell-out watch, market opportunities and how well the model has done.",
)
def insights_report(
    concert_forecasts: pd.DataFrame,
    pace_alerts: pd.DataFrame,
    sellout_watch: pd.DataFrame,
    artist_market_opportunities: pd.DataFrame,
    forecast_backtest: pd.DataFrame,
    forecast_backtest_predictions: pd.DataFrame,
    concerts: pd.DataFrame,
    venues: pd.DataFrame,
    artists: pd.DataFrame,
    ticket_sales_daily: pd.DataFrame,
    lake: LakeResource,
) -> dg.Output:
    from concert_platform.defs.assets import insights_serving as s
    from concert_platform.insights import curves, report

    verdict = s.judge(forecast_backtest, forecast_backtest_predictions)
    serving = str(concert_forecasts["model_version"].iloc[0]) if len(concert_forecasts) else "no forecasts"
    place = venues.set_index("venue_id")
    shows = concerts.assign(
        concert_id=concerts["concert_id"].astype(str),
        venue=concerts["venue_id"].map(place["name"]),
        city=concerts["venue_id"].map(place["city"]),
    )
    top = s.shows_that_matter(concert_forecasts, FAN_SHOWS)
    booked = curves.booking_curves(sales_or_empty(ticket_sales_daily), concerts)
    fan = s.forecast_fan(booked, top, concerts)
    charts = [report.Chart("forecasts", "booking_curve_fan", fan, "booking curves and forecast fans")]
    if len(forecast_backtest):
        charts += [
            report.Chart("model", key, png, alt)
            for key, png, alt in s.model_charts(forecast_backtest, forecast_backtest_predictions)
        ]
    page = report.insights_report(
        forecasts=concert_forecasts,
        shows=shows,
        pace_alerts=pace_alerts,
        sellout_watch=sellout_watch,
        opportunities=artist_market_opportunities,
        artists=artists,
        backtest=forecast_backtest,
        gate=report.GateSummary(s.CANDIDATE, serving, verdict.passed, verdict.reasons, verdict.baseline_wins),
        charts=charts,
    ).encode()
    location = lake.lake().location
    folder = location.path(REPORT_ASSET)
    if not location.is_s3:
        location.filesystem.create_dir(folder, recursive=True)
    path = location.path(REPORT_ASSET, REPORT_FILE)
    with location.filesystem.open_output_stream(path) as out:
        out.write(page)
    uri = location.display(path)
    index = pd.DataFrame(
        [
            {
                "report_uri": uri,
                "as_of": concert_forecasts["as_of"].max() if len(concert_forecasts) else None,
                "bytes": len(page),
                "sha256": hashlib.sha256(page).hexdigest(),
                "serving_model": serving,
                "charts": len(charts),
                "gate_passed": verdict.passed,
            }
        ]
    )
    return dg.Output(
        index,
        metadata={
            "report": dg.MetadataValue.path(uri),
            "bytes": len(page),
            "serving_model": dg.MetadataValue.text(serving),
            "promotion": dg.MetadataValue.md(
                "passed the gate" if verdict.passed else "not promoted:\n\n" + md_list(verdict.reasons)
            ),
        },
    )
