"""The quarterly 通报 (analytics/quarter/report.py) on the tiny region of
tests/tinyregion.py: two streets, 2025-03-31 and 2025-06-30, with boundaries —
plus a third street, 丙街道, that is in the division data but has nobody living
in it, so its rates are empty (``—``).

The expected cells are computed here from the kpi export's integer columns with
Decimal, rounded half up, independently of the code under test."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import shutil
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import openpyxl
import pytest
from batchgen import REGION
from docx import Document
from docx.oxml.ns import qn
from tinyregion import STREETS, copy_database, write_batches

from analytics.exports import export
from analytics.quarter import assessment
from analytics.quarter.assessment import open_imports
from analytics.quarter.report import (
    SECTIONS,
    ReportError,
    gather,
    parse_quarter,
    percent,
    percent_of,
    street_map,
    write_docx,
    write_report,
)

EMPTY_STREET, EMPTY_NAME = REGION + "003", "丙街道"
Q1, Q2 = dt.date(2025, 3, 31), dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def region_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny region with an empty third street, imported and built."""
    from analytics.ingest import import_batches
    from analytics.registry.build import build_registry

    root = tmp_path_factory.mktemp("report")
    folders = write_batches(root / "batches")
    for folder in folders:
        with (folder / "行政区划.csv").open("a", encoding="utf-8", newline="") as f:
            f.write(f"{EMPTY_STREET},{EMPTY_NAME}\r\n")
    db = root / "tiny.duckdb"
    import_batches(folders, db=db)
    build_registry(db)
    return db


@pytest.fixture(scope="module")
def report(region_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("out")
    return write_report(region_db, "2025Q2", out / "通报.docx", out / "通报.xlsx")


@pytest.fixture(scope="module")
def doc(report: dict):
    return Document(report["out"])


@pytest.fixture(scope="module")
def kpi_rows(region_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """The kpi export's street rows of 2025-06-30, as text, by street code."""
    out = tmp_path_factory.mktemp("kpi") / "kpi.csv"
    export("kpi", region_db, out, level="street", as_of=Q2)
    with out.open(encoding="utf-8") as f:
        return {r["code"]: r for r in csv.DictReader(f)}


def expected_percent(num: str, den: str) -> str:
    """The contract's rounding, from the integer columns: half up, two decimals."""
    if int(den) == 0:
        return "—"
    exact = Decimal(int(num)) * 100 / Decimal(int(den))
    return f"{exact.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"


def _table_rows(table) -> list[dict[str, str]]:
    header = [c.text for c in table.rows[0].cells]
    return [dict(zip(header, (c.text for c in row.cells), strict=True)) for row in table.rows[1:]]


def _section_text(doc, number: int) -> str:
    """The paragraphs between heading ``number`` (0-based) and the next one."""
    out, inside = [], False
    for p in doc.paragraphs:
        if p.style.name.startswith("Heading"):
            inside = p.text == SECTIONS[number]
            continue
        if inside:
            out.append(p.text)
    return "\n".join(out)


# ---------------------------------------------------------------- rounding


def test_half_up_not_bankers_rounding() -> None:
    assert percent(976050, 1000000) == "97.61%"
    assert percent_of(Fraction("0.976050")) == "97.61%"
    # 97.625 → 97.63 (banker's rounding would give 97.62)
    assert percent(976250, 1000000) == "97.63%"
    assert percent(2, 3) == "66.67%" and percent(1, 8) == "12.50%"
    assert percent(5, 0) == "—"


def test_rounding_is_exact_beyond_float_precision() -> None:
    # 0.976049999999999999999… stays below the half: a float would round it up.
    assert percent(976049999999999999999, 10**21) == "97.60%"
    assert percent(-1, 8) == "-12.50%"


def test_quarter_text_is_checked() -> None:
    assert (parse_quarter("2025Q2").start, parse_quarter("2025q2").end) == (
        dt.date(2025, 4, 1),
        dt.date(2025, 6, 30),
    )
    with pytest.raises(ReportError, match="YYYYQn"):
        parse_quarter("2025-2")


# ---------------------------------------------------------------- the document


def test_title_names_the_region_in_red(doc) -> None:
    title = doc.paragraphs[0]
    assert title.text == "示例市基本养老保险扩面增效工作情况通报"
    run = title.runs[0]
    assert str(run.font.color.rgb) == "FF0000" and run.font.bold
    assert run.font.size.pt >= 22


def test_number_line_date_and_red_rule(doc, report: dict) -> None:
    texts = [p.text for p in doc.paragraphs[:8]]
    assert "示例市扩面办通〔2025〕2号" in texts
    assert "2025年6月30日" in texts
    assert report["as_of"] == Q2
    rules = [
        b
        for p in doc.paragraphs[:8]
        for b in p._p.iter(qn("w:bottom"))
        if b.get(qn("w:color")) == "FF0000"
    ]
    assert rules


def test_five_sections_in_order(doc) -> None:
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings == list(SECTIONS)


def test_east_asian_fonts_are_set(doc) -> None:
    normal = doc.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == "仿宋"
    title = doc.paragraphs[0].runs[0]._element.rPr.rFonts
    assert title.get(qn("w:eastAsia"))


def test_street_table_rates_are_the_kpi_exports_rounded_half_up(doc, kpi_rows) -> None:
    rows = {r["街道"]: r for r in _table_rows(doc.tables[0])}
    names = {**STREETS, EMPTY_STREET: EMPTY_NAME}
    assert sorted(rows) == sorted(names.values())
    assert set(kpi_rows) == set(names)
    for code, k in kpi_rows.items():
        row = rows[names[code]]
        assert row["参保率"] == expected_percent(k["insured"], k["legal_population"]), code
        assert row["结构比"] == expected_percent(k["employee_contributors"], k["contributors"])
        assert row["应参保人口"] == f"{int(k['legal_population']):,}"


def test_the_street_tables_are_in_section_two(doc) -> None:
    section, where = None, []
    for child in doc.element.body.iterchildren():
        if child.tag == qn("w:p"):
            text = "".join(t.text or "" for t in child.iter(qn("w:t")))
            if text in SECTIONS:
                section = text
        elif child.tag == qn("w:tbl"):
            where.append(section)
    assert where == [SECTIONS[1], SECTIONS[1], SECTIONS[2]]


def test_a_street_without_legal_population_shows_a_dash(doc, kpi_rows) -> None:
    assert kpi_rows[EMPTY_STREET]["legal_population"] == "0"
    assert kpi_rows[EMPTY_STREET]["coverage_rate"] == ""
    row = {r["街道"]: r for r in _table_rows(doc.tables[0])}[EMPTY_NAME]
    assert (row["参保率"], row["结构比"]) == ("—", "—")
    assert f"不计参保率的1个：{EMPTY_NAME}" in _section_text(doc, 1)


def test_street_table_tasks_are_the_assessments(doc, region_db: Path) -> None:
    rows = {r["街道"]: r for r in _table_rows(doc.tables[1])}
    a = assessment(region_db, 2025, Q2)
    for r in a.itertuples(index=False):
        row = rows[r.name]
        assert row["扩面任务"] == f"{r.coverage_task:,}"
        assert row["扩面完成"] == f"{r.coverage_done:,}"
        want = expected_percent(str(r.coverage_done), str(r.coverage_task))
        assert row["扩面完成率"] == want
        assert row["结构比任务"] == f"{r.structure_task:,}"


def test_ranking_praises_the_top_three(doc, region_db: Path) -> None:
    from analytics.quarter import street_ranking

    ranking = street_ranking(region_db, 2025, Q2)
    rows = _table_rows(doc.tables[2])
    assert [r["街道"] for r in rows] == list(ranking["name"])
    # 丙街道 has nobody living in it: not ranked; the two others are praised.
    assert "丙街道" not in [r["街道"] for r in rows]
    assert [r["通报"] for r in rows] == ["表扬"] * 2
    text = _section_text(doc, 2)
    assert "予以通报表扬" in text and "上季度" in text


def test_problems_and_next_steps_come_from_the_data(doc, region_db: Path) -> None:
    issues, steps = _section_text(doc, 3), _section_text(doc, 4)
    a = assessment(region_db, 2025, Q2)
    for name in a.loc[a["coverage_pace"] == "behind", "name"]:
        assert name in issues
    # One 户籍 row with a 17-digit ID in the second batch (tinyregion).
    assert "户籍人口1条" in issues and "身份证号错误" in issues
    # The platform workers (group 4) are the largest group of targets.
    assert "新就业形态劳动者" in issues and "精准宣传动员" in steps
    assert "户籍人口数据1条" in steps


def test_the_map_and_the_chart_are_in_the_document(doc, report: dict) -> None:
    assert report["map"] is True and report["images"] == 2
    assert len(doc.inline_shapes) == 2


def test_without_boundaries_the_map_is_left_out(region_db: Path, tmp_path: Path) -> None:
    with open_imports(region_db) as imp:
        data = gather(imp, parse_quarter("2025Q2"))
    data = dataclasses.replace(data, boundaries=data.boundaries.iloc[0:0])
    assert street_map(data, tmp_path / "map.png") is None
    write_docx(data, tmp_path / "r.docx", {"map": None, "chart": None})
    doc = Document(str(tmp_path / "r.docx"))
    assert len(doc.inline_shapes) == 0
    assert "未导入街道边界" in _section_text(doc, 0)


# ---------------------------------------------------------------- the workbook


def test_workbook_holds_the_exact_values(report: dict, kpi_rows) -> None:
    book = openpyxl.load_workbook(report["xlsx"])
    assert book.sheetnames == ["总体情况", "各街道完成情况", "排名情况", "重点群体", "问题数据"]
    ws = book["各街道完成情况"]
    header = [c.value for c in ws[1]]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in ws.iter_rows(2, values_only=True)}
    assert set(rows) == set(kpi_rows)
    for code, k in kpi_rows.items():
        row = rows[code]
        assert row["应参保人口"] == int(k["legal_population"])
        assert row["已参保"] == int(k["insured"])
        want = float(k["coverage_rate"]) if k["coverage_rate"] else None
        assert row["参保率"] == want, code
        want = float(k["structure_ratio"]) if k["structure_ratio"] else None
        assert row["结构比"] == want, code
    # Exact, not rounded: 20 of 24 is 0.8333…, not 0.8333.
    assert any(v["参保率"] and round(v["参保率"], 4) != v["参保率"] for v in rows.values())


def test_workbook_text_is_never_a_formula(report: dict) -> None:
    book = openpyxl.load_workbook(report["xlsx"])
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate)


# ---------------------------------------------------------------- which date, and refusals


def test_a_quarter_without_data_is_refused(region_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.docx"
    with pytest.raises(ReportError) as err:
        write_report(region_db, "2024Q4", out)
    message = str(err.value)
    assert "\n" not in message and "(no date imported in quarter 2024Q4)" in message
    assert isinstance(err.value, ValueError)
    assert not out.exists()


def test_an_unbuilt_date_is_computed_without_a_build(region_db: Path, tmp_path: Path) -> None:
    """A third quarter imported (the second's files again) but never built."""
    from analytics.ingest import import_batches

    db = copy_database(region_db, tmp_path / "copy.duckdb")
    src = next((region_db.parent / "batches").glob("2025-06-30*"))
    q3 = tmp_path / "batches" / "2025-09-30"
    shutil.copytree(src, q3)
    (q3 / "manifest.toml").write_text(
        f'as_of = "2025-09-30"\nregion_code = "{REGION}"\n', encoding="utf-8"
    )
    import_batches([q3], db=db)
    got = write_report(db, "2025Q3", tmp_path / "q3.docx", tmp_path / "q3.xlsx")
    assert got["as_of"] == dt.date(2025, 9, 30) and got["built"] is False
    ws = openpyxl.load_workbook(tmp_path / "q3.xlsx")["各街道完成情况"]
    codes = [r[0] for r in ws.iter_rows(2, values_only=True)]
    assert codes == sorted([*STREETS, EMPTY_STREET])
    doc = Document(str(tmp_path / "q3.docx"))
    assert "2025年9月30日" in [p.text for p in doc.paragraphs[:8]]
    # Same people as on 2025-06-30: the previous quarter's rates, unchanged.
    assert "持平" in _section_text(doc, 0)


def test_the_cjk_font_comes_from_the_installed_wheel() -> None:
    from matplotlib import font_manager

    from geo.print_map import CJK_FAMILY, cjk_font_file, register_cjk_font

    assert register_cjk_font() == CJK_FAMILY
    path = cjk_font_file()
    assert path.is_file() and "site-packages" in str(path)
    faces = {e.name for e in font_manager.fontManager.ttflist if Path(e.fname) == path}
    assert CJK_FAMILY in faces
