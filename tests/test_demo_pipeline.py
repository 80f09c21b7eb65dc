"""The whole pipeline on a small demo region, held to the generator's recorded
truth (computed by the generator from its own world, not by our code):

- import accounting and problem rows equal .truth/, file by file and row by row;
- KPIs of the city and every street equal .truth/kpi.csv at every date;
- the learned ranking: no feature from the outcome period, calibrated on the
  held-out date, reasons that match the person's features, deterministic.
"""

from __future__ import annotations

import csv
import json
import re

import duckdb
import numpy as np
import pandas as pd
import pytest
from demo_truth import COUNTS, assert_accounting_is_the_truth, assert_kpis_are_the_truth, export

from analytics import published
from analytics import ranking as m
from analytics.cli import main as kuomian
from analytics.demo import generate_demo

PERSONS = 2500


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("demo-pipeline")
    demo, db = root / "demo", root / "demo.duckdb"
    generate_demo(demo, persons=PERSONS, seed=11)
    assert kuomian(["import", str(demo), "--db", str(db)]) == 0
    assert kuomian(["build", "--db", str(db)]) == 0
    con = duckdb.connect(str(db), read_only=True)
    # The first build already learns from the snapshots it makes of earlier dates.
    assert con.execute(
        "SELECT model FROM registry_versions ORDER BY version DESC LIMIT 1"
    ).fetchall()[0][0] in ("hgb", "logistic")
    con.close()
    dates = sorted(p.name for p in demo.iterdir() if not p.name.startswith("."))
    return {"root": root, "demo": demo, "db": db, "truth": demo / ".truth", "dates": dates}


# ---------------------------------------------------------------- import


def test_import_accounting_equals_the_generators_truth_file_by_file(region: dict) -> None:
    ours = assert_accounting_is_the_truth(region)[COUNTS].astype(int)
    assert (ours["read"] == ours["accepted"] + ours["duplicates"] + ours["problems"]).all()


def test_problem_rows_equal_the_generators_truth_row_by_row(region: dict) -> None:
    # Each date's export lists the problems of the files in force then; together
    # they cover every file imported.
    ours = set()
    for d in region["dates"]:
        frame = export(region, "problems", "--as-of", d)
        ours |= {
            (r.batch, r.source_file, int(r.row_number), r.reason, r.severity)
            for r in frame.itertuples()
            if r.kind != "boundaries"
        }
    truth = pd.read_csv(region["truth"] / "problems.csv", dtype=str)
    expected = {
        (r.batch, r.source_file, int(r.row_number), r.reason, r.severity)
        for r in truth.itertuples()
    }
    assert ours == expected


# ---------------------------------------------------------------- KPIs


@pytest.mark.parametrize("level", ["city", "street"])
def test_kpis_equal_the_generators_truth_at_every_date(region: dict, level: str) -> None:
    assert_kpis_are_the_truth(region, level)


# ---------------------------------------------------------------- ranking


def _history(region: dict, max_rows: int | None = m.TRAINING_ROWS) -> m.History:
    with published.stored(region["db"]) as con:
        latest = con.execute("SELECT max(as_of) FROM registry_versions").fetchall()[0][0]
        current = con.execute(
            "SELECT p.* FROM reg_persons p JOIN registry_versions v "
            "USING (version) WHERE v.as_of = ?",
            [latest],
        ).df()
        return m.load_history(con, latest, current, max_rows=max_rows)


def test_a_long_history_is_sampled_by_person_with_outcomes_and_lapse_exact(
    region: dict,
) -> None:
    """Above the bound the training rows are those of a sample of people: each
    sampled person's pairs (features, lapse, outcome) are exactly the pairs of
    the whole history, and the lapse of the targets scored stays exact."""
    whole = _history(region, max_rows=None)
    all_pairs = m.training_pairs(whole)
    targets = sum(int(f["target_type"].notna().sum()) for _, f in whole.snapshots[:-1])
    sampled = _history(region, max_rows=targets // 4)
    assert 0.2 < sampled.keep < 0.3
    pairs = m.training_pairs(sampled)
    assert 0.15 * len(all_pairs) < len(pairs) < 0.35 * len(all_pairs)
    # Sampled by person: the IDs the sample holds are all of their rows.
    inside = m.sample_number(all_pairs["id_number"]) < m.sample_threshold(sampled.keep)
    want = all_pairs[inside].reset_index(drop=True)
    pd.testing.assert_frame_equal(pairs.reset_index(drop=True), want)
    last = len(whole.snapshots) - 1
    pd.testing.assert_series_equal(sampled.lapse(last).sort_index(), whole.lapse(last).sort_index())
    # Below the bound nothing is sampled (the demo region up to 120k people).
    assert _history(region).keep == 1.0


def test_no_feature_comes_from_the_outcome_period(region: dict) -> None:
    """Leakage guard: scrambling everything the later snapshots say, except the
    outcome columns, leaves every training feature as it was."""
    history = _history(region)
    before = m.training_pairs(history)
    rng = np.random.default_rng(0)
    outcome = ["id_number", "insured", "contributing", "employee_contributor"]
    scrambled = [history.snapshots[0]]
    for d, frame in history.snapshots[1:]:
        noisy = frame.copy()
        for c in noisy.columns:
            if c not in outcome:
                noisy[c] = noisy[c].to_numpy()[rng.permutation(len(noisy))]
        # Keep the target list of the later date as it was: it is the next
        # pair's own (earlier) snapshot, read only as that pair's features.
        noisy["target_type"] = frame["target_type"]
        scrambled.append((d, noisy))
    first_pair = before["start"] == history.snapshots[0][0]
    after = m.training_pairs(m.History(scrambled))
    features = [c for c in m.NUMERIC + ["street", "target_type"] if c != "lapse_quarters"]
    pd.testing.assert_frame_equal(
        before.loc[first_pair, features].reset_index(drop=True),
        after.loc[after["start"] == history.snapshots[0][0], features].reset_index(drop=True),
    )
    assert (
        before.loc[first_pair, "y"].to_numpy()
        == after.loc[after["start"] == history.snapshots[0][0], "y"].to_numpy()
    ).all()


def test_scores_are_calibrated_on_the_held_out_date(region: dict) -> None:
    """Tolerance: on the latest outcome date (never trained on), the mean score is
    within 0.03 of the observed rate and the expected calibration error over ten
    bins is below 0.06 (a few hundred held-out targets in this small region)."""
    con = duckdb.connect(str(region["db"]), read_only=True)
    report = json.loads(
        con.execute("SELECT report FROM model_reports ORDER BY version DESC LIMIT 1").fetchall()[0][
            0
        ]
    )
    con.close()
    chosen = report["models"][report["chosen"]]
    bins = chosen["calibration"]
    n = sum(b["n"] for b in bins)
    mean_score = sum(b["n"] * b["mean_score"] for b in bins) / n
    ece = sum(b["n"] * abs(b["mean_score"] - b["observed"]) for b in bins) / n
    assert abs(mean_score - chosen["base_rate"]) < 0.03
    assert ece < 0.06
    # No worse than the prior baseline on the same held-out date.
    assert chosen["auc"] >= report["models"]["prior"]["auc"]


def test_reasons_cite_only_what_the_person_has(region: dict) -> None:
    targets = export(region, "targets")
    with published.stored(region["db"]) as con:
        persons = (
            con.execute("""SELECT p.* FROM reg_persons p WHERE version =
            (SELECT max(version) FROM registry_versions)""")
            .df()
            .set_index("id_number")
        )
        evidence = con.execute("""SELECT id_number, group_no, detail FROM reg_evidence
            WHERE version = (SELECT max(version) FROM registry_versions)""").df()
    details = evidence.groupby("id_number")["detail"].apply(set).to_dict()
    checked = 0
    for t in targets.itertuples():
        p = persons.loc[t.id_number]
        for reason in filter(None, t.reasons.split("；")):
            checked += 1
            if reason in details.get(t.id_number, set()):
                continue  # a group's own evidence line
            if m_ := re.fullmatch(r"已走访(\d+)次", reason):
                assert int(m_[1]) == p["visits"]
            elif m_ := re.fullmatch(r"(\d+)岁", reason):
                assert int(m_[1]) == p["age"]
            elif reason.startswith("上次走访："):
                assert reason == f"上次走访：{p['survey_result']}"
            elif reason.startswith("年收入约"):
                assert (
                    pd.notna(p["annual_income"])
                    or pd.notna(p["platform_income"])
                    or pd.notna(p["migrant_income"])
                )
            elif reason.startswith("居民养老保险缴费档次"):
                assert int(re.findall(r"\d+", reason)[0]) == round(p["residents_grade"])
            elif reason.startswith("缴费能力"):
                assert reason == f"缴费能力{p['ability_to_pay']}"
            elif reason.startswith("已断缴"):
                assert p["target_type"] == "resume"
            else:
                pytest.fail(f"{t.id_number}: unexplained reason {reason!r}")
    assert checked > 100


def test_build_and_export_twice_give_identical_targets(region: dict) -> None:
    first = region["root"] / "targets-1.csv"
    second = region["root"] / "targets-2.csv"
    db = str(region["db"])
    assert kuomian(["build", "--db", db]) == 0
    assert kuomian(["export", "targets", "--db", db, "--out", str(first)]) == 0
    assert kuomian(["build", "--db", db]) == 0
    assert kuomian(["export", "targets", "--db", db, "--out", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    with first.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["model"] for r in rows} == {"hgb"} or {r["model"] for r in rows} == {"logistic"}
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
