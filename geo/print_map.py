"""The printable street map of the quarterly report: a choropleth of the coverage
rate by street drawn with geopandas and matplotlib into a PNG, offline.

The app's maps are plotly (:mod:`geo.maps`) and need a browser; a Word report
needs a picture. This draws the same areas from their imported GeoJSON, with
the area names on them, a colour bar capped at 100% (a rate cannot exceed it),
the goal marked on the bar, a title, the date and a source line. Areas with no
rate (no legal population) are grey and listed in the legend as 无数据.

Chinese text is set in Noto Sans CJK SC from the font file that the
``noto-cjk-sans-otc`` wheel installs (SIL Open Font License 1.1): nothing is
looked up on the system and nothing is downloaded, so the picture is the same on
a bureau's intranet machine as on a developer's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import geopandas as gpd
import matplotlib
import pandas as pd
from matplotlib import font_manager
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter
from shapely.geometry import shape

# The Simplified Chinese face of the collection (the file's first face is the
# Japanese one, whose forms of some shared characters differ).
CJK_FAMILY = "Noto Sans CJK SC"
MISSING = "#d9d9d9"
COLORMAP = "YlGnBu"
DPI = 200


@cache
def cjk_font_file() -> Path:
    """The installed Noto Sans CJK collection (``noto-cjk-sans-otc``)."""
    import noto_cjk_sans_otc

    return Path(str(noto_cjk_sans_otc.FONT_PATH))


@cache
def register_cjk_font() -> str:
    """Register the wheel's CJK font with matplotlib; returns its family name."""
    path = cjk_font_file()
    if not path.is_file():
        raise FileNotFoundError(
            f"找不到中文字体文件 (CJK font file missing): {path}; pip install noto-cjk-sans-otc"
        )
    font_manager.fontManager.addfont(str(path))
    return CJK_FAMILY


@contextmanager
def cjk_style() -> Iterator[None]:
    """matplotlib settings for a printed Chinese figure (font, no minus-sign glyph gap)."""
    family = register_cjk_font()
    # Figures are made with matplotlib.figure.Figure (no pyplot): no global
    # backend or figure list on a server, and nothing left open after a save.
    with matplotlib.rc_context(
        {
            "font.family": [family],
            "axes.unicode_minus": False,
            "savefig.dpi": DPI,
            "figure.dpi": 100,
        }
    ):
        yield


def _frame(shapes: pd.DataFrame, rates: pd.DataFrame) -> gpd.GeoDataFrame:
    """``shapes`` (code, name, geometry as GeoJSON text) with each area's ``rate``
    (from ``rates``: code, rate; missing or NaN: no rate)."""
    geoms = [shape(json.loads(g)) for g in shapes["geometry"]]
    gdf = gpd.GeoDataFrame(
        {"code": shapes["code"].astype(str), "name": shapes["name"]}, geometry=geoms, crs=4326
    )
    values = dict(zip(rates["code"].astype(str), rates["rate"], strict=True))
    gdf["rate"] = pd.to_numeric(gdf["code"].map(values), errors="coerce")
    if "text" in rates:
        texts = dict(zip(rates["code"].astype(str), rates["text"], strict=True))
        gdf["text"] = gdf["code"].map(texts)
    else:
        gdf["text"] = None
    return gdf


def coverage_map(
    shapes: pd.DataFrame,
    rates: pd.DataFrame,
    out: Path,
    *,
    title: str,
    date_line: str,
    source_line: str,
    goal: float | None = None,
    goal_label: str = "",
    label: str = "参保率",
) -> Path:
    """Draw the choropleth PNG to ``out``; returns ``out``.

    ``shapes``: code, name, geometry (GeoJSON text), one row per area.
    ``rates``: code, rate (a fraction; empty for an area without one) and
    optionally text, the rate as the report prints it (rounded half up).
    The colour bar runs from the lowest rate (or 5 points under the goal) to
    100%, and the goal, when given, is a line on it."""
    if shapes.empty:
        raise ValueError("没有可绘制的边界 (no boundaries to draw)")
    gdf = _frame(shapes, rates)
    known = gdf["rate"].notna()
    lowest = float(gdf.loc[known, "rate"].min()) if known.any() else 0.9
    floor = min(lowest, goal - 0.05 if goal is not None else lowest)
    # Whole points below, so the bar's ticks read as 90%, 92%, …; capped at 100%.
    vmin = max(0.0, int(floor * 100) / 100)
    vmin = min(vmin, 0.99)
    norm = Normalize(vmin=vmin, vmax=1.0)
    cmap = matplotlib.colormaps[COLORMAP]
    with cjk_style():
        fig = Figure(figsize=(7.2, 6.4))
        ax = fig.subplots()
        if known.any():
            gdf[known].plot(
                ax=ax,
                column="rate",
                cmap=cmap,
                norm=norm,
                edgecolor="#444444",
                linewidth=0.8,
            )
        if (~known).any():
            gdf[~known].plot(ax=ax, color=MISSING, edgecolor="#444444", linewidth=0.8, hatch="//")
        for row in gdf.itertuples(index=False):
            point = row.geometry.representative_point()
            shown = row.text if isinstance(row.text, str) else None
            if shown is None:
                shown = f"{row.rate:.2%}" if pd.notna(row.rate) else "无数据"
            text = f"{row.name or row.code}\n{shown}"
            ax.annotate(
                text,
                (point.x, point.y),
                ha="center",
                va="center",
                fontsize=9,
                color="#111111",
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.7},
            )
        # geopandas has set the aspect of degrees at this latitude (1 / cos φ).
        ax.set_axis_off()
        bar = fig.colorbar(
            ScalarMappable(norm=norm, cmap=cmap),
            ax=ax,
            fraction=0.04,
            pad=0.02,
            format=PercentFormatter(xmax=1.0, decimals=0),
        )
        bar.set_label(f"{label}（上限 100%）")
        if goal is not None and vmin <= goal <= 1.0:
            bar.ax.axhline(goal, color="#b2182b", linewidth=2)
        handles = []
        if goal is not None:
            handles.append(
                Line2D([], [], color="#b2182b", linewidth=2, label=goal_label or f"目标 {goal:.0%}")
            )
        if (~known).any():
            handles.append(
                Patch(facecolor=MISSING, edgecolor="#444444", hatch="//", label="无数据")
            )
        if handles:
            # Below the map, so that it never covers an area.
            fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.02, 0.07), fontsize=8)
        fig.suptitle(title, fontsize=14)
        fig.text(0.5, 0.04, date_line, ha="center", fontsize=9)
        fig.text(0.5, 0.015, source_line, ha="center", fontsize=8, color="#555555")
        fig.subplots_adjust(bottom=0.16, top=0.9)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, format="png", dpi=DPI, facecolor="white")
    return out
