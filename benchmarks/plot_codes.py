"""Benchmark: plot identification codes for a province, against GEOS in the same run.

    .venv/bin/python benchmarks/plot_codes.py [--plots 1000000] [--keep FILE.gpkg] [--geos-sample 100000]
                                              [--skip-db]

(a) ``identifiers.plot_identification_codes`` on every plot (pole, EPSG:6960, GeoHash), both cores;
(b) the baseline: GEOS ``MaximumInscribedCircle`` (shapely) at the same 1 cm tolerance, both cores, on
    ``--geos-sample`` plots (all of them when 0), its time per plot scaled to the whole province;
(c) ``geoland codes issue`` end to end on a fresh database: read the plots commune by commune, compute,
    write by COPY, record conflicts (unless ``--skip-db``).

It also prints how far the two poles are apart and how their inscribed radii compare (both are searches
to 1 cm of the largest radius, so the radii agree within 1 cm; the points can be metres apart on
ridge-shaped plots, where every point of the ridge is a pole).
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from common import plots_file, scratch_database

from geoland.pipeline.codes import issue_codes
from geoland.pipeline.plots import import_plots
from geoland.store.db import connect
from identifiers.plotcode import TOLERANCE, plot_identification_codes, poles_of_inaccessibility


def geos_poles(geoms: np.ndarray) -> np.ndarray:
    def run(chunk):
        return shapely.maximum_inscribed_circle(chunk, TOLERANCE)
    with ThreadPoolExecutor(2) as pool:
        return np.concatenate(list(pool.map(run, np.array_split(geoms, 20))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plots", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="plot GeoPackage to reuse (written there when missing)")
    parser.add_argument("--geos-sample", type=int, default=100_000, help="plots for the GEOS baseline (0: all)")
    parser.add_argument("--skip-db", action="store_true", help="leave out (c)")
    args = parser.parse_args()
    with plots_file(args.keep, args.plots, args.seed) as path:
        plots = gpd.read_file(path, engine="pyogrio", columns=[])
        geoms = shapely.make_valid(plots.geometry.to_numpy())          # as the import stores them
        n = len(geoms)
        print(f"{n:,} plots, {shapely.get_num_coordinates(geoms).mean():.1f} vertices on average")
        plot_identification_codes(geoms[:10], "EPSG:9206")             # compile (cached after the first run)
        t = time.perf_counter()
        codes = plot_identification_codes(geoms, "EPSG:9206")
        time_a = time.perf_counter() - t
        print(f"(a) plot_identification_codes: {time_a:7.1f} s   ({time_a / n * 1e6:.1f} µs a plot; target ≤ 10 s "
              f"at 1 M)")
        sample = geoms if not args.geos_sample else geoms[np.random.default_rng(0).permutation(n)[:args.geos_sample]]
        t = time.perf_counter()
        mic = geos_poles(sample)
        time_b = (time.perf_counter() - t) * n / len(sample)
        print(f"(b) GEOS MaximumInscribedCircle: {time_b:5.1f} s   (on {len(sample):,} plots, scaled; "
              f"(a) is {time_b / time_a:.1f}× faster)")
        ours = poles_of_inaccessibility(sample, with_radius=True)
        apart = np.hypot(*(ours[:, :2] - shapely.get_coordinates(shapely.get_point(mic, 0))).T)
        radius = ours[:, 2] - shapely.length(mic)
        print(f"poles apart: median {np.median(apart) * 100:.2f} cm, 99th percentile {np.percentile(apart, 99):.2f} m; "
              f"radius geoland − GEOS: {radius.min() * 100:+.2f} to {radius.max() * 100:+.2f} cm; "
              f"duplicate codes {n - len(set(codes))}")
        if args.skip_db:
            return
        with scratch_database() as url:
            with connect(url) as conn:
                import_plots(conn, path, province="14", progress=False)
            t = time.perf_counter()
            report = issue_codes(url, province="14", progress=False)
            time_c = time.perf_counter() - t
            print(f"(c) geoland codes issue:       {time_c:7.1f} s   ({report.issued:,} codes in "
                  f"{report.communes} communes, end to end)")


if __name__ == "__main__":
    main()
