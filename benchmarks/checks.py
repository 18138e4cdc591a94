"""Benchmark: every data-quality check on a province, as `geoland check` runs them.

    .venv/bin/python benchmarks/checks.py [--plots 1000000] [--keep FILE.gpkg] [--register]

Synthetic Sơn La plots are imported into a fresh database, reassigned to the real 2025 communes, coded,
and the synthetic population-database answers loaded; then `geoland check --province 14` is timed (read,
all checks, store the findings), and a second, unchanged run (read, checks, compare, nothing written).
With --register the same two runs are the baseline (the province as its plot layer gives it), then the
synthetic registry export of the plots (see benchmarks/register.py) is imported, so the register's checks
have the couples, houses, organisations and certificates of a real register, and the two runs are timed
again: the ratio of the second runs, with and without the registry export, is printed (target ≤ 1.25).
The per-check times come from running :func:`geoland.rules.checks.run_checks`' parts on the frame it read.
Target at 1 M plots: ≤ 2 min on 2 cores.
"""

from __future__ import annotations

import time
from pathlib import Path

import shapely
from common import coded_province, plots_file, province_arguments, sample_data, scratch_database

from geoland.pipeline.quality import check, import_verification, read_plots
from geoland.rules import checks
from geoland.store.db import connect


def main() -> None:
    args = province_arguments(__doc__.splitlines()[0])
    if args.register:                       # the time of each of the register's checks
        import logging

        logging.basicConfig(format="%(message)s")
        logging.getLogger("geoland.pipeline.register_checks").setLevel(logging.DEBUG)
    data = sample_data()
    with plots_file(args.keep, args.plots, args.seed) as path, scratch_database() as url:
        t = time.perf_counter()
        coded_province(url, data, path)
        with connect(url) as conn:
            import_verification(conn, Path(str(path) + ".verification.csv"), progress=False)
        print(f"set-up (import, reassign, codes, verification): {time.perf_counter() - t:.1f} s")
        seconds = {}
        for phase in ("plot layer only", "with the registry export") if args.register else ("",):
            if phase == "with the registry export":
                from register import register_files

                from geoland.pipeline.register_import import import_register

                t = time.perf_counter()
                with connect(url) as conn:
                    import_register(conn, register_files(path, args.seed), progress=False)
                print(f"register import: {time.perf_counter() - t:.1f} s")
            for run in ("first", "again"):
                t = time.perf_counter()
                with connect(url) as conn:
                    report = check(conn, province="14", progress=False)
                seconds[phase] = time.perf_counter() - t
                print(f"geoland check ({run}{', ' + phase if phase else ''}): {seconds[phase]:6.1f} s   "
                      f"{report.plots:,} plots, {report.findings:,} findings, changes {report.changes}")
        if args.register:
            print(f"ratio of the second runs, with / without the registry export: "
                  f"{seconds['with the registry export'] / seconds['plot layer only']:.2f} (target ≤ 1.25)")
        with connect(url) as conn:
            t = time.perf_counter()
            plots, _ = read_plots(conn, "14")
            print(f"  read the plots: {time.perf_counter() - t:6.1f} s")
        geoms = shapely.from_wkb(plots["wkb"].to_numpy())
        frame = plots.drop(columns="wkb")
        for name, call in (("missing_fields", lambda: checks.missing_fields(frame)),
                           ("cccd_findings", lambda: checks.cccd_findings(frame)),
                           ("cccd_conflicts", lambda: checks.cccd_conflicts(frame)),
                           ("verification_findings", lambda: checks.verification_findings(frame)),
                           ("land_use_findings", lambda: checks.land_use_findings(frame)),
                           ("area_mismatch", lambda: checks.area_mismatch(frame)),
                           ("geometry_findings", lambda: checks.geometry_findings(frame, geoms)),
                           ("overlaps", lambda: checks.overlaps(frame, geoms)),
                           ("duplicate_mx", lambda: checks.duplicate_mx(frame)),
                           ("assignment_findings", lambda: checks.assignment_findings(frame))):
            t = time.perf_counter()
            n = len(call())
            print(f"  {name:22s} {time.perf_counter() - t:6.2f} s   {n:,} findings")


if __name__ == "__main__":
    main()
