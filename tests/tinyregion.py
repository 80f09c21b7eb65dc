"""A tiny region for the dashboard tests: two streets, four communities, 48 people
and two quarterly batches (2025-03-31, 2025-06-30) with boundaries, imported and
built into a DuckDB file.

The people follow simple rules on their number ``i`` so a test can say what it
expects without reading the code under test:

- community ``COMMUNITIES[i % 4]`` (street 001 holds communities 001001, 001002;
  street 002 holds 002001, 002002);
- ``i % 12 == 11``: born 2015 (under 16, not in the legal population);
- enrollment by ``i % 6``: 0 none (enroll target), 1 and 5 residents' scheme 参保缴费,
  2 and 4 enterprise scheme 参保缴费, 3 residents' scheme 暂停缴费 (resume target);
  in the first quarter ``i % 6 == 5`` was not yet insured either;
- platform workers (group 4) for ``i % 6 == 1``: upgrade targets;
- 低保 (group 7) for ``i % 12 == 6``;
- a survey of person 0 in the second batch;
- 户籍地址 ``hukou_address(i)`` (its community's name and a house number; the
  first quarter's text had no house number yet);
- one 户籍 row of the second batch has a 17-digit ID (problem data ``invalid_id``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from batchgen import REGION, make_batch, make_id

STREETS = {REGION + "001": "甲街道", REGION + "002": "乙镇"}
COMMUNITIES = {
    REGION + "001001": "东风社区",
    REGION + "001002": "西山社区",
    REGION + "002001": "河口村",
    REGION + "002002": "新民村",
}
COMMUNITY_CODES = list(COMMUNITIES)
N = 48
DATES = (dt.date(2025, 3, 31), dt.date(2025, 6, 30))


def person_id(i: int) -> str:
    birth = "20150101" if i % 12 == 11 else f"19{60 + i % 35:02d}0{1 + i % 9}1{i % 10}"
    return make_id(i + 1, birth=birth)


def community_of(i: int) -> str:
    return COMMUNITY_CODES[i % 4]


def hukou_address(i: int, as_of: dt.date = DATES[-1]) -> str:
    """The 户籍地址 text of person ``i`` in the batch of ``as_of``."""
    street = STREETS[community_of(i)[:9]]
    if as_of == DATES[0]:
        return f"{street}{COMMUNITIES[community_of(i)]}"
    return f"{street}{COMMUNITIES[community_of(i)]}{i + 1}号"


def _square(x: float, y: float, w: float, h: float) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]],
    }


def boundaries() -> dict:
    feats = []
    for k, (code, name) in enumerate(STREETS.items()):
        feats.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": name},
                "geometry": _square(102.0 + 0.2 * k, 24.8, 0.2, 0.2),
            }
        )
    for k, (code, name) in enumerate(COMMUNITIES.items()):
        feats.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": name},
                "geometry": _square(102.0 + 0.1 * k, 24.8, 0.1, 0.2),
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def write_batches(root: Path) -> list[Path]:
    """Two batch folders under ``root``."""
    folders = []
    for q, as_of in enumerate(DATES):
        hukou = [["身份证号", "姓名", "户籍地址编码", "户籍地址"]]
        pension = [["身份证号", "险种", "参保状态", "参保地"]]
        platform = [["身份证号", "职业", "平台"]]
        dibao = [["身份证号", "姓名"]]
        for i in range(N):
            pid = person_id(i)
            hukou.append([pid, f"测试{i}", community_of(i), hukou_address(i, as_of)])
            m = i % 6
            if m in (1, 5) and not (q == 0 and m == 5):
                pension.append([pid, "城乡居民", "参保缴费", REGION])
            elif m in (2, 4):
                pension.append([pid, "企业职工", "参保缴费", REGION])
            elif m == 3:
                pension.append([pid, "城乡居民", "暂停缴费", REGION])
            if m == 1:
                platform.append([pid, "外卖骑手", "美团"])
            if i % 12 == 6:
                dibao.append([pid, f"测试{i}"])
        if q == 1:
            hukou.append(["53018119800101123", "坏号", community_of(0), ""])  # invalid_id
        division = [["区划代码", "区划名称"], [REGION, "示例市"]]
        division += [[c, n] for c, n in STREETS.items()]
        division += [[c, n] for c, n in COMMUNITIES.items()]
        files = {
            "户籍人口.csv": hukou,
            "养老保险参保.csv": pension,
            "新就业形态.csv": platform,
            "低保.csv": dibao,
            "行政区划.csv": division,
        }
        if q == 1:
            files["入户调查.csv"] = [
                ["身份证号", "调查日期", "调查结果", "参保意愿", "联系电话", "调查人"],
                [person_id(0), "2025-05-10", "考虑中", "一般", "13812345678", "李专干"],
            ]
        folder = make_batch(root, as_of.isoformat(), files, as_of=as_of.isoformat())
        (folder / "boundaries.geojson").write_text(
            json.dumps(boundaries(), ensure_ascii=False), encoding="utf-8"
        )
        folders.append(folder)
    return folders


def build_tiny_db(root: Path) -> Path:
    """Import both batches and build the registry; returns the database path."""
    from analytics.ingest import import_batches
    from analytics.registry.build import build_registry

    db = root / "tiny.duckdb"
    import_batches(write_batches(root / "batches"), db=db)
    build_registry(db)
    return db


def copy_database(src: Path, dst: Path) -> Path:
    """Copy a database with its published registry versions (``<stem>.registry/``)
    and app store, as a bureau would move the folder; returns ``dst``."""
    import shutil

    shutil.copyfile(src, dst)
    registry = src.with_name(src.stem + ".registry")
    if registry.exists():
        shutil.copytree(registry, dst.with_name(dst.stem + ".registry"))
    app = src.with_name(src.stem + ".app.sqlite")
    if app.exists():
        shutil.copyfile(app, dst.with_name(dst.stem + ".app.sqlite"))
    return dst
