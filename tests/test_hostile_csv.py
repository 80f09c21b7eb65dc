"""Files a department may well send that must neither be misread nor take the
import down (issue "Keep serving", part 2): a file name naming several kinds, a
malformed CSV row, a column given twice, a NUL byte deep in a file, UTF-16."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import duckdb
import pytest
from batchgen import COMMUNITY, hukou_rows, make_batch, make_id, write_csv, write_xlsx
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


# ---------------------------------------------------------------- NUL bytes and UTF-16


def test_nul_byte_past_the_first_64_kib_is_rejected_and_nothing_stored(
    loaded_db, batches, capsys, dump
):
    folder = bad_batch(batches)
    rows = [["身份证号", "姓名"]] + [[make_id(i), f"张{i}"] for i in range(1, 4000)]
    rows[3500][1] = "张\x00三"  # line 3501 of the file
    path = write_csv(folder / "特困.csv", rows)
    assert path.read_bytes().index(b"\x00") > 65536
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "bad" in line and "特困.csv" in line and "3501" in line
    assert_no_personal_data(line, "张", make_id(3500))


def _hukou_csv_text() -> str:
    """A 户籍 CSV with a title row, a Chinese name, short records, a quoted cell across
    lines and a character outside the Basic Multilingual Plane."""
    rows = hukou_rows(3)
    rows[1][1] = "欧阳鑫淼"
    rows[0].append("户籍地址")
    rows[2].append("云南省\r\n安宁市")  # the other records are a cell shorter
    rows[3][1] = "王𪚥"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([["户籍人口花名册"], *rows])
    return buf.getvalue()


def _imported_hukou(db: Path, batches: Path, name: str, data: bytes) -> list[tuple[Any, ...]]:
    folder = make_batch(batches, name, as_of=name)
    (folder / "户籍人口.csv").write_bytes(data)
    import_batches([folder], db=db)
    return query(
        db,
        f"SELECT row_number, id_number, name, address_code, address FROM src_hukou "
        f"WHERE batch = '{name}' ORDER BY row_number",
    )


@pytest.mark.parametrize(
    "bom, codec, encoding",
    [(b"\xff\xfe", "utf-16-le", "utf-16-le"), (b"\xfe\xff", "utf-16-be", "utf-16-be")],
)
def test_utf16_csv_with_bom_imports_as_utf8_would(db, batches, bom, codec, encoding):
    text = _hukou_csv_text()
    want = _imported_hukou(db, batches, "2025-03-31", text.encode("utf-8"))
    got = _imported_hukou(db, batches, "2025-06-30", bom + text.encode(codec))
    assert len(want) == 3 and got == want
    assert ("王𪚥" in [r[2] for r in got]) and ("云南省\r\n安宁市" in [r[4] for r in got])
    assert query(db, "SELECT encoding FROM import_files WHERE batch = '2025-06-30'") == [
        (encoding,)
    ]


def test_utf16_csv_of_one_line_records_imports_as_utf8_would(db, batches):
    text = "\r\n".join(",".join(r) for r in hukou_rows(3)) + "\r\n"  # no quotes: DuckDB's reader
    want = _imported_hukou(db, batches, "2025-03-31", text.encode("utf-8"))
    got = _imported_hukou(
        db, batches, "2025-06-30", "\ufeff".encode("utf-16-le") + text.encode("utf-16-le")
    )
    assert len(want) == 3 and got == want


def test_utf16_csv_that_does_not_decode_is_rejected_naming_its_line(
    loaded_db, batches, capsys, dump
):
    folder = bad_batch(batches)
    text = "\r\n".join(",".join(r) for r in hukou_rows(3)) + "\r\n"
    data = b"\xff\xfe" + text.encode("utf-16-le")
    (folder / "户籍人口.csv").write_bytes(data[:-1])  # half a character at the end
    line = run_rejected(loaded_db, capsys, dump, folder)
    assert "bad" in line and "户籍人口.csv" in line and "UTF-16" in line and "第 4 行" in line
