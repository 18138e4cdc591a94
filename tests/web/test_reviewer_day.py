"""The reviewer's day (issue 18): the findings list pages, sorts and filters through the URL, bulk actions
(all or nothing, audited); the search; the dashboard; the plot page's map and GeoJSON; background layers;
in Debian's chromium at 1366×768 and 800×1280, checked with axe-core."""

import json
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from geoland.review.users import add_user
from geoland.store.db import connect
from web.app import create_app

PASSWORD = "mat-khau-123"


@pytest.fixture(scope="module")
def site(module_cli, module_db, tmp_path_factory, helpers):
    helpers.write_and_load_province(module_cli, tmp_path_factory.mktemp("day") / "p", "99", n_plots=700)
    for args in (("reassign",), ("codes", "issue"), ("recode", "--province", "99", "--policy", "prefix"), ("check",)):
        assert module_cli(*args)[0] == 0
    q = lambda sql: helpers.query(module_db, sql)                               # noqa: E731
    commune, other = (r[0] for r in q("SELECT commune_code FROM geoland.plot_assignment_current GROUP BY 1 "
                                      "ORDER BY count(*) DESC, 1 LIMIT 2"))
    with connect(module_db) as conn:
        for name, role, communes in (("kiemtra", "reviewer", ()), ("xem", "viewer", ()),
                                     ("xa1", "editor", (commune,)), ("quantri", "admin", ())):
            add_user(conn, name, role, PASSWORD, communes=communes)
    app = create_app(module_db, secret_key="test-secret")
    app.testing = False
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "db": module_db, "commune": commune, "other": other,
           "query": q, "app": app, "log_in": helpers.log_in}
    server.shutdown()


def client(site, name):
    c = site["app"].test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").get_data(as_text=True))[1]
    assert c.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token}).status_code == 302
    c.csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/").get_data(as_text=True))[1]
    return c


def _open_findings(site, commune):
    return [r[0] for r in site["query"](f"""SELECT f.id FROM geoland.finding_current f
        JOIN geoland.plot_assignment_current a USING (plot_id) WHERE a.commune_code = '{commune}'
        ORDER BY f.category, f.type, f.plot_id, f.id""")]


def _ids_on(html):
    return [int(v) for v in re.findall(r'data-finding="(\d+)"', html)]


def test_paging_reaches_every_finding_once_in_order(site):
    c = client(site, "xem")
    expected = _open_findings(site, site["commune"])
    assert len(expected) > 60
    seen, page = [], 1
    while True:
        html = c.get(f"/communes/{site['commune']}?per=25&page={page}").get_data(as_text=True)
        seen += _ids_on(html)
        if 'rel="next"' not in html:
            break
        page += 1
    assert seen == expected and page == -(-len(expected) // 25)
    # past the last page: sent to the last page, filters kept
    response = c.get(f"/communes/{site['commune']}?per=25&page=999&state=open")
    assert response.status_code == 302 and f"page={page}" in response.headers["Location"] \
        and "state=open" in response.headers["Location"]


def test_sorting_and_filters_live_in_the_url(site):
    c = client(site, "xem")
    html = c.get(f"/communes/{site['commune']}?sort=plot&dir=desc&per=500").get_data(as_text=True)
    plots = [int(v) for v in re.findall(r'data-plot="(\d+)"', html)]
    assert plots == sorted(plots, reverse=True) and len(plots) > 1
    kind = site["query"](f"""SELECT f.type FROM geoland.finding_current f JOIN geoland.plot_assignment_current a
        USING (plot_id) WHERE a.commune_code = '{site["commune"]}' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1""")[0][0]
    html = c.get(f"/communes/{site['commune']}?type={kind}&per=10&page=2").get_data(as_text=True)
    assert f"type={kind}" in re.search(r'href="([^"]*rel="prev"|[^"]*)"[^>]*rel="prev"', html)[1]
    for bad in ("sort=name", "per=5", "per=100000", "page=0", "dir=x&colour=1"):
        assert c.get(f"/communes/{site['commune']}?{bad}").status_code == 400, bad


def test_a_bulk_action_changes_the_whole_selection_or_nothing(site):
    reviewer = client(site, "kiemtra")
    ids = _open_findings(site, site["commune"])[:3]
    stray = _open_findings(site, site["other"])[0]
    url = f"/communes/{site['commune']}/findings/review"
    before = site["query"]("SELECT count(*) FROM geoland.audit_event")[0][0]
    response = reviewer.post(url, data={"ids": [*map(str, ids), str(stray)], "action": "resolved",
                                        "csrf_token": reviewer.csrf})
    assert response.status_code == 404 and str(stray) in response.get_data(as_text=True)
    assert site["query"](f"SELECT count(*) FROM geoland.finding WHERE id IN ({','.join(map(str, ids))}) "
                         "AND review_state = 'resolved'")[0][0] == 0
    assert site["query"]("SELECT count(*) FROM geoland.audit_event")[0][0] == before
    response = reviewer.post(url, data={"ids": list(map(str, ids)), "action": "assign", "assignee": "kiemtra",
                                        "note": "kiểm tra thực địa", "csrf_token": reviewer.csrf,
                                        "next": f"/communes/{site['commune']}?page=1"})
    assert response.status_code == 302 and response.headers["Location"].endswith("?page=1")
    assert site["query"](f"SELECT count(*) FROM geoland.finding WHERE id IN ({','.join(map(str, ids))}) "
                         "AND review_state = 'assigned' AND assigned_to = 'kiemtra'")[0][0] == 3
    events = site["query"]("SELECT action, entity_id FROM geoland.audit_event WHERE id > (SELECT max(id) - 4 "
                           "FROM geoland.audit_event) ORDER BY id")
    assert [e[0] for e in events] == ["finding.assign"] * 3 + ["finding.bulk"] and events[-1][1] == site["commune"]
    viewer = client(site, "xem")
    assert viewer.post(url, data={"ids": [str(ids[0])], "action": "resolved", "csrf_token": viewer.csrf}) \
        .status_code == 403
    assert reviewer.post(url, data={"ids": [str(ids[0])], "action": "comment", "csrf_token": reviewer.csrf}) \
        .status_code == 400
    assert reviewer.post(url, data={"ids": ["1" * 30], "action": "resolved", "csrf_token": reviewer.csrf}) \
        .status_code == 400


def test_search_lands_on_the_right_page(site):
    c = client(site, "xem")
    q = site["query"]
    plot, code = q(f"""SELECT p.id, c.code FROM geoland.plot p JOIN geoland.plot_code c ON c.plot_id = p.id
        JOIN geoland.plot_assignment_current a ON a.plot_id = p.id WHERE a.commune_code = '{site["commune"]}'
        ORDER BY p.id LIMIT 1""")[0]
    assert c.get(f"/search?q={code.upper()}").headers["Location"] == f"/plots/{plot}"
    # an old MX.SB.ST (the map's code before the reorganisation) and the recoded one
    old, new, recoded = q("SELECT old_code, new_code, plot_id FROM geoland.mx_crosswalk_current "
                          "WHERE old_code <> new_code ORDER BY plot_id LIMIT 1")[0]
    for mx in (old, new):
        response = c.get(f"/search?q={mx}")
        assert response.status_code == 302 and response.headers["Location"] == f"/plots/{recoded}", mx
    name = q(f"""SELECT name FROM geoland.admin_unit WHERE level = 'commune' AND code = '{site["commune"]}'
                 ORDER BY valid_from DESC NULLS LAST LIMIT 1""")[0][0]
    from boundaries.conversion import fold_vietnamese

    plain = fold_vietnamese(name).split(" ", 1)[-1]        # "Xã Mường Bú" → "muong bu": no diacritics, no "Xã"
    assert plain != name.lower()
    response = c.get(f"/search?q={plain.upper()}")
    target = f"/communes/{site['commune']}"
    assert (response.status_code == 302 and response.headers["Location"] == target) or \
        f'href="{target}"' in response.get_data(as_text=True)
    response = c.get("/search?q=khong-co-dau-xa-nao-ten-nay")
    assert response.status_code == 404
    assert c.get("/search?q=" + "x" * 101).status_code == 400 and c.get("/search?q=").status_code == 400


def test_searching_land_users_is_for_whoever_may_see_them_and_audited(site):
    q = site["query"]
    plot, number = q(f"""SELECT u.plot_id, u.id_number FROM geoland.land_user u
        JOIN geoland.plot_assignment_current a USING (plot_id) WHERE a.commune_code = '{site["commune"]}'
        AND u.id_number ~ '^[0-9]{{12}}$' ORDER BY 1 LIMIT 1""")[0]
    viewer = client(site, "xem").get(f"/search?q={number}")
    assert viewer.status_code == 404 and "quản trị viên" in viewer.get_data(as_text=True)
    before = q("SELECT count(*) FROM geoland.audit_event WHERE action = 'personal_data.searched'")[0][0]
    html = client(site, "quantri").get(f"/search?q={number}")
    assert html.status_code in (200, 302)
    body = html.get_data(as_text=True)
    listed = body.split('<ul class="results">')[-1]           # the answers, holders masked (the query is echoed)
    assert number not in listed and (html.status_code == 302 or f"/plots/{plot}" in listed)
    detail = q("SELECT detail FROM geoland.audit_event WHERE action = 'personal_data.searched' "
               "ORDER BY id DESC LIMIT 1")
    assert q("SELECT count(*) FROM geoland.audit_event WHERE action = 'personal_data.searched'")[0][0] == before + 1
    assert number not in json.dumps(detail[0][0]) and detail[0][0]["by"] == "id_number"
    # an editor finds only the holders of their communes
    other = q(f"""SELECT u.id_number FROM geoland.land_user u JOIN geoland.plot_assignment_current a USING (plot_id)
        WHERE a.commune_code = '{site["other"]}' AND u.id_number ~ '^[0-9]{{12}}$' ORDER BY 1 LIMIT 1""")[0][0]
    assert client(site, "xa1").get(f"/search?q={other}").status_code == 404


# ---- In Debian's chromium, at the office's two screen sizes -------------------------------------------------

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
SCREENS = {"laptop": {"width": 1366, "height": 768}, "tablet": {"width": 800, "height": 1280}}


def _login(browser, site, name, screen="laptop"):
    screen = SCREENS[screen]
    return site["log_in"](browser, site["url"], name, PASSWORD, (screen["width"], screen["height"]))


def _axe(page) -> list:
    """axe-core's serious and critical violations of WCAG 2.1 A/AA on the page."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})""")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
            if v["impact"] in ("serious", "critical")]


def _no_squeezed_column(page) -> list:
    """Cells narrower than 3 em that wrap their text onto more than three lines (the squeezed action column)."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('main td, main th')).filter(c => {
        const s = getComputedStyle(c), em = parseFloat(s.fontSize), lh = parseFloat(s.lineHeight) || em * 1.2;
        return c.textContent.trim().length > 3 && c.clientWidth < 3 * em && c.clientHeight > 3.5 * lh;
      }).map(c => c.textContent.trim().slice(0, 20))""")


def _plot_with_findings(site):
    return site["query"](f"""SELECT f.plot_id FROM geoland.finding_current f
        JOIN geoland.plot_assignment_current a USING (plot_id) WHERE a.commune_code = '{site["commune"]}'
        GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""")[0][0]


@pytest.mark.parametrize("screen", ["laptop", "tablet"])
def test_every_page_at_the_offices_screen_sizes(browser, site, screen, screenshot):
    """Dashboard, commune page, plot page, search, progress, audit: no page error, no request leaving the machine,
    no squeezed column, no serious or critical axe-core violation."""
    page = _login(browser, site, "quantri", screen)
    plot = _plot_with_findings(site)
    anonymous = browser.new_context(viewport=SCREENS[screen]).new_page()
    anonymous.goto(f"{site['url']}/login")
    found_login = _axe(anonymous)
    anonymous.context.close()
    pages = {"dashboard": "/", "commune": f"/communes/{site['commune']}?per=50", "plot": f"/plots/{plot}",
             "search": "/search?q=90", "progress": "/progress", "audit": "/admin/audit", "ogc": "/ogc?f=html",
             "not_found": "/plots/999999999",
             "commune_sorted": f"/communes/{site['commune']}?page=2&sort=state&dir=desc"}
    found = {}
    for name, path in pages.items():
        page.goto(f"{site['url']}{path}")
        page.wait_for_load_state("load")
        if name == "commune":
            page.frame_locator("iframe.map").locator(".leaflet-control-layers").wait_for()
        found[name] = {"axe": _axe(page), "squeezed": _no_squeezed_column(page),
                       "scroll": page.evaluate("document.documentElement.scrollWidth - window.innerWidth")}
        screenshot(page, f"{name}-{screen}")
    assert found_login == [] and {k: v["axe"] for k, v in found.items() if v["axe"]} == {}
    assert {k: v["squeezed"] for k, v in found.items() if v["squeezed"]} == {}
    assert {k: v["scroll"] for k, v in found.items() if v["scroll"] > 0} == {}     # no sideways scrolling
    assert page.errors == [] and page.outside == []


@pytest.mark.parametrize("screen", ["laptop", "tablet"])
def test_the_dashboard_map_draws_every_commune(browser, site, screen):
    page = _login(browser, site, "kiemtra", screen)
    page.wait_for_function("window.geolandDashboard && geolandDashboard.drawn() > 0")
    rows = page.locator("#communes tbody tr").count()
    expected = site["query"]("""SELECT count(DISTINCT g.commune_code) FROM geoland.campaign_progress g
        JOIN geoland.unit_boundary b ON b.code = g.commune_code JOIN geoland.boundary_layer l ON l.id = b.layer_id
        AND l.superseded_by IS NULL AND l.effective = (SELECT max(effective) FROM geoland.plot_assignment_current)""")
    assert page.evaluate("geolandDashboard.drawn()") == expected[0][0] == rows
    totals = page.locator("#communes tfoot td").all_inner_texts()
    plots = site["query"]("SELECT count(*) FROM geoland.plot_assignment_current")[0][0]
    assert int(totals[1]) == plots                        # the province's plots, all of them
    before = page.evaluate("geolandDashboard.layer.getLayers()[0].options.fillColor")
    page.select_option("#colour-by", "conflict")
    after = page.evaluate("geolandDashboard.layer.getLayers()[0].options.fillColor")
    assert before != after and "xung đột" in page.inner_text(".map-legend").lower()
    page.evaluate("geolandDashboard.layer.getLayers()[0].fire('click')")
    page.wait_for_url(re.compile(r".*/communes/\d{5}$"))


@pytest.mark.parametrize("screen", ["laptop", "tablet"])
def test_search_from_the_header(browser, site, screen):
    page = _login(browser, site, "kiemtra", screen)
    plot, code = site["query"]("SELECT plot_id, code FROM geoland.plot_code ORDER BY plot_id LIMIT 1")[0]
    page.fill("header input[name=q]", code.upper())
    page.press("header input[name=q]", "Enter")
    page.wait_for_url(f"{site['url']}/plots/{plot}")
    old, recoded = site["query"]("SELECT old_code, plot_id FROM geoland.mx_crosswalk_current "
                                 "WHERE old_code <> new_code ORDER BY plot_id LIMIT 1")[0]
    page.fill("header input[name=q]", old)
    page.press("header input[name=q]", "Enter")
    page.wait_for_url(f"{site['url']}/plots/{recoded}")
    from boundaries.conversion import fold_vietnamese

    name = site["query"](f"SELECT name FROM geoland.admin_unit WHERE level = 'commune' AND code = '{site['commune']}'"
                         " ORDER BY valid_from DESC NULLS LAST LIMIT 1")[0][0]
    page.fill("header input[name=q]", fold_vietnamese(name).split(" ", 1)[-1])
    page.press("header input[name=q]", "Enter")
    page.wait_for_load_state("load")
    if "/search" in page.url:                          # several communes share the words: the list has it
        page.click(f"ul.results a[href='/communes/{site['commune']}']")
    page.wait_for_url(f"{site['url']}/communes/{site['commune']}")


@pytest.mark.parametrize("screen", ["laptop", "tablet"])
def test_the_plot_page_map_shows_the_plot(browser, site, screen):
    page = _login(browser, site, "kiemtra", screen)
    plot = _plot_with_findings(site)
    page.goto(f"{site['url']}/plots/{plot}")
    page.wait_for_function("window.geolandPlotMap")
    shown = page.evaluate("""() => { const m = geolandPlotMap, b = m.plot.getBounds();
        const path = m.plot.getLayers()[0]._path;
        return {inView: m.map.getBounds().contains(b), drawn: !!(path && path.getAttribute('d').length > 10),
                neighbours: m.neighbours.getLayers().length,
                layers: Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))
                          .map(l => l.textContent.trim())}; }""")
    assert shown["inView"] and shown["drawn"] and shown["neighbours"] > 0
    assert any("Xã mới" in t for t in shown["layers"]) and any("Điểm sinh mã" in t for t in shown["layers"])
    with page.expect_download() as download:
        page.click("a[href$='.geojson']")
    feature = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert feature["properties"]["plot_id"] == plot and feature["geometry"]["type"] == "MultiPolygon"
    assert "name" not in json.dumps(feature["properties"]) and page.errors == []


def test_a_broken_geometry_is_words_and_a_marker(browser, site):
    q = site["query"]
    row = q("""SELECT plot_id, value FROM geoland.finding_current WHERE type = 'invalid_geometry'
               AND value ~ '\\[' ORDER BY plot_id LIMIT 1""")
    if not row:
        pytest.skip("the synthetic province drew no self-intersecting plot")
    plot, value = row[0]
    page = _login(browser, site, "kiemtra")
    page.goto(f"{site['url']}/plots/{plot}")
    page.wait_for_function("window.geolandPlotMap")
    text = page.inner_text("main")
    assert value not in text and "Self-intersection" not in text and "tự cắt" in text
    assert page.evaluate("geolandPlotMap.problems.getLayers().length") >= 1


@pytest.mark.parametrize("screen", ["laptop", "tablet"])
def test_paging_reaches_the_last_finding_of_the_largest_commune(browser, site, screen):
    page = _login(browser, site, "kiemtra", screen)
    page.goto(f"{site['url']}/communes/{site['commune']}?per=25")
    page.click("nav.pager a.last >> nth=0")
    page.wait_for_url(re.compile(r".*page=\d+"))
    last = _open_findings(site, site["commune"])[-1]
    assert int(page.locator("tr[data-finding]").last.get_attribute("data-finding")) == last
    assert page.locator("nav.pager a[rel=next]").count() == 0
    # the row's plot is outlined on the map on hover
    row = page.locator("tr[data-finding]").last
    row.hover()
    frame = page.frame_locator("iframe.map")
    frame.locator(".geoland-highlight").wait_for()


@pytest.mark.parametrize("screen", ["laptop", "tablet"])
def test_a_configured_background_layer_appears_under_the_plots(browser, site, screen, tile_server, tmp_path,
                                                               monkeypatch):
    tiles, asked = tile_server
    config = tmp_path / "basemaps.toml"
    config.write_text(f'''[[basemap]]
name = "Ảnh trực giao thử"
type = "xyz"
url = "{tiles}/tiles/{{z}}/{{x}}/{{y}}.png"
attribution = "© Sở Nông nghiệp và Môi trường (thử)"
max_zoom = 19
default = true
''', encoding="utf-8")
    monkeypatch.setenv("GEOLAND_BASEMAPS", str(config))
    asked.clear()
    page = _login(browser, site, "kiemtra", screen)
    page.goto(f"{site['url']}/plots/{_plot_with_findings(site)}")
    page.locator("#plot-map .leaflet-tile-pane img.leaflet-tile-loaded").first.wait_for()
    order = page.evaluate("""() => { const z = s => Number(getComputedStyle(
            document.querySelector('#plot-map ' + s)).zIndex);
        return [z('.leaflet-tile-pane'), z('.leaflet-overlay-pane')]; }""")
    assert order[0] < order[1]                       # the background under the plot
    assert "Sở Nông nghiệp" in page.inner_text("#plot-map .leaflet-control-attribution")
    assert any(p.startswith("/tiles/") for p in asked)
    # the commune page's map (folium) has it too, as its default background with a blank one to switch to
    page.goto(f"{site['url']}/communes/{site['commune']}")
    frame = page.frame_locator("iframe.map")
    frame.locator(".leaflet-tile-pane img.leaflet-tile-loaded").first.wait_for()
    assert frame.locator(".leaflet-control-layers-base label").count() == 2


def test_the_maps_card_of_a_plot_is_masked(site):
    plot, name, number = site["query"](f"""SELECT u.plot_id, u.name, u.id_number FROM geoland.land_user u
        JOIN geoland.plot_assignment_current a USING (plot_id) WHERE a.commune_code = '{site["commune"]}'
        AND u.name IS NOT NULL AND u.id_number IS NOT NULL ORDER BY 1 LIMIT 1""")[0]
    card = client(site, "quantri").get(f"/plots/{plot}/card").get_json()
    assert card["plot_id"] == plot and "*" in card["user_name"] and "*" in card["id_number"]
    assert name not in json.dumps(card, ensure_ascii=False) and number not in json.dumps(card)
    frame = client(site, "xem").get(f"/communes/{site['commune']}/map").get_data(as_text=True)
    assert '"lazy":true' in frame and "/plots/{id}/card" in frame and name not in frame
