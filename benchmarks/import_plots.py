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
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geoland import config  # noqa: E402
from geoland.db import connect, migrate, sqlalchemy_url  # noqa: E402
from geoland.plots import import_plots  # noqa: E402
from geoland.synth import synth_inputs, synthesize, write_synthetic  # noqa: E402


def _database(server_url: str, name: str) -> str:
    url = sa.engine.make_url(sqlalchemy_url(server_url))
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _drop(server_url: str, name: str) -> None:
    url = sa.engine.make_url(sqlalchemy_url(server_url))
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


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
    server = config.database_url()
    workdir = Path(tempfile.mkdtemp(prefix="geoland-bench-"))
    path = args.keep or workdir / "plots.gpkg"
    if not path.exists():
        t = time.perf_counter()
        old, new, source = synth_inputs()
        write_synthetic(synthesize(old, args.plots, seed=args.seed, new_communes=new), path)
        print(f"synth: {args.plots:,} plots on {source}: {time.perf_counter() - t:.1f} s")
    name = f"geoland_bench_{uuid.uuid4().hex[:8]}"
    try:
        url = _database(server, name)
        migrate(url)                     # PostGIS and the geoland schema, for both loads
        t = time.perf_counter()
        subprocess.run(["ogr2ogr", "-f", "PostgreSQL", "--config", "PG_USE_COPY", "YES", _ogr_conn(url), str(path),
                        "-nln", "public.ogr_plots", "-lco", "GEOMETRY_NAME=geom", "-overwrite"], check=True,
                       stderr=subprocess.DEVNULL)
        ogr = time.perf_counter() - t
        t = time.perf_counter()
        with connect(url) as conn:
            report = import_plots(conn, path, progress=False)
        ours = time.perf_counter() - t
        print(f"rows: {report['rows_read']:,} read, {report['imported']:,} imported, "
              f"{report['quarantined']:,} quarantined, {report['repaired']:,} repaired")
        print(f"ogr2ogr (baseline): {ogr:6.1f} s")
        print(f"geoland import:     {ours:6.1f} s")
        print(f"ratio geoland / ogr2ogr: {ours / ogr:.2f} (target ≤ 2.0)")
    finally:
        _drop(server, name)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
