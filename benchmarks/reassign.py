"""Benchmark: reassigning plots to the 2025 communes, four ways on the same data in one run.

    .venv/bin/python benchmarks/reassign.py [--plots 100000] [--keep FILE.gpkg] [--skip-sql]

(a) ``boundaries.reassign_plots`` in memory;
(b) the plain geopandas way: ``sjoin(predicate="intersects")``, then intersection areas for plots with
    several matches, largest wins;
(c) the plain PostGIS SQL a specialist writes: ``DISTINCT ON (plot) … ORDER BY ST_Area(ST_Intersection(…))
    DESC`` over a GiST join (communes already in the plots' CRS, indexed);
(d) ``geoland reassign`` end to end: read the plots from PostGIS, compute, write the assignments by COPY.

All four run as pure largest overlap (no sliver or share tolerance) so that their answers can be checked
to be identical; the script prints the times, the ratios and the number of plots on which they differ.
Plots: synthetic Sơn La (``geoland synth``) imported into a fresh database; communes: the real 2025 layer.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from common import plots_file, scratch_database

from boundaries.reassign import reassign_plots
from geoland import config
from geoland.pipeline.assignments import reassign
from geoland.pipeline.plots import import_plots
from geoland.pipeline.units import load_boundaries, load_conversion
from geoland.store.db import connect


def geopandas_baseline(plots: gpd.GeoDataFrame, communes: gpd.GeoDataFrame) -> pd.Series:
    labels = plots.index
    plots = plots.reset_index(drop=True)
    communes = communes.to_crs(plots.crs)
    joined = gpd.sjoin(plots[["geometry"]], communes[["code", "geometry"]], predicate="intersects", how="inner")
    several = joined.index.value_counts()
    multi = joined[joined.index.map(several) > 1]
    areas = shapely.area(shapely.intersection(np.asarray(plots.geometry.values)[multi.index.to_numpy()],
                                              np.asarray(communes.geometry.values)[multi["index_right"].to_numpy()]))
    multi = multi.assign(area=areas).reset_index(names="plot")
    multi = multi[multi["area"] > 0].sort_values(["plot", "area", "code"], ascending=[True, False, True])
    best = multi.groupby("plot")["code"].first()
    single = joined[joined.index.map(several) == 1]["code"]
    return pd.Series(pd.concat([single, best]).reindex(plots.index).to_numpy(), index=labels)


SQL = """
CREATE TEMP TABLE bench_communes AS
    SELECT code, ST_Transform(geom, 9206) AS geom FROM geoland.unit_boundary b
    JOIN geoland.boundary_layer l ON l.id = b.layer_id WHERE l.effective = '2025-07-01' AND l.superseded_by IS NULL;
CREATE INDEX ON bench_communes USING gist (geom);
ANALYZE bench_communes;
CREATE TEMP TABLE bench_sql AS
    SELECT DISTINCT ON (p.id) p.id AS plot_id, c.code
    FROM geoland.plot p JOIN bench_communes c ON ST_Intersects(p.geom, c.geom)
    ORDER BY p.id, ST_Area(ST_Intersection(p.geom, c.geom)) DESC, c.code;
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plots", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="plot GeoPackage to reuse (written there when missing)")
    parser.add_argument("--skip-sql", action="store_true", help="leave out (c), which takes long at 1 M plots")
    args = parser.parse_args()
    data = config.sample_data_dir()
    if data is None:
        sys.exit("this benchmark needs the Sơn La sample data (../shared/data or GEOLAND_SAMPLE_DATA)")
    with plots_file(args.keep, args.plots, args.seed) as path, scratch_database() as url:
        with connect(url) as conn:
            load_conversion(conn, data / "admin_units_2025_conversion.csv")
            load_boundaries(conn, data / "son_la" / "communes_2025.geojson",
                            effective=pd.Timestamp("2025-07-01").date())
            import_plots(conn, path, province="14", progress=False)
        with connect(url) as conn:
            ids = pd.read_sql("SELECT id, source_row FROM geoland.plot ORDER BY source_row", conn)
        plots = gpd.read_file(path, engine="pyogrio", columns=[])
        plots["geometry"] = shapely.make_valid(plots.geometry.to_numpy())   # as the import stored them
        plots.index = ids["id"].to_numpy()
        communes = gpd.read_file(data / "son_la" / "communes_2025.geojson")
        print(f"{len(plots):,} plots, {len(communes)} communes")

        t = time.perf_counter()
        a = reassign_plots(plots, communes, min_share=1.0, sliver_m2=0.0)["commune_code"]
        time_a = time.perf_counter() - t
        print(f"(a) reassign_plots:        {time_a:8.1f} s")
        t = time.perf_counter()
        b = geopandas_baseline(plots, communes)
        time_b = time.perf_counter() - t
        print(f"(b) geopandas sjoin:       {time_b:8.1f} s   (a) is {time_b / time_a:5.1f}× faster (target ≥ 15)")
        t = time.perf_counter()
        reassign(url, province="14", min_share=1.0, sliver_m2=0.0, progress=False)
        time_d = time.perf_counter() - t
        with connect(url) as conn:
            d = pd.read_sql("SELECT plot_id, commune_code FROM geoland.plot_assignment_current", conn)
        d = d.set_index("plot_id")["commune_code"].reindex(plots.index)
        print(f"(d) geoland reassign:      {time_d:8.1f} s   (end to end: read, compute, write, history)")
        answers = {"b": b, "d": d}
        if not args.skip_sql:
            t = time.perf_counter()
            with connect(url) as conn:
                conn.exec_driver_sql(SQL)
                c = pd.read_sql("SELECT plot_id, code FROM bench_sql", conn).set_index("plot_id")["code"]
            time_c = time.perf_counter() - t
            answers["c"] = c.reindex(plots.index)
            print(f"(c) PostGIS DISTINCT ON:   {time_c:8.1f} s   (d) is {time_c / time_d:5.1f}× faster (target ≥ 20)")
        for key, other in answers.items():
            differ = (a.fillna("—").to_numpy() != other.fillna("—").to_numpy()).sum()
            print(f"plots where (a) and ({key}) differ: {differ}")


if __name__ == "__main__":
    main()
