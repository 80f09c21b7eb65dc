"""Write docs/数据格式.md, the users' guide to the input files and the outputs.

The kinds, fields, accepted headers, value lists and reason labels come from
analytics/config/sources.toml (the mapping the importer uses), the correction
hints from analytics/problem_workflow.py and the export columns from the
modules that write them, so the document cannot drift from the code:
tests/test_format_doc.py checks that the committed file equals this output.

    python docs/make_format_doc.py          # rewrite docs/数据格式.md
    python docs/make_format_doc.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analytics import audit, exports, sources
from analytics.problem_workflow import FIX_HINTS
from analytics.quarter.assessment import ASSESSMENT_COLUMNS
from analytics.quarter.lists import DUPLICATE_COLUMNS
from analytics.quarter.plan import PLAN_COLUMNS

OUT = ROOT / "docs" / "数据格式.md"

TYPES = {
    "id": "身份证号（GB 11643）",
    "uscc": "统一社会信用代码（GB 32100）",
    "date": "日期",
    "number": "数字",
    "text": "文本",
    "enum": "取值列表",
    "address_code": "12 位区划代码（本地区内）",
    "region_code": "参保地区划代码（6 至 12 位）",
    "division_code": "区划代码（6、9 或 12 位）",
}

# Reason codes in the order the checks try them (the first found is the reason).
REASONS = [
    (
        "malformed_row",
        "error",
        "CSV 文件中该行的格式错误（引号不成对、列数不对等），整行无法读取。",
    ),
    ("missing_value", "error", "必填项为空。"),
    (
        "invalid_id",
        "error",
        "身份证号不符合 GB 11643：不是 18 位（15 位号码会自动升位）、出生日期不存在或校验位错误。",
    ),
    (
        "invalid_uscc",
        "error",
        "统一社会信用代码不符合 GB 32100：不是 18 位、含不允许的字符或校验位错误。",
    ),
    ("invalid_date", "error", "必填日期无法识别，或晚于本批次的数据日期。"),
    ("invalid_value", "error", "必填项的取值不在规定的取值列表内。"),
    ("invalid_address_code", "error", "区划代码不是 12 位数字（参保地：不是 6 至 12 位数字）。"),
    ("out_of_region", "error", "区划代码不在本地区内。"),
    (
        "conflict",
        "error",
        "与本批次前面一条同类记录主键相同、内容不同：保留前面一条，后面一条记为问题。",
    ),
    (
        "name_mismatch",
        "warning",
        "同一身份证号在其他部门数据中的姓名与户籍姓名不同：以户籍姓名为准。",
    ),
    ("gender_mismatch", "warning", "性别与身份证号所示性别不同。"),
]

EXPORTS = [
    ("targets", "扩面对象（应参未参、断缴、可升级人员），按得分排名", exports.TARGET_COLUMNS),
    ("kpi", "参保率、结构比及与目标的差距（--level city|street|community）", exports.KPI_COLUMNS),
    ("problems", "问题数据和警告（实名库所用文件的）", exports.PROBLEM_COLUMNS),
    ("entities", "未参保市场主体", exports.ENTITY_COLUMNS),
    (
        "imports",
        "每个导入文件的记账（读取 = 接收 + 重复 + 问题）",
        [*exports.IMPORT_COLUMNS, "in_use"],
    ),
    ("assessment", "考核：各街道年度任务完成情况（--year YYYY）", ASSESSMENT_COLUMNS),
    ("duplicates", "重复参保人员", DUPLICATE_COLUMNS),
    ("audit", "审计日志", audit.COLUMNS),
]

COMMAND_LINE = """\
kuomian demo --out DIR [--persons N] [--seed S]      # 生成示例地区的批次
kuomian import BATCH_DIR [BATCH_DIR ...] --db DB     # 导入批次（文件夹或 zip），打印导入报告
kuomian build --db DB [--as-of DATE] [--debug]       # 构建实名库（默认：最新数据日期）
kuomian export targets|kpi|problems|entities|imports --db DB --out FILE.csv [--level ...] [--as-of DATE]
kuomian export assessment --db DB --year YYYY --out FILE.csv [--as-of DATE]
kuomian export duplicates --db DB --out FILE.csv
kuomian export roster --db DB --type collection|subsidised --out FILE.xlsx [--community CODE]
kuomian report --db DB --quarter YYYYQn --out FILE.docx [--xlsx FILE.xlsx]
kuomian plan --db DB (--enroll N --upgrade N | --reach YEAR) --out FILE.csv
kuomian batches list --db DB
kuomian batches remove BATCH --db DB [--as-of D]
kuomian user add|list|disable|enable|unlock|passwd ... --db DB
kuomian export WHAT ... --user NAME                  # 以账号身份导出（密码在 $KUOMIAN_PASSWORD）
kuomian export audit --db DB --out FILE.csv"""


def _base_sources() -> sources.Sources:
    """The mapping as shipped (a user's extension, $KUOMIAN_SOURCES, left out)."""
    raw = tomllib.loads(sources.SOURCES_FILE.read_text(encoding="utf-8"))
    return sources._parse(raw)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _values_text(src: sources.Sources, list_name: str) -> str:
    canon = src.choices(list_name)
    return "、".join(canon)


def _kind_section(src: sources.Sources, kind: sources.Kind) -> list[str]:
    nature = (
        "事件类：各批次累计（构建某日期时读取该日期及以前的全部批次）"
        if kind.event
        else "状态类：构建某日期时读取该日期及以前最新的一个批次"
    )
    lines = [
        f"### {kind.label}（`{kind.name}`）",
        "",
        f"{nature}；主键（判断重复与冲突）：{'、'.join(f'`{k}`' for k in kind.key)}。",
        "",
        "| 字段 | 必填 | 类型 | 可接受的表头 |",
        "|---|---|---|---|",
    ]
    for f in kind.fields:
        kind_text = TYPES[f.type]
        if f.type == "enum" and f.values:
            kind_text += f"：{_values_text(src, f.values)}"
        headers = "、".join(f.headers) if f.headers else "—"
        lines.append(
            f"| `{f.name}` | {'是' if f.required else ''} | {_cell(kind_text)} | "
            f"{_cell(headers)}（或 `{f.name}`） |"
        )
    lines.append("")
    return lines


def _value_lists(src: sources.Sources) -> list[str]:
    raw = tomllib.loads(sources.SOURCES_FILE.read_text(encoding="utf-8"))["values"]
    lines = ["| 取值列表 | 取值（其他写法） |", "|---|---|"]
    for name, spellings in raw.items():
        parts = [
            f"{canon}（{'、'.join(aliases)}）" if aliases else canon
            for canon, aliases in spellings.items()
        ]
        lines.append(f"| `{name}` | {_cell('、'.join(parts))} |")
    return lines


def render() -> str:
    """The document's text."""
    src = _base_sources()
    reason_labels = src.labels["reason"]
    out: list[str] = [
        "# 数据格式：各部门报送的文件与平台输出的文件",
        "",
        (
            "<!-- 本文件由 docs/make_format_doc.py 根据 analytics/config/sources.toml 生成，"
            "请勿手工修改；修改映射文件后运行 `python docs/make_format_doc.py`。 -->"
        ),
        "",
        (
            "本文说明各部门报送给人社局的数据文件应是什么样子，平台检查什么、如何报告问题，"
            "以及平台输出哪些文件。字段名和数据种类名同时给出英文代码（程序和命令行使用）"
            "和中文名称（文件表头和页面使用）。"
        ),
        "",
        "## 一、批次（batch）",
        "",
        "一个批次是同一数据日期（as-of date，数据截至日期）的一组部门文件，放在一个文件夹或一个 zip 中。",
        "",
        (
            '- 可附 `manifest.toml`：`as_of = "2025-06-30"`、`region_code = "530181"`（6 位县级区划代码）。'
            "没有时，数据日期取自文件夹名（`2025-06-30`、`20250630`、`2025Q2` 即该季度最后一天），"
            "地区取自配置。数据日期不能晚于导入当天。"
        ),
        (
            "- 在「数据导入」页直接上传的散装文件为一个批次，数据日期在页面上选择，"
            "默认为最近一次导入的数据日期。"
        ),
        (
            "- 文件格式：`.csv`（UTF-8、带 BOM 的 UTF-8、GBK 或 GB18030，自动识别）或 `.xlsx`"
            "（读第一个工作表；有以数据种类命名的工作表时读该表）。表头上方可以有一至五行标题"
            "（如“某某街道低保人员花名册”）；末尾的空行和“合计/总计/小计”行不是数据。"
        ),
        (
            "- 文件的数据种类由文件名（含英文种类名或下表的中文名）判断，否则由表头判断；"
            "无法判断时整批拒绝，并说明文件名和可能的种类。"
        ),
        "- 同一批次的文件按文件名顺序读取，每个文件自上而下。",
        (
            "- 一个批次可以只含部分种类。同一数据日期再次导入时，按种类替换之前的数据；"
            "不同日期的批次构成历史。"
        ),
        "- 可附一个边界文件（`*.geojson`，经纬度），每个街道或社区一个要素，属性 `code` 和 `name`。",
        (
            "- 缺少必填列或无法读取的文件使整个批次被拒绝（说明文件、缺少的字段和可接受的表头），"
            "数据库不作任何修改。"
        ),
        "",
        "## 二、数据种类与字段",
        "",
        "每种数据的身份证号字段（`id_number`）都接受："
        + "、".join(src.kinds["hukou"].field("id_number").headers)
        + "；"
        "人员姓名（`name`）都接受：" + "、".join(src.kinds["hukou"].field("name").headers) + "。"
        "表头比较时去掉空格、全角转半角。“必填”一列为“是”的字段不能缺列，也不能为空。",
        "",
        "| 种类 | 中文名 | 必填字段 |",
        "|---|---|---|",
    ]
    for kind in src.kinds.values():
        required = "、".join(f"`{f.name}`" for f in kind.required)
        out.append(f"| `{kind.name}` | {kind.label} | {required} |")
    out.append("")
    for kind in src.kinds.values():
        out += _kind_section(src, kind)
    out += [
        "### 取值列表",
        "",
        (
            "取值在去掉空格、全角转半角后比较；括号内是也能识别的其他写法。"
            "必填项的取值不在列表内是问题（`invalid_value`），可选项则是警告、该项留空。"
        ),
        "",
        *_value_lists(src),
        "",
        "## 三、检查与原因代码",
        "",
        (
            "- 身份证号：去空格、全角转半角、x 转大写；15 位号码按规则升为 18 位；"
            "18 位号码须出生日期真实、校验位正确。出生日期和性别取自身份证号。"
        ),
        "- 统一社会信用代码：18 位，字符为 0-9 和 ABCDEFGHJKLMNPQRTUWXY，校验位正确。",
        "- 区划代码：12 位统计用区划代码，前 6 位为县，前 9 位为街道乡镇，12 位为社区村。",
        "- 日期：2025-06-30、2025/6/30、20250630、2025年6月30日、Excel 日期均可。",
        (
            "- 每一行数据的去向只有一个：接收、与前面某行完全相同（重复，计数后合并）、"
            "或问题数据（带原因代码和原始内容）。每个文件都有：读取 = 接收 + 重复 + 问题。"
        ),
        (
            "- 一行有多个问题时只记第一个（按下表顺序）。可选项无法识别时不拒绝该行："
            "该项留空并记一条警告。"
        ),
        "",
        "| 原因代码 | 中文 | 类别 | 说明 | 如何更正 |",
        "|---|---|---|---|---|",
    ]
    severity = {"error": "问题（该行未接收）", "warning": "警告（该行已接收）"}
    for code, sev, meaning in REASONS:
        out.append(
            f"| `{code}` | {reason_labels.get(code, code)} | {severity[sev]} | {_cell(meaning)} | "
            f"{_cell(FIX_HINTS[code])} |"
        )
    out += [
        "",
        (
            "问题数据在「数据导入」页按部门下载为 Excel 退回清单（所在文件、行号、原因、如何更正和原始内容），"
            "每个问题有状态：待处理 → 已退回部门（该部门清单被下载后）→ 已更正（该部门后续批次中不再出现）。"
        ),
        "",
        "## 四、输出文件",
        "",
        (
            "命令行导出的 CSV 为 UTF-8、带表头，下列列在前（后面可能还有其他列）。比率为 0 到 1 的小数，"
            "不四舍五入；空表示没有值。以 `=`、`+`、`-`、`@`、制表符或回车开头且不是数字的文本，"
            "前面加一个 `'`，使 Excel 和 WPS 按文本显示。页面上的下载为 .xlsx 或带 BOM 的 CSV，"
            "可直接用 Excel 和 WPS 打开。"
        ),
        "",
        "| 导出（`kuomian export …`） | 内容 | 列 |",
        "|---|---|---|",
    ]
    for what, meaning, columns in EXPORTS:
        out.append(f"| `{what}` | {_cell(meaning)} | {', '.join(f'`{c}`' for c in columns)} |")
    out += [
        "| `roster` | 征收清册（`collection`）或代缴名单（`subsidised`），.xlsx，每个社区一个工作表 | — |",
        "",
        (
            f"`kuomian plan` 的列：{', '.join(f'`{c}`' for c in PLAN_COLUMNS)}。"
            "`kuomian report` 写季度通报 .docx（`--xlsx` 另写其表格）。"
        ),
        "",
        "## 五、命令行",
        "",
        "```sh",
        COMMAND_LINE,
        "```",
        "",
        (
            "`--db` 默认为 `data/kuomian.duckdb`（或 `$KUOMIAN_DB`）。成功时退出码为 0，"
            "否则非 0，并在标准错误输出一行原因。导入或构建失败时数据库不作任何修改。"
        ),
        "",
    ]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT.relative_to(ROOT)} is out of date: run python docs/make_format_doc.py")
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
