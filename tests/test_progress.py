"""Honest progress of the upload: the import reports each file it reads, in the
order it reads them, the build each step of each date it builds, and the
workflow puts both on one bar (a third for the import, the rest for the build)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tinyregion import write_batches

from analytics import workflow
from analytics.registry.build import PIPELINE, build_registry
from analytics.registry.runner import SqlStep, step_label

ROOT = Path(__file__).resolve().parent.parent


def _progress_lines(stderr: str) -> list[tuple[float, str]]:
    out = []
    for line in stderr.splitlines():
        head, _, rest = line.partition("\t")
        if head == "progress":
            fraction, _, message = rest.partition("\t")
            out.append((float(fraction), message))
    return out


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "analytics.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_batches(tmp_path_factory.mktemp("progress") / "batches")


def test_import_reports_every_file_in_the_order_it_reads_them(
    folders: list[Path], tmp_path: Path
) -> None:
    done = _cli("import", *map(str, folders), "--db", str(tmp_path / "p.duckdb"), "--progress")
    assert done.returncode == 0, done.stderr
    lines = _progress_lines(done.stderr)
    # Each batch's files in code-point order of their names (the tabular files,
    # then the boundaries), batch after batch; then the end of the import.
    expected = []
    for folder in folders:
        tabular = sorted(p.name for p in folder.iterdir() if p.suffix == ".csv")
        expected += tabular + ["boundaries.geojson"]
    assert [m for _, m in lines] == [f"读取 {name}" for name in expected] + ["完成"]
    fractions = [f for f, _ in lines]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    # The second batch starts half-way: each batch an equal share.
    assert fractions[len(expected) // 2] == 0.5


def test_build_reports_every_step_of_every_date(folders: list[Path], tmp_path: Path) -> None:
    from analytics.ingest import import_batches

    db = tmp_path / "b.duckdb"
    import_batches(folders, db=db)
    seen: list[tuple[str, float]] = []
    info = build_registry(db, progress=lambda m, f: seen.append((m, f)))
    assert info["dates_built"] == [dt.date(2025, 3, 31), dt.date(2025, 6, 30)]
    n = len(PIPELINE)
    for day in info["dates_built"]:
        steps = [m for m, _ in seen if m.startswith(f"构建 {day} ")]
        assert steps == [
            f"构建 {day} 步骤 {k}/{n} {step_label(s, _kind_label)}"
            for k, s in enumerate(PIPELINE, start=1)
        ]
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0
    assert seen[-1] == ("发布实名库", 1.0)
    # The second date starts half-way through the build.
    assert seen[n][1] == 0.5


def _kind_label(name: str) -> str:
    from analytics.sources import load_sources

    return load_sources().kind_label(name)


def test_a_staging_step_is_named_after_its_department() -> None:
    assert step_label(SqlStep("100_stg_hukou.sql"), _kind_label) == "整理 户籍人口"
    assert step_label(SqlStep("322_mart_kpi.sql")) == "汇总 kpi"


def test_the_build_command_prints_progress_when_asked(folders: list[Path], tmp_path: Path) -> None:
    db = str(tmp_path / "c.duckdb")
    assert _cli("import", str(folders[0]), "--db", db).returncode == 0
    quiet = _cli("build", "--db", db)
    assert quiet.returncode == 0 and not _progress_lines(quiet.stderr)
    assert _cli("import", str(folders[1]), "--db", db).returncode == 0
    loud = _cli("build", "--db", db, "--progress")
    assert loud.returncode == 0, loud.stderr
    lines = _progress_lines(loud.stderr)
    assert lines[0][1].startswith(f"构建 2025-06-30 步骤 1/{len(PIPELINE)} ")
    assert lines[-1] == (1.0, "发布实名库")


def test_the_upload_bar_moves_through_import_and_build(folders: list[Path], tmp_path: Path) -> None:
    seen: list[tuple[str, float]] = []
    workflow.import_and_build(
        folders, tmp_path / "w.duckdb", progress=lambda m, f: seen.append((m, f))
    )
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    reading = [f for m, f in seen if m.startswith("读取 ")]
    building = [f for m, f in seen if m.startswith("构建 ")]
    assert max(reading) < workflow.IMPORT_SHARE <= min(building)
    # Both dates are built: the bar passes through every step of each.
    assert len(building) == 2 * len(PIPELINE)


def test_loose_files_default_to_the_newest_imported_date() -> None:
    today = dt.date(2026, 2, 10)
    assert workflow.default_as_of(dt.date(2025, 6, 30), today) == dt.date(2025, 6, 30)
    assert workflow.default_as_of(None, today) == dt.date(2025, 12, 31)


def test_a_date_after_today_is_refused_and_a_far_one_warned() -> None:
    newest, today = dt.date(2025, 6, 30), dt.date(2026, 2, 10)
    refusal, _ = workflow.check_as_of(dt.date(2026, 2, 11), newest, today)
    assert refusal and "晚于今天" in refusal
    assert workflow.check_as_of(dt.date(2025, 9, 30), newest, today) == (None, None)
    refusal, warning = workflow.check_as_of(dt.date(2025, 10, 1), newest, today)
    assert refusal is None and warning and "一个季度以上" in warning


# ---------------------------------------------------------------- the upload page

app_test = pytest.importorskip("test_app")
_navigation_as_served = app_test._navigation_as_served  # autouse: app.py runs every time


@pytest.fixture
def app_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cheap_hashes: None) -> Path:
    from tinyregion import build_tiny_db

    db = build_tiny_db(tmp_path)
    app_test.add_accounts(db)
    monkeypatch.setenv("KUOMIAN_DB", str(db))
    return db


def test_the_page_offers_the_newest_imported_date_for_loose_files(app_db: Path) -> None:
    at = app_test.goto(app_test.app("bureau"), "pages/data_import.py")
    assert at.date_input(key="import_as_of").value == dt.date(2025, 6, 30)
    assert not at.warning and not at.error


def test_the_page_warns_of_a_far_date_and_refuses_a_future_one(app_db: Path) -> None:
    at = app_test.goto(app_test.app("bureau"), "pages/data_import.py")
    at = app_test.ok(at.date_input(key="import_as_of").set_value(dt.date(2025, 12, 31)).run())
    assert any("一个季度以上" in w.value for w in at.warning)
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    at = app_test.ok(at.date_input(key="import_as_of").set_value(tomorrow).run())
    assert any("晚于今天" in e.value for e in at.error)
    before = app_test.query(app_db, "SELECT count(*) FROM import_files")
    at.file_uploader[0].set_value([("低保.csv", "身份证号,姓名\n".encode(), "text/csv")])
    at = app_test.ok(at.form_submit_button[0].click().run())
    assert any("未导入" in e.value for e in at.error)
    assert app_test.query(app_db, "SELECT count(*) FROM import_files") == before
