"""Every route as every kind of visitor (issue 14's security module): anonymous, viewer, a commune's editor,
an editor of another commune (issue 17), reviewer, admin, and three old cookies that must no longer work — a
disabled user's, a demoted admin's and a logged-out one's — with and without the CSRF token. A new route
must be added to ROUTES (the last test checks the app's map)."""

import re

import pytest
import sqlalchemy as sa

from geoland.review.edits import save_edits
from geoland.review.users import add_user, disable_user
from geoland.store.db import connect
from web.app import create_app

PASSWORD = "mat-khau-123"
ROLES = ["anonymous", "viewer", "editor", "stranger", "reviewer", "admin", "disabled", "demoted", "logged_out"]
LOGIN = "login"          # expected: redirected to the login page


@pytest.fixture(scope="module", autouse=True)
def report_dir(tmp_path_factory):
    """The latest report's folder (GEOLAND_REPORT_DIR), for /report/."""
    folder = tmp_path_factory.mktemp("report")
    (folder / "index.html").write_text("<html><body>báo cáo</body></html>", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GEOLAND_REPORT_DIR", str(folder))
        yield folder


@pytest.fixture(scope="module")
def site(module_cli, module_db, tmp_path_factory, helpers):
    helpers.write_and_load_province(module_cli, tmp_path_factory.mktemp("sec") / "p", "99", n_plots=300)
    for args in (("reassign",), ("codes", "issue"), ("check",)):
        assert module_cli(*args)[0] == 0
    q = lambda sql: helpers.query(module_db, sql)[0]                          # noqa: E731
    commune, other = (r[0] for r in helpers.query(module_db, "SELECT commune_code FROM geoland.plot_assignment_current "
                                                             "GROUP BY 1 ORDER BY count(*) DESC LIMIT 2"))
    plot, code = q("SELECT p.id, c.code FROM geoland.plot p JOIN geoland.plot_code c ON c.plot_id = p.id "
                   f"JOIN geoland.plot_assignment_current a ON a.plot_id = p.id AND a.commune_code = '{commune}' "
                   "ORDER BY p.id LIMIT 1")
    with connect(module_db) as conn:
        tokens = {name: add_user(conn, name, role, PASSWORD, with_token=True, communes=communes)
                  for name, role, communes in (
                      ("viewer", "viewer", ()), ("editor", "editor", (commune,)), ("stranger", "editor", (other,)),
                      ("reviewer", "reviewer", ()), ("admin", "admin", ()), ("disabled", "reviewer", ()),
                      ("demoted", "admin", ()), ("logged_out", "reviewer", ()))}
        edited = q(f"SELECT max(plot_id) FROM geoland.plot_assignment_current WHERE commune_code = '{commune}'")[0]
        save_edits(conn, edited, 1, {"disputed": "on"}, actor="editor")
        edit = conn.execute(sa.text("SELECT max(id) FROM geoland.plot_edit")).scalar()
    app = create_app(module_db, secret_key="test-secret")
    app.testing = False
    clients = {"anonymous": app.test_client()}
    for name in ROLES[1:]:
        client = clients[name] = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))[1]
        assert client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token}) \
            .status_code == 302
    old = {name: clients[name].get_cookie("session").value for name in ("logged_out",)}
    csrf = lambda c: re.search(r'name="csrf_token" value="([^"]+)"', c.get("/").get_data(as_text=True))[1]  # noqa: E731
    clients["logged_out"].post("/logout", data={"csrf_token": csrf(clients["logged_out"])})
    clients["logged_out"] = app.test_client()
    clients["logged_out"].set_cookie("session", old["logged_out"])         # the cookie replayed after logout
    with connect(module_db) as conn:
        disable_user(conn, "disabled")
        add_user(conn, "demoted", "viewer", PASSWORD)                          # same cookie, lower role
    finding = q("SELECT id FROM geoland.finding_current ORDER BY id LIMIT 1")[0]
    return {"app": app, "clients": clients, "tokens": tokens, "commune": commune, "plot": plot, "code": code,
            "finding": finding, "cid": "plots", "edit": edit, "report": "index.html"}


PAGE = {"anonymous": LOGIN, "viewer": 200, "editor": 200, "stranger": 200, "reviewer": 200, "admin": 200,
        "disabled": LOGIN, "demoted": LOGIN, "logged_out": LOGIN}
SCOPED = PAGE | {"stranger": 403}                   # a page of the editor's commune, not the stranger's
PROVINCE = PAGE | {"editor": 403, "stranger": 403}   # province-wide: not for commune officers
PEOPLE = SCOPED | {"viewer": 403, "reviewer": 403}
REVIEW = PROVINCE | {"viewer": 403, "reviewer": 302, "admin": 302}
EDIT = SCOPED | {"viewer": 403, "editor": 302, "reviewer": 302, "admin": 302}
REVERT = PROVINCE | {"viewer": 403, "reviewer": 403, "admin": 302}
API = {role: (200 if role in ("viewer", "editor", "stranger", "reviewer", "admin") else 401) for role in ROLES}
API_SCOPED = API | {"stranger": 403}
API_PROVINCE = API | {"editor": 403, "stranger": 403}
API_EDIT = API_SCOPED | {"viewer": 403}
OPEN = {role: 200 for role in ROLES}
ROUTES = [
    ("GET", "/login", OPEN), ("GET", "/", PAGE), ("GET", "/progress", PAGE), ("GET", "/communes/{commune}", SCOPED),
    ("GET", "/communes/{commune}/map", SCOPED), ("GET", "/plots/{plot}", SCOPED),
    ("GET", "/plots/{plot}?people=1", PEOPLE), ("POST", "/plots/{plot}/edit", EDIT),
    ("POST", "/plots/{plot}/shares", EDIT), ("POST", "/plots/{plot}/assets", EDIT),
    ("POST", "/plots/{plot}/holders", EDIT),
    ("POST", "/edits/{edit}/revert", REVERT), ("GET", "/communes/{commune}/corrections.xlsx", EDIT | {
        "editor": 200, "reviewer": 200, "admin": 200}),
    ("POST", "/communes/{commune}/corrections", EDIT | {"editor": 400, "reviewer": 400, "admin": 400}),  # no file
    ("POST", "/findings/{finding}/review", REVIEW),
    ("POST", "/communes/{commune}/findings/review", REVIEW | {"reviewer": 400, "admin": 400}),  # "comment": no bulk
    ("GET", "/lang/en", {role: 302 for role in ROLES}),
    ("GET", "/plots/{plot}.geojson", SCOPED), ("GET", "/plots/{plot}/card", SCOPED),
    ("GET", "/report/", PROVINCE), ("GET", "/report/{report}", PROVINCE),
    ("GET", "/search?q=zzzz", {role: 404 if PAGE[role] == 200 else PAGE[role] for role in ROLES}),  # nothing found
    ("GET", "/api/plots/{code}", API_SCOPED), ("GET", "/api/plots?lon=104&lat=21", API), ("GET", "/api/communes", API),
    ("POST", "/api/plots/{plot}/check-values", API_EDIT),
    ("GET", "/api/communes/{commune}/findings", API_SCOPED), ("GET", "/ogc/collections", API_PROVINCE),
    ("GET", "/ogc/collections/{cid}/items?limit=2", API_PROVINCE), ("GET", "/ogc", API_PROVINCE),
    ("GET", "/ogc/", API_PROVINCE), ("GET", "/ogc/conformance", API_PROVINCE),
    ("GET", "/ogc/api", API_PROVINCE), ("GET", "/ogc/collections/{cid}", API_PROVINCE),
    ("GET", "/ogc/collections/{cid}/items/{plot}", API_PROVINCE), ("GET", "/assets/map/plotlayer.js", OPEN),
    ("GET", "/static/app.css", OPEN), ("GET", "/api/nothing", {role: 404 for role in ROLES}),
    ("GET", "/admin/audit?action=personal_data.viewed", PROVINCE | {"viewer": 403, "reviewer": 403}),
]


def _csrf(client):
    page = client.get("/login").get_data(as_text=True)        # every page carries the session's token
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path", "expected"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_every_route_for_every_visitor(site, role, method, path, expected):
    client = site["clients"][role]
    url = path.format(**site)
    if method == "POST":
        response = client.post(url, data={"action": "comment", "note": "kiểm tra", "csrf_token": _csrf(client),
                                          "next": "/", "version": "1"})
    else:
        response = client.get(url)
    want = expected[role]
    if want == LOGIN:
        assert response.status_code == 302 and "/login" in response.headers["Location"], (role, url)
    else:
        assert response.status_code == want, (role, url, response.status_code)


@pytest.mark.parametrize("role", ["reviewer", "admin"])
def test_a_form_without_its_csrf_token_is_refused(site, role):
    response = site["clients"][role].post(f"/findings/{site['finding']}/review",
                                          data={"action": "comment", "note": "x"})
    assert response.status_code == 400


def test_an_api_token_of_a_disabled_user_is_refused(site):
    client = site["app"].test_client()
    response = client.get("/api/communes", headers={"Authorization": f"Bearer {site['tokens']['disabled']}"})
    assert response.status_code == 401


def test_every_route_is_in_the_matrix(site):
    covered = {re.sub(r"\{\w+\}", "<>", path.split("?")[0]) for _, path, _ in ROUTES}
    rules = {re.sub(r"<[^>]+>", "<>", rule.rule) for rule in site["app"].url_map.iter_rules()}
    missing = {r for r in rules if r not in covered and r not in ("/logout", "/api/<>", "/lang/<>",
                                                                 "/static/<>", "/assets/map/<>")}
    assert missing == set()
