"""The leadership group's quarterly 通报 (``kuomian report``): a Word document in
the style of a government notice, and optionally the same tables as a workbook.

安宁市方案 五(四): "市……领导小组办公室每季度通报扩面增效目标任务完成情况，对……成效
显著的，予以通报表扬；对……进展缓慢的，予以通报批评". The report holds, for quarter
``YYYYQn``, the registry of the newest date imported in that quarter (data
contract, "Quarter and year", **Report**):

- 红头: the title in red (``XX市基本养老保险扩面增效工作情况通报``, the region's name
  from the registry), the document number and the registry's date, a red rule;
- 一、总体情况: the city's 参保率 and 结构比, the gaps to each configured goal year
  (2025 and 2035 by default), the change since the previous quarter, the map;
- 二、各街道完成情况: a Word table, a row per street: 参保率 and 结构比 with two
  decimals rounded half up from the exact value (computed from the integer counts,
  never from a float), ``—`` for an empty rate, and the year's tasks, done and
  completion from :mod:`analytics.quarter.assessment`;
- 三、排名情况: :mod:`analytics.quarter.ranking` — 表扬 the top three, 通报 the bottom
  three, the change since the previous quarter;
- 四、存在问题 and 五、下步工作: facts of the data — streets behind the year's pace,
  streets below the goal, the priority groups with the most targets, problem data
  still outstanding per department kind — and what each calls for.

A date imported but never built is read as the assessment reads one: the build's
SQL steps up to the KPI mart run on temporary tables of a read-only connection
(nothing is written or published), so the report does not need ``kuomian build``.

The workbook (``xlsx``) holds the same tables with exact values: counts as
integers, rates and completions as the exact doubles of the kpi export, one sheet
per table, every text cell a string (never a formula).
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pandas as pd

from analytics import store
from analytics.config import Config, Goal
from analytics.exports import problems_frame
from analytics.quarter.assessment import (
    KPI_STEPS,
    AssessmentError,
    Imports,
    assess,
    open_imports,
    year_elapsed,
)
from analytics.quarter.ranking import CRITICISM, PRAISE, previous_quarter_date, rank_streets
from analytics.reads.labels import GROUPS, REASON_LABELS, kind_label
from analytics.registry import build
from analytics.registry.runner import run_steps

SECTIONS = ("一、总体情况", "二、各街道完成情况", "三、排名情况", "四、存在问题", "五、下步工作")
EMPTY = "—"
RED = "FF0000"
# Word font names for East Asian text (GB/T 9704 公文格式: 标题小标宋, 一级标题黑体,
# 正文仿宋); Word substitutes a near one where a name is not installed.
TITLE_FONT, HEADING_FONT, BODY_FONT, TABLE_FONT = "方正小标宋简体", "黑体", "仿宋", "宋体"
CN_DIGITS = "一二三四"
# 六个一批 (安宁市方案 三(二)) that fit each priority group best: platform and
# migrant workers and freelancers by outreach, well-off residents by example,
# firms and employers of staff by inspection, subsidy groups by policy, hardship
# groups by the government paying.
GROUP_ACTIONS = {
    1: "强化执法扩面",
    2: "完善政策吸纳",
    3: "精准宣传动员",
    4: "精准宣传动员",
    5: "精准宣传动员",
    6: "典型引路带动",
    7: "政府帮扶兜底",
    8: "强化执法扩面",
}
MEASURE_LABEL = {"coverage": "参保扩面", "structure": "结构比提升"}
# Section 二's table as printed: two tables of :func:`street_table`'s columns.
PRINTED_STREET_TABLES = {
    "表1　各街道参保率与结构比": (
        "街道",
        "应参保人口",
        "已参保",
        "参保率",
        "缴费人员",
        "职工缴费人员",
        "结构比",
    ),
    "表2　各街道年度任务完成情况": (
        "街道",
        "扩面任务",
        "扩面完成",
        "扩面完成率",
        "结构比任务",
        "结构比完成",
        "结构比完成率",
    ),
}


class ReportError(ValueError):
    """A report that cannot be made; the message is one line for the user."""


# ---------------------------------------------------------------- quarters and numbers


@dataclass(frozen=True)
class Quarter:
    """A calendar quarter, ``2025Q2``."""

    year: int
    n: int

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, 3 * self.n - 2, 1)

    @property
    def end(self) -> dt.date:
        nxt = dt.date(self.year + (self.n == 4), 1 if self.n == 4 else 3 * self.n + 1, 1)
        return nxt - dt.timedelta(days=1)

    @property
    def label(self) -> str:
        return f"{self.year}年第{CN_DIGITS[self.n - 1]}季度"

    def __str__(self) -> str:
        return f"{self.year}Q{self.n}"


def parse_quarter(text: str) -> Quarter:
    """``YYYYQn`` as a :class:`Quarter`.

    >>> q = parse_quarter("2025Q3"); (q.start, q.end, q.label)
    (datetime.date(2025, 7, 1), datetime.date(2025, 9, 30), '2025年第三季度')
    """
    m = re.fullmatch(r"\s*(\d{4})\s*[Qq]([1-4])\s*", str(text))
    if not m:
        raise ReportError(f"季度应写作 YYYYQn，例如 2025Q2 (quarter must be YYYYQn): {text!r}")
    return Quarter(int(m.group(1)), int(m.group(2)))


def cn_date(d: dt.date) -> str:
    """A date as a notice writes it.

    >>> cn_date(dt.date(2025, 9, 30))
    '2025年9月30日'
    """
    return f"{d.year}年{d.month}月{d.day}日"


def _half_up_hundredths(value: Fraction) -> Fraction:
    """``value`` × 100 rounded half up (away from zero) to two decimals, exactly."""
    scaled = abs(value) * 10000
    # floor(x + 1/2) on the exact fraction: no float and no Decimal context limit.
    units = (2 * scaled.numerator + scaled.denominator) // (2 * scaled.denominator)
    return Fraction(-units if value < 0 else units, 100)


def percent_of(value: Fraction | None) -> str:
    """A fraction as a percentage with two decimals, rounded half up; ``—`` when empty.

    >>> percent_of(Fraction(976050, 1000000)), percent_of(Fraction(-1, 8)), percent_of(None)
    ('97.61%', '-12.50%', '—')
    """
    if value is None:
        return EMPTY
    h = _half_up_hundredths(Fraction(value))
    sign = "-" if h < 0 else ""
    units = abs(h.numerator * (100 // h.denominator))
    return f"{sign}{units // 100}.{units % 100:02d}%"


def percent(numerator: int, denominator: int) -> str:
    """``numerator ÷ denominator`` as :func:`percent_of` writes it; ``—`` over 0.

    >>> percent(9761, 10000), percent(1952101, 2000000), percent(3, 0)
    ('97.61%', '97.61%', '—')
    """
    if not denominator:
        return EMPTY
    return percent_of(Fraction(int(numerator), int(denominator)))


def points(value: Fraction) -> str:
    """A difference of two rates in percentage points, rounded half up.

    >>> points(Fraction(1, 400))
    '0.25'
    """
    return percent_of(abs(value)).rstrip("%")


def _rate(num: object, den: object) -> Fraction | None:
    if den is None or pd.isna(den) or int(den) == 0:
        return None
    return Fraction(int(num), int(den))


def _int(v: object) -> int:
    return 0 if v is None or pd.isna(v) else int(v)


def _float(v: object) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


# ---------------------------------------------------------------- what the report reads


@dataclass
class Registry:
    """The KPI rows (every level) and the target counts by priority group of one date."""

    as_of: dt.date
    kpi: pd.DataFrame
    groups: pd.DataFrame
    stored: bool

    def city(self) -> dict:
        rows = self.kpi[self.kpi["level"] == "city"]
        return rows.iloc[0].to_dict() if len(rows) else {}

    def streets(self) -> pd.DataFrame:
        rows = self.kpi[(self.kpi["level"] == "street") & self.kpi["code"].notna()]
        return rows.sort_values("code").reset_index(drop=True)


_GROUPS_SQL = """
    SELECT g AS "group", count(*) AS targets
    FROM (SELECT unnest(groups) AS g FROM {table} WHERE target_type IS NOT NULL {where})
    GROUP BY g ORDER BY targets DESC, g"""


def read_registry(imp: Imports, d: dt.date) -> Registry:
    """The registry of ``d``: its stored snapshot when one was built from what is in
    force now (the assessment's rule), else computed on temporary tables."""
    version = imp._stored_version(d)  # the assessment's own reuse rule
    if version is not None:
        kpi = imp.con.execute(
            "SELECT * EXCLUDE (version) FROM reg_kpi WHERE version = ? ORDER BY level, code",
            [version],
        ).df()
        groups = imp.con.execute(
            _GROUPS_SQL.format(table="reg_persons", where="AND version = ?"), [version]
        ).df()
        return Registry(d, kpi, groups, True)
    ctx = build.BuildContext(imp.con, d, imp.region, imp.cfg, learn=False)
    run_steps(imp.con, KPI_STEPS, build.STEPS_DIR, ctx)
    kpi = imp.con.execute("SELECT * FROM mart_kpi ORDER BY level, code").df()
    groups = imp.con.execute(_GROUPS_SQL.format(table="mart_persons", where="")).df()
    return Registry(d, kpi, groups, False)


@dataclass
class ReportData:
    """Everything the document and the workbook show."""

    quarter: Quarter
    region_code: str
    region_name: str
    goals: tuple[Goal, ...]
    current: Registry
    previous: Registry | None
    assessment: pd.DataFrame
    ranking: pd.DataFrame
    problems: pd.DataFrame
    boundaries: pd.DataFrame
    streets: pd.DataFrame

    @property
    def as_of(self) -> dt.date:
        return self.current.as_of


def _street_rows(current: Registry, assessment: pd.DataFrame) -> pd.DataFrame:
    """A row per street of the registry (and of the assessment, should one have
    left the registry): counts, exact rates and the year's tasks."""
    kpi = current.streets()[
        [
            "code",
            "name",
            "legal_population",
            "insured",
            "coverage_rate",
            "contributors",
            "employee_contributors",
            "structure_ratio",
        ]
    ].rename(columns={"code": "street_code"})
    tasks = (
        assessment.drop(columns=["name", "legal_population"], errors="ignore")
        if len(assessment)
        else assessment
    )
    out = kpi.merge(tasks, on="street_code", how="outer") if len(tasks) else kpi
    names = dict(zip(assessment.get("street_code", []), assessment.get("name", []), strict=True))
    out["name"] = [
        n if isinstance(n, str) and n else (names.get(c) or c)
        for c, n in zip(out["street_code"], out["name"], strict=True)
    ]
    for c in ("legal_population", "insured", "contributors", "employee_contributors"):
        out[c] = out[c].fillna(0).astype("int64")
    return out.sort_values("street_code").reset_index(drop=True)


def gather(imp: Imports, quarter: Quarter) -> ReportData:
    """Read what the report of ``quarter`` shows from an open :class:`Imports`."""
    within = [d for d in imp.dates if quarter.start <= d <= quarter.end]
    if not within:
        raise ReportError(
            f"{quarter.label}没有已导入的数据 (no date imported in quarter {quarter})"
        )
    as_of = max(within)
    try:
        assessment = assess(imp, as_of.year, as_of)
        ranking = rank_streets(imp, as_of.year, as_of)
    except AssessmentError as exc:
        raise ReportError(str(exc)) from exc
    current = read_registry(imp, as_of)
    prev_date = previous_quarter_date(imp.dates, as_of)
    previous = read_registry(imp, prev_date) if prev_date is not None else None
    problems = problems_frame(imp.con, as_of)
    boundaries = pd.DataFrame(columns=["code", "name", "geometry"])
    if store.has_table(imp.con, "boundaries"):
        # The boundaries the registry reads (stg_boundaries): the newest imported.
        boundaries = imp.con.execute(
            """SELECT code, name, geometry FROM boundaries
               WHERE import_seq = (SELECT max(import_seq) FROM boundaries)
                 AND length(code) = 9 ORDER BY code"""
        ).df()
    city = current.city()
    name = city.get("name")
    region_name = name if isinstance(name, str) and name else imp.region
    return ReportData(
        quarter=quarter,
        region_code=imp.region,
        region_name=region_name,
        goals=tuple(imp.cfg.goals),
        current=current,
        previous=previous,
        assessment=assessment,
        ranking=ranking,
        problems=problems,
        boundaries=boundaries,
        streets=_street_rows(current, assessment),
    )


# ---------------------------------------------------------------- the facts, as sentences


def _names(items: list[str]) -> str:
    return "、".join(items)


def overview(data: ReportData) -> list[str]:
    """Paragraphs of 一、总体情况."""
    c = data.current.city()
    legal, insured = _int(c.get("legal_population")), _int(c.get("insured"))
    contrib, employee = _int(c.get("contributors")), _int(c.get("employee_contributors"))
    cov, struct = _rate(insured, legal), _rate(employee, contrib)
    out = [
        (
            f"截至{cn_date(data.as_of)}，全市应参保人口{legal:,}人，已参保{insured:,}人，"
            f"基本养老保险参保率{percent_of(cov)}；缴费阶段人员{contrib:,}人，其中参加职工"
            f"养老保险{employee:,}人，参保结构比{percent_of(struct)}。"
        )
    ]
    for g in data.goals:
        parts = []
        for label, rate, goal, gap, unit in (
            ("参保率", cov, g.coverage, c.get(f"coverage_gap_{g.year}"), "参保"),
            ("结构比", struct, g.structure, c.get(f"structure_gap_{g.year}"), "转为职工参保"),
        ):
            goal_f = Fraction(str(goal))
            if rate is None:
                parts.append(f"{label}无数据")
            elif rate >= goal_f:
                parts.append(f"{label}已达到{percent_of(goal_f)}的目标")
            else:
                parts.append(
                    f"{label}距{percent_of(goal_f)}的目标尚差{points(goal_f - rate)}个百分点，"
                    f"还需{_int(gap):,}人{unit}"
                )
        out.append(f"对照{g.year}年目标，" + "；".join(parts) + "。")
    if data.previous is None:
        out.append("上一季度没有已导入的数据，本期不作环比。")
    else:
        p = data.previous.city()
        p_cov = _rate(_int(p.get("insured")), _int(p.get("legal_population")))
        p_struct = _rate(_int(p.get("employee_contributors")), _int(p.get("contributors")))
        parts = []
        for label, now, before in (("参保率", cov, p_cov), ("结构比", struct, p_struct)):
            if now is None or before is None:
                parts.append(f"{label}无可比数据")
            elif now == before:
                parts.append(f"{label}与上季度持平（{percent_of(now)}）")
            else:
                way = "上升" if now > before else "下降"
                parts.append(
                    f"{label}由{percent_of(before)}{way}至{percent_of(now)}"
                    f"（{way}{points(now - before)}个百分点）"
                )
        change = insured - _int(p.get("insured"))
        parts.append(f"已参保人数{'增加' if change >= 0 else '减少'}{abs(change):,}人")
        out.append(f"与上季度（{cn_date(data.previous.as_of)}）相比，" + "，".join(parts) + "。")
    return out


def _goal_of_year(data: ReportData) -> Goal:
    year = data.as_of.year
    later = [g for g in data.goals if g.year >= year]
    return min(later, key=lambda g: g.year) if later else max(data.goals, key=lambda g: g.year)


def street_summary(data: ReportData) -> list[str]:
    """Paragraphs of 二 before and after the table."""
    a = data.assessment
    out = []
    if len(a):
        gone, days = year_elapsed(data.as_of)
        out.append(
            f"{data.as_of.year}年考核以{cn_date(a['baseline_as_of'].iloc[0])}为基期、"
            f"{int(a['goal_year'].iloc[0])}年目标为准，时序进度{percent(gone, days)}。"
            "各街道参保率、结构比及年度任务完成情况如下表（完成率＝已完成÷任务）。"
        )
    g = _goal_of_year(data)
    s = data.streets
    met = [
        n
        for n, ins, legal in zip(s["name"], s["insured"], s["legal_population"], strict=True)
        if legal and Fraction(int(ins), int(legal)) >= Fraction(str(g.coverage))
    ]
    below = [
        n
        for n, ins, legal in zip(s["name"], s["insured"], s["legal_population"], strict=True)
        if legal and Fraction(int(ins), int(legal)) < Fraction(str(g.coverage))
    ]
    empty = [n for n, legal in zip(s["name"], s["legal_population"], strict=True) if not legal]
    out.append(
        f"参保率已达到{g.year}年目标（{percent_of(Fraction(str(g.coverage)))}）的街道"
        f"{len(met)}个{('：' + _names(met)) if met else ''}；未达到的{len(below)}个"
        f"{('：' + _names(below)) if below else ''}"
        + (f"；无应参保人口、不计参保率的{len(empty)}个：{_names(empty)}" if empty else "")
        + "。"
    )
    return out


def ranking_summary(data: ReportData) -> list[str]:
    r = data.ranking
    praised = r[r["mention"] == PRAISE]
    criticised = r[r["mention"] == CRITICISM]
    out = [
        "按参保扩面、结构比提升两项任务完成率（单项上限150%）的平均得分排名如下表。",
        "予以通报表扬：" + (_names(list(praised["name"].fillna(""))) or "无") + "。",
        "予以通报批评："
        + (
            _names(list(criticised["name"].fillna("")))
            if len(criticised)
            else "无（街道不足六个，不作通报批评）"
        )
        + "。",
    ]
    moved = []
    for row in r.itertuples(index=False):
        if pd.isna(row.rank_change):
            continue
        ch = int(row.rank_change)
        if ch:
            moved.append(f"{row.name}{'上升' if ch > 0 else '下降'}{abs(ch)}位")
    if r["previous_rank"].isna().all():
        out.append("上一季度无排名，本期不作名次比较。")
    else:
        out.append("与上季度相比，" + (_names(moved) if moved else "各街道名次均无变化") + "。")
    return out


def _behind(data: ReportData) -> dict[str, list[tuple[str, int, int]]]:
    """Per measure, the streets behind the year's pace: (name, done, task)."""
    out: dict[str, list[tuple[str, int, int]]] = {m: [] for m in MEASURE_LABEL}
    s = data.streets
    if "coverage_pace" not in s:
        return out
    for row in s.to_dict("records"):
        for m in MEASURE_LABEL:
            if row.get(f"{m}_pace") == "behind":
                out[m].append((row["name"], _int(row[f"{m}_done"]), _int(row[f"{m}_task"])))
    return out


def problems_by_kind(problems: pd.DataFrame) -> pd.DataFrame:
    """Problem rows (severity error) by department kind: kind, label, rows, top reason."""
    cols = ["kind", "kind_label", "rows", "reason", "reason_label"]
    if problems.empty:
        return pd.DataFrame(columns=cols)
    errors = problems[problems["severity"] == "error"]
    rows = []
    for kind, part in errors.groupby("kind", sort=False):
        reasons = part["reason"].value_counts()
        top = str(reasons.index[0])
        rows.append((kind, kind_label(kind), len(part), top, REASON_LABELS.get(top, top)))
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["rows", "kind"], ascending=[False, True]).reset_index(drop=True)


def issues(data: ReportData) -> list[str]:
    """Paragraphs of 四、存在问题."""
    out = []
    gone, days = year_elapsed(data.as_of)
    behind = _behind(data)
    n = 1
    for m, label in MEASURE_LABEL.items():
        if behind[m]:
            items = [
                f"{name}（任务{task:,}人，较基期倒退{-done:,}人）"
                if done < 0
                else f"{name}（完成{done:,}人/任务{task:,}人，完成率{percent(done, task)}）"
                for name, done, task in behind[m]
            ]
            out.append(
                f"（{_cn(n)}）{label}进度滞后。低于时序进度"
                f"{percent(gone, days)}的街道{len(items)}个：{_names(items)}。"
            )
            n += 1
    fell = [
        name
        for name, done in zip(
            data.streets["name"], data.streets.get("coverage_done", []), strict=False
        )
        if not pd.isna(done) and int(done) < 0
    ]
    if fell:
        out.append(f"（{_cn(n)}）参保人数较基期倒退：{_names(fell)}。")
        n += 1
    c = data.current.city()
    enroll, upgrade = _int(c.get("targets_enroll")), _int(c.get("targets_upgrade"))
    resume, entities = _int(c.get("targets_resume")), _int(c.get("target_entities"))
    groups = data.current.groups.head(3)
    group_text = _names(
        [f"{GROUPS.get(int(g), g)}{int(t):,}人" for g, t in zip(groups["group"], groups["targets"])]
    )
    out.append(
        f"（{_cn(n)}）扩面空间仍然较大。实名库中尚有扩面对象{enroll + upgrade + resume:,}人"
        f"（未参保{enroll:,}人、可升级职工参保{upgrade:,}人、断缴{resume:,}人），"
        f"未参保市场主体{entities:,}户"
        + (f"；重点群体中人数最多的是{group_text}" if group_text else "")
        + "。"
    )
    n += 1
    pk = problems_by_kind(data.problems)
    if len(pk):
        items = [
            f"{r.kind_label}{int(r.rows):,}条（主要为{r.reason_label}）" for r in pk.itertuples()
        ]
        out.append(
            f"（{_cn(n)}）问题数据尚未核实更正{int(pk['rows'].sum()):,}条：{_names(items)}。"
        )
    else:
        out.append(f"（{_cn(n)}）本期数据无待处理的问题数据。")
    return out


def _cn(n: int) -> str:
    digits = "一二三四五六七八九十"
    return digits[n - 1] if 1 <= n <= 10 else str(n)


def next_steps(data: ReportData) -> list[str]:
    """Paragraphs of 五、下步工作, each following from a fact of 四."""
    out = []
    n = 1
    s = data.streets
    remaining = []
    if "coverage_task" in s:
        for row in s.to_dict("records"):
            parts = []
            for m, label in MEASURE_LABEL.items():
                left = _int(row.get(f"{m}_task")) - _int(row.get(f"{m}_done"))
                if left > 0:
                    parts.append(f"{label}{left:,}人")
            if parts:
                remaining.append(f"{row['name']}还需完成{'、'.join(parts)}")
    if remaining:
        out.append(
            f"（{_cn(n)}）压实街道责任。对照年度任务，{'；'.join(remaining)}。"
            "进度滞后的街道要逐村（社区）分解剩余任务，于下季度通报前补齐进度。"
        )
    else:
        out.append(f"（{_cn(n)}）巩固扩面成果。各街道年度任务均已完成，要防止参保人员断缴、流失。")
    n += 1
    groups = data.current.groups.head(3)
    if len(groups):
        items = [
            f"{GROUPS.get(int(g), g)}{int(t):,}人以“{GROUP_ACTIONS.get(int(g), '精准宣传动员')}一批”为主"
            for g, t in zip(groups["group"], groups["targets"], strict=True)
        ]
        out.append(f"（{_cn(n)}）聚焦重点群体。{'；'.join(items)}，逐人落实扩面措施。")
        n += 1
    c = data.current.city()
    resume, entities = _int(c.get("targets_resume")), _int(c.get("target_entities"))
    if resume or entities:
        parts = []
        if resume:
            parts.append(f"对断缴人员{resume:,}人开展持续缴费宣传")
        if entities:
            parts.append(f"对未参保市场主体{entities:,}户联合市场监管、税务部门开展执法检查")
        out.append(f"（{_cn(n)}）落实“六个一批”。{'；'.join(parts)}。")
        n += 1
    pk = problems_by_kind(data.problems)
    next_end = parse_quarter(
        f"{data.quarter.year + (data.quarter.n == 4)}Q{data.quarter.n % 4 + 1}"
    ).end
    if len(pk):
        items = [f"{r.kind_label}数据{int(r.rows):,}条" for r in pk.itertuples()]
        out.append(
            f"（{_cn(n)}）清理问题数据。请数据提供部门核实更正{_names(items)}，"
            f"于{cn_date(next_end)}前随下一批数据报送市人社局，实名库随之更新。"
        )
    else:
        out.append(
            f"（{_cn(n)}）做好数据比对。{cn_date(next_end)}前完成下一轮数据共享比对，实名库随之更新。"
        )
    return out


# ---------------------------------------------------------------- charts


def rates_chart(data: ReportData, out: Path) -> Path:
    """Bars of each street's 参保率 and 结构比 with the goal lines; a PNG at ``out``."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    from geo.print_map import DPI, cjk_style

    s = data.streets
    names = list(s["name"])
    cov = [float(_rate(i, n) or 0) for i, n in zip(s["insured"], s["legal_population"])]
    struct = [
        float(_rate(e, c) or 0) for e, c in zip(s["employee_contributors"], s["contributors"])
    ]
    pairs = {
        "coverage": list(zip(s["insured"], s["legal_population"], strict=True)),
        "structure": list(zip(s["employee_contributors"], s["contributors"], strict=True)),
    }
    colours = ["#b2182b", "#2166ac", "#4d9221", "#762a83"]
    with cjk_style():
        fig = Figure(figsize=(9.0, 0.5 * len(names) + 3.2))
        axes = fig.subplots(1, 2)
        for ax, values, label, attr in (
            (axes[0], cov, "参保率", "coverage"),
            (axes[1], struct, "结构比", "structure"),
        ):
            y = range(len(names))
            ax.barh(list(y), values, color="#67a9cf", label=f"{label}（{cn_date(data.as_of)}）")
            for k, g in enumerate(data.goals):
                goal = getattr(g, attr)
                ax.axvline(
                    goal,
                    color=colours[k % len(colours)],
                    linestyle="--",
                    linewidth=1.2,
                    label=f"{g.year}年目标 {goal:.0%}",
                )
            ax.set_yticks(list(y), names)
            ax.invert_yaxis()
            ax.set_xlim(0, 1.0)
            ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
            texts = [percent(*pair) for pair in pairs[attr]]
            for k, (v, t) in enumerate(zip(values, texts, strict=True)):
                ax.text(
                    v + 0.01 if v < 0.85 else v - 0.01,
                    k,
                    t,
                    va="center",
                    ha="left" if v < 0.85 else "right",
                    fontsize=8,
                )
            ax.set_title(label)
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=8)
        fig.suptitle(f"{data.region_name}各街道参保率与结构比", fontsize=13)
        fig.text(
            0.5,
            0.01,
            f"数据来源：扩面对象实名库（{cn_date(data.as_of)}）",
            ha="center",
            fontsize=8,
            color="#555555",
        )
        fig.tight_layout(rect=(0, 0.05, 1, 0.95))
        fig.savefig(out, format="png", dpi=DPI, facecolor="white")
    return out


def street_map(data: ReportData, out: Path) -> Path | None:
    """The choropleth of the streets' 参保率, or None without boundaries."""
    if data.boundaries.empty:
        return None
    from geo.print_map import coverage_map

    s = data.streets
    rates = pd.DataFrame(
        {
            "code": s["street_code"],
            "rate": [
                float(r) if (r := _rate(i, n)) is not None else None
                for i, n in zip(s["insured"], s["legal_population"], strict=True)
            ],
            "text": [
                percent(i, n) if n else "无数据"
                for i, n in zip(s["insured"], s["legal_population"], strict=True)
            ],
        }
    )
    g = _goal_of_year(data)
    return coverage_map(
        data.boundaries,
        rates,
        out,
        title=f"{data.region_name}各街道基本养老保险参保率",
        date_line=f"数据日期：{cn_date(data.as_of)}",
        source_line=f"数据来源：{data.region_name}扩面对象实名库",
        goal=g.coverage,
        goal_label=f"{g.year}年目标 {g.coverage:.0%}",
    )


# ---------------------------------------------------------------- the tables


def street_table(data: ReportData) -> tuple[list[str], list[list[str]], list[list[object]]]:
    """Section 二's table: headers, the printed cells, and the exact values."""
    headers = [
        "街道代码",
        "街道",
        "应参保人口",
        "已参保",
        "参保率",
        "缴费人员",
        "职工缴费人员",
        "结构比",
        "扩面任务",
        "扩面完成",
        "扩面完成率",
        "结构比任务",
        "结构比完成",
        "结构比完成率",
    ]
    printed, exact = [], []
    for r in data.streets.to_dict("records"):
        has_task = "coverage_task" in r and not pd.isna(r.get("coverage_task"))
        ct, cd = (_int(r["coverage_task"]), _int(r["coverage_done"])) if has_task else (0, 0)
        st, sd = (_int(r["structure_task"]), _int(r["structure_done"])) if has_task else (0, 0)
        printed.append(
            [
                r["street_code"],
                r["name"],
                f"{r['legal_population']:,}",
                f"{r['insured']:,}",
                percent(r["insured"], r["legal_population"]),
                f"{r['contributors']:,}",
                f"{r['employee_contributors']:,}",
                percent(r["employee_contributors"], r["contributors"]),
                f"{ct:,}" if has_task else EMPTY,
                f"{cd:,}" if has_task else EMPTY,
                percent(cd, ct) if has_task else EMPTY,
                f"{st:,}" if has_task else EMPTY,
                f"{sd:,}" if has_task else EMPTY,
                percent(sd, st) if has_task else EMPTY,
            ]
        )
        exact.append(
            [
                r["street_code"],
                r["name"],
                int(r["legal_population"]),
                int(r["insured"]),
                _float(r.get("coverage_rate")),
                int(r["contributors"]),
                int(r["employee_contributors"]),
                _float(r.get("structure_ratio")),
                ct if has_task else None,
                cd if has_task else None,
                _float(r.get("coverage_completion")),
                st if has_task else None,
                sd if has_task else None,
                _float(r.get("structure_completion")),
            ]
        )
    return headers, printed, exact


def ranking_table(data: ReportData) -> tuple[list[str], list[list[str]], list[list[object]]]:
    headers = [
        "名次",
        "街道代码",
        "街道",
        "扩面完成率",
        "结构比完成率",
        "得分",
        "通报",
        "上季度名次",
        "名次变化",
    ]
    tasks = data.assessment.set_index("street_code") if len(data.assessment) else None
    printed, exact = [], []
    for r in data.ranking.to_dict("records"):
        code = r["street_code"]
        cells = []
        for m in ("coverage", "structure"):
            task = _int(tasks.at[code, f"{m}_task"]) if tasks is not None else 0
            done = _int(tasks.at[code, f"{m}_done"]) if tasks is not None else 0
            cells.append(percent(done, task))
        prev = r["previous_rank"]
        change = r["rank_change"]
        change_text = (
            EMPTY
            if pd.isna(change)
            else ("持平" if change == 0 else f"{'↑' if change > 0 else '↓'}{abs(int(change))}")
        )
        printed.append(
            [
                str(int(r["rank"])),
                code,
                r["name"] or code,
                *cells,
                percent_of(Fraction(repr(float(r["score"])))),
                r["mention"] or "",
                EMPTY if pd.isna(prev) else str(int(prev)),
                change_text,
            ]
        )
        exact.append(
            [
                int(r["rank"]),
                code,
                r["name"] or code,
                _float(r["coverage_completion"]),
                _float(r["structure_completion"]),
                float(r["score"]),
                r["mention"] or None,
                None if pd.isna(prev) else int(prev),
                None if pd.isna(change) else int(change),
            ]
        )
    return headers, printed, exact


def overview_table(data: ReportData) -> tuple[list[str], list[list[object]]]:
    """The city's figures, this quarter and the previous one (exact values)."""
    cur = data.current.city()
    prev = data.previous.city() if data.previous is not None else {}
    fields = [
        ("数据日期", None),
        ("应参保人口", "legal_population"),
        ("已参保", "insured"),
        ("参保率", "coverage_rate"),
        ("缴费人员", "contributors"),
        ("职工缴费人员", "employee_contributors"),
        ("结构比", "structure_ratio"),
        ("未参保对象", "targets_enroll"),
        ("可升级对象", "targets_upgrade"),
        ("断缴对象", "targets_resume"),
        ("未参保市场主体", "target_entities"),
    ]
    for g in data.goals:
        fields.append((f"距{g.year}年目标还需参保", f"coverage_gap_{g.year}"))
        fields.append((f"距{g.year}年目标还需转职工参保", f"structure_gap_{g.year}"))
    rows: list[list[object]] = []
    for label, col in fields:
        if col is None:
            rows.append(
                [
                    label,
                    data.as_of.isoformat(),
                    data.previous.as_of.isoformat() if data.previous else None,
                ]
            )
            continue
        vals = []
        for src in (cur, prev):
            v = src.get(col)
            if v is None or pd.isna(v):
                vals.append(None)
            elif col.endswith(("_rate", "_ratio")):
                vals.append(float(v))
            else:
                vals.append(int(v))
        rows.append([label, *vals])
    return ["指标", "本季度", "上季度"], rows


# ---------------------------------------------------------------- the Word document


def _east_asia(element: object, name: str) -> None:
    """Set the East Asian font of a run's or a style's run properties (w:eastAsia)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rpr = element.get_or_add_rPr()  # type: ignore[attr-defined]
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), name)
    fonts.set(qn("w:ascii"), fonts.get(qn("w:ascii")) or name)
    fonts.set(qn("w:hAnsi"), fonts.get(qn("w:hAnsi")) or name)


def _run(paragraph, text: str, font: str, size: float, bold=False, colour: str | None = None):
    from docx.shared import Pt, RGBColor

    run = paragraph.add_run(text)
    run.font.name = font
    run.font.size = Pt(size)
    run.font.bold = bold
    if colour:
        run.font.color.rgb = RGBColor.from_string(colour)
    _east_asia(run._element, font)
    return run


def _red_rule(doc) -> None:
    """A red line under the heading block (the 红头's 分隔线)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    p = doc.add_paragraph()
    ppr = p._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "18"), ("w:space", "1"), ("w:color", RED)):
        bottom.set(qn(k), v)
    border.append(bottom)
    ppr.append(border)
    # Set after the border: python-docx puts these in schema order around it.
    p.paragraph_format.space_after = Pt(12)


def _table(
    doc, caption: str, headers: list[str], rows: list[list[str]], left: int = 1, size: float = 9
) -> None:
    """A captioned grid table; the first ``left`` columns are text (left-aligned),
    the rest figures (right-aligned)."""
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.keep_with_next = True
    title.paragraph_format.space_before = Pt(8)
    _run(title, caption, HEADING_FONT, 12)
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        cell.text = ""
        p = cell.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(p, text, HEADING_FONT, size, bold=True)
    for values in rows:
        cells = table.add_row().cells
        for k, (cell, text) in enumerate(zip(cells, values, strict=True)):
            p = cell.paragraphs[0]
            p.alignment = WD_ALIGN_PARAGRAPH.LEFT if k < left else WD_ALIGN_PARAGRAPH.RIGHT
            _run(p, str(text), TABLE_FONT, size)


def _paragraphs(doc, texts: list[str]) -> None:
    from docx.shared import Pt

    for t in texts:
        p = doc.add_paragraph()
        p.paragraph_format.first_line_indent = Pt(32)
        p.paragraph_format.line_spacing = Pt(28)
        _run(p, t, BODY_FONT, 16)


def _heading(doc, text: str) -> None:
    from docx.shared import Pt

    p = doc.add_heading(level=1)
    p.paragraph_format.first_line_indent = Pt(32)
    _run(p, text, HEADING_FONT, 16, bold=False, colour="000000")


def _setup(doc) -> None:
    """Page and default fonts: A4, 公文 margins, 仿宋 三号 for East Asian text."""
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm, Pt

    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Cm(21), Cm(29.7)
    sec.top_margin, sec.bottom_margin = Cm(3.7), Cm(3.5)
    sec.left_margin, sec.right_margin = Cm(2.8), Cm(2.6)
    normal = doc.styles["Normal"]
    normal.font.name = BODY_FONT
    normal.font.size = Pt(16)
    _east_asia(normal.element, BODY_FONT)
    for name in ("Heading 1", "Title"):
        style = doc.styles[name]
        style.font.name = HEADING_FONT
        _east_asia(style.element, HEADING_FONT)


def document_number(data: ReportData) -> str:
    """The 发文字号: the campaign office's notice of the quarter, ``〔2025〕2号``."""
    return f"{data.region_name}扩面办通〔{data.quarter.year}〕{data.quarter.n}号"


def write_docx(data: ReportData, out: Path, images: dict[str, Path | None]) -> None:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    doc = Document()
    _setup(doc)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(12)
    _run(title, f"{data.region_name}基本养老保险扩面增效工作情况通报", TITLE_FONT, 22, True, RED)
    sub = doc.add_paragraph()
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(sub, f"（{data.quarter.label}）", BODY_FONT, 16)
    number = doc.add_paragraph()
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(number, document_number(data), BODY_FONT, 16)
    date = doc.add_paragraph()
    date.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(date, cn_date(data.as_of), BODY_FONT, 16)
    _red_rule(doc)
    intro = doc.add_paragraph()
    _run(intro, "各街道办事处、市级各有关部门：", BODY_FONT, 16)
    _paragraphs(
        doc,
        [
            (
                f"根据基本养老保险扩面增效专项行动每季度通报的要求，现将{data.quarter.label}"
                f"全市扩面增效工作情况（数据截至{cn_date(data.as_of)}）通报如下。"
            )
        ],
    )

    _heading(doc, SECTIONS[0])
    _paragraphs(doc, overview(data))
    if images.get("map") is not None:
        doc.add_picture(str(images["map"]), width=Cm(15))
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    else:
        _paragraphs(doc, ["本期未导入街道边界数据，通报不附参保率分布图。"])

    _heading(doc, SECTIONS[1])
    summary = street_summary(data)
    _paragraphs(doc, summary[:1])
    headers, printed, _ = street_table(data)
    # Printed as two tables that fit an A4 page (the workbook's sheet has every
    # column, and the street code, in one).
    for caption, columns in PRINTED_STREET_TABLES.items():
        keep = [headers.index(c) for c in columns]
        _table(doc, caption, list(columns), [[row[k] for k in keep] for row in printed])
    _paragraphs(doc, summary[1:])
    if images.get("chart") is not None:
        doc.add_picture(str(images["chart"]), width=Cm(15.5))
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER

    _heading(doc, SECTIONS[2])
    rs = ranking_summary(data)
    _paragraphs(doc, rs[:1])
    headers, printed, _ = ranking_table(data)
    keep = [k for k, h in enumerate(headers) if h != "街道代码"]
    _table(
        doc,
        f"表3　{data.quarter.label}各街道排名",
        [headers[k] for k in keep],
        [[row[k] for k in keep] for row in printed],
        left=2,
    )
    _paragraphs(doc, rs[1:])

    _heading(doc, SECTIONS[3])
    _paragraphs(doc, issues(data))
    _heading(doc, SECTIONS[4])
    _paragraphs(doc, next_steps(data))

    for text in (
        f"{data.region_name}基本养老保险扩面增效专项行动工作领导小组办公室",
        cn_date(data.as_of),
    ):
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _run(p, text, BODY_FONT, 16)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(out))


# ---------------------------------------------------------------- the workbook


def _sheet(book, name: str, headers: list[str], rows: list[list[object]]) -> None:
    ws = book.add_worksheet(name)
    bold = book.add_format({"bold": True})
    for c, h in enumerate(headers):
        ws.write_string(0, c, h, bold)
    for r, values in enumerate(rows, start=1):
        for c, v in enumerate(values):
            if v is None or (isinstance(v, float) and pd.isna(v)):
                ws.write_blank(r, c, None)
            elif isinstance(v, bool):
                ws.write_boolean(r, c, v)
            elif isinstance(v, int | float):
                ws.write_number(r, c, v)
            else:
                # Text is text: a name like "=丙街道" is never a formula.
                ws.write_string(r, c, str(v))
    ws.freeze_panes(1, 0)
    ws.set_column(0, len(headers) - 1, 14)


def write_xlsx(data: ReportData, out: Path) -> None:
    import xlsxwriter

    out.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(
        str(out),
        {"strings_to_formulas": False, "strings_to_urls": False, "nan_inf_to_errors": False},
    )
    try:
        headers, rows = overview_table(data)
        _sheet(book, "总体情况", headers, rows)
        headers, _, exact = street_table(data)
        _sheet(book, "各街道完成情况", headers, exact)
        headers, _, exact = ranking_table(data)
        _sheet(book, "排名情况", headers, exact)
        groups = data.current.groups
        _sheet(
            book,
            "重点群体",
            ["群体", "名称", "扩面对象"],
            [
                [int(g), GROUPS.get(int(g), str(g)), int(t)]
                for g, t in zip(groups["group"], groups["targets"], strict=True)
            ],
        )
        pk = problems_by_kind(data.problems)
        _sheet(
            book,
            "问题数据",
            ["数据类别", "类别名称", "问题数据条数", "主要问题"],
            [[r.kind, r.kind_label, int(r.rows), r.reason_label] for r in pk.itertuples()],
        )
    finally:
        book.close()


# ---------------------------------------------------------------- entry point


def write_report(
    db: str | Path | None,
    quarter: str,
    out: Path,
    xlsx: Path | None = None,
    config: Config | None = None,
) -> dict:
    """Write the quarterly 通报 of ``quarter`` (``YYYYQn``) to ``out`` (.docx) and,
    with ``xlsx``, its tables to a workbook. Returns what was written: ``out``,
    ``xlsx``, ``quarter``, ``as_of``, ``region``, ``streets``, ``images``, ``map``
    and ``built`` (False when the date's registry was computed, not stored).

    A quarter with no imported date, or whose year cannot be assessed, is refused
    with :class:`ReportError` (one line) before anything is written."""
    q = parse_quarter(quarter)
    out = Path(out)
    with open_imports(db, config) as imp:
        data = gather(imp, q)
    with tempfile.TemporaryDirectory(prefix="kuomian-report-") as tmp:
        images: dict[str, Path | None] = {
            "map": street_map(data, Path(tmp) / "map.png"),
            "chart": rates_chart(data, Path(tmp) / "rates.png") if len(data.streets) else None,
        }
        write_docx(data, out, images)
    if xlsx is not None:
        write_xlsx(data, Path(xlsx))
    return {
        "out": str(out),
        "xlsx": str(xlsx) if xlsx is not None else None,
        "quarter": str(q),
        "as_of": data.as_of,
        "region": data.region_name,
        "streets": len(data.streets),
        "images": sum(p is not None for p in images.values()),
        "map": images["map"] is not None,
        "built": data.current.stored,
    }
