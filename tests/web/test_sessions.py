"""Sessions end when they must (issue 14, defect 1): the role and the disabled flag come from the database on
every request; logout, a new password, a role change and disabling end every session of the user; idle and
absolute lifetimes; the cookie's flags. Each case replays a cookie that worked before."""

import re
import time

import pytest

from geoland.review.users import add_user, disable_user
from geoland.store.db import connect
from web.app import create_app

PASSWORD = "mat-khau-123"


@pytest.fixture
def app(db_url, checked_province):
    checked_province(300)
    with connect(db_url) as conn:
        add_user(conn, "admin", "admin", PASSWORD)
        add_user(conn, "lan", "reviewer", PASSWORD)
    app = create_app(db_url, secret_key="test-secret")
    app.testing = False
    return app


def _csrf(client, path="/"):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def login(client, username, password=PASSWORD):
    token = _csrf(client, "/login")
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:200]


def _cookie(client):
    return client.get_cookie("session").value


def _replay(app, cookie):
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client


@pytest.fixture
def a_plot(db_url, db_query):
    return db_query(db_url, "SELECT plot_id, id_number FROM geoland.land_user WHERE id_number IS NOT NULL "
                            "ORDER BY plot_id LIMIT 1")[0]


def test_a_demoted_admin_loses_admin_rights_with_the_same_cookie(app, db_url, a_plot):
    plot_id, number = a_plot
    admin = app.test_client()
    login(admin, "admin")
    assert number in admin.get(f"/plots/{plot_id}?people=1").get_data(as_text=True)
    cookie = _cookie(admin)
    with connect(db_url) as conn:
        add_user(conn, "admin", "viewer", PASSWORD)            # demoted (same password)
    replay = _replay(app, cookie)
    response = replay.get(f"/plots/{plot_id}?people=1")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert number not in response.get_data(as_text=True)
    login(replay, "admin")                                     # a new login has the new role
    assert replay.get(f"/plots/{plot_id}?people=1").status_code == 403


@pytest.mark.parametrize("how", ["password change", "disable", "logout"])
def test_an_old_cookie_stops_working(app, db_url, how, geoland_cli, db_query):
    client = app.test_client()
    login(client, "lan")
    cookie = _cookie(client)
    assert _replay(app, cookie).get("/").status_code == 200
    if how == "password change":
        with connect(db_url) as conn:
            add_user(conn, "lan", "reviewer", "mat-khau-moi-456")
    elif how == "disable":
        code, out, err = geoland_cli("users", "disable", "lan")
        assert code == 0 and "sessions ended" in out, err
        assert db_query(db_url, "SELECT disabled FROM geoland.app_user WHERE username = 'lan'") == [(True,)]
    else:
        assert client.post("/logout", data={"csrf_token": _csrf(client)}).status_code == 302
    response = _replay(app, cookie).get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_logout_ends_every_session_of_the_user(app):
    office, home = app.test_client(), app.test_client()
    login(office, "lan")
    login(home, "lan")
    assert office.post("/logout", data={"csrf_token": _csrf(office)}).status_code == 302
    assert home.get("/").status_code == 302


def test_a_disabled_user_cannot_log_in_again(app, db_url):
    with connect(db_url) as conn:
        disable_user(conn, "lan")
    client = app.test_client()
    token = _csrf(client, "/login")
    assert client.post("/login", data={"username": "lan", "password": PASSWORD, "csrf_token": token}) \
        .status_code == 401


@pytest.mark.parametrize(("key", "age"), [("seen", 31 * 60), ("born", 13 * 3600)])
def test_idle_and_absolute_lifetimes(app, key, age):
    client = app.test_client()
    login(client, "lan")
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:          # the server signs the cookie: only it can age it
        session[key] = time.time() - age
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_cookie_from_the_old_format_is_refused(app):
    client = app.test_client()
    with client.session_transaction() as session:
        session["user"] = {"username": "admin", "role": "admin"}         # before sessions had a generation
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(("https", "secure"), [(False, False), (True, True)])
def test_cookie_flags(db_url, https, secure):
    with connect(db_url) as conn:
        add_user(conn, "lan", "reviewer", PASSWORD)
    app = create_app(db_url, secret_key="test-secret", https=https)
    client = app.test_client()
    token = _csrf(client, "/login")
    response = client.post("/login", data={"username": "lan", "password": PASSWORD, "csrf_token": token})
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in header and "SameSite=Lax" in header and ("Secure" in header) == secure


def test_lifetimes_are_settings(db_url, monkeypatch):
    monkeypatch.setenv("GEOLAND_SESSION_IDLE_MINUTES", "5")
    monkeypatch.setenv("GEOLAND_SESSION_MAX_HOURS", "1.5")
    app = create_app(db_url, secret_key="x")
    assert app.config["GEOLAND_SESSION_IDLE"] == 300 and app.config["GEOLAND_SESSION_MAX"] == 5400
    monkeypatch.setenv("GEOLAND_SESSION_IDLE_MINUTES", "-1")
    from geoland.errors import ConfigError

    with pytest.raises(ConfigError, match="GEOLAND_SESSION_IDLE_MINUTES"):
        create_app(db_url, secret_key="x")
