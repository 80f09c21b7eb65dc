"""The person-level lists of the quarter (analytics/quarter/lists.py): the
duplicate-enrollment CSV (重复参保) and the printable rosters — the collection
roster (征收清册) and the subsidised list (代缴名单) — on a small region built
here, whose people are each one case written out by hand below, so the right
rows are known by construction (shared/data-contract.md, "Quarter and year").

The region (530181): street 001 with 东风社区 (001001) and 西山社区 (001002);
street 002 with a community whose name Excel cannot take as a sheet name
(002001) and a second, empty 东风社区 (002002). Two batches: 2025-03-31 with
everything, 2025-06-30 with a new 低保 list only (so the enrollments in force on
the second date are the first date's).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from batchgen import REGION, make_batch, make_id

from analytics.access import ROLES, AccessDenied, Scope
from analytics.quarter.lists import DUPLICATE_COLUMNS, export_duplicates, export_roster

Q1, Q2 = dt.date(2025, 3, 31), dt.date(2025, 6, 30)
S1, S2 = REGION + "001", REGION + "002"
DONGFENG, XISHAN, LONG, EMPTY = S1 + "001", S1 + "002", S2 + "001", S2 + "002"
LONG_NAME = "新[民]村:一组/二组*测试?超长名称社区居民委员会第一网格试点片区"
# By Excel's rules, by hand: []:*?/ become _, then the first 31 characters.
LONG_SHEET = "新_民_村_一组_二组_测试_超长名称社区居民委员会第一网格试"
ELSEWHERE = "530102"

RES, ENT, PUB = "城乡居民", "企业职工", "机关事业单位"
RES_FULL, ENT_FULL, PUB_FULL = (s + "基本养老保险" for s in (RES, ENT, PUB))


def pid(n: int) -> str:
    return make_id(n)  # born 1980-01-01, IDs ascending with n


def name(n: int) -> str:
    return {6: "=1+2", 7: "@人员7"}.get(n, f"人员{n}")


# Person n: where they live and their enrollments (scheme, status, region, grade).
PEOPLE: dict[int, tuple[str, list[tuple[str, str, str, int | None]]]] = {
    1: (DONGFENG, [(RES, "参保缴费", REGION, 300)]),
    2: (DONGFENG, [(RES, "暂停缴费", REGION, 200)]),
    3: (
        DONGFENG,
        [
            (ENT, "参保缴费", REGION, None),
            (RES, "参保缴费", REGION, 200),
            (PUB, "待遇领取", ELSEWHERE, None),
        ],
    ),
    4: (
        XISHAN,
        [
            (ENT, "待遇领取", REGION, None),
            (ENT, "参保缴费", ELSEWHERE, None),
            (RES, "终止参保", REGION, 100),
        ],
    ),
    5: (XISHAN, [(RES, "参保缴费", REGION, 100), (PUB, "参保缴费", REGION, None)]),  # dead
    6: (LONG, [(RES, "参保缴费", ELSEWHERE, 100), (RES, "参保缴费", REGION, 500)]),
    7: (LONG, []),  # 低保, not insured
    8: (LONG, [(RES, "参保缴费", REGION, 100)]),  # 特困
    9: (DONGFENG, [(ENT, "参保缴费", REGION, None)]),  # 残疾 一级, employee scheme only
    10: (XISHAN, []),  # 残疾 三级: not group 7
    11: (XISHAN, [(RES, "暂停缴费", REGION, 100)]),  # 防返贫监测
    12: (DONGFENG, []),  # 低保, but a student
    13: (XISHAN, [(RES, "待遇领取", REGION, None)]),  # 低保 and 残疾 二级
    14: (LONG, [(ENT, "参保缴费", REGION, None), (RES, "暂停缴费", REGION, None)]),  # 低保
    15: (DONGFENG, []),  # nothing in Q1; 低保 from Q2
}
RESIDENCE_ONLY = 16  # in 居住证 only, at LONG, residents' scheme 参保缴费 grade 300
OUTSIDER = make_id(17, area=ELSEWHERE)  # not of the region: two active enrollments


def _batches(root: Path) -> list[Path]:
    hukou = [["身份证号", "姓名", "户籍地址编码", "人口状态"]]
    pension = [["身份证号", "险种", "参保状态", "参保地", "缴费档次"]]
    for n, (community, enrollments) in PEOPLE.items():
        hukou.append([pid(n), name(n), community, "死亡" if n == 5 else "正常"])
        for scheme, status, region, grade in enrollments:
            pension.append([pid(n), scheme, status, region, grade])
    pension.append([pid(RESIDENCE_ONLY), RES, "参保缴费", REGION, 300])
    pension.append([OUTSIDER, RES, "参保缴费", REGION, 100])
    pension.append([OUTSIDER, ENT, "参保缴费", REGION, None])
    division = [["区划代码", "区划名称"], [REGION, "示例市"], [S1, "甲街道"], [S2, "乙镇"]]
    division += [[DONGFENG, "东风社区"], [XISHAN, "西山社区"], [LONG, LONG_NAME]]
    division += [[EMPTY, "东风社区"]]
    q1 = make_batch(
        root,
        "2025-03-31",
        {
            "户籍人口.csv": hukou,
            "居住证.csv": [
                ["身份证号", "姓名", "居住地址编码"],
                [pid(RESIDENCE_ONLY), name(RESIDENCE_ONLY), LONG],
            ],
            "养老保险参保.csv": pension,
            "行政区划.csv": division,
            "低保.csv": [["身份证号", "姓名"]] + [[pid(n), name(n)] for n in (7, 12, 13, 14)],
            "特困.csv": [["身份证号", "姓名"], [pid(8), name(8)]],
            "防返贫监测.csv": [["身份证号", "姓名"], [pid(11), name(11)]],
            "残疾人.csv": [
                ["身份证号", "残疾等级"],
                [pid(9), "一级"],
                [pid(10), "三级"],
                [pid(13), "二级"],
            ],
            "在校生.csv": [["身份证号", "学校"], [pid(12), "某大学"]],
        },
        as_of=Q1.isoformat(),
    )
    q2 = make_batch(
        root,
        "2025-06-30",
        {"低保.csv": [["身份证号", "姓名"]] + [[pid(n), name(n)] for n in (7, 12, 13, 14, 15)]},
        as_of=Q2.isoformat(),
    )
    return [q1, q2]


@pytest.fixture(scope="module")
def region_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from analytics.ingest import import_batches
    from analytics.registry.build import build_registry

    root = tmp_path_factory.mktemp("rosters")
    db = root / "k.duckdb"
    import_batches(_batches(root / "batches"), db=db)
    build_registry(db)
    return db


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _sheets(path: Path) -> dict[str, list[tuple]]:
    """Each sheet's data rows (below title, subtitle and header)."""
    book = openpyxl.load_workbook(path)
    return {ws.title: list(ws.iter_rows(min_row=4, values_only=True)) for ws in book.worksheets}


def _ids(path: Path) -> dict[str, list[str]]:
    return {sheet: [r[2] for r in rows] for sheet, rows in _sheets(path).items()}


# ---------------------------------------------------------------- duplicates

DUPLICATES = [
    {
        "id_number": pid(3),
        "name": "人员3",
        "street_code": S1,
        "community_code": DONGFENG,
        "enrollments": "3",
        "detail": f"{ENT_FULL}|{REGION}|参保缴费;{RES_FULL}|{REGION}|参保缴费;"
        f"{PUB_FULL}|{ELSEWHERE}|待遇领取",
    },
    {
        "id_number": pid(4),
        "name": "人员4",
        "street_code": S1,
        "community_code": XISHAN,
        "enrollments": "2",
        "detail": f"{ENT_FULL}|{ELSEWHERE}|参保缴费;{ENT_FULL}|{REGION}|待遇领取",
    },
    {
        "id_number": pid(5),
        "name": "人员5",
        "street_code": S1,
        "community_code": XISHAN,
        "enrollments": "2",
        "detail": f"{RES_FULL}|{REGION}|参保缴费;{PUB_FULL}|{REGION}|参保缴费",
    },
    {
        "id_number": pid(6),
        "name": "'=1+2",  # the export's safe-text rule
        "street_code": S2,
        "community_code": LONG,
        "enrollments": "2",
        "detail": f"{RES_FULL}|{ELSEWHERE}|参保缴费;{RES_FULL}|{REGION}|参保缴费",
    },
]


def test_duplicates_lists_each_person_of_the_region_with_their_active_enrollments(
    region_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dup.csv"
    assert export_duplicates(region_db, out) == 4
    rows = _csv(out)
    assert list(rows[0]) == DUPLICATE_COLUMNS
    assert rows == DUPLICATES


def test_duplicate_detail_is_sorted_by_code_point() -> None:
    for row in DUPLICATES:
        parts = row["detail"].split(";")
        assert parts == sorted(parts)


def test_duplicates_for_a_cadre_hold_the_grid_only(region_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "dup.csv"
    assert export_duplicates(region_db, out, Scope.cadre([XISHAN])) == 2
    assert [r["id_number"] for r in _csv(out)] == [pid(4), pid(5)]
    assert export_duplicates(region_db, out, Scope.cadre([S2])) == 1
    assert [r["id_number"] for r in _csv(out)] == [pid(6)]
    assert export_duplicates(region_db, out, Scope.bureau()) == 4


def test_duplicates_of_an_earlier_date(region_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "dup.csv"
    assert export_duplicates(region_db, out, as_of=Q1) == 4
    assert _csv(out) == DUPLICATES


# ---------------------------------------------------------------- rosters

COLLECTION = {
    "东风社区": [
        (1, "人员1", pid(1), "男", "东风社区", 300, "参保缴费", REGION),
        (2, "人员2", pid(2), "男", "东风社区", 200, "暂停缴费", REGION),
        (3, "人员3", pid(3), "男", "东风社区", 200, "参保缴费", REGION),
    ],
    "西山社区": [(1, "人员11", pid(11), "男", "西山社区", 100, "暂停缴费", REGION)],
    LONG_SHEET: [
        # Two residents'-scheme enrollments: the region's own is shown.
        (1, "=1+2", pid(6), "男", LONG_NAME, 500, "参保缴费", REGION),
        (2, "人员8", pid(8), "男", LONG_NAME, 100, "参保缴费", REGION),
        (3, "人员14", pid(14), "男", LONG_NAME, None, "暂停缴费", REGION),
        (4, "人员16", pid(16), "男", LONG_NAME, 300, "参保缴费", REGION),
    ],
    f"东风社区({EMPTY})": [],
}


def test_collection_roster_has_a_sheet_per_community_with_its_members(
    region_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "collection.xlsx"
    assert export_roster(region_db, out, "collection") == 8
    got = {s: [r[:8] for r in rows] for s, rows in _sheets(out).items()}
    assert list(got) == list(COLLECTION)
    assert got == COLLECTION


def test_collection_roster_headers_title_and_date(region_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "collection.xlsx"
    export_roster(region_db, out, "collection")
    ws = openpyxl.load_workbook(out)["东风社区"]
    assert ws["A1"].value == "东风社区 2026年度城乡居民基本养老保险征收清册"
    assert "数据日期：2025年06月30日" in ws["A2"].value and "共 3 人" in ws["A2"].value
    headers = [c.value for c in ws[3]]
    assert headers[:8] == [
        "序号",
        "姓名",
        "身份证号",
        "性别",
        "社区/村",
        "缴费档次",
        "参保状态",
        "参保地",
    ]


def test_subsidised_list_is_group_7_insured_in_residents_scheme_or_not_at_all(
    region_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "subsidised.xlsx"
    assert export_roster(region_db, out, "subsidised") == 6
    got = {s: [(r[2], r[6], r[7], r[8]) for r in rows] for s, rows in _sheets(out).items()}
    assert got == {
        "东风社区": [(pid(15), "未参保", None, "低保")],
        "西山社区": [
            (pid(11), "暂停缴费", 100, "防返贫监测"),
            (pid(13), "待遇领取", None, "低保；残疾 二级"),
        ],
        LONG_SHEET: [
            (pid(7), "未参保", None, "低保"),
            (pid(8), "参保缴费", 100, "特困人员"),
            (pid(14), "暂停缴费", None, "低保"),
        ],
        f"东风社区({EMPTY})": [],
    }


def test_subsidised_list_names_the_evidence_rows(region_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "subsidised.xlsx"
    export_roster(region_db, out, "subsidised")
    sources = {r[2]: r[9] for rows in _sheets(out).values() for r in rows}
    # 低保.csv of the second batch: header, then 7, 12, 13, 14, 15 (row 6 is 15).
    assert sources[pid(15)] == "低保.csv 第6行"
    assert sources[pid(8)] == "特困.csv 第2行"


def test_rosters_of_an_earlier_date(region_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "subsidised.xlsx"
    assert export_roster(region_db, out, "subsidised", as_of=Q1) == 5
    assert _ids(out)["东风社区"] == []  # 15 was not yet on the 低保 list
    ws = openpyxl.load_workbook(out)["东风社区"]
    assert "数据日期：2025年03月31日" in ws["A2"].value
    out = tmp_path / "collection.xlsx"
    assert export_roster(region_db, out, "collection", as_of=Q1) == 8


def test_roster_of_a_street_holds_its_communities(region_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "street.xlsx"
    assert export_roster(region_db, out, "collection", community=S1) == 4
    assert _ids(out) == {
        "东风社区": [pid(1), pid(2), pid(3)],
        "西山社区": [pid(11)],
    }


def test_roster_of_a_community_holds_that_community(region_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "one.xlsx"
    assert export_roster(region_db, out, "subsidised", community=LONG) == 3
    assert _ids(out) == {LONG_SHEET: [pid(7), pid(8), pid(14)]}


@pytest.mark.parametrize("code", ["5301810", "53018100100", "530181001001x", "530199001"])
def test_roster_refuses_a_code_that_is_not_a_street_or_community_of_the_region(
    region_db: Path, tmp_path: Path, code: str
) -> None:
    out = tmp_path / "bad.xlsx"
    with pytest.raises(ValueError):
        export_roster(region_db, out, "collection", community=code)
    assert not out.exists()


def test_roster_type_must_be_known(region_db: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        export_roster(region_db, tmp_path / "x.xlsx", "everyone")


def test_roster_for_a_cadre_holds_the_grid_only(region_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "cadre.xlsx"
    assert export_roster(region_db, out, "subsidised", scope=Scope.cadre([S1])) == 3
    assert _ids(out) == {"东风社区": [pid(15)], "西山社区": [pid(11), pid(13)]}
    # A community of the grid's street but asked by a cadre of one community.
    assert export_roster(region_db, out, "collection", S1, Scope.cadre([XISHAN])) == 1
    assert _ids(out) == {"西山社区": [pid(11)]}


def test_roster_outside_a_cadres_grid_is_empty(region_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "cadre.xlsx"
    assert export_roster(region_db, out, "collection", LONG, Scope.cadre([S1])) == 0
    assert all(ids == [] for ids in _ids(out).values())


def test_leader_is_refused_person_level_exports(region_db: Path, tmp_path: Path) -> None:
    leader = Scope.leader("张局")
    with pytest.raises(AccessDenied):
        export_duplicates(region_db, tmp_path / "d.csv", leader)
    with pytest.raises(AccessDenied):
        export_roster(region_db, tmp_path / "r.xlsx", "collection", scope=leader)
    assert list(tmp_path.iterdir()) == []


def test_admin_is_refused_person_level_exports(
    region_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The admin role is being added elsewhere; stand it in here.
    monkeypatch.setitem(ROLES, "admin", "管理员")
    admin = Scope("admin")
    with pytest.raises(AccessDenied):
        export_duplicates(region_db, tmp_path / "d.csv", admin)
    with pytest.raises(AccessDenied):
        export_roster(region_db, tmp_path / "r.xlsx", "subsidised", scope=admin)
    assert list(tmp_path.iterdir()) == []


def test_formula_like_names_stay_text_and_numbers_stay_numbers(
    region_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "collection.xlsx"
    export_roster(region_db, out, "collection")
    ws = openpyxl.load_workbook(out)[LONG_SHEET]
    name, id_cell, grade, seq = ws["B4"], ws["C4"], ws["F4"], ws["A4"]
    assert (name.value, name.data_type) == ("=1+2", "s")
    assert (id_cell.value, id_cell.data_type) == (pid(6), "s")
    assert grade.data_type == "n" and grade.value == 500
    assert seq.data_type == "n" and seq.value == 1
    assert ws["E4"].data_type == "s"
    texts = [
        c
        for ws in openpyxl.load_workbook(out).worksheets
        for row in ws.iter_rows()
        for c in row
        if c.value is not None
    ]
    assert all(c.data_type in ("s", "n") for c in texts)  # no formula anywhere
    out = tmp_path / "subsidised.xlsx"
    export_roster(region_db, out, "subsidised")
    ws = openpyxl.load_workbook(out)[LONG_SHEET]
    assert (ws["B4"].value, ws["B4"].data_type) == ("@人员7", "s")
    assert ws["E4"].data_type == "n" and ws["E4"].value == 45  # age on 2025-06-30


def test_roster_sheets_are_laid_out_for_printing(region_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "subsidised.xlsx"
    export_roster(region_db, out, "subsidised")
    for ws in openpyxl.load_workbook(out).worksheets:
        assert ws.page_setup.orientation == "landscape"
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        # One page wide (1 is the file format's default, left out), pages down as needed.
        assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0
        assert ws.print_title_rows.replace("$", "") == "1:3"
        assert ws.print_options.gridLines


def test_sheet_names_are_valid_for_excel(region_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "collection.xlsx"
    export_roster(region_db, out, "collection")
    names = openpyxl.load_workbook(out).sheetnames
    assert len({n.lower() for n in names}) == len(names)
    for n in names:
        assert 0 < len(n) <= 31 and not set(n) & set("[]:*?/\\")
        assert not n.startswith("'") and not n.endswith("'")


def test_the_same_registry_gives_the_same_workbook(region_db: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    export_roster(region_db, a, "collection")
    export_roster(region_db, b, "collection")
    assert a.read_bytes() == b.read_bytes()  # dated by the registry, not the clock
