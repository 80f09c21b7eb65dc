"""No batch can poison the registry: whatever a batch holds, ``kuomian build``
succeeds (or fails with a one-line reason, the registry in use kept), and every
later build too. What cannot be learned from the history keeps the documented
prior score.

The region is the demo's (its batches imported and built once per module);
each test adds one batch to a copy and builds again, through the command line.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tinyregion import copy_database

from analytics.cli import main as kuomian
from analytics.ranking.estimators import positive_proba
from analytics.ranking.features import SURVEY_RESULTS, TYPES, feature_frame
from analytics.ranking.prior import prior_scores_of
from analytics.ranking.selection import choose_and_fit

LAST_DEMO_DATE = "2025-09-30"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo's batches, imported and built (a template each test copies)."""
    root = tmp_path_factory.mktemp("poison")
    assert kuomian(["demo", "--out", str(root / "demo"), "--persons", "1500", "--seed", "5"]) == 0
    db = root / "built.duckdb"
    assert kuomian(["import", str(root / "demo"), "--db", str(db)]) == 0
    assert kuomian(["build", "--db", str(db)]) == 0
    return root / "demo", db


@pytest.fixture
def db(demo: tuple[Path, Path], tmp_path: Path) -> Path:
    copy = tmp_path / "db" / "kuomian.duckdb"
    copy.parent.mkdir()
    return copy_database(demo[1], copy)


def _batch(root: Path, as_of: str, files: dict[str, str]) -> Path:
    """A loose batch folder for ``as_of`` (the app's upload of loose files)."""
    folder = root / as_of
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _import_and_build(db: Path, folder: Path) -> None:
    assert kuomian(["import", str(folder), "--db", str(db)]) == 0
    assert kuomian(["build", "--db", str(db)]) == 0
    # ... and every build after it.
    assert kuomian(["build", "--db", str(db)]) == 0


def _export(db: Path, what: str, out: Path, *args: str) -> list[list[str]]:
    assert kuomian(["export", what, "--db", str(db), "--out", str(out), *args]) == 0
    with out.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def _demo_rows(demo: Path, pattern: str, n: int) -> str:
    """The header and first ``n`` rows of the first demo CSV of that name (the demo
    writes UTF-8, with or without BOM, or GB18030)."""
    data = min(demo.glob(f"*/{pattern}")).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030")
    lines = text.splitlines()
    return "\n".join(lines[: n + 1]) + "\n"


# ---------------------------------------------------------------- whole builds


def test_two_bad_rows_of_hukou_for_a_later_date_build(db: Path, tmp_path: Path) -> None:
    # The reported case: the bureau uploads one loose CSV with two bad rows and a
    # later date; the build failed with "max() arg is an empty sequence", and
    # every build after it.
    folder = _batch(
        tmp_path / "up",
        "2026-09-30",
        {"upload.csv": "身份证号,姓名,户籍地址编码\n123,张三,530199002201\n530199X,李四,999\n"},
    )
    _import_and_build(db, folder)
    targets = _export(db, "targets", tmp_path / "targets.csv")
    assert targets[0][:7] == [
        "id_number",
        "target_type",
        "groups",
        "street_code",
        "community_code",
        "score",
        "rank",
    ]
    assert all(0.0 <= float(row[5]) <= 1.0 for row in targets[1:])


def test_a_date_with_almost_no_data_builds(
    db: Path, demo: tuple[Path, Path], tmp_path: Path
) -> None:
    folder = _batch(
        tmp_path / "up", "2025-12-31", {"户籍人口.csv": _demo_rows(demo[0], "户籍人口.csv", 3)}
    )
    _import_and_build(db, folder)
    kpi = _export(db, "kpi", tmp_path / "kpi.csv", "--level", "city")
    assert len(kpi) == 2


def test_a_batch_of_one_kind_alone_builds(
    db: Path, demo: tuple[Path, Path], tmp_path: Path
) -> None:
    # The enrollments of the last quarter again, for the next: nobody's status
    # changed, so on the validation date no target reached its outcome.
    folder = tmp_path / "up" / "2025-12-31"
    folder.mkdir(parents=True)
    for p in (demo[0] / LAST_DEMO_DATE).glob("养老保险参保*.csv"):
        shutil.copy(p, folder / p.name)
    _import_and_build(db, folder)
    assert len(_export(db, "targets", tmp_path / "targets.csv")) > 1


def test_a_date_without_targets_keeps_every_other_dates_targets(db: Path, tmp_path: Path) -> None:
    before = _export(db, "targets", tmp_path / "before.csv", "--as-of", LAST_DEMO_DATE)
    # Nobody valid in 户籍 or 居住证: no population, no targets on that date.
    bad = "身份证号,姓名,户籍地址编码\n123,张三,530199002201\n"
    folder = _batch(
        tmp_path / "up",
        "2025-12-31",
        {"户籍人口.csv": bad, "居住证.csv": bad.replace("户籍", "居住")},
    )
    _import_and_build(db, folder)
    assert _export(db, "targets", tmp_path / "now.csv") == [before[0]]
    # An empty date once changed the types of the targets mart, and the build
    # then dropped the stored targets of every other date.
    assert _export(db, "targets", tmp_path / "after.csv", "--as-of", LAST_DEMO_DATE) == before


def test_a_first_batch_of_one_kind_alone_builds(demo: tuple[Path, Path], tmp_path: Path) -> None:
    db = tmp_path / "one.duckdb"
    for as_of in ("2025-06-30", LAST_DEMO_DATE):
        folder = tmp_path / "up" / as_of
        folder.mkdir(parents=True)
        for p in (demo[0] / as_of).glob("*"):
            if p.name.startswith("养老保险参保") or p.name == "manifest.toml":
                shutil.copy(p, folder / p.name)
        assert kuomian(["import", str(folder), "--db", str(db)]) == 0
    assert kuomian(["build", "--db", str(db)]) == 0
    assert _export(db, "targets", tmp_path / "t.csv") == [
        _export(db, "targets", tmp_path / "u.csv")[0]
    ]


# ---------------------------------------------------------------- the model choice


def _pairs(
    n: int, types: tuple[str, ...], ends: tuple[dt.date, ...], seed: int = 1
) -> pd.DataFrame:
    """Training pairs of ``n`` synthetic targets of ``types`` whose outcome follows
    the prior (so every type can be learned), spread over the outcome dates ``ends``."""
    rng = np.random.default_rng(seed)
    persons = pd.DataFrame(
        {
            "id_number": [f"P{i:06d}" for i in range(n)],
            "target_type": [types[i % len(types)] for i in range(n)],
            "age": rng.integers(18, 70, n),
            "gender": rng.choice(["男", "女"], n),
            "urban": rng.random(n) < 0.5,
            "in_hukou": True,
            "in_residence": rng.random(n) < 0.5,
            "insured_elsewhere": False,
            "residents_grade": rng.choice([np.nan, 200.0, 500.0], n),
            "annual_income": rng.choice([np.nan, 30_000.0, 150_000.0], n),
            "platform_income": np.nan,
            "migrant_income": np.nan,
            "properties": rng.integers(0, 3, n),
            "vehicles": rng.integers(0, 2, n),
            "platform_months": 0,
            "migrant_months": 0,
            "live_entities": 0,
            "entity_employees": 0,
            "visits": rng.integers(0, 3, n),
            "ability_to_pay": rng.choice(["强", "弱", None], n),
            "groups": [
                sorted(set(rng.integers(1, 9, rng.integers(0, 3)).tolist())) for _ in range(n)
            ],
            "survey_result": rng.choice([*SURVEY_RESULTS, None], n),
            "street_code": rng.choice(["530199001", "530199002"], n),
        }
    )
    x = feature_frame(persons)
    x["y"] = (rng.random(n) < 3 * prior_scores_of(x)).astype(float)
    x["treated"] = 0.0
    x["start"] = [ends[i % len(ends)] - dt.timedelta(days=91) for i in range(n)]
    x["end"] = [ends[i % len(ends)] for i in range(n)]
    x["id_number"] = persons["id_number"]
    return x


Q3, Q4 = dt.date(2025, 9, 30), dt.date(2025, 12, 31)


def test_a_target_type_without_history_keeps_the_prior() -> None:
    # Enough enroll and resume history for the boosted model, no upgrade targets ever.
    pairs = _pairs(3000, ("enroll", "resume"), (Q3,))
    choice = choose_and_fit(pairs)
    current = _pairs(300, TYPES, (Q4,), seed=2)
    upgrades = current[current["target_type"] == "upgrade"]
    np.testing.assert_array_equal(positive_proba(choice.model, upgrades), prior_scores_of(upgrades))
    learned = current[current["target_type"] != "upgrade"]
    assert not np.array_equal(positive_proba(choice.model, learned), prior_scores_of(learned))
    assert choice.report["prior_types"] == ["upgrade"]


def test_a_target_type_whose_targets_all_failed_keeps_the_prior() -> None:
    pairs = _pairs(3000, TYPES, (Q3,))
    pairs.loc[pairs["target_type"] == "resume", "y"] = 0.0
    choice = choose_and_fit(pairs)
    resumes = _pairs(300, TYPES, (Q4,), seed=2).query("target_type == 'resume'")
    np.testing.assert_array_equal(positive_proba(choice.model, resumes), prior_scores_of(resumes))


def test_a_validation_date_with_one_outcome_still_chooses_a_model() -> None:
    pairs = _pairs(3000, TYPES, (Q3, Q4))
    pairs.loc[pairs["end"] == Q4, "y"] = 0.0  # nobody reached the outcome on the last date
    choice = choose_and_fit(pairs)
    assert choice.report["chosen"] in ("prior", "logistic", "hgb")
    x = _pairs(50, TYPES, (Q4,), seed=3)
    assert np.all((positive_proba(choice.model, x) >= 0) & (positive_proba(choice.model, x) <= 1))


def test_a_single_success_in_the_training_dates_is_no_reason_to_crash() -> None:
    pairs = _pairs(400, TYPES, (Q3, Q4))
    train = pairs["end"] == Q3
    pairs.loc[train, "y"] = 0.0
    pairs.loc[pairs.index[train][0], "y"] = 1.0  # one success: no stratified split
    choice = choose_and_fit(pairs)
    assert "hgb" not in choice.report["models"] or "auc" not in choice.report["models"]["hgb"]
