"""Benchmark: saving a plot's edit form with its quick re-check, in a checked province, against a plain UPDATE.

    .venv/bin/python benchmarks/edits.py [--plots 1000000] [--keep /tmp/plots-1M.gpkg] [--saves 200]

A fresh database gets the Sơn La sample's units and the synthetic province (imported, reassigned, coded and
checked). Then ``--saves`` form saves on plots drawn at random (the land-use code and the legal area changed,
as an officer supplements them), each in its own transaction from a pooled connection as a web request has
it: :func:`geoland.review.edits.save_edits` with its version check, history, job and the plot re-checked with
its partners. The baseline, in the same run on other plots drawn the same way: the same change as one plain
``UPDATE`` of the plot row in its own transaction. Prints p50 / p95 / max of both and their ratio (issue 17's
target: p95 ≤ 300 ms for a save with its re-check).
"""

from __future__ import annotations

import time

import numpy as np
import sqlalchemy as sa
from common import coded_province, plots_file, province_arguments, sample_data, scratch_database

from geoland.pipeline.quality import check
from geoland.review.edits import current_values, save_edits
from geoland.store.db import connect, make_engine


def _percentiles(seconds: list[float]) -> str:
    ms = np.asarray(seconds) * 1000
    return f"p50 {np.percentile(ms, 50):6.1f} ms, p95 {np.percentile(ms, 95):6.1f} ms, max {ms.max():6.1f} ms"


def main() -> None:
    args = province_arguments(__doc__.splitlines()[0], default_plots=1_000_000,
                              extra=lambda p: p.add_argument("--saves", type=int, default=200))
    saves = args.saves
    data = sample_data()
    with plots_file(args.keep, args.plots, args.seed) as path, scratch_database() as url:
        t = time.perf_counter()
        coded_province(url, data, path)
        with connect(url) as conn:
            checked = check(conn, province="14", progress=False)
        print(f"province ready: {checked.plots:,} plots, {checked.findings:,} findings "
              f"({time.perf_counter() - t:.1f} s)")
        engine = make_engine(url, pool_size=2)
        with engine.connect() as conn:
            ids = conn.execute(sa.text("SELECT id FROM geoland.plot ORDER BY id")).scalars().all()
        rng = np.random.default_rng(args.seed)
        drawn = rng.choice(np.asarray(ids), size=saves * 2, replace=False)
        uses = ("ONT", "CLN", "LUC", "RSX")
        timed, plain, rechecked = [], [], []
        for i, plot in enumerate(drawn[:saves].tolist()):
            started = time.perf_counter()
            with engine.begin() as conn:
                version = current_values(conn, plot)["version"]
                done = save_edits(conn, plot, version, {"land_use": uses[i % 4], "legal_area_m2": f"{100 + i}.5"},
                                  actor="benchmark")
            timed.append(time.perf_counter() - started)
            rechecked.append(done["recheck"]["plots"] if done["recheck"] else 0)
        for i, plot in enumerate(drawn[saves:].tolist()):
            started = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE geoland.plot SET land_use = :u, legal_area_m2 = :a WHERE id = :i"),
                             {"u": uses[i % 4], "a": 100 + i + 0.5, "i": plot})
            plain.append(time.perf_counter() - started)
        engine.dispose()
    print(f"{saves} form saves with their re-check ({np.mean(rechecked):.1f} plots re-checked each on average): "
          f"{_percentiles(timed)}")
    print(f"{saves} plain UPDATEs (baseline):                                {_percentiles(plain)}")
    print(f"ratio of the p95s: {np.percentile(timed, 95) / np.percentile(plain, 95):.1f}; "
          f"target p95 ≤ 300 ms: {'met' if np.percentile(timed, 95) <= 0.3 else 'NOT met'}")


if __name__ == "__main__":
    main()
