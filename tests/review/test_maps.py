"""`geoland map`: an offline Folium review map in Debian's chromium — nothing fetched, every plot drawn, a
click opens the plot's popup, layers toggle; smaller than a plain folium.GeoJson map of the same plots."""

import json
import re

import folium
import geopandas as gpd
import pytest

from geoland.review.communes import commune_plots
from geoland.review.maps import _offline, build_map, render_page
from geoland.store.db import connect


@pytest.fixture
def reviewed(db_url, load_province, geoland_cli, db_query):
    load_province("99", n_plots=3000)
    for args in (("reassign",), ("codes", "issue"), ("check",)):
        code, _, err = geoland_cli(*args)
        assert code == 0, err
    commune = db_query(db_url, "SELECT commune_code FROM geoland.plot_assignment_current GROUP BY 1 "
                               "ORDER BY count(*) DESC, 1 LIMIT 1")[0][0]
    return commune


def test_map_file_offline_drawn_clickable_toggled(db_url, reviewed, geoland_cli, db_query, page, screenshot,
                                                  tmp_path):
    out = tmp_path / "ban-do.html"
    code, stdout, err = geoland_cli("map", "--commune", reviewed, "--out", out, "--json")
    assert code == 0, err
    report = json.loads(stdout)
    plots = db_query(db_url, "SELECT count(*) FROM geoland.plot_assignment_current WHERE commune_code = :c",
                     c=reviewed)[0][0]
    assert report["plots"] == plots == report["clean"] + report["missing"] + report["conflict"]
    html = out.read_text(encoding="utf-8")
    assert "<script src=" not in html and 'rel="stylesheet" href' not in html     # everything inlined
    data = re.search(r'id="geoland-plot-data">(.*?)</script>', html, re.S)[1]   # read by JSON.parse: no NaN
    assert len(json.loads(data, parse_constant=lambda c: pytest.fail(f"{c} in the plots' data"))["id"]) == plots
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(out.as_uri())
    page.wait_for_function("window.geolandMap !== undefined")
    assert page.failed_requests == [] and page.errors == []
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    drawn = page.evaluate("window.geolandMap.drawn()")
    # The map is fitted to the commune: every plot is drawn, each in its category's layer.
    assert (drawn["clean"], drawn["missing"], drawn["conflict"]) == (report["clean"], report["missing"],
                                                                     report["conflict"])
    assert all(v == 0 for k, v in drawn.items() if k.startswith("type:"))            # off until toggled
    # Click inside a plot in conflict: its popup shows its identification code.
    plot_id, ident, lon, lat = db_query(db_url, """
        SELECT p.id, c.code, ST_X(pt), ST_Y(pt) FROM geoland.plot p
        JOIN geoland.plot_code c ON c.plot_id = p.id
        JOIN geoland.plot_assignment_current a ON a.plot_id = p.id,
        LATERAL (SELECT ST_Transform(ST_PointOnSurface(p.geom), 4326) AS pt) s
        WHERE a.commune_code = :c AND EXISTS (SELECT 1 FROM geoland.finding_current f WHERE f.plot_id = p.id
                                              AND f.category = 'conflict')
        ORDER BY ST_Area(p.geom) DESC LIMIT 1""", c=reviewed)[0]
    point = page.evaluate("([lat, lon]) => { const p = window.geolandMap.map.latLngToContainerPoint([lat, lon]);"
                          " return [p.x, p.y]; }", [lat, lon])
    page.mouse.click(*point)
    popup = page.locator(".geoland-popup")
    popup.wait_for()
    assert popup.get_attribute("data-plot") == str(plot_id) and ident in popup.inner_text()
    assert "*" in popup.inner_text()                                                   # land user masked
    screenshot(page, "map-commune-popup")
    # Toggling the conflict layer off removes its canvas and draws nothing.
    page.locator(".leaflet-control-layers-overlays label", has_text="Xung đột").locator("input").click()
    assert page.evaluate("window.geolandMap.drawn()")["conflict"] == 0
    assert page.locator('canvas[data-layer="conflict"]').count() == 0
    # And a finding type's layer on draws exactly its plots.
    kind = db_query(db_url, "SELECT f.type, count(DISTINCT f.plot_id) FROM geoland.finding_current f JOIN "
                            "geoland.plot_assignment_current a USING (plot_id) WHERE a.commune_code = :c "
                            "AND f.type = 'missing_certificate' GROUP BY 1", c=reviewed)[0]
    page.locator(".leaflet-control-layers-overlays label", has_text="Thiếu số phát hành GCN").locator("input").click()
    assert page.evaluate("window.geolandMap.drawn()")["type:missing_certificate"] == kind[1]


def test_english_labels_and_compact_output(db_url, reviewed, geoland_cli, tmp_path):
    out = tmp_path / "map-en.html"
    assert geoland_cli("map", "--commune", reviewed, "--out", out, "--english")[0] == 0
    html = out.read_text(encoding="utf-8")
    assert "Missing data" in html and "Xung đột" not in html
    # Assets apart (both pages reference the same vendored Leaflet), the same plots as a plain
    # folium.GeoJson map take more than twice the bytes.
    with connect(db_url) as conn:
        review = commune_plots(conn, reviewed)
    ours = render_page(build_map(review, asset_url="/static"))
    plain = folium.Map(tiles=None)
    _offline(plain, "/static")
    frame = gpd.GeoDataFrame(review["plots"][["plot_id", "code", "mx", "legacy_mx", "area_m2", "land_use"]],
                             geometry=review["geometry"], crs="EPSG:4326")
    folium.GeoJson(frame.to_json(), popup=folium.GeoJsonPopup(["code", "mx"])).add_to(plain)
    assert 2 * len(ours.encode()) <= len(plain.get_root().render().encode())


def test_unknown_commune_is_a_clear_error(db_url, reviewed, geoland_cli, tmp_path):
    code, _, err = geoland_cli("map", "--commune", "00002", "--out", tmp_path / "x.html")
    assert code == 1 and "no plots assigned to commune 00002" in err
    assert not (tmp_path / "x.html").exists()


def test_imported_text_cannot_break_out_of_the_map_script(db_url, reviewed, geoland_cli, db_query, page, tmp_path):
    evil = "</script><script>window.pwned=1</script>"
    plot_id = db_query(db_url, "UPDATE geoland.plot SET land_use = :v WHERE id = (SELECT plot_id FROM "
                               "geoland.plot_assignment_current WHERE commune_code = :c ORDER BY plot_id LIMIT 1) "
                               "RETURNING id", v=evil, c=reviewed)[0][0]
    out = tmp_path / "map.html"
    assert geoland_cli("map", "--commune", reviewed, "--out", out)[0] == 0
    assert evil not in out.read_text(encoding="utf-8")
    page.goto(out.as_uri())
    page.wait_for_function("window.geolandMap !== undefined")
    assert page.evaluate("window.pwned") is None and page.errors == []
    index = page.evaluate(f"window.geolandMap.data.id.indexOf({plot_id})")
    assert page.evaluate(f"window.geolandMap.data.use[{index}]") == evil          # shown as text, intact
