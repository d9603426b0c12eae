"""The sell-out model: a calibrated probability that a show sells out, per snapshot.

The event is the one the snapshots label ``censored``: final tickets at least
``SOLD_OUT_AT`` x capacity. It is observed exactly for every finished show of
known capacity, sold out or not, so the classifier learns it directly; no
demand above capacity is imputed (see ``forecast`` on censoring). A show of
unknown capacity cannot be said to sell out: its probability is NaN, as the
base-rate baseline answers. A show that has already sold out by its as-of
date is certain to: its probability is 1, and such rows are left out of
training, as they would teach the classifier nothing.

A gradient-boosted classifier on the forecaster's features (``model_features``,
plus the multiplicative pickup's projected sell-through, which may pass 1:
how far past capacity the pickup would go) ranks the shows; an isotonic
regression fitted on CALIBRATION SHOWS, drawn by concert the way the
forecaster draws its own (``forecast.calibration_mask``) and left out of
everything else, maps its scores to probabilities. Isotonic rather than
sigmoid: the boosted scores of a rare event are not logistic in shape, and
there are thousands of calibration rows to fit a monotone step function on
(a sigmoid per horizon bucket, tried on the demo worlds, calibrated worse).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression

from concert_platform.insights.baselines import MultiplicativePickup
from concert_platform.insights.forecast import (
    BOOSTING,
    TRAINING_DAYS,
    calibration_mask,
    capacity,
    finished_rows,
    pickup_matrix,
)
from concert_platform.insights.model_features import FEATURES, FeatureEncoder
from concert_platform.transforms.features import SOLD_OUT_AT

# Log loss needs no per-leaf quantiles, so a bigger classifier than the forecaster's regressors costs little;
# it draws the sharper line close to the show, where sales to date all but settle the outcome.
CLASSIFIER = {**BOOSTING, "max_iter": 200, "learning_rate": 0.1, "max_leaf_nodes": 31}


def sold_out_already(frame: pd.DataFrame) -> np.ndarray:
    return frame["tickets_sold_to_date"].to_numpy(dtype="float64") >= SOLD_OUT_AT * capacity(frame)


@dataclass(frozen=True, eq=False)
class SelloutModel:
    """sellout_probability per snapshot (rows built with ``with_features``)."""

    name: ClassVar[str] = "gbm_sellout"
    pickup: MultiplicativePickup
    encoder: FeatureEncoder
    classifier: HistGradientBoostingClassifier
    calibrator: IsotonicRegression

    @classmethod
    def fit(cls, train: pd.DataFrame, seed: int = 0) -> Self:
        """Fitted on ``train``'s finished shows of known capacity (``training_snapshots`` rows with features)."""
        finished = finished_rows(train)
        finished = finished[~np.isnan(capacity(finished))].reset_index(drop=True)
        pickup = MultiplicativePickup.fit(finished[~calibration_mask(finished, seed)])
        rows = finished[finished["days_to_show"].isin(TRAINING_DAYS).to_numpy() & ~sold_out_already(finished)]
        rows = rows.reset_index(drop=True)
        calibrating = calibration_mask(rows, seed)
        label = rows["censored"].to_numpy(dtype="bool")
        for part, what in ((~calibrating, "fit"), (calibrating, "calibrate")):
            if len(np.unique(label[part])) < 2:
                raise ValueError(f"the shows to {what} the sell-out model on are all sold out, or none is")
        encoder = FeatureEncoder.fit(rows[~calibrating], FEATURES)
        x = pickup_matrix(encoder, pickup, rows)
        classifier = HistGradientBoostingClassifier(
            **CLASSIFIER, categorical_features=np.append(encoder.categorical_mask, False), random_state=seed
        )
        classifier.fit(x[~calibrating], label[~calibrating])
        calibrator = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        calibrator.fit(classifier.predict_proba(x[calibrating])[:, 1], label[calibrating])
        return cls(pickup, encoder, classifier, calibrator)

    def predict(self, snapshots: pd.DataFrame) -> pd.DataFrame:
        frame = snapshots.reset_index(drop=True)
        known = ~np.isnan(capacity(frame))
        done = sold_out_already(frame)
        probability = np.where(known, np.where(done, 1.0, np.nan), np.nan)
        open_ = known & ~done
        if open_.any():
            rows = frame[open_]
            score = self.classifier.predict_proba(pickup_matrix(self.encoder, self.pickup, rows))[:, 1]
            probability[open_] = self.calibrator.predict(score)
        return pd.DataFrame({"sellout_probability": probability}, index=snapshots.index)
