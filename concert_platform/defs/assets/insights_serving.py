"""What the insights assets share: the training rows, the gate's verdict, the model that serves, its artifacts.

Plain functions of frames and the lake, no Dagster: the asset modules
(``insights_models``, ``insights_tables``) import this inside their functions,
because it imports scikit-learn (through the forecast models), which loading
the code location must not pay for.

Which model serves (``serving``): the latest ``production_model`` record, the
forecaster that last passed the promotion gate; with none, the multiplicative
pickup (``PickupServing``), fitted on the finished shows of the training table,
with split-conformal intervals sized on those same shows (the pickup has one
ratio per cell and learns next to nothing from any one show, so in-sample
residuals are close to honest ones) and the "pickup projection reaches
capacity" sell-out baseline as its probability (0 or 1).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

import joblib
import numpy as np
import pandas as pd
import pyarrow as pa

from concert_platform.insights import curves, forecast, sellout
from concert_platform.insights.backtest import MIN_FOLDS, PREDICTION_COLUMNS, SELLOUT_HORIZON, sellout_metrics
from concert_platform.insights.baselines import MultiplicativePickup, PickupSellout
from concert_platform.insights.bounds import QUANTILE_COLUMNS, bounded_quantiles
from concert_platform.insights.conformal import SplitConformal
from concert_platform.insights.forecast import DemandForecaster
from concert_platform.insights.gate import GateResult, promotion_gate
from concert_platform.insights.leakage import VIOLATION_COLUMNS, future_sales_used, targets_after_cutoff
from concert_platform.insights.metrics import BACKTEST_COLUMNS
from concert_platform.insights.model_features import with_features
from concert_platform.insights.sellout import SelloutModel
from concert_platform.insights.versioning import code_version, model_version
from concert_platform.storage.lake import Lake

SEED = 0  # the models' random_state: with the same data, the same forecasts
CANDIDATE = DemandForecaster.name
SELLOUT_CANDIDATE = SelloutModel.name
PICKUP_SERVING = f"baseline:{MultiplicativePickup.name}"
MODELS_FOLDER = "models"
FORECASTER_FILE, SELLOUT_FILE = "forecaster.joblib", "sellout.joblib"
FORECAST_COLUMNS = [
    "concert_id",
    "as_of",
    "days_to_show",
    "tickets_sold",
    "capacity",
    *QUANTILE_COLUMNS,
    "sellout_probability",
    "model_version",
]
BACKTEST_SCHEMA = pa.schema(
    [("model", pa.string()), ("horizon_days", pa.int64()), ("n", pa.int64())] + [(c, pa.float64()) for c in BACKTEST_COLUMNS[3:]]
)
PREDICTIONS_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("cutoff", pa.date32()),
        ("concert_id", pa.string()),
        ("as_of", pa.date32()),
        ("days_to_show", pa.int64()),
        ("horizon_days", pa.int64()),
        ("capacity", pa.int64()),
        ("tickets_sold_to_date", pa.int64()),
        ("final_tickets", pa.int64()),
        ("censored", pa.bool_()),
        *((c, pa.float64()) for c in [*QUANTILE_COLUMNS, "sellout_probability"]),
    ]
)
assert PREDICTIONS_SCHEMA.names == PREDICTION_COLUMNS


def as_of(daily: pd.DataFrame, today: date) -> date:
    """The day after the last sales day loaded (that day is complete); ``today`` when none is."""
    if daily.empty:
        return today
    return pd.to_datetime(daily["sale_date"]).max().date() + timedelta(days=1)


def training_rows(
    daily: pd.DataFrame, concerts: pd.DataFrame, venues: pd.DataFrame, artists: pd.DataFrame, cutoff: date
) -> pd.DataFrame:
    """Every show played before ``cutoff``, as of each of 0..90 days before it, with its features and final tickets."""
    booked = curves.booking_curves(daily, concerts)
    rows = with_features(curves.training_snapshots(booked, concerts, venues, cutoff), concerts, venues, artists)
    return rows.assign(cutoff=cutoff)


def leaks(rows: pd.DataFrame, daily: pd.DataFrame, cutoff: date) -> pd.DataFrame:
    """Training rows that count a sale on or after their as-of day, or carry a show's final before it was played."""
    found = [future_sales_used(rows, daily), targets_after_cutoff(rows, cutoff)]
    return pd.concat([f for f in found if len(f)] or [pd.DataFrame(columns=VIOLATION_COLUMNS)], ignore_index=True)


def typed(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """``frame`` as a table of exactly ``schema`` (an empty frame too: no column of unknown type reaches the warehouse)."""
    if frame.empty:
        return schema.empty_table()
    return pa.Table.from_pandas(frame.reindex(columns=schema.names), schema=schema, preserve_index=False)


@dataclass(frozen=True)
class Verdict:
    """The promotion gate's answer, and what it was given."""

    passed: bool
    reasons: tuple[str, ...]
    baseline_wins: tuple[str, ...]  # GateResult.baseline_wins described
    losing_horizons: tuple[str, ...]  # "60", "30", ... "overall": where some baseline beats the candidate


def judge(table: pd.DataFrame, predictions: pd.DataFrame, fit_error: str | None = None) -> Verdict:
    """``gate.promotion_gate`` on the backtest, with the sell-out model's metrics at 30 days out."""
    if table.empty:
        reason = (
            f"no backtest: the data holds too few finished shows for {MIN_FOLDS} rolling-origin folds "
            "(forecast_backtest's materialisation names the first cutoff without a show played before it)"
        )
        return Verdict(False, (reason, *([fit_error] if fit_error else [])), (), ())
    try:
        result: GateResult = promotion_gate(table, CANDIDATE, sellout_metrics(predictions, SELLOUT_CANDIDATE, SELLOUT_HORIZON))
    except ValueError as exc:  # no sell-out predictions at 30 days: nothing to judge it on
        return Verdict(False, (f"no sell-out evidence: {exc}", *([fit_error] if fit_error else [])), (), ())
    wins = tuple(w.describe() for w in result.baseline_wins)
    horizons = sorted({w.horizon_days for w in result.baseline_wins}, key=lambda h: (h == 0, -h))
    losing = tuple("overall" if h == 0 else str(h) for h in horizons)
    reasons = (*result.reasons, *([fit_error] if fit_error else []))
    return Verdict(not reasons, reasons, wins, losing)


# -- the candidate and its artifacts -------------------------------------------


@dataclass(frozen=True, eq=False)
class Fitted:
    forecaster: DemandForecaster
    sellout: SelloutModel


def candidate_version(train: pd.DataFrame) -> str:
    return model_version(code_version(forecast, sellout), train, SEED)


def fit(train: pd.DataFrame) -> Fitted:
    """Both models on every finished show; ValueError when there are too few to fit and calibrate on."""
    return Fitted(DemandForecaster.fit(train, SEED), SelloutModel.fit(train, SEED))


def artifact_folder(version: str) -> str:
    """Where a model version's files live in the lake, relative to its root."""
    return f"{MODELS_FOLDER}/{version}"


def save(lake: Lake, version: str, fitted: Fitted) -> str:
    """Write both models under ``models/{version}/``; return the folder's address for people."""
    location = lake.location
    folder = location.path(artifact_folder(version))
    if not location.is_s3:
        location.filesystem.create_dir(folder, recursive=True)
    for name, model in ((FORECASTER_FILE, fitted.forecaster), (SELLOUT_FILE, fitted.sellout)):
        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        # Written whole and then closed: on S3 an object appears only complete, on a folder a reader
        # of a version that is not recorded in production_model yet never looks.
        with location.filesystem.open_output_stream(location.path(artifact_folder(version), name)) as out:
            out.write(buffer.getvalue())
    return location.display(folder)


def load(lake: Lake, version: str) -> Fitted:
    """The models of a recorded version (the platform's own files: joblib is pickle, never load a stranger's)."""
    location = lake.location
    models = []
    for name in (FORECASTER_FILE, SELLOUT_FILE):
        with location.filesystem.open_input_stream(location.path(artifact_folder(version), name)) as stream:
            models.append(joblib.load(io.BytesIO(stream.read())))
    return Fitted(*models)


# -- serving -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PickupServing:
    """The multiplicative pickup, its conformal intervals and the pickup sell-out baseline: what serves before any model."""

    pickup: MultiplicativePickup
    margins: SplitConformal

    @classmethod
    def fit(cls, history: pd.DataFrame) -> PickupServing:
        finished = history[history["final_tickets"].notna().to_numpy()]
        pickup = MultiplicativePickup.fit(finished)
        scored = finished.assign(forecast_p50=pickup.predict(finished)["forecast_p50"])
        return cls(pickup, SplitConformal.fit(scored))

    def predict(self, snapshots: pd.DataFrame) -> pd.DataFrame:
        p50 = self.pickup.predict(snapshots)["forecast_p50"].to_numpy()
        width = self.margins.margin(snapshots)
        out = bounded_quantiles(p50 - width, p50, p50 + width, snapshots)
        # No finished shows to size an interval on (an infinite margin): the range left to sell where the
        # capacity is known, none where it is not.
        out["forecast_p90"] = out["forecast_p90"].where(np.isfinite(out["forecast_p90"]), out["forecast_p50"])
        out["sellout_probability"] = PickupSellout(self.pickup).predict(snapshots)["sellout_probability"]
        return out


@dataclass(frozen=True)
class Serving:
    model_version: str
    why: str


def serving(production: pd.DataFrame | None, verdict: Verdict) -> Serving:
    """The production model's version when one was ever promoted, else the pickup's; and why, in a sentence."""
    latest = (
        "the latest candidate passed the promotion gate"
        if verdict.passed
        else ("the latest candidate failed the promotion gate: " + "; ".join(verdict.reasons))
    )
    if production is None or production.empty:
        return Serving(
            PICKUP_SERVING, f"no model has passed the promotion gate yet, so the multiplicative pickup serves; {latest}"
        )
    record = production.iloc[-1]
    return Serving(
        str(record["model_version"]),
        f"production model {record['model_version']} (promoted {record['promoted_at']}) serves; {latest}",
    )


def upcoming_snapshots(
    daily: pd.DataFrame, concerts: pd.DataFrame, venues: pd.DataFrame, artists: pd.DataFrame, moment: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shows not yet played and not cancelled, as of ``moment``, with their features; and their booking curves."""
    booked = curves.booking_curves(daily, concerts)
    state = curves.snapshots(booked, concerts, venues, moment)
    state = state[(state["days_to_show"] >= 0).to_numpy() & (state["status"] != "cancelled").to_numpy()]
    rows = with_features(state.reset_index(drop=True), concerts, venues, artists)
    return rows, booked[booked["concert_id"].isin(rows["concert_id"])]


def forecasts(rows: pd.DataFrame, model: Fitted | PickupServing, version: str) -> pd.DataFrame:
    """``concert_forecasts`` rows: the snapshots' state and the serving model's forecasts."""
    if isinstance(model, Fitted):
        predicted = pd.concat([model.forecaster.predict(rows), model.sellout.predict(rows)], axis=1)
    else:
        predicted = model.predict(rows)
    out = pd.DataFrame(
        {
            "concert_id": rows["concert_id"].astype(str),
            "as_of": rows["as_of"],
            "days_to_show": rows["days_to_show"].astype("int64"),
            "tickets_sold": rows["tickets_sold_to_date"].astype("int64"),
            "capacity": rows["capacity"].astype("Int64"),
        }
    )
    for column in [*QUANTILE_COLUMNS, "sellout_probability"]:
        out[column] = predicted[column].astype("float64").to_numpy()
    out["model_version"] = version
    return out.sort_values("concert_id", ignore_index=True)[FORECAST_COLUMNS]


def shows_that_matter(forecasts_: pd.DataFrame, count: int = 6) -> pd.DataFrame:
    """The shows a promoter looks at first: likeliest to sell out, then the most tickets still to sell."""
    ranked = forecasts_.assign(
        _p=forecasts_["sellout_probability"].fillna(0.0), _left=forecasts_["forecast_p50"] - forecasts_["tickets_sold"]
    )
    return (
        ranked.sort_values(["_p", "_left", "concert_id"], ascending=[False, False, True])
        .head(count)
        .drop(columns=["_p", "_left"])
    )


def forecast_fan(booked: pd.DataFrame, top: pd.DataFrame, concerts: pd.DataFrame) -> bytes:
    """The booking curves and forecast fans of ``top`` (``shows_that_matter``), titled with the shows' names."""
    from concert_platform.insights import plots

    names = concerts.assign(concert_id=concerts["concert_id"].astype(str)).set_index("concert_id")["name"]
    return plots.booking_curve_fan(booked, top, {c: str(names.get(c, c)) for c in top["concert_id"]})


def model_charts(table: pd.DataFrame, predictions: pd.DataFrame) -> list[tuple[str, bytes, str]]:
    """(key, PNG, alt text) of how the backtest went: WAPE by horizon against the baselines, and the
    sell-out candidate's calibration at SELLOUT_HORIZON days out (the gate's horizon)."""
    from concert_platform.insights import plots

    at = predictions[(predictions["model"] == SELLOUT_CANDIDATE) & (predictions["horizon_days"] == SELLOUT_HORIZON)]
    at = at.dropna(subset=["sellout_probability"])
    return [
        ("backtest_by_horizon", plots.backtest_by_horizon(table, CANDIDATE), "WAPE by horizon against the baselines"),
        (
            "calibration",
            plots.calibration_plot(at["censored"].astype(float), at["sellout_probability"]),
            f"sell-out calibration at {SELLOUT_HORIZON} days out",
        ),
    ]
