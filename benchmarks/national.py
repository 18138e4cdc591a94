"""Benchmark: ``geoland run`` on a database that holds provinces already imported, with each process's peak memory.

    .venv/bin/python benchmarks/national.py --database-url URL [--provinces all|LIST] [--workers 2] [--out DIR]

Runs :func:`geoland.pipeline.national.run_provinces` (a LocalCluster of ``--workers`` processes) and samples the
resident memory of every process of the run (this one, the workers and the pools they start) every 0.2 s. Prints
each province's steps (seconds) and the peak memory of every process, and the wall-clock time. The per-province
costs are what docs/scale.md projects from; issue 19's 10 × 1 M target (≤ 11 × one province, ≤ 4 GB a process)
is run by giving it ten loaded provinces.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import psutil

from geoland.pipeline.national import provinces_with_plots, run_provinces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--provinces", default="all")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp(prefix="geoland-national-")))
    args = parser.parse_args()
    provinces = provinces_with_plots(args.database_url) if args.provinces == "all" else args.provinces.split(",")
    peaks: dict[int, tuple[int, str]] = {}
    stop = threading.Event()

    def sample():
        me = psutil.Process()
        while not stop.is_set():
            for proc in [me, *me.children(recursive=True)]:
                try:
                    rss = proc.memory_info().rss
                    if rss > peaks.get(proc.pid, (0, ""))[0]:
                        peaks[proc.pid] = (rss, " ".join(proc.cmdline())[:60])
                except psutil.Error:
                    pass
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    result = run_provinces(args.database_url, provinces, args.out, workers=args.workers, progress=False)
    seconds = time.perf_counter() - started
    stop.set()
    for r in result["provinces"]:
        print(f"province {r['province']}: {r['plots']:,} plots — " + ", ".join(
            f"{s} {r[s]['seconds']:.1f} s" for s in ("reassign", "codes", "recode", "check", "export")))
    print(f"{len(provinces)} provinces with {args.workers} workers: {seconds:.1f} s")
    top = sorted(peaks.values(), reverse=True)[:6]
    print("peak memory: " + "; ".join(f"{rss / 2**30:.2f} GB ({what})" for rss, what in top))


if __name__ == "__main__":
    main()
