"""`geoland audit` (issue 14, defect 9, the command): the views of personal data, the review actions and the
user changes can be read back, filtered, as text, JSON and CSV, with ID numbers masked."""

import json

import pandas as pd
import pytest
import sqlalchemy as sa

from geoland.review.lookup import record_personal_view
from geoland.review.users import add_user, disable_user
from geoland.store.db import connect, sqlalchemy_url


@pytest.fixture
def events(db_url, load_province, geoland_cli):
    load_province("99", n_plots=200)
    with connect(db_url) as conn:
        add_user(conn, "admin", "admin", "mat-khau-123")
        add_user(conn, "lan", "reviewer", "mat-khau-123")
        record_personal_view(conn, 7, actor="admin", path="/plots/7", reason="hồ sơ 014090001234")
        record_personal_view(conn, 8, actor="admin", path="/plots/8")
        disable_user(conn, "lan")
    return db_url


def test_who_saw_which_plots_personal_data(events, geoland_cli):
    code, out, err = geoland_cli("audit", "--action", "personal_data.viewed", "--json")
    assert code == 0, err
    rows = json.loads(out)["events"]
    assert [(r["actor"], r["entity_id"]) for r in rows] == [("admin", "8"), ("admin", "7")]     # newest first
    assert "014090001234" not in out and "014******234" in out                   # an ID number typed as reason


@pytest.mark.parametrize(("args", "actions"), [
    (("--plot", "7"), {"personal_data.viewed"}),
    (("--user", "lan"), set()),
    (("--action", "user."), {"user.added", "user.disabled"}),
])
def test_filters(events, geoland_cli, args, actions):
    code, out, err = geoland_cli("audit", *args, "--json")
    assert code == 0, err
    assert {r["action"] for r in json.loads(out)["events"]} == actions


def test_csv_and_text(events, geoland_cli, tmp_path):
    code, out, err = geoland_cli("audit", "--since", "2020-01-01", "--csv", tmp_path / "audit.csv")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "audit.csv", dtype=str)
    assert {"at", "actor", "action", "entity", "entity_id", "detail"} <= set(table.columns)
    assert "personal_data.viewed" in set(table["action"]) and "014090001234" not in out
    assert out.strip().endswith(f"{len(table):,} events → {tmp_path / 'audit.csv'}")


def _old_events(url, n, days_ago):
    engine = sa.create_engine(sqlalchemy_url(url))
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO geoland.audit_event (at, actor, action, entity, entity_id) "
                             "SELECT now() - make_interval(days => :d), 'admin', 'personal_data.viewed', 'plot', "
                             "g::text FROM generate_series(1, :n) g"), {"d": days_ago, "n": n})
    engine.dispose()


def test_purge_keeps_the_retention_period_and_records_itself(events, geoland_cli, db_query, monkeypatch):
    _old_events(events, 40, days_ago=400)
    _old_events(events, 5, days_ago=200)
    before = db_query(events, "SELECT count(*) FROM geoland.audit_event")[0][0]
    code, out, err = geoland_cli("db", "purge-audit", "--days", "365", "--dry-run", "--json")
    assert code == 0, err
    assert json.loads(out)["would_purge"] == 40
    assert db_query(events, "SELECT count(*) FROM geoland.audit_event")[0][0] == before       # nothing deleted
    monkeypatch.setenv("GEOLAND_AUDIT_RETENTION_DAYS", "365")
    code, out, err = geoland_cli("db", "purge-audit")
    assert code == 0, err
    assert "40 audit events older than" in out and "(365 days) purged" in out
    left = db_query(events, "SELECT action, detail->>'purged' FROM geoland.audit_event "
                            "WHERE at < now() - interval '300 days' OR action = 'audit.purged'")
    assert left == [("audit.purged", "40")]                                          # the purge is on record
    assert db_query(events, "SELECT count(*) FROM geoland.audit_event")[0][0] == before - 40 + 1


@pytest.mark.parametrize("statement", [
    "DELETE FROM geoland.audit_event",                                               # old rows, no purge cut-off
    "UPDATE geoland.audit_event SET actor = 'x'",
    "TRUNCATE geoland.audit_event",
    "SELECT set_config('geoland.audit_purge_before', '2000-01-01', true); "
    "DELETE FROM geoland.audit_event WHERE at > now() - interval '1 day'",          # a recent row, whatever is set
])
def test_the_trail_stays_append_only_outside_a_purge(events, statement):
    _old_events(events, 3, days_ago=4000)
    engine = sa.create_engine(sqlalchemy_url(events))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        for part in statement.split("; "):
            conn.execute(sa.text(part))
    engine.dispose()


@pytest.mark.parametrize("days", ["10", "abc", "45.5"])
def test_a_retention_below_the_minimum_is_refused(events, geoland_cli, monkeypatch, days):
    monkeypatch.setenv("GEOLAND_AUDIT_RETENTION_DAYS", days)
    code, _, err = geoland_cli("db", "purge-audit")
    assert code != 0 and "GEOLAND_AUDIT_RETENTION_DAYS" in err
