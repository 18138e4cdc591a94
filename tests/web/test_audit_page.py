"""The administrator's audit page (issue 14, defect 9, the page; user story 5): the filters of `geoland audit`
in the URL, a page at a time with a link to the older events, ID numbers masked, administrators only."""

import re

import pytest
import sqlalchemy as sa

from geoland.review.lookup import record_personal_view
from geoland.review.users import add_user
from geoland.store.db import connect, sqlalchemy_url
from web.app import create_app

from .test_sessions import PASSWORD, login


@pytest.fixture
def app(db_url, load_province):
    load_province("99", n_plots=100)
    with connect(db_url) as conn:
        add_user(conn, "admin", "admin", PASSWORD)
        add_user(conn, "lan", "reviewer", PASSWORD)
        for plot in range(1, 251):
            record_personal_view(conn, plot, actor="admin", path=f"/plots/{plot}", reason="CCCD 014090001234")
    app = create_app(db_url, secret_key="test-secret")
    app.testing = False
    return app


def _rows(html):
    return [int(n) for n in re.findall(r'<tr><td class="n">(\d+)</td>', html)]


def test_pages_through_the_whole_trail_newest_first(app):
    client = app.test_client()
    login(client, "admin")
    url, seen = "/admin/audit?action=personal_data.viewed", []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        rows = _rows(html)
        assert 0 < len(rows) <= 100
        seen += rows
        assert "014090001234" not in html and "014******234" in html
        nxt = re.search(r'<a href="([^"]+)" rel="next">', html)
        url = nxt[1].replace("&amp;", "&") if nxt else None
        if url:
            assert "action=personal_data.viewed" in url                         # the filter stays in the link
    assert len(seen) == 250 and seen == sorted(seen, reverse=True) and len(set(seen)) == 250


@pytest.mark.parametrize(("query", "plots", "rows"), [
    ("plot=7", {"Thửa đất 7"}, 1),
    ("user=lan", set(), 0),
    ("action=user.", set(), 3),                        # two users added, one login
    ("since=2999-01-01", set(), 0),
])
def test_filters(app, query, plots, rows):
    client = app.test_client()
    login(client, "admin")
    html = client.get(f"/admin/audit?{query}").get_data(as_text=True)
    assert set(re.findall(r'<a href="/plots/\d+">([^<]+)</a>', html)) == plots
    assert len(_rows(html)) == rows
    assert ("Không có sự kiện nào." in html) == (rows == 0)


def test_user_changes_are_listed(app):
    client = app.test_client()
    login(client, "admin")
    html = client.get("/admin/audit?action=user.").get_data(as_text=True)
    assert html.count("user.added") == 2


@pytest.mark.parametrize("query", ["plot=abc", "plot=%C2%B2", "since=03-12-2026", "user=" + "x" * 65,
                                   "before=-1", "limit=5"])
def test_bad_parameters_are_400(app, query):
    client = app.test_client()
    login(client, "admin")
    assert client.get(f"/admin/audit?{query}").status_code == 400


def test_only_administrators(app):
    client = app.test_client()
    login(client, "lan")
    assert client.get("/admin/audit").status_code == 403
    assert app.test_client().get("/admin/audit").status_code == 302            # to the login page


def test_a_purge_shows_in_the_trail(app, db_url, geoland_cli):
    engine = sa.create_engine(sqlalchemy_url(db_url))
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO geoland.audit_event (at, actor, action) "
                             "VALUES (now() - interval '3000 days', 'admin', 'personal_data.viewed')"))
    engine.dispose()
    assert geoland_cli("db", "purge-audit")[0] == 0
    client = app.test_client()
    login(client, "admin")
    html = client.get("/admin/audit?action=audit.purged").get_data(as_text=True)
    assert "audit.purged" in html and '&#34;purged&#34;: 1' in html
