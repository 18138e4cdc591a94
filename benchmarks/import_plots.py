"""Benchmark: importing synthetic plots with `geoland plots import` vs a plain `ogr2ogr` load, same file,
same server, same run.

    .venv/bin/python benchmarks/import_plots.py [--plots 1000000] [--keep FILE.gpkg]

Baseline: ``ogr2ogr -f PostgreSQL --config PG_USE_COPY YES`` (Debian's gdal-bin) into its own table, which
loads geometry and attributes and builds a GiST index, nothing else. geoland does the full import:
reading, field mapping, text decoding, validation and repair, quarantine, the personal-data split, the
reprojection check, COPY, constraints and indexes, in one transaction. Prints both times and the ratio.
Each is measured into a fresh database of the embedded cluster (or of GEOLAND_DATABASE_URL's server).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from common import plots_file, scratch_database

from geoland.pipeline.plots import import_plots
from geoland.store.db import connect


def _ogr_conn(url: str) -> str:
    u = sa.engine.make_url(url)
    return f"PG:host={u.host} port={u.port} user={u.username} password={u.password} dbname={u.database}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plots", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="GeoPackage to reuse (written there when missing)")
    args = parser.parse_args()
    if shutil.which("ogr2ogr") is None:
        sys.exit("ogr2ogr not found: apt-get install gdal-bin (the baseline of this benchmark)")
    with plots_file(args.keep, args.plots, args.seed) as path, scratch_database() as url:
        t = time.perf_counter()
        subprocess.run(["ogr2ogr", "-f", "PostgreSQL", "--config", "PG_USE_COPY", "YES", _ogr_conn(url), str(path),
                        "-nln", "public.ogr_plots", "-lco", "GEOMETRY_NAME=geom", "-overwrite"], check=True,
                       stderr=subprocess.DEVNULL)
        ogr = time.perf_counter() - t
        t = time.perf_counter()
        with connect(url) as conn:
            report = import_plots(conn, path, progress=False)
        ours = time.perf_counter() - t
    print(f"rows: {report.rows_read:,} read, {report.imported:,} imported, "
          f"{report.quarantined:,} quarantined, {report.repaired:,} repaired")
    print(f"ogr2ogr (baseline): {ogr:6.1f} s")
    print(f"geoland import:     {ours:6.1f} s")
    print(f"ratio geoland / ogr2ogr: {ours / ogr:.2f} (target ≤ 2.0)")


if __name__ == "__main__":
    main()
