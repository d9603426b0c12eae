"""The insights engine's model assets: training rows, the backtest, the candidate model and the production model.

Thin wrappers over ``concert_platform.insights`` (pure, tested) and
``insights_serving``. Those import scikit-learn and matplotlib, so they are
imported inside the asset functions: loading the code location (every CLI
call, run worker and code server) must not pay for them.

How promotion works in Dagster terms: ``forecast_model`` carries the BLOCKING
check ``beats_baselines`` (the promotion gate). When it fails, the step fails
after its materialisation is stored, and ``production_model``, its only
downstream asset, is not materialised in that run: the previous
``production_model`` keeps serving (``concert_forecasts`` reads it from the
lake), or the multiplicative pickup when no model was ever promoted.
``concert_forecasts`` and the insights after it are deliberately NOT
downstream of ``forecast_model``, or a failed gate would stop the day's
forecasts too; ``PROMOTION_FIRST`` (a step priority) makes a run promote before
it scores, so a model promoted in a run serves that run's forecasts.
"""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd
import pyarrow as pa

from concert_platform.defs.automation import FOLLOWS_UPSTREAM
from concert_platform.defs.io_manager import PRIMARY_KEY, WAREHOUSE_POOL
from concert_platform.defs.resources import LakeResource
from concert_platform.transforms.sales_daily import DAILY_SALES_SCHEMA


def one_thread():
    """OpenMP at one thread for the boosted models' fits (bench/README.md "Insights"): with two on this
    kind of 2-core machine a fit waits for the second thread whenever another process holds a core
    (a 25 s backtest once took 846 s), and two threads saved only 1-3 s when the machine was idle."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


GROUP = "insights"
NO_FUTURE_SALES = "no_future_sales"
BEATS_BASELINES = "beats_baselines"
# The in-process executor runs the ready step of highest priority first: forecast_model and
# production_model run before concert_forecasts, which becomes ready at the same time.
PROMOTION_FIRST = {"dagster/priority": "10"}
_SHOWN = 20


def sales_or_empty(daily: pd.DataFrame) -> pd.DataFrame:
    """No sales day loaded yet: the lake has no schema to give, so the daily table's own."""
    return DAILY_SALES_SCHEMA.empty_table().to_pandas() if daily.columns.empty else daily


def md_list(items) -> str:
    return "\n".join(f"- {item}" for item in items) or "_none_"


@dg.asset(
    group_name=GROUP,
    automation_condition=FOLLOWS_UPSTREAM,
    kinds={"pandas", "duckdb"},
    pool=WAREHOUSE_POOL,
    metadata={PRIMARY_KEY: ["concert_id", "as_of"]},
    check_specs=[
        dg.AssetCheckSpec(
            NO_FUTURE_SALES,
            asset="forecast_training",
            blocking=True,
            description="No training row counts a sale on or after its as-of day, or a final count of a show not played "
            "before the cutoff (recounted from ticket_sales_daily): a leak stops every model downstream",
        )
    ],
    description="What the forecasters learn from: every show played before the day after the last sales day, "
    "as of each of 0..90 days before it (sales strictly before that day), with its features and final tickets. "
    "Shows on sale before the first loaded sales day are left out (their sales before it were never loaded); "
    "the metadata counts them.",
)
def forecast_training(concerts: pd.DataFrame, venues: pd.DataFrame, artists: pd.DataFrame, ticket_sales_daily: pd.DataFrame):
    from concert_platform.defs.assets import insights_serving as s
    from concert_platform.insights import curves

    daily = sales_or_empty(ticket_sales_daily)
    cutoff = s.as_of(daily, datetime.now(UTC).date())
    rows = s.training_rows(daily, concerts, venues, artists, cutoff)
    found = s.leaks(rows, daily, cutoff)
    left_out = curves.uncovered_finished(curves.booking_curves(daily, concerts), concerts, cutoff)
    loaded_from = pd.to_datetime(daily["sale_date"]).min()
    yield dg.Output(
        rows,
        metadata={
            "cutoff": dg.MetadataValue.text(cutoff.isoformat()),
            "finished_shows": int(rows["concert_id"].nunique()),
            "sold_out_shows": int(rows.drop_duplicates("concert_id")["censored"].fillna(False).astype(bool).sum()),
            "sales_loaded_from": dg.MetadataValue.text(loaded_from.date().isoformat() if pd.notna(loaded_from) else "none"),
            "finished_shows_not_covered": dg.MetadataValue.int(len(left_out)),
            "not_covered_sample": dg.MetadataValue.json(left_out[:_SHOWN]),
        },
    )
    yield dg.AssetCheckResult(
        check_name=NO_FUTURE_SALES,
        passed=found.empty,
        metadata={
            "violations": len(found),
            "shows": int(found["concert_id"].nunique()),
            "sample": dg.MetadataValue.md(found.head(_SHOWN).to_markdown(index=False) if len(found) else "_none_"),
        },
        description=None if found.empty else f"{len(found)} training values saw a sale on or after their as-of day",
    )


@dg.multi_asset(
    group_name=GROUP,
    pool=WAREHOUSE_POOL,
    # After the leakage check: a leak found there stops the backtest too (each fold is guarded again).
    deps=["forecast_training"],
    outs={
        "forecast_backtest": dg.AssetOut(
            automation_condition=FOLLOWS_UPSTREAM,
            kinds={"pandas", "duckdb"},
            metadata={PRIMARY_KEY: ["model", "horizon_days"]},
            description="Rolling-origin backtest (weekly cutoffs, at least 6 folds) of the forecaster and the sell-out "
            "model against the baselines: one row per model and horizon bucket, horizon_days 0 overall. Empty when the "
            "history holds too few finished shows for 6 folds.",
        ),
        "forecast_backtest_predictions": dg.AssetOut(
            automation_condition=FOLLOWS_UPSTREAM,
            kinds={"pandas", "duckdb"},
            metadata={PRIMARY_KEY: ["model", "cutoff", "as_of", "concert_id"]},
            description="Every backtest forecast: per model, fold cutoff, day of the fold's week and scored show, its forecast "
            "and the truth.",
        ),
    },
)
def forecast_backtest(
    context: dg.AssetExecutionContext,
    concerts: pd.DataFrame,
    venues: pd.DataFrame,
    artists: pd.DataFrame,
    ticket_sales_daily: pd.DataFrame,
):
    from concert_platform.defs.assets import insights_serving as s
    from concert_platform.insights import backtest as bt
    from concert_platform.insights import curves, plots
    from concert_platform.insights.forecast import DemandForecaster
    from concert_platform.insights.model_features import with_features
    from concert_platform.insights.sellout import SelloutModel

    daily = sales_or_empty(ticket_sales_daily)
    metadata: dict = {}
    try:
        if daily.empty:
            raise ValueError("no sales loaded yet")
        cutoffs = bt.fold_cutoffs(daily, concerts)
    except ValueError as exc:
        table, predictions = pd.DataFrame(), pd.DataFrame()
        metadata["no_backtest"] = dg.MetadataValue.text(str(exc))
        context.log.warning(f"no backtest: {exc}")
    else:
        with one_thread():
            result = bt.backtest(
                curves.booking_curves(daily, concerts),
                daily,
                concerts,
                venues,
                [DemandForecaster.fit, SelloutModel.fit, *bt.BASELINES],
                cutoffs,
                lambda frame: with_features(frame, concerts, venues, artists),
            )
        table, predictions = result.table, result.predictions
        metadata["cutoffs"] = dg.MetadataValue.json([c.isoformat() for c in cutoffs])
        charts = [plots.markdown_image(png, alt) for _, png, alt in s.model_charts(table, predictions)]
        metadata["charts"] = dg.MetadataValue.md("\n\n".join(charts))
    metadata["wape_by_horizon"] = dg.MetadataValue.md(wape_markdown(table))
    yield dg.Output(s.typed(table, s.BACKTEST_SCHEMA), output_name="forecast_backtest", metadata=metadata)
    yield dg.Output(s.typed(predictions, s.PREDICTIONS_SCHEMA), output_name="forecast_backtest_predictions")


def wape_markdown(table: pd.DataFrame) -> str:
    """WAPE per model (rows) and horizon (columns), the candidate first: what the gate compares."""
    if table.empty:
        return "_no backtest_"
    from concert_platform.insights.plots import wape_by_horizon

    wape = wape_by_horizon(table).rename(columns=lambda h: "overall" if h == 0 else f"{h} d")
    return wape.round(3).reset_index().to_markdown(index=False)


@dg.asset(
    group_name=GROUP,
    automation_condition=FOLLOWS_UPSTREAM,
    kinds={"scikitlearn", "duckdb"},
    pool=WAREHOUSE_POOL,
    op_tags=PROMOTION_FIRST,
    metadata={PRIMARY_KEY: ["model_version"]},
    check_specs=[
        dg.AssetCheckSpec(
            BEATS_BASELINES,
            asset="forecast_model",
            blocking=True,
            description="The promotion gate: WAPE 20% below the better pickup overall and no worse in any horizon bucket, "
            "80% coverage within 77-83% in every bucket, sell-out at 30 days out: Brier skill >= 0.30, AUC >= 0.85, "
            "calibration error <= 0.03. production_model follows only when it passes.",
        )
    ],
    description="The candidate: the forecaster and the sell-out model fitted on every finished show, saved to the lake "
    "under models/{model_version}/; one row: its version, where it lives, what it was trained on and how it backtested.",
)
def forecast_model(
    context: dg.AssetExecutionContext,
    forecast_training: pd.DataFrame,
    forecast_backtest: pd.DataFrame,
    forecast_backtest_predictions: pd.DataFrame,
    lake: LakeResource,
):
    from concert_platform.defs.assets import insights_serving as s
    from concert_platform.insights import forecast, sellout
    from concert_platform.insights.versioning import code_modules

    version = s.candidate_version(forecast_training)
    try:
        with one_thread():
            fitted, fit_error = s.fit(forecast_training), None
    except ValueError as exc:
        fitted, fit_error = None, f"the candidate could not be fitted: {exc}"
        context.log.warning(fit_error)
    location = s.save(lake.lake(), version, fitted) if fitted is not None else None
    verdict = s.judge(forecast_backtest, forecast_backtest_predictions, fit_error)
    cutoff = forecast_training["cutoff"].iloc[0] if len(forecast_training) else None
    overall = forecast_backtest.set_index(["model", "horizon_days"]) if len(forecast_backtest) else None
    row = {
        "model_version": version,
        "forecaster": s.CANDIDATE,
        "sellout_model": s.SELLOUT_CANDIDATE,
        "artifact_folder": s.artifact_folder(version) if fitted is not None else None,
        "trained_as_of": cutoff,
        "training_rows": len(forecast_training),
        "finished_shows": int(forecast_training["concert_id"].nunique()),
        "backtest_wape": _metric(overall, s.CANDIDATE, "wape"),
        "backtest_coverage_80": _metric(overall, s.CANDIDATE, "coverage_80"),
        "gate_passed": verdict.passed,
        "gate_reasons": "; ".join(verdict.reasons),
    }
    yield dg.Output(
        pd.DataFrame([row]),
        metadata={
            "model_version": dg.MetadataValue.text(version),
            "artifacts": dg.MetadataValue.path(location) if location else dg.MetadataValue.text(fit_error or ""),
            "code_modules": dg.MetadataValue.json(list(code_modules(forecast, sellout))),
            "backtest_wape": dg.MetadataValue.float(float(row["backtest_wape"])),
            "backtest_coverage_80": dg.MetadataValue.float(float(row["backtest_coverage_80"])),
            "promotion": dg.MetadataValue.md(
                "**passes the gate**" if verdict.passed else "**fails the gate:**\n\n" + md_list(verdict.reasons)
            ),
        },
    )
    yield dg.AssetCheckResult(
        check_name=BEATS_BASELINES,
        passed=verdict.passed,
        metadata={
            "reasons": dg.MetadataValue.md(md_list(verdict.reasons)),
            "baseline_wins": dg.MetadataValue.md(md_list(verdict.baseline_wins)),
            "horizons_where_a_baseline_wins": dg.MetadataValue.json(list(verdict.losing_horizons)),
        },
        description=None if verdict.passed else "not promoted: " + "; ".join(verdict.reasons),
    )


def _metric(table: pd.DataFrame | None, model: str, column: str) -> float:
    key = (model, 0)
    return float(table.at[key, column]) if table is not None and key in table.index else float("nan")


@dg.asset(
    group_name=GROUP,
    automation_condition=FOLLOWS_UPSTREAM,
    kinds={"pandas", "duckdb"},
    pool=WAREHOUSE_POOL,
    op_tags=PROMOTION_FIRST,
    metadata={PRIMARY_KEY: ["model_version"]},
    description="The model that serves concert_forecasts: the last candidate that passed the promotion gate. "
    "Materialised only when forecast_model's blocking check beats_baselines passed in the same run.",
)
def production_model(forecast_model: pd.DataFrame) -> dg.Output:
    [candidate] = forecast_model.to_dict("records")
    if not candidate["gate_passed"] or not candidate["artifact_folder"]:
        # Materialised on its own from a stored candidate that failed: nothing to promote.
        raise dg.Failure(f"candidate {candidate['model_version']} did not pass the promotion gate: {candidate['gate_reasons']}")
    promoted = pd.DataFrame([{**candidate, "promoted_at": datetime.now(UTC).isoformat(timespec="seconds")}])
    return dg.Output(
        pa.Table.from_pandas(promoted, preserve_index=False),
        metadata={"model_version": dg.MetadataValue.text(candidate["model_version"])},
    )
