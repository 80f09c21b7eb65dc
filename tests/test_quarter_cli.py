"""The command lines of the contract's "Quarter and year" section: each one runs
through ``kuomian`` on the tiny region, writes what its module writes, is
audited, and person-level lists follow the account's role and scope."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from tinyregion import COMMUNITIES, STREETS, build_tiny_db, copy_database

from analytics import accounts, store
from analytics.cli import main as kuomian
from analytics.quarter.assessment import assessment
from analytics.quarter.plan import plan

PASSWORD = "tiny-region-2025"
STREET_A = next(iter(STREETS))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_db(tmp_path_factory.mktemp("tiny-quarter"))


@pytest.fixture
def db(built: Path, tmp_path: Path, cheap_hashes: None) -> Path:
    db = copy_database(built, tmp_path / "q.duckdb")
    accounts.add_user(db, "lingdao", "leader", PASSWORD)
    accounts.add_user(db, "zhuangan", "cadre", PASSWORD, [STREET_A])
    return db


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    status = kuomian([str(a) for a in args])
    return status, capsys.readouterr().err


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def audit_rows(db: Path) -> list[tuple]:
    return store.app_rows(db, 'SELECT "user", action, what, "rows" FROM audit ORDER BY rowid')


def test_assessment_and_plan_write_what_their_modules_compute(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "assessment.csv"
    assert run(capsys, "export", "assessment", "--db", db, "--year", 2025, "--out", out)[0] == 0
    got = rows(out)
    expected = assessment(db, 2025)
    assert [r["street_code"] for r in got] == list(expected["street_code"])
    assert [int(r["coverage_task"]) for r in got] == list(expected["coverage_task"])
    plan_out = tmp_path / "plan.csv"
    args = ["plan", "--db", db, "--enroll", 3, "--upgrade", 2, "--out", plan_out]
    assert run(capsys, *args)[0] == 0
    assert [int(r["insured"]) for r in rows(plan_out)] == list(plan(db, 3, 2)["insured"])
    assert [w for _, a, w, _ in audit_rows(db) if a == "export"] == [
        "assessment year=2025",
        "plan enroll=3 upgrade=2",
    ]
    # Half a plan, or no year, is a one-line refusal.
    status, err = run(capsys, "plan", "--db", db, "--enroll", 3, "--out", plan_out)
    assert status == 1 and len(err.strip().splitlines()) == 1
    status, err = run(capsys, "export", "assessment", "--db", db, "--out", out)
    assert status == 1 and "--year" in err


def test_person_lists_follow_the_account(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUOMIAN_PASSWORD", PASSWORD)
    roster = tmp_path / "roster.xlsx"
    args = ["export", "roster", "--db", db, "--type", "collection", "--out", roster]
    assert run(capsys, *args)[0] == 0
    everyone = openpyxl.load_workbook(roster).sheetnames
    assert len(everyone) == len(COMMUNITIES)
    assert run(capsys, *args, "--user", "zhuangan")[0] == 0
    mine = openpyxl.load_workbook(roster).sheetnames
    assert 0 < len(mine) < len(everyone)
    roster.unlink()
    status, _ = run(capsys, *args, "--user", "lingdao")
    assert status == 1 and not roster.exists()  # a leader gets no names, and no file
    dup = tmp_path / "dup.csv"
    status, _ = run(capsys, "export", "duplicates", "--db", db, "--out", dup, "--user", "lingdao")
    assert status == 1 and not dup.exists()
    log = audit_rows(db)
    assert ("zhuangan", "export") in {(u, a) for u, a, _, _ in log}
    assert [n for u, a, _, n in log if u == "lingdao" and a == "export"] == [None, None]


def test_report_writes_the_docx_and_its_workbook_and_is_audited(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import docx

    out, xlsx = tmp_path / "通报.docx", tmp_path / "通报.xlsx"
    args = ["report", "--db", db, "--quarter", "2025Q2", "--out", out, "--xlsx", xlsx]
    assert run(capsys, *args)[0] == 0
    text = "\n".join(p.text for p in docx.Document(out).paragraphs)
    assert all(h in text for h in ("一、总体情况", "二、各街道完成情况", "三、排名情况"))
    assert openpyxl.load_workbook(xlsx).sheetnames
    assert [w for _, a, w, _ in audit_rows(db) if a == "export"] == ["report quarter=2025Q2"]
    status, err = run(capsys, "report", "--db", db, "--quarter", "2024Q4", "--out", out)
    assert status == 1 and "2024Q4" in err and len(err.strip().splitlines()) == 1
