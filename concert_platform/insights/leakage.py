"""Leakage detectors: pure functions an asset check calls, each returning the offending rows.

A forecast backtest is only honest when no feature saw the future. These
recount what every snapshot row may know straight from the daily sales table
(not from the booking curves the snapshots were built from, so a fault there
shows), and list each row that holds more than that. An empty frame means clean.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from concert_platform.transforms.features import VELOCITY_WINDOW_DAYS

VIOLATION_COLUMNS = ["concert_id", "as_of", "column", "value", "allowed", "reason"]


def future_sales_used(snapshots: pd.DataFrame, daily: pd.DataFrame) -> pd.DataFrame:
    """Snapshot rows whose sales features include a sale on or after their ``as_of``.

    ``tickets_sold_to_date`` may hold at most the tickets sold strictly before
    as_of, ``tickets_last_7d`` at most those of the 7 days before it, and
    ``last_sale_date`` must be before as_of: more tickets than that can only
    have come from a later sale (tickets are never negative).
    """
    rows = snapshots[["concert_id", "as_of"]].reset_index(drop=True)
    as_of = pd.to_datetime(rows["as_of"]).astype("datetime64[ns]")
    allowed_total = _tickets_before(rows, as_of, daily)
    allowed_week = allowed_total - _tickets_before(rows, as_of - pd.Timedelta(days=VELOCITY_WINDOW_DAYS), daily)
    checks = [
        ("tickets_sold_to_date", allowed_total, "counts tickets sold on or after as_of"),
        ("tickets_last_7d", allowed_week, "counts tickets sold on or after as_of in its 7-day window"),
    ]
    found = []
    for column, allowed, reason in checks:
        value = snapshots[column].reset_index(drop=True).astype("int64")
        bad = value > allowed
        found.append(
            rows[bad].assign(column=column, value=value[bad].astype(str), allowed=allowed[bad].astype(str), reason=reason)
        )
    last = pd.to_datetime(snapshots["last_sale_date"]).astype("datetime64[ns]").reset_index(drop=True)
    late = (last >= as_of).fillna(False)
    found.append(
        rows[late].assign(
            column="last_sale_date",
            value=last[late].dt.date.astype(str),
            allowed="before as_of",
            reason="a sale on or after as_of",
        )
    )
    return _violations(found)


def targets_after_cutoff(snapshots: pd.DataFrame, cutoff: date) -> pd.DataFrame:
    """Rows carrying a ``final_tickets`` target for a show not played before ``cutoff``.

    A model trained for cutoff C may learn only from shows finished before C:
    a later show's final count holds sales from C on.
    """
    rows = snapshots.reset_index(drop=True)
    show = pd.to_datetime(rows["local_date"]).astype("datetime64[ns]")
    bad = rows["final_tickets"].notna() & (show >= pd.Timestamp(cutoff))
    return _violations(
        [
            rows.loc[bad, ["concert_id", "as_of"]].assign(
                column="final_tickets",
                value=rows.loc[bad, "final_tickets"].astype(str),
                allowed=f"shows before {cutoff.isoformat()}",
                reason="target of a show played on or after the cutoff",
            )
        ]
    )


def _tickets_before(rows: pd.DataFrame, moment: pd.Series, daily: pd.DataFrame) -> pd.Series:
    """Per row, the tickets of its concert sold strictly before ``moment``, straight from the daily table."""
    daily = daily.reindex(columns=["concert_id", "sale_date", "tickets"])
    sales = pd.DataFrame(
        {
            "concert_id": daily["concert_id"].astype(str),
            "sale_at": pd.to_datetime(daily["sale_date"]).astype("datetime64[ns]"),
            "tickets": daily["tickets"].astype("int64"),
        }
    )
    per_day = sales.groupby(["concert_id", "sale_at"], as_index=False)["tickets"].sum()
    per_day["cum"] = per_day.groupby("concert_id")["tickets"].cumsum()
    keyed = pd.DataFrame({"row": range(len(rows)), "concert_id": rows["concert_id"].astype(str), "moment": moment})
    joined = pd.merge_asof(
        keyed.sort_values("moment"),
        per_day.sort_values("sale_at")[["concert_id", "sale_at", "cum"]],
        left_on="moment",
        right_on="sale_at",
        by="concert_id",
        allow_exact_matches=False,
    )
    return joined.set_index("row").sort_index()["cum"].fillna(0).astype("int64").rename(None)


def _violations(parts: list[pd.DataFrame]) -> pd.DataFrame:
    out = pd.concat([p for p in parts if len(p)] or [pd.DataFrame(columns=VIOLATION_COLUMNS)], ignore_index=True)
    return out[VIOLATION_COLUMNS]
