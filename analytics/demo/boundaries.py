"""Synthetic boundaries for the demo region: streets and communities that tile a city.

The demo city has no real geography, yet the maps need polygons whose codes match
the division data. The method:

1. an irregular city outline (an ellipse of about 40 x 30 km with a few smooth
   harmonics on its radius) around lon 102.45, lat 24.9;
2. one centre per street: urban 街道 near the middle, 镇 towards the edge; the
   Voronoi cells of these centres, clipped to the outline, are the streets;
3. inside each street, one random seed point per community; the Voronoi cells of
   these seeds, clipped to the street, are the communities.

So communities tile their street, streets tile the city, and a street is exactly
the union of its communities. Work is done in kilometres on a local plane and
converted to lon/lat at the end (an equirectangular projection is exact enough
for a 40 km city). The result depends only on the inputs and the seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Polygon, mapping

CENTRE_LON = 102.45
CENTRE_LAT = 24.9
HALF_WIDTH_KM = 20.0
HALF_HEIGHT_KM = 15.0
_KM_PER_DEG_LAT = 110.574
_KM_PER_DEG_LON = 111.320 * math.cos(math.radians(CENTRE_LAT))
# 1e-6 degrees is about 10 cm: plenty for a map, and it keeps the file small.
_GRID = 1e-6


def make_boundaries(
    streets: Sequence[tuple[str, str]],
    communities: Sequence[tuple[str, str, str]],
    seed: int,
) -> dict:
    """GeoJSON FeatureCollection (WGS84 lon/lat) of the streets and communities.

    ``streets`` are ``(code9, name)``; ``communities`` are ``(code12, name, street_code9)``.
    Every feature has properties ``code``, ``name`` and ``level`` ("street" or
    "community"); street features come first, in the order given.
    """
    if not streets:
        raise ValueError("make_boundaries needs at least one street")
    street_codes = [code for code, _ in streets]
    unknown = {s for _, _, s in communities} - set(street_codes)
    if unknown:
        raise ValueError(f"communities refer to unknown streets: {sorted(unknown)}")
    rng = np.random.default_rng(seed)
    outline = _city_outline(rng)
    urban = np.array([name.endswith("街道") for _, name in streets])
    centres = _street_centres(urban, rng)
    street_cells = _voronoi_cells(centres, outline)

    community_geoms: dict[str, shapely.Geometry] = {}
    members: dict[str, list[str]] = {code: [] for code in street_codes}
    for code, _, street in communities:
        members[street].append(code)
    for street_code, cell in zip(street_codes, street_cells):
        codes = members[street_code]
        if not codes:
            continue
        seeds = _points_inside(cell, len(codes), rng)
        for code, geom in zip(codes, _voronoi_cells(seeds, cell)):
            community_geoms[code] = _to_lonlat(geom)

    features = []
    for (code, name), cell in zip(streets, street_cells):
        parts = [community_geoms[c] for c in members[code]]
        # A street is the union of its communities, so a community never pokes out.
        geom = shapely.union_all(parts) if parts else _to_lonlat(cell)
        features.append(_feature(code, name, "street", geom))
    for code, name, _ in communities:
        features.append(_feature(code, name, "community", community_geoms[code]))
    return {"type": "FeatureCollection", "features": features}


def _city_outline(rng: np.random.Generator) -> Polygon:
    """An irregular closed outline: an ellipse whose radius wobbles smoothly."""
    theta = np.linspace(0.0, 2.0 * math.pi, 96, endpoint=False)
    wobble = np.ones_like(theta)
    for k in (2, 3, 5, 7):
        wobble += (
            rng.uniform(0.02, 0.08) / (k / 2) * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
        )
    x = HALF_WIDTH_KM * wobble * np.cos(theta)
    y = HALF_HEIGHT_KM * wobble * np.sin(theta)
    return Polygon(np.column_stack([x, y]))


def _street_centres(urban: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Urban streets cluster round the middle (the old town); towns ring it."""
    n = len(urban)
    angles = np.empty(n)
    radii = np.empty(n)
    for mask, r_lo, r_hi in ((urban, 1.5, 5.0), (~urban, 9.0, 13.0)):
        k = int(mask.sum())
        if k:
            base = rng.uniform(0, 2 * math.pi)
            angles[mask] = base + 2 * math.pi * np.arange(k) / k + rng.uniform(-0.25, 0.25, k)
            radii[mask] = rng.uniform(r_lo, r_hi, k)
    # Scale the ring to the ellipse so towns spread over its long axis as well.
    return np.column_stack(
        [radii * np.cos(angles) * (HALF_WIDTH_KM / HALF_HEIGHT_KM) ** 0.5, radii * np.sin(angles)]
    )


def _points_inside(area: shapely.Geometry, k: int, rng: np.random.Generator) -> np.ndarray:
    """k random points inside ``area`` (rejection sampling in its bounding box)."""
    xmin, ymin, xmax, ymax = area.bounds
    found: list[np.ndarray] = []
    total = 0
    while total < k:
        cand = np.column_stack([rng.uniform(xmin, xmax, 4 * k), rng.uniform(ymin, ymax, 4 * k)])
        cand = cand[shapely.contains_xy(area, cand[:, 0], cand[:, 1])]
        found.append(cand)
        total += len(cand)
    return np.concatenate(found)[:k]


def _voronoi_cells(points: np.ndarray, clip: shapely.Geometry) -> list[shapely.Geometry]:
    """The Voronoi cell of each point (in input order), clipped to ``clip``."""
    if len(points) == 1:
        return [clip]
    diagram = shapely.voronoi_polygons(MultiPoint(points), extend_to=clip, ordered=True)
    return [shapely.intersection(cell, clip) for cell in diagram.geoms]


def _to_lonlat(geom: shapely.Geometry) -> shapely.Geometry:
    lonlat = shapely.transform(
        geom,
        lambda xy: np.column_stack(
            [CENTRE_LON + xy[:, 0] / _KM_PER_DEG_LON, CENTRE_LAT + xy[:, 1] / _KM_PER_DEG_LAT]
        ),
    )
    return shapely.set_precision(lonlat, _GRID)


def _feature(code: str, name: str, level: str, geom: shapely.Geometry) -> dict:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, "level": level},
        "geometry": _plain(mapping(geom)),
    }


def _plain(obj):
    """Tuples to lists and floats rounded, so json.dumps is stable and compact."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, float):
        return round(obj, 6)
    return obj
