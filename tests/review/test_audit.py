"""`geoland audit` (issue 14, defect 9, the command): the views of personal data, the review actions and the
user changes can be read back, filtered, as text, JSON and CSV, with ID numbers masked."""

import json

import pandas as pd
import pytest

from geoland.review.lookup import record_personal_view
from geoland.review.users import add_user, disable_user
from geoland.store.db import connect


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
