"""Helpers for hand-built test regions (tests/test_registry_rules.py).

Citizen IDs and credit codes get their check characters from the arithmetic of
the two standards written out here again (not imported from ``analytics.ids``),
so a wrong table in the code under test cannot hide itself. Batches are folders
with a ``manifest.toml`` and one CSV per kind whose headers are the contract's
Chinese headers (shared/data-contract.md, "Kinds, fields and header synonyms").
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from pathlib import Path

REGION = "530199"

# Schemes and statuses as the contract writes them.
EMPLOYEE = "企业职工基本养老保险"
PUBLIC = "机关事业单位基本养老保险"
RESIDENTS = "城乡居民基本养老保险"
CONTRIBUTING, SUSPENDED, DRAWING, TERMINATED = "参保缴费", "暂停缴费", "待遇领取", "终止参保"

# ------------------------------------------------------------------ check digits

_ID_CHECK = "10X98765432"
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def id_check(first17: str) -> str:
    """GB 11643-1999: weight of position i (1-based from the left) is
    2^(18-i) mod 11; the sum mod 11 maps 0..10 to 1 0 X 9 8 7 6 5 4 3 2."""
    assert len(first17) == 17 and first17.isdigit()
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    return _ID_CHECK[total % 11]


def make_id(birth: dt.date | str, seq: int, female: bool = False, area: str = REGION) -> str:
    """A valid 18-digit ID for a birth date and sex.

    ``seq`` (0..499) picks the person among those born that day; the 3-digit
    sequence code's last digit is odd for men and even for women.
    """
    if isinstance(birth, str):
        birth = dt.date.fromisoformat(birth)
    assert 0 <= seq < 500
    code = 2 * seq + (0 if female else 1)
    first17 = f"{area}{birth:%Y%m%d}{code:03d}"
    return first17 + id_check(first17)


def uscc_check(first17: str) -> str:
    """GB 32100-2015: weight of position i (0-based) is 3^i mod 31; the check
    character's value is (31 - sum mod 31) mod 31."""
    assert len(first17) == 17
    total = sum(_USCC_CHARS.index(c) * (3**i % 31) for i, c in enumerate(first17))
    return _USCC_CHARS[(31 - total % 31) % 31]


def make_uscc(n: int, area: str = REGION, prefix: str = "92") -> str:
    """A valid credit code: registration prefix, county code, 'MA', a number."""
    first17 = f"{prefix}{area}MA{n:07d}"
    assert len(first17) == 17
    return first17 + uscc_check(first17)


# ------------------------------------------------------------------ batch files

# Canonical field -> the Chinese header written in the file, per kind.
HEADERS: dict[str, dict[str, str]] = {
    "hukou": {
        "id_number": "身份证号",
        "name": "姓名",
        "address_code": "户籍地址编码",
        "gender": "性别",
        "address": "户籍地址",
        "status": "人口状态",
    },
    "residence": {
        "id_number": "身份证号",
        "name": "姓名",
        "address_code": "居住地址编码",
        "address": "居住地址",
    },
    "death": {"id_number": "身份证号", "name": "姓名", "death_date": "死亡日期"},
    "pension_enrollment": {
        "id_number": "身份证号",
        "scheme": "险种",
        "status": "参保状态",
        "region_code": "参保地",
        "name": "姓名",
        "start_date": "参保日期",
        "grade": "缴费档次",
        "base": "缴费基数",
        "employer_uscc": "单位统一社会信用代码",
    },
    "market_entity": {
        "uscc": "统一社会信用代码",
        "entity_name": "主体名称",
        "entity_type": "主体类型",
        "operator_id_number": "经营者身份证号",
        "status": "登记状态",
        "established_date": "成立日期",
        "address_code": "住所区划代码",
        "employees": "从业人数",
    },
    "taxpayer": {
        "uscc": "纳税人识别号",
        "tax_status": "纳税人状态",
        "taxpayer_name": "纳税人名称",
        "annual_revenue": "年营业收入",
        "employees": "从业人数",
    },
    "student": {"id_number": "身份证号", "school": "学校", "name": "姓名"},
    "inmate": {"id_number": "身份证号", "name": "姓名", "release_date": "刑满日期"},
    "dibao": {"id_number": "身份证号", "name": "姓名", "category": "低保类别"},
    "tekun": {"id_number": "身份证号", "name": "姓名"},
    "fanpin": {"id_number": "身份证号", "name": "姓名", "monitor_type": "监测类型"},
    "disability": {
        "id_number": "身份证号",
        "disability_level": "残疾等级",
        "name": "姓名",
        "disability_type": "残疾类别",
    },
    "landless": {"id_number": "身份证号", "name": "姓名", "expropriation_date": "征地时间"},
    "migrant_worker": {
        "id_number": "身份证号",
        "employment_start": "就业开始时间",
        "name": "姓名",
        "employment_type": "就业形式",
        "monthly_income": "月收入",
        "workplace": "务工地点",
    },
    "platform_worker": {
        "id_number": "身份证号",
        "occupation": "职业",
        "name": "姓名",
        "platform": "平台",
        "start_date": "注册日期",
        "monthly_income": "月均收入",
    },
    "licensed_professional": {
        "id_number": "身份证号",
        "profession": "执业类别",
        "name": "姓名",
        "practice_type": "执业类型",
        "institution": "执业机构",
    },
    "income_assets": {
        "id_number": "身份证号",
        "name": "姓名",
        "annual_income": "年收入",
        "properties": "房产套数",
        "vehicles": "车辆数",
    },
    "other_eligible": {
        "id_number": "身份证号",
        "category": "人员类别",
        "name": "姓名",
        "employer": "工作单位",
    },
    "division": {"code": "区划代码", "name": "区划名称"},
    "survey": {
        "id_number": "身份证号",
        "survey_date": "调查日期",
        "result": "调查结果",
        "name": "姓名",
        "willingness": "参保意愿",
        "reason": "未参保原因",
        "ability_to_pay": "缴费能力",
        "phone": "联系电话",
        "surveyor": "调查人",
    },
}


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def write_kind(path: Path, kind: str, rows: Iterable[Mapping[str, object]]) -> Path:
    """A UTF-8 CSV of ``rows`` (dicts keyed by canonical field names) with the
    Chinese headers of ``kind``; only the fields some row uses are written."""
    rows = list(rows)
    headers = HEADERS[kind]
    unknown = {k for r in rows for k in r} - set(headers)
    assert not unknown, f"{kind}: unknown fields {unknown}"
    used = [f for f in headers if any(f in r for r in rows)]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([headers[f] for f in used])
    for r in rows:
        w.writerow([_cell(r.get(f)) for f in used])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def write_batch(
    root: Path,
    name: str,
    as_of: dt.date | str,
    kinds: Mapping[str, Iterable[Mapping[str, object]]],
    region: str = REGION,
) -> Path:
    """A batch folder ``root/name``: manifest.toml (as_of, region_code) and one
    ``<kind>.csv`` per kind given (the English kind name tells the importer the kind)."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    as_of = as_of.isoformat() if isinstance(as_of, dt.date) else as_of
    (folder / "manifest.toml").write_text(
        f'as_of = "{as_of}"\nregion_code = "{region}"\n', encoding="utf-8"
    )
    for kind, rows in kinds.items():
        write_kind(folder / f"{kind}.csv", kind, rows)
    return folder


def read_csv(path: Path) -> list[dict[str, str]]:
    """An exported CSV as a list of dicts (all values as written)."""
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))
