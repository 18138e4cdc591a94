"""Reassignment of plots to the new communes: largest overlap, with straddle / outside / legal-mismatch flags.

The single implementation of the rule (DESIGN §5), used in memory and by ``geoland reassign`` alike.
Areas are measured in metres: the plots' own projected CRS, or the VN-2000 TM-3 zone nearest to them.

How it stays fast: commune polygons (thousands of vertices) are cut into small pieces and their outlines
into short lines. A plot that touches no outline lies wholly in one commune (or none), which one point
decides (most plots); intersection areas with the pieces are computed only for plots on an outline;
chunks of plots run on all cores.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .conversion import ConversionTable, parse_conversion_table
from .crs import is_metric, tm3_zone_for_longitude, transform_geometries

STATUSES = ("inside", "straddling", "outside")
DEFAULT_MIN_SHARE = 0.99
DEFAULT_SLIVER_M2 = 1.0
_MAX_PIECE_VERTICES = 128
_CHUNK = 250_000
_AREA_DECIMALS = 6     # areas are compared at 1e-6 m², so that an exact tie is a tie whatever the rounding


def reassign_plots(plots: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, *, code_column: str = "code",
                   old_code_column: str | None = None, conversion=None, min_share: float = DEFAULT_MIN_SHARE,
                   sliver_m2: float = DEFAULT_SLIVER_M2, processes: int | None = None) -> pd.DataFrame:
    """Assign every plot to the commune it overlaps most.

    Parameters
    ----------
    plots, communes : GeoDataFrame
        Plot polygons and new commune polygons, in any CRS (communes are reprojected to the plots' metric
        CRS; geographic plots are measured in the nearest VN-2000 TM-3 zone).
    code_column : str
        Commune code column of ``communes``.
    old_code_column : str, optional
        Column of ``plots`` with the plot's old commune code, for the legal cross-check.
    conversion : ConversionTable, mapping old code → new codes, or DataFrame, optional
        The legal answer: the new communes each old commune went to. A DataFrame is the official table as
        read (validated here) or has columns ``old_commune_code`` and ``commune_code``; anything else is a
        ``TypeError`` naming what is accepted.
    min_share : float
        A plot is ``inside`` when its largest overlap is at least this share of its area …
    sliver_m2 : float
        … or when what lies outside that commune is at most this many m² (boundary slivers). A plot that
        overlaps no commune by more than ``sliver_m2`` is ``outside``.

    Returns
    -------
    DataFrame
        Indexed like ``plots``: ``commune_code`` (None when outside), ``overlap_share``, ``status``
        (inside / straddling / outside), ``second_code``, ``second_share`` and, with a conversion,
        ``legal_mismatch`` (nullable bool: NA when the plot's old code is blank or not in the table, or the
        plot is outside). Ties go to the smaller code; row order and chunking never change the answer.

    Examples
    --------
    >>> from shapely import box
    >>> communes = gpd.GeoDataFrame({"code": ["00002", "00001"]},
    ...                             geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=9206)
    >>> plots = gpd.GeoDataFrame(geometry=[box(10, 10, 20, 20), box(90, 0, 110, 10), box(300, 0, 310, 10)],
    ...                          crs=9206)
    >>> reassign_plots(plots, communes)[["commune_code", "overlap_share", "status", "second_code"]]
      commune_code  overlap_share      status second_code
    0        00002            1.0      inside        None
    1        00001            0.5  straddling       00002
    2         None            0.0     outside        None
    """
    _check(plots, communes, code_column, old_code_column, min_share, sliver_m2)
    allowed = _allowed(conversion) if old_code_column is not None and conversion is not None else None
    plot_geoms, commune_geoms = _metric_geometries(plots, communes)
    codes = communes[code_column].astype(str).to_numpy(dtype=object)
    result = _compute(plot_geoms, commune_geoms, codes, min_share, sliver_m2, processes)
    result.index = plots.index
    if allowed is not None:
        result["legal_mismatch"] = _legal_mismatch(plots[old_code_column], result["commune_code"], allowed)
    return result


# --- check inputs -----------------------------------------------------------------------------------------

def _check(plots, communes, code_column, old_code_column, min_share, sliver_m2) -> None:
    if code_column not in communes.columns:
        raise ValueError(f"`code_column` was {code_column!r} but the communes have columns {list(communes.columns)}")
    if old_code_column is not None and old_code_column not in plots.columns:
        raise ValueError(f"`old_code_column` was {old_code_column!r} but the plots have columns {list(plots.columns)}")
    if plots.crs is None or communes.crs is None:
        raise ValueError("plots and communes need a CRS: areas are measured in metres")
    if not 0 < min_share <= 1:
        raise ValueError(f"`min_share` was {min_share!r} but is expected to be in (0, 1]")
    if not sliver_m2 >= 0:
        raise ValueError(f"`sliver_m2` was {sliver_m2!r} but is expected to be >= 0")


def _metric_geometries(plots, communes) -> tuple[np.ndarray, np.ndarray]:
    if is_metric(plots.crs):
        crs = plots.crs
        plot_geoms = plots.geometry.to_numpy()
    else:
        wgs84 = transform_geometries(np.array([shapely.box(*plots.total_bounds)]), plots.crs, "EPSG:4326")[0]
        crs = f"EPSG:{tm3_zone_for_longitude(wgs84.centroid.x)}"
        plot_geoms = transform_geometries(plots.geometry.to_numpy(), plots.crs, crs)
    return plot_geoms, transform_geometries(communes.geometry.to_numpy(), communes.crs, crs)


# --- compute ----------------------------------------------------------------------------------------------

def _subdivide(geoms: np.ndarray, max_vertices: int = _MAX_PIECE_VERTICES) -> tuple[np.ndarray, np.ndarray]:
    """Cut polygons into pieces of at most ``max_vertices`` vertices.

    Cut each polygon into pieces of at most ``max_vertices`` vertices (halving bounding boxes, as
    PostGIS's ST_Subdivide does); returns (pieces, index of the polygon each came from).
    """
    pieces, owner = [], []
    stack = [(g, i) for i, g in enumerate(geoms) if g is not None and not g.is_empty]
    while stack:
        geom, i = stack.pop()
        if shapely.get_num_coordinates(geom) <= max_vertices:
            pieces.append(geom)
            owner.append(i)
            continue
        xmin, ymin, xmax, ymax = geom.bounds
        if xmax - xmin >= ymax - ymin:
            mid = (xmin + xmax) / 2
            halves = (shapely.box(xmin, ymin, mid, ymax), shapely.box(mid, ymin, xmax, ymax))
        else:
            mid = (ymin + ymax) / 2
            halves = (shapely.box(xmin, ymin, xmax, mid), shapely.box(xmin, mid, xmax, ymax))
        for half in halves:
            part = shapely.clip_by_rect(geom, *half.bounds)        # much faster than a general overlay
            if not part.is_valid:
                part = shapely.make_valid(part)
            for poly in shapely.get_parts(part):
                if poly.geom_type == "Polygon" and poly.area > 0:
                    stack.append((poly, i))
    pieces = np.array(pieces, dtype=object)
    shapely.prepare(pieces)
    return pieces, np.array(owner, dtype=np.int64)


_STATE: dict = {}


def _compute(plot_geoms, commune_geoms, codes, min_share, sliver_m2, processes) -> pd.DataFrame:
    n = len(plot_geoms)
    processes = processes or min(os.cpu_count() or 1, 4)
    # Communes are numbered in code order (features sharing a code count as one commune), so that the
    # smaller number wins a tie exactly when the smaller code does.
    codes, commune_of_feature = np.unique(codes.astype(str), return_inverse=True)
    codes = codes.astype(object)
    pieces, feature = _subdivide(commune_geoms)
    owner = commune_of_feature[feature]
    _STATE.update(geoms=plot_geoms, pieces=pieces, owner=owner, min_share=min_share, sliver_m2=sliver_m2,
                  outline=_outlines(commune_geoms))
    ranges = [(s, min(s + _CHUNK, n)) for s in range(0, n, _CHUNK)]
    try:
        if processes > 1 and len(ranges) > 1:
            # Workers are forked with the arrays already in memory: only row ranges and numbers travel.
            with multiprocessing.get_context("fork").Pool(min(processes, len(ranges))) as pool:
                parts = pool.map(_assign_range, ranges)
        else:
            parts = [_assign_range(r) for r in ranges]
    finally:
        _STATE.clear()
    best, share, status, second, second_share = (np.concatenate([p[k] for p in parts]) if parts else
                                                 np.empty(0) for k in range(5))
    lookup = np.append(codes, None).astype(object)              # index -1 → None
    return pd.DataFrame({
        "commune_code": pd.Series(lookup[best.astype(np.int64)], dtype=object), "overlap_share": share,
        "status": pd.Series(np.array(STATUSES, dtype=object)[status.astype(np.int64)], dtype=object),
        "second_code": pd.Series(lookup[second.astype(np.int64)], dtype=object), "second_share": second_share,
    })


def _outlines(communes: np.ndarray) -> np.ndarray:
    """The communes' boundaries as short lines (32 segments at most), for a quick "touches an outline" test."""
    lines = []
    for geom in communes:
        if geom is None or geom.is_empty:
            continue
        for ring in shapely.get_parts(shapely.boundary(geom)):
            coords = shapely.get_coordinates(ring)
            lines.extend(shapely.linestrings(coords[i:i + 33]) for i in range(0, len(coords) - 1, 32))
    lines = np.array(lines, dtype=object)
    shapely.prepare(lines)
    return lines


def _assign_range(bounds: tuple[int, int]):
    s = _STATE
    geoms = s["geoms"][bounds[0]:bounds[1]]
    return _assign(geoms, s["pieces"], s["owner"], s["outline"], s["min_share"], s["sliver_m2"])


_INSIDE, _STRADDLING, _OUTSIDE = range(3)


def _assign(geoms, pieces, owner, outline, min_share, sliver_m2):
    """(commune index or -1, share, status index, second commune index or -1, second share) per plot."""
    n = len(geoms)
    best = np.full(n, -1, dtype=np.int32)
    share = np.zeros(n)
    status = np.full(n, _OUTSIDE, dtype=np.int8)
    second = np.full(n, -1, dtype=np.int32)
    second_share = np.zeros(n)
    area = shapely.area(geoms)
    # 1. Plots that touch no commune outline lie wholly in one commune (or in none): a point decides.
    edge = np.zeros(n, bool)
    p_idx, _ = shapely.STRtree(outline).query(geoms, predicate="intersects")
    edge[p_idx] = True
    interior = np.flatnonzero(~edge & (area > 0))
    # Any point of such a plot will do, a vertex included (it touches no outline): take the first vertex,
    # read straight from the coordinate array.
    coords, index = shapely.get_coordinates(geoms[interior], return_index=True)
    first = np.searchsorted(index, np.arange(interior.size))
    x, y = coords[first, 0], coords[first, 1]
    pieces_tree = shapely.STRtree(pieces)
    pt_idx, piece_idx = pieces_tree.query(shapely.points(x, y))
    inside_piece = shapely.contains_xy(pieces[piece_idx], x[pt_idx], y[pt_idx])
    hit_plot, hit_commune = interior[pt_idx[inside_piece]], owner[piece_idx[inside_piece]]
    order = np.lexsort((hit_commune, hit_plot))
    hit_plot, hit_commune = hit_plot[order], hit_commune[order]
    distinct = np.ones(hit_plot.size, bool)
    distinct[1:] = (hit_plot[1:] != hit_plot[:-1]) | (hit_commune[1:] != hit_commune[:-1])
    hit_plot, hit_commune = hit_plot[distinct], hit_commune[distinct]
    counts = np.bincount(hit_plot, minlength=n)
    edge[counts > 1] = True                           # overlapping communes: measure exactly
    one = counts[hit_plot] == 1
    best[hit_plot[one]] = hit_commune[one]
    share[hit_plot[one]] = 1.0
    status[hit_plot[one]] = _INSIDE
    # 2. Plots on an outline: intersection areas with the pieces they meet, summed per commune.
    slow = np.flatnonzero(edge | (area <= 0))
    if slow.size == 0:
        return best, share, status, second, second_share
    p, q = pieces_tree.query(geoms[slow], predicate="intersects")
    p = slow[p]
    if p.size == 0:
        return best, share, status, second, second_share
    # Only these plots need exact overlay, so only these are checked: an invalid one is measured as
    # make_valid repairs it (a self-intersecting ring would make the overlay fail).
    need = np.unique(p)
    broken = need[~shapely.is_valid(geoms[need])]
    if broken.size:
        geoms = geoms.copy()
        geoms[broken] = shapely.make_valid(geoms[broken])
        area[broken] = shapely.area(geoms[broken])
    inter = shapely.area(shapely.intersection(geoms[p], pieces[q]))
    overlap = pd.DataFrame({"plot": p, "commune": owner[q], "area": inter}).groupby(
        ["plot", "commune"], as_index=False)["area"].sum()
    overlap["key"] = np.round(overlap["area"].to_numpy(), _AREA_DECIMALS)
    overlap = overlap.sort_values(["plot", "key", "commune"], ascending=[True, False, True])
    rank = overlap.groupby("plot").cumcount().to_numpy()
    top, runner = overlap[rank == 0], overlap[rank == 1]
    rows = top["plot"].to_numpy()
    top_area = top["area"].to_numpy()
    plot_area = area[rows]
    top_share = np.where(plot_area > 0, top_area / np.where(plot_area > 0, plot_area, 1), 0.0)
    inside = (top_share >= min_share) | (plot_area - top_area <= sliver_m2)
    outside = ~inside & (top_area <= sliver_m2)
    best[rows] = np.where(outside, -1, top["commune"].to_numpy())
    share[rows] = np.where(outside, 0.0, np.minimum(top_share, 1.0))
    status[rows] = np.select([inside, outside], [_INSIDE, _OUTSIDE], _STRADDLING)
    keep = runner["area"].to_numpy() > sliver_m2      # a sliver is not a second commune
    srows = runner["plot"].to_numpy()[keep]
    s_area = area[srows]
    second[srows] = runner["commune"].to_numpy()[keep]
    second_share[srows] = np.minimum(runner["area"].to_numpy()[keep] / np.where(s_area > 0, s_area, 1), 1.0)
    return best, share, status, second, second_share


# --- legal cross-check ------------------------------------------------------------------------------------

def _allowed(conversion) -> Mapping[str, frozenset]:
    """Old code → the new codes the conversion table allows, from any of the accepted forms.

    A :class:`~boundaries.conversion.ConversionTable`, a mapping old code → new codes, or a DataFrame: the
    official table as read (parsed and validated here) or any frame with ``old_commune_code`` and
    ``commune_code`` columns.
    """
    if isinstance(conversion, Mapping):
        return {str(k): frozenset(v) for k, v in conversion.items()}
    if isinstance(conversion, pd.DataFrame):
        if {"old_commune_code", "commune_code"} <= set(conversion.columns):
            rows = conversion[["old_commune_code", "commune_code"]].astype(str)
        else:
            rows = parse_conversion_table(conversion.astype(str).where(conversion.notna(), "")).rows
    elif isinstance(conversion, ConversionTable):
        rows = conversion.rows
    else:
        raise TypeError(f"`conversion` was a {type(conversion).__name__}; it takes a ConversionTable "
                        "(boundaries.conversion.parse_conversion_table), a mapping old code → new codes, or a "
                        "DataFrame (the official table, or columns old_commune_code and commune_code)")
    return {old: frozenset(news) for old, news in rows.groupby("old_commune_code")["commune_code"]}


def _legal_mismatch(old_codes: pd.Series, commune_codes: pd.Series, allowed: Mapping[str, frozenset]) -> pd.Series:
    pairs = pd.DataFrame([(old, new) for old, news in allowed.items() for new in news],
                         columns=["old", "new"])
    frame = pd.DataFrame({"old": old_codes.to_numpy(dtype=object), "new": commune_codes.to_numpy(dtype=object)})
    known = frame["old"].isin(pairs["old"]).to_numpy()
    allowed = frame.merge(pairs.assign(ok=True), on=["old", "new"], how="left")["ok"].notna().to_numpy()
    result = pd.array(~allowed, dtype="boolean")
    result[~known | frame["new"].isna().to_numpy()] = pd.NA
    return pd.Series(result, index=commune_codes.index)


def summarise(result: pd.DataFrame) -> dict:
    """Counts per status, per commune and of legal mismatches, for reports."""
    status = result["status"].value_counts()
    per = result.groupby([result["commune_code"].fillna("—"), "status"]).size().unstack(fill_value=0)
    out = {"plots": len(result), "status": {s: int(status.get(s, 0)) for s in STATUSES},
           "per_commune": {code: {s: int(row.get(s, 0)) for s in STATUSES} for code, row in per.iterrows()}}
    if "legal_mismatch" in result:
        mism = result["legal_mismatch"]
        out["legal_mismatch"] = int(mism.sum(skipna=True))
        out["legal_unchecked"] = int(mism.isna().sum())
        for code, count in result[mism.fillna(False)].groupby(result["commune_code"].fillna("—")).size().items():
            out["per_commune"].setdefault(code, {})["legal_mismatch"] = int(count)
    return out
