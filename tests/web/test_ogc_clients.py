"""OGC API – Features read by the clients users run (issue 15, item 8): GDAL's OAPIF driver (`ogrinfo`, a whole
copy with `ogr2ogr`) and OWSLib, against `geoland serve` (waitress) with an API token; the copy equals the
database (codes, and geometry within 1 cm)."""

import json
import os
import shutil
import subprocess
import time

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geoland.review.users import add_user
from geoland.store.db import connect

pytestmark = pytest.mark.skipif(shutil.which("ogr2ogr") is None,
                                reason="GDAL's command-line tools (Debian gdal-bin) are not installed")


@pytest.fixture(scope="module")
def service(module_cli, module_db, tmp_path_factory, helpers):
    folder = tmp_path_factory.mktemp("ogc")
    helpers.write_and_load_province(module_cli, folder / "p", "99", n_plots=1500)
    for args in (("reassign",), ("codes", "issue")):
        assert module_cli(*args)[0] == 0
    with connect(module_db) as conn:
        token = add_user(conn, "qgis", "viewer", "mat-khau-123", with_token=True)
    with helpers.served(module_db, folder) as (base, _):
        yield {"url": f"{base}/ogc", "token": token, "db": module_db, "folder": folder}


def _gdal(service, *args):
    env = {**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: Bearer {service['token']}",
           "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": "", "GDAL_HTTP_TIMEOUT": "60"}
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_ogrinfo_lists_and_summarises_the_layers(service, helpers):
    listing = _gdal(service, "ogrinfo", "-ro", f"OAPIF:{service['url']}")
    assert "plots" in listing and "communes" in listing
    summary = _gdal(service, "ogrinfo", "-ro", "-so", f"OAPIF:{service['url']}", "plots")
    plots = helpers.query(service["db"], "SELECT count(*) FROM geoland.plot")[0][0]
    assert f"Feature Count: {plots}" in summary
    for field in ("identification_code", "commune_code", "legacy_mx", "area_m2", "land_use"):
        assert field in summary


def test_ogr2ogr_copies_the_whole_layer_exactly(service, helpers):
    out = service["folder"] / "copy.gpkg"
    started = time.perf_counter()
    _gdal(service, "ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{service['url']}", "plots")
    elapsed = time.perf_counter() - started
    copy = gpd.read_file(out).sort_values("plot_id", ignore_index=True)
    truth = helpers.query(service["db"], """
        SELECT p.id, c.code, ST_AsBinary(p.geom), ST_SRID(p.geom) FROM geoland.plot p
        LEFT JOIN geoland.plot_code c ON c.plot_id = p.id ORDER BY p.id""")
    assert list(copy["plot_id"]) == [r[0] for r in truth]
    assert list(copy["identification_code"]) == [r[1] for r in truth]
    srid = truth[0][3]
    back = gpd.GeoSeries(copy.geometry.values, crs="EPSG:4326").to_crs(srid)
    stored = shapely.from_wkb([bytes(r[2]) for r in truth])
    distance = np.array([shapely.hausdorff_distance(a, b) for a, b in zip(back, stored, strict=True)])
    assert distance.max() < 0.01                                  # 1 cm
    assert elapsed < 120                                           # a copy, not a crawl (1,500 plots)


def test_owslib_every_part_1_call(service):
    from owslib.ogcapi.features import Features

    api = Features(service["url"], headers={"Authorization": f"Bearer {service['token']}"})
    assert any(link["rel"] == "service-desc" for link in api.links)
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in api.conformance()["conformsTo"]
    assert [c["id"] for c in api.collections()["collections"]] == ["plots", "communes"]
    plots = api.collection("plots")
    assert plots["extent"]["spatial"]["crs"].endswith("CRS84")
    x0, y0, x1, y1 = plots["extent"]["spatial"]["bbox"][0]
    page = api.collection_items("plots", limit=10, bbox=[x0, y0, (x0 + x1) / 2, (y0 + y1) / 2])
    assert page["type"] == "FeatureCollection" and 0 < page["numberReturned"] <= 10
    first = page["features"][0]
    one = api.collection_item("plots", str(first["id"]))
    assert one["id"] == first["id"] and one["properties"]["plot_id"] == first["id"]
    communes = api.collection_items("communes", limit=5, datetime_="2025-07-01T00:00:00Z/..")
    assert communes["numberReturned"] > 0
    assert all(f["properties"]["valid_from"] >= "2025-07-01" for f in communes["features"])
    assert api.api()["openapi"].startswith("3.0")


def test_html_for_browsers(service):
    import urllib.request

    request = urllib.request.Request(f"{service['url']}/collections?f=html",
                                     headers={"Authorization": f"Bearer {service['token']}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/html")
        html = response.read().decode()
    assert "plots" in html and "communes" in html and json.dumps("x")
