"""Forgetting an import: ``geoland plots forget`` and ``geoland plots import --replace``.

An import done with the wrong options (the wrong CRS, encoding or fields) is undone by forgetting it: its
plots and what was derived from them (their rights, the certificates and persons no other plot holds,
assignments, crosswalk rows, identification codes, findings and their comments, code conflicts) leave the
working tables in one transaction. What stays:

* what registry exports (``geoland register import``) said about a plot: the plot becomes a *paper plot* again
  (commune, sheet, number) holding the register's rights, certificates and assets, and a later import that
  brings the plot back attaches them to it;

* the import itself, listed by ``geoland plots imports`` with the job that forgot it, and its quarantine;
* one ``forgotten_plot`` row per plot: its map code, commune, geometry and identification code, without
  personal data. The code is *retired*: ``geoland codes issue`` never gives it to another plot; the same
  plot imported again (the same geometry within 1 cm) gets it back, and that is recorded too;
* the job and an audit event with the counts.

Nothing runs while batch jobs of the plots' provinces do: forgetting takes their locks for its transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geoland.errors import Conflict, NotFound
from geoland.store.jobs import Job, audit, finish_job, lock_key, start_job

# The batch jobs that read plots and write what is derived from them (their advisory-lock kinds).
_BATCH_KINDS = ("reassign", "recode", "codes.issue", "check")

# What the plots in temp table _gone refer to, noted before they go: the certificates and persons that may be
# left holding nothing.
_NOTE_REFERENCES = (
    """CREATE TEMP TABLE _gone_certificates AS
       SELECT certificate_id AS id FROM geoland.certificate_plot JOIN _gone g ON g.id = plot_id
       UNION SELECT certificate_id FROM geoland.land_right JOIN _gone g ON g.id = plot_id
       WHERE certificate_id IS NOT NULL""",
    """CREATE TEMP TABLE _gone_parties AS
       SELECT party_id AS id FROM geoland.land_right JOIN _gone g ON g.id = plot_id""",
)

# What registry exports said about the plots in _gone is not the layer's to take away: the plots become paper plots
# again (commune, sheet, number), holding the register's rights, certificates and assets until a later import
# brings their geometry back (see geoland.pipeline.register.attach_paper_plots).
_BACK_TO_PAPER = (
    """CREATE TEMP TABLE _register_jobs AS SELECT id FROM geoland.job WHERE kind = 'register.import'""",
    """CREATE TEMP TABLE _held AS SELECT DISTINCT g.id FROM _gone g WHERE
           EXISTS (SELECT FROM geoland.paper_plot pp WHERE pp.plot_id = g.id)
        OR EXISTS (SELECT FROM geoland.land_right r JOIN _register_jobs j ON j.id = r.job_id WHERE r.plot_id = g.id)
        OR EXISTS (SELECT FROM geoland.asset_plot a WHERE a.plot_id = g.id)""",
    """INSERT INTO geoland.paper_plot (province_code, commune_code, sheet, plot_number, legal_area_m2, land_use,
                                       plot_id)
       SELECT DISTINCT ON (p.old_commune_code, p.sheet, p.plot_number) p.province_code, p.old_commune_code, p.sheet,
              p.plot_number, p.legal_area_m2, p.land_use, p.id
       FROM geoland.plot p JOIN _held h ON h.id = p.id
       WHERE p.old_commune_code IS NOT NULL AND p.sheet IS NOT NULL AND p.plot_number IS NOT NULL
         AND NOT EXISTS (SELECT FROM geoland.paper_plot pp WHERE pp.plot_id = p.id)
         AND NOT EXISTS (SELECT FROM geoland.paper_plot pp WHERE pp.plot_id IS NULL AND (pp.commune_code, pp.sheet,
                         pp.plot_number) = (p.old_commune_code, p.sheet, p.plot_number))
       ORDER BY p.old_commune_code, p.sheet, p.plot_number, p.id""",
    """UPDATE geoland.land_right r SET paper_plot_id = pp.id FROM geoland.paper_plot pp, _register_jobs j, _gone g
       WHERE g.id = r.plot_id AND pp.plot_id = r.plot_id AND j.id = r.job_id AND r.paper_plot_id IS NULL
         AND r.asset_id IS NULL""",
    """UPDATE geoland.land_right r SET plot_id = NULL, province_code = '' FROM _gone g
       WHERE r.plot_id = g.id AND r.paper_plot_id IS NOT NULL""",
    """INSERT INTO geoland.certificate_paper_plot (certificate_id, paper_plot_id)
       SELECT DISTINCT cp.certificate_id, pp.id FROM geoland.certificate_plot cp
       JOIN geoland.paper_plot pp ON pp.plot_id = cp.plot_id JOIN _gone g ON g.id = cp.plot_id
       WHERE EXISTS (SELECT FROM geoland.certificate c JOIN _register_jobs j ON j.id = c.job_id
                     WHERE c.id = cp.certificate_id)
          OR EXISTS (SELECT FROM geoland.land_right r JOIN _register_jobs j ON j.id = r.job_id
                     WHERE r.certificate_id = cp.certificate_id)
       ON CONFLICT DO NOTHING""",
    """INSERT INTO geoland.asset_paper_plot (asset_id, paper_plot_id)
       SELECT a.asset_id, pp.id FROM geoland.asset_plot a JOIN geoland.paper_plot pp ON pp.plot_id = a.plot_id
       JOIN _gone g ON g.id = a.plot_id ON CONFLICT DO NOTHING""",
)

_DERIVED = (      # (what, SQL deleting the rows of the plots in temp table _gone), in an order the keys allow
    ("comments", "DELETE FROM geoland.finding_comment c USING geoland.finding f, _gone g "
                 "WHERE c.finding_id = f.id AND f.plot_id = g.id"),
    ("findings", "DELETE FROM geoland.finding f USING _gone g WHERE f.plot_id = g.id"),
    ("code_conflicts", "DELETE FROM geoland.code_conflict k WHERE k.plot_ids && (SELECT array_agg(id) FROM _gone)"),
    ("codes", "DELETE FROM geoland.plot_code c USING _gone g WHERE c.plot_id = g.id"),
    ("crosswalk_rows", "DELETE FROM geoland.mx_crosswalk x USING _gone g WHERE x.plot_id = g.id"),
    ("assignment_rows", "DELETE FROM geoland.plot_assignment a USING _gone g WHERE a.plot_id = g.id"),
    ("rights", "DELETE FROM geoland.land_right r USING _gone g WHERE r.plot_id = g.id"),
    ("aliases", "DELETE FROM geoland.party_alias a USING _gone g WHERE a.plot_id = g.id"),
    ("certificate_links", "DELETE FROM geoland.certificate_plot c USING _gone g WHERE c.plot_id = g.id"),
    # what the foreign keys to the plots did before the plots were partitioned (migration 0019), uncounted
    (None, "UPDATE geoland.paper_plot pp SET plot_id = NULL FROM _gone g WHERE pp.plot_id = g.id"),
    (None, "DELETE FROM geoland.asset_plot a USING _gone g WHERE a.plot_id = g.id"),
    (None, "DELETE FROM geoland.plot_edit e USING _gone g WHERE e.plot_id = g.id"),
    ("plots", "DELETE FROM geoland.plot p USING _gone g WHERE p.id = g.id"),
    # of the certificates and persons the plots referred to, those now holding nothing (a person's data is
    # not kept without purpose)
    ("certificates", "DELETE FROM geoland.certificate c USING _gone_certificates t WHERE c.id = t.id "
                     "AND NOT EXISTS (SELECT FROM geoland.certificate_plot cp WHERE cp.certificate_id = c.id) "
                     "AND NOT EXISTS (SELECT FROM geoland.certificate_paper_plot cp WHERE cp.certificate_id = c.id) "
                     "AND NOT EXISTS (SELECT FROM geoland.land_right r WHERE r.certificate_id = c.id) "
                     "AND NOT EXISTS (SELECT FROM geoland.certificate o WHERE o.replaced_by = c.id)"),
    ("parties", "DELETE FROM geoland.party p USING (SELECT DISTINCT id FROM _gone_parties) t WHERE p.id = t.id "
                "AND NOT EXISTS (SELECT FROM geoland.land_right r WHERE r.party_id = p.id) "
                "AND NOT EXISTS (SELECT FROM geoland.household_member m WHERE p.id IN (m.household_id, m.member_id))"),
)


def forget_import(conn: Connection, import_id: int, *, dry_run: bool = False, job: Job | None = None) -> dict:
    """Forget one import (see the module docstring); returns what was removed and retired.

    Parameters
    ----------
    conn : Connection
        An open connection: the whole forgetting is this one transaction.
    import_id : int
        The import (``geoland plots imports``).
    dry_run : bool
        Count what would go; change nothing.
    job : Job, optional
        The job this is part of (an import with ``--replace``); default: a job of its own.

    Returns
    -------
    dict
        ``import_id``, ``file``, ``job_id`` (None on a dry run), ``dry_run`` and the counts: plots,
        codes retired, and the rows removed per table.

    Raises
    ------
    NotFound
        No such import.
    Conflict
        The import was forgotten already, or a batch job of its plots' provinces is running.
    """
    row = conn.execute(sa.text("SELECT id, source, layer_name, forgotten_by FROM geoland.plot_import "
                               "WHERE id = :i FOR UPDATE"), {"i": import_id}).first()
    if row is None:
        raise NotFound(f"no import {import_id} (see `geoland plots imports`)")
    if row.forgotten_by is not None:
        raise Conflict(f"import {import_id} ({row.source}) was forgotten already by job {row.forgotten_by}")
    conn.execute(sa.text("LOCK TABLE geoland.plot IN SHARE ROW EXCLUSIVE MODE"))
    provinces = conn.execute(sa.text("SELECT DISTINCT province_code FROM geoland.plot WHERE import_id = :i"),
                             {"i": import_id}).scalars().all()
    _lock_batch_jobs(conn, provinces)
    conn.execute(sa.text("CREATE TEMP TABLE _gone AS "
                         "SELECT id FROM geoland.plot WHERE import_id = :i"), {"i": import_id})
    conn.execute(sa.text("ALTER TABLE _gone ADD PRIMARY KEY (id)"))
    counts = {"plots": conn.execute(sa.text("SELECT count(*) FROM _gone")).scalar_one(),
              "codes_retired": conn.execute(sa.text("SELECT count(*) FROM geoland.plot_code c JOIN _gone g "
                                                    "ON g.id = c.plot_id")).scalar_one()}
    report = {"import_id": import_id, "file": row.source, "layer": row.layer_name, "dry_run": dry_run}
    if dry_run:
        conn.execute(sa.text("DROP TABLE _gone"))
        return report | {"job_id": None, **counts}
    own = job is None
    if own:
        job = start_job(conn, "plots.forget", {"import_id": import_id})
    conn.execute(sa.text("""
        INSERT INTO geoland.forgotten_plot (plot_id, import_id, job_id, source_row, province_code, mx, new_mx,
                                            commune_code, code, geom)
        SELECT p.id, p.import_id, :job, p.source_row, p.province_code, p.legacy_mx,
               (SELECT x.new_code FROM geoland.mx_crosswalk x WHERE x.plot_id = p.id
                ORDER BY x.effective DESC LIMIT 1),
               (SELECT a.commune_code FROM geoland.plot_assignment_current a WHERE a.plot_id = p.id
                ORDER BY a.effective DESC LIMIT 1),
               c.code, p.geom
        FROM geoland.plot_mx p JOIN _gone g ON g.id = p.id LEFT JOIN geoland.plot_code c ON c.plot_id = p.id"""),
        {"job": job.id})
    for sql in _NOTE_REFERENCES + _BACK_TO_PAPER:
        conn.execute(sa.text(sql))
    counts["back_to_paper"] = conn.execute(sa.text("SELECT count(*) FROM _held")).scalar_one()
    for what, sql in _DERIVED:
        removed = conn.execute(sa.text(sql)).rowcount
        if what:
            counts[f"removed_{what}"] = removed
    conn.execute(sa.text("DROP TABLE _gone, _gone_certificates, _gone_parties, _register_jobs, _held"))
    conn.execute(sa.text("UPDATE geoland.plot_import SET forgotten_by = :job WHERE id = :i"),
                 {"job": job.id, "i": import_id})
    audit(conn, job, "plots.import_forgotten", entity="plot_import", entity_id=str(import_id),
          detail={"file": row.source, **counts})
    if own:
        finish_job(conn, job, counts)
    return report | {"job_id": job.id, **counts}


def imports_to_replace(conn: Connection, sha256: str, source: str, layer: str | None) -> list[int]:
    """The live imports an import with ``--replace`` replaces: the same content, else the same file name.

    The same content (SHA-256) and layer imported before; failing that, an earlier import of a file of the
    same path and layer (a file fixed in place).
    """
    for where, params in (("source_sha256 = :sha", {"sha": sha256}), ("source = :src", {"src": source})):
        ids = conn.execute(sa.text(f"SELECT id FROM geoland.plot_import WHERE {where} AND forgotten_by IS NULL "
                                   "AND layer_name IS NOT DISTINCT FROM :layer ORDER BY id"),
                           params | {"layer": layer}).scalars().all()
        if ids:
            return list(ids)
    return []


def _lock_batch_jobs(conn: Connection, provinces) -> None:
    """Hold, until commit, the locks of the batch jobs on these provinces and on all plots; refuse if taken."""
    for kind in _BATCH_KINDS:
        for scope in [*sorted(p for p in provinces if p), None]:
            if not conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"),
                                {"k": lock_key(kind, scope)}).scalar():
                raise Conflict(f"{kind} is running for {'province ' + scope if scope else 'all plots'}: "
                               "wait for it to finish, then forget the import")
