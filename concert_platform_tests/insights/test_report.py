"""The insights report: every section, nothing fetched from outside, hostile text shown as text, charts that render in Chromium."""

from __future__ import annotations

import json
import re
from datetime import date
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from concert_platform.insights import plots
from concert_platform.insights.report import SECTIONS, Chart, GateSummary, insights_report
from concert_platform_tests.insights.test_plots import backtest_table, curves_and_forecasts, sellout_outcomes
from concert_platform_tests.topology.browser import rendered_text

HOSTILE = "<script>alert('x')</script> & \"Quoted\" <b>"
AS_OF = date(2026, 5, 1)


def inputs(hostile: str = "safe") -> dict:
    curves, forecasts = curves_and_forecasts()
    forecasts = forecasts.assign(as_of=AS_OF, sellout_probability=[0.91, 0.2, np.nan], model_version=f"gbm-{hostile}")
    shows = pd.DataFrame(
        {"concert_id": ["club", "arena"], "name": [f"Club {hostile}", "Arena night"], "local_date": [date(2026, 5, 6), None],
         "venue": [f"Venue {hostile}", "Dome"], "city": [f"City {hostile}", None]}
    )  # fmt: skip
    y, p = sellout_outcomes()
    backtest = backtest_table().assign(model=lambda t: t["model"].replace("gbm", f"gbm {hostile}"))
    return {
        "forecasts": forecasts,
        "shows": shows,
        "pace_alerts": pd.DataFrame(
            {"concert_id": ["theatre", "club"], "direction": ["behind", f"ahead {hostile}"], "gap_tickets": [-40.0, 120.0],
             "reason": ["sold 240, similar shows 280 by now", f"pace {hostile}"]}
        ),
        "sellout_watch": pd.DataFrame(
            {"concert_id": ["club"], "sellout_probability": [0.91], "recommendation": [f"add a date {hostile}"],
             "reason": [f"sells out 12 days early {hostile}"]}
        ),
        "opportunities": pd.DataFrame(
            {"artist_id": ["a1", "a1", "a2"], "city": [f"Lyon {hostile}", "Köln", "Leeds"], "country": ["FR", "DE", "GB"],
             "score": [0.81, 0.64, 0.55], "rank": [1, 2, 1], "reasons": [[f"genre strong {hostile}", "sells through"], "momentum", "popular"]}
        ),
        "artists": pd.DataFrame({"artist_id": ["a1"], "name": [f"Sigur Rós {hostile}"]}),
        "backtest": backtest,
        "gate": GateSummary(
            candidate=f"gbm {hostile}", serving="additive_pickup", passed=False,
            reasons=[f"WAPE overall 0.200 is not 20% below {hostile}"], baseline_wins=[f"at 1 day: additive_pickup {hostile}"],
        ),
        "charts": [
            Chart("forecasts", "booking_curves", plots.booking_curve_fan(curves, forecasts), f"Booking curves {hostile}"),
            Chart("model", "calibration", plots.calibration_plot(y, p, 10), "Sell-out calibration"),
            Chart("model", "backtest_by_horizon", plots.backtest_by_horizon(backtest, f"gbm {hostile}"), "WAPE by horizon"),
        ],
        "title": f"Insights {hostile}",
    }  # fmt: skip


class Page(HTMLParser):
    """The page as a reader sees it: its text (each element apart, the style sheet left out), tags and attributes, entities decoded."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.text, self.tags, self.attrs = [], [], []
        self.feed(page)
        self.text = re.sub(r"\s+", " ", "".join(self.text)).strip()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, name, value) for name, value in attrs]
        self.text.append(" ")

    def handle_data(self, data):
        if self.lasttag != "style":  # data right after <style> is the style sheet
            self.text.append(data)


def test_every_section_is_there_with_its_rows():
    page = Page(insights_report(**inputs()))
    for key, heading in SECTIONS.items():
        assert ("section", "id", key) in page.attrs and heading in page.text
    forecasts = page.text.split("Concert Date Venue Days out Sold Capacity P10 P50 P90 Sell-out Model ")[1].split(" Pace alerts")[
        0
    ]
    assert forecasts == (  # soonest first; a show with no label by its id, dated days out from as_of; missing values a dash
        "Club safe 2026-05-06 Venue safe, City safe 5 348 600 383 452 557 91% gbm-safe "
        "theatre 2026-05-21 — 20 1,212 — 1,333 1,576 1,939 20% gbm-safe "
        "Arena night 2026-06-15 Dome 45 6,840 15,000 7,524 8,892 10,944 — gbm-safe"
    )
    assert "Club safe ahead safe 120 pace safe theatre behind -40" in page.text  # biggest gap first
    assert "Club safe 91% add a date safe sells out 12 days early safe" in page.text
    assert (  # by artist, then rank; an artist with no name by its id
        "Sigur Rós safe 1 Lyon safe, FR 0.810 genre strong safe; sells through Sigur Rós safe 2 Köln, DE 0.640 momentum "
        "a2 1 Leeds, GB 0.550 popular"
    ) in page.text
    assert "Not promoted: gbm safe failed the promotion gate, so additive_pickup keeps serving." in page.text
    assert "WAPE overall 0.200 is not 20% below safe" in page.text and "at 1 day: additive_pickup safe" in page.text
    assert "gbm safe (candidate) 0.600 0.400 0.293 0.247 0.207 0.200" in page.text
    assert "base_rate" not in page.text.split("Every backtest metric")[0]  # no WAPE row for a sell-out model


def test_a_passing_gate_and_no_baseline_wins_say_so():
    args = inputs() | {"gate": GateSummary("gbm safe", "gbm safe", passed=True, reasons=[], baseline_wins=[])}
    text = Page(insights_report(**args)).text
    assert "Promoted: gbm safe met every criterion of the promotion gate." in text
    assert "No baseline beats the model at any horizon." in text and "keeps serving" not in text


def test_long_tables_are_cut_and_say_how_much():
    assert "1 more not shown." in Page(insights_report(**inputs() | {"max_rows": 2})).text  # three forecasts, two shown


def test_empty_tables_say_so():
    full = inputs()
    empty = {key: full[key].iloc[0:0] for key in ("forecasts", "pace_alerts", "sellout_watch", "opportunities", "backtest")}
    text = Page(insights_report(**full | empty | {"charts": []})).text
    assert "Forecasts no forecasts, served by additive_pickup." in text
    for heading in ("Upcoming shows", "Pace alerts", "Sell-out watch", "Market opportunities"):
        assert f"{heading} None." in text
    assert text.endswith("No backtest.")


def test_the_page_is_self_contained():
    page = insights_report(**inputs())
    parsed = Page(page)
    outside_images = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    assert not re.search(r"https?:|//\w", outside_images, re.I)
    assert {"script", "link", "iframe", "object", "embed"}.isdisjoint(parsed.tags)
    assert "url(" not in page and "@import" not in page
    sources = [value for tag, name, value in parsed.attrs if name == "src"]
    assert len(sources) == 3 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert all(value.startswith("#") for _, name, value in parsed.attrs if name == "href")


def test_hostile_text_is_escaped_everywhere_and_reads_back_as_text():
    page = insights_report(**inputs(HOSTILE))
    parsed = Page(page)
    assert "script" not in parsed.tags and "b" not in parsed.tags
    assert "<script" not in page and "<b>" not in page
    for shown in ("Club", "Venue", "City", "ahead", "pace", "add a date", "Lyon", "genre strong", "Sigur Rós", "gbm", "Insights"):
        assert f"{shown} {HOSTILE}" in parsed.text, shown
    assert ("img", "alt", f"Booking curves {HOSTILE}") in parsed.attrs  # attribute values are quoted and escaped too
    assert ("title" in parsed.tags) and page.count("&lt;script&gt;") >= 12


def test_a_chart_for_an_unknown_section_is_refused():
    args = inputs() | {"charts": [Chart("elsewhere", "x", b"", "x")]}
    with pytest.raises(ValueError, match="unknown sections"):
        insights_report(**args)


# Appended to a copy of the report (which has no script of its own): once every image has loaded or failed,
# it writes each chart's key and decoded width into the page, where --dump-dom shows it.
PROBE = """<script>addEventListener("load", () => {
  const seen = [...document.querySelectorAll("img[data-chart]")].map(i => [i.dataset.chart, i.naturalWidth]);
  const out = document.createElement("p");
  out.textContent = "CHART-PROBE" + JSON.stringify(seen) + "END-PROBE";
  document.body.append(out);
});</script>"""


def rendered_chart_widths(page: str, tmp_path) -> list[tuple[str, int]]:
    """Each data-chart image's key and natural width, as headless Chromium decoded it (0: a broken image)."""
    probed = tmp_path / "report.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    text = rendered_text(probed.as_uri(), wait_ms=5000)
    found = re.search(r"CHART-PROBE(.*?)END-PROBE", text)
    assert found, f"the probe did not run: {text[:500]}"
    return [(key, width) for key, width in json.loads(found.group(1))]


def assert_every_chart_rendered(page: str, tmp_path) -> None:
    widths = rendered_chart_widths(page, tmp_path)
    assert len(widths) == page.count("data-chart=") and widths, widths
    broken = [key for key, width in widths if width <= 0]
    assert not broken, f"charts that did not render: {broken}"


def test_every_chart_renders_in_chromium(tmp_path):
    page = insights_report(**inputs())
    assert_every_chart_rendered(page, tmp_path)
    assert [key for key, _ in rendered_chart_widths(page, tmp_path)] == ["booking_curves", "calibration", "backtest_by_horizon"]


def test_a_corrupt_chart_fails_the_chromium_check(tmp_path):
    args = inputs()
    good = args["charts"][1]
    corrupt = Chart("model", "corrupt", good.png[:40] + b"\x00" * 64, "a truncated PNG")
    page = insights_report(**args | {"charts": [*args["charts"], corrupt]})
    widths = dict(rendered_chart_widths(page, tmp_path))
    assert widths["corrupt"] == 0 and widths["calibration"] == 560
    with pytest.raises(AssertionError, match=r"did not render: \['corrupt'\]"):
        assert_every_chart_rendered(page, tmp_path)
