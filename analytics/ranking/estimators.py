"""The ranking's classifiers, following scikit-learn's estimator contract.

Each estimator takes rows of :func:`analytics.ranking.features.feature_frame`
(a DataFrame: the NUMERIC columns plus ``target_type`` and ``street``) and the
outcome ``y`` (1 reached, 0 not). Hyper-parameters are set only in
``__init__`` and stored unchanged; what ``fit`` learns ends in ``_``;
:func:`sklearn.base.clone` gives an unfitted copy; ``predict_proba`` before
``fit`` raises :class:`sklearn.exceptions.NotFittedError`.

``predict_proba`` returns the (n, 2) array scikit-learn specifies (columns in
the order of ``classes_``: not reached, reached). The ranking uses the second
column, :func:`positive_proba`, which is exactly the vector the classifiers
returned before they followed the contract (the same floats: scores stay
byte-identical).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from analytics.ranking.features import CATEGORICAL, NUMERIC, TYPES
from analytics.ranking.prior import PRIOR_COLUMNS, prior_scores_of

RANDOM_STATE = 20251
# The outcome's two values: the target did not reach its outcome (0) or did (1).
CLASSES = np.array([0.0, 1.0])


def _check_frame(x: object, columns: Sequence[str], who: str) -> pd.DataFrame:
    """``x`` itself, once it is a DataFrame with every column in ``columns``."""
    if not isinstance(x, pd.DataFrame):
        raise TypeError(
            f"{who}: expected a pandas DataFrame of feature_frame() rows, got {type(x).__name__}"
        )
    missing = [c for c in columns if c not in x.columns]
    if missing:
        raise ValueError(
            f"{who}: the feature frame lacks the column(s) {missing}; expected the "
            "columns of analytics.ranking.features.feature_frame()"
        )
    return x


def _check_y(x: pd.DataFrame, y: object, who: str) -> np.ndarray:
    """``y`` as an array: one 0/1 outcome per row of ``x``."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(
            f"{who}: expected y with one outcome per row ({len(x)}), got shape {y.shape}"
        )
    if not np.isin(y, CLASSES).all():
        raise ValueError(f"{who}: expected y of 0 (not reached) and 1 (reached) only")
    return y


def _two_columns(positive: np.ndarray) -> np.ndarray:
    """The (n, 2) probabilities of a vector of positive-class probabilities."""
    return np.column_stack([1.0 - positive, positive])


def positive_proba(model: RankingModel, x: pd.DataFrame) -> np.ndarray:
    """The probability that each target reaches its outcome: the score."""
    return model.predict_proba(x)[:, 1]


class RankingModel(ClassifierMixin, BaseEstimator):
    """A classifier over the ranking features; ``name`` is the model's name in
    reports and in the targets' ``model`` column."""

    name = "model"

    def fit(self, x: pd.DataFrame, y: np.ndarray) -> RankingModel:
        raise NotImplementedError

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        """The more likely outcome of each row."""
        return self.classes_[np.argmax(self.predict_proba(x), axis=1)]


class BoostedModel(RankingModel):
    """HistGradientBoosting with target type and street as categorical features.

    ``extra`` names feature columns used besides NUMERIC (the uplift model's
    ``treated``). The defaults: 63 bins and a 0.1 rate took 5.6 s instead of
    7.8 s on 190k rows for an AUC 0.0015 lower on the demo's held-out date
    (bench/ranking.py)."""

    name = "hgb"

    def __init__(
        self,
        extra: tuple[str, ...] = (),
        learning_rate: float = 0.1,
        max_iter: int = 300,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 40,
        max_bins: int = 63,
        l2_regularization: float = 1.0,
        validation_fraction: float = 0.15,
        n_iter_no_change: int = 20,
        random_state: int | None = RANDOM_STATE,
    ) -> None:
        self.extra = extra
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.max_bins = max_bins
        self.l2_regularization = l2_regularization
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state

    def can_fit(self, y: np.ndarray) -> bool:
        """Whether ``fit`` can learn from outcomes ``y``: both outcomes, and the
        stratified early-stopping split scikit-learn makes (``validation_fraction``
        held out) has at least one row of each outcome on either side and two of
        each in all. A quarter in which nobody, or everybody, reached the outcome
        has nothing to split on."""
        y = np.asarray(y)
        n = len(y)
        counts = [int((y == c).sum()) for c in CLASSES]
        held_out = math.ceil(self.validation_fraction * n)
        return min(counts) >= 2 and held_out >= len(CLASSES) and n - held_out >= len(CLASSES)

    def _matrix(self, x: pd.DataFrame) -> pd.DataFrame:
        m = x[self.columns_].copy()
        m["target_type"] = pd.Categorical(x["target_type"], categories=TYPES)
        m["street"] = pd.Categorical(x["street"], categories=self.streets_)
        return m

    def fit(self, x: pd.DataFrame, y: np.ndarray) -> BoostedModel:
        who = "BoostedModel.fit"
        x = _check_frame(x, NUMERIC + list(self.extra) + CATEGORICAL, who)
        y = _check_y(x, y, who)
        self.streets_ = sorted(x["street"].unique())
        # A column with no value at all (no income data in a region, say) has no
        # bins; it carries nothing to learn, so it is left out.
        self.columns_ = [c for c in NUMERIC + list(self.extra) if x[c].notna().any()]
        self.clf_ = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            max_bins=self.max_bins,
            l2_regularization=self.l2_regularization,
            categorical_features="from_dtype",
            early_stopping=True,
            validation_fraction=self.validation_fraction,
            n_iter_no_change=self.n_iter_no_change,
            random_state=self.random_state,
        )
        self.clf_.fit(self._matrix(x), y)
        self.classes_ = self.clf_.classes_
        return self

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        x = _check_frame(x, self.columns_ + CATEGORICAL, "BoostedModel.predict_proba")
        return self.clf_.predict_proba(self._matrix(x))


class LogisticModel(RankingModel):
    """One logistic regression per target type (standardized features, street
    one-hot). A type with fewer than ``min_rows`` rows or one outcome only keeps
    the prior."""

    name = "logistic"

    def __init__(self, C: float = 0.5, max_iter: int = 2000, min_rows: int = 20) -> None:
        self.C = C
        self.max_iter = max_iter
        self.min_rows = min_rows

    def fit(self, x: pd.DataFrame, y: np.ndarray) -> LogisticModel:
        who = "LogisticModel.fit"
        x = _check_frame(x, NUMERIC + CATEGORICAL, who)
        y = _check_y(x, y, who)
        self.models_: dict[str, object] = {}
        for t in TYPES:
            mask = (x["target_type"] == t).to_numpy()
            if mask.sum() < self.min_rows or len(set(y[mask])) < 2:
                continue  # too little to learn from: this type keeps the prior
            pre = ColumnTransformer(
                [
                    ("num", make_pipeline(StandardScaler()), NUMERIC),
                    ("street", OneHotEncoder(handle_unknown="ignore"), ["street"]),
                ]
            )
            clf = make_pipeline(pre, LogisticRegression(C=self.C, max_iter=self.max_iter))
            self.models_[t] = clf.fit(x.loc[mask, NUMERIC + ["street"]].fillna(0), y[mask])
        self.classes_ = CLASSES.copy()
        return self

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        x = _check_frame(x, NUMERIC + CATEGORICAL, "LogisticModel.predict_proba")
        out = np.zeros(len(x))
        for t in TYPES:
            mask = (x["target_type"] == t).to_numpy()
            if not mask.any():
                continue
            model = self.models_.get(t)
            out[mask] = (
                model.predict_proba(x.loc[mask, NUMERIC + ["street"]].fillna(0))[:, 1]
                if model is not None
                else prior_scores_of(x.loc[mask])
            )
        return _two_columns(out)


class PriorModel(RankingModel):
    """The documented policy-rule prior (:func:`analytics.ranking.prior.prior_scores_of`);
    ``fit`` learns nothing but the classes."""

    name = "prior"

    def fit(self, x: pd.DataFrame, y: np.ndarray | None = None) -> PriorModel:
        x = _check_frame(x, PRIOR_COLUMNS, "PriorModel.fit")
        if y is not None:
            _check_y(x, y, "PriorModel.fit")
        self.classes_ = CLASSES.copy()
        return self

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        x = _check_frame(x, PRIOR_COLUMNS, "PriorModel.predict_proba")
        return _two_columns(prior_scores_of(x))


def learnable_types(x: pd.DataFrame, y: np.ndarray) -> tuple[str, ...]:
    """The target types the rows can teach: some rows, and both outcomes among
    them. Of a type with no rows, or whose targets all (or none) reached the
    outcome, nothing can be learned about who reaches it."""
    types = x["target_type"].to_numpy()
    y = np.asarray(y)
    return tuple(t for t in TYPES if len(set(y[types == t])) == len(CLASSES))


class TypeFallback(RankingModel):
    """``base`` for the target types the training rows can teach
    (:func:`learnable_types`), the documented prior for the others: a region
    whose history holds no upgrade targets, say, scores its upgrades by the
    prior rather than by what the other types taught. ``base`` is fitted on the
    rows of the learnable types only."""

    def __init__(self, base: RankingModel) -> None:
        self.base = base

    @property
    def name(self) -> str:  # the base's name: the model that scores what can be learned
        return self.base.name

    def fit(self, x: pd.DataFrame, y: np.ndarray) -> TypeFallback:
        who = "TypeFallback.fit"
        x = _check_frame(x, PRIOR_COLUMNS, who)
        y = _check_y(x, y, who)
        self.learned_types_ = learnable_types(x, y)
        mask = x["target_type"].isin(self.learned_types_).to_numpy()
        self.base_ = clone(self.base).fit(x[mask], y[mask]) if mask.any() else None
        self.classes_ = CLASSES.copy()
        return self

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        x = _check_frame(x, PRIOR_COLUMNS, "TypeFallback.predict_proba")
        out = prior_scores_of(x)
        mask = x["target_type"].isin(self.learned_types_).to_numpy()
        if self.base_ is not None and mask.any():
            out[mask] = positive_proba(self.base_, x[mask])
        return _two_columns(out)
