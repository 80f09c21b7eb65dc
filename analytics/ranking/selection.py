"""Metrics, the choice of model, and the uplift of a visit.

Validation is by time only: candidates are fitted on the pairs whose outcome
date is before the latest one and compared on the latest; the winner is fitted
again on every pair and scores the current targets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from analytics.ranking.estimators import (
    BoostedModel,
    LogisticModel,
    PriorModel,
    RankingModel,
    TypeFallback,
    learnable_types,
    positive_proba,
)
from analytics.ranking.features import TYPES


def metrics(y: np.ndarray, p: np.ndarray) -> dict:
    """AUC, top-decile lift, precision at 50/100/500, Brier score, log loss and a
    ten-bin calibration table for scores ``p`` of outcomes ``y``."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    order = np.argsort(-p, kind="stable")
    base = y.mean() if len(y) else float("nan")
    top = order[: max(1, len(y) // 10)]
    out = {
        "n": len(y),
        "positives": int(y.sum()),
        "base_rate": float(base),
        "auc": float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan"),
        "top_decile_lift": float(y[top].mean() / base) if base > 0 else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1])),
    }
    for k in (50, 100, 500):
        out[f"precision_at_{k}"] = float(y[order[:k]].mean()) if len(y) >= k else float("nan")
    bins = np.clip((p * 10).astype(int), 0, 9)
    out["calibration"] = [
        {
            "bin": f"{b / 10:.1f}-{(b + 1) / 10:.1f}",
            "n": int((bins == b).sum()),
            "mean_score": float(p[bins == b].mean()),
            "observed": float(y[bins == b].mean()),
        }
        for b in range(10)
        if (bins == b).any()
    ]
    return out


def uplift_at_k(
    y: np.ndarray,
    treated: np.ndarray,
    uplift: np.ndarray,
    fractions: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5, 1.0),
) -> list[dict]:
    """Observed uplift (visited minus not-visited outcome rate) among the top
    fraction by predicted uplift, beside the same for the whole list (what a
    random order gives in expectation)."""
    order = np.argsort(-uplift, kind="stable")
    rows = []
    overall = _rate_gap(y, treated)
    for f in fractions:
        top = order[: max(1, int(len(y) * f))]
        rows.append(
            {
                "fraction": f,
                "n": len(top),
                "uplift": _rate_gap(y[top], treated[top]),
                "random": overall,
            }
        )
    return rows


def _rate_gap(y: np.ndarray, t: np.ndarray) -> float:
    if t.sum() == 0 or (1 - t).sum() == 0:
        return float("nan")
    return float(y[t == 1].mean() - y[t == 0].mean())


@dataclass
class Choice:
    model: RankingModel
    report: dict


def _can_fit(model: RankingModel, y: np.ndarray) -> bool:
    """Whether ``model`` can be fitted on outcomes ``y`` (the prior and the
    logistic model always can: a type with too little keeps the prior)."""
    return model.can_fit(y) if isinstance(model, BoostedModel) else True


def _per_type(model: RankingModel, pairs: pd.DataFrame) -> RankingModel:
    """``model``, or it wrapped to keep the prior for the target types the pairs
    cannot teach (:class:`TypeFallback`). Wrapped only when some type cannot be
    learned, so a history that teaches every type scores exactly as before."""
    learnable = learnable_types(pairs, pairs["y"].to_numpy())
    if isinstance(model, PriorModel) or len(learnable) == len(TYPES):
        return model
    return TypeFallback(model)


def _fit(model: RankingModel, pairs: pd.DataFrame) -> RankingModel:
    """An unfitted copy of ``model`` (wrapped by :func:`_per_type`) fitted on ``pairs``."""
    return _per_type(clone(model), pairs).fit(pairs, pairs["y"].to_numpy())


def _learnable_y(pairs: pd.DataFrame) -> np.ndarray:
    """The outcomes of the pairs whose target type can be learned (what a model is fitted on)."""
    learnable = learnable_types(pairs, pairs["y"].to_numpy())
    return pairs.loc[pairs["target_type"].isin(learnable), "y"].to_numpy()


def choose_and_fit(pairs: pd.DataFrame) -> Choice:
    """Compare the candidates on the latest outcome date, refit the winner on all pairs.

    Whatever a batch holds, a model is chosen: a candidate that cannot be
    fitted on the training pairs is skipped; when no candidate has a validation
    AUC (a validation date on which every target, or none, reached its outcome)
    the choice falls back to the rule for a history too short to validate; a
    target type the pairs cannot teach keeps the documented prior."""
    latest = pairs["end"].max()
    train, valid = pairs[pairs["end"] < latest], pairs[pairs["end"] == latest]
    candidates: list[RankingModel] = [PriorModel(), LogisticModel(), BoostedModel()]
    report: dict = {
        "training_dates": sorted({str(d) for d in pairs["start"]}),
        "outcome_dates": sorted({str(d) for d in pairs["end"]}),
        "train_rows": len(train),
        "validation_rows": len(valid),
        "validation_date": str(latest),
        "models": {},
    }
    best = None
    if len(train) and len(valid) and 0 < train["y"].sum() < len(train):
        for m in candidates:
            if not _can_fit(m, _learnable_y(train)):
                report["models"][m.name] = {"note": "训练数据不足 (too little to fit)"}
                continue
            scores = positive_proba(_fit(m, train), valid)
            report["models"][m.name] = metrics(valid["y"].to_numpy(), scores)
            report["models"][m.name]["by_type"] = {
                t: metrics(
                    valid.loc[valid["target_type"] == t, "y"].to_numpy(),
                    scores[(valid["target_type"] == t).to_numpy()],
                )
                for t in TYPES
                if (valid["target_type"] == t).any()
            }
        # Keep the simplest model whose AUC is within 0.005 of the best (prior <
        # logistic < boosted in complexity).
        aucs = {
            n: r["auc"] for n, r in report["models"].items() if not np.isnan(r.get("auc", np.nan))
        }
        if aucs:
            top = max(aucs.values())
            best = next(m for m in candidates if aucs.get(m.name, -np.inf) >= top - 0.005)
        else:
            report["note"] = (
                "验证日期的结果只有一类，无法比较模型 (every target on the validation date "
                "had the same outcome: no AUC to compare)"
            )
    else:
        report["note"] = "历史不足，无法留出验证 (too little history for a held-out date)"
    if best is None:
        # Unvalidated: the boosted model only with enough rows to learn from.
        enough = len(pairs) >= 2000 and pairs["y"].sum() >= 50
        boosted = BoostedModel()
        best = (
            (boosted if enough and _can_fit(boosted, _learnable_y(pairs)) else LogisticModel())
            if 0 < pairs["y"].sum() < len(pairs)
            else PriorModel()
        )
    report["chosen"] = best.name
    report["final_train_rows"] = len(pairs)
    model = _fit(best, pairs)  # the winner's parameters, unfitted, on every pair
    if isinstance(model, TypeFallback):
        report["prior_types"] = [t for t in TYPES if t not in model.learned_types_]
    return Choice(model, report)


def fit_uplift(pairs: pd.DataFrame, report: dict) -> BoostedModel | None:
    """An S-learner: the boosted model with the visit as a feature. Uplift of a
    target = p(visited) - p(not visited). Needs visits in the training pairs,
    and outcomes the boosted model can be fitted on."""
    if pairs["treated"].sum() < 30:
        report["uplift"] = {"note": "走访记录不足 (too few visits to learn uplift)"}
        return None
    model = BoostedModel(extra=("treated",))
    if not model.can_fit(pairs["y"].to_numpy()):
        report["uplift"] = {"note": "结果数据不足 (too few outcomes to learn uplift)"}
        return None
    latest = pairs["end"].max()
    train, valid = pairs[pairs["end"] < latest], pairs[pairs["end"] == latest]
    if (
        len(train)
        and valid["treated"].sum() >= 10
        and train["treated"].sum() >= 30
        and model.can_fit(train["y"].to_numpy())
    ):
        m = clone(model).fit(train, train["y"].to_numpy())
        u = predict_uplift(m, valid)
        report["uplift"] = {
            "validation_date": str(latest),
            "uplift_at_k": uplift_at_k(valid["y"].to_numpy(), valid["treated"].to_numpy(), u),
            "mean_predicted_uplift": float(u.mean()),
        }
    return model.fit(pairs, pairs["y"].to_numpy())


def predict_uplift(model: BoostedModel, x: pd.DataFrame) -> np.ndarray:
    """p(reached | visited) - p(reached | not visited) for each row of ``x``."""
    on, off = x.copy(), x.copy()
    on["treated"], off["treated"] = 1.0, 0.0
    return positive_proba(model, on) - positive_proba(model, off)
