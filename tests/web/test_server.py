"""`geoland serve` runs a production WSGI server (issue 14, defect 7): waitress, request size limits, an
access log without personal data, and links that never come from the request's Host header."""

import socket
import time
import urllib.error
import urllib.request

import pytest
import sqlalchemy as sa

from geoland.review.users import add_user
from geoland.store.db import connect, sqlalchemy_url
from web.app import create_app

PASSWORD = "mat-khau-123"


@pytest.fixture
def token(db_url):
    with connect(db_url) as conn:
        return add_user(conn, "xem", "viewer", PASSWORD, with_token=True)


def _links(app, token, **headers):
    client = app.test_client()
    body = client.get("/ogc/collections", headers={"Authorization": f"Bearer {token}", **headers}).get_json()
    return [link["href"] for c in body["collections"] for link in c["links"]]


def test_links_ignore_a_forged_host_header(db_url, token):
    app = create_app(db_url, secret_key="x")
    links = _links(app, token, Host="evil.example")
    assert links and all(link.startswith("http://localhost/") for link in links)


def test_links_use_the_configured_base_url(db_url, token, monkeypatch):
    monkeypatch.setenv("GEOLAND_BASE_URL", "https://diachinh.sonla.gov.vn/geoland/")
    app = create_app(db_url, secret_key="x")
    links = _links(app, token, Host="evil.example")
    assert "https://diachinh.sonla.gov.vn/geoland/ogc/collections/plots/items" in links
    assert all(link.startswith("https://diachinh.sonla.gov.vn/geoland/ogc/") for link in links)


@pytest.fixture
def server(db_url, token, tmp_path, helpers):
    with helpers.served(db_url, tmp_path, "--threads", "4", GEOLAND_STATEMENT_TIMEOUT_S="120") as running:
        yield running


def test_served_by_waitress_with_limits_and_an_access_log(server, token):
    base, log = server
    with urllib.request.urlopen(f"{base}/login", timeout=10) as response:
        assert response.status == 200 and response.headers["Server"] == "geoland"
    request = urllib.request.Request(f"{base}/api/plots/014090001234",
                                     headers={"Authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code in (400, 404)
    big = urllib.request.Request(f"{base}/login", data=b"x" * 200_000, method="POST")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(big, timeout=10)
    assert error.value.code == 413
    time.sleep(0.3)
    log.seek(0)
    text = log.read()
    assert "development server" not in text
    assert "GET /login 200" in text and "GET /api/plots/<code> 40" in text and " xem" in text
    assert "014090001234" not in text                                # the typed number is not logged


def _waiting_queries(query, url):
    return query(url, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                      "AND wait_event_type = 'Lock' AND query LIKE '%geoland.plot%'")[0][0]


def test_a_client_that_leaves_cancels_its_query(server, token, db_url, db_query, load_province):
    """Defect 2: the queries ran on after the clients were gone. Here a request's query waits on a lock that
    the test holds; the client closes its socket; the query is cancelled at once, long before the statement
    timeout (120 s here) and while the lock is still held."""
    load_province("99", n_plots=50)
    base, log = server
    host, port = base.removeprefix("http://").split(":")
    engine = sa.create_engine(sqlalchemy_url(db_url))
    with engine.connect() as holder:
        holder.execute(sa.text("LOCK TABLE geoland.plot IN ACCESS EXCLUSIVE MODE"))
        client = socket.create_connection((host, int(port)), timeout=10)
        client.sendall(f"GET /ogc/collections/plots/items?limit=5 HTTP/1.1\r\nHost: x\r\n"
                       f"Authorization: Bearer {token}\r\n\r\n".encode())
        deadline = time.monotonic() + 20
        while _waiting_queries(db_query, db_url) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _waiting_queries(db_query, db_url) == 1                  # the request's query waits on the lock
        client.close()                                        # the client gives up
        left = time.monotonic()
        while _waiting_queries(db_query, db_url) and time.monotonic() - left < 10:
            time.sleep(0.1)
        gone_after = time.monotonic() - left
        holder.rollback()
    engine.dispose()
    assert gone_after < 3, f"the query ran on {gone_after:.1f} s after the client left"
    time.sleep(0.3)
    log.seek(0)
    assert "the client went away, its query was cancelled" in log.read()
    with urllib.request.urlopen(urllib.request.Request(f"{base}/ogc/collections/plots/items?limit=2",
                                                       headers={"Authorization": f"Bearer {token}"}),
                                timeout=10) as response:
        assert response.status == 200                         # the server and its pool are fine afterwards
