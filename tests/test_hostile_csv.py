"""Files a department may well send that must neither be misread nor take the
import down (issue "Keep serving", part 2): a file name naming several kinds, a
malformed CSV row, a column given twice, a NUL byte deep in a file, UTF-16."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from batchgen import COMMUNITY, make_batch, make_id, write_csv, write_xlsx
from test_import_rejections import bad_batch, loaded_db, run_rejected

from analytics.ingest import import_batches

__all__ = ["loaded_db"]  # the fixture, shared with the rejection tests

DIBAO_HEADERS = ["身份证号", "姓名", "低保类别"]


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def accounting(db: Path, source_file: str) -> tuple[str, int, int, int, int]:
    """(kind, read, accepted, duplicates, problems) of one imported file."""
    (row,) = query(
        db,
        "SELECT kind, read, accepted, duplicates, problems FROM import_files "
        f"WHERE source_file = '{source_file}'",
    )
    return row


def problems(db: Path) -> list[tuple[Any, ...]]:
    return query(
        db,
        "SELECT row_number, reason, field FROM problems WHERE severity = 'error' "
        "ORDER BY row_number",
    )


def assert_no_personal_data(line: str, *values: str) -> None:
    for v in values:
        assert v not in line, line


# ---------------------------------------------------------------- a name naming several kinds


def test_dibao_file_named_after_removed_deaths_is_dibao_by_its_headers(db, batches):
    rows = [DIBAO_HEADERS] + [[make_id(i), f"张{i}", "城市低保"] for i in range(1, 4)]
    folder = make_batch(batches, "b1", {"低保人员_已剔除死亡人员.csv": rows})
    import_batches([folder], db=db)
    assert accounting(db, "低保人员_已剔除死亡人员.csv")[:3] == ("dibao", 3, 3)
    assert query(db, "SELECT count(*) FROM src_death") == [(0,)]


def test_death_file_named_with_another_kind_is_death_by_its_headers(db, batches):
    rows = [["身份证号", "姓名", "死亡日期"], [make_id(1), "张1", "2025-01-02"]]
    folder = make_batch(batches, "b1", {"低保对象中的死亡人员.csv": rows})
    import_batches([folder], db=db)
    assert accounting(db, "低保对象中的死亡人员.csv")[:3] == ("death", 1, 1)


def test_sheet_naming_two_kinds_whose_headers_fit_both_is_rejected_naming_them(
    loaded_db, batches, capsys, dump
):
    folder = bad_batch(batches)
    write_xlsx(
        folder / "名单.xlsx",
        [["身份证号", "姓名"], [make_id(1), "张1"]],
        sheet_name="特困人员(已剔除死亡人员)",
    )
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "bad" in line and "名单.xlsx" in line
    assert "tekun" in line and "death" in line and "特困" in line and "死亡人员" in line
    assert_no_personal_data(line, make_id(1), "张1")


def test_csv_naming_two_kinds_whose_headers_fit_neither_is_rejected_naming_them(
    loaded_db, batches, capsys, dump
):
    folder = bad_batch(batches)
    write_csv(folder / "低保_死亡人员.csv", [["编号", "备注"], ["1", "无"]])
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "bad" in line and "低保_死亡人员.csv" in line
    assert "dibao" in line and "death" in line and "hukou" not in line


# ---------------------------------------------------------------- one field in two columns


def test_second_column_with_the_same_header_is_rejected(loaded_db, batches, capsys, dump):
    folder = bad_batch(batches)
    write_csv(
        folder / "户籍人口.csv",
        [
            ["身份证号", "姓名", "户籍地址编码", "身份证号"],
            [make_id(1), "张1", COMMUNITY, make_id(3)],
        ],
    )
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "bad" in line and "户籍人口.csv" in line and "id_number" in line and "身份证号" in line
    assert_no_personal_data(line, make_id(1), make_id(3), "张1")


def test_two_synonyms_of_one_field_are_rejected(loaded_db, batches, capsys, dump):
    folder = bad_batch(batches)
    write_csv(
        folder / "户籍人口.csv",
        [
            ["身份证号", "姓名", "户籍地址编码", "社区编码"],
            [make_id(1), "张1", COMMUNITY, COMMUNITY],
        ],
        title_rows=["户籍人口花名册"],
    )
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "bad" in line and "户籍人口.csv" in line and "address_code" in line
    assert "户籍地址编码" in line and "社区编码" in line and "2" in line
    assert_no_personal_data(line, make_id(1), COMMUNITY)


# ---------------------------------------------------------------- a malformed CSV row


def _dibao_lines(n: int) -> list[str]:
    """A dibao CSV's lines: the header, then ``n`` rows (line k+1 holds person k)."""
    return [",".join(DIBAO_HEADERS)] + [f"{make_id(i)},张{i},城市低保" for i in range(1, n + 1)]


def _write_lines(path: Path, lines: list[str], end: str = "\r\n") -> None:
    path.write_text(end.join(lines) + end, encoding="utf-8", newline="")


def test_unterminated_quote_makes_one_problem_row_and_the_rest_is_read(db, batches):
    folder = make_batch(batches, "b1")
    lines = _dibao_lines(10)
    lines[5] = f'{make_id(5)},"张5,城市低保'  # line 6 of the file: the quote never closes
    _write_lines(folder / "低保.csv", lines)
    import_batches([folder], db=db)
    assert accounting(db, "低保.csv") == ("dibao", 10, 9, 0, 1)
    assert problems(db) == [(6, "malformed_row", "")]
    accepted = {r for (r,) in query(db, "SELECT row_number FROM src_dibao")}
    assert accepted == set(range(2, 12)) - {6}


def test_unterminated_quote_closed_by_a_later_quote_swallows_nothing(db, batches):
    folder = make_batch(batches, "b1")
    lines = _dibao_lines(8)
    lines[2] = f'{make_id(2)},"张2,城市低保'
    lines[6] = f'{make_id(6)},"张6",城市低保'  # a well-quoted cell four lines later
    _write_lines(folder / "低保.csv", lines, end="\n")
    import_batches([folder], db=db)
    assert accounting(db, "低保.csv") == ("dibao", 8, 7, 0, 1)
    assert problems(db) == [(3, "malformed_row", "")]
    assert query(db, "SELECT name FROM src_dibao WHERE row_number = 7") == [("张6",)]


def test_unterminated_quote_on_the_last_line_is_a_problem_row(db, batches):
    folder = make_batch(batches, "b1")
    lines = _dibao_lines(3)
    lines[3] = f'{make_id(3)},张3,"城市低保'
    _write_lines(folder / "低保.csv", lines)
    import_batches([folder], db=db)
    assert accounting(db, "低保.csv") == ("dibao", 3, 2, 0, 1)
    assert problems(db) == [(4, "malformed_row", "")]


def test_quoted_cell_spanning_lines_is_still_one_row(db, batches):
    folder = make_batch(batches, "b1")
    lines = _dibao_lines(3)
    lines[1] = f'{make_id(1)},张1,"城市\r\n低保"'
    _write_lines(folder / "低保.csv", lines)
    import_batches([folder], db=db)
    assert accounting(db, "低保.csv") == ("dibao", 3, 3, 0, 0)
    assert query(db, "SELECT row_number FROM src_dibao ORDER BY 1") == [(2,), (4,), (5,)]
