"""Files no department should send, and that must not take the import down
(issue "Keep serving"): each is refused with one line, before it is read, and
the database stays as it was."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from batchgen import make_batch, make_id, write_xlsx
from test_import_rejections import bad_batch, loaded_db, run_rejected

from analytics.ingest import ImportRejected, expand_batches
from analytics.ingest.xlsxguard import check_sheet
from analytics.readers import UnreadableFile

__all__ = ["loaded_db"]  # the fixture, shared with the rejection tests


def far_cell_xlsx(path: Path) -> Path:
    """A few-KB workbook whose one stray cell at XFD1048576 spans the whole grid."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet()
    ws.write_string(0, 0, "身份证号")
    ws.write_string(0, 1, "姓名")
    ws.write_string(1, 0, make_id(1))
    ws.write_string(1048575, 16383, "x")
    book.close()
    return path


def test_xlsx_with_a_cell_at_xfd1048576_is_refused_before_it_is_read(tmp_path):
    path = far_cell_xlsx(tmp_path / "低保.xlsx")
    assert path.stat().st_size < 10_000
    with pytest.raises(UnreadableFile, match="16384"):
        check_sheet(path, 0)


def test_ordinary_workbook_passes_the_sheet_guard(tmp_path):
    path = write_xlsx(tmp_path / "低保.xlsx", [["身份证号", "姓名"], [make_id(1), "张1"]])
    check_sheet(path, 0)


def test_import_of_a_far_cell_workbook_is_rejected_naming_the_file(
    loaded_db, batches, capsys, dump
):
    folder = bad_batch(batches)
    far_cell_xlsx(folder / "特困人员.xlsx")
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "特困人员.xlsx" in line and "16384" in line


def test_symlink_in_a_batch_is_rejected_without_following_it(loaded_db, batches, capsys, dump):
    folder = bad_batch(batches)
    os.symlink("/etc/passwd", folder / "户籍人口.csv")
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "户籍人口.csv" in line and "symlink" in line and "root" not in line


def test_named_pipe_in_a_batch_is_rejected_without_opening_it(loaded_db, batches, capsys, dump):
    folder = bad_batch(batches)
    os.mkfifo(folder / "户籍人口.csv")  # opening it for reading would wait forever
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "户籍人口.csv" in line and "not a regular file" in line


def test_zip_expanding_past_the_cap_is_rejected_before_extraction(batches, tmp_path):
    folder = make_batch(batches, "2025-06-30", {"低保.csv": [["身份证号", "姓名"]]})
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(folder / "低保.csv", "2025-06-30/低保.csv")
        z.writestr("2025-06-30/padding.txt", b"0" * 100_000)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(ImportRejected, match="batch.zip"):
        expand_batches([archive], work, max_unzipped=50_000)
    assert not any(work.iterdir())
    assert expand_batches([archive], work, max_unzipped=200_000)
