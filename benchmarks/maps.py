"""Benchmark: the review map of a 20,000-plot commune against a plain folium.GeoJson map of the same plots.

    .venv/bin/python benchmarks/maps.py [--plots 20000] [--out /tmp/geoland-maps]

Both pages use the same vendored Leaflet, inlined (offline), and the same plots: five-vertex polygons
tiling a Sơn La-sized area, with the attributes a popup shows. Prints the HTML sizes and the time
Debian's chromium (headless) takes to load each page and draw it (load event, then two animation frames),
best of three, in the same run. Targets: size ≤ ½ of the plain map's, render time no slower.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoland.review.maps import VENDOR, _offline, build_map, standalone_html
from geoland.rules.vocab import FINDING_TYPES

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def synthetic_review(n: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    i, j = np.divmod(np.arange(n), side)
    size = 0.0004                                     # ≈ 40 m cells around 104° E, 21.3° N
    x0, y0 = 103.9 + j * size, 21.3 + i * size
    jitter = rng.uniform(-0.1, 0.1, size=(n, 5, 2)) * size
    corners = np.array([[0, 0], [1, 0], [1, 0.6], [0.5, 1], [0, 1]]) * size
    rings = np.stack([x0, y0], axis=1)[:, None, :] + corners[None] + jitter
    geoms = shapely.polygons(np.concatenate([rings, rings[:, :1]], axis=1))
    kinds = list(FINDING_TYPES)
    findings = pd.DataFrame({"plot_id": rng.choice(n, size=n), "type": rng.choice(kinds, size=n)})
    findings["category"] = findings["type"].map(lambda t: FINDING_TYPES[t].group)
    findings["value"] = "12.3 m²"
    plots = pd.DataFrame({"plot_id": np.arange(n), "code": [f"w7cc{k:08d}" for k in range(n)],
                          "mx": [f"04231.{k // 300 + 1}.{k % 300 + 1}" for k in range(n)],
                          "legacy_mx": [f"04234.{k // 300 + 1}.{k % 300 + 1}" for k in range(n)],
                          "area_m2": rng.uniform(100, 2000, n).round(1),
                          "legal_area_m2": rng.uniform(100, 2000, n).round(1),
                          "land_use": rng.choice(["ONT", "LUC", "CLN", "RSX"], n), "user_name": "Lò V*** A**",
                          "id_number": "014******123"})
    empty = gpd.GeoDataFrame({"code": [], "name": []}, geometry=[], crs="EPSG:4326")
    return {"commune": "04231", "name": "Xã Sốp Cộp", "plots": plots, "geometry": geoms, "findings": findings,
            "boundary": empty, "old_communes": empty}


def plain_map(review: dict) -> str:
    m = folium.Map(tiles=None, prefer_canvas=True)
    _offline(m, None)
    frame = gpd.GeoDataFrame(review["plots"][["plot_id", "code", "mx", "legacy_mx", "area_m2", "land_use"]],
                             geometry=review["geometry"], crs="EPSG:4326")
    folium.GeoJson(frame.to_json(), popup=folium.GeoJsonPopup(["code", "mx", "legacy_mx", "area_m2", "land_use"])
                   ).add_to(m)
    b = frame.total_bounds
    m.fit_bounds([[b[1], b[0]], [b[3], b[2]]])
    page = m.get_root().render()
    page = page.replace('<script src="geoland-vendor:/vendor/leaflet/leaflet.js"></script>',
                        f"<script>{(VENDOR / 'leaflet.js').read_text()}</script>")
    page = page.replace('<script src="geoland-vendor:/plotlayer.js"></script>', "")
    return page.replace('<link rel="stylesheet" href="geoland-vendor:/vendor/leaflet/leaflet.css"/>',
                        f"<style>{(VENDOR / 'leaflet.css').read_text()}</style>")


def render_time(browser, path: Path) -> float:
    best = float("inf")
    for _ in range(3):
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        t = time.perf_counter()
        page.goto(path.as_uri(), wait_until="load")
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        best = min(best, time.perf_counter() - t)
        page.close()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plots", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/geoland-maps"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    review = synthetic_review(args.plots)
    ours, plain = args.out / "geoland.html", args.out / "plain-folium.html"
    t = time.perf_counter()
    ours.write_text(standalone_html(build_map(review)), encoding="utf-8")
    build_ours = time.perf_counter() - t
    t = time.perf_counter()
    plain.write_text(plain_map(review), encoding="utf-8")
    build_plain = time.perf_counter() - t
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        render_plain, render_ours = render_time(browser, plain), render_time(browser, ours)
        browser.close()
    size_ours, size_plain = ours.stat().st_size, plain.stat().st_size
    print(f"{args.plots:,} five-vertex plots")
    print(f"plain folium.GeoJson: {size_plain / 1e6:6.2f} MB, written in {build_plain:.2f} s, "
          f"rendered in {render_plain:.2f} s")
    print(f"geoland map:          {size_ours / 1e6:6.2f} MB, written in {build_ours:.2f} s, "
          f"rendered in {render_ours:.2f} s")
    print(f"size ratio {size_ours / size_plain:.2f} (target ≤ 0.5); render ratio {render_ours / render_plain:.2f} "
          "(target ≤ 1)")


if __name__ == "__main__":
    main()
