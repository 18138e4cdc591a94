"""Benchmark: importing the land register of a province against importing its plots, same run, same database.

    .venv/bin/python benchmarks/register.py [--plots 1000000] [--keep /tmp/plots-1M.gpkg] [--check]

The synthetic province's plot file (written to --keep when missing) and its synthetic registry export (a folder
of CSVs beside it, written once) go into a fresh database: the conversion table (the Sơn La sample's), then
`plots import` (the baseline), then `register import`; with --check, `geoland check` of the province after
both. Prints the times and the ratio register / plots (target ≤ 2).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import time
from pathlib import Path

import pandas as pd
import pyogrio
import sqlalchemy as sa
from common import plots_file, scratch_database

from geoland import config
from geoland.pipeline.plots import import_plots
from geoland.pipeline.quality import check
from geoland.pipeline.register_import import import_register
from geoland.pipeline.units import load_conversion
from geoland.sample.cadastre import LONG_NAMES, SyntheticPlots
from geoland.sample.register import synthesize_register, write_register
from geoland.store.db import connect


def register_files(path: Path, seed: int) -> Path:
    """The registry export of the plot file (a CSV folder beside it), from the file and its truth."""
    folder = Path(str(path) + ".register")
    if not folder.exists() and not Path(str(path) + ".register.xlsx").exists():
        frame = pyogrio.read_dataframe(path).rename(columns={v: k for k, v in LONG_NAMES.items()})
        truth = pd.read_csv(str(path) + ".truth.csv", dtype={"old_commune_code": str, "defects": str,
                                                             "missing_fields": str}, keep_default_na=False)
        write_register(synthesize_register(SyntheticPlots(frame, truth, None), seed=seed), path)
    return folder if folder.exists() else Path(str(path) + ".register.xlsx")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plots", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="GeoPackage to reuse (written there when missing)")
    parser.add_argument("--check", action="store_true", help="also time `geoland check` with the register")
    parser.add_argument("--profile", action="store_true", help="print where the register import spends its time")
    args = parser.parse_args()
    data = config.sample_data_dir(None)
    with plots_file(args.keep, args.plots, args.seed) as path, scratch_database() as url:
        t = time.perf_counter()
        export = register_files(path, args.seed)
        print(f"registry export: {export} ({time.perf_counter() - t:.1f} s to have it)")
        with connect(url) as conn:
            load_conversion(conn, data / "admin_units_2025_conversion.csv", effective=dt.date(2025, 7, 1))
        t = time.perf_counter()
        with connect(url) as conn:
            plots = import_plots(conn, path, progress=False)
        plot_seconds = time.perf_counter() - t
        t = time.perf_counter()
        profile = cProfile.Profile() if args.profile else None
        statements = []
        if profile:
            @sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
            def _start(conn, cursor, statement, parameters, context, executemany):
                conn.info["t"] = time.perf_counter()

            @sa.event.listens_for(sa.engine.Engine, "after_cursor_execute")
            def _end(conn, cursor, statement, parameters, context, executemany):
                statements.append((time.perf_counter() - conn.info["t"], statement))
        with connect(url) as conn:
            if profile:
                profile.enable()
            register = import_register(conn, export, progress=False)
            if profile:
                profile.disable()
        register_seconds = time.perf_counter() - t
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
            for seconds, sql in sorted(statements, reverse=True)[:15]:
                print(f"{seconds:7.2f} s  {' '.join(sql.split())[:110]}")
        print(f"plots: {plots.imported:,}; register rows: {register.rows}")
        print(f"register: {register.counts}")
        print(f"plots import (baseline): {plot_seconds:6.1f} s")
        print(f"register import:         {register_seconds:6.1f} s")
        print(f"ratio register / plots: {register_seconds / plot_seconds:.2f} (target ≤ 2.0)")
        if args.check:
            t = time.perf_counter()
            with connect(url) as conn:
                checked = check(conn, province=None, progress=False)
            print(f"check with the register: {time.perf_counter() - t:6.1f} s ({checked.findings:,} findings)")


if __name__ == "__main__":
    main()
