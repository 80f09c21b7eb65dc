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
PLOTLY_CONFIG = {
    "topojsonURL": OFFLINE_TOPOJSON_URL,
    "displaylogo": False,
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
}


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
    """A range symmetric about the goal, wide enough for every value (at least ±1 point).

    >>> colour_range(pd.Series([0.90, 0.97]), 0.95)
    (0.9, 1.0)
    """
    vals = pd.to_numeric(values, errors="coerce").dropna()
    spread = max([abs(float(v) - goal) for v in vals] + [0.01])
    return round(goal - spread, 10), round(goal + spread, 10)


def choropleth(
    shapes: pd.DataFrame,
    kpi: pd.DataFrame,
    metric: str,
    goal: float,
    goal_year: int,
    title: str = "",
    height: int = 560,
) -> go.Figure:
    """A choropleth of the areas in ``shapes`` coloured by ``metric`` of ``kpi``.

    ``shapes``: code, name, geometry (GeoJSON text). ``kpi``: the rows of
    :func:`analytics.reads.kpi` for the same level. Hover shows the value, the goal,
    the gap in people and the number of targets; ``customdata[0]`` is the code."""
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
    fig.add_trace(
        go.Choropleth(
            geojson=geojson,
            locations=data.loc[known, "code"],
            z=data.loc[known, "value"],
            customdata=custom[known],
            hovertemplate=hover,
            colorscale=DIVERGING,
            zmin=zmin,
            zmax=zmax,
            zmid=goal,
            marker_line_color="#555555",
            marker_line_width=0.8,
            colorbar={"title": {"text": label}, "tickformat": ".0%", "len": 0.8},
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
    fig.update_geos(fitbounds="locations", visible=False, projection_type="mercator")
    fig.update_layout(
        title={"text": title},
        height=height,
        margin={"l": 0, "r": 0, "t": 40, "b": 0},
        clickmode="event+select",
        dragmode=False,
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
