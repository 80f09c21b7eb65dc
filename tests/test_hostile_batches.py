"""Batches no department should send, and that must not take the import down
(issue "Keep serving", part 2): a manifest date with a time, a date in the
future, a zip inside a batch, a reader that does not end; zips whose names are
GBK; the limits as configuration; and no uploaded data left on disk afterwards.
Each is refused with one line naming the batch (and file and field), and the
database stays as it was."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import stat
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from batchgen import hukou_rows, make_batch, make_id, write_xlsx
from test_import_rejections import bad_batch, loaded_db, run_rejected

from analytics import workflow
from analytics.cli import main
from analytics.config import ConfigError, Limits, load_config
from analytics.ingest import ImportRejected, import_batches, loading, xlsxguard
from analytics.ingest.batches import batch_date, member_name
from analytics.ingest.timelimit import TimeUp, read_within
from analytics.registry import build

__all__ = ["loaded_db"]  # the fixture, shared with the rejection tests

TODAY = dt.date(2025, 7, 1)  # after the batches' 2025-06-30


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kuomian-override.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _report(out: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(out)))


# ---------------------------------------------------------------- as-of dates


def test_manifest_as_of_with_a_time_is_rejected_naming_batch_and_field(
    loaded_db, batches, capsys, dump
):
    folder = bad_batch(batches, "2024年报")
    (folder / "manifest.toml").write_text(
        'as_of = 2024-12-31T10:00:00\nregion_code = "530181"\n', encoding="utf-8"
    )
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "TypeError" not in line
    assert "2024年报" in line and "as_of" in line and "2024-12-31T10:00:00" in line


def test_manifest_as_of_as_a_toml_date_is_still_read(tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    assert batch_date(folder, {"as_of": dt.date(2025, 6, 30)}, TODAY) == dt.date(2025, 6, 30)


def test_future_as_of_in_the_manifest_is_rejected_naming_batch_and_date(
    loaded_db, batches, capsys, dump
):
    folder = make_batch(
        batches, "future", {"低保.csv": [["身份证号", "姓名"], [make_id(2), "张2"]]}, "2099-12-31"
    )
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "future" in line and "2099-12-31" in line and "as_of" in line


def test_future_as_of_in_the_folder_name_is_rejected(loaded_db, batches, capsys, dump):
    folder = make_batch(
        batches, "2099-12-31", {"低保.csv": [["身份证号", "姓名"], [make_id(2), "张2"]]}, None
    )
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "2099-12-31" in line and "after today" in line


def test_future_as_of_in_a_zip_name_is_rejected(loaded_db, batches, tmp_path, capsys, dump):
    archive = tmp_path / "2099Q4.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("低保.csv", f"身份证号,姓名\n{make_id(2)},张2\n")
    line = run_rejected(loaded_db, capsys, dump, archive)
    assert "2099Q4" in line and "2099-12-31" in line


def test_as_of_today_is_accepted_and_tomorrow_is_not(tmp_path):
    folder = tmp_path / "2025-07-01"
    folder.mkdir()
    assert batch_date(folder, {}, TODAY) == TODAY
    assert batch_date(folder, {"as_of": "2025-07-01"}, TODAY) == TODAY
    with pytest.raises(ImportRejected, match="2025-07-02.*2025-07-01") as err:
        batch_date(folder, {"as_of": "2025-07-02"}, TODAY)
    assert err.value.field == "as_of"


def test_today_is_injectable_into_the_import(db, batches):
    folder = make_batch(batches, "b", {"户籍人口.csv": hukou_rows(1)}, "2025-06-30")
    with pytest.raises(ImportRejected, match="2025-06-30"):
        import_batches([folder], db=db, today=dt.date(2025, 6, 29))
    (result,) = import_batches([folder], db=db, today=dt.date(2025, 6, 30))
    assert result.as_of == dt.date(2025, 6, 30)


# ---------------------------------------------------------------- zips inside batches


def test_zip_inside_a_batch_zip_is_rejected_naming_batch_and_inner_file(
    loaded_db, batches, tmp_path, capsys, dump
):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("户籍人口.csv", "身份证号,姓名,户籍地址编码\n")
    archive = tmp_path / "outer.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("2025-06-30/manifest.toml", 'as_of = "2025-06-30"\n')
        z.writestr("2025-06-30/低保.csv", f"身份证号,姓名\n{make_id(2)},张2\n")
        z.writestr("2025-06-30/户籍数据.zip", inner.getvalue())
    line = run_rejected(loaded_db, capsys, dump, archive)
    assert "2025-06-30" in line and "户籍数据.zip" in line and "not expanded" in line


def test_zip_inside_a_batch_folder_is_rejected(loaded_db, batches, capsys, dump):
    folder = bad_batch(batches)
    with zipfile.ZipFile(folder / "残疾人.zip", "w") as z:
        z.writestr("残疾人.csv", "身份证号,残疾等级\n")
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "bad" in line and "残疾人.zip" in line


def test_zip_beside_the_batch_folders_of_a_folder_is_rejected(loaded_db, batches, capsys, dump):
    root = batches / "all"
    bad_batch(root, "2025-06-30")
    with zipfile.ZipFile(root / "2025Q3.zip", "w") as z:
        z.writestr("低保.csv", "身份证号,姓名\n")
    line = run_rejected(loaded_db, capsys, dump, root)
    assert "all" in line and "2025Q3.zip" in line


# ---------------------------------------------------------------- names inside zips


class _NativeName(zipfile.ZipInfo):
    """A member whose name is written as raw bytes without the UTF-8 flag, as
    Chinese Windows' built-in zip and old WinRAR do."""

    def __init__(self, raw: bytes, extra: bytes = b"") -> None:
        super().__init__(raw.decode("cp437"), (2025, 6, 30, 0, 0, 0))
        self.raw = raw
        self.extra = extra

    def _encodeFilenameFlags(self):  # zipfile's own method: the name bytes and flags
        return self.raw, self.flag_bits & ~0x800


NAME = "户籍调查_2025年6月.csv"


def _zip_with(archive: Path, infos: list[zipfile.ZipInfo], data: bytes) -> Path:
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(zipfile.ZipInfo("manifest.toml"), 'as_of = "2025-06-30"\n')
        for info in infos:
            z.writestr(info, data)
    return archive


def _hukou_csv() -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(hukou_rows(2))
    return buf.getvalue().encode("utf-8")


@pytest.mark.parametrize(
    "info",
    [
        pytest.param(_NativeName(NAME.encode("gbk")), id="gbk-without-flag"),
        pytest.param(zipfile.ZipInfo(NAME), id="utf8-with-flag"),
        pytest.param(_NativeName(NAME.encode("utf-8")), id="utf8-without-flag"),
    ],
)
def test_names_in_a_zip_are_read_as_their_maker_wrote_them(db, tmp_path, capsys, info):
    archive = _zip_with(tmp_path / "2025Q2.zip", [info], _hukou_csv())
    with zipfile.ZipFile(archive) as z:
        flagged = bool(z.infolist()[1].flag_bits & 0x800)
    assert flagged == (type(info) is zipfile.ZipInfo)
    assert main(["import", str(archive), "--db", str(db)]) == 0
    out, _ = capsys.readouterr()
    assert [r["source_file"] for r in _report(out)] == [NAME]


def test_gbk_folder_name_in_a_zip_gives_the_batch_its_name_and_date(db, tmp_path, capsys):
    folder = "2025Q2_户籍".encode("gbk")
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(_NativeName(folder + b"/" + "户籍人口.csv".encode("gbk")), _hukou_csv())
    assert main(["import", str(archive), "--db", str(db)]) == 0
    (row,) = _report(capsys.readouterr()[0])
    assert (row["batch"], row["as_of"], row["source_file"]) == (
        "2025Q2_户籍",
        "2025-06-30",
        "户籍人口.csv",
    )


def test_unicode_path_extra_field_gives_the_name_when_it_matches():
    raw = NAME.encode("gbk")
    utf8 = "户籍人口.csv".encode()
    field = b"\x01" + zlib.crc32(raw).to_bytes(4, "little") + utf8
    extra = (0x7075).to_bytes(2, "little") + len(field).to_bytes(2, "little") + field
    assert member_name(_NativeName(raw, extra)) == "户籍人口.csv"
    stale = b"\x01" + (zlib.crc32(raw) ^ 1).to_bytes(4, "little") + utf8
    extra = (0x7075).to_bytes(2, "little") + len(stale).to_bytes(2, "little") + stale
    assert member_name(_NativeName(raw, extra)) == NAME


def test_a_name_that_is_not_gbk_keeps_zipfiles_reading():
    raw = b"caf\x82\xff.csv"  # not UTF-8, not GBK
    assert member_name(_NativeName(raw)) == raw.decode("cp437")


def test_backslashes_in_member_names_separate_folders():
    assert member_name(_NativeName("2025Q2\\低保.csv".encode("gbk"))) == "2025Q2/低保.csv"


# ---------------------------------------------------------------- time per file


def _slow_python(*_args, **_kwargs):
    """A reader stuck in a Python loop (for 20 s at most, so the test ends anyway)."""
    end = time.monotonic() + 20
    n = 0
    while time.monotonic() < end:
        n += 1
    raise AssertionError("the reader was not stopped")


def _slow_duckdb(con, *_args, **_kwargs):
    """A reader stuck in one DuckDB statement (~20 s of work on this machine)."""
    con.execute("SET enable_progress_bar = false")
    con.execute("SELECT sum(hash(i)) FROM range(4000000000) t(i)").fetchall()
    raise AssertionError("the reader was not stopped")


@pytest.mark.parametrize(
    "target, stub",
    [("parse_csv", _slow_python), ("_load_csv_native", _slow_duckdb)],
    ids=["python-loop", "duckdb-statement"],
)
def test_a_file_whose_reading_runs_past_the_limit_is_rejected(
    loaded_db, batches, tmp_path, capsys, dump, monkeypatch, target, stub
):
    folder = bad_batch(batches)
    text = '"身份证号",姓名\n' if target == "parse_csv" else "身份证号,姓名\n"
    (folder / "特困人员.csv").write_text(text + f"{make_id(3)},张3\n", encoding="utf-8")
    monkeypatch.setenv(
        "KUOMIAN_CONFIG", str(_config(tmp_path, "[limits]\nfile_read_seconds = 0.5\n"))
    )
    real = getattr(loading, target)

    def stuck_on_one_file(*args, **kwargs):
        path = next((a for a in args if isinstance(a, Path)), None)
        is_slow = path is None or path.name == "特困人员.csv"  # parse_csv takes text
        if target == "parse_csv" and '"身份证号"' not in args[0]:
            is_slow = False
        return stub(*args, **kwargs) if is_slow else real(*args, **kwargs)

    monkeypatch.setattr(loading, target, stuck_on_one_file)
    t0 = time.monotonic()
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert time.monotonic() - t0 < 10
    assert "bad" in line and "特困人员.csv" in line and "file_read_seconds" in line
    assert "低保.csv" not in line


def test_read_within_returns_what_a_quick_read_gives():
    import duckdb

    con = duckdb.connect()
    assert read_within(con, 5, "b", "f.csv", lambda: 42) == 42


def test_a_read_ending_at_its_limit_never_leaks_the_stop_signal():
    """Reads that end just before or just after their limit: each returns or is
    rejected, and no stop signal lands afterwards in the code that goes on."""
    import duckdb

    con = duckdb.connect()

    def busy(seconds: float) -> str:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass
        return "read"

    outcomes = set()
    for i in range(40):
        try:
            outcomes.add(read_within(con, 0.02, "b", "f.csv", lambda i=i: busy(0.01 + i * 0.001)))
        except ImportRejected as exc:
            assert "f.csv" in str(exc)
            outcomes.add("rejected")
    try:
        busy(0.3)
    except TimeUp:  # pragma: no cover - the failure this test is for
        pytest.fail("a stop signal landed after its read had ended")
    assert "rejected" in outcomes


# ---------------------------------------------------------------- limits as configuration


def test_limits_default_to_todays_values():
    limits = load_config().limits
    assert limits == Limits()
    assert limits.max_unzipped_bytes == 8 * 1024**3
    assert limits.memory_limit == "2GB"
    assert limits.max_sheet_cells == xlsxguard.MAX_CELLS == 60_000_000
    assert limits.max_sheet_xml_bytes == xlsxguard.MAX_SHEET_XML_BYTES


def test_unknown_limit_is_a_config_error_naming_key_and_file(tmp_path):
    path = _config(tmp_path, "[limits]\nmax_unziped_bytes = 10\n")
    with pytest.raises(
        ConfigError, match=rf"unknown key limits.max_unziped_bytes in {re.escape(str(path))}"
    ):
        load_config(path)


@pytest.mark.parametrize(
    "text",
    [
        "max_unzipped_bytes = 0",
        "max_sheet_cells = 1.5",
        "file_read_seconds = -1",
        "file_read_seconds = true",
        "max_sheet_xml_bytes = '4GB'",
        'memory_limit = "2GB\'; SET threads = 1; --"',
        "memory_limit = 2",
        "build_memory_limit = '8 gigabytes'",
    ],
)
def test_bad_limit_values_are_config_errors(tmp_path, text):
    key = text.split(" ", 1)[0]
    with pytest.raises(ConfigError, match=f"limits.{key}"):
        load_config(_config(tmp_path, f"[limits]\n{text}\n"))


def test_an_override_changes_one_limit_only(tmp_path):
    limits = load_config(_config(tmp_path, "[limits]\nfile_read_seconds = 30\n")).limits
    assert limits == Limits(file_read_seconds=30.0)


def test_the_configured_zip_cap_is_applied(loaded_db, batches, tmp_path, capsys, dump, monkeypatch):
    archive = tmp_path / "2025-06-30.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("低保.csv", "身份证号,姓名\n" + "\n" * 5000)
    monkeypatch.setenv(
        "KUOMIAN_CONFIG", str(_config(tmp_path, "[limits]\nmax_unzipped_bytes = 1000\n"))
    )
    line = run_rejected(loaded_db, capsys, dump, archive)
    assert "2025-06-30.zip" in line and "1000" in line


def test_the_configured_sheet_bound_is_applied(
    loaded_db, batches, tmp_path, capsys, dump, monkeypatch
):
    folder = bad_batch(batches)
    write_xlsx(folder / "特困人员.xlsx", [["身份证号", "姓名"], [make_id(3), "张3"]])
    monkeypatch.setenv("KUOMIAN_CONFIG", str(_config(tmp_path, "[limits]\nmax_sheet_cells = 10\n")))
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "特困人员.xlsx" in line and "more than 10 cells" in line


def test_the_configured_memory_limit_is_set_on_the_import(db, batches, tmp_path, monkeypatch):
    folder = make_batch(batches, "b", {"户籍人口.csv": hukou_rows(1)})
    cfg = load_config(_config(tmp_path, '[limits]\nmemory_limit = "300MB"\n'))
    observed = []
    real_read = loading.load_file

    def reading(con, *args, **kwargs):
        observed.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        return real_read(con, *args, **kwargs)

    monkeypatch.setattr("analytics.ingest.importer.load_file", reading)
    import_batches([folder], db=db, config=cfg)
    assert observed == ["286.1 MiB"]  # DuckDB's reading of 300MB


def test_the_configured_build_memory_limit_is_set_on_the_build(db, batches, tmp_path, monkeypatch):
    folder = make_batch(batches, "b", {"户籍人口.csv": hukou_rows(3)})
    cfg = load_config(_config(tmp_path, '[limits]\nbuild_memory_limit = "300MB"\n'))
    assert load_config().limits.build_memory_limit == "8GB"
    import_batches([folder], db=db, config=cfg)
    observed = []
    real_params = build._params

    def params(con, *args, **kwargs):
        observed.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        return real_params(con, *args, **kwargs)

    monkeypatch.setattr(build, "_params", params)
    build.build_registry(db, config=cfg)
    assert observed == ["286.1 MiB"]


# ---------------------------------------------------------------- temporary folders


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary root of this test's own, for this process and its children."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setenv("TMPDIR", str(root))
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def test_a_child_killed_while_holding_unpacked_data_leaves_no_folder(
    db, tmp_path, private_tmp, monkeypatch
):
    # A child that unpacks an upload into its temporary folder and is then
    # killed by the kernel (as for memory), so its own clean-up never runs.
    child = tmp_path / "child.sh"
    child.write_text(
        "#!/bin/sh\n"
        'work=$(mktemp -d "${TMPDIR:-/tmp}/kuomian-import-XXXXXX")\n'
        'echo "341721198001010011,张三" > "$work/户籍人口.csv"\n'
        "kill -9 $$\n",
        encoding="utf-8",
    )
    child.chmod(child.stat().st_mode | stat.S_IXUSR)
    batch = tmp_path / "2025-06-30"
    batch.mkdir()
    monkeypatch.setattr(sys, "executable", str(child))
    with pytest.raises(ImportRejected, match="子进程意外退出"):
        workflow.import_and_build([batch], db)
    assert list(private_tmp.iterdir()) == []


def test_an_upload_stopped_midway_kills_its_child_and_leaves_no_folder(db, tmp_path, private_tmp):
    archive = tmp_path / "2025-06-30.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("户籍人口.csv", _hukou_csv())

    class Stopped(Exception):
        """What Streamlit raises in a page's run when the user leaves the page."""

    def progress(message: str, fraction: float) -> None:
        raise Stopped

    before = _children()
    with pytest.raises(Stopped):
        workflow.import_and_build([archive], db, progress=progress)
    assert list(private_tmp.iterdir()) == []
    assert _children() <= before


def _children() -> set[int]:
    """The pids of this process's living children (from /proc)."""
    out = set()
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            out.add(int(stat_file.parent.name))
    return out


def test_staged_uploads_are_removed_after_a_rejection(db, private_tmp):
    with (
        pytest.raises(ImportRejected),
        workflow.staged_uploads(
            [("户籍人口.csv", "身份证号,姓名\n341721198001010011,张三\n".encode())],
            dt.date(2025, 6, 30),
        ) as paths,
    ):
        assert paths[0].parent.parent == private_tmp
        workflow.import_and_build(paths, db)
    assert list(private_tmp.iterdir()) == []


def test_staged_uploads_are_removed_after_success_and_after_an_error(private_tmp):
    files = [("户籍人口.csv", b"a"), ("2025Q3.zip", b"z")]
    with workflow.staged_uploads(files, dt.date(2025, 6, 30)) as paths:
        assert all(p.exists() for p in paths)
    assert list(private_tmp.iterdir()) == []
    with pytest.raises(OSError), workflow.staged_uploads(files, dt.date(2025, 6, 30)) as paths:
        paths[0].chmod(0o500)  # a read-only folder does not stop the clean-up
        raise OSError("disk full")
    assert list(private_tmp.iterdir()) == []


def test_remove_tree_does_not_follow_symlinks(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("x")
    outside.chmod(0o755)
    tree = tmp_path / "tree"
    (tree / "ro").mkdir(parents=True)
    (tree / "ro" / "f").write_text("y")
    os.symlink(outside, tree / "ro" / "link")
    (tree / "ro").chmod(0o500)
    workflow.remove_tree(tree)
    assert not tree.exists()
    assert (outside / "keep.txt").exists() and stat.S_IMODE(outside.stat().st_mode) == 0o755
