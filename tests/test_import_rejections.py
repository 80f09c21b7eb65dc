"""Files that reject their whole batch: the command fails with one line on
stderr, and the database stays exactly as it was."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from batchgen import hukou_rows, make_batch, make_id, write_csv

from analytics.cli import main


@pytest.fixture
def loaded_db(db: Path, batches: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A database holding one good batch for the same date as the bad ones."""
    good = make_batch(
        batches,
        "good",
        {"户籍人口.csv": hukou_rows(3), "低保.csv": [["身份证号", "姓名"], [make_id(1), "张1"]]},
    )
    assert main(["import", str(good), "--db", str(db)]) == 0
    capsys.readouterr()
    return db


def run_rejected(db: Path, capsys: pytest.CaptureFixture[str], dump, *folders: Path) -> str:
    """Run a failing import; check exit status, one-line stderr and an unchanged database."""
    before = dump(db)
    status = main(["import", *map(str, folders), "--db", str(db)])
    out, err = capsys.readouterr()
    assert status != 0 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "Error:" not in lines[0].split(":", 1)[0]
    assert dump(db) == before
    return lines[0]


def bad_batch(batches: Path, name: str = "bad") -> Path:
    """The same date as the good batch, with a good file beside the bad one."""
    return make_batch(batches, name, {"低保.csv": [["身份证号", "姓名"], [make_id(2), "张2"]]})


def test_missing_required_column_names_file_field_and_accepted_headers(
    loaded_db, batches, capsys, dump
):
    folder = bad_batch(batches)
    write_csv(folder / "户籍人口.csv", [["身份证号", "姓名", "性别"], [make_id(1), "张1", "男"]])
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "户籍人口.csv" in line and "address_code" in line
    for header in ("户籍地址编码", "社区编码", "村居编码", "区划代码"):
        assert header in line


def test_missing_required_column_below_title_rows_is_still_named(loaded_db, batches, capsys, dump):
    folder = bad_batch(batches)
    write_csv(
        folder / "养老保险参保.csv",
        [["身份证号", "险种", "参保地"], [make_id(1), "城乡居民", "530181"]],
        title_rows=["参保人员名单"],
    )
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "养老保险参保.csv" in line and "status" in line
    assert "参保状态" in line and "缴费状态" in line


def test_random_bytes_named_xlsx_are_rejected(loaded_db, batches, capsys, dump):
    folder = bad_batch(batches)
    (folder / "户籍人口.xlsx").write_bytes(random.Random(1).randbytes(3000))
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "户籍人口.xlsx" in line


def test_truncated_xlsx_is_rejected(loaded_db, batches, capsys, dump):
    folder = bad_batch(batches)
    (folder / "户籍人口.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    assert "户籍人口.xlsx" in run_rejected(loaded_db, capsys, dump, folder)


def test_unknown_kind_names_the_file_and_the_kinds_it_could_be(loaded_db, batches, capsys, dump):
    folder = bad_batch(batches)
    write_csv(folder / "名单.csv", [["编号", "备注"], ["1", "无"]])
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "名单.csv" in line
    assert "户籍人口" in line and "hukou" in line and "survey" in line


def test_headers_fitting_two_kinds_equally_name_both(loaded_db, batches, capsys, dump):
    folder = bad_batch(batches)
    # 社区编码 is an address-code header of both 户籍人口 and 居住证.
    write_csv(
        folder / "名单.csv", [["身份证号", "姓名", "社区编码"], [make_id(1), "张1", "530181001001"]]
    )
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "名单.csv" in line and "hukou" in line and "residence" in line


def test_binary_junk_csv_is_rejected(loaded_db, batches, capsys, dump):
    folder = bad_batch(batches)
    (folder / "户籍人口.csv").write_bytes(random.Random(2).randbytes(4000))
    assert "户籍人口.csv" in run_rejected(loaded_db, capsys, dump, folder)


def test_binary_junk_csv_without_nul_bytes_is_rejected(loaded_db, batches, capsys, dump):
    folder = bad_batch(batches)
    junk = bytes(b for b in random.Random(3).randbytes(4000) if b)
    (folder / "户籍人口.csv").write_bytes(junk)
    assert "户籍人口.csv" in run_rejected(loaded_db, capsys, dump, folder)


def test_second_bad_batch_of_one_command_leaves_the_database_unchanged(
    loaded_db, batches, capsys, dump
):
    first = make_batch(batches, "2025Q3", {"户籍人口.csv": hukou_rows(2)}, as_of=None)
    second = bad_batch(batches, "2025Q4")
    (second / "manifest.toml").unlink()
    write_csv(second / "户籍人口.csv", [["身份证号", "姓名"], [make_id(1), "张1"]])
    line = run_rejected(loaded_db, capsys, dump, first, second)
    assert "户籍人口.csv" in line and "address_code" in line


def test_batch_for_another_region_is_rejected(loaded_db, batches, capsys, dump):
    folder = make_batch(
        batches,
        "other",
        {
            "户籍人口.csv": [
                ["身份证号", "姓名", "户籍地址编码"],
                [make_id(1, area="110105"), "张1", "110105001001"],
            ]
        },
        region="110105",
    )
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "530181" in line and "110105" in line


def test_manifest_date_that_is_not_a_date_is_rejected(loaded_db, batches, capsys, dump):
    folder = bad_batch(batches)
    (folder / "manifest.toml").write_text(
        'as_of = "六月底"\nregion_code = "530181"\n', encoding="utf-8"
    )
    assert "as_of" in run_rejected(loaded_db, capsys, dump, folder)


def test_folder_without_a_date_or_manifest_is_rejected(loaded_db, batches, capsys, dump):
    folder = bad_batch(batches, "latest")
    (folder / "manifest.toml").unlink()
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "latest" in line and "2025Q2" in line


def test_missing_batch_folder_is_rejected(loaded_db, batches, capsys, dump):
    assert "nowhere" in run_rejected(loaded_db, capsys, dump, batches / "nowhere")


def test_good_batch_prints_one_report_line_per_file(db, batches, capsys):
    folder = make_batch(
        batches,
        "good",
        {"户籍人口.csv": hukou_rows(2), "低保.csv": [["身份证号", "姓名"], [make_id(1), "张1"]]},
    )
    assert main(["import", str(folder), "--db", str(db)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == "batch,as_of,source_file,kind,read,accepted,duplicates,problems,warnings"
    assert sorted(out[1:]) == [
        "good,2025-06-30,低保.csv,dibao,1,1,0,0,0",
        "good,2025-06-30,户籍人口.csv,hukou,2,2,0,0,0",
    ]


def test_rejected_import_into_a_new_database_leaves_no_rows(new_db_path, batches, capsys, dump):
    folder = bad_batch(batches)
    write_csv(folder / "户籍人口.csv", [["身份证号", "姓名"], [make_id(1), "张1"]])
    assert main(["import", str(folder), "--db", str(new_db_path)]) != 0
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    if new_db_path.exists():
        assert all(rows == [] for rows in dump(new_db_path).values())


# ------------------------------------------------- the batch read ahead (one command)


def _other_region(batches: Path, name: str) -> Path:
    return make_batch(
        batches,
        name,
        {
            "户籍人口.csv": [
                ["身份证号", "姓名", "户籍地址编码"],
                [make_id(1, area="110105"), "张1", "110105001001"],
            ]
        },
        region="110105",
    )


def test_the_first_failing_batch_is_named_though_the_next_is_read_ahead(
    loaded_db, batches, capsys, dump
):
    # The next batch is read while the first is checked; its unreadable file must
    # not be reported before the first batch's own failure, which its checks find.
    first = _other_region(batches, "2025Q3")
    second = bad_batch(batches, "2025Q4")
    (second / "户籍人口.csv").write_bytes(random.Random(2).randbytes(4000))
    line = run_rejected(loaded_db, capsys, dump, first, second)
    assert "530181" in line and "110105" in line and "2025Q4" not in line


def test_a_later_batch_that_cannot_be_read_is_named_after_good_ones(
    loaded_db, batches, capsys, dump
):
    first = make_batch(batches, "2025Q2", {"户籍人口.csv": hukou_rows(2)})
    second = bad_batch(batches, "2025Q3")
    (second / "户籍人口.csv").write_bytes(random.Random(2).randbytes(4000))
    line = run_rejected(loaded_db, capsys, dump, first, second)
    assert "户籍人口.csv" in line and "binary" in line


def test_a_failed_batch_stops_the_reading_of_the_next(
    loaded_db, batches, capsys, dump, monkeypatch
):
    import threading

    from analytics.ingest import importer

    first = _other_region(batches, "2025Q3")
    ahead = bad_batch(batches, "2025Q4")
    for name in ("在校生.csv", "特困人员.csv"):
        write_csv(ahead / name, [["身份证号", "姓名"], [make_id(2), "张2"]])
    last = bad_batch(batches, "2025Q4b")
    started: list[str] = []
    failed = threading.Event()
    real_load, real_check = importer.load_file, importer.check_batch

    def slow_load(con, path, *args, **kwargs):
        started.append(f"{path.parent.name}/{path.name}")
        if path.parent.name != "2025Q3":
            # The batch read ahead is still at its first file when the first batch fails.
            failed.wait(30)
            threading.Event().wait(0.2)
        return real_load(con, path, *args, **kwargs)

    def check(*args, **kwargs):
        try:
            return real_check(*args, **kwargs)
        except BaseException:
            failed.set()
            raise

    monkeypatch.setattr(importer, "load_file", slow_load)
    monkeypatch.setattr(importer, "check_batch", check)
    line = run_rejected(loaded_db, capsys, dump, first, ahead, last)
    assert "110105" in line
    # The reader stopped after the file it was reading, and no thread is left.
    assert [s for s in started if not s.startswith("2025Q3/")] == ["2025Q4/低保.csv"]
    assert not [t for t in threading.enumerate() if t.name.startswith("kuomian-read")]
