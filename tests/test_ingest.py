"""The importer against the data contract: accounting, problems, warnings,
duplicates, headers, kinds, encodings and batch replacement."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from batchgen import (
    COMMUNITY,
    REGION,
    hukou_rows,
    make_batch,
    make_id,
    make_uscc,
    write_csv,
    write_xlsx,
)

from analytics.exports import export
from analytics.ingest import import_batches, report_frame

ID1, ID2, ID3 = make_id(1), make_id(2), make_id(3)
OTHER_COUNTY = "110105001001"


def query(db: Path, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute(sql, params or [])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]
    finally:
        con.close()


def issues(db: Path, severity: str = "error") -> list[dict[str, Any]]:
    return query(
        db, "SELECT * FROM problems WHERE severity = ? ORDER BY source_file, row_number", [severity]
    )


def files(db: Path) -> dict[str, dict[str, Any]]:
    return {r["source_file"]: r for r in query(db, "SELECT * FROM import_files")}


def only_issue(db: Path, severity: str = "error") -> dict[str, Any]:
    found = issues(db, severity)
    assert len(found) == 1, found
    return found[0]


def import_one(db: Path, batches: Path, files_: dict[str, Any], **kw: Any) -> Path:
    folder = make_batch(batches, kw.pop("name", "b1"), files_, **kw)
    import_batches([folder], db=db)
    return folder


# ---------------------------------------------------------------- each problem reason


def test_empty_required_field_is_missing_value_at_its_csv_line(db, batches):
    rows = hukou_rows(3)
    rows[2][1] = "  "  # line 3 of the file: name is blank after trimming
    import_one(db, batches, {"户籍人口.csv": rows})
    p = only_issue(db)
    assert (p["reason"], p["row_number"], p["field"], p["id_number"]) == (
        "missing_value",
        3,
        "name",
        ID2,
    )
    assert p["kind"] == "hukou" and p["source_file"] == "户籍人口.csv"


def test_id_failing_gb11643_is_invalid_id(db, batches):
    rows = hukou_rows(2)
    rows[2][0] = ID2[:17] + ("0" if ID2[17] != "0" else "1")
    import_one(db, batches, {"户籍人口.csv": rows})
    p = only_issue(db)
    assert (p["reason"], p["row_number"], p["id_number"]) == ("invalid_id", 3, rows[2][0])


def test_problem_keeps_the_original_row(db, batches):
    rows = hukou_rows(1)
    rows[1][0] = "12345"
    import_one(db, batches, {"户籍人口.csv": rows})
    raw = json.loads(only_issue(db)["raw"])
    assert raw == {"身份证号": "12345", "姓名": "张1", "户籍地址编码": COMMUNITY, "性别": "男"}


def test_credit_code_failing_gb32100_is_invalid_uscc(db, batches):
    good, bad = make_uscc(1), make_uscc(2)[:17] + "I"
    rows = [
        ["统一社会信用代码", "主体名称", "主体类型", "经营者身份证号"],
        [good, "甲店", "个体工商户", ID1],
        [bad, "乙店", "个体工商户", ID2],
    ]
    import_one(db, batches, {"市场主体.csv": rows})
    p = only_issue(db)
    assert (p["reason"], p["row_number"], p["kind"]) == ("invalid_uscc", 3, "market_entity")


def test_unreadable_required_date_is_invalid_date(db, batches):
    rows = [["身份证号", "务工开始时间"], [ID1, "2024-01-15"], [ID2, "去年春天"]]
    import_one(db, batches, {"转移就业.csv": rows})
    p = only_issue(db)
    assert (p["reason"], p["row_number"], p["field"]) == ("invalid_date", 3, "employment_start")


def test_required_date_after_as_of_is_invalid_date(db, batches):
    rows = [["身份证号", "务工开始时间"], [ID1, "2025-06-30"], [ID2, "2025-07-01"]]
    import_one(db, batches, {"转移就业.csv": rows})
    p = only_issue(db)
    assert (p["reason"], p["row_number"]) == ("invalid_date", 3)
    assert query(db, "SELECT employment_start FROM src_migrant_worker") == [
        {"employment_start": dt.date(2025, 6, 30)}
    ]


def test_optional_date_after_as_of_is_accepted(db, batches):
    rows = [["身份证号", "刑满日期"], [ID1, "2030-01-01"]]
    import_one(db, batches, {"服刑人员.csv": rows})
    assert issues(db) == [] and issues(db, "warning") == []
    assert query(db, "SELECT release_date FROM src_inmate") == [
        {"release_date": dt.date(2030, 1, 1)}
    ]


def test_unknown_value_in_required_closed_list_is_invalid_value(db, batches):
    rows = [["身份证号", "残疾等级"], [ID1, "2级"], [ID2, "五级"]]
    import_one(db, batches, {"残疾人.csv": rows})
    p = only_issue(db)
    assert (p["reason"], p["row_number"], p["field"]) == ("invalid_value", 3, "disability_level")
    assert query(db, "SELECT disability_level FROM src_disability") == [
        {"disability_level": "二级"}
    ]


def test_address_code_not_twelve_digits_is_invalid_address_code(db, batches):
    rows = hukou_rows(2)
    rows[2][2] = COMMUNITY[:9]
    import_one(db, batches, {"户籍人口.csv": rows})
    p = only_issue(db)
    assert (p["reason"], p["row_number"], p["field"]) == ("invalid_address_code", 3, "address_code")


def test_pension_region_code_of_wrong_length_is_invalid_address_code(db, batches):
    rows = [["身份证号", "险种", "参保状态", "参保地"], [ID1, "城乡居民", "参保缴费", "53018"]]
    import_one(db, batches, {"养老保险参保.csv": rows})
    assert only_issue(db)["reason"] == "invalid_address_code"


def test_pension_region_code_elsewhere_is_accepted_as_its_county(db, batches):
    rows = [["身份证号", "险种", "参保状态", "参保地"], [ID1, "企业职工", "参保缴费", OTHER_COUNTY]]
    import_one(db, batches, {"养老保险参保.csv": rows})
    assert issues(db) == []
    assert query(db, "SELECT scheme, region_code FROM src_pension_enrollment") == [
        {"scheme": "企业职工基本养老保险", "region_code": "110105"}
    ]


def test_address_code_outside_the_region_is_out_of_region(db, batches):
    rows = hukou_rows(2)
    rows[1][2] = OTHER_COUNTY
    import_one(db, batches, {"户籍人口.csv": rows})
    p = only_issue(db)
    assert (p["reason"], p["row_number"]) == ("out_of_region", 2)


def test_same_key_with_other_values_is_a_conflict_and_the_first_row_stays(db, batches):
    rows = hukou_rows(2)
    rows.append([ID1, "李四", COMMUNITY, "男"])
    import_one(db, batches, {"户籍人口.csv": rows})
    p = only_issue(db)
    assert (p["reason"], p["row_number"], p["id_number"]) == ("conflict", 4, ID1)
    assert query(db, "SELECT name FROM src_hukou WHERE id_number = ?", [ID1]) == [{"name": "张1"}]


def test_pension_conflict_key_is_id_scheme_and_region(db, batches):
    rows = [
        ["身份证号", "险种", "参保状态", "参保地"],
        [ID1, "城乡居民", "参保缴费", "530181"],
        [ID1, "城乡居民养老保险", "暂停缴费", "530181001"],  # same key, other status
        [ID1, "城乡居民", "暂停缴费", "110105"],
    ]  # another region: another key
    import_one(db, batches, {"养老保险参保.csv": rows})
    p = only_issue(db)
    assert (p["reason"], p["row_number"]) == ("conflict", 3)
    assert files(db)["养老保险参保.csv"]["accepted"] == 2


def test_division_codes_are_stored_at_their_level(db, batches):
    rows = [
        ["区划代码", "区划名称"],
        [REGION + "000000", "安宁市"],
        [REGION + "001000", "某街道"],
        [COMMUNITY, "某社区"],
        [REGION + "001", "某街道"],
        ["110105001000", "外区街道"],
    ]
    import_one(db, batches, {"行政区划.csv": rows})
    assert query(db, "SELECT code, name FROM src_division ORDER BY row_number") == [
        {"code": REGION, "name": "安宁市"},
        {"code": REGION + "001", "name": "某街道"},
        {"code": COMMUNITY, "name": "某社区"},
    ]
    f = files(db)["行政区划.csv"]
    assert (f["read"], f["accepted"], f["duplicates"], f["problems"]) == (5, 3, 1, 1)
    assert only_issue(db)["reason"] == "out_of_region"


# ---------------------------------------------------------------- row numbers as Excel shows them


def test_xlsx_row_number_counts_title_and_header_rows(db, batches):
    folder = make_batch(batches, "b1")
    rows = hukou_rows(3)
    rows[3][0] = "110105194912310021"
    write_xlsx(
        folder / "户籍人口.xlsx",
        rows,
        title_rows=["安宁市某某街道户籍人口花名册", "", "制表单位：某某社区"],
    )
    import_batches([folder], db=db)
    p = only_issue(db)
    # titles on rows 1-3, header on row 4, the third person on row 7
    assert (p["reason"], p["row_number"]) == ("invalid_id", 7)
    assert files(db)["户籍人口.xlsx"]["header_row"] == 4


def test_csv_row_number_is_the_line_where_the_record_starts(db, batches):
    folder = make_batch(batches, "b1")
    (folder / "户籍人口.csv").write_text(
        "户籍人口花名册\r\n"
        "身份证号,姓名,户籍地址编码,住址\r\n"
        f'{ID1},张1,{COMMUNITY},"云南省\r\n安宁市"\r\n'
        "\r\n"
        f"{ID2},,{COMMUNITY},x\r\n",
        encoding="utf-8",
    )
    import_batches([folder], db=db)
    p = only_issue(db)
    assert (p["reason"], p["row_number"]) == ("missing_value", 6)
    assert query(db, "SELECT row_number, address FROM src_hukou") == [
        {"row_number": 3, "address": "云南省\r\n安宁市"}
    ]


# ---------------------------------------------------------------- reason priority


@pytest.mark.parametrize(
    "kind_file, rows, reason",
    [
        # missing_value before invalid_id
        (
            "户籍人口.csv",
            [["身份证号", "姓名", "户籍地址编码"], ["123", "", COMMUNITY]],
            "missing_value",
        ),
        # invalid_id before out_of_region
        (
            "户籍人口.csv",
            [["身份证号", "姓名", "户籍地址编码"], ["123", "张", OTHER_COUNTY]],
            "invalid_id",
        ),
        # invalid_id before invalid_uscc
        (
            "市场主体.csv",
            [
                ["统一社会信用代码", "主体名称", "主体类型", "经营者身份证号"],
                ["91350100M000100Y44", "甲", "个体工商户", "123"],
            ],
            "invalid_id",
        ),
        # invalid_date before invalid_value
        (
            "入户调查.csv",
            [["身份证号", "调查日期", "调查结果"], [make_id(1), "2025-13-01", "不知道"]],
            "invalid_date",
        ),
        # invalid_value before invalid_address_code
        (
            "养老保险参保.csv",
            [
                ["身份证号", "险种", "参保状态", "参保地"],
                [make_id(1), "商业保险", "参保缴费", "5301"],
            ],
            "invalid_value",
        ),
        # invalid_address_code of a required field before an unreadable optional value
        (
            "户籍人口.csv",
            [["身份证号", "姓名", "户籍地址编码", "性别"], [make_id(1), "张", "5301", "?"]],
            "invalid_address_code",
        ),
    ],
)
def test_row_with_two_defects_gets_the_first_reason_in_contract_order(
    db, batches, kind_file, rows, reason
):
    import_one(db, batches, {kind_file: rows})
    assert only_issue(db)["reason"] == reason
    assert issues(db, "warning") == []


def test_defective_row_with_a_taken_key_is_not_a_conflict(db, batches):
    rows = [["身份证号", "残疾等级"], [ID1, "一级"], [ID1, "九级"]]
    import_one(db, batches, {"残疾人.csv": rows})
    assert only_issue(db)["reason"] == "invalid_value"


# ---------------------------------------------------------------- duplicates across files


def test_exact_duplicate_in_a_later_file_of_the_same_kind_is_counted_not_a_problem(db, batches):
    a = [["身份证号", "姓名", "低保类别"], [ID1, "张1", "城市低保"], [ID2, "张2", "城市低保"]]
    b = [["身份证号", "姓名", "低保类别"], [ID2, "张2", "城市低保"], [ID3, "张3", "农村低保"]]
    import_one(db, batches, {"低保_1.csv": a, "低保_2.csv": b})
    f = files(db)
    assert (f["低保_2.csv"]["duplicates"], f["低保_2.csv"]["accepted"]) == (1, 1)
    assert issues(db) == []
    assert len(query(db, "SELECT * FROM src_dibao")) == 3


def test_duplicate_compares_values_after_normalization(db, batches):
    rows = [
        ["身份证号", "姓名", "残疾等级"],
        [ID1, "张1", "二级"],
        [ID1.lower(), " 张1\u3000", "2"],
    ]
    import_one(db, batches, {"残疾人.csv": rows})
    assert files(db)["残疾人.csv"]["duplicates"] == 1


def test_files_are_read_in_code_point_order_of_their_names(db, batches):
    # "B" (U+0042) sorts before "a" (U+0061): 低保_B.csv is read first, so its row stays
    # and the differing row of 低保_a.csv is the conflict.
    first = [["身份证号", "姓名"], [ID1, "先到"]]
    second = [["身份证号", "姓名"], [ID1, "后到"]]
    import_one(db, batches, {"低保_a.csv": second, "低保_B.csv": first})
    p = only_issue(db)
    assert (p["reason"], p["source_file"], p["row_number"]) == ("conflict", "低保_a.csv", 2)
    assert query(db, "SELECT name, source_file FROM src_dibao") == [
        {"name": "先到", "source_file": "低保_B.csv"}
    ]


def test_duplicate_of_a_problem_row_is_not_a_duplicate(db, batches):
    rows = [["身份证号", "残疾等级"], [ID1, "九级"], [ID1, "九级"]]
    import_one(db, batches, {"残疾人.csv": rows})
    f = files(db)["残疾人.csv"]
    assert (f["problems"], f["duplicates"]) == (2, 0)


# ---------------------------------------------------------------- warnings


def test_unreadable_optional_number_is_a_warning_and_the_field_is_left_empty(db, batches):
    rows = [
        ["身份证号", "险种", "参保状态", "参保地", "缴费基数"],
        [ID1, "企业职工", "参保缴费", REGION, "四千"],
    ]
    import_one(db, batches, {"养老保险参保.csv": rows})
    assert issues(db) == []
    w = only_issue(db, "warning")
    assert (w["reason"], w["field"], w["row_number"]) == ("invalid_value", "base", 2)
    assert query(db, "SELECT base FROM src_pension_enrollment") == [{"base": None}]
    f = files(db)["养老保险参保.csv"]
    assert (f["accepted"], f["problems"], f["warnings"]) == (1, 0, 1)


def test_unknown_optional_closed_value_is_a_warning(db, batches):
    rows = [
        ["统一社会信用代码", "主体名称", "主体类型", "经营者身份证号", "登记状态", "成立日期"],
        [make_uscc(1), "甲", "个体工商户", ID1, "歇业", "不详"],
    ]
    import_one(db, batches, {"市场主体.csv": rows})
    assert issues(db) == []
    assert sorted(w["field"] for w in issues(db, "warning")) == ["established_date", "status"]
    assert query(db, "SELECT status, established_date FROM src_market_entity") == [
        {"status": None, "established_date": None}
    ]


def test_unreadable_optional_value_is_compared_as_written_for_duplicates(db, batches):
    rows = [
        ["身份证号", "姓名", "刑满日期"],
        [ID1, "张1", "不详"],
        [ID1, "张1", "不详"],
        [ID1, "张1", "待定"],
    ]
    import_one(db, batches, {"服刑人员.csv": rows})
    f = files(db)["服刑人员.csv"]
    assert (f["accepted"], f["duplicates"], f["problems"]) == (1, 1, 1)
    assert only_issue(db)["reason"] == "conflict"


def test_name_differing_from_hukou_is_a_name_mismatch_warning(db, batches):
    dibao = [["身份证号", "姓名"], [ID1, "张1"], [ID2, "张二"]]
    import_one(db, batches, {"户籍人口.csv": hukou_rows(2), "低保.csv": dibao})
    w = only_issue(db, "warning")
    assert (w["reason"], w["kind"], w["row_number"], w["id_number"]) == (
        "name_mismatch",
        "dibao",
        3,
        ID2,
    )
    assert query(db, "SELECT name FROM src_hukou WHERE id_number = ?", [ID2]) == [{"name": "张2"}]
    assert files(db)["低保.csv"]["warnings"] == 1
    assert files(db)["低保.csv"]["accepted"] == 2


def test_gender_differing_from_the_id_is_a_gender_mismatch_warning(db, batches):
    rows = hukou_rows(2)
    rows[2][3] = "女"
    import_one(db, batches, {"户籍人口.csv": rows})
    w = only_issue(db, "warning")
    assert (w["reason"], w["row_number"], w["field"]) == ("gender_mismatch", 3, "gender")
    assert files(db)["户籍人口.csv"]["accepted"] == 2


# ---------------------------------------------------------------- accounting


def test_read_equals_accepted_plus_duplicates_plus_problems_for_every_file(db, batches):
    folder = make_batch(batches, "b1")
    rows = hukou_rows(5)
    rows += [rows[1], [ID1, "别名", COMMUNITY, "男"], ["bad", "x", COMMUNITY, ""]]
    rows[3][3] = "?"  # a warning does not count in the accounting
    write_xlsx(
        folder / "户籍人口.xlsx",
        rows,
        title_rows=["户籍花名册"],
        total_row=True,
        trailing_blank_rows=3,
    )
    write_csv(folder / "低保.csv", [["身份证号", "姓名"], [ID1, "张1"], [ID1, "张1"], ["", "x"]])
    results = import_batches([folder], db=db)
    f = files(db)
    assert {
        k: (v["read"], v["accepted"], v["duplicates"], v["problems"], v["warnings"])
        for k, v in f.items()
    } == {"户籍人口.xlsx": (8, 5, 1, 2, 1), "低保.csv": (3, 1, 1, 1, 0)}
    frame = report_frame(results)
    assert (frame["read"] == frame["accepted"] + frame["duplicates"] + frame["problems"]).all()


def test_total_and_blank_rows_are_not_read(db, batches):
    folder = make_batch(batches, "b1")
    rows = hukou_rows(2)
    rows.insert(2, ["", "", "", ""])
    rows.append(["总计：", "", "", ""])
    write_csv(folder / "户籍人口.csv", rows + [[""] * 4, [""] * 4])
    import_batches([folder], db=db)
    assert files(db)["户籍人口.csv"]["read"] == 2


def test_xlsx_total_row_and_trailing_blank_rows_are_not_read(db, batches):
    folder = make_batch(batches, "b1")
    write_xlsx(folder / "户籍人口.xlsx", hukou_rows(3), total_row=True, trailing_blank_rows=4)
    import_batches([folder], db=db)
    f = files(db)["户籍人口.xlsx"]
    assert (f["read"], f["accepted"], f["problems"]) == (3, 3, 0)


# ---------------------------------------------------------------- headers and kinds


def test_header_synonyms_map_to_the_fields(db, batches):
    rows = [["公民身份号码", "人员姓名", "村居编码", "人口状态"], [ID1, "张1", COMMUNITY, "正常"]]
    import_one(db, batches, {"户籍人口.csv": rows})
    assert query(db, "SELECT id_number, name, address_code, status FROM src_hukou") == [
        {"id_number": ID1, "name": "张1", "address_code": COMMUNITY, "status": "正常"}
    ]


def test_headers_match_after_trimming_folding_and_removing_spaces(db, batches):
    rows = [[" 身份证 号码* ", "　姓名", "户籍地址编码\t"], [ID1, "张1", COMMUNITY]]
    import_one(db, batches, {"户籍人口.csv": rows})
    assert files(db)["户籍人口.csv"]["accepted"] == 1


def test_header_row_is_found_below_five_title_rows(db, batches):
    folder = make_batch(batches, "b1")
    titles = ["安宁市", "某某街道低保人员花名册", "", "填报单位：民政办", "单位：人"]
    write_xlsx(
        folder / "低保.xlsx",
        [["序号", "姓名", "身份证号码", "低保类别"], [1, "张1", ID1, "农村低保"]],
        title_rows=titles,
    )
    import_batches([folder], db=db)
    f = files(db)["低保.xlsx"]
    assert (f["header_row"], f["accepted"]) == (6, 1)
    assert query(db, "SELECT row_number, category FROM src_dibao") == [
        {"row_number": 7, "category": "农村低保"}
    ]


def test_csv_header_row_is_found_below_title_rows(db, batches):
    folder = make_batch(batches, "b1")
    write_csv(
        folder / "特困.csv",
        [["身份证号", "姓名"], [ID1, "张1"]],
        title_rows=["某某街道特困人员名单", "2025年6月"],
    )
    import_batches([folder], db=db)
    assert query(db, "SELECT row_number FROM src_tekun") == [{"row_number": 4}]


@pytest.mark.parametrize("fname", ["2025年6月_低保人员.csv", "Dibao_list.csv", "dibao.csv"])
def test_kind_is_found_from_the_chinese_or_english_name(db, batches, fname):
    import_one(db, batches, {fname: [["身份证号", "姓名"], [ID1, "张1"]]})
    assert files(db)[fname]["kind"] == "dibao"


@pytest.mark.parametrize(
    "headers, kind",
    [
        (["身份证号", "姓名", "户籍地址编码"], "hukou"),
        (["身份证号", "姓名", "居住地址编码"], "residence"),
        (["证件号码", "残疾等级", "残疾类别"], "disability"),
        (["纳税人识别号", "纳税人状态"], "taxpayer"),
        (["身份证号", "刑满日期"], "inmate"),
    ],
)
def test_kind_is_found_from_headers_when_the_name_says_nothing(db, batches, headers, kind):
    value = {
        "户籍地址编码": COMMUNITY,
        "居住地址编码": COMMUNITY,
        "残疾等级": "一级",
        "纳税人识别号": make_uscc(1),
        "纳税人状态": "正常",
        "刑满日期": "2026-01-01",
    }
    row = [value.get(h, ID1 if "号" in h else "x") for h in headers]
    import_one(db, batches, {"file01.csv": [headers, row]})
    f = files(db)["file01.csv"]
    assert (f["kind"], f["accepted"]) == (kind, 1)


def test_sheet_named_after_a_kind_is_read_instead_of_the_first(db, batches):
    folder = make_batch(batches, "b1")
    write_xlsx(
        folder / "data.xlsx",
        [["说明"], ["本表由街道报送"]],
        sheet_name="说明",
        extra_sheets={"特困": [["身份证号", "姓名"], [ID1, "张1"]]},
    )
    import_batches([folder], db=db)
    f = files(db)["data.xlsx"]
    assert (f["kind"], f["sheet"], f["accepted"]) == ("tekun", "特困", 1)


# ---------------------------------------------------------------- encodings and values


@pytest.mark.parametrize(
    "encoding, detected",
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030")],
)
def test_csv_encoding_is_detected(db, batches, encoding, detected):
    rows = hukou_rows(1)
    rows[1][1] = "欧阳鑫淼"
    import_one(db, batches, {"户籍人口.csv": rows}, encoding=encoding)
    assert files(db)["户籍人口.csv"]["encoding"] == detected
    assert query(db, "SELECT name FROM src_hukou") == [{"name": "欧阳鑫淼"}]


def test_gb18030_only_characters_are_read(db, batches):
    rows = hukou_rows(1)
    rows[1][1] = "王𪚥"  # outside GBK: needs GB18030's four-byte codes
    import_one(db, batches, {"户籍人口.csv": rows}, encoding="gb18030")
    assert query(db, "SELECT name FROM src_hukou") == [{"name": "王𪚥"}]


def test_fifteen_digit_id_is_stored_as_eighteen_digits(db, batches):
    old = "530181800101003"
    rows = [["身份证号", "姓名", "户籍地址编码"], [old, "张1", COMMUNITY]]
    import_one(db, batches, {"户籍人口.csv": rows})
    stored = query(db, "SELECT id_number FROM src_hukou")[0]["id_number"]
    assert stored == "53018119800101003" + stored[17] and len(stored) == 18
    assert stored == make_id(1)


def test_full_width_digits_and_spaces_are_folded(db, batches):
    wide = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    rows = [
        ["身份证号", "姓名", "户籍地址编码"],
        ["\u3000" + ID1.translate(wide) + " ", "\t张1\u3000", COMMUNITY.translate(wide)],
    ]
    import_one(db, batches, {"户籍人口.csv": rows})
    assert query(db, "SELECT id_number, name, address_code FROM src_hukou") == [
        {"id_number": ID1, "name": "张1", "address_code": COMMUNITY}
    ]


def test_lower_case_x_in_an_id_is_stored_upper_case(db, batches):
    x_id = next(make_id(i) for i in range(1, 200) if make_id(i).endswith("X"))
    rows = [["身份证号", "姓名"], [x_id.lower(), "张"]]
    import_one(db, batches, {"特困.csv": rows})
    assert query(db, "SELECT id_number FROM src_tekun") == [{"id_number": x_id}]


def test_xlsx_date_cells_and_number_cells_are_read(db, batches):
    folder = make_batch(batches, "b1")
    write_xlsx(
        folder / "转移就业.xlsx",
        [
            ["身份证号", "务工开始时间", "月收入"],
            [ID1, 45292, 5200.5],
            [ID2, "2024/1/1", "6,000元"],
        ],
    )
    import_batches([folder], db=db)
    assert query(
        db, "SELECT employment_start, monthly_income FROM src_migrant_worker ORDER BY row_number"
    ) == [
        {"employment_start": dt.date(2024, 1, 1), "monthly_income": 5200.5},
        {"employment_start": dt.date(2024, 1, 1), "monthly_income": 6000.0},
    ]


def test_xlsx_date_formatted_cells_are_read_as_dates(db, batches):
    import xlsxwriter

    folder = make_batch(batches, "b1")
    book = xlsxwriter.Workbook(str(folder / "入户调查.xlsx"))
    ws = book.add_worksheet()
    fmt = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    ws.write_row(0, 0, ["身份证号", "走访日期", "调查结果"])
    ws.write_row(1, 0, [ID1])
    ws.write_datetime(1, 1, dt.datetime(2025, 5, 12, 14, 30), fmt)
    ws.write_string(1, 2, "考虑中")
    book.close()
    import_batches([folder], db=db)
    assert issues(db) == []
    assert query(db, "SELECT survey_date FROM src_survey") == [
        {"survey_date": dt.date(2025, 5, 12)}
    ]


# ---------------------------------------------------------------- batches and dates


def _tables_without_import_seq(db: Path, dump) -> dict:
    d = dump(db, skip_columns=("import_seq", "imported_at"))
    d.pop("import_batches")  # the log of imports grows by design
    d.pop("import_files_replaced")  # so does the accounting of replaced files
    return d


def test_reimporting_the_same_batch_leaves_the_tables_identical(db, batches, dump):
    rows = hukou_rows(3)
    rows.append(["bad", "x", COMMUNITY, "男"])
    folder = make_batch(
        batches,
        "2025-06-30",
        {"户籍人口.csv": rows, "低保.csv": [["身份证号", "姓名"], [ID1, "别名"]]},
    )
    (folder / "boundaries.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"code": REGION + "001", "name": "某某街道"},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [[102.4, 24.9], [102.5, 24.9], [102.5, 25.0], [102.4, 24.9]]
                            ],
                        },
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    import_batches([folder], db=db)
    before = _tables_without_import_seq(db, dump)
    import_batches([folder], db=db)
    assert _tables_without_import_seq(db, dump) == before
    assert before["boundaries"] and before["problems"] and before["src_hukou"]


def test_later_batch_for_the_same_date_replaces_only_the_kinds_it_carries(db, batches):
    make_batch(
        batches,
        "first",
        {
            "户籍人口.csv": hukou_rows(2),
            "低保.csv": [["身份证号", "姓名"], [ID1, "张1"], ["bad", "x"]],
        },
    )
    make_batch(batches, "second", {"低保.csv": [["身份证号", "姓名"], [ID2, "张2"]]})
    import_batches([batches / "first"], db=db)
    import_batches([batches / "second"], db=db)
    assert query(db, "SELECT id_number, batch FROM src_dibao") == [
        {"id_number": ID2, "batch": "second"}
    ]
    assert {r["batch"] for r in query(db, "SELECT batch FROM src_hukou")} == {"first"}
    assert issues(db) == []  # the first batch's dibao problem went with its rows
    assert {(r["source_file"], r["batch"]) for r in query(db, "SELECT * FROM import_files")} == {
        ("户籍人口.csv", "first"),
        ("低保.csv", "second"),
    }


def test_batches_for_different_dates_build_history(db, batches):
    q1 = make_batch(
        batches, "q1", {"低保.csv": [["身份证号", "姓名"], [ID1, "张1"]]}, as_of="2025-03-31"
    )
    q2 = make_batch(batches, "q2", {"低保.csv": [["身份证号", "姓名"], [ID2, "张2"]]})
    import_batches([q1, q2], db=db)
    assert query(db, "SELECT as_of, id_number FROM src_dibao ORDER BY as_of") == [
        {"as_of": dt.date(2025, 3, 31), "id_number": ID1},
        {"as_of": dt.date(2025, 6, 30), "id_number": ID2},
    ]


@pytest.mark.parametrize(
    "folder_name, as_of",
    [
        ("2025-06-30", dt.date(2025, 6, 30)),
        ("20250630", dt.date(2025, 6, 30)),
        ("2025Q2", dt.date(2025, 6, 30)),
        ("2024Q4", dt.date(2024, 12, 31)),
        ("2025Q1", dt.date(2025, 3, 31)),
        ("安宁市_2025Q3", dt.date(2025, 9, 30)),
    ],
)
def test_as_of_comes_from_the_folder_name_without_a_manifest_date(db, batches, folder_name, as_of):
    folder = make_batch(batches, folder_name, {"户籍人口.csv": hukou_rows(1)}, as_of=None)
    (result,) = import_batches([folder], db=db)
    assert result.as_of == as_of
    assert query(db, "SELECT DISTINCT as_of FROM src_hukou") == [{"as_of": as_of}]


def test_folder_name_date_works_with_no_manifest_at_all(db, batches):
    folder = make_batch(
        batches, "20250630", {"户籍人口.csv": hukou_rows(2)}, as_of=None, region=None
    )
    (result,) = import_batches([folder], db=db)
    assert (result.as_of, result.region_code) == (dt.date(2025, 6, 30), REGION)


def test_manifest_date_wins_over_the_folder_name(db, batches):
    folder = make_batch(batches, "2025Q1", {"户籍人口.csv": hukou_rows(1)}, as_of="2025-06-30")
    (result,) = import_batches([folder], db=db)
    assert result.as_of == dt.date(2025, 6, 30)


def test_manifest_region_decides_what_is_out_of_region(db, batches):
    rows = hukou_rows(1)
    rows.append([ID2, "张2", OTHER_COUNTY, "男"])
    import_one(db, batches, {"户籍人口.csv": rows}, region="110105")
    p = only_issue(db)
    assert (p["reason"], p["row_number"]) == ("out_of_region", 2)


def test_a_replaced_file_stays_in_the_imports_export_not_in_use(db, batches, tmp_path):
    make_batch(
        batches,
        "first",
        {"户籍人口.csv": hukou_rows(2), "低保.csv": [["身份证号", "姓名"], [ID1, "张1"]]},
    )
    make_batch(batches, "second", {"低保.csv": [["身份证号", "姓名"], [ID2, "张2"], [ID1, "张1"]]})
    import_batches([batches / "first"], db=db)
    import_batches([batches / "second"], db=db)
    out = tmp_path / "imports.csv"
    export("imports", db, out)
    with out.open(encoding="utf-8") as f:
        rows = [(r["batch"], r["source_file"], r["read"], r["in_use"]) for r in csv.DictReader(f)]
    assert rows == [
        ("first", "低保.csv", "1", "false"),
        ("first", "户籍人口.csv", "2", "true"),
        ("second", "低保.csv", "2", "true"),
    ]
    with out.open(encoding="utf-8") as f:
        assert next(csv.reader(f))[:10] == [
            "batch",
            "as_of",
            "source_file",
            "kind",
            "read",
            "accepted",
            "duplicates",
            "problems",
            "warnings",
            "in_use",
        ]
