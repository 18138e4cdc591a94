"""Jobs (one per command that changes data) and the append-only audit trail."""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import json
import os
import zlib
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from geoland.errors import Conflict
from geoland.logs import get_logger
from geoland.progress import progress_bar
from geoland.store.db import make_engine, require_migrated, unreachable_as_error

log = get_logger(__name__)


def current_actor() -> str:
    """Who is acting: ``GEOLAND_ACTOR`` (set by the web app or a batch wrapper) or the OS user."""
    return os.environ.get("GEOLAND_ACTOR") or getpass.getuser()


@dataclasses.dataclass
class Job:
    """A job row: its id, kind, who runs it and, once finished, its counts."""

    id: int
    kind: str
    actor: str
    counts: dict = dataclasses.field(default_factory=dict)


def start_job(conn: Connection, kind: str, params: dict) -> Job:
    """Record a job that starts now (state ``running``), with its parameters and actor."""
    actor = current_actor()
    job_id = conn.execute(
        sa.text("INSERT INTO geoland.job (kind, params, state, actor) "
                "VALUES (:kind, CAST(:params AS jsonb), 'running', :actor) RETURNING id"),
        {"kind": kind, "params": json.dumps(params, default=str, ensure_ascii=False), "actor": actor},
    ).scalar_one()
    log.info("job %d %s started by %s", job_id, kind, actor)
    return Job(job_id, kind, actor)


def finish_job(conn: Connection, job: Job, counts: dict, message: str | None = None) -> None:
    """Mark a job succeeded with its counts (never personal data) and audit its end."""
    job.counts = counts
    log.info("job %d %s finished: %s", job.id, job.kind, json.dumps(counts, default=str, ensure_ascii=False))
    conn.execute(
        sa.text("UPDATE geoland.job SET state = 'succeeded', finished_at = clock_timestamp(), "
                "counts = CAST(:counts AS jsonb), message = :message WHERE id = :id"),
        {"counts": json.dumps(counts, default=str, ensure_ascii=False), "message": message, "id": job.id},
    )
    audit(conn, job, f"{job.kind}.finished", detail=counts)


def audit(conn: Connection, job: Job | None, action: str, *, entity: str | None = None,
          entity_id: str | None = None, detail: dict | None = None, actor: str | None = None) -> None:
    """Append one event to the audit trail (``geoland.audit_event``, append-only).

    Parameters
    ----------
    conn : Connection
        The caller's transaction: the event commits or rolls back with the change it records.
    job : Job or None
        The batch job the event belongs to; None for an action of a web user or a single command.
    action : str
        What happened, dotted (``finding.resolved``, ``personal_data.viewed`` …).
    entity, entity_id : str, optional
        What it happened to.
    detail : dict, optional
        Before/after values and counts (never personal data unless the event is the audited access itself).
    actor : str, optional
        Who acted; default the job's actor, else :func:`current_actor`.
    """
    conn.execute(
        sa.text("INSERT INTO geoland.audit_event (actor, action, entity, entity_id, job_id, detail) "
                "VALUES (:actor, :action, :entity, :entity_id, :job_id, CAST(:detail AS jsonb))"),
        {"actor": actor or (job.actor if job else current_actor()), "action": action, "entity": entity,
         "entity_id": None if entity_id is None else str(entity_id), "job_id": job.id if job else None,
         "detail": json.dumps(detail or {}, default=str, ensure_ascii=False)},
    )


def lock_key(kind: str, scope: str | None) -> int:
    """The advisory-lock key of a batch job kind on one province (or all)."""
    return zlib.crc32(f"geoland:{kind}:{scope or '*'}".encode())


@dataclasses.dataclass
class BatchJob(Job):
    """A resumable batch job, with the ids of the killed jobs it resumes."""

    resumes: list = dataclasses.field(default_factory=list)


def part_scope(province: str, communes: Sequence[str]) -> str:
    """The scope of a batch job on part of a province: its old communes, first to last (``14:03979-04045``).

    A province split by old commune (``geoland run --split-above``) runs one job per part; the scope names the part
    the way its job records and locks it, and the same communes always give the same scope (a rerun resumes it).
    """
    first, last = min(communes), max(communes)
    return f"{province}:{first or '-'}-{last or '-'}"


@contextlib.contextmanager
def job_lock(engine: Engine, kind: str, scope: str | None, *, within: str | None = None):
    """Hold the advisory lock of a batch job kind on one province for the block.

    Hold the advisory lock of a batch job kind on one province (``scope``) or all (None) for the block;
    refused, with the running job's number, when another session holds it. ``within``: the province of a part's
    job (``scope`` from :func:`part_scope`), whose lock is held *shared* as well: the parts of a province run side
    by side, a job on the whole province waits for none of them and is refused while one runs (and the reverse).
    """
    with engine.connect() as lock_conn:
        held = []
        for key, shared, name in ([(lock_key(kind, within), True, within)] if within else []) + \
                [(lock_key(kind, scope), False, scope)]:
            function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
            if not lock_conn.execute(sa.text(f"SELECT {function}(:k)"), {"k": key}).scalar():
                for done, was_shared in held:
                    lock_conn.execute(sa.text(f"SELECT pg_advisory_unlock{'_shared' if was_shared else ''}(:k)"),
                                      {"k": done})
                lock_conn.commit()
                raise Conflict(_running(lock_conn, kind, name))
            held.append((key, shared))
        try:
            yield
        finally:
            for key, shared in reversed(held):
                lock_conn.execute(sa.text(f"SELECT pg_advisory_unlock{'_shared' if shared else ''}(:k)"), {"k": key})
            lock_conn.commit()


def _running(conn: Connection, kind: str, scope: str | None) -> str:
    """The refusal of a batch job whose lock another session holds, naming the running job (or its part)."""
    running = conn.execute(sa.text(
        "SELECT id, actor, started_at FROM geoland.job WHERE kind = :kind AND state = 'running' "
        "AND (params->>'scope' IS NOT DISTINCT FROM :s OR params->>'scope' LIKE :s || ':%') "
        "ORDER BY id DESC LIMIT 1"), {"kind": kind, "s": scope}).first()
    who = (f"job {running.id} ({running.actor}, since {running.started_at:%Y-%m-%d %H:%M})" if running
           else "another job")
    return (f"{kind} is already running for {'province ' + scope if scope else 'all plots'} "
            f"as {who}: wait for it to finish")


def mark_interrupted(conn: Connection, kind: str, scope: str | None) -> list[int]:
    """Mark as interrupted the jobs that were killed while running.

    Jobs of this kind and scope still marked running while their lock is free were killed: mark them
    failed ("interrupted"); returns their ids. Call it holding the lock.
    """
    killed = sorted(conn.execute(sa.text(
        "UPDATE geoland.job SET state = 'failed', finished_at = clock_timestamp(), message = 'interrupted' "
        "WHERE kind = :kind AND state = 'running' AND params->>'scope' IS NOT DISTINCT FROM :s "
        "RETURNING id"), {"kind": kind, "s": scope}).scalars().all())
    if killed:
        log.warning("%s for %s: job(s) %s were interrupted; resuming", kind, scope or "all plots", killed)
    return killed


@contextlib.contextmanager
def locked_job(engine: Engine, kind: str, scope: str | None, params: dict):
    """The job row of a batch job whose lock the caller holds.

    The job row of a batch job whose lock the caller holds (:func:`job_lock`): earlier jobs that were
    killed are marked interrupted and the new job records that it resumes them. The row is committed at
    once (the work commits in its own transactions, unit by unit); the caller sets ``job.counts`` and the
    job is marked succeeded when the block ends without error.
    """
    with engine.begin() as conn:
        resumes = mark_interrupted(conn, kind, scope)
        job = start_job(conn, kind, {**params, "scope": scope, "resumes": resumes})
    job = BatchJob(job.id, job.kind, job.actor, resumes=resumes)
    yield job
    with engine.begin() as conn:
        finish_job(conn, job, job.counts)


@contextlib.contextmanager
def batch_engine(url: str | None):
    """The engine of a batch job: its own connection pool, the schema checked first, disposed at the end."""
    engine = make_engine(url)
    try:
        with unreachable_as_error():
            with engine.connect() as conn:
                require_migrated(conn)
            yield engine
    finally:
        engine.dispose()


def write_per_unit(engine: Engine, units: Iterable, write, *, total: int, label: str, progress: bool) -> int:
    """Write a batch job's work unit by unit (a commune's rows), each in its own transaction.

    A unit is the job's unit of resumption: a killed job loses at most the unit it was writing, and the
    next run, skipping what is written, finishes as an uninterrupted run would.

    Parameters
    ----------
    engine : Engine
        The job's engine (:func:`batch_engine`).
    units : iterable of DataFrame
        The rows of each unit, in the order to write them.
    write : callable
        ``write(conn, rows) -> int``: stores one unit's rows, returns how many rows it wrote.
    total : int
        Rows in all units, for the progress bar.
    label : str
        What the bar counts.
    progress : bool
        Draw the bar (counts and rate) on standard error.

    Returns
    -------
    int
        Rows written.
    """
    written = 0
    with progress_bar(total, label, enabled=progress) as bar:
        for rows in units:
            with engine.begin() as conn:
                written += write(conn, rows)
            bar.update(len(rows))
    return written


@contextlib.contextmanager
def batch_job(engine: Engine, kind: str, scope: str | None, params: dict, *, within: str | None = None):
    """A resumable batch job on one province, or all.

    A resumable batch job on one province (``scope``; a part of it with ``within``, see :func:`job_lock`) or all
    (None): :func:`job_lock` for its whole life, a second job of the same kind and scope being refused with the
    running job's number, and :func:`locked_job` for its row.
    """
    with job_lock(engine, kind, scope, within=within), locked_job(engine, kind, scope, params) as job:
        yield job
