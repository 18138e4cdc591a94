"""The finding review actions as geoland functions (assign, resolve, not a problem, reopen, comment): state
changes, comments and audit events in the caller's transaction, and typed errors for bad requests."""

import pytest
import sqlalchemy as sa

from geoland.errors import InvalidInput, NotFound
from geoland.review.findings import (
    commune_counts,
    commune_findings,
    plot_comments,
    review_finding,
    reviewers,
)
from geoland.review.users import add_user
from geoland.store.db import connect


@pytest.fixture
def checked(db_url, load_province, geoland_cli):
    load_province("99", n_plots=800)
    for args in (("reassign",), ("check",)):
        code, _, err = geoland_cli(*args)
        assert code == 0, err
    with connect(db_url) as conn:
        add_user(conn, "lan", "reviewer", "mat-khau-123")
        add_user(conn, "xem", "viewer", "mat-khau-123")
        commune = commune_counts(conn)[0]["commune_code"]
        first = commune_findings(conn, commune, limit=1)[0][0]
    return {"commune": commune, "finding": first}


def _events(conn, finding_id):
    return conn.execute(sa.text("SELECT actor, action, detail FROM geoland.audit_event WHERE entity = 'finding' "
                                "AND entity_id = :i ORDER BY id"), {"i": str(finding_id)}).all()


def test_a_finding_goes_through_its_review_states(db_url, checked):
    finding = checked["finding"]["id"]
    with connect(db_url) as conn:
        assert reviewers(conn) == ["lan"]           # viewers cannot be assigned
        steps = [("assign", {"assignee": "lan"}, "assigned", "lan"),
                 ("comment", {"note": "  đã kiểm tra ngoài thực địa  "}, "assigned", "lan"),
                 ("resolved", {}, "resolved", "lan"),
                 ("reopen", {"note": "chưa đúng"}, "open", "lan"),
                 ("not_a_problem", {}, "not_a_problem", "lan")]
        for action, options, state, assigned in steps:
            done = review_finding(conn, finding, action, actor="lan", **options)
            assert done.after == {"review_state": state, "assigned_to": assigned}
            row = conn.execute(sa.text("SELECT review_state, assigned_to, reviewed_by FROM geoland.finding_current "
                                       "WHERE id = :i"), {"i": finding}).one()
            assert tuple(row) == (state, assigned, "lan")
        events = _events(conn, finding)
        assert [e.action for e in events] == [f"finding.{a}" for a, *_ in steps]
        assert {e.actor for e in events} == {"lan"}
        assert events[2].detail["before"]["review_state"] == "assigned"
        comments = plot_comments(conn, done.plot_id)
        assert [c["body"] for c in comments] == ["đã kiểm tra ngoài thực địa", "chưa đúng"]
        assert done.as_dict()["plot_id"] == checked["finding"]["plot_id"]


@pytest.mark.parametrize(("action", "options", "error", "words"), [
    ("delete", {}, InvalidInput, "unknown action"),
    ("comment", {"note": "   "}, InvalidInput, "cannot be empty"),
    ("assign", {"assignee": "nobody"}, InvalidInput, "no reviewer 'nobody'"),
    ("assign", {"assignee": "xem"}, InvalidInput, "no reviewer 'xem'"),         # a viewer cannot be assigned
])
def test_bad_review_requests_change_nothing(db_url, checked, action, options, error, words):
    finding = checked["finding"]["id"]
    with connect(db_url) as conn:
        with pytest.raises(error, match=words) as raised:
            review_finding(conn, finding, action, actor="lan", **options)
        assert raised.value.status == 400
        assert _events(conn, finding) == []
        state = conn.execute(sa.text("SELECT review_state FROM geoland.finding_current WHERE id = :i"),
                             {"i": finding}).scalar()
        assert state == "open"


def test_an_unknown_finding_is_not_found(db_url, checked):
    with connect(db_url) as conn, pytest.raises(NotFound) as raised:
        review_finding(conn, 10**9, "resolved", actor="lan")
    assert raised.value.status == 404


def test_filters_are_checked_by_type(db_url, checked):
    with connect(db_url) as conn:
        with pytest.raises(InvalidInput, match="parameter state"):
            commune_findings(conn, checked["commune"], state="closed")
        rows, total = commune_findings(conn, checked["commune"], category="missing", limit=5)
        assert len(rows) <= 5 and total >= len(rows) and {r["category"] for r in rows} <= {"missing"}
