"""The sell-out model held to a generated world with known truth (see test_forecast for the split).

The issue's bar at 30 days out: Brier skill at least 0.30 against the base
rate, AUC at least 0.85, calibration error at most 0.03. Measured on this
world (seed 7, 5,400 shows, cutoff anchor + 110, 627 held-out shows of known
capacity in the 30-day bucket): skill 0.54, AUC 0.97, ECE 0.013; the
assertions hold the model to the issue's bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from concert_platform.insights.baselines import BaseRate, MultiplicativePickup, PickupSellout
from concert_platform.insights.horizons import HORIZONS
from concert_platform.insights.metrics import auc, brier, brier_skill, expected_calibration_error
from concert_platform.insights.sellout import SelloutModel
from concert_platform.transforms.features import SOLD_OUT_AT


@pytest.fixture(scope="module")
def sellout(world_split) -> SelloutModel:
    return SelloutModel.fit(world_split.train, seed=0)


@pytest.fixture(scope="module")
def scores(world_split, sellout) -> pd.DataFrame:
    """Per horizon bucket: the model's and the baselines' scores on the held-out shows of known capacity."""
    test = world_split.test[world_split.test["capacity"].notna()]
    base_rate = BaseRate.fit(world_split.train).rate
    ours = sellout.predict(test)["sellout_probability"]
    pickup = PickupSellout(MultiplicativePickup.fit(world_split.train)).predict(test)["sellout_probability"]
    rows = []
    for horizon in HORIZONS:
        here = (test["horizon_days"] == horizon).to_numpy()
        sold_out = test["censored"][here].astype(float)
        rows.append(
            {
                "horizon_days": horizon,
                "shows": test["concert_id"][here].nunique(),
                "sold_out_share": sold_out.mean(),
                "brier_skill": brier_skill(sold_out, ours[here], base_rate),
                "auc": auc(sold_out, ours[here]),
                "ece": expected_calibration_error(sold_out, ours[here]),
                "brier": brier(sold_out, ours[here]),
                "brier_base_rate": brier(sold_out, np.full(here.sum(), base_rate)),
                "brier_pickup": brier(sold_out, pickup[here]),
            }
        )
    out = pd.DataFrame(rows).set_index("horizon_days")
    print("\n" + out.round(3).to_string())
    return out


@pytest.mark.accuracy
def test_meets_the_issue_bar_30_days_out(scores):
    at_30 = scores.loc[30]
    assert at_30["brier_skill"] >= 0.30, scores.round(3).to_string()
    assert at_30["auc"] >= 0.85, scores.round(3).to_string()
    assert at_30["ece"] <= 0.03, scores.round(3).to_string()


@pytest.mark.accuracy
def test_beats_the_base_rate_everywhere_and_the_pickup_rule_two_weeks_out_and_more(scores):
    """Within a week of the show, "the pickup projection reaches capacity" is a hard rule to beat (sales to date
    all but settle it): on this world the model is level with it there, on others measured it lost."""
    table = scores.round(4).to_string()
    assert (scores["auc"] > 0.75).all() and (scores["brier_skill"] > 0).all(), table
    far = scores.loc[[60, 30, 14]]
    assert (far["brier"] < far["brier_pickup"]).all(), table


@pytest.mark.accuracy
def test_unknown_capacity_has_no_answer_and_a_sold_out_show_is_certain(world_split, sellout):
    test = world_split.test
    out = sellout.predict(test)["sellout_probability"]
    assert out.index.equals(test.index)
    unknown = test["capacity"].isna().to_numpy()
    assert unknown.any() and out[unknown].isna().all()
    known = out[~unknown]
    assert known.notna().all() and known.between(0.0, 1.0).all()
    sold_out = (test["tickets_sold_to_date"] >= SOLD_OUT_AT * test["capacity"].astype("Float64")).fillna(False).to_numpy()
    assert sold_out.any() and (out[sold_out] == 1.0).all()


def test_same_data_and_seed_give_the_same_probabilities(small_split):
    train, test = small_split.train, small_split.test
    first = SelloutModel.fit(train, seed=5).predict(test)
    again = SelloutModel.fit(train.sample(frac=1.0, random_state=2), seed=5).predict(test)
    assert_frame_equal(first, again)


def test_a_training_set_without_a_sell_out_is_refused(small_split):
    train = small_split.train
    never = train[~train["concert_id"].isin(train.loc[train["censored"].fillna(False).astype(bool), "concert_id"])]
    with pytest.raises(ValueError, match="all sold out, or none is"):
        SelloutModel.fit(never, seed=0)
