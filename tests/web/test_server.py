"""`geoland serve` runs a production WSGI server (issue 14, defect 7): waitress, request size limits, an
access log without personal data, and links that never come from the request's Host header."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from geoland.review.users import add_user
from geoland.store.db import connect
from web.app import create_app

PASSWORD = "mat-khau-123"


@pytest.fixture
def token(db_url):
    with connect(db_url) as conn:
        return add_user(conn, "xem", "viewer", PASSWORD, with_token=True)


def _links(app, token, **headers):
    client = app.test_client()
    body = client.get("/collections", headers={"Authorization": f"Bearer {token}", **headers}).get_json()
    return [link["href"] for c in body["collections"] for link in c["links"]]


def test_links_ignore_a_forged_host_header(db_url, token):
    app = create_app(db_url, secret_key="x")
    links = _links(app, token, Host="evil.example")
    assert links and all(link.startswith("http://localhost/") for link in links)


def test_links_use_the_configured_base_url(db_url, token, monkeypatch):
    monkeypatch.setenv("GEOLAND_BASE_URL", "https://diachinh.sonla.gov.vn/geoland/")
    app = create_app(db_url, secret_key="x")
    assert _links(app, token, Host="evil.example") == [
        "https://diachinh.sonla.gov.vn/geoland/collections/plots/items"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(db_url, token, tmp_path):
    port = _free_port()
    log = open(tmp_path / "server.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "geoland.cli", "serve", "--port", str(port), "--threads", "4"],
                            env={**os.environ, "GEOLAND_DATABASE_URL": db_url, "GEOLAND_SECRET_KEY": "x",
                                 "GEOLAND_HOME": str(tmp_path)}, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", log
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


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
