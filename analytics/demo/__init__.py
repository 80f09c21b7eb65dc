"""Synthetic demo region (示例市, fictional code 530199) written as department batches.

Everything here is SYNTHETIC: people, IDs, businesses and boundaries are invented.
The generator serves three purposes: a demo for the app, scale data for tests and
benchmarks, and a ground truth against which the importer's accounting and the
registry's ranking can be checked.

Output layout (``out`` is a directory)::

    out/2023-03-31/ ... out/2025-09-30/    one batch per quarter end (11 batches)
        manifest.toml                    as_of and region_code
        养老保险参保.csv, death_*.csv, 入户调查_*.xlsx, ...   department files
        示例市边界.geojson                 (first batch only) streets and communities
    out/.truth/                          hidden from ``out/*`` globs
        model.json        behaviour-model coefficients and formula
        persons.csv       every generated person with street, community and groups
        probabilities.csv every target at every date but the last, p_true, visit, outcome
        accounting.csv    per file: read, accepted, duplicates, problems
        problems.csv      per injected problem (error) and warning: file, row, reason
        kpi.csv           legal population, insured, contributors per city/street/community

The hidden behaviour model
--------------------------
People are simulated quarter by quarter. At each quarter end t the registry's own
rules (data contract) applied to the *clean* data give every legal-population member
a target type: ``enroll`` (not insured), ``resume`` (only enrollment is 暂停缴费) or
``upgrade`` (contributing to 城乡居民 while in group 1/3/4/5/6/8, not group 7). During
the next quarter a target reaches its outcome with probability

    p = sigmoid( a[type] + b_age*z + b_age2*z^2 + b_male*male + b_urban*urban
                 + b_income*zi + sum_g b_g*G_g + street[s]
                 + b_grade*ln(grade/300)            (upgrade only)
                 + b_lapse*ln(1 + quarters lapsed)  (resume only)
                 + visited * (u0 + sum_g u_g*G_g) )

with z = (age-40)/15, zi = (ln income - ln 30000)/0.6 and G_g the evidence-based group
flags. Cadres visit targets during the quarter (a visit = a row in the next batch's
入户调查 file) with a probability that rises with the target's no-visit chance, plus
noise, so visits go preferentially to likely targets. ``p_true`` in probabilities.csv
is p times the chance of surviving the quarter; ``outcome`` is whether the target is
insured / contributing / an employee contributor at the next quarter end, which
happens exactly when the drawn move happens. Besides targeted moves the simulation
has deaths (Gompertz hazard), lapses, retirements, people turning 16 and leaving
school, yearly moves out, residence-permit churn and newcomers.

Messy files
-----------
Defects are injected at low rates exactly as the data contract allows, one defect per
row, so that the accounting is certain: genuine rows are always accepted (formatting
defects such as 15-digit IDs, full-width digits, padding and odd date formats are
normalised away; optional fields made unreadable only raise warnings), and every
problem row is an extra copy (missing value, bad ID, bad credit code, bad date, unknown
value, bad or outside address code, conflict) or an exact duplicate placed after its
source. The truth of every file is written to ``.truth/accounting.csv``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.demo.boundaries import make_boundaries

REGION_CODE = "530199"
REGION_NAME = "示例市"
QUARTER_ENDS: tuple[dt.date, ...] = tuple(
    d.date() for d in pd.date_range("2023-03-31", "2025-09-30", freq="QE")
)
N_YEARS = 3  # yearly lists are sent in the Q1 batches of 2023, 2024 and 2025

# --------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    """A word list written as space-separated text (reads better than a list literal)."""
    return tuple(text.split())


# code suffix, name, urban, coverage effect, structure effect, move effect, visit effect:
# the effects make streets differ on purpose (some near the 95%/30% goals, some far).
STREETS: tuple[tuple[str, str, bool, float, float, float, float], ...] = (
    ("001", "东城街道", True, 0.9, 0.75, 0.30, 0.3),
    ("002", "西城街道", True, 0.6, 0.55, 0.10, 0.1),
    ("003", "南苑街道", True, 0.1, 0.30, -0.20, -0.2),
    ("004", "北辰街道", True, 0.4, 0.45, 0.20, 0.2),
    ("005", "金湖街道", True, -0.2, 0.15, 0.00, 0.0),
    ("006", "青龙镇", False, 0.4, -0.10, 0.30, 0.4),
    ("007", "白沙镇", False, -0.4, -0.40, -0.30, -0.3),
    ("008", "松林镇", False, 0.1, -0.30, 0.00, 0.0),
    ("009", "石桥镇", False, -0.6, -0.55, -0.20, -0.4),
)
_COMMUNITY_STEMS = _words(
    "翠湖 金碧 玉泉 春晖 文化 新华 和平 朝阳 龙泉 锦绣 桂园 花园 光明 太平 长春 紫荆 丽景 "
    "滨江 云岭 明珠 东风 建设 人民 康乐 富民 兴隆 永安 安康 书院 迎春 百合 青云 金马 碧鸡 "
    "螺峰 北门 南屏 福海 望城 景苑 雨花 杏林 鸣凤 宝山 凤凰 祥和 阳光 怡园 清风 莲池 银杏 "
    "海棠 映月 华庭 盘龙 西林"
)
_VILLAGE_STEMS = _words(
    "李家 张家营 大石头 小河 龙潭 白石 杨柳 高桥 黄土坡 新庄 松树 马鞍山 三合 五里 沙河 "
    "石龙 大营 小营 赵家庄 下坝 上坝 羊街 水井 中和 河湾 田心 桃园 梨园 竹园 岔河 大村 "
    "小村 团山 柳树 石洞 青山 鱼塘 麦地 荞地 核桃箐 大哨 小哨 老鸦 观音 新田 长坡 海子 "
    "双龙 太和 永丰 安乐 平地 草坝 木瓜 红石岩 塘子 落水洞 凉水 大平地 果园"
)
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾"
    "毛郝龚邵万钱严武戴莫孔向汤普者"
)
_GIVEN_MALE = (
    "伟强军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆旭宁龙林阳成文云海兵国建志永春德福荣贵顺才磊峰"
)
_GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲桂英萍红梅琳丹雪婷慧莉欣佳倩颖洁琴秀兰凤玉珍蓉彤琼莹巧美"
# Real county codes, used as ID prefixes of people born elsewhere and as other
# pension regions (异地参保). None of them is the demo region.
_HUKOU_OTHER_PREFIXES = (
    "530102",
    "530111",
    "530112",
    "530381",
    "532301",
    "530402",
    "533102",
    "530602",
)
_RESIDENCE_PREFIXES = (
    "510104",
    "510682",
    "511502",
    "520102",
    "522401",
    "430111",
    "500101",
    "532301",
    "532501",
    "532901",
    "530381",
    "360102",
    "420106",
    "610113",
    "530602",
    "532801",
)
_OTHER_PENSION_REGIONS = (
    "530102",
    "530111",
    "530112",
    "530181",
    "440305",
    "330106",
    "510104",
    "520102",
    "532301",
    "320506",
)
# Prefixes only used for rows that lie outside the region (never a person of the demo).
_OUTSIDE_ADDRESS_COUNTIES = ("530181", "530124", "530125", "530114")
_SCHEMES = ("", "城乡居民基本养老保险", "企业职工基本养老保险", "机关事业单位基本养老保险")
_SCHEMES_SHORT = ("", "城乡居民", "企业职工", "机关事业单位")
_STATUSES = ("", "参保缴费", "暂停缴费", "待遇领取", "终止参保")
_RESIDENT_GRADES = np.array([100, 200, 300, 400, 500, 600, 800, 1000, 1500, 2000, 3000, 5000])
_RESIDENT_GRADE_P = np.array([18, 22, 20, 9, 9, 5, 4, 5, 3, 2, 2, 1], dtype=float)

# Age pyramid: China 2020 census shares by five-year band (0-4 ... 95-99), per cent.
_PYRAMID = np.array(
    [
        5.7,
        6.4,
        6.3,
        5.3,
        5.3,
        6.0,
        8.9,
        7.0,
        6.6,
        8.2,
        8.7,
        7.2,
        5.2,
        5.0,
        3.4,
        2.2,
        1.4,
        0.7,
        0.25,
        0.05,
    ]
)
_PYRAMID_MIGRANT = np.array(
    [
        3.0,
        3.0,
        2.5,
        3.0,
        10.0,
        14.0,
        15.0,
        13.0,
        11.0,
        9.0,
        7.0,
        4.0,
        2.5,
        1.5,
        1.0,
        0.5,
        0.3,
        0.1,
        0.05,
        0.01,
    ]
)

_GROUP_BITS = {g: 1 << (g - 1) for g in range(1, 9)}
_UPGRADE_GROUPS = (1, 3, 4, 5, 6, 8)

# --------------------------------------------------------------------------------------
# The behaviour model (written to .truth/model.json)
# --------------------------------------------------------------------------------------

MODEL: dict = {
    "description": (
        "logit p = intercept + age_z*z + age_z2*z^2 + male*male + urban*urban + income_z*zi "
        "+ sum_g group[g]*G_g + street_effect[street] + grade_z*ln(grade/300) (upgrade) "
        "+ lapse_log*ln(1+quarters_lapsed) (resume) + visited*(visit + sum_g visit_group[g]*G_g); "
        "z=(age-40)/15, zi=(ln(income)-ln(30000))/0.6, G_g = evidence-based group flags at the as-of "
        "date. p is the chance that the target reaches its outcome (enrolls / upgrades / resumes) "
        "by the next quarter end if it survives; p_true = p * (1 - quarterly death hazard)."
    ),
    "enroll": {
        "intercept": -2.3,
        "age_z": 0.25,
        "age_z2": -0.35,
        "male": -0.10,
        "urban": 0.20,
        "income_z": 0.30,
        "group": {
            "1": 0.30,
            "2": 0.50,
            "3": -0.35,
            "4": -0.25,
            "5": 0.40,
            "6": 0.60,
            "7": 1.10,
            "8": 0.80,
        },
        "visit": 0.90,
        "visit_group": {
            "1": 0.30,
            "2": 0.50,
            "3": 0.10,
            "4": -0.30,
            "5": 0.20,
            "6": 0.20,
            "7": 0.60,
            "8": 0.40,
        },
    },
    "upgrade": {
        "intercept": -4.9,
        "age_z": -0.30,
        "age_z2": -0.10,
        "male": 0.05,
        "urban": 0.30,
        "income_z": 0.50,
        "grade_z": 0.35,
        "group": {
            "1": 0.30,
            "2": 0.0,
            "3": 0.40,
            "4": 0.20,
            "5": 0.50,
            "6": 0.80,
            "7": 0.0,
            "8": 1.00,
        },
        "visit": 0.70,
        "visit_group": {
            "1": 0.20,
            "2": 0.0,
            "3": 0.30,
            "4": -0.30,
            "5": 0.30,
            "6": 0.50,
            "7": 0.0,
            "8": 0.40,
        },
    },
    "resume": {
        "intercept": -1.6,
        "age_z": 0.10,
        "age_z2": -0.05,
        "male": 0.0,
        "urban": 0.10,
        "income_z": 0.25,
        "lapse_log": -0.45,
        "group": {
            "1": 0.0,
            "2": 0.30,
            "3": -0.30,
            "4": -0.20,
            "5": 0.20,
            "6": 0.30,
            "7": 1.00,
            "8": 0.30,
        },
        "visit": 1.00,
        "visit_group": {
            "1": 0.0,
            "2": 0.20,
            "3": 0.20,
            "4": 0.0,
            "5": 0.0,
            "6": 0.0,
            "7": 0.50,
            "8": 0.0,
        },
    },
    "street_effect": {REGION_CODE + s[0]: s[5] for s in STREETS},
    "visit_model": {
        "description": "logit v = intercept + slope*(logit p_novisit + 2.5) + street_visit[street] + N(0, noise_sd)",
        "intercept": -2.2,
        "slope": 0.6,
        "noise_sd": 1.0,
        "street_visit": {REGION_CODE + s[0]: s[6] for s in STREETS},
    },
    "death_hazard": "annual = exp(-10.6 + 0.092*age), quarterly = annual/4 (capped at 0.25)",
    "lapse_hazard_per_quarter": {"resident": 0.012, "employee": 0.008, "group_3_or_4_factor": 2.0},
    "retirement_age": {"resident": 60, "employee_male": 60, "employee_female": 55},
}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------------------
# Standards: check characters (GB 11643-1999, GB 32100-2015, GB 11714-1997)
# --------------------------------------------------------------------------------------

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = np.array(list("10X98765432"))
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2])
_FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def _char_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """Fixed-width ASCII strings as an (n, width) array of byte codes."""
    return np.frombuffer("".join(values).encode("ascii"), dtype=np.uint8).reshape(-1, width)


def id_check_chars(first17: np.ndarray) -> np.ndarray:
    """GB 11643 check character for each 17-digit body.

    >>> id_check_chars(np.array(["11010519491231002"]))[0]
    'X'
    """
    digits = _char_matrix(first17, 17).astype(np.int64) - 48
    return _ID_CHECK[(digits * _ID_WEIGHTS).sum(axis=1) % 11]


def uscc_check_chars(first17: np.ndarray) -> np.ndarray:
    """GB 32100 check character: (31 - weighted sum mod 31) mod 31 in the code's charset."""
    lookup = np.full(128, -1, dtype=np.int64)
    for i, c in enumerate(USCC_CHARS):
        lookup[ord(c)] = i
    vals = lookup[_char_matrix(first17, 17)]
    return np.array(list(USCC_CHARS))[(31 - (vals * _USCC_WEIGHTS).sum(axis=1) % 31) % 31]


def _org_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    """GB 11714 organisation codes (8 characters + check), the body of a credit code."""
    chars = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))
    idx = rng.integers(0, 10, size=(n, 8))  # digits only: simplest valid bodies
    idx[:, :2] = rng.integers(0, len(chars), size=(n, 2))
    body = chars[idx]
    vals = np.vectorize(lambda c: int(c, 36))(body)
    c9 = 11 - (vals * _ORG_WEIGHTS).sum(axis=1) % 11
    check = np.where(c9 == 10, "X", np.where(c9 == 11, "0", c9.astype(str)))
    return np.char.add(np.array(["".join(r) for r in body]), check)


def make_usccs(
    rng: np.random.Generator, n: int, kind: np.ndarray, county: np.ndarray
) -> np.ndarray:
    """Credit codes: '92' individual business or '91' company, county code, org code, check."""
    prefix = np.where(kind == "个体工商户", "92", "91")
    first17 = np.char.add(np.char.add(prefix, county), _org_codes(rng, n))
    return np.char.add(first17, uscc_check_chars(first17))


def _id_with_check(first17: np.ndarray) -> np.ndarray:
    return np.char.add(first17, id_check_chars(first17))


def _wrong_check(ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Same body, a different (hence wrong) check character."""
    right = np.array([s[17] for s in ids])
    shift = rng.integers(1, 11, len(ids))
    pos = np.searchsorted(np.array(sorted(_ID_CHECK)), right)
    wrong = np.array(sorted(_ID_CHECK))[(pos + shift) % 11]
    return np.char.add(np.array([s[:17] for s in ids]), wrong)


# --------------------------------------------------------------------------------------
# Geography
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Geography:
    """Streets and communities of the demo region (one row each)."""

    streets: pd.DataFrame  # code, name, urban, cov_eff, str_eff, move_eff, visit_eff
    communities: pd.DataFrame  # code, name, street_code, street_idx, urban, weight, street_name


def make_geography(rng: np.random.Generator) -> Geography:
    streets = pd.DataFrame(
        [(REGION_CODE + s[0], s[1], s[2], s[3], s[4], s[5], s[6]) for s in STREETS],
        columns=["code", "name", "urban", "cov_eff", "str_eff", "move_eff", "visit_eff"],
    )
    stems_c = list(rng.permutation(_COMMUNITY_STEMS))
    stems_v = list(rng.permutation(_VILLAGE_STEMS))
    rows = []
    for si, st in streets.iterrows():
        # Urban streets: mostly 社区 and one 城中村; towns: a seat 社区 or two and villages.
        n_comm, n_vill = (
            (8, 1) if st.urban else (int(rng.integers(1, 3)), int(rng.integers(11, 14)))
        )
        for k in range(n_comm):
            rows.append(
                (
                    st.code + f"{k + 1:03d}",
                    stems_c.pop() + "社区",
                    st.code,
                    si,
                    True,
                    rng.uniform(1.3, 2.3),
                )
            )
        for k in range(n_vill):
            rows.append(
                (
                    st.code + f"{200 + k + 1:03d}",
                    stems_v.pop() + "村",
                    st.code,
                    si,
                    False,
                    rng.uniform(0.6, 1.2),
                )
            )
    comms = pd.DataFrame(
        rows, columns=["code", "name", "street_code", "street_idx", "urban", "weight"]
    )
    comms["street_name"] = streets.name.to_numpy()[comms.street_idx]
    return Geography(streets, comms)


# --------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------


def _dates_from_days(days: np.ndarray) -> np.ndarray:
    return np.datetime64("1970-01-01", "D") + days.astype("timedelta64[D]")


def _ymd(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = dates.astype("datetime64[Y]").astype(int) + 1970
    m = dates.astype("datetime64[M]").astype(int) % 12 + 1
    d = (dates - dates.astype("datetime64[M]")).astype(int) + 1
    return y, m, d


def age_on(birth: np.ndarray, on: dt.date) -> np.ndarray:
    """Completed years on ``on``; a 29 February birthday counts from 1 March in common years."""
    by, bm, bd = _ymd(birth)
    return on.year - by - ((on.month * 100 + on.day) < (bm * 100 + bd)).astype(int)


def _names(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    n = len(male)
    zipf = 1.0 / np.arange(1, len(_SURNAMES) + 1) ** 0.8
    sur = np.array(list(_SURNAMES))[rng.choice(len(_SURNAMES), n, p=zipf / zipf.sum())]
    gm, gf = np.array(list(_GIVEN_MALE)), np.array(list(_GIVEN_FEMALE))
    g1 = np.where(male, gm[rng.integers(0, len(gm), n)], gf[rng.integers(0, len(gf), n)])
    g2 = np.where(male, gm[rng.integers(0, len(gm), n)], gf[rng.integers(0, len(gf), n)])
    two = rng.random(n) < 0.7
    return np.char.add(np.char.add(sur, g1), np.where(two, g2, ""))


def _make_ids(
    rng: np.random.Generator, prefix: np.ndarray, birth: np.ndarray, male: np.ndarray
) -> np.ndarray:
    """Unique valid 18-digit IDs; the 17th digit is odd for men (GB 11643)."""
    ymd = np.char.replace(np.datetime_as_string(birth, unit="D"), "-", "")
    n = len(prefix)
    seq = rng.integers(0, 100, n)
    sexd = rng.integers(0, 5, n) * 2 + male.astype(int)
    while True:
        body = np.char.add(
            np.char.add(prefix, ymd),
            np.char.add(np.char.zfill(seq.astype(str), 2), sexd.astype(str)),
        )
        dup = pd.Series(body).duplicated().to_numpy()
        if not dup.any():
            return _id_with_check(body)
        seq[dup] = rng.integers(0, 100, dup.sum())
        sexd[dup] = rng.integers(0, 5, dup.sum()) * 2 + male[dup].astype(int)


def make_people(rng: np.random.Generator, n: int, geo: Geography) -> pd.DataFrame:
    """Every person ever in the region, with latent traits the files never show."""
    d0 = np.datetime64(QUARTER_ENDS[0].isoformat())
    resonly = rng.random(n) < 0.15
    both = ~resonly & (rng.random(n) < 0.01)
    u = rng.random(n)
    arrival = np.where(u < 0.035, 1, np.where(u < 0.07, 2, 0))
    comms = geo.communities
    w_h = comms.weight.to_numpy()
    w_r = w_h * np.where(comms.urban, 3.0, 0.5)  # residence permits cluster in town
    comm = np.where(
        resonly,
        rng.choice(len(comms), n, p=w_r / w_r.sum()),
        rng.choice(len(comms), n, p=w_h / w_h.sum()),
    )
    res_comm = np.where(both, rng.choice(len(comms), n, p=w_r / w_r.sum()), comm)
    res_comm = np.where(both & (res_comm == comm), (comm + 1) % len(comms), res_comm)
    band = np.where(
        resonly,
        rng.choice(20, n, p=_PYRAMID_MIGRANT / _PYRAMID_MIGRANT.sum()),
        rng.choice(20, n, p=_PYRAMID / _PYRAMID.sum()),
    )
    age_days = ((band * 5 + rng.random(n) * 5) * 365.2425).astype(int)
    birth = d0 - age_days.astype("timedelta64[D]")
    male = rng.random(n) < 0.51
    hukou_prefix = np.where(
        rng.random(n) < 0.88,
        REGION_CODE,
        np.array(_HUKOU_OTHER_PREFIXES)[rng.integers(0, len(_HUKOU_OTHER_PREFIXES), n)],
    )
    res_prefix = np.array(_RESIDENCE_PREFIXES)[rng.integers(0, len(_RESIDENCE_PREFIXES), n)]
    prefix = np.where(resonly, res_prefix, hukou_prefix)
    # Newcomers moving their hukou in were born elsewhere.
    prefix = np.where(~resonly & (arrival > 0), res_prefix, prefix)
    ids = _make_ids(rng, prefix, birth, male)
    urban = comms.urban.to_numpy()[comm]
    income = np.exp(rng.normal(np.where(urban, math.log(36000), math.log(24000)), 0.6))
    # Year from which the person has left (hukou moved out / permit not renewed); 99 = stays.
    ug = rng.random(n)
    gone = np.where(
        resonly,
        np.where(ug < 0.10, 1, np.where(ug < 0.20, 2, 99)),
        np.where(ug < 0.008, 1, np.where(ug < 0.016, 2, 99)),
    )
    gone = np.where(gone <= arrival, 99, gone)
    edu_end = rng.choice([16, 19, 22], n, p=[0.2, 0.35, 0.45])
    return pd.DataFrame(
        {
            "id_number": ids,
            "name": _names(rng, male),
            "male": male,
            "birth": birth,
            "comm": comm,
            "res_comm": res_comm,
            "street": comms.street_idx.to_numpy()[comm],
            "urban": urban,
            "resonly": resonly,
            "both": both,
            "arrival": arrival,
            "gone": gone,
            "income": income,
            "edu_end": edu_end,
        }
    )


# --------------------------------------------------------------------------------------
# Latent memberships of the department lists (eight groups, exclusions)
# --------------------------------------------------------------------------------------

_OCCUPATIONS = np.array(["网约车司机", "快递员", "外卖骑手", "货运司机", "网络主播"])
_OCCUPATION_P = np.array([0.25, 0.30, 0.35, 0.07, 0.03])
_PLATFORMS = {
    "网约车司机": ("滴滴出行", "曹操出行", "T3出行"),
    "快递员": ("顺丰速运", "中通快递", "京东物流", "圆通速递"),
    "外卖骑手": ("美团", "饿了么"),
    "货运司机": ("货拉拉", "满帮"),
    "网络主播": ("抖音", "快手"),
}
_GROUP_OCCUPATIONS = ("网约车司机", "快递员", "外卖骑手", "货运司机")
_PRACTICE_TYPES = np.array(["专职", "兼职", "个体", "自由职业"])
_FREELANCE_PRACTICE = ("兼职", "个体", "自由职业")
_OTHER_CATEGORIES = np.array(
    ["村社区干部", "乡村医生", "基层服务项目高校毕业生", "民办学校教职工", "机关事业单位编外人员"]
)
_CATEGORY_GROUP = {
    "村社区干部": 2,
    "乡村医生": 2,
    "基层服务项目高校毕业生": 8,
    "民办学校教职工": 8,
    "机关事业单位编外人员": 8,
}
_DISABILITY_LEVELS = np.array(["一级", "二级", "三级", "四级"])
_DISABILITY_TYPES = np.array(
    ["视力残疾", "听力残疾", "言语残疾", "肢体残疾", "智力残疾", "精神残疾", "多重残疾"]
)
_MONITOR_TYPES = np.array(["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"])
_SCHOOLS = np.array(
    [
        "示例市第一中学",
        "示例市第二中学",
        "示例市职业高级中学",
        "云南大学",
        "昆明理工大学",
        "云南师范大学",
        "云南民族大学",
        "昆明医科大学",
        "云南财经大学",
    ]
)
_WORKPLACES = np.array(
    ["本市", "昆明市官渡区", "广东省深圳市", "浙江省宁波市", "江苏省苏州市", "上海市"]
)
_EMPLOYMENT_TYPES = np.array(["务工", "灵活就业", "自主创业", "公益性岗位"])
_TRADE_NAMES = list("兴旺顺达鑫源华盛金鹏宏达恒通云翔福泰永利嘉禾聚丰瑞祥家和万隆")
_SHOP_KINDS = np.array(
    [
        "餐馆",
        "小吃店",
        "五金店",
        "便利店",
        "理发店",
        "汽车修理部",
        "农资店",
        "服装店",
        "水果店",
        "建材经营部",
        "茶叶店",
        "烧烤店",
    ]
)
_FIRM_TRADES = np.array(
    [
        "商贸",
        "建筑工程",
        "农业开发",
        "物流",
        "餐饮管理",
        "科技",
        "物业服务",
        "运输",
        "家政服务",
        "食品",
    ]
)


def _churn(rng: np.random.Generator, p: np.ndarray, stay: float = 0.88) -> np.ndarray:
    """Membership of a yearly list over the three years, with people joining and leaving.

    ``p`` is each person's chance to be on the list (0 when not eligible); the
    stationary share stays ``p`` because joiners replace leavers.
    """
    n = len(p)
    m = np.zeros((n, N_YEARS), dtype=bool)
    m[:, 0] = rng.random(n) < p
    join = np.clip(p * (1 - stay) / np.maximum(1 - p, 1e-9), 0, 1)
    for y in range(1, N_YEARS):
        m[:, y] = np.where(m[:, y - 1], rng.random(n) < stay, rng.random(n) < join)
    return m


@dataclass
class Latent:
    """Who is on which department list in which year, and the facts the lists carry."""

    member: dict[str, np.ndarray]  # kind -> (n, 3) bool
    attrs: dict[str, np.ndarray] = field(default_factory=dict)


def make_latent(rng: np.random.Generator, people: pd.DataFrame) -> Latent:
    n = len(people)
    age = age_on(people.birth.to_numpy(), QUARTER_ENDS[0])
    urban = people.urban.to_numpy()
    male = people.male.to_numpy()
    resonly = people.resonly.to_numpy()
    adult = (age >= 18) & (age <= 70)
    working = (age >= 18) & (age <= 55)
    mem: dict[str, np.ndarray] = {}
    at: dict[str, np.ndarray] = {}
    mem["operator"] = _churn(
        rng, np.where((age >= 22) & (age <= 65), np.where(urban, 0.05, 0.03), 0.0), 0.9
    )
    mem["landless"] = _churn(rng, np.where(~urban & ~resonly & (age >= 16), 0.09, 0.0), 0.97)
    at["expropriation_date"] = _dates_from_days(
        rng.integers(
            np.datetime64("2005-01-01").astype(int), np.datetime64("2022-12-31").astype(int), n
        )
    )
    mem["migrant_worker"] = _churn(rng, np.where(~urban & ~resonly & working, 0.20, 0.0), 0.85)
    mem["platform_worker"] = _churn(
        rng, np.where((age >= 18) & (age <= 50), np.where(male, 0.035, 0.012), 0.0), 0.8
    )
    occ = rng.choice(len(_OCCUPATIONS), n, p=_OCCUPATION_P)
    at["occupation"] = _OCCUPATIONS[occ]
    at["platform"] = np.array(
        [
            _PLATFORMS[o][i % len(_PLATFORMS[o])]
            for o, i in zip(_OCCUPATIONS[occ], rng.integers(0, 12, n))
        ]
    )
    at["platform_start"] = _dates_from_days(
        rng.integers(
            np.datetime64("2016-01-01").astype(int), np.datetime64("2023-03-01").astype(int), n
        )
    )
    mem["licensed_professional"] = _churn(
        rng, np.where((age >= 25) & (age <= 65), np.where(urban, 0.006, 0.001), 0.0), 0.95
    )
    at["profession"] = np.where(rng.random(n) < 0.55, "律师", "导游")
    at["practice_type"] = _PRACTICE_TYPES[rng.choice(4, n, p=[0.5, 0.2, 0.1, 0.2])]
    mem["dibao"] = _churn(rng, np.where(urban, 0.02, 0.045) * (age >= 0), 0.85)
    mem["tekun"] = _churn(rng, np.where(age >= 60, 0.012, 0.001), 0.95)
    mem["fanpin"] = _churn(rng, np.where(~urban & ~resonly, 0.012, 0.0), 0.8)
    at["monitor_type"] = _MONITOR_TYPES[rng.choice(3, n, p=[0.5, 0.35, 0.15])]
    mem["disability"] = _churn(rng, np.where(age >= 40, 0.08, 0.035), 0.97)
    at["disability_level"] = _DISABILITY_LEVELS[rng.choice(4, n, p=[0.1, 0.2, 0.3, 0.4])]
    at["disability_type"] = _DISABILITY_TYPES[
        rng.choice(7, n, p=[0.15, 0.2, 0.05, 0.35, 0.1, 0.1, 0.05])
    ]
    cat_p = np.column_stack(
        [
            np.where((age >= 25) & (age <= 60), 0.005, 0.0),
            np.where(~urban & (age >= 25) & (age <= 65), 0.002, 0.0),
            np.where((age >= 22) & (age <= 30), 0.012, 0.0),
            np.where(urban & (age >= 22) & (age <= 55), 0.005, 0.0),
            np.where((age >= 20) & (age <= 55), 0.008, 0.0),
        ]
    )
    mem["other_eligible"] = _churn(rng, cat_p.sum(axis=1), 0.85)
    at["category"] = _OTHER_CATEGORIES[
        (rng.random(n)[:, None] * cat_p.sum(axis=1)[:, None] > np.cumsum(cat_p, axis=1))
        .sum(axis=1)
        .clip(0, 4)
    ]
    mem["income_assets"] = _churn(
        rng, np.where(adult, np.where(people.income.to_numpy() > 50000, 0.9, 0.35), 0.0), 0.9
    )
    at["properties"] = rng.choice([0, 1, 1, 1, 2, 2, 3], n)
    at["vehicles"] = rng.choice([0, 0, 1, 1, 1, 2], n)
    at["inmate"] = (age >= 18) & (age <= 55) & (rng.random(n) < np.where(male, 0.0022, 0.0003))
    at["release_date"] = _dates_from_days(
        rng.integers(
            np.datetime64("2023-05-01").astype(int), np.datetime64("2030-12-31").astype(int), n
        )
    )
    return Latent(mem, at)


@dataclass(frozen=True)
class Entities:
    """Market entities (individual businesses and small firms) run by people of the region."""

    table: (
        pd.DataFrame
    )  # uscc, entity_name, entity_type, operator (person idx), established, comm, employees
    status: np.ndarray  # (m, 3) registration status per year ('' = not listed)
    tax_status: np.ndarray  # (m, 3) tax status per year ('' = no taxpayer record)


def make_entities(
    rng: np.random.Generator, people: pd.DataFrame, latent: Latent, geo: Geography
) -> Entities:
    op = latent.member["operator"]
    owners = np.flatnonzero(op.any(axis=1))
    m = len(owners)
    first_year = op[owners].argmax(axis=1)
    urban = people.urban.to_numpy()[owners]
    firm = rng.random(m) < np.where(urban, 0.3, 0.15)
    etype = np.where(firm, "有限责任公司", "个体工商户")
    comm = people.comm.to_numpy()[owners]
    list_day = np.array(
        [np.datetime64(QUARTER_ENDS[4 * y].isoformat()).astype(int) for y in range(N_YEARS)]
    )
    est_hi = list_day[first_year]
    est_lo = np.where(first_year == 0, np.datetime64("2005-01-01").astype(int), est_hi - 365)
    established = _dates_from_days(rng.integers(est_lo, est_hi))
    trade = np.array(_TRADE_NAMES)
    zh = np.char.add(trade[rng.integers(0, len(trade), m)], trade[rng.integers(0, len(trade), m)])
    short_street = np.array([s[:2] for s in geo.streets.name])[people.street.to_numpy()[owners]]
    names = np.where(
        firm,
        np.char.add(
            np.char.add(REGION_NAME + "", zh),
            np.char.add(_FIRM_TRADES[rng.integers(0, 10, m)], "有限责任公司"),
        ),
        np.char.add(
            np.char.add(np.char.add(REGION_NAME, short_street), zh),
            _SHOP_KINDS[rng.integers(0, 12, m)],
        ),
    )
    employees = np.where(firm, rng.integers(3, 60, m), rng.integers(1, 6, m))
    uscc = make_usccs(rng, m, etype, np.full(m, REGION_CODE))
    status = np.full((m, N_YEARS), "", dtype=object)
    tax = np.full((m, N_YEARS), "", dtype=object)
    has_tax = rng.random(m) < 0.95
    for y in range(N_YEARS):
        now, before = op[owners, y], op[owners, y - 1] if y else np.zeros(m, dtype=bool)
        active = now & (established.astype(int) <= list_day[y])
        status[active, y] = np.where(rng.random(active.sum()) < 0.8, "存续", "在业")
        closed = ~now & before
        status[closed, y] = np.where(rng.random(closed.sum()) < 0.7, "注销", "吊销")
        tax[active & has_tax, y] = np.where(
            rng.random((active & has_tax).sum()) < 0.88, "正常", "非正常"
        )
        tax[closed & has_tax, y] = "注销"
    table = pd.DataFrame(
        {
            "uscc": uscc,
            "entity_name": names,
            "entity_type": etype,
            "operator": owners,
            "established": established,
            "comm": comm,
            "employees": employees,
        }
    )
    return Entities(table, status, tax)


# --------------------------------------------------------------------------------------
# Kinds: fields, keys and what may go wrong in each (data contract)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KindSpec:
    """What the contract says about one kind, plus which defects suit it."""

    kind: str
    cn: str
    fields: tuple[str, ...]
    required: tuple[str, ...]
    key: tuple[str, ...] = ("id_number",)
    id_field: str | None = "id_number"
    dates: tuple[str, ...] = ()
    required_dates: tuple[str, ...] = ()
    ints: tuple[str, ...] = ()
    required_enums: dict[str, str] = field(default_factory=dict)  # field -> an unknown value
    # optional closed field -> (values that may be made unreadable without changing meaning, bad value)
    optional_enums: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)
    conflict_field: str | None = None
    optional_date_warn: str | None = None
    address_field: str | None = None
    name_mismatch: bool = True


KINDS: dict[str, KindSpec] = {
    s.kind: s
    for s in (
        KindSpec(
            "hukou",
            "户籍人口",
            ("id_number", "name", "gender", "address_code", "address", "status"),
            ("id_number", "name", "address_code"),
            optional_enums={"status": (("正常",), "不详"), "gender": (("男", "女"), "未说明")},
            conflict_field="address_code",
            address_field="address_code",
            name_mismatch=False,
        ),
        KindSpec(
            "residence",
            "居住证",
            ("id_number", "name", "address_code", "address"),
            ("id_number", "name", "address_code"),
            conflict_field="address_code",
            address_field="address_code",
            name_mismatch=False,
        ),
        KindSpec(
            "death",
            "死亡人员",
            ("id_number", "name", "death_date"),
            ("id_number",),
            dates=("death_date",),
            conflict_field="death_date",
            optional_date_warn="death_date",
        ),
        KindSpec(
            "pension_enrollment",
            "养老保险参保",
            (
                "id_number",
                "name",
                "scheme",
                "status",
                "region_code",
                "start_date",
                "grade",
                "base",
                "employer_uscc",
            ),
            ("id_number", "scheme", "status", "region_code"),
            key=("id_number", "scheme", "region_code"),
            dates=("start_date",),
            ints=("grade", "base"),
            required_enums={"scheme": "其他险种", "status": "待核实"},
            conflict_field="status",
            optional_date_warn="start_date",
            address_field="region_code",
        ),
        KindSpec(
            "market_entity",
            "市场主体",
            (
                "uscc",
                "entity_name",
                "entity_type",
                "operator_id_number",
                "status",
                "established_date",
                "address_code",
                "employees",
            ),
            ("uscc", "entity_name", "entity_type", "operator_id_number"),
            key=("uscc",),
            id_field="operator_id_number",
            dates=("established_date",),
            ints=("employees",),
            optional_enums={"status": (("存续", "在业"), "待核实")},
            conflict_field="employees",
            optional_date_warn="established_date",
            name_mismatch=False,
        ),
        KindSpec(
            "taxpayer",
            "纳税主体",
            ("uscc", "taxpayer_name", "tax_status", "annual_revenue", "employees"),
            ("uscc", "tax_status"),
            key=("uscc",),
            id_field=None,
            ints=("annual_revenue", "employees"),
            required_enums={"tax_status": "待核实"},
            conflict_field="tax_status",
            name_mismatch=False,
        ),
        KindSpec(
            "student",
            "在校生",
            ("id_number", "name", "school"),
            ("id_number",),
            conflict_field="school",
        ),
        KindSpec(
            "inmate",
            "服刑人员",
            ("id_number", "name", "release_date"),
            ("id_number",),
            dates=("release_date",),
            conflict_field="release_date",
            name_mismatch=False,
        ),
        KindSpec(
            "dibao",
            "低保",
            ("id_number", "name", "category"),
            ("id_number",),
            conflict_field="category",
        ),
        KindSpec("tekun", "特困", ("id_number", "name"), ("id_number",)),
        KindSpec(
            "fanpin",
            "防返贫监测",
            ("id_number", "name", "monitor_type"),
            ("id_number",),
            conflict_field="monitor_type",
        ),
        KindSpec(
            "disability",
            "残疾人",
            ("id_number", "name", "disability_type", "disability_level"),
            ("id_number", "disability_level"),
            required_enums={"disability_level": "五级"},
            conflict_field="disability_type",
        ),
        KindSpec(
            "landless",
            "被征地农民",
            ("id_number", "name", "expropriation_date"),
            ("id_number",),
            dates=("expropriation_date",),
            conflict_field="expropriation_date",
            optional_date_warn="expropriation_date",
        ),
        KindSpec(
            "migrant_worker",
            "转移就业",
            (
                "id_number",
                "name",
                "employment_start",
                "employment_type",
                "monthly_income",
                "workplace",
            ),
            ("id_number", "employment_start"),
            dates=("employment_start",),
            required_dates=("employment_start",),
            ints=("monthly_income",),
            conflict_field="monthly_income",
        ),
        KindSpec(
            "platform_worker",
            "新就业形态",
            ("id_number", "name", "occupation", "platform", "start_date", "monthly_income"),
            ("id_number", "occupation"),
            key=("id_number", "occupation", "platform"),
            dates=("start_date",),
            ints=("monthly_income",),
            conflict_field="monthly_income",
            optional_date_warn="start_date",
        ),
        KindSpec(
            "licensed_professional",
            "执业资格",
            ("id_number", "name", "profession", "practice_type", "institution"),
            ("id_number", "profession"),
            key=("id_number", "profession"),
            optional_enums={"practice_type": (("专职",), "其他")},
            conflict_field="institution",
        ),
        KindSpec(
            "income_assets",
            "收入资产",
            ("id_number", "name", "annual_income", "properties", "vehicles"),
            ("id_number",),
            ints=("annual_income", "properties", "vehicles"),
            conflict_field="vehicles",
        ),
        KindSpec(
            "other_eligible",
            "其他应参人员",
            ("id_number", "name", "category", "employer"),
            ("id_number", "category"),
            key=("id_number", "category"),
            required_enums={"category": "其他人员"},
            conflict_field="employer",
        ),
        KindSpec(
            "division",
            "行政区划",
            ("code", "name"),
            ("code", "name"),
            key=("code",),
            id_field=None,
            name_mismatch=False,
        ),
        KindSpec(
            "survey",
            "入户调查",
            (
                "id_number",
                "name",
                "survey_date",
                "result",
                "willingness",
                "reason",
                "ability_to_pay",
                "phone",
                "surveyor",
            ),
            ("id_number", "survey_date", "result"),
            key=("id_number", "survey_date"),
            dates=("survey_date",),
            required_dates=("survey_date",),
            required_enums={"result": "不详"},
            optional_enums={"ability_to_pay": (("强", "一般", "弱"), "不清楚")},
            conflict_field="result",
        ),
    )
}

# Header variants per kind (contract synonyms); a file uses one variant, chosen by year.
HEADERS: dict[str, tuple[dict[str, str], ...]] = {
    "hukou": (
        {
            "id_number": "身份证号",
            "name": "姓名",
            "gender": "性别",
            "address_code": "户籍地址编码",
            "address": "户籍地址",
            "status": "人口状态",
        },
        {
            "id_number": "公民身份号码",
            "name": "姓名",
            "gender": "性别",
            "address_code": "区划代码",
            "address": "住址",
            "status": "人口状态",
        },
        {
            "id_number": "身份证号码",
            "name": "人员姓名",
            "gender": "性别",
            "address_code": "村居编码",
            "address": "户籍地址",
            "status": "人口状态",
        },
    ),
    "residence": (
        {
            "id_number": "身份证号",
            "name": "姓名",
            "address_code": "居住地址编码",
            "address": "居住地址",
        },
        {
            "id_number": "证件号码",
            "name": "名字",
            "address_code": "社区编码",
            "address": "居住地址",
        },
        {
            "id_number": "公民身份号码",
            "name": "姓名",
            "address_code": "区划代码",
            "address": "居住地址",
        },
    ),
    "death": (
        {"id_number": "身份证号码", "name": "姓名", "death_date": "死亡日期"},
        {"id_number": "公民身份号码", "name": "人员姓名", "death_date": "死亡日期"},
    ),
    "pension_enrollment": (
        {
            "id_number": "身份证号",
            "name": "姓名",
            "scheme": "险种",
            "status": "参保状态",
            "region_code": "参保地",
            "start_date": "参保日期",
            "grade": "缴费档次",
            "base": "缴费基数",
            "employer_uscc": "单位统一社会信用代码",
        },
        {
            "id_number": "公民身份号码",
            "name": "人员姓名",
            "scheme": "险种类型",
            "status": "缴费状态",
            "region_code": "参保统筹区",
            "start_date": "首次参保日期",
            "grade": "缴费档次",
            "base": "缴费基数",
            "employer_uscc": "单位信用代码",
        },
        {
            "id_number": "社会保障号码",
            "name": "姓名",
            "scheme": "险种类型",
            "status": "参保状态",
            "region_code": "参保地区划",
            "start_date": "参保日期",
            "grade": "缴费档次",
            "base": "缴费基数",
            "employer_uscc": "单位统一社会信用代码",
        },
    ),
    "market_entity": (
        {
            "uscc": "统一社会信用代码",
            "entity_name": "主体名称",
            "entity_type": "主体类型",
            "operator_id_number": "经营者身份证号",
            "status": "登记状态",
            "established_date": "成立日期",
            "address_code": "住所区划代码",
            "employees": "从业人数",
        },
        {
            "uscc": "信用代码",
            "entity_name": "企业名称",
            "entity_type": "企业类型",
            "operator_id_number": "法定代表人身份证号",
            "status": "登记状态",
            "established_date": "成立日期",
            "address_code": "区划代码",
            "employees": "从业人数",
        },
        {
            "uscc": "统一社会信用代码",
            "entity_name": "字号名称",
            "entity_type": "主体类型",
            "operator_id_number": "负责人证件号码",
            "status": "登记状态",
            "established_date": "成立日期",
            "address_code": "社区编码",
            "employees": "从业人数",
        },
    ),
    "taxpayer": (
        {
            "uscc": "纳税人识别号",
            "taxpayer_name": "纳税人名称",
            "tax_status": "纳税人状态",
            "annual_revenue": "年营业收入",
            "employees": "从业人数",
        },
        {
            "uscc": "统一社会信用代码",
            "taxpayer_name": "纳税人名称",
            "tax_status": "纳税状态",
            "annual_revenue": "营业收入",
            "employees": "从业人数",
        },
    ),
    "student": (
        {"id_number": "身份证号", "name": "姓名", "school": "学校"},
        {"id_number": "证件号码", "name": "姓名", "school": "学校名称"},
    ),
    "inmate": (
        {"id_number": "身份证号码", "name": "姓名", "release_date": "刑满日期"},
        {"id_number": "公民身份号码", "name": "人员姓名", "release_date": "刑满日期"},
    ),
    "dibao": (
        {"name": "姓名", "id_number": "身份证号", "category": "低保类别"},
        {"name": "姓名", "id_number": "身份证号码", "category": "低保类别"},
    ),
    "tekun": (
        {"name": "姓名", "id_number": "身份证号码"},
        {"name": "人员姓名", "id_number": "公民身份号码"},
    ),
    "fanpin": (
        {"name": "姓名", "id_number": "身份证号", "monitor_type": "监测类型"},
        {"name": "名字", "id_number": "证件号码", "monitor_type": "监测类型"},
    ),
    "disability": (
        {
            "name": "姓名",
            "id_number": "身份证号",
            "disability_type": "残疾类别",
            "disability_level": "残疾等级",
        },
        {
            "name": "人员姓名",
            "id_number": "证件号码",
            "disability_type": "残疾类别",
            "disability_level": "残疾等级",
        },
    ),
    "landless": (
        {"name": "姓名", "id_number": "身份证号码", "expropriation_date": "征地时间"},
        {"name": "姓名", "id_number": "社会保障号码", "expropriation_date": "征地时间"},
    ),
    "migrant_worker": (
        {
            "name": "姓名",
            "id_number": "身份证号",
            "employment_start": "就业开始时间",
            "employment_type": "就业形式",
            "monthly_income": "月收入",
            "workplace": "务工地点",
        },
        {
            "name": "姓名",
            "id_number": "公民身份号码",
            "employment_start": "务工开始时间",
            "employment_type": "就业形式",
            "monthly_income": "月收入",
            "workplace": "务工地点",
        },
    ),
    "platform_worker": (
        {
            "name": "姓名",
            "id_number": "身份证号",
            "occupation": "职业",
            "platform": "平台",
            "start_date": "注册日期",
            "monthly_income": "月均收入",
        },
        {
            "name": "姓名",
            "id_number": "证件号码",
            "occupation": "从业类型",
            "platform": "平台企业",
            "start_date": "从业开始时间",
            "monthly_income": "月均收入",
        },
    ),
    "licensed_professional": (
        {
            "name": "姓名",
            "id_number": "身份证号码",
            "profession": "执业类别",
            "practice_type": "执业类型",
            "institution": "执业机构",
        },
        {
            "name": "姓名",
            "id_number": "身份证号",
            "profession": "职业",
            "practice_type": "执业类型",
            "institution": "执业机构",
        },
    ),
    "income_assets": (
        {
            "id_number": "身份证号",
            "name": "姓名",
            "annual_income": "年收入",
            "properties": "房产套数",
            "vehicles": "车辆数",
        },
        {
            "id_number": "公民身份号码",
            "name": "姓名",
            "annual_income": "年度收入",
            "properties": "房产套数",
            "vehicles": "车辆数",
        },
    ),
    "other_eligible": (
        {"name": "姓名", "id_number": "身份证号", "category": "人员类别", "employer": "工作单位"},
        {"name": "人员姓名", "id_number": "证件号码", "category": "人员类别", "employer": "单位"},
    ),
    "division": (
        {"code": "区划代码", "name": "区划名称"},
        {"code": "统计用区划代码", "name": "名称"},
        {"code": "代码", "name": "单位名称"},
    ),
    "survey": (
        {
            "name": "姓名",
            "id_number": "身份证号",
            "survey_date": "调查日期",
            "result": "调查结果",
            "willingness": "参保意愿",
            "reason": "未参保原因",
            "ability_to_pay": "缴费能力",
            "phone": "联系电话",
            "surveyor": "调查人",
        },
        {
            "name": "姓名",
            "id_number": "公民身份号码",
            "survey_date": "走访日期",
            "result": "调查结果",
            "willingness": "参保意愿",
            "reason": "未参保原因",
            "ability_to_pay": "缴费能力",
            "phone": "联系电话",
            "surveyor": "调查人",
        },
    ),
}

# Values a conflicting copy may take instead (any valid value other than the original).
_ALTERNATIVES: dict[str, Sequence[str]] = {
    "status": ("参保缴费", "暂停缴费", "待遇领取"),
    "tax_status": ("正常", "非正常", "注销"),
    "category": ("城市低保", "农村低保"),
    "monitor_type": tuple(_MONITOR_TYPES),
    "disability_type": tuple(_DISABILITY_TYPES),
    "school": tuple(_SCHOOLS),
    "result": ("同意参保", "考虑中", "拒绝", "联系不上"),
}

_SURVEY_RESULTS = ("已参保", "同意参保", "考虑中", "拒绝", "联系不上", "已在外地参保")
_NOT_INSURED_REASONS = np.array(
    ["缴费负担重", "不了解政策", "外出务工", "年龄偏大", "已有商业保险", "其他"]
)


@dataclass(frozen=True)
class FilePlan:
    """How one department file looks: name, format, encoding, headers and decorations."""

    name: str
    headers: dict[str, str]
    fmt: str = "csv"  # csv | xlsx
    encoding: str = "utf-8"
    title: tuple[str, ...] = ()
    date_style: str = "iso"  # iso | slash | compact | chinese
    date_cells: bool = False  # xlsx: real date cells instead of text
    seq_col: bool = False  # xlsx rosters start with a 序号 column
    total_row: bool = False
    blank_tail: int = 0
    short_schemes: bool = False
    level_style: str = "cn"  # disability level: cn 一级 | ji 1级 | num 1
    sheet: str = "Sheet1"
    crlf: bool = False


def _fmt_dates(dates: np.ndarray, style: str) -> np.ndarray:
    """Dates (datetime64, NaT allowed) as text in one of the contract's formats."""
    out = np.full(len(dates), "", dtype=object)
    ok = ~np.isnat(dates)
    if not ok.any():
        return out
    y, m, d = _ymd(dates[ok])
    ys, ms, ds = y.astype(str), m.astype(str), d.astype(str)
    if style == "iso":
        txt = np.datetime_as_string(dates[ok], unit="D")
    elif style == "slash":
        txt = np.char.add(np.char.add(np.char.add(ys, "/"), np.char.add(ms, "/")), ds)
    elif style == "compact":
        txt = np.char.replace(np.datetime_as_string(dates[ok], unit="D"), "-", "")
    else:
        txt = np.char.add(
            np.char.add(np.char.add(ys, "年"), np.char.add(ms, "月")), np.char.add(ds, "日")
        )
    out[ok] = txt
    return out


def _impossible_date(style: str, rng: np.random.Generator) -> str:
    """A date that cannot exist (30 February, month 13), written in the file's style."""
    y = int(rng.integers(2019, 2024))
    m, d = ((2, 30), (2, 31), (4, 31), (13, 5), (6, 31))[int(rng.integers(0, 5))]
    return {
        "iso": f"{y}-{m:02d}-{d:02d}",
        "slash": f"{y}/{m}/{d}",
        "compact": f"{y}{m:02d}{d:02d}",
        "chinese": f"{y}年{m}月{d}日",
    }[style]


def _excel_serial(date: np.datetime64) -> int:
    return int((date - np.datetime64("1899-12-30")).astype(int))


# --------------------------------------------------------------------------------------
# Defect injection: one defect per row, so the truth of every row is certain
# --------------------------------------------------------------------------------------

# Per-row rates (0.1-0.5 % each, as departments' real files have).
_FORMAT_RATES = {
    "id15": 0.003,
    "id_fw": 0.002,
    "id_lx": 0.03,
    "pad": 0.004,
    "date_alt": 0.004,
    "date_fw": 0.002,
    "date_serial": 0.003,
}
_WARN_RATES = {"name_mm": 0.002, "gender_mm": 0.001, "opt_enum": 0.002, "opt_date": 0.002}
_PROBLEM_RATES = {
    "missing_value": 0.002,
    "invalid_id": 0.003,
    "invalid_uscc": 0.004,
    "invalid_date": 0.004,
    "invalid_value": 0.002,
    "invalid_address_code": 0.002,
    "out_of_region": 0.003,
    "conflict": 0.002,
    "duplicate": 0.003,
}
_PADS = (" ", "  ", "\t", "\u3000")


class _Picker:
    """Draws disjoint sets of rows, so no row carries two defects."""

    def __init__(self, n: int, rng: np.random.Generator) -> None:
        self.order = rng.permutation(n)
        self.free = np.ones(n, dtype=bool)
        self.rng = rng

    def take(self, rate: float, eligible: np.ndarray | None = None) -> np.ndarray:
        cand = self.order[self.free[self.order]]
        if eligible is not None:
            cand = cand[eligible[cand]]
        k = int(self.rng.binomial(len(cand), min(rate, 1.0))) if len(cand) else 0
        chosen = np.sort(cand[:k])
        self.free[chosen] = False
        return chosen


@dataclass
class _Rows:
    """Rows of one kind in one batch on their way to files, with what happens to each."""

    data: pd.DataFrame  # canonical fields + _pi, _fidx
    role: np.ndarray  # "accepted" | "duplicate" | "problem"
    reason: np.ndarray  # problem reason or warning reason
    op: np.ndarray  # post-render operation ('' none)


def _fresh_outside_ids(rng: np.random.Generator, k: int) -> np.ndarray:
    prefix = np.array(_OUTSIDE_ADDRESS_COUNTIES)[rng.integers(0, len(_OUTSIDE_ADDRESS_COUNTIES), k)]
    birth = _dates_from_days(
        rng.integers(
            np.datetime64("1950-01-01").astype(int), np.datetime64("2004-12-31").astype(int), k
        )
    )
    return _make_ids(rng, prefix, birth, rng.random(k) < 0.5)


def _alternative(
    field_name: str, values: pd.Series, rng: np.random.Generator, comm_codes: np.ndarray
) -> list:
    """A valid value different from each original: what a conflicting copy carries."""
    out = []
    for v in values:
        if field_name in _ALTERNATIVES:
            choices = [c for c in _ALTERNATIVES[field_name] if c != v]
            out.append(choices[int(rng.integers(0, len(choices)))])
        elif field_name == "address_code":
            choices = comm_codes[comm_codes != v]
            out.append(str(choices[int(rng.integers(0, len(choices)))]))
        elif isinstance(v, (np.datetime64, pd.Timestamp, dt.date)) and not pd.isna(v):
            out.append(pd.Timestamp(v) - pd.Timedelta(days=int(rng.integers(30, 400))))
        elif field_name in ("release_date", "death_date", "expropriation_date"):
            out.append(pd.Timestamp("2022-06-15") - pd.Timedelta(days=int(rng.integers(0, 400))))
        elif isinstance(v, (int, np.integer)):
            out.append(int(v) + int(rng.integers(1, 9)))
        elif v == "" and field_name in ("employees", "monthly_income", "vehicles"):
            out.append(int(rng.integers(1, 9)))
        else:
            out.append(f"{v}分部" if v else "示例市人力资源服务中心")
    return out


def inject_defects(
    data: pd.DataFrame,
    spec: KindSpec,
    plans: list[FilePlan],
    as_of: dt.date,
    rng: np.random.Generator,
    ctx: dict,
) -> _Rows:
    """Add the contract's defects to the genuine rows of one kind in one batch.

    ``data`` holds canonical values, one genuine row per record (all valid, keys unique),
    sorted by file; ``ctx`` gives the helpers that know the world (names, hukou people,
    community codes). Returns every row in final file order with its fate.
    """
    n = len(data)
    data = data.reset_index(drop=True).copy()
    pick = _Picker(n, rng)
    op = np.full(n, "", dtype=object)
    reason = np.full(n, "", dtype=object)
    fidx = data._fidx.to_numpy()
    xlsx = np.array([p.fmt == "xlsx" for p in plans])[fidx]
    date_cells = np.array([p.date_cells for p in plans])[fidx]
    ids = data[spec.id_field].to_numpy() if spec.id_field else None

    # -- formatting defects on genuine rows: normalised away by the importer
    if ids is not None:
        id_text = pd.Series(ids, dtype=object)
        has_id = ids != ""
        born_1900s = (id_text.str[6:8] == "19").to_numpy() & has_id
        op[pick.take(_FORMAT_RATES["id15"], born_1900s)] = "id15"
        op[pick.take(_FORMAT_RATES["id_fw"], has_id)] = "id_fw"
        op[pick.take(_FORMAT_RATES["id_lx"], id_text.str.endswith("X").to_numpy())] = "id_lx"
    op[pick.take(_FORMAT_RATES["pad"])] = "pad"
    if spec.dates:
        has_date = ~data[spec.dates[0]].isna().to_numpy()
        op[pick.take(_FORMAT_RATES["date_alt"], has_date)] = "date_alt"
        op[pick.take(_FORMAT_RATES["date_fw"], has_date & ~date_cells)] = "date_fw"
        op[pick.take(_FORMAT_RATES["date_serial"], has_date & xlsx)] = "date_serial"

    # -- warnings on genuine rows: accepted, but the importer should flag them
    if spec.name_mismatch and "name" in data:
        rows = pick.take(_WARN_RATES["name_mm"], ctx["has_hukou"](data._pi.to_numpy()))
        data.loc[rows, "name"] = ctx["other_name"](data.loc[rows, "name"].to_numpy())
        reason[rows] = "name_mismatch"
    if spec.kind == "hukou":
        rows = pick.take(_WARN_RATES["gender_mm"])
        data.loc[rows, "gender"] = np.where(data.loc[rows, "gender"] == "男", "女", "男")
        reason[rows] = "gender_mismatch"
    for fld, (safe, bad) in spec.optional_enums.items():
        rows = pick.take(_WARN_RATES["opt_enum"], data[fld].isin(safe).to_numpy())
        data.loc[rows, fld] = bad
        reason[rows] = "invalid_value"
    if spec.optional_date_warn:
        rows = pick.take(_WARN_RATES["opt_date"], ~data[spec.optional_date_warn].isna().to_numpy())
        op[rows] = "opt_date"
        reason[rows] = "invalid_date"

    # -- extra rows: problems (copies of genuine rows with one thing wrong) and duplicates
    extras: list[
        tuple[pd.DataFrame, str, str, bool]
    ] = []  # rows, role/reason, op, placed after source

    def copies(rows: np.ndarray) -> pd.DataFrame:
        return data.loc[rows].copy().assign(_src=rows)

    rows = pick.take(_PROBLEM_RATES["missing_value"])
    if len(rows):
        c = copies(rows)
        for i, fld in zip(c.index, rng.choice(list(spec.required), len(rows))):
            c.at[i, fld] = pd.NaT if fld in spec.dates else ""
        extras.append((c, "missing_value", "", False))
    if ids is not None:
        rows = pick.take(_PROBLEM_RATES["invalid_id"], has_id)
        if len(rows):
            c = copies(rows)
            bad = _wrong_check(c[spec.id_field].to_numpy().astype(str), rng)
            # One in five carries an impossible birth month instead (with a right check digit).
            month13 = rng.random(len(rows)) < 0.2
            body = np.array([s[:10] + "13" + s[12:17] for s in c[spec.id_field]])
            bad = np.where(month13, _id_with_check(body), bad) if len(body) else bad
            c[spec.id_field] = bad
            extras.append((c, "invalid_id", "", False))
    if "uscc" in spec.fields:
        rows = pick.take(_PROBLEM_RATES["invalid_uscc"])
        if len(rows):
            c = copies(rows)
            u = c.uscc.to_numpy().astype(str)
            forbidden = rng.random(len(rows)) < 0.3  # a letter GB 32100 never uses (I, O, S, V, Z)
            letters = np.array(list("IOSVZ"))[rng.integers(0, 5, len(rows))]
            wrong = np.array(
                [
                    USCC_CHARS[(USCC_CHARS.index(s[17]) + int(k)) % 31]
                    for s, k in zip(u, rng.integers(1, 31, len(rows)))
                ]
            )
            c["uscc"] = np.where(
                forbidden,
                [s[:10] + ch + s[11:] for s, ch in zip(u, letters)],
                [s[:17] + w for s, w in zip(u, wrong)],
            )
            extras.append((c, "invalid_uscc", "", False))
    for fld in spec.required_dates:
        rows = pick.take(_PROBLEM_RATES["invalid_date"])
        if len(rows):
            c = copies(rows)
            future = rng.random(len(rows)) < 0.5
            later = pd.Timestamp(as_of) + pd.to_timedelta(
                rng.integers(20, 300, len(rows)), unit="D"
            )
            c[fld] = np.where(future, later, c[fld].to_numpy())
            extras.append((c[future], "invalid_date", "", False))
            extras.append((c[~future], "invalid_date", "bad_date", False))
    for fld, bad in spec.required_enums.items():
        rows = pick.take(_PROBLEM_RATES["invalid_value"] / len(spec.required_enums))
        if len(rows):
            extras.append((copies(rows).assign(**{fld: bad}), "invalid_value", "", False))
    if spec.address_field:
        rows = pick.take(_PROBLEM_RATES["invalid_address_code"])
        if len(rows):
            c = copies(rows)
            codes = c[spec.address_field].astype(str)
            if spec.kind == "pension_enrollment":
                c[spec.address_field] = np.where(
                    rng.random(len(rows)) < 0.5, "5301", REGION_CODE + "0010011"
                )
            else:  # a 9-digit street code or a code that lost a digit
                c[spec.address_field] = np.where(
                    rng.random(len(rows)) < 0.5, codes.str[:9], codes.str[:11]
                )
            extras.append((c, "invalid_address_code", "", False))
    if spec.address_field and spec.kind != "pension_enrollment":
        rows = pick.take(_PROBLEM_RATES["out_of_region"])
        if len(rows):
            c = copies(rows)
            c["id_number"] = _fresh_outside_ids(rng, len(rows))
            c["name"] = ctx["other_name"](c.name.to_numpy())
            county = np.array(_OUTSIDE_ADDRESS_COUNTIES)[
                rng.integers(0, len(_OUTSIDE_ADDRESS_COUNTIES), len(rows))
            ]
            c[spec.address_field] = [
                f"{k}{int(a):03d}{int(b):03d}"
                for k, a, b in zip(
                    county, rng.integers(1, 12, len(rows)), rng.integers(1, 30, len(rows))
                )
            ]
            if "address" in c:
                c["address"] = "外县" + c.address.str.slice(3)
            if "gender" in c:
                c["gender"] = np.where(
                    np.array([int(s[16]) % 2 for s in c.id_number]) == 1, "男", "女"
                )
            c["_pi"] = -1
            extras.append((c, "out_of_region", "", False))
    if spec.conflict_field:
        rows = pick.take(_PROBLEM_RATES["conflict"])
        if len(rows):
            c = copies(rows)
            c[spec.conflict_field] = _alternative(
                spec.conflict_field, c[spec.conflict_field], rng, ctx["community_codes"]
            )
            extras.append((c, "conflict", "", True))
    rows = pick.take(_PROBLEM_RATES["duplicate"])
    if len(rows):
        extras.append((copies(rows), "duplicate", "", True))

    return _interleave(data, op, reason, extras, rng)


def _interleave(
    data: pd.DataFrame,
    op: np.ndarray,
    reason: np.ndarray,
    extras: list[tuple[pd.DataFrame, str, str, bool]],
    rng: np.random.Generator,
) -> _Rows:
    """Put extra rows among the genuine ones, in the source's file, conflicts and duplicates after it."""
    n = len(data)
    fidx = data._fidx.to_numpy()
    starts = np.searchsorted(fidx, fidx, side="left")
    ends = np.searchsorted(fidx, fidx, side="right") - 1
    slot = [np.arange(n, dtype=float)]
    frames = [data]
    roles = [np.full(n, "accepted", dtype=object)]
    reasons = [reason]
    ops = [op]
    for rows, why, row_op, after in extras:
        if rows.empty:
            continue
        src = rows._src.to_numpy()
        lo = src if after else starts[src] - 1
        pos = lo + np.floor(rng.random(len(src)) * (ends[src] - lo + 1))
        slot.append(pos + 0.5)
        frames.append(rows.drop(columns="_src"))
        roles.append(
            np.full(len(rows), "duplicate" if why == "duplicate" else "problem", dtype=object)
        )
        reasons.append(np.full(len(rows), "" if why == "duplicate" else why, dtype=object))
        ops.append(np.full(len(rows), row_op, dtype=object))
    slots = np.concatenate(slot)
    order = np.lexsort((rng.random(len(slots)), slots))
    allrows = pd.concat(frames, ignore_index=True).iloc[order].reset_index(drop=True)
    return _Rows(
        allrows,
        np.concatenate(roles)[order],
        np.concatenate(reasons)[order],
        np.concatenate(ops)[order],
    )


# --------------------------------------------------------------------------------------
# Rendering and writing files
# --------------------------------------------------------------------------------------

_SCHEME_SHORT = dict(zip(_SCHEMES[1:], _SCHEMES_SHORT[1:]))
_LEVEL_STYLE = {
    "ji": {"一级": "1级", "二级": "2级", "三级": "3级", "四级": "4级"},
    "num": {"一级": "1", "二级": "2", "三级": "3", "四级": "4"},
}


def _render(
    rows: pd.DataFrame, ops: np.ndarray, spec: KindSpec, plan: FilePlan, rng: np.random.Generator
) -> pd.DataFrame:
    """Cell values of one file, in header order, with the post-render defects applied."""
    cells: dict[str, np.ndarray] = {}
    for fld, head in plan.headers.items():
        col = rows[fld]
        if fld in spec.dates:
            vals = col.to_numpy(dtype="datetime64[D]")
            if plan.date_cells:
                out = np.array(
                    [None if pd.isna(v) else pd.Timestamp(v).to_pydatetime() for v in vals],
                    dtype=object,
                )
            else:
                out = _fmt_dates(vals, plan.date_style)
        else:
            out = col.to_numpy(dtype=object).copy()
            if fld == "scheme" and plan.short_schemes:
                out = pd.Series(out).replace(_SCHEME_SHORT).to_numpy(dtype=object)
            if fld == "disability_level" and plan.level_style in _LEVEL_STYLE:
                out = pd.Series(out).replace(_LEVEL_STYLE[plan.level_style]).to_numpy(dtype=object)
        cells[head] = out
    _apply_ops(cells, rows, ops, spec, plan, rng)
    frame = pd.DataFrame({h: pd.Series(v, dtype=object) for h, v in cells.items()})
    if plan.seq_col:
        frame.insert(0, "序号", np.arange(1, len(frame) + 1, dtype=object))
    return frame


def _apply_ops(
    cells: dict[str, np.ndarray],
    rows: pd.DataFrame,
    ops: np.ndarray,
    spec: KindSpec,
    plan: FilePlan,
    rng: np.random.Generator,
) -> None:
    """Formatting defects and unreadable dates, written into the cells of the marked rows."""
    idh = plan.headers.get(spec.id_field or "", None)
    dfield = spec.dates[0] if spec.dates else None
    dh = plan.headers[dfield] if dfield else None
    for i in np.flatnonzero(ops != ""):
        o = ops[i]
        if o == "id15":  # the old 15-digit form: no century, no check digit
            s = cells[idh][i]
            cells[idh][i] = s[:6] + s[8:17]
        elif o == "id_fw":
            cells[idh][i] = cells[idh][i].translate(_FULLWIDTH)
        elif o == "id_lx":
            cells[idh][i] = cells[idh][i][:17] + "x"
        elif o == "pad":
            col = idh if idh and rng.random() < 0.5 else plan.headers[spec.fields[1]]
            v = str(cells[col][i])
            if v:
                cells[col][i] = _PADS[int(rng.integers(0, 4))] + v + _PADS[int(rng.integers(0, 4))]
        elif o == "date_alt":
            style = ["slash", "compact", "chinese", "iso"][int(rng.integers(0, 4))]
            if style == plan.date_style:
                style = "chinese" if style != "chinese" else "slash"
            v = pd.Timestamp(rows[dfield].iat[i])
            cells[dh][i] = {
                "iso": f"{v:%Y-%m-%d}",
                "slash": f"{v.year}/{v.month}/{v.day}",
                "compact": f"{v:%Y%m%d}",
                "chinese": f"{v.year}年{v.month}月{v.day}日",
            }[style]
        elif o == "date_fw":
            cells[dh][i] = str(cells[dh][i]).translate(_FULLWIDTH)
        elif o == "date_serial":
            cells[dh][i] = _excel_serial(np.datetime64(rows[dfield].iat[i], "D"))
        elif o == "opt_date":
            cells[plan.headers[spec.optional_date_warn]][i] = _impossible_date(plan.date_style, rng)
        elif o == "bad_date":
            cells[plan.headers[spec.required_dates[0]]][i] = _impossible_date(plan.date_style, rng)


def _write_csv(path: pathlib.Path, cells: pd.DataFrame, plan: FilePlan) -> None:
    """CSV with RFC 4180 quoting where a value needs it (pandas' writer is slow on object columns)."""
    eol = "\r\n" if plan.crlf else "\n"
    ncol = cells.shape[1]
    cols = []
    for c in cells.columns:
        col = cells[c].to_numpy(dtype=object).tolist()
        try:
            joined = "\x00".join(col)  # fast path: the column is all text already
        except TypeError:
            col = ["" if v is None else str(v) for v in col]
            joined = "\x00".join(col)
        if any(ch in joined for ch in ',"\r\n'):
            col = [
                f'"{v.replace(chr(34), chr(34) * 2)}"' if any(ch in v for ch in ',"\r\n') else v
                for v in col
            ]
        cols.append(col)
    lines = [t + "," * (ncol - 1) for t in plan.title]
    lines.append(",".join(cells.columns))
    lines.extend(map(",".join, zip(*cols)))
    if plan.total_row:
        lines.append("合计," + f"共{len(cells)}条" + "," * (ncol - 2))
    with open(path, "w", encoding=plan.encoding, newline="") as fh:
        fh.write(eol.join(lines) + eol)


def _write_xlsx(path: pathlib.Path, cells: pd.DataFrame, plan: FilePlan) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(
        str(path),
        {
            "in_memory": True,
            "default_date_format": "yyyy-mm-dd",
            "strings_to_urls": False,
            "strings_to_formulas": False,
        },
    )
    # A fixed creation time keeps the workbook byte-identical from run to run.
    wb.set_properties(
        {"created": dt.datetime(2025, 1, 1), "title": "示例市合成示例数据（非真实数据）"}
    )
    ws = wb.add_worksheet(plan.sheet)
    bold = wb.add_format({"bold": True, "align": "center"})
    border = wb.add_format({"border": 1})
    ncol = cells.shape[1]
    r = 0
    for title in plan.title:
        if ncol > 1:
            ws.merge_range(r, 0, r, ncol - 1, title, bold)
        else:
            ws.write_string(r, 0, title, bold)
        r += 1
    ws.write_row(r, 0, list(cells.columns), bold)
    r += 1
    for row in cells.itertuples(index=False, name=None):
        ws.write_row(r, 0, ["" if v is None else v for v in row])
        r += 1
    if plan.total_row:
        ws.write_row(r, 0, ["合计", f"共{len(cells)}人"])
        r += 1
    for _ in range(plan.blank_tail):  # bordered empty rows that a roster template leaves behind
        for c in range(ncol):
            ws.write_blank(r, c, None, border)
        r += 1
    wb.close()


# --------------------------------------------------------------------------------------
# The world: people's enrollment state, simulated quarter by quarter
# --------------------------------------------------------------------------------------

_NONE, _C, _S, _P, _T = 0, 1, 2, 3, 4  # enrollment statuses (index into _STATUSES)
_RES, _ENT, _INST = 1, 2, 3  # schemes (index into _SCHEMES)
_HK_NONE, _HK_NORMAL, _HK_DEAD, _HK_OUT = -1, 0, 1, 2


@dataclass
class _YearLists:
    """What the yearly (Q1) department lists say: the basis of groups and exclusions."""

    hukou_status: np.ndarray  # per person: -1 absent, 0 正常, 1 死亡, 2 迁出
    residence: np.ndarray  # per person bool
    student: np.ndarray
    inmate_release: np.ndarray  # per person datetime64, NaT when not on the inmate list
    groups_static: np.ndarray  # bit mask of groups 1, 2, 4-8
    migrant_start: np.ndarray  # datetime64 employment_start, NaT when not on the list
    annual_income: np.ndarray  # int, 0 when not on the list
    present: np.ndarray  # here and alive on the list date


class _World:
    def __init__(self, out: pathlib.Path, persons: int, seed: int) -> None:
        self.out = out
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.geo = make_geography(self.rng)
        self.people = make_people(self.rng, persons, self.geo)
        self.latent = make_latent(self.rng, self.people)
        self.entities = make_entities(self.rng, self.people, self.latent, self.geo)
        n = persons
        self.n = n
        self.ids = self.people.id_number.to_numpy()
        self.names = self.people.name.to_numpy()
        self.birth = self.people.birth.to_numpy().astype("datetime64[D]")
        self.male = self.people.male.to_numpy()
        self.urban = self.people.urban.to_numpy()
        self.street = self.people.street.to_numpy()
        self.comm_codes = self.geo.communities.code.to_numpy()
        self.ext_usccs = make_usccs(
            self.rng,
            300,
            np.full(300, "有限责任公司"),
            np.array(_OTHER_PENSION_REGIONS)[np.arange(300) % len(_OTHER_PENSION_REGIONS)],
        )
        self.death_q = np.full(n, 99, dtype=np.int16)
        self.death_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
        self.years: dict[int, _YearLists] = {}
        self.visits: pd.DataFrame | None = None
        self.accounting: list[dict] = []
        self.problems: list[dict] = []
        self.prob_rows: list[pd.DataFrame] = []
        self.kpi_rows: list[pd.DataFrame] = []
        self.files_written = 0
        self.rows_per_kind: dict[str, int] = {}
        self.cadres = _names(self.rng, self.rng.random(2 * len(self.comm_codes)) < 0.4)

    # ---- dates and helpers -------------------------------------------------------------
    @staticmethod
    def day(t: int) -> np.datetime64:
        return np.datetime64(QUARTER_ENDS[t].isoformat())

    def age(self, t: int) -> np.ndarray:
        return age_on(self.birth, QUARTER_ENDS[t])

    def random_days_in_quarter(self, t: int, k: int) -> np.ndarray:
        hi = self.day(t).astype(int)
        lo = self.day(t - 1).astype(int) + 1 if t > 0 else np.datetime64("2023-01-01").astype(int)
        return _dates_from_days(self.rng.integers(lo, hi + 1, k))

    def other_name(self, names: np.ndarray) -> np.ndarray:
        """The same person written with a different given-name character (a typo)."""
        pool = np.array(list(_GIVEN_MALE + _GIVEN_FEMALE))
        repl = pool[self.rng.integers(0, len(pool), len(names))]
        return np.array(
            [s[:-1] + (c if c != s[-1] else "明") for s, c in zip(names, repl)], dtype=object
        )

    # ---- initial enrollment ------------------------------------------------------------
    def init_state(self) -> None:
        rng, n, p = self.rng, self.n, self.people
        age = self.age(0)
        lists = self.year_lists(0)
        g = lists.groups_static | self.group3(lists, 0)
        has = lambda k: (g & _GROUP_BITS[k]) != 0
        upg = np.zeros(n, dtype=bool)
        for k in _UPGRADE_GROUPS:
            upg |= has(k)
        zi = (np.log(p.income.to_numpy()) - math.log(30000)) / 0.6
        cov = self.geo.streets["cov_eff"].to_numpy()[self.street]
        stru = self.geo.streets["str_eff"].to_numpy()[self.street]
        resonly = p.resonly.to_numpy()
        newcomer = p.arrival.to_numpy() > 0
        logit = (
            2.2
            + cov
            + 0.4 * self.urban
            + 1.8 * has(7)
            + 0.5 * has(2)
            - 0.9 * has(3)
            - 0.8 * has(4)
            + 0.3 * zi
            - 0.5 * resonly
            - 1.3 * (age < 25)
            - 0.4 * ((age >= 25) & (age < 35))
            + 0.7 * (age >= 60)
            - 2.5 * lists.student
        )
        insured = (age >= 16) & (rng.random(n) < _sigmoid(logit))
        emp_logit = (
            -2.0 + stru + 0.9 * self.urban + 0.9 * zi - 1.4 * upg - 3.0 * has(7) - 0.5 * resonly
        )
        emp = rng.random(n) < _sigmoid(emp_logit)
        inst = emp & self.urban & (rng.random(n) < 0.14)
        sch = np.where(insured, np.where(emp, np.where(inst, _INST, _ENT), _RES), 0).astype(np.int8)
        elsewhere = insured & (
            rng.random(n)
            < np.where(newcomer, 1.0, np.where(resonly, 0.45, np.where(has(3), 0.15, 0.03)))
        )
        self.sch = sch
        self.reg = np.where(
            elsewhere, rng.integers(1, len(_OTHER_PENSION_REGIONS) + 1, n), 0
        ).astype(np.int16)
        self.reg12 = rng.random(n) < 0.15
        retired = age >= self.retire_age(sch)
        lapsed = rng.random(n) < 0.10
        self.st = np.where(~insured, _NONE, np.where(retired, _P, np.where(lapsed, _S, _C))).astype(
            np.int8
        )
        self.lapse_t = np.where(self.st == _S, -rng.integers(1, 13, n), 0).astype(np.int16)
        self.grade = np.zeros(n, dtype=np.int32)
        self.base = np.zeros(n, dtype=np.int32)
        self.employer = np.full(n, -1, dtype=np.int32)
        self.start = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
        self.assign_terms(np.flatnonzero(insured), g, initial=True)
        # Old terminated enrollments of some uninsured people (they once paid, then stopped).
        self.tsch = np.where(~insured & (age >= 25) & (rng.random(n) < 0.12), _RES, 0).astype(
            np.int8
        )
        self.treg = np.zeros(n, dtype=np.int16)
        # Duplicate enrollments (重复参保): a second active scheme or region for a few people.
        self.dsch = np.zeros(n, dtype=np.int8)
        self.dst = np.zeros(n, dtype=np.int8)
        self.dreg = np.zeros(n, dtype=np.int16)
        dup = insured & ~newcomer & (rng.random(n) < 0.005)
        kind = rng.integers(0, 3, n)
        a = (
            dup & (self.st == _C) & (sch >= _ENT) & (kind == 0)
        )  # employee here + residents' scheme here
        b = dup & (self.st == _C) & (sch == _RES) & (kind == 1)  # residents' scheme in two regions
        c = dup & (self.st == _P) & (kind == 2)  # drawing a pension and paying elsewhere
        self.dsch[a], self.dst[a], self.dreg[a] = _RES, _C, self.reg[a]
        self.dsch[b], self.dst[b] = _RES, _C
        self.dreg[b] = (self.reg[b] % len(_OTHER_PENSION_REGIONS)) + 1
        self.dsch[c], self.dst[c] = _RES, _C
        self.dreg[c] = (self.reg[c] % len(_OTHER_PENSION_REGIONS)) + 1

    def retire_age(self, sch: np.ndarray) -> np.ndarray:
        return np.where(sch == _RES, 60, np.where(self.male, 60, 55))

    def assign_terms(
        self, who: np.ndarray, groups: np.ndarray, initial: bool = False, t: int = 0
    ) -> None:
        """Grade, base, employer and start date of new enrollments of ``who``."""
        rng, k = self.rng, len(who)
        if not k:
            return
        res = self.sch[who] == _RES
        g7 = (groups[who] & _GROUP_BITS[7]) != 0
        p = _RESIDENT_GRADE_P / _RESIDENT_GRADE_P.sum()
        grade = _RESIDENT_GRADES[rng.choice(len(p), k, p=p)]
        self.grade[who] = np.where(res, np.where(g7, 100, grade), 0)  # 代缴 pays the lowest grade
        inc = self.people.income.to_numpy()[who]
        base = np.clip(inc / 12 * rng.uniform(0.6, 1.0, k), 4000, 25000) // 10 * 10
        self.base[who] = np.where(res, 0, base).astype(np.int32)
        # Employers: local firms for some employees, the own business for some operators,
        # a firm elsewhere for some, none (灵活就业) for the rest.
        ent = self.entities.table
        firms = np.flatnonzero(ent.entity_type.to_numpy() == "有限责任公司")
        own = pd.Series(np.arange(len(ent)), index=ent.operator.to_numpy())
        own = own[~own.index.duplicated()]
        emp = ~res & (self.sch[who] == _ENT)
        u = rng.random(k)
        has_own = np.isin(who, own.index.to_numpy())
        local = self.reg[who] == 0
        choice = np.full(k, -1, dtype=np.int32)
        pick_own = emp & has_own & (u < 0.4)
        choice[pick_own] = own.reindex(who[pick_own]).to_numpy()
        pick_firm = emp & local & ~pick_own & (u < 0.5) & (len(firms) > 0)
        if len(firms):
            choice[pick_firm] = firms[rng.integers(0, len(firms), pick_firm.sum())]
        pick_ext = emp & ~pick_own & ~pick_firm & (u > 0.9)
        choice[pick_ext] = -2 - rng.integers(0, len(self.ext_usccs), pick_ext.sum())
        self.employer[who] = choice
        if initial:
            lo = np.maximum(
                self.birth[who].astype(int) + 16 * 365 + 5, np.datetime64("1995-01-01").astype(int)
            )
            hi = self.day(0).astype(int)
            self.start[who] = _dates_from_days(rng.integers(np.minimum(lo, hi - 1), hi))
        else:
            self.start[who] = self.random_days_in_quarter(t, k)

    # ---- yearly lists ------------------------------------------------------------------
    def year_lists(self, y: int) -> _YearLists:
        if y in self.years:
            return self.years[y]
        p, lat, rng = self.people, self.latent, self.rng
        t0 = 4 * y
        d = self.day(t0)
        arrival, gone = p.arrival.to_numpy(), p.gone.to_numpy()
        resonly, both = p.resonly.to_numpy(), p.both.to_numpy()
        present = (arrival <= y) & (gone > y) & (self.death_q > t0)
        hk = np.full(self.n, _HK_NONE, dtype=np.int8)
        on_hukou = ~resonly & (arrival <= y) & (gone >= y) & (self.death_q > t0 - 4)
        hk[on_hukou] = np.where(
            self.death_q[on_hukou] <= t0,
            _HK_DEAD,
            np.where(gone[on_hukou] == y, _HK_OUT, _HK_NORMAL),
        )
        residence = (resonly | both) & present
        age = self.age(t0)
        student = present & (age >= 15) & (age < p.edu_end.to_numpy())
        inmate = present & lat.attrs["inmate"] & (lat.attrs["release_date"] > d)
        release = np.where(inmate, lat.attrs["release_date"], np.datetime64("NaT"))
        m = {k: v[:, y] & present for k, v in lat.member.items()}
        g = np.zeros(self.n, dtype=np.int16)
        ent = self.entities
        ok = np.isin(ent.status[:, y], ("存续", "在业")) & (ent.tax_status[:, y] == "正常")
        g[ent.table.operator.to_numpy()[ok]] |= _GROUP_BITS[1]
        cat = lat.attrs["category"]
        g[m["landless"] | (m["other_eligible"] & np.isin(cat, ("村社区干部", "乡村医生")))] |= (
            _GROUP_BITS[2]
        )
        g[m["platform_worker"] & np.isin(lat.attrs["occupation"], _GROUP_OCCUPATIONS)] |= (
            _GROUP_BITS[4]
        )
        g[
            m["licensed_professional"] & np.isin(lat.attrs["practice_type"], _FREELANCE_PRACTICE)
        ] |= _GROUP_BITS[5]
        income = np.where(
            m["income_assets"],
            np.round(p.income.to_numpy() * 1.05**y * np.exp(rng.normal(0, 0.08, self.n)), -2),
            0,
        )
        g[income >= 60000] |= _GROUP_BITS[6]
        g7 = (
            m["dibao"]
            | m["tekun"]
            | m["fanpin"]
            | (m["disability"] & np.isin(lat.attrs["disability_level"], ("一级", "二级")))
        )
        g[g7] |= _GROUP_BITS[7]
        g[
            m["other_eligible"]
            & np.isin(cat, ("基层服务项目高校毕业生", "民办学校教职工", "机关事业单位编外人员"))
        ] |= _GROUP_BITS[8]
        # Employment start: kept while someone stays on the list, new when they (re)join.
        start = np.full(self.n, np.datetime64("NaT"), dtype="datetime64[D]")
        mw = m["migrant_worker"]
        if y == 0:
            start[mw] = d - rng.integers(0, 8 * 365, mw.sum()).astype("timedelta64[D]")
        else:
            prev = self.years[y - 1].migrant_start
            keep = mw & ~np.isnat(prev)
            start[keep] = prev[keep]
            new = mw & np.isnat(prev)
            start[new] = d - rng.integers(1, 365, new.sum()).astype("timedelta64[D]")
        lists = _YearLists(
            hk, residence, student, release, g, start, income.astype(np.int64), present
        )
        self.years[y] = lists
        return lists

    def group3(self, lists: _YearLists, t: int) -> np.ndarray:
        """Group 3 needs employment_start + 6 months <= D (month arithmetic, clamped)."""
        s = lists.migrant_start
        ok = ~np.isnat(s)
        g = np.zeros(self.n, dtype=np.int16)
        six = (pd.DatetimeIndex(s[ok]) + pd.DateOffset(months=6)).to_numpy().astype("datetime64[D]")
        idx = np.flatnonzero(ok)
        g[idx[six <= self.day(t)]] = _GROUP_BITS[3]
        return g

    # ---- the registry's rules applied to the clean data --------------------------------
    def truth_at(self, t: int) -> dict[str, np.ndarray]:
        """Legal population, groups, enrollment flags and target type at quarter end t."""
        y = t // 4
        lists = self.year_lists(y)
        d = self.day(t)
        groups = lists.groups_static | self.group3(lists, t)
        pop = (lists.hukou_status != _HK_NONE) | lists.residence
        dead = (self.death_q <= t) | (lists.hukou_status == _HK_DEAD)
        serving = ~np.isnat(lists.inmate_release) & (lists.inmate_release >= d)
        legal = (
            pop
            & (self.age(t) >= 16)
            & ~dead
            & (lists.hukou_status != _HK_OUT)
            & ~lists.student
            & ~serving
        )
        st, sch, dst, dsch = self.st, self.sch, self.dst, self.dsch
        insured = np.isin(st, (_C, _S, _P)) | np.isin(dst, (_C, _S, _P))
        contrib = (st == _C) | (dst == _C)
        emp_contrib = ((st == _C) & (sch >= _ENT)) | ((dst == _C) & (dsch >= _ENT))
        res_contrib = ((st == _C) & (sch == _RES)) | ((dst == _C) & (dsch == _RES))
        drawing = (st == _P) | (dst == _P)
        dup_active = np.isin(dst, (_C, _P))
        upg_groups = (groups & sum(_GROUP_BITS[k] for k in _UPGRADE_GROUPS)) != 0
        enroll = legal & ~insured
        resume = legal & ~enroll & (st == _S) & ~dup_active
        upgrade = (
            legal
            & ~enroll
            & ~resume
            & res_contrib
            & ~emp_contrib
            & ~drawing
            & upg_groups
            & ((groups & _GROUP_BITS[7]) == 0)
        )
        target = np.where(enroll, 1, np.where(upgrade, 2, np.where(resume, 3, 0))).astype(np.int8)
        return {
            "legal": legal,
            "groups": groups,
            "insured": insured,
            "contrib": contrib,
            "emp_contrib": emp_contrib,
            "target": target,
            "present": lists.present,
        }

    def record_kpi(self, t: int, tr: dict[str, np.ndarray]) -> None:
        legal = tr["legal"]
        df = pd.DataFrame(
            {
                "community": self.comm_codes[self.people.comm.to_numpy()[legal]],
                "legal_population": 1,
                "insured": tr["insured"][legal].astype(int),
                "contributors": tr["contrib"][legal].astype(int),
                "employee_contributors": tr["emp_contrib"][legal].astype(int),
            }
        )
        df["street"] = df.community.str[:9]
        cols = ["legal_population", "insured", "contributors", "employee_contributors"]
        parts = [
            df[cols].sum().to_frame().T.assign(code=REGION_CODE),
            df.groupby("street")[cols].sum().reset_index().rename(columns={"street": "code"}),
            df.groupby("community")[cols].sum().reset_index().rename(columns={"community": "code"}),
        ]
        k = pd.concat(parts, ignore_index=True)
        k.insert(0, "as_of", QUARTER_ENDS[t].isoformat())
        k["coverage_rate"] = k.insured / k.legal_population
        k["structure_ratio"] = k.employee_contributors / k.contributors
        self.kpi_rows.append(k[["as_of", "code", *cols, "coverage_rate", "structure_ratio"]])

    # ---- one quarter of behaviour ------------------------------------------------------
    def step(self, t: int, tr: dict[str, np.ndarray]) -> None:
        """Move from quarter end t to t+1: deaths, targeted moves (with visits), drift."""
        rng, p = self.rng, self.people
        y1 = (t + 1) // 4
        arrival, gone = p.arrival.to_numpy(), p.gone.to_numpy()
        here_next = (arrival <= y1) & (gone > y1) & (self.death_q > t)
        age_next = self.age(t + 1)
        hazard = np.minimum(np.exp(-10.6 + 0.092 * np.maximum(age_next, 0)) / 4, 0.25)
        dies = here_next & (rng.random(self.n) < hazard)
        self.death_q[dies] = t + 1
        self.death_date[dies] = self.random_days_in_quarter(t + 1, int(dies.sum()))

        target = tr["target"]
        who = np.flatnonzero(target > 0)
        ttype = target[who]
        groups = tr["groups"][who]
        age = self.age(t)[who]
        gflag = {k: ((groups & _GROUP_BITS[k]) != 0).astype(float) for k in range(1, 9)}
        z = (age - 40) / 15
        zi = (np.log(p.income.to_numpy()[who]) - math.log(30000)) / 0.6
        street = self.street[who]
        move_eff = self.geo.streets["move_eff"].to_numpy()[street]
        base = np.zeros(len(who))
        uplift = np.zeros(len(who))
        for code, name in ((1, "enroll"), (2, "upgrade"), (3, "resume")):
            m = ttype == code
            c = MODEL[name]
            lin = (
                c["intercept"]
                + c["age_z"] * z
                + c["age_z2"] * z**2
                + c["male"] * self.male[who]
                + c["urban"] * self.urban[who]
                + c["income_z"] * zi
                + move_eff
            )
            lin += sum(c["group"][str(k)] * gflag[k] for k in range(1, 9))
            if name == "upgrade":
                lin += c["grade_z"] * np.log(np.maximum(self.grade[who], 100) / 300)
            if name == "resume":
                lin += c["lapse_log"] * np.log1p(np.maximum(t - self.lapse_t[who], 0))
            up = c["visit"] + sum(c["visit_group"][str(k)] * gflag[k] for k in range(1, 9))
            base[m], uplift[m] = lin[m], up[m]
        vm = MODEL["visit_model"]
        street_visit = self.geo.streets["visit_eff"].to_numpy()[street]
        v_logit = (
            vm["intercept"]
            + vm["slope"] * (base + 2.5)
            + street_visit
            + rng.normal(0, vm["noise_sd"], len(who))
        )
        visited = rng.random(len(who)) < _sigmoid(v_logit)
        p_move = _sigmoid(base + visited * uplift)
        success = (rng.random(len(who)) < p_move) & ~dies[who]
        p_true = p_move * (1 - np.where(here_next[who], hazard[who], 0.0))

        self.apply_moves(t, who[success], ttype[success], tr["groups"])
        # Dead people's enrollments end (终止参保); a second enrollment is closed too.
        self.st[dies & np.isin(self.st, (_C, _S, _P))] = _T
        self.dst[dies] = 0
        self.dsch[dies] = 0
        # Drift of everyone else who is still here: lapses and retirements.
        rest = here_next & ~dies
        rest[who[success]] = False
        g = tr["groups"]
        risky = (g & (_GROUP_BITS[3] | _GROUP_BITS[4])) != 0
        lh = MODEL["lapse_hazard_per_quarter"]
        hz = np.where(self.sch == _RES, lh["resident"], lh["employee"]) * np.where(
            risky, lh["group_3_or_4_factor"], 1
        )
        lapse = rest & (self.st == _C) & (self.dst == 0) & (rng.random(self.n) < hz)
        self.st[lapse] = _S
        self.lapse_t[lapse] = t + 1
        retire = rest & np.isin(self.st, (_C, _S)) & (age_next >= self.retire_age(self.sch))
        self.st[retire] = _P

        outcome = success.astype(int)
        self.prob_rows.append(
            pd.DataFrame(
                {
                    "as_of": QUARTER_ENDS[t].isoformat(),
                    "id_number": self.ids[who],
                    "true_target_type": np.array(["", "enroll", "upgrade", "resume"])[ttype],
                    "p_true": np.round(p_true, 6),
                    "visited": visited.astype(int),
                    "outcome": outcome,
                    "groups": _GROUP_STRINGS[groups],
                }
            )
        )
        self.make_visits(t, who[visited], ttype[visited], success[visited], tr)

    def apply_moves(self, t: int, who: np.ndarray, ttype: np.ndarray, groups: np.ndarray) -> None:
        rng = self.rng
        enroll, upgrade, resume = who[ttype == 1], who[ttype == 2], who[ttype == 3]
        self.st[resume] = _C
        # Upgrade: the residents' enrollment ends, an employee enrollment starts in the same region.
        assert (self.sch[upgrade] == _RES).all() and (self.st[upgrade] == _C).all()
        self.tsch[upgrade], self.treg[upgrade] = _RES, self.reg[upgrade]
        self.sch[upgrade] = np.where(rng.random(len(upgrade)) < 0.05, _INST, _ENT)
        self.assign_terms(upgrade, groups, t=t + 1)
        # Enroll: 60+ buy in to the residents' scheme and draw at once (补缴); others choose.
        g = groups[enroll]
        age = self.age(t + 1)[enroll]
        zi = (np.log(self.people.income.to_numpy()[enroll]) - math.log(30000)) / 0.6
        able = (
            g & (_GROUP_BITS[1] | _GROUP_BITS[4] | _GROUP_BITS[5] | _GROUP_BITS[6] | _GROUP_BITS[8])
        ) != 0
        emp = (
            (age < 60)
            & ((g & _GROUP_BITS[7]) == 0)
            & (
                rng.random(len(enroll))
                < _sigmoid(-1.3 + 0.9 * self.urban[enroll] + 0.8 * zi + 0.8 * able)
            )
        )
        self.sch[enroll] = np.where(emp, _ENT, _RES)
        self.st[enroll] = np.where(age >= 60, _P, _C)
        away = np.where(
            (g & _GROUP_BITS[3]) != 0,
            0.35,
            np.where(self.people.resonly.to_numpy()[enroll], 0.3, 0.03),
        )
        self.reg[enroll] = np.where(
            rng.random(len(enroll)) < away,
            rng.integers(1, len(_OTHER_PENSION_REGIONS) + 1, len(enroll)),
            0,
        )
        same = (self.tsch[enroll] == self.sch[enroll]) & (self.treg[enroll] == self.reg[enroll])
        self.tsch[enroll[same]] = 0  # re-enrolling reopens the old record
        self.assign_terms(enroll, groups, t=t + 1)

    def make_visits(
        self,
        t: int,
        who: np.ndarray,
        ttype: np.ndarray,
        success: np.ndarray,
        tr: dict[str, np.ndarray],
    ) -> None:
        """入户调查 rows of the visits made during quarter t+1 (they go in batch t+1)."""
        rng = self.rng
        k = len(who)
        res = np.empty(k, dtype=object)
        u = rng.random(k)
        res[:] = np.where(
            u < 0.35,
            "考虑中",
            np.where(
                u < 0.6,
                "拒绝",
                np.where(u < 0.8, "联系不上", np.where(u < 0.92, "同意参保", "已在外地参保")),
            ),
        )
        res[(ttype != 1) & (res == "已在外地参保")] = "考虑中"
        ok = success
        res[ok] = np.where(
            rng.random(ok.sum()) < 0.7,
            "同意参保",
            np.where(
                ttype[ok] == 1,
                np.where(self.reg[who[ok]] > 0, "已在外地参保", "已参保"),
                "同意参保",
            ),
        )
        # A few visits go to people who are already insured (checking the list).
        legal_ins = np.flatnonzero(tr["legal"] & tr["insured"] & (tr["target"] == 0))
        extra = (
            rng.choice(legal_ins, min(len(legal_ins), max(1, k // 8)), replace=False)
            if len(legal_ins)
            else legal_ins
        )
        all_who = np.concatenate([who, extra])
        all_res = np.concatenate([res, np.where(self.reg[extra] > 0, "已在外地参保", "已参保")])
        m = len(all_who)
        will = (
            pd.Series(all_res)
            .map({"同意参保": "愿意", "考虑中": "一般", "拒绝": "不愿意"})
            .fillna("")
            .to_numpy()
        )
        reason = np.where(
            np.isin(all_res, ("考虑中", "拒绝")), _NOT_INSURED_REASONS[rng.integers(0, 6, m)], ""
        )
        inc = self.people.income.to_numpy()[all_who]
        ability = np.where(inc > 50000, "强", np.where(inc > 20000, "一般", "弱"))
        ability = np.where(all_res == "联系不上", "", ability)
        phone = np.char.add(
            "1",
            np.char.add(
                rng.choice(list("3456789"), m),
                np.char.zfill(rng.integers(0, 10**9, m).astype(str), 9),
            ),
        )
        comm = self.people.comm.to_numpy()[all_who]
        surveyor = self.cadres[2 * comm + rng.integers(0, 2, m)]
        self.visits = _frame(
            {
                "id_number": self.ids[all_who],
                "name": self.names[all_who],
                "survey_date": self.random_days_in_quarter(t + 1, m).astype("datetime64[ns]"),
                "result": all_res,
                "willingness": will,
                "reason": reason,
                "ability_to_pay": ability,
                "phone": phone,
                "surveyor": surveyor,
                "_pi": all_who,
                "_street": self.street[all_who],
            }
        )


_GROUP_STRINGS = np.array(
    [";".join(str(g) for g in range(1, 9) if mask & (1 << (g - 1))) for mask in range(256)]
)


# --------------------------------------------------------------------------------------
# Department files of one batch: clean rows of each kind, then how they are split and dressed
# --------------------------------------------------------------------------------------


def _frame(cols: dict) -> pd.DataFrame:
    """A DataFrame whose text columns stay plain Python objects (not pandas' Arrow strings)."""
    out = {}
    for k, v in cols.items():
        v = np.asarray(v) if not np.isscalar(v) else v
        if isinstance(v, np.ndarray) and v.dtype.kind in "UO":
            v = pd.Series(v.astype(object), dtype=object)
        out[k] = v
    return pd.DataFrame(out)


def _ints(values: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
    """Integers as Python objects, '' where absent (so CSV and xlsx both write them plainly)."""
    out = np.array([int(v) for v in values], dtype=object)
    if present is not None:
        out[~present] = ""
    return out


class _Batches(_World):
    """Turns the world's state at a quarter end into the files departments would send."""

    def write_batch(self, t: int, tr: dict[str, np.ndarray]) -> None:
        as_of = QUARTER_ENDS[t]
        folder = self.out / as_of.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "manifest.toml").write_text(
            f'# 示例市 synthetic demo batch (not real data)\nas_of = "{as_of.isoformat()}"\n'
            f'region_code = "{REGION_CODE}"\n',
            encoding="utf-8",
        )
        self.emit(t, "pension_enrollment", self.pension_rows(t))
        self.emit(t, "death", self.death_rows(t))
        if t >= 1 and self.visits is not None:
            self.emit(t, "survey", self.visits)
        if t % 4 == 0:
            y = t // 4
            for kind in (
                "division",
                "hukou",
                "residence",
                "market_entity",
                "taxpayer",
                "student",
                "inmate",
                "dibao",
                "tekun",
                "fanpin",
                "disability",
                "landless",
                "migrant_worker",
                "platform_worker",
                "licensed_professional",
                "income_assets",
                "other_eligible",
            ):
                self.emit(t, kind, getattr(self, f"{kind}_rows")(y))
        if t == 0:
            geo = self.geo
            gj = make_boundaries(
                list(zip(geo.streets.code, geo.streets.name)),
                list(zip(geo.communities.code, geo.communities.name, geo.communities.street_code)),
                self.seed,
            )
            gj["name"] = f"{REGION_NAME}（合成示例数据）"
            (folder / f"{REGION_NAME}边界.geojson").write_text(
                json.dumps(gj, ensure_ascii=False), encoding="utf-8"
            )
            self.files_written += 1

    # ---- clean rows per kind -----------------------------------------------------------
    def person_frame(self, idx: np.ndarray, **cols) -> pd.DataFrame:
        return _frame({"id_number": self.ids[idx], "name": self.names[idx], **cols, "_pi": idx})

    def pension_rows(self, t: int) -> pd.DataFrame:
        rng = self.rng
        regions = np.array((REGION_CODE,) + _OTHER_PENSION_REGIONS)

        def region_text(reg: np.ndarray, long: np.ndarray) -> np.ndarray:
            code = regions[reg]
            if not len(reg):
                return code
            twelve = np.char.add(
                code,
                np.char.add(
                    np.char.zfill((reg % 7 + 1).astype(str), 3),
                    np.char.zfill((reg * 3 % 17 + 1).astype(str), 3),
                ),
            )
            return np.where(long & (reg > 0), twelve, code)

        parts = []
        prim = np.flatnonzero(self.sch > 0)
        uscc = np.concatenate([self.entities.table.uscc.to_numpy(), self.ext_usccs])
        emp = self.employer[prim]
        emp_code = np.where(
            emp >= 0,
            uscc[np.maximum(emp, 0)],
            np.where(emp <= -2, uscc[len(self.entities.table) + np.maximum(-2 - emp, 0)], ""),
        )
        sch = self.sch[prim]
        parts.append(
            _frame(
                {
                    "scheme": np.array(_SCHEMES)[sch],
                    "status": np.array(_STATUSES)[self.st[prim]],
                    "region_code": region_text(self.reg[prim], self.reg12[prim]),
                    "start_date": self.start[prim],
                    "grade": _ints(self.grade[prim], sch == _RES),
                    "base": _ints(self.base[prim], sch >= _ENT),
                    "employer_uscc": np.where(sch == _ENT, emp_code, ""),
                    "_pi": prim,
                }
            )
        )
        dup = np.flatnonzero(self.dst > 0)
        parts.append(
            _frame(
                {
                    "scheme": np.array(_SCHEMES)[self.dsch[dup]],
                    "status": np.array(_STATUSES)[self.dst[dup]],
                    "region_code": region_text(self.dreg[dup], np.zeros(len(dup), dtype=bool)),
                    "start_date": np.full(len(dup), np.datetime64("NaT"), dtype="datetime64[D]"),
                    "grade": _ints(np.full(len(dup), 200)),
                    "base": "",
                    "employer_uscc": "",
                    "_pi": dup,
                }
            )
        )
        term = np.flatnonzero(
            (self.tsch > 0)
            & ~((self.tsch == self.sch) & (self.treg == self.reg))
            & ~((self.tsch == self.dsch) & (self.treg == self.dreg))
        )
        parts.append(
            _frame(
                {
                    "scheme": np.array(_SCHEMES)[self.tsch[term]],
                    "status": _STATUSES[_T],
                    "region_code": region_text(self.treg[term], np.zeros(len(term), dtype=bool)),
                    "start_date": np.full(len(term), np.datetime64("NaT"), dtype="datetime64[D]"),
                    "grade": "",
                    "base": "",
                    "employer_uscc": "",
                    "_pi": term,
                }
            )
        )
        df = pd.concat(parts, ignore_index=True)
        df.insert(0, "id_number", self.ids[df._pi])
        df.insert(1, "name", self.names[df._pi])
        df["start_date"] = df.start_date.astype("datetime64[ns]")
        # Departments sort by person; keep a person's rows together in a random person order.
        order = rng.permutation(self.n)
        return df.iloc[np.argsort(order[df._pi.to_numpy()], kind="stable")].reset_index(drop=True)

    def death_rows(self, t: int) -> pd.DataFrame:
        idx = np.flatnonzero(self.death_q == t)
        dates = self.death_date[idx].copy()
        dates[self.rng.random(len(idx)) < 0.05] = np.datetime64("NaT")
        return self.person_frame(idx, death_date=dates.astype("datetime64[ns]"))

    def division_rows(self, y: int) -> pd.DataFrame:
        g = self.geo
        return _frame(
            {
                "code": [REGION_CODE, *g.streets.code, *g.communities.code],
                "name": [REGION_NAME, *g.streets.name, *g.communities.name],
                "_pi": -1,
            }
        )

    def hukou_rows(self, y: int) -> pd.DataFrame:
        hk = self.years[y].hukou_status
        idx = np.flatnonzero(hk != _HK_NONE)
        comm = self.people.comm.to_numpy()[idx]
        c = self.geo.communities
        num = self.rng.integers(1, 200, len(idx)).astype(str)
        address = (
            REGION_NAME
            + c.street_name.to_numpy()[comm]
            + c.name.to_numpy()[comm]
            + np.where(c.urban.to_numpy()[comm], np.char.add(num, "栋"), np.char.add(num, "号"))
        )
        return self.person_frame(
            idx,
            gender=np.where(self.male[idx], "男", "女"),
            address_code=self.comm_codes[comm],
            address=address,
            status=np.array(["正常", "死亡", "迁出"])[hk[idx]],
        )

    def residence_rows(self, y: int) -> pd.DataFrame:
        idx = np.flatnonzero(self.years[y].residence)
        comm = self.people.res_comm.to_numpy()[idx]
        c = self.geo.communities
        address = REGION_NAME + c.street_name.to_numpy()[comm] + c.name.to_numpy()[comm] + "出租屋"
        return self.person_frame(idx, address_code=self.comm_codes[comm], address=address)

    def market_entity_rows(self, y: int) -> pd.DataFrame:
        e = self.entities
        idx = np.flatnonzero(e.status[:, y] != "")
        tab = e.table.iloc[idx]
        code = self.comm_codes[tab.comm.to_numpy()]
        code = np.where(self.rng.random(len(idx)) < 0.05, "", code)
        return _frame(
            {
                "uscc": tab.uscc.to_numpy(),
                "entity_name": tab.entity_name.to_numpy(),
                "entity_type": tab.entity_type.to_numpy(),
                "operator_id_number": self.ids[tab.operator.to_numpy()],
                "status": e.status[idx, y],
                "established_date": tab.established.to_numpy().astype("datetime64[ns]"),
                "address_code": code,
                "employees": _ints(tab.employees.to_numpy()),
                "_pi": tab.operator.to_numpy(),
            }
        )

    def taxpayer_rows(self, y: int) -> pd.DataFrame:
        e = self.entities
        idx = np.flatnonzero(e.tax_status[:, y] != "")
        tab = e.table.iloc[idx]
        revenue = np.round(tab.employees.to_numpy() * self.rng.lognormal(11.5, 0.5, len(idx)), -2)
        return _frame(
            {
                "uscc": tab.uscc.to_numpy(),
                "taxpayer_name": tab.entity_name.to_numpy(),
                "tax_status": e.tax_status[idx, y],
                "annual_revenue": _ints(revenue),
                "employees": _ints(tab.employees.to_numpy()),
                "_pi": -1,
            }
        )

    def student_rows(self, y: int) -> pd.DataFrame:
        idx = np.flatnonzero(self.years[y].student)
        age = self.age(4 * y)[idx]
        school = np.where(
            age < 19,
            _SCHOOLS[self.rng.integers(0, 3, len(idx))],
            _SCHOOLS[self.rng.integers(3, len(_SCHOOLS), len(idx))],
        )
        return self.person_frame(idx, school=school)

    def inmate_rows(self, y: int) -> pd.DataFrame:
        rel = self.years[y].inmate_release
        idx = np.flatnonzero(~np.isnat(rel))
        return self.person_frame(idx, release_date=rel[idx].astype("datetime64[ns]"))

    def members(self, kind: str, y: int) -> np.ndarray:
        return np.flatnonzero(self.latent.member[kind][:, y] & self.years[y].present)

    def dibao_rows(self, y: int) -> pd.DataFrame:
        idx = self.members("dibao", y)
        return self.person_frame(idx, category=np.where(self.urban[idx], "城市低保", "农村低保"))

    def tekun_rows(self, y: int) -> pd.DataFrame:
        return self.person_frame(self.members("tekun", y))

    def fanpin_rows(self, y: int) -> pd.DataFrame:
        idx = self.members("fanpin", y)
        return self.person_frame(idx, monitor_type=self.latent.attrs["monitor_type"][idx])

    def disability_rows(self, y: int) -> pd.DataFrame:
        idx = self.members("disability", y)
        a = self.latent.attrs
        return self.person_frame(
            idx,
            disability_type=a["disability_type"][idx],
            disability_level=a["disability_level"][idx],
        )

    def landless_rows(self, y: int) -> pd.DataFrame:
        idx = self.members("landless", y)
        return self.person_frame(
            idx,
            expropriation_date=self.latent.attrs["expropriation_date"][idx].astype(
                "datetime64[ns]"
            ),
        )

    def migrant_worker_rows(self, y: int) -> pd.DataFrame:
        idx = self.members("migrant_worker", y)
        k = len(idx)
        return self.person_frame(
            idx,
            employment_start=self.years[y].migrant_start[idx].astype("datetime64[ns]"),
            employment_type=_EMPLOYMENT_TYPES[self.rng.choice(4, k, p=[0.7, 0.2, 0.07, 0.03])],
            monthly_income=_ints(np.round(self.rng.uniform(2500, 8000, k), -2)),
            workplace=_WORKPLACES[self.rng.integers(0, len(_WORKPLACES), k)],
        )

    def platform_worker_rows(self, y: int) -> pd.DataFrame:
        idx = self.members("platform_worker", y)
        a = self.latent.attrs
        start = a["platform_start"][idx].copy()
        start[self.rng.random(len(idx)) < 0.1] = np.datetime64("NaT")
        return self.person_frame(
            idx,
            occupation=a["occupation"][idx],
            platform=a["platform"][idx],
            start_date=start.astype("datetime64[ns]"),
            monthly_income=_ints(np.round(self.rng.uniform(3000, 9000, len(idx)), -2)),
        )

    def licensed_professional_rows(self, y: int) -> pd.DataFrame:
        idx = self.members("licensed_professional", y)
        a = self.latent.attrs
        prof = a["profession"][idx]
        firm = np.array(_TRADE_NAMES)[idx % len(_TRADE_NAMES)]
        inst = np.where(
            prof == "律师",
            np.char.add(np.char.add("云南", firm), "律师事务所"),
            np.char.add(np.char.add(REGION_NAME, firm), "旅行社"),
        )
        inst = np.where(a["practice_type"][idx] == "自由职业", "", inst)
        return self.person_frame(
            idx, profession=prof, practice_type=a["practice_type"][idx], institution=inst
        )

    def income_assets_rows(self, y: int) -> pd.DataFrame:
        idx = self.members("income_assets", y)
        a = self.latent.attrs
        return self.person_frame(
            idx,
            annual_income=_ints(self.years[y].annual_income[idx]),
            properties=_ints(a["properties"][idx]),
            vehicles=_ints(a["vehicles"][idx]),
        )

    def other_eligible_rows(self, y: int) -> pd.DataFrame:
        idx = self.members("other_eligible", y)
        cat = self.latent.attrs["category"][idx]
        comm = self.geo.communities.name.to_numpy()[self.people.comm.to_numpy()[idx]]
        employer = np.select(
            [
                cat == "村社区干部",
                cat == "乡村医生",
                cat == "基层服务项目高校毕业生",
                cat == "民办学校教职工",
            ],
            [
                np.char.add(comm.astype(str), "委员会"),
                np.char.add(comm.astype(str), "卫生室"),
                np.full(len(idx), "示例市（三支一扶）"),
                np.full(len(idx), "示例市育才民办学校"),
            ],
            default="示例市人民医院",
        )
        return self.person_frame(idx, category=cat, employer=employer)

    # ---- files of one kind: plans, defects, writing, truth -----------------------------
    def plans(self, kind: str, t: int, df: pd.DataFrame) -> tuple[list[FilePlan], np.ndarray]:
        """The files a kind goes into in batch t, and each row's file (index into the list)."""
        y, q = t // 4, t % 4 + 1
        year = QUARTER_ENDS[t].year
        tag = f"{year}Q{q}"
        hv = HEADERS[kind][y % len(HEADERS[kind])]
        as_of = QUARTER_ENDS[t]
        stamp = f"截至日期：{as_of.year}年{as_of.month}月{as_of.day}日"
        one = np.zeros(len(df), dtype=int)
        roster = {
            "fmt": "xlsx",
            "seq_col": True,
            "total_row": True,
            "blank_tail": 3,
            "sheet": "花名册",
        }
        streets = self.geo.streets.name.to_numpy()

        if kind == "pension_enrollment":
            if y == 0:
                return [FilePlan("养老保险参保.csv", hv, encoding="gbk", crlf=True)], one
            if y == 1:
                return [
                    FilePlan(
                        f"pension_enrollment_{tag}.csv",
                        hv,
                        encoding="utf-8-sig",
                        short_schemes=q % 2 == 0,
                        date_style="slash",
                    )
                ], one
            enc = ("gb18030", "utf-8", "utf-8-sig")[t % 3]
            plans = [
                FilePlan(
                    f"养老保险参保_城乡居民_{tag}.csv", hv, encoding=enc, date_style="compact"
                ),
                FilePlan(f"养老保险参保_职工_{tag}.csv", hv, encoding=enc, date_style="compact"),
            ]
            return plans, (df.scheme.to_numpy() != _SCHEMES[_RES]).astype(int)
        if kind == "death":
            if q == 1:
                return [
                    FilePlan(
                        "死亡人员.xlsx",
                        hv,
                        fmt="xlsx",
                        title=(f"{REGION_NAME}死亡人员名单",),
                        date_cells=y == 1,
                    )
                ], one
            return [FilePlan(f"death_{tag}.csv", hv, encoding="gbk", date_style="chinese")], one
        if kind == "survey":
            title = (f"{REGION_NAME}基本养老保险扩面入户调查登记表", stamp)
            if y == 2:  # each street office sends its own sheet
                plans = [
                    FilePlan(f"入户调查_{s}_{tag}.xlsx", hv, title=title[:1], **roster)
                    for s in streets
                ]
                return plans, df._street.to_numpy()
            if y == 1:
                return [
                    FilePlan(
                        f"survey_{tag}.csv", hv, encoding="gbk", crlf=True, date_style="compact"
                    )
                ], one
            return [
                FilePlan(
                    f"入户调查_{tag}.xlsx",
                    hv,
                    fmt="xlsx",
                    title=title,
                    date_style="slash",
                    total_row=True,
                )
            ], one
        if kind == "division":
            return [
                (
                    FilePlan("行政区划.xlsx", hv, fmt="xlsx", title=("统计用区划代码",)),
                    FilePlan("division.csv", hv, encoding="utf-8-sig"),
                    FilePlan("统计用区划代码_行政区划.xlsx", hv, fmt="xlsx"),
                )[y]
            ], one
        if kind == "hukou":
            return [
                (
                    FilePlan("户籍人口.csv", hv, encoding="gbk", crlf=True),
                    FilePlan("户籍人口.csv", hv, encoding="utf-8-sig"),
                    FilePlan("hukou_2025.csv", hv, encoding="gb18030", crlf=True),
                )[y]
            ], one
        if kind == "residence":
            return [
                (
                    FilePlan("居住证.csv", hv),
                    FilePlan("residence_2024.csv", hv, encoding="gbk", crlf=True),
                    FilePlan(
                        "居住证持证人员.csv",
                        hv,
                        encoding="gb18030",
                        title=(f"{REGION_NAME}居住证持证人员",),
                    ),
                )[y]
            ], one
        if kind == "market_entity":
            return [
                (
                    FilePlan("市场主体登记信息.xlsx", hv, fmt="xlsx", date_cells=True),
                    FilePlan("market_entity_2024.csv", hv, encoding="gbk", date_style="compact"),
                    FilePlan(
                        "市场主体.xlsx",
                        hv,
                        fmt="xlsx",
                        title=("市场主体名录", stamp),
                        date_style="chinese",
                    ),
                )[y]
            ], one
        if kind == "taxpayer":
            return [
                (
                    FilePlan("纳税主体.csv", hv, encoding="gbk"),
                    FilePlan("taxpayer.csv", hv, encoding="utf-8"),
                    FilePlan("纳税主体信息.xlsx", hv, fmt="xlsx"),
                )[y]
            ], one
        if kind == "student":
            return [
                FilePlan(
                    "在校生.csv",
                    hv,
                    encoding=("utf-8", "gbk", "utf-8-sig")[y],
                    title=("在校生名单",) if y == 1 else (),
                    total_row=y == 1,
                )
            ], one
        if kind == "inmate":
            return [
                FilePlan(
                    "服刑人员.xlsx",
                    hv,
                    title=(f"{REGION_NAME}服刑人员名单",),
                    date_style="iso",
                    date_cells=y == 2,
                    **{**roster, "sheet": "服刑人员"},
                )
            ], one
        if kind == "dibao":
            if y == 1:  # one roster per street office
                plans = [
                    FilePlan(
                        f"低保人员_{s}.xlsx",
                        hv,
                        title=(f"{REGION_NAME}{s}低保人员花名册", stamp),
                        **roster,
                    )
                    for s in streets
                ]
                return plans, self.street[df._pi.to_numpy()]
            if y == 2:
                plans = [
                    FilePlan(
                        "低保人员花名册_城市.xlsx", hv, title=("城市低保人员花名册",), **roster
                    ),
                    FilePlan(
                        "低保人员花名册_农村.xlsx", hv, title=("农村低保人员花名册",), **roster
                    ),
                ]
                return plans, (df.category.to_numpy() == "农村低保").astype(int)
            return [
                FilePlan("低保.xlsx", hv, title=(f"{REGION_NAME}低保人员花名册",), **roster)
            ], one
        if kind in ("tekun", "fanpin", "landless", "licensed_professional", "other_eligible"):
            names = {
                "tekun": "特困人员",
                "fanpin": "防返贫监测对象",
                "landless": "被征地农民",
                "licensed_professional": "执业资格人员",
                "other_eligible": "其他应参人员",
            }
            style = ("iso", "chinese", "slash")[y]
            if kind == "licensed_professional" and y == 1:
                return [FilePlan("licensed_professional.csv", hv, encoding="utf-8")], one
            return [
                FilePlan(
                    f"{names[kind]}.xlsx",
                    hv,
                    title=(f"{REGION_NAME}{names[kind]}名单",),
                    date_style=style,
                    date_cells=(kind == "landless" and y == 0),
                    **roster,
                )
            ], one
        if kind == "disability":
            if y == 1:
                return [FilePlan("disability_2024.csv", hv, encoding="gbk", level_style="num")], one
            return [
                FilePlan(
                    "残疾人.xlsx",
                    hv,
                    title=(f"{REGION_NAME}持证残疾人名册",),
                    level_style=("cn", "", "ji")[y],
                    **roster,
                )
            ], one
        if kind == "migrant_worker":
            return [
                FilePlan(
                    "转移就业.csv",
                    hv,
                    encoding=("gbk", "utf-8", "gb18030")[y],
                    date_style=("iso", "compact", "chinese")[y],
                )
            ], one
        if kind == "platform_worker":
            if y == 1:
                return [
                    FilePlan("platform_worker.csv", hv, encoding="utf-8-sig", date_style="slash")
                ], one
            return [
                FilePlan("新就业形态劳动者.xlsx", hv, title=("新就业形态劳动者名单",), **roster)
            ], one
        if kind == "income_assets":
            return [
                FilePlan(
                    ("收入资产.csv", "income_assets_2024.csv", "收入资产信息.csv")[y],
                    hv,
                    encoding=("utf-8", "gbk", "utf-8-sig")[y],
                )
            ], one
        raise ValueError(f"no file plan for kind {kind}")

    def emit(self, t: int, kind: str, df: pd.DataFrame) -> None:
        if df.empty:
            return
        spec = KINDS[kind]
        plans, fidx = self.plans(kind, t, df)
        # Files are read in code-point order of their names: defects are placed in that order.
        order = sorted(range(len(plans)), key=lambda i: plans[i].name)
        rank = np.empty(len(plans), dtype=int)
        rank[order] = np.arange(len(plans))
        plans = [plans[i] for i in order]
        df = df.assign(_fidx=rank[fidx]).sort_values("_fidx", kind="stable").reset_index(drop=True)
        # Plain object columns: pandas' Arrow-backed strings are slow for this row-wise work.
        for fld in spec.fields:
            df[fld] = pd.to_datetime(df[fld]) if fld in spec.dates else df[fld].astype(object)
        hk = self.years[t // 4].hukou_status
        ctx = {
            "has_hukou": lambda pi: (pi >= 0) & (hk[np.maximum(pi, 0)] == _HK_NORMAL),
            "other_name": self.other_name,
            "community_codes": self.comm_codes,
        }
        rows = inject_defects(df, spec, plans, QUARTER_ENDS[t], self.rng, ctx)
        batch = QUARTER_ENDS[t].isoformat()
        folder = self.out / batch
        fidx_all = rows.data._fidx.to_numpy()
        for f, plan in enumerate(plans):
            m = fidx_all == f
            if not m.any():
                continue
            sub = rows.data[m]
            cells = _render(sub, rows.op[m], spec, plan, self.rng)
            (_write_xlsx if plan.fmt == "xlsx" else _write_csv)(folder / plan.name, cells, plan)
            self.files_written += 1
            role, reason = rows.role[m], rows.reason[m]
            first = len(plan.title) + 2  # Excel/WPS row of the first data row
            self.accounting.append(
                {
                    "batch": batch,
                    "source_file": plan.name,
                    "kind": kind,
                    "read": int(m.sum()),
                    "accepted": int((role == "accepted").sum()),
                    "duplicates": int((role == "duplicate").sum()),
                    "problems": int((role == "problem").sum()),
                    "warnings": int(((role == "accepted") & (reason != "")).sum()),
                }
            )
            for i in np.flatnonzero((role == "problem") | (reason != "")):
                self.problems.append(
                    {
                        "batch": batch,
                        "source_file": plan.name,
                        "row_number": first + int(i),
                        "reason": reason[i],
                        "severity": "error" if role[i] == "problem" else "warning",
                        "kind": kind,
                    }
                )
            self.rows_per_kind[kind] = self.rows_per_kind.get(kind, 0) + int(m.sum())

    # ---- truth files -------------------------------------------------------------------
    def write_truth(self, last: dict[str, np.ndarray]) -> None:
        d = self.out / ".truth"
        d.mkdir(parents=True, exist_ok=True)
        (d / "README.txt").write_text(
            "Ground truth of the synthetic demo region 示例市 (generated by analytics.demo; not real data).\n",
            encoding="utf-8",
        )
        (d / "model.json").write_text(
            json.dumps(MODEL, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        p = self.people
        hk_any = ~p.resonly.to_numpy()
        persons = pd.DataFrame(
            {
                "id_number": self.ids,
                "name": self.names,
                "street_code": self.comm_codes[p.comm.to_numpy()].astype(str).astype(object),
                "community_code": self.comm_codes[p.comm.to_numpy()],
                "birth_date": np.datetime_as_string(self.birth, unit="D"),
                "sex": np.where(self.male, "男", "女"),
                "groups": _GROUP_STRINGS[last["groups"]],
                "registration": np.where(hk_any, "hukou", "residence"),
            }
        )
        persons["street_code"] = persons.street_code.str[:9]
        persons.to_csv(d / "persons.csv", index=False)
        pd.concat(self.prob_rows, ignore_index=True).to_csv(d / "probabilities.csv", index=False)
        pd.DataFrame(self.accounting).to_csv(d / "accounting.csv", index=False)
        pd.DataFrame(
            self.problems,
            columns=["batch", "source_file", "row_number", "reason", "severity", "kind"],
        ).to_csv(d / "problems.csv", index=False)
        pd.concat(self.kpi_rows, ignore_index=True).to_csv(d / "kpi.csv", index=False)


def generate_demo(out: pathlib.Path, persons: int = 120_000, seed: int = 2025) -> dict:
    """Write the synthetic region 示例市 as 11 quarterly batches under ``out``, truth in ``out/.truth``.

    Returns a summary: output folder, persons, batches, files written and rows per kind.
    The same ``persons`` and ``seed`` give byte-identical files.
    """
    if persons < 500:
        raise ValueError(
            f"persons must be at least 500 (got {persons}): the region has ~100 communities"
        )
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    w = _Batches(out, persons, seed)
    # Deaths of the first quarter happen before the first lists are drawn.
    here = w.people.arrival.to_numpy() == 0
    hazard = np.minimum(np.exp(-10.6 + 0.092 * np.maximum(w.age(0), 0)) / 4, 0.25)
    dies = here & (w.rng.random(w.n) < hazard)
    w.death_q[dies] = 0
    w.death_date[dies] = w.random_days_in_quarter(0, int(dies.sum()))
    w.init_state()
    w.st[dies & np.isin(w.st, (_C, _S, _P))] = _T
    w.dst[dies], w.dsch[dies] = 0, 0
    tr: dict[str, np.ndarray] = {}
    for t in range(len(QUARTER_ENDS)):
        tr = w.truth_at(t)
        w.record_kpi(t, tr)
        w.write_batch(t, tr)
        if t < len(QUARTER_ENDS) - 1:
            w.step(t, tr)
    w.write_truth(tr)
    return {
        "out": str(out),
        "persons": persons,
        "seed": seed,
        "batches": [d.isoformat() for d in QUARTER_ENDS],
        "files": w.files_written,
        "rows": dict(sorted(w.rows_per_kind.items())),
    }
