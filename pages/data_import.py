"""数据导入 (bureau only): upload a batch (files or a zip), import it with its
as-of date, rebuild the registry, and review the accounting, the problem data and
the data quality of each department over time."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from analytics import audit, problem_workflow, reads, workflow, writes
from analytics.access import Scope
from analytics.exports import safe_csv_bytes
from analytics.ingest import ImportRejected, rollback
from analytics.reads.quality import newest_import
from analytics.registry.build import BuildError
from pages import _shared as ui

st.title("数据导入与数据质量")
account = ui.account()
if account.role != "bureau":
    st.warning("仅人社局账号可以导入数据。")
    st.stop()

db = ui.db_path()
ctx = ui.context()
scope = ctx.scope if ctx else Scope.bureau(account.name)
version = ctx.version if ctx else None


def log_row(action: str, what: str, rows: int | None, detail: str) -> None:
    """An ``import`` or ``build`` row of the audit log, for the logged-in user."""
    audit.record(db, scope.user, scope.role, action, what, rows=rows, detail=detail)


# ---------------------------------------------------------------- upload
st.subheader("上传一批数据")
st.caption(
    "一批数据是同一数据日期的各部门文件（.csv / .xlsx，可附带边界 .geojson），"
    "也可以上传一个或多个 .zip（每个 zip 为一个批次，内含 manifest.toml 时以其日期为准）。"
    "同一日期再次导入时，按数据种类替换之前的数据。"
)
# Outside the form, so that what the date means shows as soon as it is chosen.
today = dt.date.today()
newest = newest_import(db, scope)
as_of = st.date_input(
    "数据日期（截至）",
    value=workflow.default_as_of(newest, today),
    key="import_as_of",
    help="散装文件以此日期为一个批次（默认为最近一次导入的数据日期）；zip 内的 manifest.toml 优先",
)
refusal, warning = workflow.check_as_of(as_of, newest, today)
if refusal:
    st.error(refusal)
elif warning:
    st.warning(warning)
with st.form("upload_form", clear_on_submit=True):
    files = st.file_uploader(
        "选择文件",
        accept_multiple_files=True,
        type=["csv", "xlsx", "xls", "geojson", "json", "zip", "toml"],
        key="import_files",
    )
    go = st.form_submit_button("导入并构建实名库", type="primary")

if go:
    loose = [f for f in files or [] if not f.name.lower().endswith(".zip")]
    if not files:
        st.error("请先选择要导入的文件。")
    elif refusal and loose:
        st.error("未导入：散装文件的数据日期晚于今天，请先改正数据日期。")
    else:
        try:
            # The uploaded files (personal data) live in a private folder that is
            # removed whatever happens, a failure or an exception included.
            uploads = [(f.name, f.getvalue()) for f in files]
            with workflow.staged_uploads(uploads, as_of) as paths:
                bar = st.progress(0.0, text="开始导入")

                def progress(message: str, fraction: float) -> None:
                    # The workflow splits the bar: reading each file, then each build step.
                    bar.progress(min(max(fraction, 0.0), 1.0), text=message)

                # The child processes write the import and build rows for this user.
                report, info, notices = workflow.import_and_build(
                    paths, db, progress=progress, user=scope.user, role=scope.role
                )
            bar.progress(1.0, text="实名库已构建")
        except ImportRejected as exc:
            log_row("import", "上传导入", 0, "rejected; nothing imported")
            st.error(f"导入被拒绝，数据库未作任何修改：{ui.message(exc)}")
        except BuildError as exc:
            log_row("import", "上传导入", None, "imported; the build failed")
            log_row("build", "上传后构建", None, "failed; the previous registry stays in use")
            st.error("数据已导入，但实名库构建失败，仍在使用之前的实名库。详情见服务器日志。")
            ui.log.error("build after an upload failed: %s", audit.redact(exc, limit=None))
        else:
            st.cache_data.clear()
            st.success(
                f"已导入 {len(report)} 个文件，实名库已构建到 "
                f"{ui.cn_date(info['as_of'])}（用时 {info['seconds']} 秒）。"
            )
            for note in notices:
                st.info(note)
            st.session_state["import_report"] = report

report = st.session_state.get("import_report")
if report is not None:
    st.markdown("**本次导入报告**（读取 = 接收 + 重复 + 问题）")
    shown = report.assign(kind=report["kind"].map(reads.kind_label))
    shown.columns = ["批次", "数据日期", "文件", "数据种类", "读取", "接收", "重复", "问题", "警告"]
    st.dataframe(ui.screen(shown), hide_index=True, width="stretch")

PENDING, DONE = "rollback_pending", "rollback_result"
if DONE in st.session_state:  # the outcome of the rollback just confirmed
    lines, failed = st.session_state.pop(DONE)
    if failed and not lines:
        st.error(f"回滚未执行，数据库未作任何修改：{ui.message(failed)}")
    elif failed:
        st.warning("\n\n".join(lines))
        st.error(f"批次已回滚，但实名库重建失败，仍在使用之前的实名库：{ui.message(failed)}")
    else:
        st.success("\n\n".join(lines))
if not reads.status(db).imported:
    st.info("数据库中还没有导入任何数据。")
    st.stop()

# ---------------------------------------------------------------- batches and rollback
st.subheader("已导入批次")
st.caption(
    "每次导入为一行；“在用”表示该批次仍有文件在实名库中使用（未被同一日期的后续导入替换）。"
    "回滚一个批次会删除它导入的全部数据并重建实名库，其文件在导入记录中保留为“未使用”。"
)
batches = rollback.list_batches(db)
st.dataframe(
    ui.screen(
        batches.assign(
            in_use=batches["in_use"].map({True: "是", False: "否"}),
            kinds=batches["kinds"].map(
                lambda ks: "、".join(reads.kind_label(k) for k in str(ks).split(";") if k)
            ),
        )[["import_seq", *rollback.BATCH_COLUMNS]].rename(
            columns={
                "import_seq": "导入序号",
                "batch": "批次",
                "as_of": "数据日期",
                "imported_at": "导入时间",
                "kinds": "数据种类",
                "files": "文件数",
                "accepted": "接收行数",
                "in_use": "在用",
            }
        )
    ),
    hide_index=True,
    width="stretch",
    key="batches_table",
)
choices = list(dict.fromkeys(zip(batches["batch"], batches["as_of"])))
with st.form("rollback_form"):
    picked = st.selectbox(
        "选择要回滚的批次",
        choices,
        index=len(choices) - 1,
        format_func=lambda c: f"{c[0]}（数据日期 {ui.cn_date(c[1])}）",
        key="rollback_choice",
    )
    if st.form_submit_button("回滚…"):
        st.session_state[PENDING] = picked

pending = st.session_state.get(PENDING)
if pending is not None:
    name, day = pending
    st.warning(
        f"确认回滚批次 {name}（数据日期 {ui.cn_date(day)}）？该批次导入的全部数据、问题数据和边界将被删除，"
        "实名库随后重建。若该批次导入时替换了同一日期更早批次的数据，那些数据无法恢复，需要重新导入。"
    )
    yes, no = st.columns(2)
    if no.button("取消", key="rollback_cancel"):
        st.session_state.pop(PENDING)
        st.rerun()
    if yes.button("确认回滚", type="primary", key="rollback_confirm"):
        st.session_state.pop(PENDING)
        with st.spinner("正在回滚并重建实名库…"):
            # The rollback writes its own `import` row for this user.
            st.session_state[DONE] = lines, failed = rollback.remove_in_child(
                db, name, day, scope.user, scope.role
            )
        rebuilt = [x for x in lines if x.startswith("实名库重建")]
        if rebuilt:  # no build when nothing is left to build
            log_row(
                "build",
                f"回滚 {name} 后重建",
                None,
                "failed; the previous registry stays in use" if failed else "after a rollback",
            )
        st.cache_data.clear()
        st.rerun()  # the table above, and the registry's date, as they are now

ctx = ui.context()
version = ctx.version if ctx else None

# ---------------------------------------------------------------- problem data
st.subheader("问题数据")
# Cached on the published version: an import shows at once, before any build.
published = reads.in_use(db)
probs = ui.problems(db, published, scope, ctx.as_of if ctx else None)
if probs.empty:
    st.success("当前实名库所用数据中没有问题数据。")
else:
    severity = st.radio(
        "类别",
        ("error", "warning"),
        horizontal=True,
        key="problems_severity",
        format_func={"error": "问题（未接收）", "warning": "警告（已接收）"}.get,
    )
    chosen = probs[probs["severity"] == severity]
    summary = reads.problem_summary(chosen)
    summary["reason"] = summary["reason"].map(lambda r: reads.REASON_LABELS.get(r, r))
    summary.columns = ["部门数据", "原因", "类别", "行数"]
    left, right = st.columns([1, 2])
    with left:
        st.dataframe(summary.drop(columns=["类别"]), hide_index=True, width="stretch")
    with right:
        listed = ui.first_rows(chosen)
        detail = listed[
            ["kind_label", "source_file", "row_number", "reason", "field", "message", "raw"]
        ]
        detail = detail.assign(
            reason=detail["reason"].map(lambda r: reads.REASON_LABELS.get(r, r)),
            field=[reads.field_label(k, f) for k, f in zip(listed["kind"], detail["field"])],
            message=[
                reads.problem_message(k, m) for k, m in zip(listed["kind"], detail["message"])
            ],
        )
        detail.columns = ["部门数据", "文件", "行号", "原因", "字段", "说明", "原始内容"]
        st.dataframe(ui.screen(detail), hide_index=True, width="stretch", height=320)
    # Serialized on click only: tens of thousands of rows at 120k people.
    shown_probs = probs.drop(columns=["kind_label"])
    as_of_text = ctx.as_of if ctx else "latest"
    ui.download(
        "下载问题数据（CSV）",
        lambda: safe_csv_bytes(shown_probs),
        f"问题数据_{as_of_text}.csv",
        ui.CSV_MIME,
        "problems_download",
        lambda: writes.log_export(db, scope, f"问题数据 {as_of_text}", len(shown_probs)),
    )

# ---------------------------------------------------------------- send back, by department
st.subheader("问题数据退回与更正")
st.caption(
    "每个部门的问题数据可下载为 Excel 清单（含原因和更正方法）退回该部门；下载后其问题记为"
    "“已退回部门”，该部门后续批次中不再出现的问题记为“已更正”。每次下载都记录在审计日志中。"
)


# Cached on the published version: what each batch had does not change until an import.
@st.cache_data(show_spinner=False, max_entries=16)
def problem_counts(db: str, published: int | None, scope: Scope) -> pd.DataFrame:
    return problem_workflow.counts_over_time(db, scope)


@st.cache_data(show_spinner=False, max_entries=16)
def problem_counts_figure(db: str, published: int | None, scope: Scope) -> go.Figure:
    over_time = problem_counts(db, published, scope)
    fig = px.bar(
        over_time.assign(as_of=over_time["as_of"].map(ui.cn_date)),
        x="as_of",
        y="found",
        color="kind_label",
        barmode="group",
        labels={"as_of": "数据日期", "found": "问题数", "kind_label": "部门数据"},
    )
    fig.update_layout(height=280, margin={"l": 10, "r": 10, "t": 20, "b": 10})
    return fig


counts = problem_workflow.status_counts(db, scope)
if counts.empty:
    st.info("还没有需要退回的问题数据。")
else:
    st.dataframe(
        ui.screen(counts.drop(columns=["kind"])).rename(
            columns={"kind_label": "部门数据", **problem_workflow.STATUSES}
        ),
        hide_index=True,
        width="stretch",
        key="problem_status_counts",
    )
    to_send = counts[(counts["open"] + counts["sent"]) > 0]
    if not to_send.empty:
        kind = st.selectbox(
            "退回部门",
            list(to_send["kind"]),
            format_func=dict(zip(counts["kind"], counts["kind_label"])).get,
            key="send_back_kind",
        )
        label = reads.kind_label(kind)
        ui.download(
            f"下载{label}退回清单（Excel）",
            lambda: problem_workflow.send_back_sheet(db, scope, kind),
            f"问题数据退回_{label}.xlsx",
            ui.XLSX_MIME,
            "send_back_download",
            lambda: problem_workflow.mark_sent(db, scope, kind),
        )
    over_time = problem_counts(db, published, scope)
    if not over_time.empty:
        st.plotly_chart(
            problem_counts_figure(db, published, scope),
            width="stretch",
            key="problem_counts_chart",
            config=ui.chart_config("问题数据"),
        )
        st.dataframe(
            ui.screen(over_time.drop(columns=["kind"])).rename(
                columns={
                    "kind_label": "部门数据",
                    "as_of": "数据日期",
                    "found": "该批问题数",
                    "new": "新发现",
                    "fixed": "已更正",
                }
            ),
            hide_index=True,
            width="stretch",
            key="problem_counts_table",
        )
    with st.expander("各问题的处理状态"):
        ui.rows_note(int(counts[list(problem_workflow.STATUSES)].to_numpy().sum()), "条")
        listed = problem_workflow.status_list(db, scope, limit=ui.SCREEN_ROWS)
        st.dataframe(
            ui.screen(listed).rename(
                columns={
                    "kind_label": "部门数据",
                    "reason_label": "原因",
                    "id_masked": "身份证号",
                    "status_label": "状态",
                    "first_as_of": "首次发现",
                    "last_as_of": "最近出现",
                    "sent_at": "退回时间",
                    "sent_by": "退回人",
                    "fixed_as_of": "更正于",
                }
            ),
            hide_index=True,
            width="stretch",
        )

# ---------------------------------------------------------------- quality over time
st.subheader("各部门数据质量")
qual = ui.quality(db, published, scope)


@st.cache_data(show_spinner=False, max_entries=16)
def quality_figure(db: str, version: int | None, scope: Scope) -> go.Figure:
    # Cached on the registry version: plotly express takes a few hundred ms to build it.
    fig = px.line(
        qual.assign(as_of=qual["as_of"].map(ui.cn_date)),
        x="as_of",
        y="problem_rate",
        color="kind_label",
        markers=True,
        labels={"as_of": "数据日期", "problem_rate": "问题率", "kind_label": "部门数据"},
    )
    fig.update_layout(
        height=320, yaxis_tickformat=".1%", margin={"l": 10, "r": 10, "t": 20, "b": 10}
    )
    return fig


if not qual.empty:
    st.plotly_chart(
        quality_figure(db, version, scope),
        width="stretch",
        key="quality_chart",
        config=ui.chart_config("各部门数据质量"),
    )
    table = qual.pivot_table(
        index="kind_label",
        columns="as_of",
        values=["read", "problems"],
        aggfunc="sum",
        fill_value=0,
    )
    order = sorted(table.columns, key=lambda c: (c[1], c[0] != "read"))
    table = table[order]
    table.columns = [f"{ui.cn_date(d)} {'读取' if m == 'read' else '问题'}" for m, d in order]
    st.dataframe(
        table.reset_index().rename(columns={"kind_label": "部门数据"}),
        hide_index=True,
        width="stretch",
    )

with st.expander("全部导入记录"):
    log = ui.import_log(db, published, scope)
    log = log.assign(
        kind=log["kind_label"], encoding=log["encoding"].str.replace("utf", "UTF")
    ).drop(columns=["kind_label"])
    st.dataframe(
        ui.screen(log.rename(columns=reads.COLUMN_LABELS)), hide_index=True, width="stretch"
    )

with st.expander("导出审计日志（含姓名的导出，最新在前）"):
    exports = reads.export_audit(db, scope)
    exports = exports.assign(
        role=exports["role"].map(lambda r: reads.ROLE_LABELS.get(r, reads.audit_text(r))),
        what=exports["what"].map(reads.audit_text),
        detail=exports["detail"].map(reads.audit_text),
    )
    st.dataframe(
        ui.screen(exports.rename(columns=reads.COLUMN_LABELS)), hide_index=True, width="stretch"
    )
