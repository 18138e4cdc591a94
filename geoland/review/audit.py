"""Reading the audit trail: who saw which plot's personal data, when and from where; who changed what.

What inspectors under Decree 13/2023/NĐ-CP ask for. The trail itself is append-only (a trigger refuses
UPDATE, TRUNCATE and DELETE); this module reads it, masking anything shaped like an ID number in the details
it shows, and purges what is older than the retention period (:func:`purge`, the one DELETE the trigger lets
through, itself recorded).
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geoland import config
from geoland.errors import ConfigError
from geoland.store.jobs import audit
from identifiers.cccd import mask_id_numbers_in_text

MAX_ROWS = 100_000
RETENTION_DAYS = 1826          # five years, unless GEOLAND_AUDIT_RETENTION_DAYS says otherwise
MIN_RETENTION_DAYS = 30


def audit_events(conn: Connection, *, since: dt.date | None = None, user: str | None = None,
                 plot: int | None = None, action: str | None = None, limit: int = 1000,
                 before: int | None = None) -> pd.DataFrame:
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
    before : int, optional
        Only events with a smaller id: the next page after the last event of the previous one (keyset).

    Returns
    -------
    DataFrame
        ``id``, ``at``, ``actor``, ``action``, ``entity``, ``entity_id``, ``job_id``, ``detail`` (JSON text,
        ID numbers masked).
    """
    rows = conn.execute(sa.text("""
        SELECT id, at, actor, action, entity, entity_id, job_id, detail::text AS detail
        FROM geoland.audit_event
        WHERE (CAST(:before AS bigint) IS NULL OR id < :before)
          AND (CAST(:since AS date) IS NULL OR at >= CAST(:since AS date))
          AND (CAST(:user AS text) IS NULL OR actor = :user)
          AND (CAST(:action AS text) IS NULL OR action = :action
               OR (right(:action, 1) = '.' AND starts_with(action, :action)))
          AND (CAST(:plot AS bigint) IS NULL OR (entity = 'plot' AND entity_id = CAST(:plot AS text))
               OR (detail ? 'plot_id' AND detail->>'plot_id' = CAST(:plot AS text)))
        ORDER BY id DESC LIMIT :n"""),
        {"before": before, "since": since, "user": user, "action": action, "plot": plot,
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


def retention_days() -> int:
    """How long audit events are kept: ``GEOLAND_AUDIT_RETENTION_DAYS`` (default five years, at least 30 days).

    Raises
    ------
    ConfigError
        The setting is not a whole number of days of at least :data:`MIN_RETENTION_DAYS`.
    """
    days = config.seconds("GEOLAND_AUDIT_RETENTION_DAYS", RETENTION_DAYS, 1)
    if days != int(days) or days < MIN_RETENTION_DAYS:
        raise ConfigError(f"GEOLAND_AUDIT_RETENTION_DAYS={days:g}: a whole number of days, "
                          f"at least {MIN_RETENTION_DAYS}, is needed")
    return int(days)


def purge(conn: Connection, *, days: int | None = None, actor: str, dry_run: bool = False) -> dict:
    """Delete the audit events older than the retention period, in the caller's transaction, and record it.

    Parameters
    ----------
    conn : Connection
        An open connection (the purge commits or rolls back with it).
    days : int, optional
        Keep this many days (default :func:`retention_days`).
    actor : str
        Who purges (recorded).
    dry_run : bool
        Count what would go; delete nothing.

    Returns
    -------
    dict
        ``cutoff`` (ISO timestamp), ``retention_days``, ``purged`` (or ``would_purge``), ``oldest_kept``.
    """
    days = retention_days() if days is None else days
    if days < MIN_RETENTION_DAYS:
        raise ConfigError(f"an audit retention of {days} days is below the minimum of {MIN_RETENTION_DAYS}")
    cutoff = conn.execute(sa.text("SELECT date_trunc('day', now()) - make_interval(days => :d)"),
                          {"d": days}).scalar()
    if dry_run:
        count = conn.execute(sa.text("SELECT count(*) FROM geoland.audit_event WHERE at < :c"),
                             {"c": cutoff}).scalar()
        key = "would_purge"
    else:
        # The trigger lets a DELETE through only below this transaction's own cut-off.
        conn.execute(sa.text("SELECT set_config('geoland.audit_purge_before', :c, true)"),
                     {"c": cutoff.isoformat()})
        count = conn.execute(sa.text("DELETE FROM geoland.audit_event WHERE at < :c"), {"c": cutoff}).rowcount
        conn.execute(sa.text("SELECT set_config('geoland.audit_purge_before', '', true)"))
        audit(conn, None, "audit.purged", detail={"cutoff": cutoff.isoformat(), "retention_days": days,
                                                  "purged": count}, actor=actor)
        key = "purged"
    oldest = conn.execute(sa.text("SELECT min(at) FROM geoland.audit_event")).scalar()
    return {"cutoff": cutoff.isoformat(), "retention_days": days, key: count,
            "oldest_kept": oldest.isoformat() if oldest else None}
