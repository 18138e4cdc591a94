"""Benchmark: the identifier export of a province against ogr2ogr writing the same rows to GPKG alone.

    apt-get install gdal-bin        # the baseline's ogr2ogr
    .venv/bin/python benchmarks/export.py [--plots 1000000] [--keep FILE.gpkg]

Synthetic Sơn La plots imported into a fresh database, reassigned to the real 2025 communes and coded;
then, in the same run: (a) `geoland export --format csv,geojson,gpkg` (CSV + GeoJSON + GPKG + crosswalk +
manifest, hashes included) and (b) `ogr2ogr -f GPKG` from PostGIS of the same rows and columns (the
code's point from ST_PointFromGeoHash). Target at 1 M: (a) no slower than (b).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from common import plots_file, scratch_database

from geoland import config
from geoland.assignments import reassign
from geoland.codes import issue_codes
from geoland.db import connect
from geoland.export import export_province
from geoland.plots import import_plots
from geoland.units import load_boundaries, load_conversion

SQL = """SELECT c.code AS identification_code, a.commune_code, u.name AS commune_name, u.province_code,
  p.old_commune_code || '.' || p.sheet || '.' || p.plot_number AS mx,
  p.old_commune_code || '.' || p.sheet || '.' || p.plot_number AS legacy_mx,
  round(p.area_m2::numeric, 2) AS area_m2, p.land_use, p.certificate_serial, ST_PointFromGeoHash(c.code) AS geom
FROM geoland.plot_code c JOIN geoland.plot p ON p.id = c.plot_id
LEFT JOIN geoland.plot_assignment_current a ON a.plot_id = p.id
LEFT JOIN geoland.admin_unit u ON u.level = 'commune' AND u.code = a.commune_code AND u.valid_from = a.effective
ORDER BY c.code"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plots", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="plot GeoPackage to reuse (written there when missing)")
    args = parser.parse_args()
    data = config.sample_data_dir()
    if data is None:
        sys.exit("this benchmark needs the Sơn La sample data (../shared/data or GEOLAND_SAMPLE_DATA)")
    with plots_file(args.keep, args.plots, args.seed) as path, scratch_database() as url, \
            tempfile.TemporaryDirectory() as tmp:
        with connect(url) as conn:
            load_conversion(conn, data / "admin_units_2025_conversion.csv")
            load_boundaries(conn, data / "son_la" / "communes_2025.geojson", effective=pd.Timestamp("2025-07-01").date())
            import_plots(conn, path, province="14", progress=False)
        reassign(url, province="14", progress=False)
        issue_codes(url, province="14", progress=False)
        t = time.perf_counter()
        with connect(url) as conn:
            report = export_province(conn, province="14", commune=None, formats=["csv", "geojson", "gpkg"],
                                     out=Path(tmp) / "export")
        time_a = time.perf_counter() - t
        u = sa.engine.make_url(url)
        pg = f"PG:host={u.host} port={u.port} dbname={u.database} user={u.username} password={u.password}"
        t = time.perf_counter()
        subprocess.run(["ogr2ogr", "-f", "GPKG", str(Path(tmp) / "ogr.gpkg"), pg, "-sql", SQL, "-nln", "identifiers"],
                       check=True)
        time_b = time.perf_counter() - t
        print(f"{report['rows']:,} identifiers")
        print(f"(a) geoland export csv+geojson+gpkg+manifest: {time_a:6.1f} s")
        print(f"(b) ogr2ogr PostGIS → GPKG:                   {time_b:6.1f} s   ratio (a)/(b) {time_a / time_b:.2f} "
              "(target ≤ 1)")


if __name__ == "__main__":
    main()
