"""Benchmark: the whole demo pipeline at the seed's scale, step by step, against issue 8's 2-minute target.

    .venv/bin/python benchmarks/demo.py [--plots 1000000] [--home DIR]

Runs `geoland demo --plots N` (the Sơn La sample; the synthetic province without it) in a fresh database
of the configured server. The synthetic plot file is written once per size and seed under ``--home``
(default: a temporary folder, so the synthesis is timed too); pass a folder to keep it between runs. Prints
the time of every step, the total with and without the synthesis, and their ratios to the target. The
steps' own baselines (geopandas sjoin, plain PostGIS, ogr2ogr…) are in the other scripts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from common import scratch_database

TARGET_S = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plots", type=int, default=1_000_000)
    parser.add_argument("--home", type=Path, help="GEOLAND_HOME for the synthetic plot file (kept)")
    args = parser.parse_args()
    from geoland import config

    os.environ["GEOLAND_DATABASE_URL"] = config.database_url()      # found before GEOLAND_HOME moves
    home = args.home or Path(tempfile.mkdtemp(prefix="geoland-bench-demo-"))
    os.environ["GEOLAND_HOME"] = str(home.absolute())
    from geoland.output import table
    from geoland.sample.demo import run_demo

    try:
        with scratch_database() as url:
            start = time.perf_counter()
            report = run_demo(url, n_plots=args.plots, echo=lambda *a: None, progress=False)
            wall = time.perf_counter() - start
    finally:
        if args.home is None:
            shutil.rmtree(home, ignore_errors=True)
    seconds = report["seconds"]
    synthesis = seconds.get("synthetic plots", 0.0)
    rows = [[name, f"{s:.1f}"] for name, s in seconds.items() if s >= 0.05]
    print(f"geoland demo, {report['summary']['campaign']['plots']:,} plots ({report['source']})")
    print(table(["step", "seconds"], rows, right={1}))
    print(f"total {wall:.1f} s ({wall / TARGET_S:.2f} × the {TARGET_S:.0f} s target); without the synthesis "
          f"of the plot file {wall - synthesis:.1f} s ({(wall - synthesis) / TARGET_S:.2f} ×)")
    print(f"in a second process, their own time: codes and answers {report['codes']['seconds']:.1f} s "
          f"(beside steps 5–6), export {report['export']['seconds']:.1f} s (beside steps 9–11)")


if __name__ == "__main__":
    main()
