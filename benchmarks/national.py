"""Benchmark: ``geoland run`` on a database that holds provinces already imported, with each process's peak memory.

    .venv/bin/python benchmarks/national.py --database-url URL [--provinces all|LIST] [--workers 2] [--out DIR]
                                            [--baseline PROVINCE] [--split-above PLOTS]

Runs :func:`geoland.pipeline.national.run_provinces` (a LocalCluster of ``--workers`` processes) and samples the
resident memory of every process of the run (this one, the workers and the pools they start) every 0.2 s. Prints
each province's steps (seconds) and the peak memory of every process, and the wall-clock time. With
``--baseline P``, province P is first run alone on one worker, in the same process, and left out of the
provinces run together; the ratio of the two wall-clock times is printed (issue 19's 10 × 1 M target: ≤ 11 × one
province with ten provinces, and ≤ 4 GB for every process). The per-province costs are what docs/scale.md projects
from. ``--split-above`` is ``geoland run``'s: a larger province runs as parts of old communes (its steps' seconds are
then the parts' added: work, not wall clock).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import psutil

from geoland.cli.national import SPLIT_ABOVE
from geoland.pipeline.national import provinces_with_plots, run_provinces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--provinces", default="all")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp(prefix="geoland-national-")))
    parser.add_argument("--baseline", help="a province run alone first, and left out of the run together")
    parser.add_argument("--split-above", type=int, default=SPLIT_ABOVE, help="geoland run's --split-above")
    args = parser.parse_args()
    provinces = provinces_with_plots(args.database_url) if args.provinces == "all" else args.provinces.split(",")
    provinces = [p for p in provinces if p != args.baseline]
    peaks: dict[int, tuple[int, str]] = {}
    server: dict[tuple[int, float], float] = {}         # (pid, start) → CPU seconds, of the database's processes
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
            for proc in psutil.process_iter(["name", "cpu_times", "create_time"]):
                cpu = proc.info["cpu_times"]
                if proc.info["name"] == "postgres" and cpu is not None:
                    server[(proc.pid, proc.info["create_time"])] = cpu.user + cpu.system
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    def server_cpu():
        """CPU seconds used so far by the PostgreSQL server's processes (same machine), as last sampled: a
        backend that ended counts with its last sample (at most 0.2 s short)."""
        return sum(server.values())

    def run(which, workers):
        started, cpu = time.perf_counter(), server_cpu()
        result = run_provinces(args.database_url, which, args.out, workers=workers, split_above=args.split_above,
                               progress=False)
        seconds = time.perf_counter() - started
        print(f"database server: {server_cpu() - cpu:.0f} CPU seconds", flush=True)
        for r in result["provinces"]:
            parts = f" in {r['parts']} parts" if r.get("parts") else ""
            print(f"province {r['province']}: {r['plots']:,} plots{parts} — " + ", ".join(
                f"{s} {r[s]['seconds']:.1f} s" for s in ("reassign", "codes", "recode", "check", "export")),
                flush=True)
        print(f"{len(which)} provinces with {workers} workers: {seconds:.1f} s", flush=True)
        return seconds

    alone = run([args.baseline], 1) if args.baseline else None
    together = run(provinces, args.workers)
    stop.set()
    if alone:
        print(f"{len(provinces)} provinces together: {together / alone:.2f} × one province alone "
              f"({together:.1f} s / {alone:.1f} s)")
    top = sorted(peaks.values(), reverse=True)[:6]
    print("peak memory: " + "; ".join(f"{rss / 2**30:.2f} GB ({what})" for rss, what in top))


if __name__ == "__main__":
    main()
