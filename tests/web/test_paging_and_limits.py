"""Paging whose cost does not grow with the page (keyset ``after`` links), a statement timeout on every
request, and a cap on each user's concurrent heavy requests (issue 14, defect 2)."""

import contextlib

import pytest

from geoland.errors import TooManyRequests
from geoland.review.users import add_user
from geoland.store.db import connect
from web.app import create_app
from web.http import HEAVY_PER_USER, heavy_request


@pytest.fixture
def site(db_url, load_province, geoland_cli):
    load_province("99", n_plots=400)
    with connect(db_url) as conn:
        token = add_user(conn, "xem", "viewer", "mat-khau-123", with_token=True)
    app = create_app(db_url, secret_key="x")
    app.testing = False
    return app, {"Authorization": f"Bearer {token}"}


def _walk(client, headers, url):
    seen, pages = [], 0
    while url:
        body = client.get(url, headers=headers).get_json()
        assert body["numberReturned"] == len(body["features"]) <= 37
        seen += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        pages += 1
        assert pages < 100
    return seen, pages


BOX = (103.8, 21.1, 104.0, 21.3)


def _expected(db_query, db_url, bbox):
    if bbox in (None, "-180,-90,180,90"):
        return [r[0] for r in db_query(db_url, "SELECT id FROM geoland.plot ORDER BY id")]
    return [r[0] for r in db_query(db_url, """
        SELECT id FROM geoland.plot WHERE ST_Intersects(ST_Transform(geom, 4326),
               ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)) ORDER BY id""",
        **dict(zip(("x0", "y0", "x1", "y1"), map(float, bbox.split(",")), strict=True)))]


# The three reads of a box (geoland.review.lookup._page_ids): all plots covered (primary key, no test), few
# plots (spatial index), many (primary key by windows); the last two forced by moving the threshold.
@pytest.mark.parametrize(("bbox", "dense"), [
    (None, None), ("-180,-90,180,90", None), (",".join(map(str, BOX)), None), (",".join(map(str, BOX)), 0)],
    ids=["no box", "whole world", "box, spatial index", "box, windows of ids"])
def test_following_next_links_visits_every_plot_once(site, db_url, db_query, bbox, dense, monkeypatch):
    from geoland.review import lookup

    # Narrow windows: a read by windows shows as short pages, so the full pages below prove the other reads.
    monkeypatch.setattr(lookup, "WINDOW_PER_PAGE", 1)
    if dense is not None:
        monkeypatch.setattr(lookup, "DENSE_PLOTS", dense)
    app, headers = site
    query = "limit=37" + (f"&bbox={bbox}" if bbox else "")
    seen, pages = _walk(app.test_client(), headers, f"/ogc/collections/plots/items?{query}")
    expected = _expected(db_query, db_url, bbox)
    assert 0 < len(expected) and seen == expected
    assert pages >= len(expected) // 37 + 1
    if dense is None:
        assert pages == len(expected) // 37 + 1                   # full pages unless read by windows


def test_a_box_outside_vietnam_is_empty_not_an_error(site):
    app, headers = site
    body = app.test_client().get("/ogc/collections/plots/items?bbox=0,0,10,10", headers=headers).get_json()
    assert body["features"] == [] and "next" not in [link["rel"] for link in body["links"]]


@pytest.mark.parametrize("query", ["offset=49500", "after=-1", "after=abc", "after=１"])
def test_offsets_are_gone_and_cursors_are_checked(site, query):
    app, headers = site
    response = app.test_client().get(f"/ogc/collections/plots/items?{query}", headers=headers)
    assert response.status_code == 400


def test_a_query_past_the_statement_timeout_is_cancelled(db_url, monkeypatch):
    monkeypatch.setenv("GEOLAND_STATEMENT_TIMEOUT_S", "0.2")
    with connect(db_url) as conn:
        token = add_user(conn, "xem", "viewer", "mat-khau-123", with_token=True)
    app = create_app(db_url, secret_key="x")
    app.testing = False

    def slow(conn, commune=None):
        import sqlalchemy as sa

        conn.execute(sa.text("SELECT pg_sleep(3)"))
        return []

    monkeypatch.setattr("web.api.commune_counts", slow)
    response = app.test_client().get("/api/communes", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "longer than 0.2 s" in response.get_json()["message"]


def test_each_user_has_a_cap_on_heavy_requests(db_url):
    app = create_app(db_url, secret_key="x")
    with app.test_request_context():
        from flask import g

        g.user = {"username": "xem", "role": "viewer"}
        with heavy_request(), heavy_request():
            assert HEAVY_PER_USER == 2
            with pytest.raises(TooManyRequests) as refused, heavy_request():
                pass
            assert refused.value.status == 429
            g.user = {"username": "lan", "role": "viewer"}      # another user is not held back
            with heavy_request():
                pass
            g.user = {"username": "xem", "role": "viewer"}
        with heavy_request():                                  # slots come back when requests end
            pass


def test_the_server_keeps_threads_for_light_requests(site, db_url):
    """Server-wide, heavy requests beyond the cap (half the threads under `geoland serve`) are refused at
    once with 503 and a short Retry-After, while point look-ups still answer."""
    app = create_app(db_url, secret_key="x", heavy_requests=2)
    _, headers = site
    held = contextlib.ExitStack()
    with app.test_request_context():
        from flask import g

        for name in ("a", "b"):
            g.user = {"username": name, "role": "viewer"}
            held.enter_context(heavy_request())                # two users each hold one heavy request
    client = app.test_client()
    refused = client.get("/ogc/collections/plots/items?limit=5", headers=headers)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    assert "busy" in refused.get_json()["message"]
    assert client.get("/api/plots?lon=104&lat=21", headers=headers).status_code == 200
    held.close()
    assert client.get("/ogc/collections/plots/items?limit=5", headers=headers).status_code == 200
