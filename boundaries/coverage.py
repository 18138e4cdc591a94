"""Coverage QA of one vintage of administrative units: gaps and overlaps between communes.

The communes of one date should tile their province. Two kinds of defect are reported, each connected
piece on its own, with its area in m² (measured in a VN-2000 TM-3 zone, never in degrees) and a location:

- ``overlap``: a piece of land inside two communes;
- ``gap``: a hole enclosed by the layer that no commune covers (the province's outer edge is not a gap).

Pieces smaller than ``min_area_m2`` are digitising noise between layers drawn from different sources and
are left out.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .crs import is_metric, tm3_zone_for_longitude, transform_geometries

DEFAULT_MIN_AREA_M2 = 1000.0
COLUMNS = ["kind", "codes", "area_m2", "lon", "lat", "geometry"]


def coverage_defects(units: gpd.GeoDataFrame, *, code_column: str = "code",
                     min_area_m2: float = DEFAULT_MIN_AREA_M2, metric_epsg: int | None = None
                     ) -> gpd.GeoDataFrame:
    """Gaps and overlaps between the polygons of ``units`` (see the module docstring).

    Parameters
    ----------
    units : GeoDataFrame
        Polygons of one vintage, in any CRS.
    code_column : str
        Column naming each unit in the report (blank codes are reported as ``?``).
    min_area_m2 : float
        Pieces below this area are not reported.
    metric_epsg : int, optional
        CRS in which areas are measured; default the units' own CRS when metric, else the nearest TM-3 zone.

    Returns
    -------
    GeoDataFrame
        One row per defect piece, largest first: ``kind`` (gap/overlap), ``codes`` (the units involved:
        the two overlapping ones, or those bordering the gap, joined by ``|``), ``area_m2``, ``lon``/``lat``
        (a point inside the piece, WGS 84), geometry in EPSG:4326.
    """
    metric, labels, metric_epsg = _metric_units(units, code_column, min_area_m2, metric_epsg)
    pieces = [_overlaps(metric, labels, min_area_m2), _gaps(metric, labels, min_area_m2)]
    found = pd.concat([p for p in pieces if len(p)], ignore_index=True) if any(len(p) for p in pieces) else None
    return _assemble(found, metric_epsg)


def _metric_units(units, code_column, min_area_m2, metric_epsg):
    if code_column not in units.columns:
        raise ValueError(f"`code_column` was {code_column!r} but the units have columns {list(units.columns)}")
    if units.crs is None:
        raise ValueError("the units have no CRS")
    if not min_area_m2 >= 0:
        raise ValueError(f"`min_area_m2` was {min_area_m2!r} but is expected to be >= 0")
    if metric_epsg is None:
        if is_metric(units.crs) and units.crs.to_epsg():
            metric_epsg = units.crs.to_epsg()
        else:
            lon = transform_geometries(np.array([shapely.box(*units.total_bounds)]), units.crs, "EPSG:4326")
            metric_epsg = tm3_zone_for_longitude(shapely.centroid(lon[0]).x)
    geoms = transform_geometries(units.geometry.to_numpy(), units.crs, f"EPSG:{metric_epsg}")
    labels = np.array(["?" if c is None or c != c or c == "" else str(c) for c in units[code_column]],
                      dtype=object)
    return geoms, labels, metric_epsg


def _explode_polygons(geoms: np.ndarray, owners: np.ndarray):
    """Polygon parts of each geometry, with the index of the geometry each came from."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    polygonal = shapely.get_type_id(parts) == 3
    return parts[polygonal], owners[index[polygonal]]


def _overlaps(geoms, labels, min_area_m2) -> pd.DataFrame:
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if left.size == 0:
        return pd.DataFrame(columns=["kind", "codes", "area_m2", "geometry"])
    inter = shapely.intersection(geoms[left], geoms[right])
    pairs = np.arange(left.size)
    parts, pair_of = _explode_polygons(inter, pairs)
    area = shapely.area(parts)
    big = area >= min_area_m2
    codes = [" | ".join(sorted((labels[left[k]], labels[right[k]]))) for k in pair_of[big]]
    return pd.DataFrame({"kind": "overlap", "codes": codes, "area_m2": area[big], "geometry": parts[big]})


def _gaps(geoms, labels, min_area_m2) -> pd.DataFrame:
    union = shapely.union_all(geoms)
    holes = [shapely.Polygon(ring) for poly in shapely.get_parts(union) if poly.geom_type == "Polygon"
             for ring in poly.interiors]
    holes = np.array(holes, dtype=object)
    if holes.size == 0:
        return pd.DataFrame(columns=["kind", "codes", "area_m2", "geometry"])
    area = shapely.area(holes)
    holes, area = holes[area >= min_area_m2], area[area >= min_area_m2]
    tree = shapely.STRtree(geoms)
    hole_idx, unit_idx = tree.query(holes, predicate="dwithin", distance=1.0)
    codes = [" | ".join(sorted(set(labels[unit_idx[hole_idx == h]]))) for h in range(holes.size)]
    return pd.DataFrame({"kind": "gap", "codes": codes, "area_m2": area, "geometry": holes})


def _assemble(found: pd.DataFrame | None, metric_epsg: int) -> gpd.GeoDataFrame:
    if found is None or found.empty:
        return gpd.GeoDataFrame({c: [] for c in COLUMNS[:-1]}, geometry=[], crs="EPSG:4326")
    found = found.sort_values(["area_m2", "kind", "codes"], ascending=[False, True, True], ignore_index=True)
    metric = found["geometry"].to_numpy()
    where = transform_geometries(shapely.point_on_surface(metric), f"EPSG:{metric_epsg}", "EPSG:4326")
    wgs84 = transform_geometries(metric, f"EPSG:{metric_epsg}", "EPSG:4326")
    return gpd.GeoDataFrame({
        "kind": found["kind"].to_numpy(),
        "codes": found["codes"].to_numpy(),
        "area_m2": found["area_m2"].to_numpy(dtype=float),
        "lon": shapely.get_x(where),
        "lat": shapely.get_y(where),
    }, geometry=gpd.GeoSeries(wgs84, crs="EPSG:4326"))
