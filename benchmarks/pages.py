"""Benchmark: the reviewer's pages at a million plots — the dashboard and the largest commune's page — in chromium.

    .venv/bin/python benchmarks/pages.py [--plots 1000000] [--keep /tmp/plots-1M.gpkg] [--database NAME] [--runs 5]

A database gets the Sơn La sample's units and the synthetic province (imported, reassigned, coded and checked,
then VACUUM ANALYZE as autovacuum leaves a province in use); ``--database NAME`` keeps it under that name and
reuses it on the next run. The web app is served by waitress (as ``geoland serve``) in this process; Debian's
chromium (Playwright), logged in as a reviewer, opens each page ``--runs`` times:

- the dashboard (``/``): until its map has drawn every commune (``geolandDashboard.drawn()``);
- the commune page of the commune with the most plots (``/communes/C``): until the review map in its frame has
  drawn its plots (``geolandMap.drawn()``) and the findings list is there.

The time is the page's own clock (``performance.now()``, from the start of the navigation), median of the runs:
``commune`` the views of a map page kept in memory (as after a first view, until the next job changes the data),
``commune_cold`` the views with the kept pages forgotten first (the first view after a check or a correction).
Targets (issue 18): the dashboard ≤ 1 s, the largest commune's page ≤ 2 s. Baselines in the same run, plain
PostGIS SQL reading what each page shows: the communes' boundaries as GeoJSON with a count of plots per commune
(``GROUP BY`` over the assignments), and the commune's plots as GeoJSON with their open findings.
"""

from __future__ import annotations

import statistics
import threading
import time

import sqlalchemy as sa
from common import _admin, coded_province, plots_file, province_arguments, sample_data

from geoland import config
from geoland.pipeline.quality import check
from geoland.review.users import add_user
from geoland.store.db import connect, migrate, sqlalchemy_url

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _database(name: str | None, data, plots) -> tuple[str, bool]:
    """(URL, made now): ``name`` reused when it holds a checked province, else made (and kept when named)."""
    import uuid

    server = config.database_url()
    url, admin = _admin(server)
    name = name or f"geoland_bench_{uuid.uuid4().hex[:8]}"
    target = url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
    if exists:
        with connect(target) as conn:
            ready = conn.execute(sa.text("SELECT count(*) FROM geoland.campaign_progress")).scalar()
        if ready:
            return target, False
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    migrate(target)
    coded_province(target, data, plots)
    with connect(target) as conn:
        check(conn, province="14", progress=False)
    with sa.create_engine(sqlalchemy_url(target), isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(sa.text("VACUUM (ANALYZE)"))
    return target, True


def _drop(url: str) -> None:
    base, admin = _admin(url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{base.database}" WITH (FORCE)'))


def _plain_sql(url: str, commune: str) -> dict[str, float]:
    """What the pages show, read by plain SQL: best of three."""
    engine = sa.create_engine(sqlalchemy_url(url))
    queries = {
        "dashboard": ("""SELECT b.code, ST_AsGeoJSON(b.geom), (SELECT count(*) FROM geoland.plot_assignment_current a
                         WHERE a.commune_code = b.code) FROM geoland.unit_boundary b""", {}),
        "commune": ("""SELECT p.id, ST_AsGeoJSON(ST_Transform(p.geom, 4326)),
                          (SELECT array_agg(f.type) FROM geoland.finding_current f WHERE f.plot_id = p.id)
                       FROM geoland.plot_assignment_current a JOIN geoland.plot p ON p.id = a.plot_id
                       WHERE a.commune_code = :c""", {"c": commune}),
    }
    out = {}
    for name, (sql, params) in queries.items():
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            with engine.connect() as conn:
                conn.execute(sa.text(sql), params).all()
            best = min(best, time.perf_counter() - started)
        out[name] = best
    engine.dispose()
    return out


def main() -> None:
    args = province_arguments(__doc__.splitlines()[0], default_plots=1_000_000,
                              extra=lambda p: (p.add_argument("--database", metavar="NAME"),
                                               p.add_argument("--runs", type=int, default=5)))
    from playwright.sync_api import sync_playwright
    from waitress.server import create_server

    from web.app import create_app

    data = sample_data()
    with plots_file(args.keep, args.plots, args.seed) as path:
        started = time.perf_counter()
        url, made = _database(args.database, data, path)
        print(f"province {'ready' if made else 'reused'} ({time.perf_counter() - started:.1f} s)")
        try:
            with connect(url) as conn:
                add_user(conn, "bench-reviewer", "reviewer", "benchmark-password")
                commune, plots, findings = conn.execute(sa.text("""
                    SELECT a.commune_code, count(DISTINCT a.plot_id), count(f.id)
                    FROM geoland.plot_assignment_current a LEFT JOIN geoland.finding_current f USING (plot_id)
                    GROUP BY 1 ORDER BY 2 DESC LIMIT 1""")).one()
                total = conn.execute(sa.text("SELECT count(*) FROM geoland.plot")).scalar()
            app = create_app(url, secret_key="benchmark", threads=8)
            server = create_server(app, host="127.0.0.1", port=0, threads=8)
            threading.Thread(target=server.run, daemon=True).start()
            base = f"http://127.0.0.1:{server.effective_port}"
            timings: dict[str, list[float]] = {"dashboard": [], "commune": [], "commune_cold": []}
            maps = app.extensions["geoland_maps"]
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
                page.goto(f"{base}/login")
                page.fill("input[name=username]", "bench-reviewer")
                page.fill("input[name=password]", "benchmark-password")
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/")
                for run in range(2 * args.runs):
                    cold = run >= args.runs                   # the second half: the kept map pages forgotten first
                    if cold:
                        with maps.lock:
                            maps.pages.clear()
                    page.goto(f"{base}/", wait_until="commit")
                    page.wait_for_function("window.geolandDashboard && geolandDashboard.drawn() > 0", polling="raf")
                    if not cold:
                        timings["dashboard"].append(page.evaluate("performance.now()") / 1000)
                    page.goto(f"{base}/communes/{commune}", wait_until="commit")
                    page.wait_for_function("""() => { const f = document.getElementById('review-map');
                        const m = f && f.contentWindow && f.contentWindow.geolandMap;
                        return m && Object.values(m.drawn()).some(n => n > 0)
                            && document.querySelectorAll('tr[data-finding]').length > 0; }""", polling="raf")
                    timings["commune_cold" if cold else "commune"].append(page.evaluate("performance.now()") / 1000)
                browser.close()
            server.close()
            plain = _plain_sql(url, commune)
        finally:
            if not args.database:
                _drop(url)
    print(f"{total:,} plots; largest commune {commune}: {plots:,} plots, {findings:,} findings")
    for name, target in (("dashboard", 1.0), ("commune", 2.0), ("commune_cold", 2.0)):
        runs = timings[name][1:] if name == "commune" else timings[name]       # the commune's first view is cold
        median = statistics.median(runs)
        base_name = name.removesuffix("_cold")
        print(f"{name:12s}: interactive in {median:5.2f} s (median of {len(runs)}: "
              f"{', '.join(f'{t:.2f}' for t in runs)}) — target ≤ {target:.0f} s; plain SQL of what it shows "
              f"{plain[base_name]:.2f} s (ratio {median / plain[base_name]:.2f})")

if __name__ == "__main__":
    main()
