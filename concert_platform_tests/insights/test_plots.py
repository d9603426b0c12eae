"""The insights' charts: real PNGs with something drawn, the same bytes for the same input, no global matplotlib state."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from concert_platform.insights import plots
from concert_platform.insights.backtest import OVERALL
from concert_platform.insights.metrics import BACKTEST_COLUMNS, expected_calibration_error

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def curves_and_forecasts() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three shows part-way through their sales: a club, a theatre with no known capacity, an arena."""
    rows, forecasts = [], []
    for concert_id, capacity, days_to_show, per_day in (("club", 600, 5, 3), ("theatre", None, 20, 12), ("arena", 15000, 45, 90)):
        days = np.arange(120, days_to_show - 1, -1)
        cumulative = np.cumsum(np.full(len(days), per_day))
        rows += [{"concert_id": concert_id, "days_before": d, "cum_tickets": c} for d, c in zip(days, cumulative, strict=True)]
        sold = float(cumulative[-1])
        forecasts.append(
            {"concert_id": concert_id, "days_to_show": days_to_show, "tickets_sold": sold, "capacity": capacity,
             "forecast_p10": sold * 1.1, "forecast_p50": sold * 1.3, "forecast_p90": sold * 1.6}
        )  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(forecasts)


def backtest_table() -> pd.DataFrame:
    rows = []
    for model, level, brier in (("gbm", 0.20, np.nan), ("additive_pickup", 0.30, np.nan), ("base_rate", np.nan, 0.08)):
        for horizon in (60, 30, 14, 7, 1, OVERALL):
            wape = level * (1 + horizon / 30) if horizon else level
            rows.append([model, horizon, 50, wape, 10.0, 0.8, 5.0, brier, np.nan])
    return pd.DataFrame(rows, columns=BACKTEST_COLUMNS)


def sellout_outcomes(n: int = 400, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = np.round(rng.uniform(0, 1, n), 2)  # rounded: ties across bins' edges, as a model's scores have
    return (rng.uniform(0, 1, n) < p).astype(int), p


def draw_all() -> dict[str, bytes]:
    curves, forecasts = curves_and_forecasts()
    y, p = sellout_outcomes()
    return {
        "fan": plots.booking_curve_fan(curves, forecasts, {"club": 'Club <night> & "friends"'}),
        "calibration": plots.calibration_plot(y, p, bins=10),
        "backtest": plots.backtest_by_horizon(backtest_table(), candidate="gbm"),
    }


def pixels(png: bytes) -> np.ndarray:
    assert png.startswith(PNG_SIGNATURE)
    return imread(io.BytesIO(png), format="png")


@pytest.mark.parametrize("name", ["fan", "calibration", "backtest"])
def test_each_chart_is_a_small_png_with_something_drawn(name):
    png = draw_all()[name]
    image = pixels(png)
    assert image.shape[1] == 560 and image.shape[0] >= 200  # 7 inches at 80 dpi
    assert image[..., :3].var() > 0.01  # not a blank canvas
    assert len(png) < 80_000  # it travels base64 in the event log
    assert b"matplotlib.org" not in png and b"Software" not in png  # no tool stamp (nor its URL) in the file


def test_the_same_input_gives_the_same_bytes():
    assert draw_all() == draw_all()


def test_a_changed_forecast_changes_the_fan():
    curves, forecasts = curves_and_forecasts()
    before = plots.booking_curve_fan(curves, forecasts)
    after = plots.booking_curve_fan(curves, forecasts.assign(forecast_p90=forecasts["forecast_p90"] * 1.5))
    assert before != after


def test_empty_inputs_draw_a_message_not_an_error():
    curves, forecasts = curves_and_forecasts()
    for png in (
        plots.booking_curve_fan(curves, forecasts.iloc[0:0]),
        plots.calibration_plot([], [], bins=10),
        plots.backtest_by_horizon(backtest_table().iloc[0:0]),
    ):
        assert pixels(png)[..., :3].var() > 0


def test_reliability_bins_are_the_ones_the_calibration_error_is_measured_on():
    y, p = sellout_outcomes()
    table = plots.reliability_bins(y, p, bins=10)
    assert table["n"].sum() == len(y)
    assert table["predicted"].is_monotonic_increasing
    weighted_gap = (table["n"] * (table["observed"] - table["predicted"]).abs()).sum() / len(y)
    assert weighted_gap == pytest.approx(expected_calibration_error(y, p, bins=10))


def test_reliability_bins_by_hand():
    table = plots.reliability_bins([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], bins=2)
    assert table.to_dict("list") == {"n": [2, 2], "predicted": [pytest.approx(0.15), pytest.approx(0.8)], "observed": [0.0, 1.0]}
    with pytest.raises(ValueError, match="differ in length"):
        plots.reliability_bins([0, 1], [0.5], bins=2)


def test_wape_by_horizon_runs_far_to_near_then_overall_and_leaves_out_sellout_models():
    wape = plots.wape_by_horizon(backtest_table())
    assert list(wape.columns) == [60, 30, 14, 7, 1, OVERALL]
    assert list(wape.index) == ["additive_pickup", "gbm"]  # base_rate forecasts no tickets
    assert wape.at["gbm", 30] == pytest.approx(0.40)
    assert wape.at["gbm", OVERALL] == pytest.approx(0.20)


def test_markdown_image_is_the_png_as_a_data_uri_with_its_alt_text_kept_whole():
    png = draw_all()["calibration"]
    markdown = plots.markdown_image(png, "calibration [30 days]\nout")
    prefix = "![calibration \\[30 days\\] out](data:image/png;base64,"
    assert markdown.startswith(prefix) and markdown.endswith(")")
    assert base64.b64decode(markdown[len(prefix) : -1]) == png


def test_charts_never_import_pyplot():
    # pyplot is what holds global figures and switches the process's backend; a fresh interpreter shows whether we pulled it in.
    code = (
        "import sys\n"
        "from concert_platform_tests.insights.test_plots import draw_all\n"
        "draw_all()\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
    )
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
