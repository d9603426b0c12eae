"""``insights_report``: one self-contained HTML page a promoter can open, built from the insight tables.

Self-contained: CSS inline, charts as PNG data URIs, no script, no font, no
link outside the file (only ``#section`` anchors), so it reads the same from
the lake, an e-mail or an offline laptop. Every text value goes through
``html.escape``: names come from public APIs and can hold anything.

Inputs are plain frames (extra columns are ignored, missing ones are an error):

- ``forecasts``: concert_id, as_of, days_to_show, tickets_sold, capacity,
  forecast_p10, forecast_p50, forecast_p90, sellout_probability, model_version
- ``shows`` (labels): concert_id, name, local_date, venue, city; a show
  missing here is named by its id, dated as_of + days_to_show
- ``pace_alerts``: concert_id, direction, gap_tickets, reason
- ``sellout_watch``: concert_id, sellout_probability, recommendation, reason
- ``opportunities``: artist_id, city, country, score, rank, reasons (a string
  or a list of strings); ``artists`` (labels): artist_id, name
- ``backtest``: ``metrics.BACKTEST_COLUMNS`` (horizon_days 0 is overall)
- ``gate``: the promotion decision as strings (``GateSummary``)
- ``charts``: PNGs (``plots``), each shown under the section it names.

Long tables keep their first ``max_rows`` rows (in the order each section
sorts by) and say how many more there are.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import pandas as pd

from concert_platform.insights.backtest import OVERALL
from concert_platform.insights.metrics import BACKTEST_COLUMNS
from concert_platform.insights.plots import data_uri, wape_by_horizon

SECTIONS = {
    "forecasts": "Upcoming shows",
    "pace": "Pace alerts",
    "sellout": "Sell-out watch",
    "opportunities": "Market opportunities",
    "model": "How well the model has done",
}
_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;padding:0 1rem 3rem;color:#1d2430}
h1{margin:1.2rem 0 .2rem}h2{margin-top:2.2rem;border-bottom:2px solid #dde3ea;padding-bottom:.2rem}
nav a{margin-right:1rem}table{border-collapse:collapse;width:100%;margin:.6rem 0;font-size:14px}
th,td{padding:.3rem .5rem;border-bottom:1px solid #e6eaef;text-align:left;vertical-align:top}
th{background:#f3f5f8}.n{text-align:right;font-variant-numeric:tabular-nums}
.passed{color:#17663a}.failed{color:#a3201b}.note{color:#5a6573}img{max-width:100%;height:auto;display:block;margin:.8rem 0}
"""


_NONE = "&mdash;"  # a missing value's cell


@dataclass(frozen=True)
class Chart:
    section: str  # a key of SECTIONS
    key: str  # the img's data-chart attribute: which chart this is
    png: bytes
    alt: str


@dataclass(frozen=True)
class GateSummary:
    candidate: str  # the model the gate judged
    serving: str  # the model version that serves the forecasts: the candidate's when it passed
    passed: bool
    reasons: Sequence[str]  # each failed criterion; empty when passed
    baseline_wins: Sequence[str]  # each horizon where a baseline beat the candidate


def insights_report(
    *,
    forecasts: pd.DataFrame,
    shows: pd.DataFrame,
    pace_alerts: pd.DataFrame,
    sellout_watch: pd.DataFrame,
    opportunities: pd.DataFrame,
    artists: pd.DataFrame,
    backtest: pd.DataFrame,
    gate: GateSummary,
    charts: Sequence[Chart] = (),
    title: str = "Concert insights",
    max_rows: int = 200,
) -> str:
    unknown = sorted({c.section for c in charts} - SECTIONS.keys())
    if unknown:
        raise ValueError(f"charts name unknown sections {unknown}; known: {list(SECTIONS)}")
    show_name, artist_name = _namer(shows, "concert_id"), _namer(artists, "artist_id")
    images = {key: "".join(_img(c) for c in charts if c.section == key) for key in SECTIONS}
    bodies = {
        "forecasts": images["forecasts"] + _forecasts(forecasts, shows, max_rows),
        "pace": images["pace"] + _pace(pace_alerts, show_name, max_rows),
        "sellout": images["sellout"] + _watch(sellout_watch, show_name, max_rows),
        "opportunities": images["opportunities"] + _markets(opportunities, artist_name, max_rows),
        "model": _model(backtest, gate, images["model"]),  # the verdict first, then the evidence
    }
    sections = "".join(
        f'<section id="{key}"><h2>{_esc(heading)}</h2>{bodies[key]}</section>' for key, heading in SECTIONS.items()
    )
    nav = "".join(f'<a href="#{key}">{_esc(heading)}</a>' for key, heading in SECTIONS.items())
    as_of = pd.to_datetime(forecasts["as_of"]).max()
    stamp = "no forecasts" if pd.isna(as_of) else f"as of {as_of.date().isoformat()}"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_esc(title)}</title>'
        f"<style>{_CSS}</style></head><body><header><h1>{_esc(title)}</h1>"
        f'<p class="note">Forecasts {stamp}, served by {_esc(gate.serving)}.</p><nav>{nav}</nav></header>'
        f"{sections}</body></html>\n"
    )


def _forecasts(forecasts: pd.DataFrame, shows: pd.DataFrame, max_rows: int) -> str:
    labels = shows[["concert_id", "name", "local_date", "venue", "city"]].assign(concert_id=shows["concert_id"].astype(str))
    f = forecasts.assign(concert_id=forecasts["concert_id"].astype(str))
    f = f.merge(labels.drop_duplicates("concert_id"), on="concert_id", how="left")
    estimated = pd.to_datetime(f["as_of"]) + pd.to_timedelta(f["days_to_show"], unit="D")
    f = f.assign(date=pd.to_datetime(f["local_date"]).fillna(estimated).dt.date).sort_values(["date", "concert_id"])
    venue = [", ".join(_esc(v) for v in pair if not _missing(v)) or _NONE for pair in zip(f["venue"], f["city"], strict=True)]
    numbers = {"Days out": "days_to_show", "Sold": "tickets_sold", "Capacity": "capacity"}
    numbers |= {"P10": "forecast_p10", "P50": "forecast_p50", "P90": "forecast_p90"}
    columns = {"Concert": f["name"].fillna(f["concert_id"]).map(_esc), "Date": f["date"].map(_esc)}
    columns |= {"Venue": pd.Series(venue, index=f.index)} | {head: f[name].map(_int) for head, name in numbers.items()}
    columns |= {"Sell-out": f["sellout_probability"].map(_pct), "Model": f["model_version"].map(_esc)}
    return _table(columns, max_rows, numeric={*numbers, "Sell-out"})


def _pace(alerts: pd.DataFrame, show_name, max_rows: int) -> str:
    a = alerts.assign(size=alerts["gap_tickets"].abs()).sort_values(["size", "concert_id"], ascending=[False, True])
    columns = {"Concert": a["concert_id"].map(show_name), "Direction": a["direction"].map(_esc)}
    columns |= {"Gap (tickets)": a["gap_tickets"].map(_int), "Why": a["reason"].map(_esc)}
    return _table(columns, max_rows, numeric={"Gap (tickets)"})


def _watch(watch: pd.DataFrame, show_name, max_rows: int) -> str:
    w = watch.sort_values(["sellout_probability", "concert_id"], ascending=[False, True])
    columns = {"Concert": w["concert_id"].map(show_name), "Sell-out": w["sellout_probability"].map(_pct)}
    columns |= {"Recommendation": w["recommendation"].map(_esc), "Why": w["reason"].map(_esc)}
    return _table(columns, max_rows, numeric={"Sell-out"})


def _markets(opportunities: pd.DataFrame, artist_name, max_rows: int) -> str:
    o = opportunities.assign(artist=opportunities["artist_id"].map(artist_name)).sort_values(["artist", "rank"])
    columns = {"Artist": o["artist"], "Rank": o["rank"].map(_int), "Market": o["city"].map(_esc) + ", " + o["country"].map(_esc)}
    why = o["reasons"].map(lambda r: _esc("; ".join(map(str, r)) if _is_list(r) else r))
    return _table(columns | {"Score": o["score"].map(_num), "Why": why}, max_rows, numeric={"Rank", "Score"})


def _model(backtest: pd.DataFrame, gate: GateSummary, images: str) -> str:
    if gate.passed:
        decision = (
            f'<p class="passed"><strong>Promoted:</strong> {_esc(gate.candidate)} met every criterion of the promotion gate.</p>'
        )
    else:
        decision = (
            f'<p class="failed"><strong>Not promoted:</strong> {_esc(gate.candidate)} failed the promotion gate, '
            f"so {_esc(gate.serving)} keeps serving. Why:</p>{_list(gate.reasons)}"
        )
    wins = _list(gate.baseline_wins) if gate.baseline_wins else "<p>No baseline beats the model at any horizon.</p>"
    out = f"<h3>Promotion decision</h3>{decision}<h3>Where a baseline still wins</h3>{wins}{images}"
    if backtest.empty:
        return out + '<p class="note">No backtest.</p>'
    wape = wape_by_horizon(backtest)
    marked = wape.index.map(lambda m: f"{_esc(m)} (candidate)" if m == gate.candidate else _esc(m))
    by_horizon = {"Model": pd.Series(marked, index=wape.index)} | {_horizon(h): wape[h].map(_num) for h in wape.columns}
    metrics = BACKTEST_COLUMNS[2:]
    every = {"Model": backtest["model"].map(_esc), "Horizon": backtest["horizon_days"].map(_horizon)}
    every |= {c: backtest[c].map(_int if c == "n" else _num) for c in metrics}
    return (
        f"{out}<h3>WAPE by horizon, against the baselines (lower is better)</h3>"
        f"{_table(by_horizon, len(wape), numeric=set(by_horizon) - {'Model'})}"
        f"<details><summary>Every backtest metric</summary>{_table(every, len(backtest), numeric=set(metrics))}</details>"
    )


def _table(columns: dict[str, pd.Series], max_rows: int, numeric: Collection[str] = ()) -> str:
    """``columns``: heading -> cells (escaped HTML) on one index; ``numeric`` headings are right-aligned."""
    cells = pd.DataFrame(columns).head(max_rows)
    if cells.empty:
        return '<p class="note">None.</p>'
    align = {name: ' class="n"' if name in numeric else "" for name in columns}
    head = "".join(f"<th{align[name]}>{_esc(name)}</th>" for name in columns)
    body = "".join(
        "<tr>" + "".join(f"<td{align[name]}>{cell}</td>" for name, cell in zip(columns, row, strict=True)) + "</tr>"
        for row in cells.itertuples(index=False)
    )
    hidden = len(next(iter(columns.values()))) - len(cells)
    more = f'<p class="note">{hidden} more not shown.</p>' if hidden else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def _img(chart: Chart) -> str:
    return f'<img src="{data_uri(chart.png)}" alt="{_esc(chart.alt)}" data-chart="{_esc(chart.key)}">'


def _namer(frame: pd.DataFrame, key: str):
    """id -> its escaped name, or the escaped id where the frame names none."""
    named = frame[frame["name"].notna()]
    names = dict(zip(named[key].astype(str), named["name"].astype(str), strict=True))
    return lambda value: _esc(names.get(str(value), value))


def _horizon(days) -> str:
    return "overall" if int(days) == OVERALL else f"{int(days)} day{'' if int(days) == 1 else 's'}"


def _list(items: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{_esc(item)}</li>" for item in items) + "</ul>"


def _is_list(value) -> bool:
    return not isinstance(value, str) and hasattr(value, "__iter__")


def _esc(value) -> str:
    return _NONE if _missing(value) else html.escape(str(value), quote=True)


def _int(value) -> str:
    return _NONE if _missing(value) else f"{round(float(value)):,}"


def _num(value) -> str:
    return _NONE if _missing(value) else f"{float(value):.3f}"


def _pct(value) -> str:
    return _NONE if _missing(value) else f"{float(value):.0%}"


def _missing(value) -> bool:
    return value is None or (not _is_list(value) and bool(pd.isna(value)))
