"""Every text a user reads is Chinese: each page, for each role, rendered under
AppTest (logged in with a real account), holds no English word, no ``None`` /
``nan`` and no ``00:00:00`` or ISO date in its titles, headers, markdown, captions,
metrics, alerts, widget labels, help and options, expander and tab labels, table
column titles and cells, and the texts of its plotly charts; every chart's toolbar
speaks Chinese (plotly's zh-CN locale, only the PNG download button).

The allow-list (:data:`ALLOWED`) is short and each entry says why: file formats and
names a user types or downloads, ``ID``, the paper size. Code spans (text in
backticks: commands, file names) are codes, not prose. Streamlit's file uploader
draws "Drag and drop files here", "Browse files" and "Limit 200MB per file" in the
browser (not in the element tree, so not checked here); they are allowed for the
day a version puts them there.
"""

# ruff: noqa: F811 - the test functions take the fixtures imported from test_app

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from test_app import (  # noqa: F401 - the fixtures of the app's tests
    APP,
    _navigation_as_served,
    app,
    built,
    db,
    goto,
    ok,
)

# Words that may stay as they are, and why.
ALLOWED = {
    "CSV",  # the file format named on download buttons
    "csv",
    "xlsx",  # file extensions a user picks in the uploader
    "xls",
    "zip",
    "geojson",
    "GeoJSON",
    "json",
    "toml",
    "Excel",  # the program a workbook opens in
    "WPS",
    "PNG",  # the picture format of a chart download
    "ID",
    "A4",  # paper size of the printable lists
    "UTF",  # a file's character encoding (UTF-8, GBK), as the import log records it
    "GBK",
}
# A batch is named after the folder or zip it came from (often its date, 2025-03-31):
# the name is shown as the user gave it, in the batch tables and the rollback choice.
AS_GIVEN = ("cell 批次", "selectbox rollback_choice option")
# Streamlit's own uploader texts (drawn by the browser).
ALLOWED_PHRASES = ("Drag and drop files here", "Browse files", "Limit")
ENGLISH = re.compile(r"[A-Za-z][A-Za-z0-9]+")
CODE_SPAN = re.compile(r"`[^`]*`")
FILE_NAME = re.compile(r"[\w.-]+\.(?:csv|xlsx|xls|zip|geojson|json|toml)\b")
ISO_DATE = re.compile(r"(?<![0-9])(?:19|20)[0-9]{2}-[0-9]{1,2}-[0-9]{1,2}(?![0-9])")
TEMPLATE = re.compile(r"%\{[^}]*\}|<[^<>]*>")  # plotly placeholders and HTML tags


def offences(text: str) -> list[str]:
    """What in ``text`` is not Chinese: English words, None, midnight, ISO dates."""
    text = FILE_NAME.sub(" ", CODE_SPAN.sub(" ", str(text)))
    for phrase in ALLOWED_PHRASES:
        text = text.replace(phrase, " ")
    bad = [w for w in ENGLISH.findall(text) if w not in ALLOWED]
    bad += ISO_DATE.findall(text)
    if "00:00:00" in text:
        bad.append("00:00:00")
    return bad


def test_the_checker_catches_what_it_should() -> None:
    assert offences("参保率 None") == ["None"]
    assert offences("2023-03-31 00:00:00") == ["2023-03-31", "00:00:00"]
    assert offences("Jul 2023") == ["Jul"]
    assert offences("下载（CSV）`kuomian build` 户籍人口.csv") == []
    assert offences("错误 (wrong user name)") == ["wrong", "user", "name"]


def _labels(columns_json: str) -> dict[str, str | None]:
    """Column title shown for each column of a dataframe (its column_config label)."""
    shown = {}
    for name, conf in (json.loads(columns_json) if columns_json else {}).items():
        if isinstance(conf, dict):
            shown[name.removeprefix("col:") if name.startswith("col:") else name] = (
                None if conf.get("hidden") else conf.get("label", name)
            )
    return shown


def _chart_texts(spec: dict) -> list[str]:
    layout = spec.get("layout", {})
    out = []

    def title(obj: object) -> None:
        if isinstance(obj, dict):
            out.append(str(obj.get("text", "")))
        elif isinstance(obj, str):
            out.append(obj)

    title(layout.get("title"))
    for key, axis in layout.items():
        if key.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            title(axis.get("title"))
            out += [str(t) for t in axis.get("ticktext", []) or []]
    out += [str(a.get("text", "")) for a in layout.get("annotations", []) or []]
    for trace in spec.get("data", []):
        out.append(str(trace.get("name", "") or ""))
        for key in ("text", "hovertemplate", "texttemplate"):
            value = trace.get(key)
            if isinstance(value, list):
                out += [str(v) for v in value]
            elif isinstance(value, str):  # not a typed array ({"dtype", "bdata"})
                out.append(value)
        if trace.get("type") in ("scatter", "bar") and isinstance(trace.get("x"), list):
            out += [str(v) for v in trace["x"] if isinstance(v, str)]
        title((trace.get("colorbar") or {}).get("title"))
    return [TEMPLATE.sub(" ", t) for t in out]


def visible_texts(at) -> list[tuple[str, str]]:
    """(where, text) of everything the page shows, in the sidebar too."""
    found: list[tuple[str, str]] = []
    for node in at._tree:
        kind = getattr(node, "type", "")
        proto = getattr(node, "proto", None)
        if kind in (
            "title",
            "header",
            "subheader",
            "markdown",
            "caption",
            "text",
            "error",
            "warning",
            "info",
            "success",
        ):
            found.append((kind, node.value))
        elif kind == "metric":
            found += [("metric", node.label), ("metric", node.value), ("metric", node.delta)]
            found.append(("metric help", proto.help))
        elif kind in ("expander", "tab"):
            found.append((kind, node.label))
        elif kind == "dataframe":
            frame = node.value
            labels = _labels(proto.columns)
            for col in frame.columns:
                shown = labels.get(str(col), str(col))
                if shown is None:
                    continue
                found.append(("column title", shown))
                found += [("cell " + shown, str(v)) for v in frame[col].tolist()]
        elif kind == "plotly_chart":
            config = json.loads(proto.config or "{}")
            found.append(("chart toolbar", "" if _chinese_toolbar(config) else "English toolbar"))
            found += [("chart", t) for t in _chart_texts(json.loads(proto.spec))]
        elif hasattr(node, "label") and proto is not None and hasattr(proto, "label"):
            kind = f"{kind} {node.key}" if node.key else kind
            found.append((kind + " label", node.label))
            if getattr(proto, "help", ""):
                found.append((kind + " help", proto.help))
            if getattr(proto, "placeholder", ""):
                found.append((kind + " placeholder", proto.placeholder))
            if hasattr(node, "options"):
                found += [(kind + " option", str(o)) for o in node.options]
    return [(w, t) for w, t in found if t is not None and str(t) != ""]


def _chinese_toolbar(config: dict) -> bool:
    """The toolbar shows no English: plotly's zh-CN locale with its dictionary, and
    only the PNG download button (Streamlit adds an English 'Fullscreen' button
    unless the buttons are listed), or no toolbar at all."""
    if config.get("displayModeBar") is False:
        return True
    locale = (config.get("locales") or {}).get("zh-CN", {})
    return (
        config.get("locale") == "zh-CN"
        and bool(locale.get("dictionary"))
        and config.get("modeBarButtons") == [["toImage"]]
    )


def check(at, page: str, role: str) -> list[str]:
    failures = []
    for where, text in visible_texts(at):
        if where.startswith(AS_GIVEN):
            text = ISO_DATE.sub(" ", str(text).split("（")[0]) + "".join(str(text).split("（")[1:])
        if bad := offences(text):
            failures.append(f"{role} {page} [{where}] {text!r}: {bad}")
    return failures


def pages_of(role: str) -> list[str]:
    """The pages app.py's navigation gives ``role`` (its ROLE_PAGES, read from the file)."""
    tree = ast.parse(Path(APP).read_text(encoding="utf-8"))
    (value,) = (
        n.value
        for n in tree.body
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "ROLE_PAGES"
    )
    files = {"import": "data_import"}
    return [f"pages/{files.get(p, p)}.py" for p in ast.literal_eval(value)[role]]


@pytest.mark.parametrize("role", ["leader", "cadre", "bureau", "admin"])
def test_every_page_of_every_role_shows_only_chinese(db, role: str) -> None:
    at = ok(app(role))
    failures = []
    for page in pages_of(role):
        at = goto(at, page)
        failures += check(at, page, role)
        if page == "pages/map.py":
            streets = at.selectbox(key="map_street").options
            at.selectbox(key="map_street").select_index(1).run()
            failures += check(ok(at), page + " (a street)", role)
            assert streets
        if page == "pages/registry.py":
            at.text_input(key="registry_query").input("测试0").run()
            failures += check(ok(at), page + " (a card)", role)
    assert not failures, "\n".join(failures)
