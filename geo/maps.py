"""Choropleth figures of streets and communities, drawn from the imported boundaries.

No map tiles and no basemap: the areas are drawn from their own GeoJSON on an
invisible geo subplot (``visible=False``, ``fitbounds="locations"``), so the map
works without a network. Colours diverge at the goal: areas below it are red,
areas at or above it blue, so a leader sees at once who has not met the goal.

plotly.js still asks for a world topojson whenever a choropleth is drawn, even
when no base layer is shown, and by default fetches it from cdn.plot.ly. On a
bureau's offline intranet that request fails and the chart never draws, so
:data:`PLOTLY_CONFIG` points ``topojsonURL`` at an empty topology carried in a
``data:`` URL (plotly appends ``/world_110m.json``; after ``#`` that is only a
fragment).
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pandas as pd
import plotly.graph_objects as go

from analytics.registry.versions import goal_met

METRICS = {"coverage_rate": "参保率", "structure_ratio": "结构比"}
GAP_COLUMN = {"coverage_rate": "coverage_gap_{year}", "structure_ratio": "structure_gap_{year}"}
GAP_LABEL = {"coverage_rate": "距目标还需参保", "structure_ratio": "距目标还需升级"}
# Red below the goal, blue at and above it (ColorBrewer RdBu, colour-blind safe).
DIVERGING = [
    [0.0, "#b2182b"],
    [0.25, "#ef8a62"],
    [0.5, "#f7f7f7"],
    [0.75, "#67a9cf"],
    [1.0, "#2166ac"],
]
MISSING = "#d9d9d9"

_EMPTY_TOPOLOGY = json.dumps(
    {
        "type": "Topology",
        "arcs": [],
        "objects": {
            name: {"type": "GeometryCollection", "geometries": []}
            for name in ("coastlines", "land", "ocean", "lakes", "rivers", "countries", "subunits")
        },
    },
    separators=(",", ":"),
)
OFFLINE_TOPOJSON_URL = "data:application/json," + quote(_EMPTY_TOPOLOGY) + "#"

# plotly.js's zh-CN locale, passed in the chart's config (``config.locales``):
# Streamlit's plotly bundle registers no locale, but plotly.js reads a chart's
# own ``locales`` before its registry, and Streamlit hands the config over as is.
# The dictionary holds the texts the toolbar and the download can show; the
# format gives Chinese month and day names to date axes and hover labels.
ZH_CN_LOCALE = {
    "dictionary": {
        "Download plot as a png": "下载图片（PNG）",
        "Download plot": "下载图片",
        "Taking snapshot - this may take a few seconds": "正在生成图片，请稍候",
        "Snapshot succeeded": "图片已生成",
        "Sorry, there was a problem downloading your snapshot!": "抱歉，图片下载失败！",
        "Autoscale": "自动缩放",
        "Reset axes": "重置坐标轴",
        "Reset view": "重置视图",
        "Zoom": "缩放",
        "Zoom in": "放大",
        "Zoom out": "缩小",
        "Pan": "平移",
        "Box Select": "矩形选择",
        "Lasso Select": "套索选择",
        "Show closest data on hover": "悬停时显示最近的数据",
        "Compare data on hover": "悬停时比较数据",
        "Toggle Spike Lines": "显示或隐藏辅助线",
        "Double-click to zoom back out": "双击恢复原始大小",
        "Double-click on legend to isolate one trace": "双击图例只显示这一项",
        "trace": "数据系列",
        "Close": "关闭",
    },
    "format": {
        "days": ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
        "shortDays": ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
        "months": [f"{m}月" for m in range(1, 13)],
        "shortMonths": [f"{m}月" for m in range(1, 13)],
        "date": "%Y年%-m月%-d日",
        "decimal": ".",
        "thousands": ",",
    },
}


def chart_config(filename: str = "图表", **extra: object) -> dict:
    """The config of every chart: the zh-CN locale, and a toolbar of one button, the
    PNG download (named ``filename``). Listing the buttons (``modeBarButtons``) is
    what keeps Streamlit's own "Fullscreen" button, whose title is English, away."""
    return {
        "locale": "zh-CN",
        "locales": {"zh-CN": ZH_CN_LOCALE},
        "displaylogo": False,
        "modeBarButtons": [["toImage"]],
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
        **extra,
    }


def map_config(**extra: object) -> dict:
    """The config of the maps: :func:`chart_config` without a toolbar. The printable
    map is the matplotlib one (:mod:`geo.print_map`, the quarterly report's), which
    the map page offers as a download: the plotly map's own PNG button would be a
    second printable map. Without a mode bar there is no Streamlit "Fullscreen"
    button either (it lives in the mode bar)."""
    config = chart_config(**extra)
    del config["modeBarButtons"], config["toImageButtonOptions"]
    return {**config, "displayModeBar": False}


PLOTLY_CONFIG = map_config(topojsonURL=OFFLINE_TOPOJSON_URL)


def feature_collection(shapes: pd.DataFrame) -> dict:
    """GeoJSON FeatureCollection of the rows (code, name, geometry text), ids = codes."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": r.code,
                "properties": {"code": r.code, "name": r.name},
                "geometry": json.loads(r.geometry),
            }
            for r in shapes.itertuples(index=False)
        ],
    }


def _fmt_rate(v: float | None) -> str:
    return "无数据" if v is None or pd.isna(v) else f"{v:.2%}"


def colour_range(values: pd.Series, goal: float) -> tuple[float, float]:
    """The colour range: the data's own, widened to hold the goal (at least a point
    either side of it), and never past 100% (a rate cannot exceed it).

    >>> colour_range(pd.Series([0.90, 0.97]), 0.95)
    (0.9, 0.97)
    >>> colour_range(pd.Series([0.985, 0.999]), 0.995)
    (0.985, 1.0)
    """
    vals = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    lo = min([*vals, goal - 0.01])
    hi = min(1.0, max([*vals, goal + 0.01]))
    return round(max(0.0, lo), 10), round(hi, 10)


def diverging_scale(lo: float, hi: float, goal: float) -> list[list]:
    """:data:`DIVERGING` with its white point moved to the goal's place in [lo, hi]
    (the range is the data's, so it is seldom symmetric about the goal)."""
    mid = 0.5 if hi <= lo else min(max((goal - lo) / (hi - lo), 0.0), 1.0)
    stops = [0.0, mid / 2, mid, mid + (1 - mid) / 2, 1.0]
    return [[round(p, 6), colour] for p, (_, colour) in zip(stops, DIVERGING, strict=True)]


def _label_points(shapes: pd.DataFrame) -> pd.DataFrame:
    """A point inside each area (shapely's representative point) to write its name on."""
    from shapely.geometry import shape

    points = [shape(json.loads(g)).representative_point() for g in shapes["geometry"]]
    return pd.DataFrame(
        {
            "code": shapes["code"].to_numpy(),
            "lon": [p.x for p in points],
            "lat": [p.y for p in points],
        }
    )


def choropleth(
    shapes: pd.DataFrame,
    kpi: pd.DataFrame,
    metric: str,
    goal: float,
    goal_year: int,
    title: str = "",
    height: int = 560,
    date_text: str = "",
    source: str = "",
) -> go.Figure:
    """A printable choropleth of the areas in ``shapes`` coloured by ``metric`` of ``kpi``.

    ``shapes``: code, name, geometry (GeoJSON text). ``kpi``: the rows of
    :func:`analytics.reads.kpi` for the same level. Each area carries its name and
    value; the colour range is the data's, capped at 100%, white at the goal; the
    title, ``date_text`` and ``source`` are part of the figure, so the toolbar's
    PNG download carries them. Hover shows the value, the goal, the gap in people
    and the number of targets; ``customdata[0]`` is the code."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {list(METRICS)}")
    gap_col = GAP_COLUMN[metric].format(year=goal_year)
    data = shapes[["code", "name"]].merge(
        kpi.drop(columns=["name"], errors="ignore"), on="code", how="left"
    )
    data["value"] = pd.to_numeric(data[metric], errors="coerce")
    for col in (gap_col, "targets", "legal_population", "contributors"):
        if col not in data:
            data[col] = 0
        data[col] = pd.to_numeric(data[col], errors="coerce").fillna(0).astype(int)
    data["value_text"] = data["value"].map(_fmt_rate)
    data["status"] = [
        ("无数据" if pd.isna(v) else ("已达标" if goal_met(v, goal) else "未达标"))
        for v in data["value"]
    ]
    geojson = feature_collection(shapes)
    zmin, zmax = colour_range(data["value"], goal)
    label = METRICS[metric]
    hover = (
        f"<b>%{{customdata[1]}}</b><br>{label}：%{{customdata[2]}}<br>"
        f"{goal_year}年目标：{goal:.0%}（%{{customdata[5]}}）<br>"
        f"{GAP_LABEL[metric]}：%{{customdata[3]:,}} 人<br>"
        f"扩面对象：%{{customdata[4]:,}} 人<extra></extra>"
    )
    custom = data[["code", "name", "value_text", gap_col, "targets", "status"]].to_numpy()
    fig = go.Figure()
    known = data["value"].notna().to_numpy()
    ticks = sorted({zmin, goal, zmax})
    fig.add_trace(
        go.Choropleth(
            geojson=geojson,
            locations=data.loc[known, "code"],
            z=data.loc[known, "value"],
            customdata=custom[known],
            hovertemplate=hover,
            colorscale=diverging_scale(zmin, zmax, goal),
            zmin=zmin,
            zmax=zmax,
            marker_line_color="#555555",
            marker_line_width=0.8,
            colorbar={
                "title": {"text": label},
                "tickvals": ticks,
                "ticktext": [f"目标 {t:.0%}" if t == goal else f"{t:.1%}" for t in ticks],
                "len": 0.8,
            },
            name=label,
        )
    )
    if (~known).any():
        # Areas with no legal population have no rate: grey, not a colour of the scale.
        fig.add_trace(
            go.Choropleth(
                geojson=geojson,
                locations=data.loc[~known, "code"],
                z=[0] * int((~known).sum()),
                customdata=custom[~known],
                hovertemplate=hover,
                colorscale=[[0, MISSING], [1, MISSING]],
                showscale=False,
                marker_line_color="#555555",
                marker_line_width=0.8,
                name="无数据",
            )
        )
    # The names and values on the areas (a printed map has no hover).
    points = _label_points(shapes).merge(data, on="code", how="left")
    fig.add_trace(
        go.Scattergeo(
            lon=points["lon"],
            lat=points["lat"],
            mode="text",
            text=[
                f"{n or c}<br>{v}"
                for n, c, v in zip(points["name"], points["code"], points["value_text"])
            ],
            textfont={"size": 12, "color": "#111111"},
            customdata=points[
                ["code", "name", "value_text", gap_col, "targets", "status"]
            ].to_numpy(),
            hovertemplate=hover,
            showlegend=False,
            name="名称",
        )
    )
    fig.update_geos(fitbounds="locations", visible=False, projection_type="mercator")
    subtitle = "　".join(t for t in (date_text, f"{goal_year}年目标 {goal:.0%}") if t)
    note = "灰色：无应参保人口　" if (~known).any() else ""
    fig.update_layout(
        title={"text": f"{title}<br><sup>{subtitle}</sup>" if title else subtitle},
        height=height,
        margin={"l": 0, "r": 0, "t": 70, "b": 40},
        clickmode="event+select",
        dragmode=False,
        paper_bgcolor="white",
        annotations=[
            {
                "text": f"{note}红色：低于目标；蓝色：达到或超过目标"
                + (f"　{source}" if source else ""),
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "y": -0.06,
                "showarrow": False,
                "xanchor": "left",
                "font": {"size": 11, "color": "#555555"},
            }
        ],
    )
    return fig


def selected_code(event: object) -> str | None:
    """The code of the area a user clicked, from ``st.plotly_chart(on_select=...)``'s event."""
    try:
        points = event["selection"]["points"]  # type: ignore[index]
    except (KeyError, TypeError):
        return None
    for p in points or []:
        custom = p.get("customdata")
        if custom:
            return str(custom[0])
        if p.get("location"):
            return str(p["location"])
    return None
