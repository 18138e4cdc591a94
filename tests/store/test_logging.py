"""Logs: batch jobs and the web app write module-level log records (job start and end with counts, request
errors), and no record ever carries a land user's name or ID number."""

import logging

import pytest

from geoland.logs import MaskIdNumbers, get_logger
from geoland.review.users import add_user
from geoland.store.db import connect
from web.app import create_app


def _record(message, *args):
    return logging.LogRecord("geoland.test", logging.INFO, __file__, 1, message, args, None)


@pytest.mark.parametrize(("message", "args", "hidden"), [
    ("user %s", ("014093001234",), "014093001234"),
    ("CMND 123456789 in a message", (), "123456789"),
])
def test_id_number_shapes_are_masked(message, args, hidden):
    record = _record(message, *args)
    MaskIdNumbers().filter(record)
    assert hidden not in record.getMessage() and "***" in record.getMessage()


def test_other_numbers_are_kept():
    record = _record("job %d wrote %d rows in commune %s", 12, 1_000_000, "03646")
    MaskIdNumbers().filter(record)
    assert record.getMessage() == "job 12 wrote 1000000 rows in commune 03646"
    assert any(isinstance(f, MaskIdNumbers) for f in get_logger("geoland.anything").filters)


def test_no_name_or_id_number_reaches_a_log_record(db_url, load_province, geoland_cli, db_query, caplog):
    caplog.set_level(logging.DEBUG)
    load_province("99", n_plots=600)
    for args in (("reassign",), ("codes", "issue"), ("check",), ("recode", "--policy", "prefix")):
        code, _, err = geoland_cli(*args)
        assert code == 0, err
    with connect(db_url) as conn:
        add_user(conn, "admin", "admin", "mat-khau-123", with_token=True)
    app = create_app(db_url, secret_key="test")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/login", data={"username": "admin", "password": "mat-khau-123",
                                       "csrf_token": csrf}).status_code == 302
    plot_id, _, number = db_query(db_url, "SELECT plot_id, name, id_number FROM geoland.land_user "
                                             "WHERE name IS NOT NULL AND id_number IS NOT NULL LIMIT 1")[0]
    assert client.get(f"/plots/{plot_id}?people=1").status_code == 200          # clear data, audited and logged
    assert number in client.get(f"/plots/{plot_id}?people=1").get_data(as_text=True)
    assert client.get(f"/api/plots/{number}").status_code in (400, 404)          # a CCCD typed as a code
    assert client.get("/plots/999999999").status_code == 404
    messages = [r.getMessage() for r in caplog.records]
    assert any("plots.import started" in m for m in messages)
    assert any(m.startswith("job ") and " check finished: " in m and '"findings"' in m for m in messages)
    assert any(f"personal data of plot {plot_id}" in m for m in messages)
    assert any(m == "GET /api/plots/<code> → 404 NotFound" for m in messages)       # the route, not the path
    people = db_query(db_url, "SELECT name, id_number FROM geoland.land_user")
    names = {n for n, _ in people if n and len(n) > 4}
    numbers = {i for _, i in people if i and len(i) >= 9}
    assert names and numbers
    text = "\n".join(messages)
    assert not [n for n in names if n in text]
    assert not [i for i in numbers if i in text]
