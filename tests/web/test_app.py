"""The web app and API (Flask test client against PostGIS): every API route, bad parameters as 4xx JSON,
roles, CSRF, review actions audited; and the commune review page in Debian's chromium."""

import json
import re
import threading

import pytest
from werkzeug.serving import make_server

from geoland.review.users import add_user
from geoland.store.db import connect
from web.app import create_app

PASSWORD = "mat-khau-123"


@pytest.fixture
def site(db_url, load_province, geoland_cli, db_query):
    load_province("99", n_plots=1500)
    for args in (("reassign",), ("codes", "issue"), ("check",)):
        code, _, err = geoland_cli(*args)
        assert code == 0, err
    tokens = {}
    with connect(db_url) as conn:
        for name, role in (("xem", "viewer"), ("lan", "reviewer"), ("admin", "admin")):
            tokens[role] = add_user(conn, name, role, PASSWORD, with_token=True)
    app = create_app(db_url, secret_key="test-secret")
    app.testing = False                     # errors go through the app's handlers, as in production
    commune = db_query(db_url, "SELECT commune_code FROM geoland.plot_assignment_current GROUP BY 1 "
                               "ORDER BY count(*) DESC, 1 LIMIT 1")[0][0]
    return {"app": app, "tokens": tokens, "commune": commune}


def api(client, path, token):
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.get_json()


def login(client, username):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token,
                                           "next": "/"})
    assert response.status_code == 302
    # A new session after logging in, with a new CSRF token (in every page's logout form).
    page = client.get("/").get_data(as_text=True)
    fresh = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert fresh != token
    return fresh


@pytest.fixture(scope="module")
def api_site(module_cli, module_db, tmp_path_factory, helpers):
    """One province served by the app for the read-only API tests of this module."""
    helpers.write_and_load_province(module_cli, tmp_path_factory.mktemp("api") / "province-99", "99", n_plots=1500)
    for args in (("reassign",), ("codes", "issue"), ("check",)):
        code, _, err = module_cli(*args)
        assert code == 0, err
    with connect(module_db) as conn:
        token = add_user(conn, "xem", "viewer", PASSWORD, with_token=True)
    app = create_app(module_db, secret_key="test-secret")
    app.testing = False
    commune = helpers.query(module_db, "SELECT commune_code FROM geoland.plot_assignment_current GROUP BY 1 "
                                       "ORDER BY count(*) DESC, 1 LIMIT 1")[0][0]
    return {"client": app.test_client(), "token": token, "commune": commune, "url": module_db,
            "query": lambda sql, **params: helpers.query(module_db, sql, **params)}


def _api(site, path, token=None):
    return api(site["client"], path, site["token"] if token is None else token)


def test_api_needs_a_valid_token(api_site):
    status, body = _api(api_site, "/api/communes", "wrong-token")
    assert status == 401 and body == {"status": 401, "message": "invalid API token"}
    assert api_site["client"].get("/api/communes").status_code == 401


def test_communes_count_every_plot(api_site):
    status, body = _api(api_site, "/api/communes")
    assert status == 200
    assert sum(c["plots"] for c in body["communes"]) == api_site["query"]("SELECT count(*) FROM geoland.plot")[0][0]


@pytest.fixture(scope="module")
def a_plot(api_site):
    """A plot with a code, a complete MX.SB.ST and no overlap or duplicate, and a point inside it."""
    return api_site["query"]("""
        SELECT p.id, c.code, p.legacy_mx,
               ST_X(ST_Transform(ST_PointOnSurface(p.geom), 4326)), ST_Y(ST_Transform(ST_PointOnSurface(p.geom), 4326))
        FROM geoland.plot_mx p JOIN geoland.plot_code c ON c.plot_id = p.id
        WHERE p.legacy_mx IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM geoland.finding_current f WHERE f.plot_id = p.id AND f.type IN ('duplicate_mx', 'overlap'))
        ORDER BY p.id LIMIT 1""")[0]


@pytest.mark.parametrize("key", ["code", "mx"])
def test_a_plot_by_its_identification_code_or_legacy_mx(api_site, a_plot, key):
    plot_id, code, mx, _, _ = a_plot
    status, body = _api(api_site, f"/api/plots/{code if key == 'code' else mx}")
    assert status == 200 and [p["plot_id"] for p in body["plots"]] == [plot_id]


@pytest.mark.parametrize(("code", "status", "words"), [
    ("w7zzzzzzzzzz", 404, "no plot has code"),
    ("1' OR '1'='1", 400, "neither"),
    ("x" * 65, 400, "at most 64"),
])
def test_unknown_or_malformed_codes(api_site, code, status, words):
    got, body = _api(api_site, f"/api/plots/{code}")
    assert got == status and body["status"] == status and words in body["message"]


def test_the_plot_and_commune_at_a_point(api_site, a_plot):
    plot_id, _, _, lon, lat = a_plot
    status, body = _api(api_site, f"/api/plots?lon={lon}&lat={lat}")
    assert status == 200 and [p["plot_id"] for p in body["plots"]] == [plot_id] and body["commune"]["code"]


@pytest.mark.parametrize(("query", "message"), [
    ("lon=abc&lat=21", "lon must be a number"), ("lon=104&lat=100", "lat must be between"),
    ("lat=21", "lon is required"), ("lon=nan&lat=21", "lon must be between"),
])
def test_bad_point_parameters(api_site, query, message):
    status, body = _api(api_site, f"/api/plots?{query}")
    assert status == 400 and message in body["message"]


def test_commune_findings_filtered_and_paged(api_site):
    commune = api_site["commune"]
    total = api_site["query"]("SELECT count(*) FROM geoland.finding_current f JOIN geoland.plot_assignment_current a "
                              "USING (plot_id) WHERE a.commune_code = :c", c=commune)[0][0]
    status, body = _api(api_site, f"/api/communes/{commune}/findings?limit=7")
    assert status == 200 and body["total"] == total and len(body["findings"]) == 7
    status, body = _api(api_site, f"/api/communes/{commune}/findings?type=missing_certificate")
    assert status == 200 and {f["type"] for f in body["findings"]} == {"missing_certificate"}


@pytest.mark.parametrize(("path", "status"), [
    ("/api/communes/{c}/findings?type=drop%20table", 400), ("/api/communes/{c}/findings?limit=100000000", 400),
    ("/api/communes/{c}/findings?offset=-1", 400), ("/api/communes/{c}/findings?state=closed", 400),
    ("/api/communes/{c}/findings?limit=²", 400), ("/api/communes/{c}/findings?limit=１０", 400),
    ("/api/communes/０４２３１/findings", 400),
    ("/api/communes/abc/findings", 400), ("/api/communes/00001/findings", 404), ("/api/nothing", 404),
])
def test_bad_findings_requests_are_json_errors(api_site, path, status):
    got, body = _api(api_site, path.format(c=api_site["commune"]))
    assert got == status and body["status"] == status and "Traceback" not in json.dumps(body)


def test_items_are_geojson_pages_with_links(api_site):
    client, headers = api_site["client"], {"Authorization": f"Bearer {api_site['token']}"}
    x0, y0, x1, y1 = api_site["query"]("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                                       "ST_Extent(ST_Transform(geom, 4326)) e FROM geoland.plot) t")[0]
    response = client.get(f"/ogc/collections/plots/items?bbox={x0},{y0},{(x0 + x1) / 2},{(y0 + y1) / 2}&limit=5",
                          headers=headers)
    page = response.get_json()
    assert response.status_code == 200 and response.content_type.startswith("application/geo+json")
    assert page["type"] == "FeatureCollection" and page["numberReturned"] == 5
    following = next(link["href"] for link in page["links"] if link["rel"] == "next")
    second = client.get(following, headers=headers).get_json()
    assert {f["id"] for f in second["features"]}.isdisjoint({f["id"] for f in page["features"]})
    assert all(f["geometry"]["type"] == "MultiPolygon" for f in second["features"])
    assert {"plot_id", "identification_code", "commune_code", "legacy_mx", "area_m2", "land_use"} == set(
        second["features"][0]["properties"])


@pytest.mark.parametrize("query", ["bbox=1,2,3", "bbox=-200,0,0,0", "bbox=1;DROP TABLE geoland.plot,2,3,4",
                                   "limit=0", "bbox=5,5,1,1", "colour=red", "limit=²", "offset=３", "f=xml",
                                   "datetime=yesterday", "datetime=2025-07-02/2025-07-01"])
def test_bad_items_parameters(api_site, query):
    status, body = _api(api_site, f"/ogc/collections/plots/items?{query}")
    assert status == 400 and body["status"] == 400
    assert api_site["query"]("SELECT count(*) > 0 FROM geoland.plot")[0][0]


def test_roles_review_actions_and_audit(site, db_url, db_query):
    app, commune = site["app"], site["commune"]
    finding_id, _plot_id = db_query(db_url, "SELECT f.id, f.plot_id FROM geoland.finding_current f JOIN "
                                            "geoland.plot_assignment_current a USING (plot_id) "
                                            "WHERE a.commune_code = :c AND f.type = 'missing_certificate' "
                                            "ORDER BY f.id LIMIT 1", c=commune)[0]
    viewer = app.test_client()
    csrf = login(viewer, "xem")
    response = viewer.post(f"/findings/{finding_id}/review", data={"action": "resolved", "csrf_token": csrf})
    assert response.status_code == 403                                                # viewer cannot resolve
    reviewer = app.test_client()
    csrf = login(reviewer, "lan")
    assert reviewer.post(f"/findings/{finding_id}/review", data={"action": "resolved"}).status_code == 400  # no CSRF
    response = reviewer.post(f"/findings/{finding_id}/review",
                             data={"action": "not_a_problem", "note": "tường chung, đo 2004", "csrf_token": csrf})
    assert response.status_code == 302
    state = db_query(db_url, "SELECT review_state, reviewed_by, review_note FROM geoland.finding WHERE id = :i",
                     i=finding_id)
    assert state == [("not_a_problem", "lan", "tường chung, đo 2004")]
    response = reviewer.post(f"/findings/{finding_id}/review",
                             data={"action": "assign", "assignee": "lan", "csrf_token": csrf})
    assert response.status_code == 302
    events = db_query(db_url, "SELECT actor, action, detail FROM geoland.audit_event WHERE entity = 'finding' "
                              "AND entity_id = :i ORDER BY id", i=str(finding_id))
    assert [(a, act) for a, act, _ in events] == [("lan", "finding.not_a_problem"), ("lan", "finding.assign")]
    assert events[0][2]["before"]["review_state"] == "open" and events[0][2]["after"]["review_state"] == "not_a_problem"
    assert events[1][2]["after"] == {"review_state": "assigned", "assigned_to": "lan"}
    # Personal data: masked for the reviewer, refused in clear; shown to the admin and audited.
    with_user = db_query(db_url, "SELECT plot_id, name, id_number FROM geoland.land_user WHERE name IS NOT NULL "
                                 "AND id_number IS NOT NULL ORDER BY plot_id LIMIT 1")[0]
    page = reviewer.get(f"/plots/{with_user[0]}").get_data(as_text=True)
    assert with_user[1] not in page and with_user[2] not in page and with_user[2][:3] + "******" in page
    assert reviewer.get(f"/plots/{with_user[0]}?people=1").status_code == 403
    admin = app.test_client()
    login(admin, "admin")
    page = admin.get(f"/plots/{with_user[0]}").get_data(as_text=True)
    assert with_user[2] not in page and "?people=1" in page                          # masked until asked
    page = admin.get(f"/plots/{with_user[0]}?people=1").get_data(as_text=True)
    assert with_user[1] in page and with_user[2] in page
    assert db_query(db_url, "SELECT actor, entity_id FROM geoland.audit_event WHERE action = 'personal_data.viewed'") \
        == [("admin", str(with_user[0]))]


def test_pages_need_a_login_and_list_the_communes(site, db_url):
    client = site["app"].test_client()
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    bad = client.post("/login", data={"username": "lan", "password": "sai", "csrf_token": token})
    assert bad.status_code == 401 and "Sai tên đăng nhập" in bad.get_data(as_text=True)
    login(client, "lan")
    overview = client.get("/").get_data(as_text=True)
    assert f'href="/communes/{site["commune"]}"' in overview and "sortable" in overview
    page = client.get(f"/communes/{site['commune']}?category=conflict").get_data(as_text=True)
    assert f'<iframe class="map" id="review-map" title="Bản đồ" src="/communes/{site["commune"]}/map' in page
    frame = client.get(f"/communes/{site['commune']}/map").get_data(as_text=True)
    assert "geolandReview" in frame and "/assets/map/vendor/leaflet/leaflet.js" in frame
    assert client.get("/communes/12345").status_code == 404
    for path in ("/communes/abc/map", "/communes/０４２３１", "/communes/1/map"):      # not 500
        assert client.get(path).status_code == 404, path
    assert client.get(f"/communes/{site['commune']}?type=nope").status_code == 400


@pytest.fixture
def live(site):
    server = make_server("127.0.0.1", 0, site["app"], threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_review_page_in_chromium(site, live, page, screenshot, db_url, db_query):
    page.goto(f"{live}/login")
    page.fill("input[name=username]", "lan")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live}/")
    page.click(f'a[href="/communes/{site["commune"]}"]')
    frame = page.frame_locator("iframe.map")
    frame.locator("canvas.geoland-plots").first.wait_for()
    inner = next(f for f in page.frames if f != page.main_frame)
    inner.wait_for_function("window.geolandMap !== undefined")
    drawn = inner.evaluate("window.geolandMap.drawn()")
    plots = db_query(db_url, "SELECT count(*) FROM geoland.plot_assignment_current WHERE commune_code = :c",
                     c=site["commune"])[0][0]
    assert drawn["clean"] + drawn["missing"] + drawn["conflict"] == plots
    assert page.failed_requests == [] and page.errors == []
    plot_id, code, lon, lat = db_query(db_url, """
        SELECT p.id, c.code, ST_X(pt), ST_Y(pt) FROM geoland.plot p JOIN geoland.plot_code c ON c.plot_id = p.id
        JOIN geoland.plot_assignment_current a ON a.plot_id = p.id,
        LATERAL (SELECT ST_Transform(ST_PointOnSurface(p.geom), 4326) AS pt) s
        WHERE a.commune_code = :c ORDER BY ST_Area(p.geom) DESC LIMIT 1""", c=site["commune"])[0]
    x, y = inner.evaluate("([lat, lon]) => { const p = window.geolandMap.map.latLngToContainerPoint([lat, lon]);"
                          " return [p.x, p.y]; }", [lat, lon])
    box = page.locator("iframe.map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    popup = frame.locator(".geoland-popup")
    popup.wait_for()
    assert popup.get_attribute("data-plot") == str(plot_id) and code in popup.inner_text()
    # the rest of the popup is the plot's card, read on the click (the land user masked)
    frame.locator(".geoland-popup", has_text="m²").wait_for()
    card = popup.inner_text()
    assert (db_query(db_url, "SELECT land_use FROM geoland.plot WHERE id = :i", i=plot_id)[0][0] or "—") in card
    path = screenshot(page, "review-page")
    frame.locator(".leaflet-control-layers").hover()          # collapsed on a narrow map: opens on hover
    frame.locator(".leaflet-control-layers-overlays label", has_text="Không có lỗi").locator("input").click()
    assert inner.evaluate("window.geolandMap.drawn()")["clean"] == 0
    assert page.locator("tr[data-finding]").count() > 0
    assert path.stat().st_size > 10_000
    assert page.failed_requests == []
    assert db_query(db_url, "SELECT actor FROM geoland.audit_event WHERE action = 'user.login'") == [("lan",)]


def test_users_cli_and_the_collections_root(site, db_url, geoland_cli, monkeypatch, db_query):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("mot-mat-khau-dai\n"))
    code, out, err = geoland_cli("users", "add", "hoa", "--role", "reviewer", "--password-stdin", "--token", "--json")
    assert code == 0, err
    token = json.loads(out)["token"]
    stored = db_query(db_url, "SELECT role, password_hash, token_hash FROM geoland.app_user WHERE username = 'hoa'")[0]
    assert stored[0] == "reviewer" and "mot-mat-khau-dai" not in stored[1] and token not in stored[2]
    status, body = api(site["app"].test_client(), "/ogc/collections", token)
    assert status == 200 and [c["id"] for c in body["collections"]] == ["plots", "communes"]
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, _, err = geoland_cli("users", "add", "hoa", "--role", "admin", "--password-stdin")
    assert code == 1 and "at least 8 characters" in err
    code, out, _ = geoland_cli("users", "list")
    assert code == 0 and "hoa" in out and "reviewer" in out
