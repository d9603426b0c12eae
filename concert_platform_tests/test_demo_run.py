"""`make run`'s program on a tiny demo: seeds, materialises everything, prints the summary."""

import re
from datetime import date

from concert_platform import demo_run

from .demo_counts import shows_in_window


def test_demo_run_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no .env of the repository's; the defaults' relative paths land here
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    for name in ("CONCERT_LAKE_URL", "CONCERT_LANDING_URL", "CONCERT_WAREHOUSE_URL", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONCERT_DEMO_DATE", "2026-11-20")

    assert demo_run.main(["--days", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"seeded [\d,]+ sale records in 5 files for 1 days \(2026-11-19 \.\. 2026-11-19\)", out)
    assert re.search(r"ticket_sales_job \[2026-11-19..2026-11-19\]\s+ok", out)
    counts = dict(re.findall(r"^  (\w+)\s+([\d,]+) rows$", out, flags=re.M))
    assert (
        counts["concerts"] == f"{shows_in_window(date(2026, 11, 20)):,}" and int(counts["ticket_sales"].replace(",", "")) > 10_000
    )
    assert "rejected records by entity: ticket_sales" in out
    assert (tmp_path / ".concert_data" / "warehouse.duckdb").is_file()
