"""A synthetic province of land plots at the seed's scale, with its defects recorded as ground truth.

Plots tile each old (pre-2025) commune — they never cross an old commune boundary, as on a cadastral map —
as Voronoi cells of points clustered around settlements: small residential plots near the centres, paddy
and annual crops around them, perennial crops further out and large forest plots everywhere else. Sheets
(SB) and plot numbers (ST) are numbered inside each commune, north to south then west to east. Land users
have CCCD numbers whose birth-province, century/gender and year digits agree with their birth year.

Defects are injected at the rates the campaign reported for Sơn La (35.7 % of plots with full data; of
those 70.5 % authenticated, 14.1 % incorrect, 15.4 % unverifiable; 64.3 % missing at least one field) plus
small shares of overlaps, duplicate MX.SB.ST, malformed and conflicting CCCDs, area mismatches and invalid
geometries. The truth goes to a sidecar CSV keyed by the row number in the plot file, and the population
database's answer to a verification CSV. The same seed gives the same files.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from boundaries.conversion import fold_vietnamese
from boundaries.crs import is_metric, tm3_zone_for_longitude, transform_geometries
from geoland.rules import vntext
from identifiers.cccd import BIRTH_PROVINCES

FULL_DATA_SHARE = 0.357
VERIFICATION_SHARES = {"authenticated": 0.705, "incorrect": 0.141, "unverifiable": 0.154}
DEFECT_SHARES = {"overlap": 0.002, "duplicate_mx": 0.002, "malformed_cccd": 0.005, "conflicting_cccd": 0.002,
                 "area_mismatch": 0.01, "invalid_geometry": 0.001}
MISSABLE = ("certificate_serial", "user_name", "id_number", "land_use", "legal_area")
FORMATS = {"gpkg": ("GPKG", ".gpkg"), "shp": ("ESRI Shapefile", ".shp"), "geojson": ("GeoJSON", ".geojson"),
           "fgb": ("FlatGeobuf", ".fgb"), "gdb": ("OpenFileGDB", ".gdb"), "csv": ("CSV", ".csv"),
           "dgn": ("DGN", ".dgn")}
# Field names as the systems write them; a DBF keeps 10 characters.
LONG_NAMES = {"commune_code": "MAXA", "sheet": "SOHIEUTOBANDO", "plot_number": "SOTHUTUTHUA",
              "legal_area": "DIENTICH", "land_use": "LOAIDAT", "certificate_serial": "SOPHATHANH",
              "user_name": "TENCHU", "id_number": "SOCCCD", "birth_year": "NAMSINH"}
SHORT_NAMES = LONG_NAMES | {"sheet": "SHBANDO", "plot_number": "SOTHUA"}
LAYER = "thua_dat"   # the layer name written, whatever the file is called (same seed, same bytes)

_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Lò", "Cầm", "Quàng", "Tòng",
           "Lường", "Hà", "Vì", "Sùng", "Giàng", "Mùa", "Thào", "Lù", "Điêu", "Bạc", "Lộc")
_MIDDLE_M = ("Văn", "Đức", "Minh", "Hữu", "Xuân", "A", "Quang", "Thanh")
_MIDDLE_F = ("Thị", "Thị Thu", "Thị Ngọc", "Thị Thanh", "Thị Hồng")
_GIVEN_M = ("An", "Bình", "Chiến", "Dũng", "Hùng", "Khăm", "Pằng", "Sáng", "Tuấn", "Páo", "Chinh", "Ón", "Lả")
_GIVEN_F = ("Lan", "Mai", "Thắm", "Xuân", "Hoa", "Ngần", "Ỏn", "Dung", "Hương", "Pọm", "Ánh", "Lựu")
_SERIES = ("AA", "BA", "BĐ", "BK", "BX", "CS", "CT", "DA", "DĐ")
_BIRTH_PROVINCES = ("014", "014", "014", "014", "001", "012", "011", "015", "017", "022", "025", "036")


@dataclasses.dataclass
class SyntheticPlots:
    """A synthetic province: its plots, their ground truth and the population database's answers."""

    plots: gpd.GeoDataFrame      # canonical columns + geometry, in the TM-3 zone ``crs``
    truth: pd.DataFrame          # one row per plot, same order
    verification: pd.DataFrame  # cccd, status, checked_at


# --- tessellation --------------------------------------------------------------------------------------

def _commune_plots(args) -> tuple[np.ndarray, np.ndarray]:
    """(WKB of plot polygons, index of the commune) for one commune; runs in a worker process."""
    index, wkb, n_plots, seed = args
    commune = shapely.from_wkb(wkb)
    rng = np.random.default_rng(seed)
    shapely.prepare(commune)
    xmin, ymin, xmax, ymax = commune.bounds
    n_centres = max(1, round(commune.area / 15e6))
    centres = _points_inside(commune, rng, n_centres, xmin, ymin, xmax, ymax)
    # Share of seed points per band: residential, crops, perennial, forest (uniform).
    sigma = np.array([90.0, 450.0, 1100.0])
    counts = rng.multinomial(n_plots, [0.32, 0.40, 0.16, 0.12])
    points = [_points_inside(commune, rng, counts[3], xmin, ymin, xmax, ymax)]
    for band in range(3):
        want = counts[band]
        got = []
        while want > 0:
            c = centres[rng.integers(0, len(centres), size=want * 2)]
            xy = c + rng.normal(0, sigma[band], size=c.shape)
            xy = xy[shapely.contains_xy(commune, xy[:, 0], xy[:, 1])][:want]
            got.append(xy)
            want -= len(xy)
        points.extend(got)
    xy = np.unique(np.round(np.vstack(points), 2), axis=0)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=shapely.box(
        xmin - 1000, ymin - 1000, xmax + 1000, ymax + 1000)))
    inside = shapely.contains_properly(commune, cells)
    clipped = shapely.intersection(cells[~inside], commune)
    parts = shapely.get_parts(clipped)
    parts = parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) >= 30.0)]  # no slivers
    plots = np.concatenate([cells[inside], parts])
    return shapely.to_wkb(plots), np.full(len(plots), index)


def _points_inside(polygon, rng, n, xmin, ymin, xmax, ymax) -> np.ndarray:
    out = []
    while n > 0:
        xy = rng.uniform((xmin, ymin), (xmax, ymax), size=(max(2 * n, 16), 2))
        xy = xy[shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])][:n]
        out.append(xy)
        n -= len(xy)
    return np.vstack(out) if out else np.empty((0, 2))


def tessellate(communes: gpd.GeoDataFrame, n_plots: int, seed: int, processes: int | None = None) -> gpd.GeoDataFrame:
    """Plots tiling ``communes`` (metric CRS), about ``n_plots`` in all, spread in proportion to area."""
    areas = communes.area.to_numpy()
    per = np.maximum(1, np.round(n_plots * areas / areas.sum())).astype(int)
    seeds = np.random.SeedSequence(seed).spawn(len(communes))
    tasks = [(i, shapely.to_wkb(g), int(k), s.generate_state(1)[0])
             for i, (g, k, s) in enumerate(zip(communes.geometry, per, seeds))]
    tasks.sort(key=lambda t: -t[2])                      # big communes first: better load balance
    processes = processes or min(os.cpu_count() or 1, 4)
    if processes > 1 and n_plots > 20_000:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            results = pool.map(_commune_plots, tasks, chunksize=1)
    else:
        results = [_commune_plots(t) for t in tasks]
    results.sort(key=lambda r: r[1][0] if len(r[1]) else -1)
    wkb = np.concatenate([r[0] for r in results])
    commune_index = np.concatenate([r[1] for r in results])
    return gpd.GeoDataFrame({"commune": commune_index}, geometry=shapely.from_wkb(wkb), crs=communes.crs)


# --- attributes -----------------------------------------------------------------------------------------

def _number_sheets(plots: gpd.GeoDataFrame) -> pd.DataFrame:
    """Sheet and plot numbers inside each commune.

    SB and ST inside each commune: 1 km sheets for plots under 1 ha, 5 km sheets (numbered after them)
    for larger ones; plots in reading order (north to south, west to east) within a sheet.
    """
    rp = shapely.point_on_surface(plots.geometry.to_numpy())
    x, y = shapely.get_x(rp), shapely.get_y(rp)
    big = plots.area.to_numpy() >= 10_000
    size = np.where(big, 5000.0, 1000.0)
    frame = pd.DataFrame({"commune": plots["commune"].to_numpy(), "big": big,
                          "row": -np.floor(y / size), "col": np.floor(x / size), "x": x, "y": -y})
    sheets = frame[["commune", "big", "row", "col"]].drop_duplicates().sort_values(["commune", "big", "row", "col"])
    sheets["sheet"] = sheets.groupby("commune").cumcount() + 1
    frame = frame.merge(sheets, on=["commune", "big", "row", "col"], how="left")
    order = frame.sort_values(["commune", "sheet", "y", "x"]).index
    frame["plot_number"] = 0
    frame.loc[order, "plot_number"] = frame.loc[order].groupby(["commune", "sheet"]).cumcount().to_numpy() + 1
    return frame[["sheet", "plot_number"]]


def _land_use(rng, area: np.ndarray, urban: np.ndarray) -> np.ndarray:
    use = np.select([area < 600, area < 3500, area < 10_000],
                    [np.where(urban, "ODT", "ONT"), np.where(rng.random(len(area)) < 0.55, "LUC", "HNK"), "CLN"],
                    default=np.where(rng.random(len(area)) < 0.7, "RSX", "RPH")).astype(object)
    other = rng.random(len(area))
    use[other < 0.015] = "DGT"
    use[(other >= 0.015) & (other < 0.025)] = "SON"
    use[(other >= 0.025) & (other < 0.035) & (area < 10_000)] = "NTS"
    legacy = rng.random(len(area))
    use[(use == "HNK") & (legacy < 0.05)] = "BHK"
    use[(use == "ONT") & (legacy < 0.05)] = "ONT+CLN"
    return use


def _people(rng, n_plots: int, commune: np.ndarray, province_digits: tuple[str, ...]) -> pd.DataFrame:
    """Land users: each owns 1–4 plots of one commune; returns per-plot name, CCCD, birth year."""
    owners = np.empty(n_plots, dtype=np.int64)
    order = np.argsort(commune, kind="stable")
    sizes = rng.geometric(0.55, size=n_plots).clip(1, 4)
    starts = np.cumsum(sizes)
    person_of_slot = np.searchsorted(starts, np.arange(n_plots), side="right")
    owners[order] = person_of_slot
    n_people = int(person_of_slot.max()) + 1
    female = rng.random(n_people) < 0.45
    year = rng.integers(1935, 2005, size=n_people)
    family = rng.choice(_FAMILY, n_people)
    middle = np.where(female, rng.choice(_MIDDLE_F, n_people), rng.choice(_MIDDLE_M, n_people))
    given = np.where(female, rng.choice(_GIVEN_F, n_people), rng.choice(_GIVEN_M, n_people))
    names = pd.Series(family).str.cat([pd.Series(middle), pd.Series(given)], sep=" ").to_numpy()
    century = np.where(year >= 2000, 2, 0) + female.astype(int)
    serial = rng.integers(0, 1_000_000, size=n_people)
    cccd = [f"{p}{c}{y % 100:02d}{s:06d}" for p, c, y, s in
            zip(rng.choice(province_digits, n_people), century, year, serial)]
    cccd = np.array(cccd, dtype=object)
    # Two people must not share a number by chance: the duplicates are defects injected on purpose.
    _, first = np.unique(cccd, return_index=True)
    clash = np.setdiff1d(np.arange(n_people), first)
    for i in clash:
        cccd[i] = cccd[i][:6] + f"{(int(cccd[i][6:]) + 7919 * (i + 1)) % 1_000_000:06d}"
    return pd.DataFrame({"person": owners, "user_name": names[owners], "id_number": cccd[owners],
                         "birth_year": year[owners]})


def _bowtie(polygon):
    """The polygon with two consecutive vertices swapped: a self-intersection the importer must repair."""
    ring = np.asarray(polygon.geoms[0].exterior.coords if polygon.geom_type == "MultiPolygon"
                      else polygon.exterior.coords)
    if len(ring) < 5:
        return polygon
    ring = ring.copy()
    ring[[1, 2]] = ring[[2, 1]]
    ring[-1] = ring[0]
    return shapely.MultiPolygon([shapely.Polygon(ring)])


def synthesize(old_communes: gpd.GeoDataFrame, n_plots: int, *, seed: int = 0, province: str = "14",
               new_communes: gpd.GeoDataFrame | None = None, processes: int | None = None) -> SyntheticPlots:
    """Plots, truth and verification file for a province (see the module docstring).

    ``old_communes`` needs ``code`` (5 digits or None) and ``name``; any CRS (a TM-3 zone is chosen for
    geographic input). ``new_communes`` (optional) lets the truth say which plots the 2025 boundaries cut.
    """
    rng = np.random.default_rng(seed)
    communes = _metric(old_communes)
    plots = tessellate(communes, n_plots, seed, processes)
    n = len(plots)
    geoms = plots.geometry.to_numpy()
    area = shapely.area(geoms)
    numbers = _number_sheets(plots)
    commune = plots["commune"].to_numpy()
    codes = communes["code"].to_numpy(dtype=object)[commune]
    urban = communes["name"].fillna("").str.startswith(("Phường", "Thị trấn")).to_numpy()[commune]
    own = f"0{province}" if len(province) == 2 else province
    # Land users are born in the province (when it is a real one: CCCDs carry the 63-province codes) or nearby.
    digits = tuple(sorted({own, *_BIRTH_PROVINCES} if own in BIRTH_PROVINCES else set(_BIRTH_PROVINCES)))
    people = _people(rng, n, commune, digits)
    data = pd.DataFrame({
        "commune_code": codes, "sheet": numbers["sheet"].to_numpy(), "plot_number": numbers["plot_number"].to_numpy(),
        "legal_area": np.round(area, 1), "land_use": _land_use(rng, area, urban),
        "certificate_serial": [f"{s} {k:06d}" for s, k in zip(rng.choice(_SERIES, n), rng.permutation(n) + 100_000)],
        "user_name": people["user_name"].to_numpy(), "id_number": people["id_number"].to_numpy(),
        "birth_year": people["birth_year"].to_numpy(),
    })
    truth = pd.DataFrame({"row": np.arange(1, n + 1), "old_commune_code": codes, "full_data": True,
                          "missing_fields": "", "verification": "", "defects": "",
                          "crosses_2025_boundary": False})
    _blank_fields(rng, data, truth)
    status_of = _statuses(rng, truth, people["person"].to_numpy())
    geoms = _inject_defects(rng, data, truth, geoms, people)
    verification = _verification(data, truth, people["person"].to_numpy(), status_of)
    valid = shapely.is_valid(geoms)
    truth["computed_area_m2"] = np.where(valid, shapely.area(geoms), np.nan)   # as written; NaN if invalid
    if new_communes is not None:
        truth["crosses_2025_boundary"] = _crosses(geoms, new_communes, communes.crs)
    out = gpd.GeoDataFrame(data, geometry=geoms, crs=communes.crs)
    return SyntheticPlots(out, truth, verification)


def _metric(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if is_metric(communes.crs):
        return communes.reset_index(drop=True)
    lon = shapely.centroid(shapely.box(*communes.to_crs(4326).total_bounds)).x
    zone = tm3_zone_for_longitude(lon)
    geoms = transform_geometries(communes.geometry.to_numpy(), communes.crs, f"EPSG:{zone}")
    return gpd.GeoDataFrame(communes.drop(columns="geometry").reset_index(drop=True), geometry=geoms,
                            crs=f"EPSG:{zone}")


def _blank_fields(rng, data: pd.DataFrame, truth: pd.DataFrame) -> None:
    n = len(data)
    missing = rng.random(n) >= FULL_DATA_SHARE
    # Certificate and user data tend to be missing together; land use and area more rarely.
    weights = np.array([0.45, 0.35, 0.45, 0.08, 0.08])
    chosen = rng.random((n, len(MISSABLE))) < weights
    none = missing & ~chosen.any(axis=1)
    chosen[none, rng.integers(0, len(MISSABLE), size=none.sum())] = True
    chosen[~missing] = False
    for j, field in enumerate(MISSABLE):
        data.loc[chosen[:, j], field] = None
    data.loc[chosen[:, 1], "birth_year"] = None       # no user name: no user
    truth["full_data"] = ~missing
    labels = np.array(MISSABLE, dtype=object)
    truth["missing_fields"] = ["|".join(labels[row]) for row in chosen]


def _statuses(rng, truth, person) -> dict:
    """The population database's finding about each land user of a full-data plot."""
    full = truth["full_data"].to_numpy()
    people = np.unique(person[full])
    statuses = np.array(list(VERIFICATION_SHARES))
    return dict(zip(people, rng.choice(statuses, size=len(people), p=list(VERIFICATION_SHARES.values()))))


def _verification(data, truth, person, status_of) -> pd.DataFrame:
    """The population database's answer file.

    The database's answer file, one row per CCCD sent (those of full-data plots, as they stand after the
    defects): the holder's status, and "incorrect" for a malformed number, which matches no citizen. The
    truth's ``verification`` is the answer for the plot's own number, as a check joining on it reads it.
    """
    full = truth["full_data"].to_numpy()
    malformed = truth["defects"].str.contains("malformed_cccd").to_numpy()
    status = np.array([status_of.get(p, "") for p in person], dtype=object)
    status[malformed] = "incorrect"
    sent = pd.DataFrame({"cccd": data["id_number"].to_numpy()[full], "status": status[full]})
    answers = sent.drop_duplicates("cccd").set_index("cccd")["status"]
    truth["verification"] = ""
    truth.loc[full, "verification"] = data.loc[full, "id_number"].map(answers).to_numpy()
    seen = answers.reset_index().sort_values("cccd", ignore_index=True)
    seen["checked_at"] = "2025-10-15"
    return seen


def _inject_defects(rng, data, truth, geoms, people) -> np.ndarray:
    n = len(data)
    geoms = geoms.copy()
    order = rng.permutation(n)
    take = {}
    start = 0
    for defect, share in DEFECT_SHARES.items():
        k = max(1, round(share * n)) if n >= 200 else 0
        take[defect] = np.sort(order[start:start + k])
        start += k
    defects = [[] for _ in range(n)]
    for i in take["overlap"]:
        geoms[i] = shapely.MultiPolygon(shapely.get_parts(shapely.buffer(geoms[i], 3.0, join_style="mitre")))
        defects[i].append("overlap")
    for i in take["duplicate_mx"]:
        j = i - 1 if i > 0 and data.at[i - 1, "commune_code"] == data.at[i, "commune_code"] else i + 1
        if j < n and data.at[j, "commune_code"] == data.at[i, "commune_code"]:
            data.loc[i, ["sheet", "plot_number"]] = data.loc[j, ["sheet", "plot_number"]].to_numpy()
            defects[i].append("duplicate_mx")
    has_id = data["id_number"].notna().to_numpy()
    for k, i in enumerate(take["malformed_cccd"]):
        if not has_id[i]:
            continue
        cccd = data.at[i, "id_number"]
        kind = k % 3
        if kind == 2 and pd.isna(data.at[i, "birth_year"]):
            kind = 0        # a century digit can only be seen to be wrong against a birth year
        data.at[i, "id_number"] = (cccd[:-1] if kind == 0 else "099" + cccd[3:] if kind == 1
                                   else cccd[:3] + str((int(cccd[3]) + 2) % 10) + cccd[4:])
        defects[i].append("malformed_cccd")
    donors = np.flatnonzero(has_id)
    for i in take["conflicting_cccd"]:
        if not has_id[i] or donors.size < 2:
            continue
        j = donors[(np.searchsorted(donors, i) + 1) % donors.size]
        # Two named people on one number: what a check can see (a number with one name is one person).
        if (pd.notna(data.at[j, "user_name"]) and pd.notna(data.at[i, "user_name"])
                and data.at[j, "user_name"] != data.at[i, "user_name"]):
            data.at[i, "id_number"] = data.at[j, "id_number"]
            defects[i].append("conflicting_cccd")
    for i in take["area_mismatch"]:
        if data.at[i, "legal_area"] is not None and not pd.isna(data.at[i, "legal_area"]):
            data.at[i, "legal_area"] = round(float(data.at[i, "legal_area"]) * rng.choice([0.6, 0.75, 1.3, 1.5]), 1)
            defects[i].append("area_mismatch")
    for i in take["invalid_geometry"]:
        broken = _bowtie(geoms[i])
        if not broken.is_valid:
            geoms[i] = broken
            defects[i].append("invalid_geometry")
    truth["defects"] = ["|".join(d) for d in defects]
    return geoms


def _crosses(geoms: np.ndarray, new_communes: gpd.GeoDataFrame, crs) -> np.ndarray:
    """Whether each plot is cut by a boundary line of the 2025 communes (the line runs through it)."""
    lines = transform_geometries(shapely.boundary(new_communes.geometry.to_numpy()), new_communes.crs, crs)
    segments = shapely.get_parts(shapely.segmentize(lines, 200))
    segments = np.concatenate([_split_line(s) for s in segments])
    tree = shapely.STRtree(segments)
    plot_idx, _ = tree.query(geoms, predicate="crosses")
    out = np.zeros(len(geoms), bool)
    out[np.unique(plot_idx)] = True
    return out


def _split_line(line) -> np.ndarray:
    coords = shapely.get_coordinates(line)
    return shapely.linestrings(np.stack([coords[:-1], coords[1:]], axis=1))


# --- inputs and files -----------------------------------------------------------------------------------

def old_communes_from_sample(layer: gpd.GeoDataFrame, conversion: pd.DataFrame | None) -> gpd.GeoDataFrame:
    """The Sơn La pre-2025 layer with a commune code per polygon.

    The Sơn La pre-2025 layer with a ``code`` per polygon: its ``old_code``, else the old commune of the
    conversion table with the same name (without diacritics) that no other polygon has; None otherwise.
    """
    out = layer.rename(columns={"old_code": "code"})[["code", "name", "geometry"]].copy()
    if conversion is not None:
        used = set(out["code"].dropna())
        free = conversion[~conversion["old_commune_code"].isin(used)]
        by_name = {}
        for code, name in zip(free["old_commune_code"], free["old_commune_name"]):
            by_name.setdefault(fold_vietnamese(name), []).append(code)
        for i in out.index[out["code"].isna()]:
            found = by_name.get(fold_vietnamese(out.at[i, "name"]), [])
            if len(found) == 1:
                out.at[i, "code"] = found[0]
    out["code"] = out["code"].astype(object).where(out["code"].notna(), None)
    return out


def write_synthetic(result: SyntheticPlots, out: Path, *, fmt: str = "gpkg", encoding: str = "utf-8") -> dict:
    """Write the plot file, ``<out>.truth.csv`` and ``<out>.verification.csv``; returns their paths."""
    driver, _ = FORMATS[fmt]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    names = SHORT_NAMES if fmt == "shp" else LONG_NAMES
    frame = result.plots.rename(columns=names)
    geoms = frame.geometry.to_numpy()
    single = shapely.get_type_id(geoms) == 3          # one geometry type per layer (FileGDB insists)
    geoms[single] = shapely.multipolygons(shapely.get_parts(geoms[single])[:, None])
    frame = frame.set_geometry(gpd.GeoSeries(geoms, crs=frame.crs))
    frame[names["sheet"]] = frame[names["sheet"]].astype("Int32")
    frame[names["plot_number"]] = frame[names["plot_number"]].astype("Int32")
    frame[names["birth_year"]] = frame[names["birth_year"]].astype("Int32")
    frame[names["legal_area"]] = pd.to_numeric(frame[names["legal_area"]]).astype(float)
    options = {"layer": LAYER} if fmt in ("gpkg", "gdb", "geojson", "fgb") else {}
    if encoding != "utf-8":
        if fmt != "shp":
            raise ValueError(f"`encoding` {encoding!r} is only for --format shp (legacy DBF files)")
        for column in frame.columns:
            if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
                frame[column] = frame[column].map(lambda v: vntext.unicode_to_legacy(v, encoding)
                                                  if isinstance(v, str) else v)
        options["encoding"] = "latin1"
    _remove(out)
    if fmt == "csv":
        frame.to_file(out, driver=driver, engine="pyogrio", layer_options={"GEOMETRY": "AS_WKT"})
    elif fmt == "dgn":       # DGN v7 stores 32-bit integers: 0.1 mm units from the data's corner when the
        xmin, ymin, xmax, ymax = frame.total_bounds          # extent fits (≤ 200 km), else 1 mm
        uor = "10" if max(xmax - xmin, ymax - ymin) < 200_000 else "1"
        frame[["geometry"]].to_file(out, driver=driver, engine="pyogrio", dataset_options={
            "MASTER_UNIT_NAME": "m", "SUB_UNIT_NAME": "mm", "SUB_UNITS_PER_MASTER_UNIT": "1000",
            "UOR_PER_SUB_UNIT": uor, "ORIGIN": f"{-math.floor(xmin)},{-math.floor(ymin)},0"})
    elif fmt == "gdb":       # a nanometre grid instead of the 0.1 mm default, so areas survive to 0.01 m²
        frame.to_file(out, driver=driver, engine="pyogrio", **options,
                      layer_options={"XYSCALE": "1000000000", "XYTOLERANCE": "0.000000001"})
    elif fmt == "fgb":       # FlatGeobuf's spatial index reorders features: keep the truth's row order
        frame.to_file(out, driver=driver, engine="pyogrio", **options, layer_options={"SPATIAL_INDEX": "NO"})
    else:
        frame.to_file(out, driver=driver, engine="pyogrio", **options)
    if encoding != "utf-8":
        out.with_suffix(".cpg").unlink(missing_ok=True)     # as the legacy systems wrote them: no code page
    truth = out.parent / (out.name + ".truth.csv")
    verification = out.parent / (out.name + ".verification.csv")
    result.truth.to_csv(truth, index=False, float_format="%.3f")
    result.verification.to_csv(verification, index=False)
    return {"plots": str(out), "truth": str(truth), "verification": str(verification)}


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path)
    for sibling in ([path.with_suffix(e) for e in (".shp", ".shx", ".dbf", ".prj", ".cpg")]
                    if path.suffix == ".shp" else [path]):
        sibling.unlink(missing_ok=True)


def synth_inputs(*, old_communes=None, new_communes=None, data_dir=None, code_field=None, province="14",
                 use_synthetic: bool = False) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None, str]:
    """The communes the synthetic plots are laid on, and where they came from.

    (old communes with ``code``/``name``, new communes or None, description) for :func:`synthesize`:
    the files given, else the Sơn La sample layers, else geoland's own synthetic communes.
    """
    from geoland import config
    from geoland.pipeline.files import read_vector

    conversion = None
    if old_communes is None and not use_synthetic:
        data = config.sample_data_dir(data_dir)
        if data is not None and (data / "son_la" / "communes_pre2025.geojson").is_file():
            old_communes = data / "son_la" / "communes_pre2025.geojson"
            new_communes = new_communes or data / "son_la" / "communes_2025.geojson"
            conversion = data / "admin_units_2025_conversion.csv"
    if old_communes is None:
        from boundaries.synthetic import synthetic_reorganisation

        reorg = synthetic_reorganisation(seed=0)
        return reorg.old[["code", "name", "geometry"]], reorg.new, "geoland's synthetic communes (province 99)"
    layer = read_vector(old_communes)
    field = code_field or ("old_code" if "old_code" in layer.columns else "code")
    if field not in layer.columns or "name" not in layer.columns:
        from geoland.errors import InputFileError

        raise InputFileError(old_communes, f"needs a code field ({field!r}) and 'name'; it has {list(layer.columns)}")
    table = None
    if field == "old_code" and conversion is not None and conversion.is_file():
        table = pd.read_csv(conversion, dtype=str, keep_default_na=False)
        table = table[table["old_province_code"] == province]
    old = old_communes_from_sample(layer.rename(columns={field: "old_code"}), table)
    new = read_vector(new_communes) if new_communes else None
    source = f"old communes from {old_communes}"
    return old, new, source + (f", 2025 communes from {new_communes}" if new is not None else "")
