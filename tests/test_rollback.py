"""``kuomian batches list`` and ``kuomian batches remove``: rolling a batch back
leaves the registry as if the batch had never been imported, keeps its files in
the imports export with ``in_use`` false, says what it cannot restore, changes
nothing when it fails, and is audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import sqlite3
from pathlib import Path

import pytest
from batchgen import make_batch
from streamlit.testing.v1 import AppTest
from test_app import ACCOUNTS, _navigation_as_served, add_accounts, login  # noqa: F401
from tinyregion import person_id, write_batches

from analytics import store
from analytics.cli import main as kuomian
from analytics.ingest import rollback

EXPORTS = {
    "targets": (),
    "kpi-city": ("--level", "city"),
    "kpi-street": ("--level", "street"),
    "kpi-community": ("--level", "community"),
    "problems": (),
    "entities": (),
    "imports": (),
}
APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The tiny region's two quarters and a third (2025-09-30) in which two more
    people enrolled."""
    root = tmp_path_factory.mktemp("rollback-batches")
    first, second = write_batches(root)
    third = root / "2025-09-30"
    shutil.copytree(second, third)
    (third / "manifest.toml").write_text(
        'as_of = "2025-09-30"\nregion_code = "530181"\n', encoding="utf-8"
    )
    with (third / "养老保险参保.csv").open("a", encoding="utf-8") as f:
        f.write(
            f"{person_id(0)},城乡居民,参保缴费,530181\n{person_id(6)},企业职工,参保缴费,530181\n"
        )
    return [first, second, third]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = kuomian(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def _db(tmp_path: Path, name: str, folders: list[Path], build: bool = True) -> Path:
    db = tmp_path / name / "kuomian.duckdb"
    db.parent.mkdir()
    for folder in folders:  # one import each, in order: import numbers as in use
        assert kuomian(["import", str(folder), "--db", str(db)]) == 0
    if build:
        assert kuomian(["build", "--db", str(db)]) == 0
    return db


def _exports(db: Path, out: Path) -> dict[str, list[list[str]]]:
    out.mkdir()
    got = {}
    for name, args in EXPORTS.items():
        path = out / f"{name}.csv"
        what = name.split("-")[0]
        assert kuomian(["export", what, *args, "--db", str(db), "--out", str(path)]) == 0
        with path.open(encoding="utf-8", newline="") as f:
            got[name] = list(csv.reader(f))
    return got


def _in_use_column(rows: list[list[str]]) -> int:
    return rows[0].index("in_use")


def _assert_as_if_never_imported(
    removed: dict[str, list[list[str]]], never: dict[str, list[list[str]]], batch: str
) -> None:
    for name in EXPORTS:
        if name != "imports":
            assert removed[name] == never[name], name
    # The imports export: every file of the database that never saw the batch, and
    # the rolled-back batch's files, listed with in_use false.
    imports, header = removed["imports"], removed["imports"][0]
    assert header == never["imports"][0]
    use = _in_use_column(imports)
    rolled = [r for r in imports[1:] if r[0] == batch]
    assert rolled and all(r[use] == "false" for r in rolled)
    assert sorted(r for r in imports[1:] if r[0] != batch) == sorted(never["imports"][1:])


def test_removing_the_newest_batch_is_as_if_it_was_never_imported(
    folders: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _db(tmp_path, "all", folders)
    status, out, err = _run(capsys, "batches", "remove", "2025-09-30", "--db", str(db))
    assert status == 0, err
    assert "2025-06-30" in out  # the registry was rebuilt for the date now newest
    never = _db(tmp_path, "never", folders[:2])
    _assert_as_if_never_imported(
        _exports(db, tmp_path / "removed"), _exports(never, tmp_path / "n"), "2025-09-30"
    )


def test_removing_a_batch_between_two_others_is_as_if_it_was_never_imported(
    folders: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The removed date's snapshot must not stay behind: the newest date's model
    # would learn from it.
    db = _db(tmp_path, "all", folders)
    status, _, err = _run(capsys, "batches", "remove", "2025-06-30", "--db", str(db))
    assert status == 0, err
    never = _db(tmp_path, "never", [folders[0], folders[2]])
    _assert_as_if_never_imported(
        _exports(db, tmp_path / "removed"), _exports(never, tmp_path / "n"), "2025-06-30"
    )


def test_a_rolled_back_batch_is_no_longer_listed_and_a_replaced_one_is_not_in_use(
    folders: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _db(tmp_path, "db", [*folders[:2], folders[1]], build=False)
    status, out, _ = _run(capsys, "batches", "list", "--db", str(db))
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0])[:7] == rollback.BATCH_COLUMNS
    assert [(r["batch"], r["in_use"]) for r in rows] == [
        ("2025-03-31", "true"),
        ("2025-06-30", "false"),  # replaced, kind by kind, by the same folder imported again
        ("2025-06-30", "true"),
    ]
    assert rows[0]["files"] == "6" and int(rows[0]["accepted"]) > 48
    assert _run(capsys, "batches", "remove", "2025-03-31", "--db", str(db))[0] == 0
    _, out, _ = _run(capsys, "batches", "list", "--db", str(db))
    assert [r["batch"] for r in csv.DictReader(io.StringIO(out))] == ["2025-06-30"] * 2


def test_removing_a_batch_that_replaced_an_earlier_one_says_it_must_be_imported_again(
    folders: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A correction of 户籍 for the first quarter, as a batch of its own.
    fix = make_batch(
        tmp_path / "fix",
        "户籍更正",
        {
            "户籍人口.csv": [
                ["身份证号", "姓名", "户籍地址编码"],
                [person_id(1), "测试1", "530181001002"],
            ]
        },
        as_of="2025-03-31",
    )
    db = _db(tmp_path, "db", [folders[0], fix])
    status, out, err = _run(capsys, "batches", "remove", "户籍更正", "--db", str(db))
    assert status == 0, err
    assert "请重新导入批次 2025-03-31" in out and "户籍人口.csv" in out
    imports = _exports(db, tmp_path / "e")["imports"]
    use = _in_use_column(imports)
    hukou = [(r[0], r[use]) for r in imports[1:] if r[3] == "hukou"]
    assert sorted(hukou) == [("2025-03-31", "false"), ("户籍更正", "false")]
    # Imported again, the first quarter is as if the correction had never been.
    assert kuomian(["import", str(folders[0]), "--db", str(db)]) == 0
    assert kuomian(["build", "--db", str(db)]) == 0
    never = _db(tmp_path, "never", folders[:1])
    got, want = _exports(db, tmp_path / "again"), _exports(never, tmp_path / "n")
    assert {k: v for k, v in got.items() if k != "imports"} == {
        k: v for k, v in want.items() if k != "imports"
    }


def test_removing_the_only_batch_leaves_no_registry(
    folders: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _db(tmp_path, "db", folders[:1])
    assert _run(capsys, "batches", "remove", "2025-03-31", "--db", str(db))[0] == 0
    status, _, err = _run(
        capsys, "export", "targets", "--db", str(db), "--out", str(tmp_path / "t")
    )
    assert status != 0 and "kuomian build" in err
    out = tmp_path / "imports.csv"
    assert kuomian(["export", "imports", "--db", str(db), "--out", str(out)]) == 0
    imports = list(csv.reader(out.open(encoding="utf-8", newline="")))
    assert len(imports) == 7 and {r[_in_use_column(imports)] for r in imports[1:]} == {"false"}


def test_a_missing_batch_is_refused_in_one_line_and_changes_nothing(
    folders: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], dump
) -> None:
    db = _db(tmp_path, "db", folders[:2])
    before = dump(db)
    status, out, err = _run(capsys, "batches", "remove", "2024-12-31", "--db", str(db))
    assert status != 0 and out == ""
    assert err.count("\n") == 1 and "2024-12-31" in err
    assert dump(db) == before
    assert not store.app_rows(db, "SELECT * FROM audit WHERE what LIKE 'batches%'")


def test_a_rollback_that_fails_half_way_changes_nothing(
    folders: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dump
) -> None:
    db = _db(tmp_path, "db", folders[:2])
    before = dump(db)

    def fail(con: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(rollback, "_drop_orphan_snapshots", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        rollback.remove_and_rebuild(db, "2025-06-30")
    assert dump(db) == before


def test_a_rollback_is_audited_and_the_audit_is_append_only(
    folders: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _db(tmp_path, "db", folders[:2])
    assert _run(capsys, "batches", "remove", "2025-06-30", "--db", str(db))[0] == 0
    rows = store.app_rows(
        db,
        'SELECT "user", role, action, what, "rows", detail FROM audit WHERE what LIKE \'batches%\'',
    )
    assert len(rows) == 1
    user, role, action, what, n, detail = rows[0]
    assert (user, role, action, what) == (
        "(命令行)",
        "operator",
        "import",
        "batches remove 2025-06-30",
    )
    assert n > 0 and "2025-03-31" in detail  # rebuilt for the date left
    con = sqlite3.connect(store.app_db(db))
    try:
        for sql in ("UPDATE audit SET what = 'x'", "DELETE FROM audit"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                con.execute(sql)
    finally:
        con.close()


def _batches_table(at: AppTest):
    return next(d.value for d in at.dataframe if "导入序号" in d.value.columns)


def test_the_import_page_rolls_a_batch_back_after_confirmation(
    folders: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cheap_hashes: None
) -> None:
    db = _db(tmp_path, "db", folders)
    monkeypatch.setenv("KUOMIAN_DB", str(db))
    add_accounts(db)
    at = login(ACCOUNTS["bureau"][0])
    at.switch_page("pages/data_import.py").run()
    assert not at.exception
    table = _batches_table(at)
    assert list(table["批次"]) == ["2025-03-31", "2025-06-30", "2025-09-30"]
    at.selectbox(key="rollback_choice").set_value(("2025-09-30", dt.date(2025, 9, 30)))
    next(b for b in at.button if b.label == "回滚…").click().run()
    assert not at.exception
    assert any("确认回滚批次 2025-09-30" in w.value for w in at.warning)
    rollbacks = "FROM audit WHERE what LIKE 'batches%'"
    assert store.app_rows(db, f"SELECT * {rollbacks}") == []  # nothing happens before confirming
    at.button(key="rollback_confirm").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("已回滚批次 2025-09-30" in s.value for s in at.success), [e.value for e in at.error]
    assert list(_batches_table(at)["批次"]) == ["2025-03-31", "2025-06-30"]
    assert store.app_rows(db, f'SELECT "user", role, action, what {rollbacks}') == [
        (ACCOUNTS["bureau"][0], "bureau", "import", "batches remove 2025-09-30")
    ]
