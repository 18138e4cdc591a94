"""A synthetic province and its reorganisation, for the demo without sample data and for tests.

Old communes are Voronoi cells of random seeds in a square of a VN-2000 TM-3 zone; new communes are
groups of neighbouring old ones (``Nhập toàn bộ``), one old commune is kept as it is (``Giữ nguyên``)
and a few are cut in two between neighbouring new communes (``Nhập một phần``). As in the real table,
each new commune reuses the code of one of its old communes. Deterministic for a given seed.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

PROVINCE_CODE = "99"  # not a real province (real codes stop at 96)
PROVINCE_NAME = "Tỉnh Mẫu (tổng hợp)"
_SYLLABLES = ("Nà", "Bó", "Mường", "Chiềng", "Pá", "Huổi", "Nậm", "Phiêng", "Co", "Tà", "Lóng", "Sốp",
              "Hua", "Púng", "Ngọc", "Tân", "Phú", "Hồng", "Mai", "Sơn", "Lương", "Thanh", "Bình", "Yên")


@dataclasses.dataclass
class SyntheticReorganisation:
    """A synthetic reorganisation of communes, with its conversion table.

    ``old`` and ``new`` communes (code, name, geometry in ``crs``) and the ``conversion`` table in the
    official CSV's columns.
    """

    old: gpd.GeoDataFrame
    new: gpd.GeoDataFrame
    conversion: pd.DataFrame
    crs: str


def synthetic_reorganisation(*, seed: int = 0, n_old: int = 24, size_m: float = 30_000.0,
                             origin=(485_000.0, 2_345_000.0), epsg: int = 9206, province_code: str = PROVINCE_CODE,
                             first_code: int = 90001) -> SyntheticReorganisation:
    """Build a province of ``n_old`` old communes merged about three into one (see module docstring).

    Parameters
    ----------
    seed : int
        Same seed, same province.
    n_old : int
        Old communes (a grid of squares, then merged in groups).
    size_m : float
        Side of the province, metres.
    origin : (float, float)
        South-west corner in ``epsg``.
    epsg : int
        The TM-3 zone of the coordinates.
    province_code : str
        The province's code.
    first_code : int
        The first commune code; the others follow.

    Returns
    -------
    SyntheticReorganisation

    Examples
    --------
    >>> r = synthetic_reorganisation(seed=1)
    >>> len(r.old), r.new["code"].is_unique, sorted(r.conversion["change"].unique())
    (24, True, ['Giữ nguyên', 'Nhập một phần', 'Nhập toàn bộ'])
    >>> float(round(r.new.area.sum() / r.old.area.sum(), 9))
    1.0
    """
    if n_old < 6:
        raise ValueError(f"`n_old` was {n_old} but is expected to be at least 6")
    rng = np.random.default_rng(seed)
    old = _old_communes(rng, n_old, size_m, origin, first_code)
    group = _groups(rng, old, max(2, n_old // 3))
    parts = _parts(old, group)
    new = _new_communes(old, parts)
    conversion = _conversion(old, new, parts, province_code)
    crs = f"EPSG:{epsg}"
    old_frame = gpd.GeoDataFrame(old.drop(columns="geometry"), geometry=old["geometry"].to_list(), crs=crs)
    return SyntheticReorganisation(old_frame, gpd.GeoDataFrame(new, geometry="geometry", crs=crs),
                                   conversion, crs)


def _name(rng, prefix: str, used: set) -> str:
    while True:
        name = f"{prefix} {' '.join(rng.choice(_SYLLABLES, 2, replace=False))}"
        if name not in used:
            used.add(name)
            return name


def _old_communes(rng, n, size, origin, first_code) -> pd.DataFrame:
    x0, y0 = origin
    frame = shapely.box(x0, y0, x0 + size, y0 + size)
    seeds = rng.uniform((x0, y0), (x0 + size, y0 + size), size=(n, 2))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame,
                                                       ordered=True))
    cells = shapely.intersection(cells, frame)
    used: set = set()
    order = np.lexsort((shapely.get_x(shapely.centroid(cells)), -shapely.get_y(shapely.centroid(cells))))
    cells = cells[order]
    districts = np.minimum((shapely.get_x(shapely.centroid(cells)) - x0) // (size / 3), 2).astype(int)
    return pd.DataFrame({
        "code": [f"{first_code + 3 * i:05d}" for i in range(n)],
        "name": [_name(rng, "Phường" if i < 2 else "Xã", used) for i in range(n)],
        "district_code": [f"{first_code // 100 + d:03d}"[-3:] for d in districts],
        "district_name": [f"Huyện Mẫu {d + 1}" for d in districts],
        "geometry": cells,
    })


def _groups(rng, old: pd.DataFrame, k: int) -> np.ndarray:
    """Group index of each old commune: nearest of ``k`` centres, one centre kept alone (unchanged)."""
    centroids = shapely.centroid(old["geometry"].to_numpy())
    xy = np.column_stack([shapely.get_x(centroids), shapely.get_y(centroids)])
    centres = rng.choice(len(old), size=k, replace=False)
    dist = np.linalg.norm(xy[:, None, :] - xy[None, centres, :], axis=2)
    group = dist.argmin(axis=1)
    alone = centres[0]
    others = np.setdiff1d(np.arange(k), [group[alone]])
    if others.size:
        for i in np.flatnonzero((group == group[alone]) & (np.arange(len(old)) != alone)):
            group[i] = others[dist[i, others].argmin()]
    return group


def _parts(old: pd.DataFrame, group: np.ndarray) -> pd.DataFrame:
    """Pieces of the old communes that make up the new ones.

    (old index, group, geometry, partial) pieces: whole communes, and two old communes split in two
    along the vertical through their centroid, the far half going to the neighbouring group.
    """
    geoms = old["geometry"].to_numpy()
    pieces = [(i, group[i], geoms[i], False) for i in range(len(old))]
    tree = shapely.STRtree(geoms)
    split = 0
    for i in range(len(old)):
        if split == 2 or (group == group[i]).sum() < 2:
            continue
        neighbours = [j for j in tree.query(geoms[i], predicate="touches")
                      if group[j] != group[i] and (group == group[j]).sum() >= 2]
        if not neighbours:
            continue
        j = min(neighbours)
        cx = geoms[i].centroid.x
        xmin, ymin, _xmax, ymax = geoms[i].bounds
        west = shapely.intersection(geoms[i], shapely.box(xmin - 1, ymin - 1, cx, ymax + 1))
        east = shapely.difference(geoms[i], west)
        near_west = geoms[j].centroid.x < cx
        keep, give = (east, west) if near_west else (west, east)
        pieces[i] = (i, group[i], keep, True)
        pieces.append((i, group[j], give, True))
        split += 1
    return pd.DataFrame(pieces, columns=["old", "group", "geometry", "partial"])


def _new_communes(old: pd.DataFrame, parts: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for g, members in parts.groupby("group"):
        donors = sorted(members.loc[~members["partial"], "old"]) or sorted(members["old"])
        donor = donors[0]
        rows.append({"code": old["code"][donor], "name": old["name"][donor],
                     "group": g, "geometry": shapely.union_all(members["geometry"].to_numpy())})
    new = pd.DataFrame(rows).sort_values("code", ignore_index=True)
    new["geometry"] = [g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]) for g in new["geometry"]]
    return new


def _conversion(old: pd.DataFrame, new: pd.DataFrame, parts: pd.DataFrame, province: str) -> pd.DataFrame:
    by_group = new.set_index("group")
    rows = []
    for p in parts.sort_values(["group", "old"]).itertuples(index=False):
        n = by_group.loc[p.group]
        alone = (parts["group"] == p.group).sum() == 1 and not p.partial
        change = "Giữ nguyên" if alone else "Nhập một phần" if p.partial else "Nhập toàn bộ"
        o = old.loc[p.old]
        rows.append({
            "province_code": province, "province_name": f"{PROVINCE_NAME} {province}",
            "commune_code": n["code"], "commune_name": n["name"],
            "old_commune_code": o["code"], "old_commune_name": o["name"], "change": change,
            "old_district_code": o["district_code"], "old_district_name": o["district_name"],
            "old_province_code": province, "old_province_name": f"{PROVINCE_NAME} {province}",
        })
    return pd.DataFrame(rows)
