"""Redirects stay on the site and a failed request changes nothing (issue 14, defects 3 and 4)."""

import re

import pytest

from geoland.review.users import add_user
from geoland.store.db import connect
from web.app import create_app
from web.auth import local_target

PASSWORD = "mat-khau-123"
EVIL = ["/\t/evil.example/phish", "/\n/evil.example", "/\r\n/evil.example", "//evil.example", "/\\evil.example",
        "\\\\evil.example", "https://evil.example/", "http:/evil.example", " //evil.example", "/%0d%0aSet-Cookie:x",
        "javascript:alert(1)", "", None]


@pytest.mark.parametrize("target", EVIL)
def test_anything_but_a_local_path_goes_home(target):
    expected = "/%0d%0aSet-Cookie:x" if target == "/%0d%0aSet-Cookie:x" else "/"    # percent-escapes stay escaped
    assert local_target(target) == expected


@pytest.mark.parametrize("target", ["/", "/communes/04231?state=open&type=overlap", "/plots/12#f3"])
def test_local_paths_are_followed(target):
    assert local_target(target) == target


@pytest.fixture
def site(db_url, load_province, geoland_cli, db_query):
    load_province("99", n_plots=300)
    for args in (("reassign",), ("check",)):
        code, _, err = geoland_cli(*args)
        assert code == 0, err
    with connect(db_url) as conn:
        add_user(conn, "lan", "reviewer", PASSWORD)
    app = create_app(db_url, secret_key="test-secret")
    app.testing = False
    finding = db_query(db_url, "SELECT id FROM geoland.finding_current ORDER BY id LIMIT 1")[0][0]
    return app, finding


def _csrf(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


@pytest.mark.parametrize("target", ["/\t/evil.example/phish", "/\\evil.example", "https://evil.example/"])
def test_login_does_not_redirect_off_site(site, target):
    client = site[0].test_client()
    response = client.post("/login", data={"username": "lan", "password": PASSWORD, "next": target,
                                           "csrf_token": _csrf(client, "/login")})
    assert response.status_code == 302 and response.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/\t/evil.example/phish", "/\r\n/evil.example"])
def test_the_review_form_does_not_redirect_off_site(site, target, db_url, db_query):
    app, finding = site
    client = app.test_client()
    client.post("/login", data={"username": "lan", "password": PASSWORD, "csrf_token": _csrf(client, "/login")})
    response = client.post(f"/findings/{finding}/review", data={"action": "resolved", "next": target,
                                                                "csrf_token": _csrf(client, "/")})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert db_query(db_url, "SELECT review_state FROM geoland.finding_current WHERE id = :i", i=finding) \
        == [("resolved",)]


def test_a_request_that_fails_after_writing_leaves_nothing(site, db_url, db_query, monkeypatch):
    app, finding = site
    client = app.test_client()
    client.post("/login", data={"username": "lan", "password": PASSWORD, "csrf_token": _csrf(client, "/login")})
    csrf = _csrf(client, "/")
    before = db_query(db_url, "SELECT count(*) FROM geoland.audit_event")[0][0]

    def broken(*args, **kwargs):
        raise RuntimeError("the redirect could not be built")

    monkeypatch.setattr("web.pages.local_target", broken)       # fails after the finding was written
    response = client.post(f"/findings/{finding}/review", data={"action": "resolved", "note": "đã xử lý",
                                                                "csrf_token": csrf})
    assert response.status_code == 500
    assert db_query(db_url, "SELECT review_state FROM geoland.finding_current WHERE id = :i", i=finding) \
        == [("open",)]
    assert db_query(db_url, "SELECT count(*) FROM geoland.finding_comment")[0][0] == 0
    assert db_query(db_url, "SELECT count(*) FROM geoland.audit_event")[0][0] == before


def test_a_client_error_after_writing_leaves_nothing(site, db_url, db_query, monkeypatch):
    from geoland.errors import InvalidInput

    app, finding = site
    client = app.test_client()
    client.post("/login", data={"username": "lan", "password": PASSWORD, "csrf_token": _csrf(client, "/login")})
    csrf = _csrf(client, "/")

    def refused(*args, **kwargs):
        raise InvalidInput("refused after the write")

    monkeypatch.setattr("web.pages.local_target", refused)
    response = client.post(f"/findings/{finding}/review", data={"action": "resolved", "csrf_token": csrf})
    assert response.status_code == 400
    assert db_query(db_url, "SELECT review_state FROM geoland.finding_current WHERE id = :i", i=finding) \
        == [("open",)]
