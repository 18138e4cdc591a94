"""The findings of a commune as reviewers see and work them.

The findings of a commune as reviewers see and work them: counts per commune, the filtered list, the
review actions (assign, resolve, not a problem, reopen, comment) with their audit events, and the comments.

Every function takes the caller's connection and does not commit: the web app commits once per request,
so that an action, its comment and its audit event land together or not at all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geoland.errors import InvalidInput, NotFound
from geoland.pipeline.assignments import latest_effective
from geoland.rules.vocab import FINDING_TYPES, GROUPS
from geoland.store.jobs import audit

STATES = ("open", "assigned", "resolved", "not_a_problem")
ACTIONS = ("assign", "resolved", "not_a_problem", "reopen", "comment")
BULK_ACTIONS = ("assign", "resolved", "not_a_problem", "reopen")
BULK_MAX = 500
MAX_NOTE = 4000


def commune_counts(conn: Connection, commune: str | None = None) -> list[dict]:
    """Per new commune (or only ``commune``): plots, plots with missing data, in conflict, open findings.

    Parameters
    ----------
    conn : Connection
        An open connection.
    commune : str, optional
        A 5-digit new commune code; all communes with assigned plots when None.

    Returns
    -------
    list of dict
        ``commune_code``, ``name``, ``plots``, ``missing``, ``conflict``, ``open_findings``, by code; empty
        before the first reassignment.
    """
    effective = latest_effective(conn)
    if effective is None:
        return []
    rows = conn.execute(sa.text("""
        WITH a AS (SELECT plot_id, commune_code FROM geoland.plot_assignment_current
                   WHERE effective = :e AND commune_code IS NOT NULL
                     AND (CAST(:c AS text) IS NULL OR commune_code = :c)),
             f AS (SELECT f.plot_id, bool_or(f.category = 'missing') AS missing,
                          bool_or(f.category = 'conflict') AS conflict,
                          count(*) FILTER (WHERE f.review_state IN ('open', 'assigned')) AS open
                   FROM geoland.finding_current f JOIN a USING (plot_id) GROUP BY f.plot_id)
        SELECT a.commune_code, count(*) AS plots, count(*) FILTER (WHERE f.missing) AS missing,
               count(*) FILTER (WHERE f.conflict) AS conflict, coalesce(sum(f.open), 0) AS open_findings,
               (SELECT u.name FROM geoland.admin_unit u WHERE u.level = 'commune' AND u.code = a.commune_code
                  AND coalesce(u.valid_from, '-infinity') <= :e AND coalesce(u.valid_to, 'infinity') > :e
                LIMIT 1) AS name
        FROM a LEFT JOIN f USING (plot_id) GROUP BY a.commune_code ORDER BY a.commune_code"""),
        {"e": effective, "c": commune}).mappings().all()
    return [dict(r) | {"open_findings": int(r["open_findings"])} for r in rows]


def commune_summary(conn: Connection, commune: str) -> dict:
    """One new commune's header: its name, plots, plots with missing data, in conflict, and its finding types.

    One pass over the commune's findings (the commune page's header and filter; :func:`commune_counts` is the
    province's table).
    """
    effective = latest_effective(conn)
    row = conn.execute(sa.text("""
        WITH a AS (SELECT plot_id FROM geoland.plot_assignment_current WHERE effective = :e AND commune_code = :c),
             f AS (SELECT f.plot_id, f.type, f.category FROM geoland.finding_current f JOIN a USING (plot_id))
        SELECT (SELECT count(*) FROM a) AS plots,
               (SELECT count(DISTINCT plot_id) FROM f WHERE category = 'missing') AS missing,
               (SELECT count(DISTINCT plot_id) FROM f WHERE category = 'conflict') AS conflict,
               (SELECT array_agg(DISTINCT type) FROM f) AS types,
               (SELECT u.name FROM geoland.admin_unit u WHERE u.level = 'commune' AND u.code = :c
                  AND coalesce(u.valid_from, '-infinity') <= :e AND coalesce(u.valid_to, 'infinity') > :e
                LIMIT 1) AS name"""), {"e": effective, "c": commune}).mappings().one()
    if not row["plots"]:
        raise NotFound(f"no plots assigned to commune {commune}: check the code (`geoland units lookup`) or run "
                       "`geoland reassign`")
    return dict(row) | {"commune": commune, "types": sorted(row["types"] or [])}


def check_filters(kind: str | None, category: str | None, state: str | None) -> None:
    """Refuse an unknown finding type, group or review state (:class:`InvalidInput`)."""
    for name, value, allowed in (("type", kind, FINDING_TYPES), ("category", category, GROUPS),
                                 ("state", state, STATES)):
        if value is not None and value not in allowed:
            raise InvalidInput(f"parameter {name} must be one of {sorted(allowed)}")


SORTS = {"category": "f.category", "type": "f.type", "plot": "f.plot_id", "state": "f.review_state",
         "severity": "f.severity", "assigned": "f.assigned_to", "reviewed": "f.reviewed_at"}


def commune_findings(conn: Connection, commune: str, *, kind: str | None = None, category: str | None = None,
                     state: str | None = None, limit: int = 500, offset: int = 0, sort: str = "category",
                     descending: bool = False) -> tuple[list[dict], int]:
    """The current findings of a new commune's plots, filtered, in a stable order, one page of them.

    Parameters
    ----------
    conn : Connection
        An open connection.
    commune : str
        5-digit new commune code.
    kind, category, state : str, optional
        Only this finding type, group (``missing``/``conflict``) or review state.
    limit, offset : int
        The page.
    sort : str
        A key of :data:`SORTS`; ties in the default order (group, type, plot), then by id, so that every page
        is stable and a finding is on exactly one page.
    descending : bool
        The sort key in descending order.

    Returns
    -------
    (list of dict, int)
        The page's findings (with their plot's identification code and comment count) and the total
        number matching the filters.
    """
    check_filters(kind, category, state)
    if sort not in SORTS:
        raise InvalidInput(f"parameter sort must be one of {sorted(SORTS)}")
    order = f"{SORTS[sort]} {'DESC' if descending else 'ASC'} NULLS LAST, f.category, f.type, f.plot_id, f.id"
    effective = latest_effective(conn)
    params = {"e": effective, "c": commune, "t": kind, "k": category, "s": state, "n": limit, "o": offset}
    where = """FROM geoland.finding_current f JOIN geoland.plot_assignment_current a USING (plot_id)
               LEFT JOIN geoland.plot_code pc ON pc.plot_id = f.plot_id
               WHERE a.effective = :e AND a.commune_code = :c AND (CAST(:t AS text) IS NULL OR f.type = :t)
                 AND (CAST(:k AS text) IS NULL OR f.category = :k)
                 AND (CAST(:s AS text) IS NULL OR f.review_state = :s)"""
    total = conn.execute(sa.text(f"SELECT count(*) {where}"), params).scalar()
    rows = conn.execute(sa.text(f"""
        SELECT f.id, f.plot_id, pc.code, f.type, f.category, f.severity, f.value, f.tolerance, f.review_state,
               f.assigned_to, f.reviewed_by, f.reviewed_at,
               (SELECT count(*) FROM geoland.finding_comment m WHERE m.finding_id = f.id) AS comments
        {where} ORDER BY {order} LIMIT :n OFFSET :o"""), params).mappings().all()
    return [dict(r) for r in rows], int(total)


def plot_findings(conn: Connection, plot_id: int) -> list[dict]:
    """The current findings of one plot."""
    return [dict(r) for r in conn.execute(sa.text("""
        SELECT id, type, category, severity, value, tolerance, review_state, assigned_to, reviewed_by, reviewed_at
        FROM geoland.finding_current WHERE plot_id = :i ORDER BY type, id"""), {"i": plot_id}).mappings()]


def reviewers(conn: Connection) -> list[str]:
    """The users a finding can be assigned to: reviewers and admins that are not disabled."""
    return list(conn.execute(sa.text(
        "SELECT username FROM geoland.app_user WHERE role IN ('reviewer', 'admin') AND NOT disabled "
        "ORDER BY 1")).scalars())


def plot_comments(conn: Connection, plot_id: int) -> list[dict]:
    """The comments on the findings of one plot, oldest first."""
    return [dict(r) for r in conn.execute(sa.text("""
        SELECT m.finding_id, m.author, m.at, m.body FROM geoland.finding_comment m
        JOIN geoland.finding f ON f.id = m.finding_id WHERE f.plot_id = :i ORDER BY m.at"""),
        {"i": plot_id}).mappings()]


@dataclass(frozen=True)
class ReviewResult:
    """What a review action did."""

    finding_id: int
    plot_id: int
    action: str
    before: dict
    after: dict
    commented: bool

    def as_dict(self) -> dict:
        """The result as JSON-ready values."""
        return asdict(self)


def review_finding(conn: Connection, finding_id: int, action: str, *, actor: str, note: str = "",
                   assignee: str | None = None) -> ReviewResult:
    """Apply one review action to a finding, store the comment and write the audit event.

    Parameters
    ----------
    conn : Connection
        The caller's transaction (not committed here).
    finding_id : int
        The finding (its current row).
    action : str
        ``assign`` (to ``assignee``), ``resolved``, ``not_a_problem``, ``reopen`` or ``comment``.
    actor : str
        The reviewer's user name (recorded as ``reviewed_by``, the comment's author and the audit actor).
    note : str
        A comment; required for ``comment``, optional otherwise (kept as the review note too).
    assignee : str, optional
        For ``assign``: an active user.

    Returns
    -------
    ReviewResult

    Raises
    ------
    NotFound
        No current finding has that id.
    InvalidInput
        Unknown action, empty comment, unknown assignee.
    """
    if action not in ACTIONS:
        raise InvalidInput(f"unknown action {action!r}: one of {list(ACTIONS)}")
    note = (note or "").strip()[:MAX_NOTE]
    before = conn.execute(sa.text(
        "SELECT plot_id, review_state, assigned_to, review_note FROM geoland.finding_current "
        "WHERE id = :i FOR UPDATE"), {"i": finding_id}).mappings().first()
    if before is None:
        raise NotFound(f"no open finding {finding_id}")
    changes: dict = {}
    if action == "assign":
        who = (assignee or "").strip()
        if not conn.execute(sa.text("SELECT 1 FROM geoland.app_user WHERE username = :u AND NOT disabled "
                                    "AND role IN ('reviewer', 'admin')"), {"u": who}).first():
            raise InvalidInput(f"no reviewer {who!r}: a finding is assigned to an active reviewer or admin")
        changes = {"review_state": "assigned", "assigned_to": who}
    elif action in ("resolved", "not_a_problem"):
        changes = {"review_state": action}
    elif action == "reopen":
        changes = {"review_state": "open"}
    elif not note:
        raise InvalidInput("a comment cannot be empty")
    if changes:
        changes |= {"review_note": note or before["review_note"]}
        sets = ", ".join(f"{k} = :{k}" for k in changes)
        conn.execute(sa.text(f"UPDATE geoland.finding SET {sets}, reviewed_by = :by, "
                             "reviewed_at = clock_timestamp() WHERE id = :i"),
                     {**changes, "by": actor, "i": finding_id})
    if note:
        conn.execute(sa.text("INSERT INTO geoland.finding_comment (finding_id, author, body) VALUES (:i, :a, :b)"),
                     {"i": finding_id, "a": actor, "b": note})
    kept = ("review_state", "assigned_to")
    result = ReviewResult(finding_id, before["plot_id"], action, {k: before[k] for k in kept},
                          {k: changes.get(k, before[k]) for k in kept}, bool(note))
    audit(conn, None, f"finding.{action}", entity="finding", entity_id=finding_id, actor=actor,
          detail={"before": result.before, "after": result.after, "comment": result.commented,
                  "plot_id": result.plot_id})
    return result


def review_findings(conn: Connection, commune: str, finding_ids: list[int], action: str, *, actor: str,
                    note: str = "", assignee: str | None = None) -> list[ReviewResult]:
    """One review action on a selection of a commune's findings (the commune page's bulk actions).

    Each finding gets the action and its own audit event, as :func:`review_finding` does, and one
    ``finding.bulk`` event names the selection; all in the caller's transaction, so that the whole selection
    changes or none of it.

    Raises
    ------
    InvalidInput
        Unknown bulk action, no finding, more than :data:`BULK_MAX`.
    NotFound
        A finding that is not a current finding of ``commune`` (named).
    """
    if action not in BULK_ACTIONS:
        raise InvalidInput(f"unknown bulk action {action!r}: one of {list(BULK_ACTIONS)}")
    ids = sorted(set(finding_ids))
    if not ids:
        raise InvalidInput("select at least one finding")
    if len(ids) > BULK_MAX:
        raise InvalidInput(f"{len(ids)} findings selected: at most {BULK_MAX} at a time")
    effective = latest_effective(conn)
    found = set(conn.execute(sa.text("""
        SELECT f.id FROM geoland.finding_current f JOIN geoland.plot_assignment_current a USING (plot_id)
        WHERE f.id = ANY(:ids) AND a.effective = :e AND a.commune_code = :c"""),
        {"ids": ids, "e": effective, "c": commune}).scalars())
    stray = [i for i in ids if i not in found]
    if stray:
        raise NotFound(f"finding {stray[0]} is not an open finding of commune {commune}"
                       + (f" ({len(stray)} such)" if len(stray) > 1 else ""))
    results = [review_finding(conn, i, action, actor=actor, note=note, assignee=assignee) for i in ids]
    audit(conn, None, "finding.bulk", entity="commune", entity_id=commune, actor=actor,
          detail={"commune": commune, "action": action, "findings": len(ids), "assignee": assignee,
                  "first": ids[0], "last": ids[-1]})
    return results
