"""Commune officers correcting plots in the web app (issue 17), in Debian's chromium: a bad CCCD refused with
its reason as typed and on save, a good one closing the finding; a stale form on the conflict page; an
editor of another commune refused; the history with an admin's revert."""

import re
import threading

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from geoland.review.users import add_user
from geoland.rules.vocab import label
from geoland.store.db import connect
from web.app import create_app

PASSWORD = "mat-khau-123"
BAD, GOOD = "01409000123", "014090001234"        # 11 digits; Sơn La, a man born in 1990


@pytest.fixture(scope="module")
def site(module_cli, module_db, tmp_path_factory, helpers):
    helpers.write_and_load_province(module_cli, tmp_path_factory.mktemp("edit") / "p", "99", n_plots=600)
    for args in (("reassign",), ("codes", "issue"), ("check",)):
        assert module_cli(*args)[0] == 0
    q = lambda sql: helpers.query(module_db, sql)                               # noqa: E731
    commune, other = (r[0] for r in q("SELECT commune_code FROM geoland.plot_assignment_current GROUP BY 1 "
                                      "ORDER BY count(*) DESC, 1 LIMIT 2"))
    plots = [r[0] for r in q(f"""SELECT f.plot_id FROM geoland.finding f JOIN geoland.land_user u USING (plot_id)
        JOIN geoland.plot_assignment_current a USING (plot_id) WHERE a.commune_code = '{commune}'
        AND f.type = 'missing_id_number' AND f.closed_by IS NULL AND u.name IS NOT NULL ORDER BY 1 LIMIT 2""")]
    with connect(module_db) as conn:
        for name, role, communes in (("xa1", "editor", (commune,)), ("xa2", "editor", (commune,)),
                                     ("xa9", "editor", (other,)), ("quantri", "admin", ())):
            add_user(conn, name, role, PASSWORD, communes=communes)
    app = create_app(module_db, secret_key="test-secret")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "db": module_db, "plots": plots, "commune": commune,
           "query": q, "log_in": helpers.log_in}
    server.shutdown()


def _login(browser, site, name):
    return site["log_in"](browser, site["url"], name, PASSWORD)


def _open(site, plot_id, kind):
    return site["query"](f"SELECT count(*) FROM geoland.finding WHERE plot_id = {plot_id} AND type = '{kind}' "
                         "AND closed_by IS NULL")[0][0]


def test_an_editor_fixes_a_missing_cccd(browser, site, screenshot):
    plot = site["plots"][0]
    page = _login(browser, site, "xa1")
    page.goto(f"{site['url']}/plots/{plot}")
    assert page.locator("tr", has_text=label("missing_id_number")).count() == 1
    page.click("details.edit summary")
    page.fill("#f-birth_year", "1990")
    page.fill("#f-id_number", BAD)
    page.wait_for_function("document.getElementById('m-id_number').textContent.includes('12 chữ số')")
    assert page.get_attribute("#f-id_number", "aria-invalid") == "true"
    with page.expect_response(lambda r: r.url.endswith("/edit")) as saved:
        page.click("#edit-form button[type=submit]")
    assert saved.value.status == 422
    assert "12 chữ số" in page.inner_text("#m-id_number") and "Chưa lưu" in page.inner_text("main")
    assert _open(site, plot, "missing_id_number") == 1
    page.fill("#f-id_number", GOOD)
    page.wait_for_function("document.getElementById('m-id_number').textContent === ''")
    page.click("#edit-form button[type=submit]")
    page.wait_for_url(re.compile(r".*saved=1$"))
    assert "Đã lưu" in page.inner_text("main")
    assert page.locator("tr", has_text=label("missing_id_number")).count() == 0
    assert _open(site, plot, "missing_id_number") == 0
    history = page.inner_text("table.edits")
    assert GOOD not in history and "xa1" in history            # masked on the page: the officer typed it
    screenshot(page, "plot-edited")
    assert page.errors == []
    page.context.close()


def test_a_stale_form_gets_the_conflict_page(browser, site):
    plot = site["plots"][1]
    first, second = _login(browser, site, "xa1"), _login(browser, site, "xa2")
    for page in (first, second):
        page.goto(f"{site['url']}/plots/{plot}")
        page.click("details.edit summary")
    first.fill("#f-land_use", "ONT")
    first.click("#edit-form button[type=submit]")
    first.wait_for_url(re.compile(r".*saved=1$"))
    second.fill("#f-land_use", "CLN")
    with second.expect_response(lambda r: r.url.endswith("/edit")) as answer:
        second.click("#edit-form button[type=submit]")
    assert answer.value.status == 409
    text = second.inner_text("main")
    assert "Thửa đất đã được người khác sửa" in text
    row = second.inner_text("tr[data-field=land_use]")
    assert "CLN" in row and "ONT" in row
    assert site["query"](f"SELECT land_use FROM geoland.plot WHERE id = {plot}")[0][0] == "ONT"
    first.context.close()
    second.context.close()


def test_an_editor_of_another_commune_is_refused(browser, site):
    plot = site["plots"][0]
    code = site["query"](f"SELECT code FROM geoland.plot_code WHERE plot_id = {plot}")[0][0]
    page = _login(browser, site, "xa9")
    assert page.goto(f"{site['url']}/plots/{plot}").status == 403
    assert page.goto(f"{site['url']}/api/plots/{code}").status == 403
    assert page.goto(f"{site['url']}/communes/{site['commune']}").status == 403
    overview = page.goto(f"{site['url']}/")
    assert overview.status == 200 and f"/communes/{site['commune']}" not in page.content()
    page.context.close()


def test_an_admin_reverts_a_change_from_the_history(browser, site):
    plot = site["plots"][1]
    page = _login(browser, site, "quantri")
    page.goto(f"{site['url']}/plots/{plot}")
    edit = site["query"](f"SELECT max(id) FROM geoland.plot_edit WHERE plot_id = {plot} AND field = 'land_use'")[0][0]
    page.click(f"tr[data-edit='{edit}'] button")
    page.wait_for_url(re.compile(r".*saved=1$"))
    assert "đã hoàn tác" in page.inner_text("table.edits")
    with connect(site["db"]) as conn:
        source, reverts = conn.execute(sa.text("SELECT source, reverts FROM geoland.plot_edit WHERE plot_id = :p "
                                               "ORDER BY id DESC LIMIT 1"), {"p": plot}).one()
    assert (source, reverts) == ("revert", edit)
    page.context.close()


def test_a_commune_workbook_is_uploaded_through_the_page(browser, site, tmp_path):
    import openpyxl

    page = _login(browser, site, "xa1")
    page.goto(f"{site['url']}/communes/{site['commune']}")
    page.click("details.workbook summary")
    with page.expect_download() as download:
        page.click(f"a[href='/communes/{site['commune']}/corrections.xlsx?only=missing']")
    template = tmp_path / "so-bo-sung.xlsx"
    download.value.save_as(template)
    book = openpyxl.load_workbook(template)
    keys = [c.value for c in book["Danh muc"]["B"] if c.value is not None]
    rows = list(book["Bo sung thua dat"].iter_rows(min_row=2))
    target = rows[-1]
    plot = target[0].value
    target[keys.index("dispute_note")].value = "tranh chấp lối đi chung"
    bad = rows[0]
    area = bad[keys.index("legal_area_m2")].value
    bad[keys.index("legal_area_m2")].value = "abc"
    book.save(template)
    page.goto(f"{site['url']}/communes/{site['commune']}")
    page.click("details.workbook summary")
    page.set_input_files("#workbook", str(template))
    with page.expect_response(lambda r: r.url.endswith("/corrections")) as answer:
        page.click("form.upload button[type=submit]")
    assert answer.value.status == 422
    row = page.inner_text(f"table.problems tr[data-row='{bad[0].row}']")
    assert "không phải số" in row and openpyxl.utils.get_column_letter(keys.index("legal_area_m2") + 1) in row
    assert site["query"](f"SELECT dispute_note FROM geoland.plot WHERE id = {plot}")[0][0] is None
    bad[keys.index("legal_area_m2")].value = area                     # as it was: unchanged
    book.save(template)
    page.goto(f"{site['url']}/communes/{site['commune']}")
    page.click("details.workbook summary")
    page.set_input_files("#workbook", str(template))
    page.click("form.upload button[type=submit]")
    assert "Đã áp dụng" in page.inner_text("main") and "1 (1" in page.inner_text("table.attrs")
    assert site["query"](f"SELECT dispute_note FROM geoland.plot WHERE id = {plot}")[0][0] == "tranh chấp lối đi chung"
    assert site["query"](f"SELECT source FROM geoland.plot_edit WHERE plot_id = {plot} ORDER BY id DESC")[0][0] \
        == "workbook"
    page.context.close()


def test_the_progress_page_shows_the_checks_and_the_corrections(browser, site):
    page = _login(browser, site, "xa1")
    answer = page.goto(f"{site['url']}/progress")
    assert answer.status == 200 and page.locator("svg.progress-chart polyline").count() == 3
    runs = page.locator("table.runs tr[data-job]")
    assert runs.count() == 1                                    # the module's one check, the editor's commune
    plots = int(runs.first.locator("td").nth(2).inner_text().replace(",", ""))
    assert plots == site["query"](f"SELECT count(*) FROM geoland.plot_assignment_current "
                                  f"WHERE commune_code = '{site['commune']}'")[0][0]
    assert "xa1" in page.inner_text("table.corrections")
    assert page.locator("table.communes a").all_inner_texts() == [site["commune"]]
    page.context.close()


def test_co_holders_shares_in_the_browser(browser, site):
    plot = site["plots"][0]
    with connect(site["db"]) as conn:
        first, certificate = conn.execute(sa.text("SELECT id, certificate_id FROM geoland.land_right "
                                                  "WHERE plot_id = :p ORDER BY id LIMIT 1"), {"p": plot}).one()
        party = conn.execute(sa.text("INSERT INTO geoland.party (kind) VALUES ('individual') RETURNING id")).scalar()
        second = conn.execute(sa.text("""INSERT INTO geoland.land_right (party_id, plot_id, role, certificate_id,
            province_code) SELECT :y, :p, 'co_user', :c,
            (SELECT coalesce(province_code, '') FROM geoland.plot WHERE id = :p) RETURNING id"""),
            {"y": party, "p": plot, "c": certificate}).scalar()
    page = _login(browser, site, "xa1")
    page.goto(f"{site['url']}/plots/{plot}")
    page.click("details.edit summary")
    page.fill(f"[id='f-share:{first}']", "một nửa")                # judged as typed, like the plot's fields
    page.wait_for_function(f"document.getElementById('m-share:{first}').textContent.includes('1/2, 0,5')")
    page.fill(f"[id='f-share:{first}']", "2/3")
    page.fill(f"[id='f-share:{second}']", "1/2")
    with page.expect_response(lambda r: r.url.endswith("/shares")) as answer:
        page.click("form.shares button[type=submit]")
    assert answer.value.status == 422 and "phải bằng 1" in page.inner_text(f"[id='m-share:{second}']")
    page.fill(f"[id='f-share:{first}']", "1/2")
    page.click("form.shares button[type=submit]")
    page.wait_for_url(re.compile(r".*saved=1$"))
    assert site["query"](f"SELECT share_num, share_den FROM geoland.land_right WHERE id = {second}")[0] == (1, 2)
    page.context.close()


def test_a_holders_part_left_masked_is_unchanged(browser, site):
    plot = site["plots"][1]
    party, name = site["query"](f"SELECT party_id, name FROM geoland.land_user WHERE plot_id = {plot}")[0]
    page = _login(browser, site, "xa1")
    page.goto(f"{site['url']}/plots/{plot}")
    page.click("details.edit summary")
    assert page.input_value(f"[id='f-holder:{party}:holder_name']") == ""          # masked: shown as a placeholder
    page.fill(f"[id='f-holder:{party}:birth_year']", "1991")
    page.click("form.holders button[type=submit]")
    page.wait_for_url(re.compile(r".*saved=1$"))
    after = site["query"](f"SELECT name, birth_year FROM geoland.land_user WHERE plot_id = {plot}")[0]
    assert after == (name, 1991)
    page.context.close()
