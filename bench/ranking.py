"""Ranking quality on a demo region, against the generator's hidden truth.

    python bench/ranking.py --db DB --truth DEMO_DIR/.truth [--json OUT.json] [--training-rows N]

Uses the registry snapshots of DB (imported from a demo region and built) to
fit the candidates on every outcome date but the latest, scores the targets of
the latest pair, and compares on the people both the registry and the truth
hold: the prior, the logistic baseline, the boosted model, and the oracle (the
true probability the generator used). Prints a Markdown table.

With ``--training-rows N`` the training rows are sampled by person as the build
samples a long history (``analytics.ranking.history.TRAINING_ROWS``): about N
rows, every row of a person in the sample or none; the validation rows stay all.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics import store
from analytics.ranking.estimators import BoostedModel, LogisticModel, PriorModel, positive_proba
from analytics.ranking.history import (
    load_history,
    sample_number,
    sample_threshold,
    training_pairs,
)
from analytics.ranking.selection import metrics


def evaluate(db: str, truth_dir: Path, training_rows: int | None = None) -> dict:
    con = duckdb.connect(db, read_only=True)
    store.attach_visits(con, db)  # survey_rows: the visits the uplift's treatment reads
    latest = con.execute("SELECT max(as_of) FROM registry_versions").fetchall()[0][0]
    current = con.execute(
        "SELECT p.* FROM reg_persons p JOIN registry_versions v USING (version) WHERE v.as_of = ?",
        [latest],
    ).df()
    history = load_history(con, latest, current, max_rows=None)
    pairs = training_pairs(history, con)
    con.close()
    end = pairs["end"].max()
    train, valid = pairs[pairs["end"] < end], pairs[pairs["end"] == end].reset_index(drop=True)
    keep = 1.0
    if training_rows is not None and training_rows < len(pairs):
        keep = training_rows / len(pairs)
        pairs = pairs[sample_number(pairs["id_number"]) < sample_threshold(keep)]
        train = pairs[pairs["end"] < end]
    truth = pd.read_csv(truth_dir / "probabilities.csv", dtype={"id_number": str})
    start = str(valid["start"].iloc[0])
    truth = truth[truth["as_of"] == start].set_index("id_number")
    both = valid["id_number"].isin(truth.index).to_numpy()
    y = valid.loc[both, "y"].to_numpy()
    result: dict = {
        "validation_start": start,
        "validation_end": str(end),
        "train_rows": len(train),
        "training_sample": keep,
        "validation_rows": int(both.sum()),
        "validation_rows_registry": len(valid),
        "truth_rows": len(truth),
        "outcome_agreement": float(
            (truth.loc[valid.loc[both, "id_number"], "outcome"].to_numpy() == y).mean()
        ),
        "models": {},
    }
    with threadpool_limits(1):
        for model in (PriorModel(), LogisticModel(), BoostedModel()):
            t0 = time.perf_counter()
            model.fit(train, train["y"].to_numpy())
            fit_s = time.perf_counter() - t0
            scores = positive_proba(model, valid)[both]
            result["models"][model.name] = {**metrics(y, scores), "fit_seconds": fit_s}
        t0 = time.perf_counter()
        BoostedModel().fit(pairs, pairs["y"].to_numpy())
        result["final_fit_seconds"] = time.perf_counter() - t0
        result["final_rows"] = len(pairs)
    oracle = truth.loc[valid.loc[both, "id_number"], "p_true"].to_numpy()
    result["models"]["oracle"] = metrics(y, oracle)
    return result


def table(result: dict) -> str:
    oracle = result["models"]["oracle"]["auc"]
    lines = [
        "| model | AUC | AUC ÷ oracle | top-decile lift | P@50 | P@100 | P@500 | Brier |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in result["models"].items():
        lines.append(
            f"| {name} | {r['auc']:.3f} | {r['auc'] / oracle:.3f} | "
            f"{r['top_decile_lift']:.2f} | {r['precision_at_50']:.2f} | "
            f"{r['precision_at_100']:.2f} | {r['precision_at_500']:.2f} | "
            f"{r['brier']:.4f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--truth", required=True, type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--training-rows", type=int, help="sample the training rows by person")
    args = ap.parse_args()
    result = evaluate(args.db, args.truth, args.training_rows)
    print(
        f"validation: targets of {result['validation_start']} → outcome by "
        f"{result['validation_end']}; {result['validation_rows']} people "
        f"({result['train_rows']} training rows, sample {result['training_sample']:.3f}); outcomes agree with the truth on "
        f"{result['outcome_agreement']:.1%}"
    )
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))


if __name__ == "__main__":
    main()
