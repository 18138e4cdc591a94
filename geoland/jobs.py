"""Jobs (one per command that changes data) and the append-only audit trail."""

from __future__ import annotations

import dataclasses
import getpass
import json
import os

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def current_actor() -> str:
    """Who is acting: ``GEOLAND_ACTOR`` (set by the web app or a batch wrapper) or the OS user."""
    return os.environ.get("GEOLAND_ACTOR") or getpass.getuser()


@dataclasses.dataclass
class Job:
    id: int
    kind: str
    actor: str
    counts: dict = dataclasses.field(default_factory=dict)


def start_job(conn: Connection, kind: str, params: dict) -> Job:
    actor = current_actor()
    job_id = conn.execute(
        sa.text("INSERT INTO geoland.job (kind, params, state, actor) "
                "VALUES (:kind, CAST(:params AS jsonb), 'running', :actor) RETURNING id"),
        {"kind": kind, "params": json.dumps(params, default=str, ensure_ascii=False), "actor": actor},
    ).scalar_one()
    return Job(job_id, kind, actor)


def finish_job(conn: Connection, job: Job, counts: dict, message: str | None = None) -> None:
    job.counts = counts
    conn.execute(
        sa.text("UPDATE geoland.job SET state = 'succeeded', finished_at = clock_timestamp(), "
                "counts = CAST(:counts AS jsonb), message = :message WHERE id = :id"),
        {"counts": json.dumps(counts, default=str, ensure_ascii=False), "message": message, "id": job.id},
    )
    audit(conn, job, f"{job.kind}.finished", detail=counts)


def audit(conn: Connection, job: Job | None, action: str, *, entity: str | None = None,
          entity_id: str | None = None, detail: dict | None = None) -> None:
    conn.execute(
        sa.text("INSERT INTO geoland.audit_event (actor, action, entity, entity_id, job_id, detail) "
                "VALUES (:actor, :action, :entity, :entity_id, :job_id, CAST(:detail AS jsonb))"),
        {"actor": job.actor if job else current_actor(), "action": action, "entity": entity,
         "entity_id": entity_id, "job_id": job.id if job else None,
         "detail": json.dumps(detail or {}, default=str, ensure_ascii=False)},
    )
