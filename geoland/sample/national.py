"""A national synthetic set: several synthetic provinces, each with its own communes, conversion table and plots.

``geoland synth --provinces N --plots-per-province M --seed S --out DIR`` writes, for province *i* (codes 99, 98,
… downwards, so that none is a real province's; communes 90001 + 100 *i* onwards; each a 30 km square of its own in
VN-2000 TM-3, three columns of provinces 40 km apart):

- ``DIR/PP/conversion.csv`` — its conversion table (old communes merged about three into one);
- ``DIR/PP/new.geojson`` — its 2025 communes (WGS 84);
- ``DIR/PP/plots.gpkg`` — ``M`` plots on its old communes at the Sơn La campaign's defect rates, with
  ``plots.gpkg.truth.csv`` and ``plots.gpkg.verification.csv`` (the same generator as one province's);
- ``DIR/provinces.json`` — the provinces, their seeds and files.

Province *i*'s seed is ``S + i``: the same ``S`` gives the same set. :func:`load_national` loads it the way the
commands do (conversion table, 2025 boundaries, plot import), one province after another.
"""

from __future__ import annotations

import json
from pathlib import Path

MAX_PROVINCES = 30
EFFECTIVE = "2025-07-01"


def province_plan(n_provinces: int, seed: int) -> list[dict]:
    """Code, first commune code, origin (VN-2000 TM-3 metres) and seed of each synthetic province."""
    if not 1 <= n_provinces <= MAX_PROVINCES:
        raise ValueError(f"--provinces must be 1–{MAX_PROVINCES} (synthetic province codes 99 down to 70)")
    return [{"province": f"{99 - i}", "first_code": 90001 + 100 * i, "seed": seed + i,
             "origin": (440_000.0 + 40_000.0 * (i % 3), 2_300_000.0 + 40_000.0 * (i // 3))}
            for i in range(n_provinces)]


def write_province(folder: Path, *, province: str, first_code: int, origin, n_plots: int, seed: int,
                   n_old: int = 24):
    """One synthetic province's files in ``folder``; returns (the reorganisation, the synthetic plots).

    ``conversion.csv``, ``new.geojson`` (WGS 84) and ``plots.gpkg`` with its truth: the files the tests' province
    and each province of a national set are made of.
    """
    import geopandas as gpd

    from boundaries.crs import transform_geometries
    from boundaries.synthetic import synthetic_reorganisation
    from geoland.sample.cadastre import synthesize, write_synthetic

    folder.mkdir(parents=True, exist_ok=True)
    reorg = synthetic_reorganisation(seed=seed, province_code=province, first_code=first_code, origin=origin,
                                     n_old=n_old)
    reorg.conversion.to_csv(folder / "conversion.csv", index=False)
    new = gpd.GeoDataFrame(reorg.new[["code", "name"]], crs="EPSG:4326",
                           geometry=transform_geometries(reorg.new.geometry.to_numpy(), reorg.crs, "EPSG:4326"))
    new.to_file(folder / "new.geojson", driver="GeoJSON")
    plots = synthesize(reorg.old[["code", "name", "geometry"]], n_plots, seed=seed, province=province)
    write_synthetic(plots, folder / "plots.gpkg")
    return reorg, plots


def write_national(out: Path, n_provinces: int, plots_per_province: int, seed: int = 0) -> dict:
    """Write the provinces' files under ``out`` (see the module docstring); returns the manifest."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    provinces = []
    for plan in province_plan(n_provinces, seed):
        reorg, plots = write_province(out / plan["province"], province=plan["province"],
                                      first_code=plan["first_code"], origin=plan["origin"],
                                      n_plots=plots_per_province, seed=plan["seed"])
        provinces.append({**plan, "origin": list(plan["origin"]), "plots": len(plots.plots),
                          "old_communes": len(reorg.old), "new_communes": len(reorg.new),
                          "files": {k: f"{plan['province']}/{k}" for k in ("conversion.csv", "new.geojson",
                                                                             "plots.gpkg")}})
    manifest = {"seed": seed, "plots_per_province": plots_per_province, "effective": EFFECTIVE,
                "provinces": provinces}
    (out / "provinces.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest


def load_national(url: str | None, folder: Path, *, progress: bool = False) -> list[dict]:
    """Load a national synthetic set (``provinces.json`` in ``folder``), one province after another.

    Each province's conversion table, 2025 boundaries and plots, as ``units load-conversion``, ``units
    load-boundaries`` and ``plots import`` do.
    """
    import datetime as dt

    from geoland.pipeline.plots import import_plots
    from geoland.pipeline.units import load_boundaries, load_conversion
    from geoland.store.db import connect

    folder = Path(folder)
    manifest = json.loads((folder / "provinces.json").read_text(encoding="utf-8"))
    loaded = []
    for p in manifest["provinces"]:
        with connect(url) as conn:
            load_conversion(conn, folder / p["files"]["conversion.csv"])
            load_boundaries(conn, folder / p["files"]["new.geojson"], effective=dt.date.fromisoformat(EFFECTIVE))
            imported = import_plots(conn, folder / p["files"]["plots.gpkg"], province=p["province"],
                                    progress=progress)
        loaded.append({"province": p["province"], "plots": imported.imported, "quarantined": imported.quarantined})
    return loaded
