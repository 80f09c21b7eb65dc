"""File plans: which files a kind goes into in a batch, and how each file is dressed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.demo.contract import HEADERS
from analytics.demo.reference import _RES, _SCHEMES, QUARTER_ENDS, REGION_NAME
from analytics.demo.world import World


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


def file_plans(w: World, kind: str, t: int, df: pd.DataFrame) -> tuple[list[FilePlan], np.ndarray]:
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
    streets = w.geo.streets.name.to_numpy()

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
            FilePlan(f"养老保险参保_城乡居民_{tag}.csv", hv, encoding=enc, date_style="compact"),
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
                FilePlan(f"入户调查_{s}_{tag}.xlsx", hv, title=title[:1], **roster) for s in streets
            ]
            return plans, df._street.to_numpy()
        if y == 1:
            return [
                FilePlan(f"survey_{tag}.csv", hv, encoding="gbk", crlf=True, date_style="compact")
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
            return plans, w.street[df._pi.to_numpy()]
        if y == 2:
            plans = [
                FilePlan("低保人员花名册_城市.xlsx", hv, title=("城市低保人员花名册",), **roster),
                FilePlan("低保人员花名册_农村.xlsx", hv, title=("农村低保人员花名册",), **roster),
            ]
            return plans, (df.category.to_numpy() == "农村低保").astype(int)
        return [FilePlan("低保.xlsx", hv, title=(f"{REGION_NAME}低保人员花名册",), **roster)], one
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
