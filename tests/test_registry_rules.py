"""Acceptance: a tiny hand-built region (530199, a few dozen people) that
exercises every rule of shared/domain.md and the data contract's settled
readings, driven through the real command line (import -> build -> export)
and checked on the exported CSVs.

Every expected value below is written by hand from the rules (the working is
in the comments); nothing here re-implements the registry's logic.

Two batches:
  A  as of 2025-02-28  hukou, residence, pension, division, death, survey,
                       migrant_worker, dibao, income_assets
  B  as of 2025-06-30  hukou, residence, pension, death, survey, student, inmate,
                       market_entity, taxpayer, dibao, tekun, fanpin, disability,
                       landless, migrant_worker, platform_worker,
                       licensed_professional, other_eligible
so at D = 2025-06-30 division and income_assets come from A (newest batch that
carries the kind), dibao and migrant_worker from B (B replaces A's list), and
death and survey accumulate over A and B.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import filecmp
import io
import itertools
from pathlib import Path

import pytest
from region_builder import (
    CONTRIBUTING,
    DRAWING,
    EMPLOYEE,
    REGION,
    RESIDENTS,
    SUSPENDED,
    TERMINATED,
    make_id,
    make_uscc,
    read_csv,
    write_batch,
)
from tinyregion import copy_database

from analytics import published
from analytics.cli import main as kuomian

A = dt.date(2025, 2, 28)
D = dt.date(2025, 6, 30)
ELSEWHERE_REGION = "530102"  # another county: 异地参保

S1, S2, S3 = "530199001", "530199002", "530199003"
C11, C12 = S1 + "001", S1 + "002"
C21, C22, C23 = S2 + "001", S2 + "002", S2 + "003"
C31, C32 = S3 + "001", S3 + "002"  # neither street nor communities in the division data

# ------------------------------------------------------------------ the people
# key -> (birth date, female). IDs get distinct sequence numbers.
ADULT = "1985-05-05"
BIRTHS: dict[str, tuple[str, bool]] = {
    # C11
    "A16": ("2009-06-30", False),  # 16 exactly on D
    "A15": ("2009-07-01", True),  # one day short of 16 on D
    "STU": ("2005-03-03", False),  # full-time student (student kind in B)
    "INM_REL": (ADULT, False),  # released 2025-06-29, before D: not serving
    "INM_ON_D": (ADULT, False),  # release 2025-06-30 = D: not *before* D, still serving
    "INM_LATER": (ADULT, False),  # release 2026-01-01: serving
    "INM_NODATE": (ADULT, False),  # no release date: serving
    "DEAD_A": (ADULT, True),  # in death of batch A, death_date 2026-01-01 (!)
    "DEAD_B": (ADULT, False),  # in death of batch B, no death_date
    "DEAD_HK": (ADULT, False),  # 户籍 status 死亡
    "MOVED": (ADULT, True),  # 户籍 status 迁出 in B (正常 in A)
    "BOTH": (ADULT, False),  # 户籍 C11 and 居住证 C21: 户籍 wins
    "ELSEWHERE": (ADULT, True),  # only enrollment is in another county
    "SUSP": (ADULT, False),  # residents' scheme suspended only -> resume
    "SUSP_ELSE": (ADULT, True),  # suspended here, contributing elsewhere
    "DRAW": ("1955-03-01", False),  # drawing a pension, income 80000
    "DRAW2": ("1960-01-15", True),  # drawing (employee) + contributing (residents)
    "DUP": (ADULT, False),  # contributing in two schemes (duplicate)
    "DUP_REG": (ADULT, True),  # residents' scheme contributing in two regions
    # C12
    "G1_OK": (ADULT, False),  # operator, entity 存续 + tax 正常
    "G1_CANCEL": (ADULT, True),  # operator of 注销 and 吊销 entities (tax 正常)
    "G1_TAXBAD": (ADULT, False),  # operator: tax 非正常; another with no tax record
    "G3_OK": (ADULT, False),  # employment_start 2024-12-31 (+6 months = 2025-06-30)
    "G3_SHORT": (ADULT, True),  # employment_start 2025-01-01 (+6 months = 2025-07-01)
    "G3_MEND": (ADULT, False),  # in A only: 2024-08-31 (+6 months = 2025-02-28)
    "G3_LATE_A": (ADULT, True),  # in A only: 2024-09-01 (+6 months = 2025-03-01)
    "G4_OK": (ADULT, False),  # 外卖骑手
    "G4_OTHER": (ADULT, True),  # 主播: not one of the four occupations
    "G5_FREE": (ADULT, False),  # 律师 自由职业
    "G5_FULL": (ADULT, True),  # 律师 专职: not a freelancer
    "G6_AT": (ADULT, False),  # annual income 60000 (in A only)
    "G6_BELOW": (ADULT, True),  # annual income 59999.99 (in A only)
    "RES_PLAIN1": (ADULT, False),  # residents' contributor, no group
    "RES_PLAIN2": (ADULT, True),  # residents' contributor, no group
    # C21
    "G7_DIS1": (ADULT, False),  # disability 一级 + income 80000 (group 6)
    "G7_DIS2": (ADULT, True),  # disability 二级 + 网约车司机 (group 4)
    "G7_DIS3": (ADULT, False),  # disability 三级: not group 7
    "G7_DIBAO": (ADULT, True),  # dibao in B
    "G7_TEKUN": (ADULT, False),  # tekun
    "G7_FANPIN": (ADULT, True),  # fanpin + 民办学校教职工 (group 8)
    "G7_DIBAO_A": (ADULT, False),  # dibao in A only (B's dibao replaces A's)
    "G2_LANDLESS": (ADULT, True),  # landless
    "G2_CADRE": (ADULT, False),  # 村社区干部, residents' contributor
    "G2_DOCTOR": (ADULT, True),  # 乡村医生
    "G8_GRAD": (ADULT, False),  # 基层服务项目高校毕业生, residents' contributor
    "G8_STAFF": (ADULT, True),  # 机关事业单位编外人员
    "ENROLL_MULTI": (ADULT, False),  # 快递员 + landless
    "RES_ONLY": (ADULT, True),  # 居住证 only, C21
    "TERM": (ADULT, False),  # 终止参保 only: not insured
    "G5_PART": (ADULT, True),  # 律师 专职 and 导游 兼职
    "G5_INDIV": (ADULT, False),  # 导游 个体
    # C22: children only
    "KID1": ("2015-01-01", False),
    "KID2": ("2012-05-05", True),
    # C31 (unnamed street and community)
    "OUT3": (ADULT, False),  # 机关事业单位 contributor
    "SENIOR": ("1955-08-08", True),  # 69, not insured, 居住证 only
    # C32 (not in the division data either): a child only
    "KID3": ("2020-02-02", False),
    # not in the population: enrollment only
    "NONPOP": (ADULT, False),  # employee-scheme contributor elsewhere for ENT_NONPOP_EMP
    "NONPOP2": (ADULT, True),  # employee scheme *suspended* for ENT_SUSP_EMP
}
P: dict[str, str] = {k: make_id(b, seq, female=f) for seq, (k, (b, f)) in enumerate(BIRTHS.items())}
assert len(set(P.values())) == len(P)

HUKOU_C = {  # 户籍 address (community code) of each key with a 户籍 row
    **{
        k: C11
        for k in [
            "A16",
            "A15",
            "STU",
            "INM_REL",
            "INM_ON_D",
            "INM_LATER",
            "INM_NODATE",
            "DEAD_A",
            "DEAD_B",
            "DEAD_HK",
            "MOVED",
            "BOTH",
            "ELSEWHERE",
            "SUSP",
            "SUSP_ELSE",
            "DRAW",
            "DRAW2",
            "DUP",
            "DUP_REG",
        ]
    },
    **{
        k: C12
        for k in [
            "G1_OK",
            "G1_CANCEL",
            "G1_TAXBAD",
            "G3_OK",
            "G3_SHORT",
            "G3_MEND",
            "G3_LATE_A",
            "G4_OK",
            "G4_OTHER",
            "G5_FREE",
            "G5_FULL",
            "G6_AT",
            "G6_BELOW",
            "RES_PLAIN1",
            "RES_PLAIN2",
        ]
    },
    **{
        k: C21
        for k in [
            "G7_DIS1",
            "G7_DIS2",
            "G7_DIS3",
            "G7_DIBAO",
            "G7_TEKUN",
            "G7_FANPIN",
            "G7_DIBAO_A",
            "G2_LANDLESS",
            "G2_CADRE",
            "G2_DOCTOR",
            "G8_GRAD",
            "G8_STAFF",
            "ENROLL_MULTI",
            "TERM",
            "G5_PART",
            "G5_INDIV",
        ]
    },
    "KID1": C22,
    "KID2": C22,
    "OUT3": C31,
    "KID3": C32,
}
RESIDENCE_C = {"BOTH": C21, "RES_ONLY": C21, "SENIOR": C31}

ENT = {
    k: make_uscc(n)
    for n, k in enumerate(
        [
            "ENT_G1",
            "ENT_CANCEL",
            "ENT_REVOKED",
            "ENT_TAXBAD",
            "ENT_NOTAX",
            "ENT_WITH_EMP",
            "ENT_NONPOP_EMP",
            "ENT_SUSP_EMP",
            "ENT_MOVEDOUT",
        ],
        start=1,
    )
}


def _name(key: str) -> str:
    return f"测试{list(P).index(key):02d}"


def hukou_rows(moved_status: str) -> list[dict]:
    status = {"DEAD_HK": "死亡", "MOVED": moved_status}
    return [
        {"id_number": P[k], "name": _name(k), "address_code": c, "status": status.get(k, "正常")}
        for k, c in HUKOU_C.items()
    ]


def residence_rows() -> list[dict]:
    return [
        {"id_number": P[k], "name": _name(k), "address_code": c} for k, c in RESIDENCE_C.items()
    ]


def enr(
    key: str, scheme: str, status: str, region: str = REGION, employer: str | None = None
) -> dict:
    row = {
        "id_number": P[key],
        "scheme": scheme,
        "status": status,
        "region_code": region,
        "start_date": "2020-01-01",
    }
    if employer:
        row["employer_uscc"] = ENT[employer]
    return row


PENSION = [
    enr("DEAD_A", RESIDENTS, CONTRIBUTING),
    enr("BOTH", EMPLOYEE, CONTRIBUTING, employer="ENT_WITH_EMP"),
    enr("ELSEWHERE", EMPLOYEE, CONTRIBUTING, region=ELSEWHERE_REGION),
    enr("SUSP", RESIDENTS, SUSPENDED),
    enr("SUSP_ELSE", RESIDENTS, SUSPENDED),
    enr("SUSP_ELSE", EMPLOYEE, CONTRIBUTING, region=ELSEWHERE_REGION),
    enr("DRAW", RESIDENTS, DRAWING),
    enr("DRAW2", EMPLOYEE, DRAWING),
    enr("DRAW2", RESIDENTS, CONTRIBUTING),
    enr("DUP", "企业职工", CONTRIBUTING),  # schemes may be written without 基本养老保险
    enr("DUP", RESIDENTS, CONTRIBUTING),
    enr("DUP_REG", RESIDENTS, CONTRIBUTING),
    enr("DUP_REG", RESIDENTS, CONTRIBUTING, region=ELSEWHERE_REGION),
    *[
        enr(k, RESIDENTS, CONTRIBUTING)
        for k in [
            "G1_OK",
            "G1_CANCEL",
            "G1_TAXBAD",
            "G4_OK",
            "G4_OTHER",
            "G5_FULL",
            "G6_AT",
            "G6_BELOW",
            "RES_PLAIN1",
            "G7_DIS1",
            "G7_DIS2",
            "G7_FANPIN",
            "G2_CADRE",
            "G8_GRAD",
        ]
    ],
    enr("RES_PLAIN2", "城乡居民", CONTRIBUTING),
    enr("TERM", RESIDENTS, TERMINATED),
    enr("OUT3", "机关事业单位", CONTRIBUTING),
    enr("NONPOP", EMPLOYEE, CONTRIBUTING, region=ELSEWHERE_REGION, employer="ENT_NONPOP_EMP"),
    enr("NONPOP2", EMPLOYEE, SUSPENDED, employer="ENT_SUSP_EMP"),
    # a residents'-scheme row naming an employer does not make it insured
    enr("NONPOP2", RESIDENTS, CONTRIBUTING, employer="ENT_SUSP_EMP"),
]

DIVISION = [
    {"code": REGION, "name": "测试县"},
    {"code": S1, "name": "甲街道"},
    {"code": S2, "name": "乙镇"},
    {"code": C11, "name": "甲一社区"},
    {"code": C12, "name": "甲二社区"},
    {"code": C21, "name": "乙一村"},
    {"code": C22, "name": "乙二村"},
    {"code": C23, "name": "乙三村"},  # nobody lives here
]


def ids(*keys: str) -> list[dict]:
    return [{"id_number": P[k]} for k in keys]


BATCH_A = {
    "hukou": hukou_rows(moved_status="正常"),
    "residence": residence_rows(),
    "pension_enrollment": PENSION,
    "division": DIVISION,
    "death": [{"id_number": P["DEAD_A"], "death_date": "2026-01-01"}],
    "survey": [{"id_number": P["A16"], "survey_date": "2025-02-20", "result": "考虑中"}],
    "migrant_worker": [
        {"id_number": P["G3_MEND"], "employment_start": "2024-08-31"},
        {"id_number": P["G3_LATE_A"], "employment_start": "2024-09-01"},
    ],
    "dibao": ids("G7_DIBAO_A"),
    "income_assets": [
        {"id_number": P["G6_AT"], "annual_income": "60000"},
        {"id_number": P["G6_BELOW"], "annual_income": "59999.99"},
        {"id_number": P["G7_DIS1"], "annual_income": "80000"},
        {"id_number": P["DRAW"], "annual_income": "80000"},
        {"id_number": P["DRAW2"], "annual_income": "100000"},
    ],
}


def entity(
    key: str,
    etype: str,
    operator: str,
    status: str | None,
    address: str | None,
    employees: str | None = None,
) -> dict:
    return {
        "uscc": ENT[key],
        "entity_name": key.lower(),
        "entity_type": etype,
        "operator_id_number": P[operator],
        "status": status,
        "address_code": address,
        "employees": employees,
    }


BATCH_B = {
    "hukou": hukou_rows(moved_status="迁出"),
    "residence": residence_rows(),
    "pension_enrollment": PENSION,
    "death": ids("DEAD_B"),
    "survey": [
        {"id_number": P["G5_FREE"], "survey_date": "2025-06-01", "result": "同意参保"},
        {"id_number": P["G3_SHORT"], "survey_date": "2025-06-02", "result": "已参保"},
    ],
    "student": [{"id_number": P["STU"], "school": "某大学"}],
    "inmate": [
        {"id_number": P["INM_REL"], "release_date": "2025-06-29"},
        {"id_number": P["INM_ON_D"], "release_date": "2025-06-30"},
        {"id_number": P["INM_LATER"], "release_date": "2026-01-01"},
        {"id_number": P["INM_NODATE"], "release_date": ""},
    ],
    "market_entity": [
        entity("ENT_G1", "个体工商户", "G1_OK", "存续", C12, "2"),
        entity("ENT_CANCEL", "个体工商户", "G1_CANCEL", "注销", C12),
        entity("ENT_REVOKED", "有限责任公司", "G1_CANCEL", "吊销", C12),
        entity("ENT_TAXBAD", "个体工商户", "G1_TAXBAD", "存续", C12),
        entity("ENT_NOTAX", "个体工商户", "G1_TAXBAD", "在业", C12),
        entity("ENT_WITH_EMP", "有限责任公司", "BOTH", "在业", C11, "10"),
        entity("ENT_NONPOP_EMP", "有限责任公司", "NONPOP", "存续", C21, "3"),
        entity("ENT_SUSP_EMP", "有限责任公司", "NONPOP2", "存续", None),
        entity("ENT_MOVEDOUT", "有限责任公司", "NONPOP2", "迁出", C21, "4"),
    ],
    "taxpayer": [
        {"uscc": ENT[k], "tax_status": s, "employees": e}
        for k, s, e in [
            ("ENT_G1", "正常", None),
            ("ENT_CANCEL", "正常", None),
            ("ENT_REVOKED", "正常", None),
            ("ENT_TAXBAD", "非正常", None),
            ("ENT_WITH_EMP", "正常", None),
            ("ENT_NONPOP_EMP", "正常", None),
            ("ENT_SUSP_EMP", "正常", "5"),
            ("ENT_MOVEDOUT", "正常", None),
        ]
    ],
    "dibao": [{"id_number": P["G7_DIBAO"], "category": "城市低保"}],
    "tekun": ids("G7_TEKUN"),
    "fanpin": ids("G7_FANPIN"),
    "disability": [
        {"id_number": P["G7_DIS1"], "disability_level": "一级"},
        {"id_number": P["G7_DIS2"], "disability_level": "2级"},  # = 二级
        {"id_number": P["G7_DIS3"], "disability_level": "3"},  # = 三级
    ],
    "landless": ids("G2_LANDLESS", "ENROLL_MULTI"),
    "migrant_worker": [
        {"id_number": P["G3_OK"], "employment_start": "2024-12-31"},
        {"id_number": P["G3_SHORT"], "employment_start": "2025-01-01"},
    ],
    "platform_worker": [
        {"id_number": P[k], "occupation": o, "platform": "某平台"}
        for k, o in [
            ("G4_OK", "外卖骑手"),
            ("G4_OTHER", "主播"),
            ("SUSP", "网约车司机"),
            ("DUP", "货运司机"),
            ("ENROLL_MULTI", "快递员"),
            ("G7_DIS2", "网约车司机"),
        ]
    ],
    "licensed_professional": [
        {"id_number": P["G5_FREE"], "profession": "律师", "practice_type": "自由职业"},
        {"id_number": P["G5_FULL"], "profession": "律师", "practice_type": "专职"},
        {"id_number": P["G5_PART"], "profession": "律师", "practice_type": "专职"},
        {"id_number": P["G5_PART"], "profession": "导游", "practice_type": "兼职"},
        {"id_number": P["G5_INDIV"], "profession": "导游", "practice_type": "个体"},
    ],
    "other_eligible": [
        {"id_number": P[k], "category": c}
        for k, c in [
            ("G2_CADRE", "村社区干部"),
            ("G2_DOCTOR", "乡村医生"),
            ("G8_GRAD", "基层服务项目高校毕业生"),
            ("G8_STAFF", "机关事业单位编外人员"),
            ("G7_FANPIN", "民办学校教职工"),
        ]
    ],
}

# ------------------------------------------------------------------ the CLI


def cli(*args: str) -> tuple[int, str, str]:
    """Run ``kuomian ARGS`` in this process (the same entry point as the
    console script); returns (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = kuomian([str(a) for a in args])
    return rc, out.getvalue(), err.getvalue()


def ok(*args: str) -> str:
    rc, out, err = cli(*args)
    assert rc == 0, err
    return out


EXPORTS = [
    ("targets", None),
    ("kpi", "city"),
    ("kpi", "street"),
    ("kpi", "community"),
    ("entities", None),
    ("problems", None),
    ("imports", None),
]


def export_all(db: Path, out: Path, as_of: dt.date | None = None) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for what, level in EXPORTS:
        name = f"{what}_{level}" if level else what
        args = ["export", what, "--db", db, "--out", out / f"{name}.csv"]
        if level:
            args += ["--level", level]
        if as_of:
            args += ["--as-of", as_of.isoformat()]
        ok(*args)
        files[name] = out / f"{name}.csv"
    return files


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("region")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("KUOMIAN_CONFIG", "KUOMIAN_SOURCES", "KUOMIAN_DB"):
            mp.delenv(var, raising=False)
        a = write_batch(root / "batches", "2025-02-28", A, BATCH_A)
        b = write_batch(root / "batches", "2025-06-30", D, BATCH_B)
        db = root / "db" / "kuomian.duckdb"
        ok("import", a, b, "--db", db)
        ok("build", "--db", db)
        files_d = export_all(db, root / "out_d")
        files_a = export_all(db, root / "out_a", as_of=A)
        yield {"root": root, "db": db, "d": files_d, "a": files_a}


def by_id(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {r["id_number"]: r for r in rows}


def key_of(id_number: str) -> str:
    return {v: k for k, v in P.items()}[id_number]


@pytest.fixture(scope="module")
def targets(region) -> dict[str, dict[str, str]]:
    """Targets at D keyed by person key."""
    return {key_of(i): r for i, r in by_id(read_csv(region["d"]["targets"])).items()}


@pytest.fixture(scope="module")
def targets_a(region) -> dict[str, dict[str, str]]:
    return {key_of(i): r for i, r in by_id(read_csv(region["a"]["targets"])).items()}


def kpi(region, level: str) -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in read_csv(region["d"][f"kpi_{level}"])}


def persons(region, as_of: dt.date = D) -> dict[str, dict]:
    """reg_persons of the snapshot of ``as_of`` keyed by person key."""
    with published.stored(region["db"]) as con:
        v = con.execute(
            "SELECT version FROM registry_versions WHERE as_of = ?", [as_of]
        ).fetchone()[0]
        cur = con.execute("SELECT * EXCLUDE (version) FROM reg_persons WHERE version = ?", [v])
        cols = [c[0] for c in cur.description]
        return {key_of(r[0]): dict(zip(cols, r)) for r in cur.fetchall()}


# ------------------------------------------------------------------ expectations at D
# key -> (target_type, groups, community). Everyone else of the population is not a target.
EXPECTED_TARGETS_D = {
    # C11
    "A16": ("enroll", "", C11),  # 16 on D exactly, not insured
    "INM_REL": ("enroll", "", C11),  # released 2025-06-29 < D
    "SUSP": ("resume", "4", C11),  # suspended only; 网约车司机 kept as group 4
    # C12
    "G1_OK": ("upgrade", "1", C12),
    "G3_OK": ("enroll", "3", C12),  # 2024-12-31 + 6 months = 2025-06-30 <= D
    "G3_SHORT": ("enroll", "", C12),  # 2025-01-01 + 6 months = 2025-07-01 > D
    "G3_MEND": ("enroll", "", C12),  # migrant list of B (in force) lacks them
    "G3_LATE_A": ("enroll", "", C12),
    "G4_OK": ("upgrade", "4", C12),
    "G5_FREE": ("enroll", "5", C12),
    "G6_AT": ("upgrade", "6", C12),  # 60000 >= 60000, from batch A's income_assets
    # C21
    "G7_DIS3": ("enroll", "", C21),  # 三级 is not severe
    "G7_DIBAO": ("enroll", "7", C21),
    "G7_TEKUN": ("enroll", "7", C21),
    "G7_DIBAO_A": ("enroll", "", C21),  # B's dibao replaced A's
    "G2_LANDLESS": ("enroll", "2", C21),
    "G2_DOCTOR": ("enroll", "2", C21),
    "G8_GRAD": ("upgrade", "8", C21),
    "G8_STAFF": ("enroll", "8", C21),
    "ENROLL_MULTI": ("enroll", "2;4", C21),
    "RES_ONLY": ("enroll", "", C21),  # place from 居住证
    "TERM": ("enroll", "", C21),  # 终止参保 is not insured
    "G5_PART": ("enroll", "5", C21),  # 兼职 counts (专职 of the same person does not)
    "G5_INDIV": ("enroll", "5", C21),  # 个体
    # C31
    "SENIOR": ("enroll", "", C31),  # 60+ not insured: enroll (补缴)
}

# code -> (legal_population, insured, contributors, employee_contributors)
# C11 legal: A16 INM_REL BOTH ELSEWHERE SUSP SUSP_ELSE DRAW DRAW2 DUP DUP_REG = 10
#     insured: all but A16, INM_REL = 8
#     contributors: BOTH ELSEWHERE SUSP_ELSE DRAW2 DUP DUP_REG = 6 (DUP, DUP_REG once)
#     employee: BOTH ELSEWHERE SUSP_ELSE DUP = 4 (DRAW2 draws from the employee scheme)
#     (DEAD_A contributes but is dead; BOTH's 居住证 in C21 does not count there)
# C12 legal 15; residents' contributors G1_OK G1_CANCEL G1_TAXBAD G4_OK G4_OTHER G5_FULL
#     G6_AT G6_BELOW RES_PLAIN1 RES_PLAIN2 = 10
# C21 legal 17 (16 户籍 + RES_ONLY); contributors G7_DIS1 G7_DIS2 G7_FANPIN G2_CADRE
#     G8_GRAD = 5 (TERM is not insured)
# C22, C32 children only; C23 nobody (known from the division data only)
# C31 legal OUT3 SENIOR = 2; OUT3 contributes to 机关事业单位.
# NONPOP, NONPOP2 are in no population (enrollment only) and count nowhere.
COUNTS = {
    C11: (10, 8, 6, 4),
    C12: (15, 10, 10, 0),
    C21: (17, 5, 5, 0),
    C22: (0, 0, 0, 0),
    C23: (0, 0, 0, 0),
    C31: (2, 1, 1, 1),
    C32: (0, 0, 0, 0),
    S1: (25, 18, 16, 4),
    S2: (17, 5, 5, 0),
    S3: (2, 1, 1, 1),
    REGION: (44, 24, 22, 5),
}
# code -> (coverage_rate, structure_ratio) as fractions; None = empty
RATES = {
    C11: (8 / 10, 4 / 6),
    C12: (10 / 15, 0 / 10),
    C21: (5 / 17, 0 / 5),
    C22: (None, None),
    C23: (None, None),
    C31: (1 / 2, 1 / 1),
    C32: (None, None),
    S1: (18 / 25, 4 / 16),
    S2: (5 / 17, 0 / 5),
    S3: (1 / 2, 1 / 1),
    REGION: (24 / 44, 5 / 22),
}
# code -> (coverage_gap_2025, structure_gap_2025, coverage_gap_2035, structure_gap_2035)
#   cov25 = ceil(.95 LP - ins), str25 = ceil(.3 C - E), cov35 = ceil(.96 LP - ins),
#   str35 = ceil(.5 C - E), each at least 0.
GAPS = {
    C11: (2, 0, 2, 0),  # ceil(9.5-8)=2  ceil(1.8-4)<0  ceil(9.6-8)=2  ceil(3-4)<0
    C12: (5, 3, 5, 5),  # ceil(14.25-10)=5  ceil(3-0)=3  ceil(14.4-10)=5  ceil(5-0)=5
    C21: (12, 2, 12, 3),  # ceil(16.15-5)=12  ceil(1.5)=2  ceil(16.32-5)=12  ceil(2.5)=3
    C22: (0, 0, 0, 0),
    C23: (0, 0, 0, 0),
    C32: (0, 0, 0, 0),
    C31: (1, 0, 1, 0),  # ceil(1.9-1)=1  ceil(.3-1)<0  ceil(1.92-1)=1  ceil(.5-1)<0
    S1: (6, 1, 6, 4),  # ceil(23.75-18)=6  ceil(4.8-4)=1  ceil(24-18)=6 (exact)  ceil(8-4)=4
    S2: (12, 2, 12, 3),
    S3: (1, 0, 1, 0),
    REGION: (18, 2, 19, 6),  # ceil(41.8-24)=18 ceil(6.6-5)=2 ceil(42.24-24)=19 ceil(11-5)=6
}
NAMES = {
    REGION: "测试县",
    S1: "甲街道",
    S2: "乙镇",
    S3: "",
    C11: "甲一社区",
    C12: "甲二社区",
    C21: "乙一村",
    C22: "乙二村",
    C23: "乙三村",
    C31: "",
    C32: "",
}


# ------------------------------------------------------------------ tests: the import


def test_every_row_accepted(region):
    rows = read_csv(region["d"]["imports"])
    assert {r["kind"] for r in rows} == set(BATCH_A) | set(BATCH_B)
    for r in rows:
        assert int(r["read"]) == int(r["accepted"]) + int(r["duplicates"]) + int(r["problems"])
        assert r["problems"] == "0", r
    problems = read_csv(region["d"]["problems"])
    assert [p for p in problems if p["severity"] == "error"] == []


# ------------------------------------------------------------------ tests: the population


def test_target_list_at_d(targets):
    got = {k: (r["target_type"], r["groups"], r["community_code"]) for k, r in targets.items()}
    assert got == EXPECTED_TARGETS_D
    for k, r in targets.items():
        assert r["street_code"] == EXPECTED_TARGETS_D[k][2][:9]


def test_age_16_exactly_on_as_of_date_is_in(targets, region):
    assert targets["A16"]["target_type"] == "enroll"
    assert persons(region)["A16"]["legal"] is True


def test_one_day_short_of_16_is_out(targets, region):
    assert "A15" not in targets
    p = persons(region)["A15"]
    assert (p["legal"], p["exclusions"]) == (False, ["under_16"])


def test_exclusion_reasons_are_kept(region):
    p = persons(region)
    assert {
        k: p[k]["exclusions"]
        for k in [
            "STU",
            "INM_ON_D",
            "INM_LATER",
            "INM_NODATE",
            "DEAD_A",
            "DEAD_B",
            "DEAD_HK",
            "MOVED",
            "KID1",
        ]
    } == {
        "STU": ["student"],
        "INM_ON_D": ["inmate"],
        "INM_LATER": ["inmate"],
        "INM_NODATE": ["inmate"],
        "DEAD_A": ["dead"],
        "DEAD_B": ["dead"],
        "DEAD_HK": ["dead"],
        "MOVED": ["moved_out"],
        "KID1": ["under_16"],
    }


def test_student_excluded(targets, region):
    assert "STU" not in targets
    assert persons(region)["STU"]["legal"] is False


def test_inmate_released_before_as_of_is_in(targets):
    assert targets["INM_REL"]["target_type"] == "enroll"


def test_inmate_released_on_or_after_as_of_or_without_date_excluded(targets):
    for k in ("INM_ON_D", "INM_LATER", "INM_NODATE"):
        assert k not in targets


def test_dead_by_death_kind_whatever_death_date_says(targets, region):
    # DEAD_A's death_date (2026-01-01) lies after D; DEAD_A contributes, yet is
    # neither counted (C11 contributors = 5 without her) nor a target.
    assert "DEAD_A" not in targets and "DEAD_B" not in targets
    assert persons(region)["DEAD_A"]["legal"] is False


def test_dead_by_hukou_status(targets):
    assert "DEAD_HK" not in targets


def test_moved_out(targets, targets_a):
    assert "MOVED" not in targets
    assert targets_a["MOVED"]["target_type"] == "enroll"  # 正常 in A's 户籍


def test_residence_only_person_placed_by_residence(targets):
    r = targets["RES_ONLY"]
    assert (r["street_code"], r["community_code"]) == (S2, C21)
    r = targets["SENIOR"]
    assert (r["street_code"], r["community_code"]) == (S3, C31)


def test_person_in_both_hukou_wins(region):
    p = persons(region)["BOTH"]
    assert (p["street_code"], p["community_code"]) == (S1, C11)


def test_insured_elsewhere_counts_as_insured(targets, region):
    assert "ELSEWHERE" not in targets
    p = persons(region)["ELSEWHERE"]
    assert (p["insured"], p["contributing"], p["employee_contributor"]) == (True, True, True)


def test_suspended_only_is_resume(targets):
    assert targets["SUSP"]["target_type"] == "resume"


def test_suspended_but_contributing_elsewhere_is_not_resume(targets):
    assert "SUSP_ELSE" not in targets


def test_drawing_a_pension_is_never_a_target(targets, region):
    # DRAW2 draws and contributes to the residents' scheme and is in group 6.
    assert "DRAW" not in targets and "DRAW2" not in targets
    assert persons(region)["DRAW2"]["groups"] == [6]


def test_terminated_only_is_not_insured(targets):
    assert targets["TERM"]["target_type"] == "enroll"


def test_schemes_and_levels_written_short_are_recognised(region):
    p = persons(region)
    assert p["DUP"]["employee_contributor"] is True  # 企业职工
    assert p["OUT3"]["employee_contributor"] is True  # 机关事业单位
    assert p["RES_PLAIN2"]["residents_contributor"] is True  # 城乡居民


def test_duplicate_enrollment_listed_and_counted_once(region):
    with published.stored(region["db"]) as con:
        v = con.execute("SELECT version FROM registry_versions WHERE as_of = ?", [D]).fetchone()[0]
        dups = dict(
            con.execute(
                "SELECT id_number, active_enrollments FROM reg_duplicates WHERE version = ?", [v]
            ).fetchall()
        )
    # DUP: two schemes contributing; DRAW2: drawing + contributing; DUP_REG: the
    # residents' scheme in two regions. NONPOP2
    # (suspended + contributing) and SUSP_ELSE (suspended + contributing) are not.
    assert dups == {P["DUP"]: 2, P["DRAW2"]: 2, P["DUP_REG"]: 2}
    # counted once: C11 has 10 legal people, 8 insured, 6 contributors (see COUNTS)
    row = kpi(region, "community")[C11]
    assert (row["insured"], row["contributors"], row["employee_contributors"]) == ("8", "6", "4")


# ------------------------------------------------------------------ tests: the eight groups


def test_group1_needs_live_entity_and_tax_normal(targets):
    assert targets["G1_OK"]["groups"] == "1"
    # 注销 / 吊销 entity (tax 正常), tax 非正常, or no tax record: no group, not a target
    assert "G1_CANCEL" not in targets and "G1_TAXBAD" not in targets


def test_group2_landless_cadre_doctor(targets, region):
    assert targets["G2_LANDLESS"]["groups"] == "2"
    assert targets["G2_DOCTOR"]["groups"] == "2"
    # a village cadre contributing to the residents' scheme is group 2 only:
    # group 2 is not an upgrade group
    assert "G2_CADRE" not in targets
    assert persons(region)["G2_CADRE"]["groups"] == [2]


def test_group3_six_months_with_month_end_arithmetic(targets, targets_a):
    assert targets["G3_OK"]["groups"] == "3"  # 2024-12-31 + 6 months = 2025-06-30
    assert targets["G3_SHORT"]["groups"] == ""  # 2025-01-01 + 6 months = 2025-07-01
    # at A = 2025-02-28: 2024-08-31 + 6 months = 2025-02-28 (day 31 falls to 28)
    assert targets_a["G3_MEND"]["groups"] == "3"
    assert targets_a["G3_LATE_A"]["groups"] == ""  # 2024-09-01 + 6 months = 2025-03-01


def test_group4_four_occupations_only(targets, region):
    assert targets["G4_OK"]["groups"] == "4"
    assert "G4_OTHER" not in targets
    assert persons(region)["G4_OTHER"]["groups"] == []


def test_group5_fulltime_staff_are_not_freelancers(targets, region):
    assert targets["G5_FREE"]["groups"] == "5"  # 自由职业
    assert targets["G5_PART"]["groups"] == "5"  # 兼职 (and 专职 elsewhere)
    assert targets["G5_INDIV"]["groups"] == "5"  # 个体
    assert "G5_FULL" not in targets
    assert persons(region)["G5_FULL"]["groups"] == []


def test_group6_income_threshold_boundary(targets, region):
    assert (targets["G6_AT"]["target_type"], targets["G6_AT"]["groups"]) == ("upgrade", "6")
    assert "G6_BELOW" not in targets
    assert persons(region)["G6_BELOW"]["groups"] == []


def test_group7_severe_disability_and_hardship(targets, region):
    p = persons(region)
    assert p["G7_DIS1"]["groups"] == [6, 7]  # 一级
    assert p["G7_DIS2"]["groups"] == [4, 7]  # 二级 (written 2级)
    assert p["G7_DIS3"]["groups"] == []  # 三级 (written 3)
    assert targets["G7_DIBAO"]["groups"] == "7"
    assert targets["G7_TEKUN"]["groups"] == "7"
    assert p["G7_FANPIN"]["groups"] == [7, 8]


def test_group7_is_never_upgrade_even_with_group_6(targets, targets_a):
    # residents' contributors in an upgrade group, but also in group 7
    for k in ("G7_DIS1", "G7_DIS2", "G7_FANPIN"):
        assert k not in targets
    # before the disability list arrived (A), G7_DIS1 was an upgrade target for group 6
    assert (targets_a["G7_DIS1"]["target_type"], targets_a["G7_DIS1"]["groups"]) == ("upgrade", "6")


def test_group8_categories(targets):
    assert targets["G8_GRAD"]["groups"] == "8"
    assert targets["G8_STAFF"]["groups"] == "8"


def test_upgrade_requires_residents_contributor_not_employee(targets, region):
    # DUP is in group 4 and contributes to the residents' scheme, but also to the
    # employee scheme; RES_PLAIN1 contributes to the residents' scheme with no group.
    assert "DUP" not in targets and "RES_PLAIN1" not in targets
    assert persons(region)["DUP"]["groups"] == [4]
    assert {k for k, r in targets.items() if r["target_type"] == "upgrade"} == {
        "G1_OK",
        "G4_OK",
        "G6_AT",
        "G8_GRAD",
    }


def test_enroll_groups_column_sorted_and_joined(targets):
    assert targets["ENROLL_MULTI"]["groups"] == "2;4"


# ------------------------------------------------------------------ tests: businesses


def test_business_targets(region):
    rows = read_csv(region["d"]["entities"])
    got = {
        r["uscc"]: (r["street_code"], r["tax_status"], r["employees"], r["reason"]) for r in rows
    }
    assert got == {
        ENT["ENT_G1"]: (S1, "正常", "2", "无职工参保"),
        ENT["ENT_SUSP_EMP"]: ("", "正常", "5", "无职工参保"),  # employee only suspended
        ENT["ENT_MOVEDOUT"]: (S2, "正常", "4", "无职工参保"),  # 迁出 is not 注销/吊销
    }
    # not listed: ENT_CANCEL (注销), ENT_REVOKED (吊销), ENT_TAXBAD (非正常),
    # ENT_NOTAX (no tax record), ENT_WITH_EMP (BOTH contributes for it),
    # ENT_NONPOP_EMP (its employee lives and is insured elsewhere)
    assert [r["uscc"] for r in rows] == sorted(got)


# ------------------------------------------------------------------ tests: KPIs


def _rate(text: str) -> float | None:
    return None if text == "" else float(text)


@pytest.mark.parametrize(
    "level,codes",
    [
        ("city", [REGION]),
        ("street", [S1, S2, S3]),
        ("community", [C11, C12, C21, C22, C23, C31, C32]),
    ],
)
def test_kpi_rows(region, level, codes):
    rows = kpi(region, level)
    assert sorted(rows) == codes
    for code in codes:
        r = rows[code]
        assert r["name"] == NAMES[code], code
        assert (
            tuple(
                int(r[c])
                for c in ("legal_population", "insured", "contributors", "employee_contributors")
            )
            == COUNTS[code]
        ), code
        assert (_rate(r["coverage_rate"]), _rate(r["structure_ratio"])) == RATES[code], code
        assert (
            tuple(
                int(r[c])
                for c in (
                    "coverage_gap_2025",
                    "structure_gap_2025",
                    "coverage_gap_2035",
                    "structure_gap_2035",
                )
            )
            == GAPS[code]
        ), code


def test_kpi_columns_first(region):
    header = next(iter(read_csv(region["d"]["kpi_city"])))
    assert list(header)[:12] == [
        "code",
        "name",
        "legal_population",
        "insured",
        "coverage_rate",
        "contributors",
        "employee_contributors",
        "structure_ratio",
        "coverage_gap_2025",
        "structure_gap_2025",
        "coverage_gap_2035",
        "structure_gap_2035",
    ]


def test_children_only_community_has_empty_rates(region):
    rows = kpi(region, "community")
    # C22 is named in the division data; C32 is known only because KID3 lives there
    for code in (C22, C32):
        r = rows[code]
        assert (
            r["legal_population"],
            r["insured"],
            r["coverage_rate"],
            r["contributors"],
            r["structure_ratio"],
        ) == ("0", "0", "", "0", ""), code
    assert rows[C32]["name"] == ""
    # empty is written as nothing, like the empty rates (not as a quoted "")
    raw = region["d"]["kpi_community"].read_text(encoding="utf-8").splitlines()
    assert f"{C32},,0,0,,0,0,,0,0,0,0," in "\n".join(raw)


# ------------------------------------------------------------------ tests: history


def test_state_kinds_newest_batch_carrying_the_kind(targets, targets_a, region):
    # division only in A: names at D come from it
    assert kpi(region, "street")[S1]["name"] == "甲街道"
    # income_assets only in A: group 6 at D
    assert targets["G6_AT"]["groups"] == "6"
    # dibao in both: B's list replaces A's
    assert targets["G7_DIBAO_A"]["groups"] == "" and targets_a["G7_DIBAO_A"]["groups"] == "7"
    assert targets["G7_DIBAO"]["groups"] == "7" and targets_a["G7_DIBAO"]["groups"] == ""


def test_event_kinds_accumulate(targets, targets_a):
    # death: DEAD_A (batch A) and DEAD_B (batch B) are both dead at D; at A only DEAD_A
    assert "DEAD_A" not in targets and "DEAD_B" not in targets
    assert "DEAD_A" not in targets_a and targets_a["DEAD_B"]["target_type"] == "enroll"
    # survey: A16's visit was in batch A, G5_FREE's in B; both show at D
    assert targets["A16"]["survey_result"] == "考虑中"
    assert targets["G5_FREE"]["survey_result"] == "同意参保"
    # ... and the visit reported in B is not seen at A
    assert targets_a["G5_FREE"]["survey_result"] == ""


def test_survey_claim_does_not_change_target(targets):
    r = targets["G3_SHORT"]
    assert (r["target_type"], r["survey_result"], r["claim_to_verify"]) == (
        "enroll",
        "已参保",
        "true",
    )


EXPECTED_TARGETS_A = {
    # C11: A16 and A15 are 15; the student and inmate lists are B's; MOVED is 正常;
    # DEAD_B's death is reported in B
    "STU": ("enroll", ""),
    "INM_REL": ("enroll", ""),
    "INM_ON_D": ("enroll", ""),
    "INM_LATER": ("enroll", ""),
    "INM_NODATE": ("enroll", ""),
    "DEAD_B": ("enroll", ""),
    "MOVED": ("enroll", ""),
    "SUSP": ("resume", ""),
    # C12: no market entities, platform or professional lists yet
    "G3_OK": ("enroll", ""),
    "G3_SHORT": ("enroll", ""),
    "G3_MEND": ("enroll", "3"),
    "G3_LATE_A": ("enroll", ""),
    "G5_FREE": ("enroll", ""),
    "G6_AT": ("upgrade", "6"),
    # C21
    "G7_DIS1": ("upgrade", "6"),
    "G7_DIS3": ("enroll", ""),
    "G7_DIBAO": ("enroll", ""),
    "G7_TEKUN": ("enroll", ""),
    "G7_DIBAO_A": ("enroll", "7"),
    "G2_LANDLESS": ("enroll", ""),
    "G2_DOCTOR": ("enroll", ""),
    "G8_STAFF": ("enroll", ""),
    "ENROLL_MULTI": ("enroll", ""),
    "RES_ONLY": ("enroll", ""),
    "TERM": ("enroll", ""),
    "G5_PART": ("enroll", ""),
    "G5_INDIV": ("enroll", ""),
    # C31
    "SENIOR": ("enroll", ""),
}


def test_target_list_at_earlier_date(targets_a):
    assert {k: (r["target_type"], r["groups"]) for k, r in targets_a.items()} == EXPECTED_TARGETS_A


def test_build_between_batch_dates_reads_the_earlier_batch(region, tmp_path):
    """D' = 2025-04-15 lies between A and B: every kind comes from A, ages and
    the 6 months of group 3 are reckoned on D'."""
    db = copy_database(region["db"], tmp_path / "between.duckdb")
    ok("build", "--db", db, "--as-of", "2025-04-15")
    out = tmp_path / "targets.csv"
    ok("export", "targets", "--db", db, "--out", out)
    got = {key_of(r["id_number"]): (r["target_type"], r["groups"]) for r in read_csv(out)}
    # as at A, except G3_LATE_A: 2024-09-01 + 6 months = 2025-03-01 <= 2025-04-15
    assert got == EXPECTED_TARGETS_A | {"G3_LATE_A": ("enroll", "3")}


def test_build_before_every_batch_fails_cleanly(region):
    before = region["d"]["targets"].read_bytes()
    # main() is the console script's entry point: its return value is the exit status
    rc, out, err = cli("build", "--db", region["db"], "--as-of", "2025-01-01")
    assert rc != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "2025-01-01" in lines[0], err
    assert "Traceback" not in err
    # the registry in use is unchanged
    out = region["root"] / "after_failed_build.csv"
    ok("export", "targets", "--db", region["db"], "--out", out)
    assert out.read_bytes() == before


# ------------------------------------------------------------------ tests: ranking, determinism


def _check_ranks(rows: list[dict[str, str]]) -> bool:
    """Ranks are 1..N, highest score first, equal scores by id_number; returns
    whether any scores were tied (so the tie rule was exercised)."""
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
    for r in rows:
        assert 0.0 <= float(r["score"]) <= 1.0
    for x, y in itertools.pairwise(rows):
        sx, sy = float(x["score"]), float(y["score"])
        assert sx > sy or (sx == sy and x["id_number"] < y["id_number"]), (x, y)
    return len({r["score"] for r in rows}) < len(rows)


def test_ranks_by_score_ties_by_id(region):
    tied = [_check_ranks(read_csv(region[w]["targets"])) for w in ("d", "a")]
    assert any(tied), "no tied scores: the tie rule was not exercised"


def test_targets_columns_first(region):
    header = next(iter(read_csv(region["d"]["targets"])))
    assert list(header)[:7] == [
        "id_number",
        "target_type",
        "groups",
        "street_code",
        "community_code",
        "score",
        "rank",
    ]


def test_build_and_exports_twice_are_byte_identical(region, tmp_path):
    db = copy_database(region["db"], tmp_path / "copy.duckdb")
    runs = []
    for i in range(2):
        ok("build", "--db", db)
        runs.append(export_all(db, tmp_path / f"run{i}"))
    for name, path in runs[0].items():
        assert filecmp.cmp(path, runs[1][name], shallow=False), name
        assert filecmp.cmp(path, region["d"][name], shallow=False), name


# ------------------------------------------------------------------ 29 February


def test_born_29_february_turns_16_on_1_march_in_common_year(tmp_path):
    """16 is a multiple of 4, so a 29 February child turns 16 in a leap year
    (2008-02-29 -> 2024-02-29) except across a common century year
    (1884-02-29 -> 1900-03-01, as 1900 was not a leap year; a batch dated in the
    future, 2100, is refused). Both are built."""
    leap08, leap84 = make_id("2008-02-29", 1), make_id("1884-02-29", 2, female=True)
    adult, elder = make_id("1980-01-01", 3), make_id("1850-01-01", 4)

    def hukou(*ids_):
        return {
            "hukou": [
                {"id_number": i, "name": f"闰{n}", "address_code": C11} for n, i in enumerate(ids_)
            ]
        }

    root = tmp_path / "batches"
    dirs = [
        write_batch(root, d, d, hukou(*people))
        for d, people in [
            ("1900-02-28", (leap84, elder)),
            ("1900-03-01", (leap84, elder)),
            ("2024-02-28", (leap08, adult)),
            ("2024-02-29", (leap08, adult)),
        ]
    ]
    db = tmp_path / "leap.duckdb"
    ok("import", *dirs, "--db", db)
    ok("build", "--db", db)
    got = {}
    for d in ("1900-02-28", "1900-03-01", "2024-02-28", "2024-02-29"):
        out = tmp_path / f"t{d}.csv"
        ok("export", "targets", "--db", db, "--out", out, "--as-of", d)
        got[d] = sorted(r["id_number"] for r in read_csv(out))
    assert got == {
        "2024-02-28": [adult],  # 15 the day before the birthday
        "2024-02-29": sorted([leap08, adult]),  # 16 on 29 February of a leap year
        "1900-02-28": [elder],  # 1900: no 29 February, still 15
        "1900-03-01": sorted([leap84, elder]),  # 16 on 1 March
    }
