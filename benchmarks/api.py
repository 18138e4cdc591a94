"""Benchmark: point look-ups and item pages against `geoland serve` (waitress), clients in other processes.

    .venv/bin/python benchmarks/api.py [--rate 100] [--requests 2000] [--pagers 16] [--limit 1000]
                                       [--database-url URL] [--threads N] [--walk-pages N]

Needs a database with coded plots (e.g. after `bash scripts/demo.sh`, or a 1 M-plot province from
`benchmarks/demo.py`). Starts `geoland serve` in a subprocess on 127.0.0.1 with the production server, adds
viewers with API tokens, then, each phase a client on its own process:

1. one client walks the items collection (`/ogc/collections/plots/items?limit=…`, following the `next` links) and
   times every page (target: every page ≤ 200 ms at 1 M plots);
2. point look-ups alone: `GET /api/plots?lon=&lat=` at a fixed rate (default 100/s) for points inside random
   plots; every answer must name the plot the point was taken from (target: p99 ≤ 50 ms);
3. the same look-ups while `--pagers` clients (16) page through the collection from 16 starting points
   (a pager refused with 429/503 waits for its Retry-After and asks again).

Prints p50/p90/p99/max of each and the ratio of the look-ups' p99 under load to alone. Bounded in count and
time; loopback only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geoland import config
from geoland.review.users import add_user
from geoland.store.db import connect


def _get(port: int, path: str, token: str, timeout: float = 30) -> tuple[int, bytes, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        conn.close()


def _next_path(body: bytes) -> str | None:
    """The `next` link of an items page, read from the end of the body (the links come last): parsing the
    whole page would make the clients, on this same machine, compete with the server for the cores."""
    tail = json.loads(body[body.rindex(b'"links"') + 8:-1])
    for link in tail:
        if link["rel"] == "next":
            return "/" + link["href"].split("/", 3)[3]
    return None


def _returned(body: bytes) -> int:
    start = body.index(b'"numberReturned": ') + 18
    return int(body[start:body.index(b",", start)])


def walk(port: int, token: str, start: int, limit: int, max_pages: int, stop=None) -> dict:
    """Follow the `next` links from ``after=start``; the time of every page served, the refusals."""
    path = f"/ogc/collections/plots/items?limit={limit}" + (f"&after={start}" if start else "")
    times, refused, plots = [], 0, 0
    while path and len(times) < max_pages and not (stop is not None and stop.is_set()):
        t = time.perf_counter()
        status, body, headers = _get(port, path, token)
        if status in (429, 503):
            refused += 1
            time.sleep(float(headers.get("Retry-After", 1)))
            continue
        if status != 200:
            raise RuntimeError(f"items page answered {status}: {body[:200]!r}")
        times.append(time.perf_counter() - t)
        plots += _returned(body)
        path = _next_path(body)
    return {"times": times, "refused": refused, "plots": plots, "finished": path is None}


def _pager(port, token, start, limit, stop, out):
    out.put(walk(port, token, start, limit, 10**9, stop))


def _lookups(port, token, points, rate, out):
    """Open loop: each look-up is sent at its time (k / rate) by a small pool of threads, whether or not the
    ones before it have been answered, so that a slow server shows as latency, not as a lower rate."""
    from concurrent.futures import ThreadPoolExecutor

    def one(plot_id, lon, lat, due):
        if (pause := due - time.perf_counter()) > 0:
            time.sleep(pause)
        t = time.perf_counter()
        status, body, _ = _get(port, f"/api/plots?lon={lon}&lat={lat}", token, timeout=10)
        right = status == 200 and plot_id in [p["plot_id"] for p in json.loads(body)["plots"]]
        return time.perf_counter() - t, right

    start = time.perf_counter() + 0.1
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda k: one(*points[k], start + k / rate), range(len(points))))
    out.put({"times": [t for t, _ in results], "wrong": sum(not right for _, right in results),
             "elapsed": time.perf_counter() - start})


def _in_process(target, *args):
    out = mp.Queue()
    proc = mp.Process(target=target, args=(*args, out))
    proc.start()
    result = out.get()
    proc.join()
    return result


def _stats(seconds) -> str:
    ms = np.asarray(seconds) * 1000
    return (f"p50 {np.percentile(ms, 50):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms, "
            f"p99 {np.percentile(ms, 99):.1f} ms, max {ms.max():.1f} ms ({len(ms):,})")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="look-ups per second")
    parser.add_argument("--requests", type=int, default=2000, help="look-ups per phase")
    parser.add_argument("--pagers", type=int, default=16)
    parser.add_argument("--limit", type=int, default=1000, help="plots per items page")
    parser.add_argument("--walk-pages", type=int, default=10**9, help="pages of the first phase's walk")
    parser.add_argument("--threads", type=int, help="the server's threads (default: geoland serve's)")
    parser.add_argument("--database-url", help="default: the configured database")
    args = parser.parse_args()
    url = config.database_url(args.database_url)
    with connect(url) as conn:
        points = conn.execute(sa.text("""
            SELECT id, ST_X(pt), ST_Y(pt) FROM (SELECT id, ST_Transform(ST_PointOnSurface(geom), 4326) pt
            FROM geoland.plot TABLESAMPLE SYSTEM (10) LIMIT :n) t ORDER BY random()"""),
            {"n": args.requests}).all()
        plots, top = conn.execute(sa.text("SELECT count(*), max(id) FROM geoland.plot")).one()
        suffix = secrets.token_hex(3)
        lookup_token = add_user(conn, f"bench-{suffix}", "viewer", secrets.token_urlsafe(16), with_token=True)
        pager_tokens = [add_user(conn, f"pager-{suffix}-{k}", "viewer", secrets.token_urlsafe(16), with_token=True)
                        for k in range(max(1, args.pagers))]
    if not points:
        sys.exit("no plots in the database: run `bash scripts/demo.sh` first")
    points = [tuple(p) for p in points] * (args.requests // len(points) + 1)
    points = points[:args.requests]
    port = _free_port()
    command = [sys.executable, "-m", "geoland.cli", "serve", "--port", str(port)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    server = subprocess.Popen(command, env={**os.environ, "GEOLAND_DATABASE_URL": url},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        _get(port, "/ogc/collections/plots/items?limit=10", lookup_token)          # warm the server up
        print(f"geoland serve (waitress) on {plots:,} plots; clients in other processes; items pages of "
              f"{args.limit}")

        alone_walk = _in_process(_pager_walk, port, pager_tokens[0], args.limit, args.walk_pages)
        print(f"1. one client walks the collection: {alone_walk['plots']:,} plots in "
              f"{len(alone_walk['times']):,} pages, {sum(alone_walk['times']):.1f} s; "
              f"page {_stats(alone_walk['times'])}")

        alone = _in_process(_lookups, port, lookup_token, points, args.rate)
        print(f"2. look-ups alone at {args.requests / alone['elapsed']:.0f}/s: {_stats(alone['times'])}; "
              f"wrong answers {alone['wrong']}")

        stop, out = mp.Event(), mp.Queue()
        pagers = [mp.Process(target=_pager, args=(port, token, k * top // len(pager_tokens), args.limit, stop, out))
                  for k, token in enumerate(pager_tokens)]
        for proc in pagers:
            proc.start()
        time.sleep(2)                                                            # the pagers at full speed
        loaded = _in_process(_lookups, port, lookup_token, points, args.rate)
        stop.set()
        walks = [out.get() for _ in pagers]
        for proc in pagers:
            proc.join()
        pages = [t for w in walks for t in w["times"]]
        print(f"3. look-ups at {args.requests / loaded['elapsed']:.0f}/s while {len(pagers)} clients page: "
              f"{_stats(loaded['times'])}; wrong answers {loaded['wrong']}")
        print(f"   the pagers: {sum(w['plots'] for w in walks):,} plots in {len(pages):,} pages "
              f"({len(pages) / loaded['elapsed']:.1f} pages/s), page {_stats(pages)}; "
              f"{sum(w['refused'] for w in walks):,} asked to retry (busy)")
        p99 = [np.percentile(np.asarray(r["times"]) * 1000, 99) for r in (alone, loaded)]
        print(f"look-up p99 under load / alone: {p99[1] / p99[0]:.2f} ({p99[1]:.1f} / {p99[0]:.1f} ms; "
              f"target ≤ 50 ms); slowest page alone {max(alone_walk['times']) * 1000:.0f} ms (target ≤ 200)")
    finally:
        server.terminate()
        server.wait(timeout=10)


def _pager_walk(port, token, limit, max_pages, out):
    out.put(walk(port, token, 0, limit, max_pages))


if __name__ == "__main__":
    main()
