"""The insights' charts as PNG bytes, and as Markdown images for Dagster's metadata.

Pure: frames in, bytes out. Each chart draws on its own ``matplotlib.figure.Figure``
with an Agg canvas, never through pyplot, so nothing global (pyplot's current
figure, the backend, rcParams) changes for other code in the process.

Small on purpose (560 x 320 px at 80 dpi, 20-40 kB): each chart travels as
base64 inside Dagster's event log (``MetadataValue.md``) and the HTML report.
Deterministic: the same input gives the same bytes (no Software chunk in the
PNG, which would also carry matplotlib's URL; fixed colours and draw order).
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from concert_platform.insights.backtest import OVERALL

DPI = 80
FIGSIZE = (7.0, 4.0)  # inches: 560 x 320 px at DPI
_PALETTE = colormaps["tab10"].colors  # fixed colours, whatever style the process has set


def booking_curve_fan(curves_for_shows: pd.DataFrame, forecasts: pd.DataFrame, labels: Mapping[str, str] | None = None) -> bytes:
    """Each show's cumulative tickets by days before the show, and its forecast fan to the show day.

    ``forecasts`` (``concert_forecasts`` rows): one per show to draw, in order;
    the caller picks the few that matter most. Columns used: concert_id,
    days_to_show, tickets_sold, capacity, forecast_p10, forecast_p50, forecast_p90.
    ``curves_for_shows`` (``curves.CURVE_COLUMNS``): concert_id, days_before,
    cum_tickets; rows of other shows are ignored. One panel per show, each on
    its own scale (a 15,000-seat arena would flatten a club's curve): the fan
    widens from today's count to p10-p90 at day 0, p50 a dot there, capacity
    dashed where known. ``labels`` maps concert_id to the panel's title.
    """
    names, curve_ids = dict(labels or {}), curves_for_shows["concert_id"].astype(str)
    cols = min(3, max(len(forecasts), 1))
    rows = -(-max(len(forecasts), 1) // cols)
    fig = _figure((FIGSIZE[0], 0.6 + 1.9 * rows))
    fig.suptitle("Booking curves and forecast fans (band p10-p90, dot p50, dashes capacity)", fontsize=9)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, show in zip(axes, forecasts.itertuples(index=False), strict=False):
        concert_id = str(show.concert_id)
        curve = curves_for_shows[curve_ids == concert_id].sort_values("days_before", ascending=False)
        now, sold = float(show.days_to_show), float(show.tickets_sold)
        # The curve ends at the count the forecast starts from, so line and fan meet.
        days, tickets = [*curve["days_before"].astype(float), now], [*curve["cum_tickets"].astype(float), sold]
        low, mid, high = (float(x) for x in (show.forecast_p10, show.forecast_p50, show.forecast_p90))
        ax.plot(days, tickets, color=_PALETTE[0], linewidth=1.6, drawstyle="steps-post")
        ax.fill_between([now, 0.0], [sold, low], [sold, high], color=_PALETTE[1], alpha=0.25, linewidth=0)
        ax.plot([now, 0.0], [sold, mid], color=_PALETTE[1], linewidth=1.0, linestyle=":")
        ax.plot([0.0], [mid], color=_PALETTE[1], marker="o", markersize=4)
        if pd.notna(show.capacity):
            ax.axhline(float(show.capacity), color=_PALETTE[3], linewidth=0.9, linestyle="--")
        ax.set_ylim(bottom=0)
        ax.invert_xaxis()  # time runs left to right, towards the show
        _style(ax, _short(names.get(concert_id, concert_id), 32), fontsize=7)
    for ax in axes[len(forecasts) :]:
        ax.set_axis_off()
    if forecasts.empty:
        _empty(axes[0], "no upcoming shows")
    fig.supxlabel("days before the show", fontsize=8)
    fig.supylabel("tickets sold (cumulative)", fontsize=8)
    return _png(fig)


def reliability_bins(outcome, probability, bins: int = 10) -> pd.DataFrame:
    """Per bin, its row count, mean predicted probability and observed frequency.

    The bins of ``metrics.expected_calibration_error`` (equal mass, tied
    probabilities in one bin), so the plot shows the number the gate judges.
    """
    y = pd.Series(outcome).astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    p = pd.Series(probability).astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    if len(y) != len(p):
        raise ValueError(f"outcome and probability differ in length: {len(y)} and {len(p)}")
    if not len(p):
        return pd.DataFrame({"n": pd.Series(dtype="int64"), "predicted": [], "observed": []})
    first_rank = pd.Series(p).rank(method="min").to_numpy() - 1
    which = (first_rank * bins // len(p)).astype("int64")
    grouped = pd.DataFrame({"bin": which, "y": y, "p": p}).groupby("bin")
    return grouped.agg(n=("y", "size"), predicted=("p", "mean"), observed=("y", "mean")).reset_index(drop=True)


def calibration_plot(y_true, p, bins: int = 10) -> bytes:
    """Reliability diagram of sell-out probabilities ``p`` against outcomes ``y_true`` (0/1): points on the diagonal are calibrated."""
    table = reliability_bins(y_true, p, bins)
    total = int(table["n"].sum())
    error = float((table["n"] * (table["observed"] - table["predicted"]).abs()).sum() / total) if total else np.nan
    fig, ax = _single(f"Sell-out calibration: {len(table)} equal-count bins, n={total}, calibration error {error:.3f}")
    ax.plot([0, 1], [0, 1], color="0.6", linewidth=1.0, linestyle="--", label="perfect calibration")
    ax.plot(table["predicted"], table["observed"], color=_PALETTE[0], marker="o", linewidth=1.4, label="model")
    for row in table.itertuples(index=False):
        ax.annotate(f"n={row.n}", (row.predicted, row.observed), textcoords="offset points", xytext=(4, -10), fontsize=7)
    if table.empty:
        _empty(ax, "no scored shows")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted sell-out probability (bin mean)")
    ax.set_ylabel("observed sell-out frequency")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return _png(fig)


def wape_by_horizon(table: pd.DataFrame) -> pd.DataFrame:
    """WAPE per model (rows, by name) and horizon (columns: the buckets far to near, then ``OVERALL``).

    ``table``: ``metrics.BACKTEST_COLUMNS``. Models with no WAPE anywhere (the
    sell-out models forecast no tickets) are left out.
    """
    wape = table.pivot_table(index="model", columns="horizon_days", values="wape", aggfunc="first", dropna=False)
    buckets = sorted((int(h) for h in wape.columns if int(h) != OVERALL), reverse=True)
    return wape.reindex(columns=[*buckets, OVERALL]).dropna(how="all").rename_axis(columns=None)


def backtest_by_horizon(table: pd.DataFrame, candidate: str | None = None) -> bytes:
    """WAPE per horizon bucket, far to near, one line per model (``wape_by_horizon``); ``candidate`` drawn bold.

    The overall WAPE is no point on the axis: the legend names it per model.
    """
    wape = wape_by_horizon(table)
    horizons = [h for h in wape.columns if h != OVERALL]
    fig, ax = _single("Backtest: forecast error by horizon, model against baselines (lower is better)")
    for i, (model, row) in enumerate(wape.iterrows()):
        bold = model == candidate
        ax.plot(
            range(len(horizons)),
            row[horizons].to_numpy(dtype="float64"),
            color=_PALETTE[i % len(_PALETTE)],
            marker="o",
            linewidth=2.8 if bold else 1.2,
            label=f"{model}{' (candidate)' if bold else ''}: overall {row[OVERALL]:.3f}",
        )
    if wape.empty:
        _empty(ax, "no backtest rows")
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set_xticks(range(len(horizons)), [f"{h} d" for h in horizons])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("horizon bucket (days before the show)")
    ax.set_ylabel("WAPE")
    return _png(fig)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def markdown_image(png: bytes, alt: str) -> str:
    """``png`` as a Markdown image with a data URI: what ``MetadataValue.md`` renders inline in Dagster's UI."""
    text = re.sub(r"\s+", " ", alt).strip()
    text = re.sub(r"([\\\[\]])", r"\\\1", text)  # a bracket in the alt text would end it early
    return f"![{text}]({data_uri(png)})"


def _figure(size: tuple[float, float] = FIGSIZE) -> Figure:
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)  # this figure's own canvas: no backend switch for the process
    return fig


def _single(title: str) -> tuple[Figure, Axes]:
    fig = _figure()
    ax = fig.add_subplot()
    _style(ax, title)
    return fig, ax


def _style(ax: Axes, title: str, fontsize: int = 9) -> None:
    ax.set_title(title, fontsize=fontsize)
    ax.tick_params(labelsize=fontsize)
    ax.grid(True, color="0.9", linewidth=0.8)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _empty(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color="0.4")


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()
