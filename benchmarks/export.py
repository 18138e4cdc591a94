"""Benchmark: the identifier export of a province against ogr2ogr writing the same rows to GPKG alone.

    apt-get install gdal-bin        # the baseline's ogr2ogr
    .venv/bin/python benchmarks/export.py [--plots 1000000] [--keep FILE.gpkg]

Synthetic Sơn La plots imported into a fresh database, reassigned to the real 2025 communes and coded;
then, in the same run: (a) `geoland export --format csv,geojson,gpkg` (CSV + GeoJSON + GPKG + crosswalk +
manifest, hashes included) and (b) `ogr2ogr -f GPKG` from PostGIS of the same rows and columns (the
code's point from ST_PointFromGeoHash). Target at 1 M: (a) no slower than (b).
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from common import coded_province, plots_file, province_arguments, sample_data, scratch_database

from geoland.pipeline.export import export_province
from geoland.store.db import connect

SQL = """SELECT c.code AS identification_code, a.commune_code, u.name AS commune_name, u.province_code,
  p.old_commune_code || '.' || p.sheet || '.' || p.plot_number AS mx,
  p.old_commune_code || '.' || p.sheet || '.' || p.plot_number AS legacy_mx,
  round(p.area_m2::numeric, 2) AS area_m2, p.land_use, p.certificate_serial, ST_PointFromGeoHash(c.code) AS geom
FROM geoland.plot_code c JOIN geoland.plot p ON p.id = c.plot_id
LEFT JOIN geoland.plot_assignment_current a ON a.plot_id = p.id
LEFT JOIN geoland.admin_unit u ON u.level = 'commune' AND u.code = a.commune_code AND u.valid_from = a.effective
ORDER BY c.code"""


def main() -> None:
    args = province_arguments(__doc__.splitlines()[0])
    data = sample_data()
    with plots_file(args.keep, args.plots, args.seed) as path, scratch_database() as url, \
            tempfile.TemporaryDirectory() as tmp:
        coded_province(url, data, path)
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
        print(f"{report.rows:,} identifiers")
        print(f"(a) geoland export csv+geojson+gpkg+manifest: {time_a:6.1f} s")
        print(f"(b) ogr2ogr PostGIS → GPKG:                   {time_b:6.1f} s   ratio (a)/(b) {time_a / time_b:.2f} "
              "(target ≤ 1)")


if __name__ == "__main__":
    main()
