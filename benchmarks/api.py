"""Benchmark: point look-ups against `geoland serve`, from a second process on loopback.

    .venv/bin/python benchmarks/api.py [--rate 100] [--requests 2000] [--port 8765]

Needs a database with plots (e.g. after `bash scripts/demo.sh`). Starts `geoland serve` in a subprocess
on 127.0.0.1, adds a viewer `bench` with an API token, and sends GET /api/plots?lon=&lat= at a fixed rate
(default 100 requests/s) for points inside random plots; prints the latency p50/p90/p99/max and checks that
every answer names the plot the point was taken from. Bounded in count and time; loopback only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import subprocess
import sys
import time

import numpy as np
import sqlalchemy as sa

from geoland import config
from geoland.review.users import add_user
from geoland.store.db import connect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    url = config.database_url()
    with connect(url) as conn:
        points = conn.execute(sa.text("""
            SELECT id, ST_X(pt), ST_Y(pt) FROM (SELECT id, ST_Transform(ST_PointOnSurface(geom), 4326) pt
            FROM geoland.plot TABLESAMPLE SYSTEM (10) LIMIT :n) t"""), {"n": args.requests}).all()
        plots = conn.execute(sa.text("SELECT count(*) FROM geoland.plot")).scalar()
        token = add_user(conn, "bench", "viewer", secrets.token_urlsafe(16), with_token=True)
    if not points:
        sys.exit("no plots in the database: run `bash scripts/demo.sh` first")
    server = subprocess.Popen([sys.executable, "-m", "geoland.cli", "serve", "--port", str(args.port)],
                              env={**os.environ, "GEOLAND_DATABASE_URL": url}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                http.client.HTTPConnection("127.0.0.1", args.port, timeout=1).request("GET", "/login")
                break
            except OSError:
                time.sleep(0.2)
        headers = {"Authorization": f"Bearer {token}"}
        latencies, wrong = [], 0
        start = time.perf_counter()
        for k in range(args.requests):
            plot_id, lon, lat = points[k % len(points)]
            due = start + k / args.rate
            if (pause := due - time.perf_counter()) > 0:
                time.sleep(pause)
            t = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=5)
            conn.request("GET", f"/api/plots?lon={lon}&lat={lat}", headers=headers)
            response = conn.getresponse()
            body = json.loads(response.read())
            latencies.append(time.perf_counter() - t)
            conn.close()
            if response.status != 200 or plot_id not in [p["plot_id"] for p in body["plots"]]:
                wrong += 1
        elapsed = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=10)
    ms = np.array(latencies) * 1000
    print(f"{len(ms):,} look-ups in {elapsed:.1f} s ({len(ms) / elapsed:.0f}/s) on {plots:,} plots; "
          f"wrong answers {wrong}")
    print(f"latency p50 {np.percentile(ms, 50):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms, "
          f"p99 {np.percentile(ms, 99):.1f} ms (target ≤ 20), max {ms.max():.1f} ms")


if __name__ == "__main__":
    main()
