"""Reading the audit trail: who saw which plot's personal data, when and from where; who changed what.

What inspectors under Decree 13/2023/NĐ-CP ask for. The trail itself is append-only (a trigger refuses
UPDATE, DELETE and TRUNCATE); this module only reads it, and masks anything shaped like an ID number in the
details it shows.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from identifiers.cccd import mask_id_numbers_in_text

MAX_ROWS = 100_000


def audit_events(conn: Connection, *, since: dt.date | None = None, user: str | None = None,
                 plot: int | None = None, action: str | None = None, limit: int = 1000) -> pd.DataFrame:
    """The audit events that match every filter given, newest first.

    Parameters
    ----------
    conn : Connection
        An open connection.
    since : date, optional
        Events on or after this day.
    user : str, optional
        Events of this actor.
    plot : int, optional
        Events about this plot (a plot's page or personal data, a finding of it).
    action : str, optional
        This action, or a prefix ending in ``.`` (``finding.`` for every review action).
    limit : int
        At most this many rows (and never more than :data:`MAX_ROWS`).

    Returns
    -------
    DataFrame
        ``id``, ``at``, ``actor``, ``action``, ``entity``, ``entity_id``, ``job_id``, ``detail`` (JSON text,
        ID numbers masked).
    """
    rows = conn.execute(sa.text("""
        SELECT id, at, actor, action, entity, entity_id, job_id, detail::text AS detail
        FROM geoland.audit_event
        WHERE (CAST(:since AS date) IS NULL OR at >= CAST(:since AS date))
          AND (CAST(:user AS text) IS NULL OR actor = :user)
          AND (CAST(:action AS text) IS NULL OR action = :action
               OR (right(:action, 1) = '.' AND starts_with(action, :action)))
          AND (CAST(:plot AS bigint) IS NULL OR (entity = 'plot' AND entity_id = CAST(:plot AS text))
               OR (detail ? 'plot_id' AND detail->>'plot_id' = CAST(:plot AS text)))
        ORDER BY id DESC LIMIT :n"""),
        {"since": since, "user": user, "action": action, "plot": plot,
         "n": min(limit, MAX_ROWS)}).mappings().all()
    frame = pd.DataFrame([dict(r) for r in rows],
                         columns=["id", "at", "actor", "action", "entity", "entity_id", "job_id", "detail"])
    frame["detail"] = [mask_id_numbers_in_text(d) for d in frame["detail"]]
    return frame


def describe(frame: pd.DataFrame) -> list[str]:
    """One line per event, for the terminal."""
    return [f"{r.at:%Y-%m-%d %H:%M:%S} {r.actor:<12} {r.action:<24} {r.entity or ''} {r.entity_id or ''} "
            f"{json.loads(r.detail) if r.detail not in ('{}', None) else ''}".rstrip()
            for r in frame.itertuples(index=False)]
