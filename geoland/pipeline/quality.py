"""The data-quality checks run on the plots in PostGIS.

``geoland check`` and ``geoland people import-verification``: the checks of :mod:`geoland.rules.checks` run on
the plots in PostGIS, their findings stored with the job id.

A check job reads the plots of a province (with their land users, codes, current assignment and the
population database's answer) in one binary read, runs every check in memory and compares the findings
with the open ones: a finding that still holds with the same measured value is left as it is (with its
review state: what a reviewer resolved stays resolved); one whose value changed is closed and opened
again (review state back to open: the data changed); one that no longer holds is closed by the job. The
table keeps every finding ever made. One transaction: a failed check leaves the findings as they were.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from boundaries.conversion import fold_vietnamese
from geoland.errors import Conflict, InputFileError, InvalidInput, NotFound
from geoland.pipeline.register_checks import register_findings
from geoland.progress import shown
from geoland.results import Check, Recheck, VerificationImport, VerificationRequests, returns
from geoland.rules.checks import CAMPAIGN_FIELDS, DEFAULT_MAP_SCALE, DEFAULT_MIN_OVERLAP_M2, run_checks
from geoland.rules.vocab import FINDING_TYPES
from geoland.store.db import copy_csv, csv_bytes, read_columns
from geoland.store.jobs import audit, finish_job, lock_key, part_scope, start_job
from geoland.store.partitions import in_communes, in_provinces
from identifiers import normalize_unit_code

STATUSES = ("authenticated", "incorrect", "unverifiable")
# The status as the population database writes it, English or Vietnamese, compared without diacritics.
_STATUS_WORDS = {"authenticated": "authenticated", "da xac thuc": "authenticated", "incorrect": "incorrect",
                 "sai thong tin": "incorrect", "unverifiable": "unverifiable", "khong xac thuc duoc": "unverifiable"}

_PLOTS = """
SELECT p.id, p.province_code, p.old_commune_code, p.sheet, p.plot_number, p.legal_area_m2, p.land_use,
       vc.series, p.area_m2, p.repaired, p.repair_note, u.name, u.id_number, u.birth_year,
       c.code, a.commune_code, a.status, a.overlap_share, a.second_code, a.second_share, a.legal_mismatch,
       u.status, u.checked_at, ST_AsBinary(p.geom)
FROM geoland.plot p
@HOLDERS@
LEFT JOIN geoland.plot_code c ON c.plot_id = p.id""" + in_provinces("c") + """
LEFT JOIN geoland.plot_assignment_current a ON a.plot_id = p.id AND a.effective = %(effective)s""" + \
    in_provinces("a") + """
@CERTIFICATES@
WHERE (%(provinces)s::text[] IS NULL OR p.province_code = ANY(%(provinces)s))
ORDER BY p.id
"""
# Each plot's first holder (as the land_user view gives it: the plot's first right, its party's personal data or
# the spelling written for this plot) and its population-database answer; the register's tables named with the
# province on each (partitioned, migration 0020), so that a province's read reads its own partitions only.
_NAME = """CASE WHEN al.party_id IS NULL THEN pp.name ELSE al.name END AS name, pp.id_number,
           CASE WHEN al.party_id IS NULL THEN pp.birth_year ELSE al.birth_year END AS birth_year,
           v.status, v.checked_at"""
_PERSON = """JOIN geoland.party_personal pp ON pp.party_id = r.party_id
           LEFT JOIN geoland.party_alias al ON al.party_id = r.party_id AND al.plot_id = r.plot_id
                AND al.province_code = r.province_code""" + in_provinces("al") + """
           LEFT JOIN geoland.verification v ON v.id_number = pp.id_number"""
_HOLDERS = f"""LEFT JOIN (SELECT r.plot_id, {_NAME}
           FROM geoland.land_right r {_PERSON}
           WHERE r.plot_id IS NOT NULL""" + in_provinces("r") + """
             AND NOT EXISTS (SELECT FROM geoland.land_right f WHERE f.plot_id = r.plot_id AND f.id < r.id
                             AND f.province_code = r.province_code""" + in_provinces("f") + """)) u
    ON u.plot_id = p.id"""
_CERTIFICATES = """LEFT JOIN (SELECT cp.plot_id, min(c.series) AS series FROM geoland.certificate_plot cp
           JOIN geoland.certificate c ON c.id = cp.certificate_id WHERE c.status = 'valid'""" + in_provinces("cp") + """
           GROUP BY cp.plot_id) vc ON vc.plot_id = p.id"""
# The same with each plot's holder and valid certificate looked up by the plot (LATERAL, by index) rather than
# joined whole: for a few plots (a quick re-check). Same rows (tests/store/test_partitions.py). A province's read
# joins whole: its register's partitions only (11.5 s for 1 M plots among eleven provinces, 16 s plot by plot).
_HOLDER_BY_PLOT = f"""LEFT JOIN LATERAL (SELECT {_NAME}
           FROM (SELECT f.party_id, f.plot_id, f.province_code FROM geoland.land_right f
                 WHERE f.plot_id = p.id AND f.province_code = coalesce(p.province_code, '')""" + \
    in_provinces("f") + f""" ORDER BY f.id LIMIT 1) r
           {_PERSON}) u ON true"""
_CERTIFICATE_BY_PLOT = """LEFT JOIN LATERAL (SELECT min(c.series) AS series FROM geoland.certificate_plot cp
           JOIN geoland.certificate c ON c.id = cp.certificate_id WHERE c.status = 'valid'
           AND cp.plot_id = p.id AND cp.province_code = coalesce(p.province_code, '')""" + in_provinces("cp") + """
           ) vc ON true"""
_PLOTS_BY_PLOT = _PLOTS.replace("@HOLDERS@", _HOLDER_BY_PLOT).replace("@CERTIFICATES@", _CERTIFICATE_BY_PLOT)
_PLOTS = _PLOTS.replace("@HOLDERS@", _HOLDERS).replace("@CERTIFICATES@", _CERTIFICATES)
assert _PLOTS_BY_PLOT.count("LATERAL") == 2
COLUMNS = ["plot_id", "province_code", "old_commune_code", "sheet", "plot_number", "legal_area_m2", "land_use",
           "certificate_serial", "area_m2", "repaired", "repair_note", "user_name", "id_number", "birth_year",
           "code", "commune_code", "status", "overlap_share", "second_code", "second_share", "legal_mismatch",
           "verification", "checked_at", "wkb"]


def read_plots(conn: Connection, province: str | None, *,
               progress: bool = False) -> tuple[pd.DataFrame, dt.date | None]:
    """The plot frame the checks need, and the date of its assignments.

    The plot frame the checks need (personal data included: it stays in memory) and the date of the
    assignments used (the latest reorganisation with assignments).

    Parameters
    ----------
    conn : Connection
        An open connection.
    province : str or None
        The (new) province, or all plots.
    progress : bool
        Draw the progress bar.

    Returns
    -------
    (DataFrame, date or None)
    """
    from geoland.pipeline.assignments import latest_effective, plot_provinces

    effective = latest_effective(conn)
    provinces = plot_provinces(conn, province, effective)
    total = conn.execute(sa.text("SELECT count(*) FROM geoland.plot WHERE CAST(:p AS text[]) IS NULL "
                                 "OR province_code = ANY(:p)"), {"p": provinces}).scalar() \
        if shown(progress) else None          # the bar's count only when a bar is drawn
    frame = read_columns(conn, _PLOTS, {"effective": effective, "provinces": provinces}, COLUMNS,
                         label="plots read", total=total, progress=progress)
    for column in ("area_m2", "overlap_share", "second_share"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame["plot_id"] = frame["plot_id"].astype(np.int64)
    frame["repaired"] = frame["repaired"].astype(bool)
    return frame, effective


# What a check needs of its plots once the checks have run: the findings' partition, the campaign's counts.
_KEPT = ["plot_id", "commune_code", "verification", "province_code"]


@returns(Check)
def check(conn: Connection, *, province: str | None = None, commune: str | None = None,
          map_scale: int = DEFAULT_MAP_SCALE, min_overlap_m2: float = DEFAULT_MIN_OVERLAP_M2,
          progress: bool = True) -> Check:
    """Run every check and store the findings (``geoland check``).

    Run every check on the plots of ``province`` (or all); with ``commune``, store and report only the
    findings of the plots assigned to that new commune (its neighbours are still read, for overlaps).

    Parameters
    ----------
    conn : Connection
        An open connection (the findings and the job commit with it).
    province : str, optional
        Only the plots of this (new) province.
    commune : str, optional
        Only store and report the findings of this new commune's plots.
    map_scale : int
        Scale 1:M of the cadastral sheets, for the area tolerance.
    min_overlap_m2 : float
        Overlaps between plots larger than this are findings.
    progress : bool
        Draw the progress bar on standard error.

    Returns
    -------
    Check
        Plots checked, findings per type and category, the campaign's totals, changes against the last check.

    Raises
    ------
    NotFound
        No plots to check.
    Conflict
        Another check of the same scope is running.
    """
    from geoland.pipeline.assignments import plot_provinces

    province = normalize_unit_code(province, "province") if province else None
    commune = normalize_unit_code(commune, "commune") if commune else None
    scope = f"{province or '*'}/{commune or '*'}"
    if not conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": lock_key("check", province)}).scalar():
        raise Conflict(f"a check of {'province ' + province if province else 'all plots'} is already running "
                           "(see `geoland.job`, kind check): wait for it to finish")
    plots, effective = read_plots(conn, province, progress=progress)
    if plots.empty:
        raise NotFound(f"no plots{' of province ' + province if province else ''} to check: "
                           "import some with `geoland plots import`")
    geoms = shapely.from_wkb(plots.pop("wkb").to_numpy())    # the WKB bytes are not kept
    conflicts = pd.DataFrame(conn.execute(sa.text(
        "SELECT kind, code, plot_ids FROM geoland.code_conflict ORDER BY id")).all(),
        columns=["kind", "code", "plot_ids"])
    conn.execute(sa.text("CREATE TEMP TABLE check_plots (plot_id bigint PRIMARY KEY) ON COMMIT DROP"))
    copy_csv(conn, "check_plots (plot_id)", [csv_bytes({"plot_id": plots["plot_id"].to_numpy()})])
    conn.execute(sa.text("ANALYZE check_plots"))
    provinces = plot_provinces(conn, province, effective)
    found = run_checks(plots, geoms, conflicts, map_scale=map_scale, min_overlap_m2=min_overlap_m2,
                       extra=register_findings(conn, provinces))
    del geoms
    plots = plots[_KEPT]            # the rest of the frame (most of the memory) goes before the findings are stored
    in_scope = plots["plot_id"] if commune is None else plots.loc[plots["commune_code"] == commune, "plot_id"]
    if commune is not None and in_scope.empty:
        raise NotFound(f"no plots assigned to commune {commune}: run `geoland reassign` first, or check "
                           "the code with `geoland units lookup`")
    found = found[found["plot_id"].isin(in_scope)]
    job = start_job(conn, "check", {"province": province, "commune": commune, "scope": scope,
                                    "effective": effective, "map_scale": map_scale, "min_overlap_m2": min_overlap_m2})
    changes = _store(conn, found, in_scope.to_numpy(), job.id, _province_of(plots), provinces)
    checked = plots[plots["plot_id"].isin(in_scope)]
    counts = _counts(found, checked)
    from geoland.pipeline.progress import record_progress

    record_progress(conn, job.id, province, checked, found)      # the campaign's progress over time
    report = {"job_id": job.id, "province": province, "commune": commune, "plots": len(in_scope),
              "effective": effective.isoformat() if effective else None, **counts, "changes": changes}
    audit(conn, job, "plots.checked", entity="province", entity_id=province,
          detail={"commune": commune, "findings": len(found), **changes})
    finish_job(conn, job, {k: report[k] for k in ("plots", "findings", "plots_with_findings", "changes")})
    return report


# One part of a split province (geoland run --split-above): its plots and every plot whose findings may touch
# theirs, within the province — the plots on a map sheet's box of the part (a superset of the plots touching
# them), and those sharing a holder or a certificate with them (a map key is within an old commune: in the part).
_PART_CONTEXT = """
INSERT INTO check_plots
SELECT plot_id FROM check_part
UNION
SELECT o.id FROM (SELECT ST_SRID(p.geom) AS srid, ST_SetSRID(ST_Extent(p.geom)::geometry, ST_SRID(p.geom)) AS box
                  FROM check_part s JOIN geoland.plot p ON p.id = s.plot_id AND p.province_code = ANY(:provinces)
                  GROUP BY p.old_commune_code, p.sheet, ST_SRID(p.geom)) b
JOIN geoland.plot o ON o.geom && b.box AND ST_SRID(o.geom) = b.srid AND o.province_code = ANY(:provinces)
WHERE coalesce(o.old_commune_code, '') <> ALL(:communes)
UNION
SELECT o.id FROM check_part s
JOIN geoland.land_right r1 ON r1.plot_id = s.plot_id AND r1.province_code = ANY(:provinces)
JOIN geoland.land_right r2 ON r2.party_id = r1.party_id AND r2.province_code = ANY(:provinces)
JOIN geoland.plot o ON o.id = r2.plot_id AND o.province_code = ANY(:provinces)
WHERE coalesce(o.old_commune_code, '') <> ALL(:communes)
UNION
SELECT o.id FROM check_part s
JOIN geoland.certificate_plot c1 ON c1.plot_id = s.plot_id AND c1.province_code = ANY(:provinces)
JOIN geoland.certificate_plot c2 ON c2.certificate_id = c1.certificate_id AND c2.province_code = ANY(:provinces)
JOIN geoland.plot o ON o.id = c2.plot_id AND o.province_code = ANY(:provinces)
WHERE coalesce(o.old_commune_code, '') <> ALL(:communes)
"""
_PLOTS_OF_PART = _PLOTS.replace(
    "WHERE (%(provinces)s::text[] IS NULL OR p.province_code = ANY(%(provinces)s))",
    "WHERE p.province_code = ANY(%(provinces)s) AND p.id IN (SELECT plot_id FROM check_plots)")
assert "check_plots" in _PLOTS_OF_PART


def check_part(conn: Connection, *, province: str, communes: list[str], map_scale: int = DEFAULT_MAP_SCALE,
               min_overlap_m2: float = DEFAULT_MIN_OVERLAP_M2) -> dict:
    """Check one part of a province split by old commune, as the province's check would (``geoland run``).

    The plots of ``communes`` (old communes of ``province``; ``''``: the plots without one) are checked among the
    plots their findings may touch (:data:`_PART_CONTEXT`, within the province, as a province's check reads it):
    each part plot's findings are those the whole province's check finds for it, stored the same way, so the
    findings of all parts are the province's. What only the whole province has — the campaign's record, the
    findings of plots gone — is :func:`finish_check`'s, from the parts' counts.

    A job of its own (``check`` on :func:`geoland.store.jobs.part_scope`), under the province's lock held shared.

    Returns
    -------
    dict
        ``job_id``, ``scope``, ``plots`` of the part, ``context`` (plots read), the changes, and ``counts`` (the
        part's campaign counts per commune, records) and ``totals`` for :func:`finish_check`.
    """
    from geoland.pipeline.assignments import latest_effective, plot_provinces
    from geoland.pipeline.progress import progress_counts

    province = normalize_unit_code(province, "province")
    scope = part_scope(province, communes)
    for key, function in ((lock_key("check", province), "pg_try_advisory_xact_lock_shared"),
                          (lock_key("check", scope), "pg_try_advisory_xact_lock")):
        if not conn.execute(sa.text(f"SELECT {function}(:k)"), {"k": key}).scalar():
            raise Conflict(f"a check of province {province} (or of its part {scope}) is already running "
                           "(see `geoland.job`, kind check): wait for it to finish")
    effective = latest_effective(conn)
    provinces = plot_provinces(conn, province, effective)
    conn.execute(sa.text("CREATE TEMP TABLE check_part ON COMMIT DROP AS SELECT id AS plot_id FROM geoland.plot p "
                         "WHERE p.province_code = ANY(:provinces)" + in_communes("p", style="named")),
                 {"provinces": provinces, "communes": list(communes)})
    conn.execute(sa.text("ALTER TABLE check_part ADD PRIMARY KEY (plot_id)"))
    conn.execute(sa.text("ANALYZE check_part"))
    conn.execute(sa.text("CREATE TEMP TABLE check_plots (plot_id bigint PRIMARY KEY) ON COMMIT DROP"))
    conn.execute(sa.text(_PART_CONTEXT), {"provinces": provinces, "communes": list(communes)})
    conn.execute(sa.text("ANALYZE check_plots"))
    plots = read_columns(conn, _PLOTS_OF_PART, {"effective": effective, "provinces": provinces}, COLUMNS)
    for column in ("area_m2", "overlap_share", "second_share"):
        plots[column] = pd.to_numeric(plots[column], errors="coerce")
    plots["plot_id"] = plots["plot_id"].astype(np.int64)
    plots["repaired"] = plots["repaired"].astype(bool)
    part_ids = np.sort(np.fromiter(conn.execute(sa.text("SELECT plot_id FROM check_part")).scalars(), np.int64))
    if not len(part_ids):
        raise NotFound(f"no plots in part {scope} of province {province} to check")
    conflicts = pd.DataFrame(conn.execute(sa.text(
        "SELECT kind, code, plot_ids FROM geoland.code_conflict ORDER BY id")).all(),
        columns=["kind", "code", "plot_ids"])
    found = run_checks(plots, shapely.from_wkb(plots.pop("wkb").to_numpy()), conflicts,
                       map_scale=map_scale, min_overlap_m2=min_overlap_m2, extra=register_findings(conn, provinces))
    plots = plots[_KEPT]
    found = found[found["plot_id"].isin(part_ids)]
    job = start_job(conn, "check", {"province": province, "commune": None, "scope": scope, "communes": len(communes),
                                    "effective": effective, "map_scale": map_scale, "min_overlap_m2": min_overlap_m2})
    changes = _store(conn, found, part_ids, job.id, _province_of(plots), provinces, orphans=False)
    checked = plots[plots["plot_id"].isin(part_ids)]
    counts = progress_counts(checked, found)
    totals = {"plots": len(part_ids), "findings": len(found), "plots_with_findings": int(found["plot_id"].nunique()),
              "by_type": {t: int(n) for t, n in found.groupby("type")["plot_id"].nunique().items()},
              "by_category": {c: int(found.loc[found["category"] == c, "plot_id"].nunique())
                              for c in ("missing", "conflict")},
              "campaign": campaign_totals(campaign_categories(found, checked)), "changes": changes}
    audit(conn, job, "plots.checked", entity="province", entity_id=province,
          detail={"part": scope, "findings": len(found), **changes})
    finish_job(conn, job, {"plots": len(part_ids), "context": len(plots), "findings": len(found), **changes})
    return {"job_id": job.id, "province": province, "scope": scope, "context": len(plots), "totals": totals,
            "counts": counts.to_dict("records")}


def finish_check(conn: Connection, *, province: str, parts: list[dict]) -> dict:
    """End the check of a province checked part by part (:func:`check_part`): what the province's check records.

    The findings of plots that no longer exist are closed and the campaign's counts per commune are recorded, the
    parts' counts added (each plot is in one part), under a ``check`` job on the province — as :func:`check`
    records them. Returns the province's report, shaped as :func:`check`'s.
    """
    from geoland.pipeline.assignments import latest_effective, plot_provinces
    from geoland.pipeline.progress import COUNTS, store_progress

    province = normalize_unit_code(province, "province")
    if not conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": lock_key("check", province)}).scalar():
        raise Conflict(f"a check of province {province} is already running (see `geoland.job`, kind check): "
                       "wait for it to finish")
    effective = latest_effective(conn)
    job = start_job(conn, "check", {"province": province, "commune": None, "scope": f"{province or '*'}/*",
                                    "effective": effective, "parts": [p["job_id"] for p in parts]})
    orphans = _close_orphans(conn, job.id, plot_provinces(conn, province, effective))
    table = pd.DataFrame([row for p in parts for row in p["counts"]], columns=["commune", *COUNTS])
    table = table.groupby("commune", sort=True)[list(COUNTS)].sum().reset_index()
    store_progress(conn, job.id, province, table)
    totals = [p["totals"] for p in parts]
    added = lambda key: {k: sum(t[key].get(k, 0) for t in totals)           # noqa: E731
                         for k in sorted({k for t in totals for k in t[key]})}
    by_type = added("by_type")
    changes = added("changes")
    changes["closed"] = changes.get("closed", 0) + orphans
    report = {"job_id": job.id, "province": province, "commune": None, "plots": sum(t["plots"] for t in totals),
              "effective": effective.isoformat() if effective else None, "campaign": added("campaign"),
              "findings": sum(t["findings"] for t in totals),
              "plots_with_findings": sum(t["plots_with_findings"] for t in totals),
              "by_type": {t: by_type[t] for t in FINDING_TYPES if by_type.get(t, 0)},
              "by_category": added("by_category"), "changes": changes, "parts": len(parts)}
    audit(conn, job, "plots.checked", entity="province", entity_id=province,
          detail={"parts": len(parts), "findings": report["findings"], **changes})
    finish_job(conn, job, {k: report[k] for k in ("plots", "findings", "plots_with_findings", "changes")})
    return report


# The same columns for a few plots, looked up by the plot (the planner cannot push "id = ANY" into a GROUP BY).
_PLOTS_BY_ID = _PLOTS_BY_PLOT.replace(
    "WHERE (%(provinces)s::text[] IS NULL OR p.province_code = ANY(%(provinces)s))", "WHERE p.id = ANY(%(ids)s)")
assert "ANY(%(ids)s)" in _PLOTS_BY_ID

# The plots whose findings may change with the given ones: the plots touching them (overlaps), sharing their
# map key (duplicate MX.SB.ST), their holder (one party by ID number), a certificate, or an open finding.
_PARTNERS = """
WITH s AS (SELECT id, geom, old_commune_code, sheet, plot_number FROM geoland.plot WHERE id = ANY(:ids))
SELECT o.id FROM s JOIN geoland.plot o ON o.geom && s.geom
    AND ST_SRID(o.geom) = ST_SRID(s.geom) AND ST_Intersects(o.geom, s.geom)
UNION SELECT o.id FROM s JOIN geoland.plot o
    ON (o.old_commune_code, o.sheet, o.plot_number) = (s.old_commune_code, s.sheet, s.plot_number)
UNION SELECT r2.plot_id FROM geoland.land_right r1 JOIN geoland.land_right r2 ON r2.party_id = r1.party_id
    WHERE r1.plot_id = ANY(:ids) AND r2.plot_id IS NOT NULL
UNION SELECT c2.plot_id FROM geoland.certificate_plot c1 JOIN geoland.certificate_plot c2 USING (certificate_id)
    WHERE c1.plot_id = ANY(:ids)
UNION SELECT unnest(f.related) FROM geoland.finding f WHERE f.plot_id = ANY(:ids) AND f.closed_by IS NULL
"""
RECHECK_CHUNK = 2_000        # changed plots re-checked together
RECHECK_LIMIT = 50_000       # plots one part of a quick re-check reads at most: beyond, run `geoland check`


def _partners(conn: Connection, ids: list[int]) -> set[int]:
    return set(conn.execute(sa.text(_PARTNERS), {"ids": ids}).scalars()) | set(ids)


def recheck(conn: Connection, plot_ids, *, job_id: int, map_scale: int = DEFAULT_MAP_SCALE,
            min_overlap_m2: float = DEFAULT_MIN_OVERLAP_M2) -> dict:
    """Check again the plots that changed and the plots whose findings they touch, at once (issue 17).

    The findings of the changed plots and of their partners (neighbours, the same map key, holder or
    certificate, an open finding naming them) are stored exactly as a full check would store them: each
    of those plots is checked among *its* partners too, so a finding it shares with a plot further away is
    neither lost nor doubled. Nothing else is read: a form save re-checks a few dozen plots.

    Returns
    -------
    dict
        ``plots`` re-checked and the changes (``opened``, ``reopened_changed``, ``closed``, ``unchanged``).
    """
    ids = sorted({int(i) for i in plot_ids})
    total = {"plots": 0, "opened": 0, "reopened_changed": 0, "closed": 0, "unchanged": 0}
    for start in range(0, len(ids), RECHECK_CHUNK):     # a large workbook in parts, each exact on its own
        done = _recheck(conn, ids[start:start + RECHECK_CHUNK], job_id=job_id, map_scale=map_scale,
                        min_overlap_m2=min_overlap_m2)
        total = {k: total[k] + done[k] for k in total}
    return total


def _recheck(conn: Connection, ids: list[int], *, job_id: int, map_scale: int, min_overlap_m2: float) -> dict:
    from geoland.pipeline.assignments import latest_effective

    scope = sorted(_partners(conn, ids))
    context = sorted(_partners(conn, scope))
    if len(context) > RECHECK_LIMIT:
        raise Conflict(f"{len(ids):,} changed plots touch {len(context):,} plots: more than a quick re-check "
                       f"reads ({RECHECK_LIMIT:,}); run `geoland check` for the province")
    plots = read_columns(conn, _PLOTS_BY_ID, {"effective": latest_effective(conn), "ids": context,
                                              "provinces": None}, COLUMNS)
    for column in ("area_m2", "overlap_share", "second_share"):
        plots[column] = pd.to_numeric(plots[column], errors="coerce")
    plots["plot_id"] = plots["plot_id"].astype(np.int64)
    plots["repaired"] = plots["repaired"].astype(bool)
    conflicts = pd.DataFrame(conn.execute(sa.text(
        "SELECT kind, code, plot_ids FROM geoland.code_conflict WHERE plot_ids && CAST(:ids AS bigint[]) ORDER BY id"),
        {"ids": context}).all(), columns=["kind", "code", "plot_ids"])
    conn.execute(sa.text("CREATE TEMP TABLE check_plots (plot_id bigint PRIMARY KEY) ON COMMIT DROP"))
    copy_csv(conn, "check_plots (plot_id)", [csv_bytes({"plot_id": plots["plot_id"].to_numpy()})])
    conn.execute(sa.text("ANALYZE check_plots"))
    found = run_checks(plots, shapely.from_wkb(plots.pop("wkb").to_numpy()), conflicts,
                       map_scale=map_scale, min_overlap_m2=min_overlap_m2, extra=register_findings(conn))
    in_scope = np.asarray(scope, dtype=np.int64)
    province_of = _province_of(plots)
    changes = _store(conn, found[found["plot_id"].isin(in_scope)], in_scope, job_id, province_of,
                     sorted(set(province_of.reindex(in_scope).dropna())), orphans=False)
    conn.execute(sa.text("DROP TABLE check_plots, check_scope"))
    return {"plots": len(scope), **changes}


@returns(Recheck)
def check_changed(conn: Connection, since: str, *, province: str | None = None) -> dict:
    """``geoland check --changed-since DATE|JOB``: the plots edited since (forms, workbooks, commands) re-checked.

    ``since`` is a date (``YYYY-MM-DD``: edits from that day on) or a job id (edits of that job and later).
    The same quick re-check as after a form save (:func:`recheck`), under a job of its own.

    Raises
    ------
    InvalidInput
        ``since`` is neither a date nor a job id.
    """
    if since.isascii() and since.isdigit():
        where, value = "e.job_id >= :v", int(since)
    else:
        try:
            value = dt.date.fromisoformat(since)
        except ValueError:
            raise InvalidInput(f"--changed-since {since!r}: a date YYYY-MM-DD or a job id") from None
        where = "e.at >= CAST(:v AS date)"
    province = normalize_unit_code(province, "province") if province else None
    edited = conn.execute(sa.text(f"""SELECT DISTINCT e.plot_id FROM geoland.plot_edit e JOIN geoland.plot p
        ON p.id = e.plot_id WHERE {where} AND (CAST(:p AS text) IS NULL OR p.province_code = :p)"""),
        {"v": value, "p": province}).scalars().all()
    if not edited:
        return {"job_id": None, "since": since, "edited_plots": 0, "plots": 0, "opened": 0, "reopened_changed": 0,
                "closed": 0, "unchanged": 0}
    job = start_job(conn, "check", {"changed_since": since, "province": province, "scope": "changed"})
    done = recheck(conn, edited, job_id=job.id)
    audit(conn, job, "plots.checked", entity="province", entity_id=province,
          detail={"changed_since": since, "edited_plots": len(edited), **done})
    finish_job(conn, job, {"edited_plots": len(edited), **done})
    return {"job_id": job.id, "since": since, "edited_plots": len(edited), **done}


def _text(values: pd.Series) -> np.ndarray:
    """Values as text for comparison, missing ones (None or NaN, as a merge leaves them) as ''."""
    values = values.astype(object)
    return values.where(values.notna(), "").astype(str).to_numpy(dtype=object)


def _pg_array(values) -> str:
    return "{" + ",".join(str(int(v)) for v in values) + "}"


def _province_of(plots: pd.DataFrame) -> pd.Series:
    """Plot id → the findings' partition key: the plot's province, ``''`` when it has none."""
    return pd.Series(plots["province_code"].fillna("").to_numpy(dtype=object), index=plots["plot_id"].to_numpy())


def _store(conn: Connection, found: pd.DataFrame, plot_ids: np.ndarray, job_id: int, province_of: pd.Series,
           provinces: list[str] | None, *, orphans: bool = True) -> dict:
    """Open the new findings, close the ones that no longer hold; returns the counts.

    ``province_of`` maps each plot read to its province (the new findings' partition); ``provinces`` are the
    partitions the findings of ``plot_ids`` are in (None: all). ``orphans``: also close the open findings of
    plots that no longer exist (a scan of every open finding of ``provinces``: a province's check does it, a
    quick re-check does not).
    """
    conn.execute(sa.text("CREATE TEMP TABLE check_scope (plot_id bigint PRIMARY KEY) ON COMMIT DROP"))
    copy_csv(conn, "check_scope (plot_id)", [csv_bytes({"plot_id": plot_ids})])
    current = read_columns(conn, "SELECT f.id, f.plot_id, f.type, f.related, f.value FROM geoland.finding f "
                                 "JOIN check_scope s USING (plot_id) WHERE f.closed_by IS NULL" + in_provinces("f"),
                           {"provinces": provinces}, ["id", "plot_id", "type", "related", "value"])
    current["plot_id"] = current["plot_id"].astype(np.int64)
    merged = found.merge(current, on=["plot_id", "type", "related"], how="outer", suffixes=("", "_was"),
                         indicator=True)
    same_value = _text(merged["value"]) == _text(merged["value_was"])
    unchanged = (merged["_merge"] == "both") & same_value
    changed = (merged["_merge"] == "both") & ~same_value
    gone = merged["_merge"] == "right_only"
    close = merged.loc[changed | gone, "id"].astype(np.int64).to_numpy()
    if len(close):
        conn.execute(sa.text("UPDATE geoland.finding f SET closed_by = :job WHERE f.id = ANY(:ids)"
                             + in_provinces("f", style="named")),
                     {"job": job_id, "ids": close.tolist(), "provinces": provinces})
    orphans = _close_orphans(conn, job_id, provinces) if orphans else 0
    new = merged[(merged["_merge"] == "left_only") | changed]
    def rows(new):                  # the new findings' CSV, 200,000 at a time (a province's first check: 1.7 M)
        plot_id = new["plot_id"].astype(np.int64).to_numpy()
        return csv_bytes({"plot_id": plot_id, "province_code": province_of.reindex(plot_id).fillna("").to_numpy(),
                          "type": new["type"].to_numpy(),
                          "category": new["category"].to_numpy(), "severity": new["severity"].to_numpy(),
                          "value": new["value"].astype(object).to_numpy(),
                          "tolerance": new["tolerance"].astype(object).to_numpy(),
                          "related": new["related"].map(_pg_array).to_numpy(dtype=object),
                          "job_id": np.full(len(new), job_id)})

    if len(new):
        copy_csv(conn, "geoland.finding (plot_id, province_code, type, category, severity, value, tolerance, "
                       "related, job_id)", (rows(new.iloc[i:i + 200_000]) for i in range(0, len(new), 200_000)))
    return {"opened": int((merged["_merge"] == "left_only").sum()), "reopened_changed": int(changed.sum()),
            "closed": int(gone.sum()) + orphans, "unchanged": int(unchanged.sum())}


def _close_orphans(conn: Connection, job_id: int, provinces: list[str] | None) -> int:
    """Close the open findings of plots that no longer exist (geoland deletes none; someone else may have)."""
    return conn.execute(sa.text(
        "UPDATE geoland.finding f SET closed_by = :job WHERE f.closed_by IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM geoland.plot p WHERE p.id = f.plot_id" + in_provinces("p", style="named")
        + ")" + in_provinces("f", style="named")), {"job": job_id, "provinces": provinces}).rowcount


def campaign_categories(found: pd.DataFrame, plots: pd.DataFrame) -> pd.DataFrame:
    """The campaign's category of each plot.

    The campaign's categories per plot: ``full_data`` (none of the five campaign fields missing), and for
    those the population database's answer (``authenticated`` / ``incorrect`` / ``unverifiable``, empty
    when not asked), else ``missing`` (≥ 1 field). Indexed like ``plots``.

    Parameters
    ----------
    found : DataFrame
        The findings (``plot_id``, ``type``).
    plots : DataFrame
        The plots (``plot_id``, ``verification``).

    Returns
    -------
    DataFrame
    """
    missing = found.loc[found["type"].isin(CAMPAIGN_FIELDS), "plot_id"].unique()
    full = ~plots["plot_id"].isin(missing).to_numpy()
    answer = plots["verification"].astype(object).where(plots["verification"].notna(), "").to_numpy()
    return pd.DataFrame({"plot_id": plots["plot_id"].to_numpy(), "full_data": full,
                         "verification": np.where(full, answer, "")}, index=plots.index)


def campaign_totals(categories: pd.DataFrame) -> dict:
    """The campaign's counts: full data, authenticated, incorrect, unverifiable, missing ≥ 1 field."""
    full = categories["full_data"]
    return {"full_data": int(full.sum()),
            **{s: int((full & (categories["verification"] == s)).sum()) for s in STATUSES},
            "missing_1_plus": int((~full).sum())}


def _counts(found: pd.DataFrame, plots: pd.DataFrame) -> dict:
    by_type = found.groupby("type")["plot_id"].nunique()
    return {"campaign": campaign_totals(campaign_categories(found, plots)), "findings": len(found),
            "plots_with_findings": int(found["plot_id"].nunique()),
            "by_type": {t: int(by_type.get(t, 0)) for t in FINDING_TYPES if by_type.get(t, 0)},
            "by_category": {c: int(found.loc[found["category"] == c, "plot_id"].nunique())
                            for c in ("missing", "conflict")}}


@returns(VerificationImport)
def import_verification(conn: Connection, path, *, progress: bool = True) -> VerificationImport:
    """Load the population database's answers (``geoland people import-verification``).

    Load the population database's answers: a CSV with the columns ``cccd`` (or ``id_number``/``so_cccd``),
    ``status`` (authenticated / incorrect / unverifiable, English or Vietnamese) and ``checked_at``
    (optional). Every row must be readable or nothing is loaded; errors name the line, never the number.

    Parameters
    ----------
    conn : Connection
        An open connection (all rows or none).
    path : str or Path
        The CSV file.
    progress : bool
        Draw the progress bar on standard error.

    Returns
    -------
    VerificationImport
        Rows read and loaded, counts per answer, land users matched, the job id.

    Raises
    ------
    InputFileError
        A missing column or an unreadable row (its line named, never the number).
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise InputFileError(path, "the file is empty: expected a header line `cccd,status[,checked_at]` and "
                                   "one line per answer") from None
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            raise InputFileError(path, f"{found[3]} fields where the header has {found[1]} (a value with a comma "
                                       "needs quotes)", line=int(found[2])) from None
        raise InputFileError(path, "cannot read it as a CSV") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"cannot read it as a UTF-8 CSV ({type(exc).__name__})") from exc
    if frame.empty:
        raise InputFileError(path, "no answers in it: only a header line")
    columns = {c.strip().lower(): c for c in frame.columns}
    number = next((columns[c] for c in ("cccd", "id_number", "so_cccd", "socccd") if c in columns), None)
    status = columns.get("status") or columns.get("trang_thai")
    if number is None or status is None:
        raise InputFileError(path, f"needs a `cccd` and a `status` column; it has {list(frame.columns)}")
    checked = columns.get("checked_at") or columns.get("ngay_xac_thuc")
    ids = frame[number].str.strip()
    words = frame[status].map(fold_vietnamese).map(_STATUS_WORDS)
    empty, unknown = (ids == "").to_numpy(), words.isna().to_numpy()
    first = int(np.flatnonzero(empty | unknown)[0]) if (empty | unknown).any() else None
    if first is not None and empty[first]:
        raise InputFileError(path, "empty CCCD", line=first + 2)
    if first is not None:
        raise InputFileError(path, f"status {frame[status].iat[first]!r} is not one of {list(STATUSES)}",
                             line=first + 2)
    dates = pd.to_datetime(frame[checked], errors="coerce").dt.date if checked else pd.Series([None] * len(frame))
    if checked:
        bad = dates.isna() & (frame[checked].str.strip() != "")
        if bad.any():
            raise InputFileError(path, f"checked_at {frame[checked][bad].iat[0]!r} is not a date",
                                 line=int(np.flatnonzero(bad.to_numpy())[0]) + 2)
    # An answer is about a number as the land register holds it: a malformed CCCD (11 digits) gets its answer
    # (usually "incorrect") and the check flags it apart; what is not digits at all is not an answer.
    shape = ids.str.fullmatch(r"[0-9]{6,12}").fillna(False).to_numpy() & ids.map(str.isascii).to_numpy()
    if not shape.all():
        raise InputFileError(path, "not an ID number: 6 to 12 digits expected (a CCCD has 12, a CMND 9)",
                             line=int(np.flatnonzero(~shape)[0]) + 2)
    table = pd.DataFrame({"id_number": ids, "status": words, "checked_at": dates, "line": np.arange(len(ids)) + 2})
    answers = table.drop_duplicates(["id_number", "status", "checked_at"])
    clash = answers["id_number"].duplicated(keep=False)
    if clash.any():                        # one number, two different answers: which is right is not ours to say
        first = answers[clash].sort_values("line")
        number = first["id_number"].iat[0]
        lines = first.loc[first["id_number"] == number, "line"].tolist()
        raise InputFileError(path, f"lines {lines[0]} and {lines[1]} give different answers for the same ID number "
                                   f"({int(clash.sum())} lines in such conflicts); keep one answer per number")
    table = answers.drop(columns="line")    # a number answered twice alike is loaded once
    job = start_job(conn, "people.import_verification", {"source": str(path), "rows": len(frame)})
    conn.execute(sa.text("CREATE TEMP TABLE verification_in (LIKE geoland.verification) ON COMMIT DROP"))
    copy_csv(conn, "verification_in (id_number, status, checked_at, source, job_id)", [csv_bytes({
        "id_number": table["id_number"].to_numpy(), "status": table["status"].to_numpy(),
        "checked_at": np.array([d.isoformat() if pd.notna(d) and d is not None else None for d in table["checked_at"]],
                               dtype=object),
        "source": np.full(len(table), path.name), "job_id": np.full(len(table), job.id)})])
    written = conn.execute(sa.text("""
        INSERT INTO geoland.verification SELECT * FROM verification_in
        ON CONFLICT (id_number) DO UPDATE SET status = EXCLUDED.status, checked_at = EXCLUDED.checked_at,
            source = EXCLUDED.source, job_id = EXCLUDED.job_id
        WHERE (geoland.verification.status, geoland.verification.checked_at)
              IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.checked_at)"""), {}).rowcount
    counts = {s: int((table["status"] == s).sum()) for s in STATUSES}
    # one answer per person: every plot, certificate and asset of the party with that number has it
    matched = conn.execute(sa.text("SELECT count(*) FROM geoland.party_personal pp JOIN verification_in v "
                                   "USING (id_number)")).scalar()
    report = {"job_id": job.id, "file": str(path), "rows": len(frame), "loaded": int(written), **counts,
              "matching_land_users": int(matched)}
    audit(conn, job, "people.verification_imported", entity="file", entity_id=path.name,
          detail={k: report[k] for k in ("rows", "loaded", *STATUSES, "matching_land_users")})
    finish_job(conn, job, {k: report[k] for k in ("rows", "loaded", *STATUSES)})
    return report


@returns(VerificationRequests)
def export_verification_requests(conn: Connection, out, *, province: str | None = None,
                                 since: dt.date | None = None) -> VerificationRequests:
    """The request batch for the national population database (``geoland people export-requests``).

    One row per person to verify (an individual or foreign party with an ID number, holding a right on a plot,
    a plot on paper or an asset of ``province``, or a member of a household that does): ``cccd``, ``name``,
    ``birth_date``, ``birth_year``; each
    number once; only those with no answer yet, or none since ``since``. The file is personal data by purpose
    (the population database needs the numbers and names): it is written readable by its owner only and the
    export is audited.
    """
    from geoland.pipeline.files import write_private_csv

    province = normalize_unit_code(province, "province") if province else None
    rows = conn.execute(sa.text("""
        WITH holders AS (
            SELECT DISTINCT r.party_id FROM geoland.land_right r
            LEFT JOIN geoland.plot p ON p.id = r.plot_id
            LEFT JOIN geoland.paper_plot q ON q.id = r.paper_plot_id
            LEFT JOIN geoland.asset_plot ap ON ap.asset_id = r.asset_id
            LEFT JOIN geoland.plot ao ON ao.id = ap.plot_id
            WHERE CAST(:p AS text) IS NULL OR :p IN (p.province_code, q.province_code, ao.province_code)),
        people AS (SELECT party_id FROM holders
                   UNION SELECT m.member_id FROM geoland.household_member m
                         JOIN holders h ON h.party_id = m.household_id)
        SELECT pp.id_number AS cccd, pp.name, pp.birth_date, pp.birth_year, v.checked_at AS last_checked
        FROM people JOIN geoland.party_personal pp USING (party_id) JOIN geoland.party y ON y.id = pp.party_id
        LEFT JOIN geoland.verification v ON v.id_number = pp.id_number
        WHERE y.kind IN ('individual', 'foreign') AND pp.id_number IS NOT NULL
          AND (v.id_number IS NULL OR (CAST(:since AS date) IS NOT NULL AND (v.checked_at IS NULL
                                                                          OR v.checked_at < CAST(:since AS date))))
        ORDER BY pp.id_number"""), {"p": province, "since": since}).mappings().all()
    frame = pd.DataFrame(rows, columns=["cccd", "name", "birth_date", "birth_year", "last_checked"])
    write_private_csv(frame.drop(columns="last_checked"), out)
    job = start_job(conn, "people.export_requests", {"province": province, "since": str(since) if since else None,
                                                     "out": str(out)})
    counts = {"people": len(frame), "asked_before": int(frame["last_checked"].notna().sum())}
    audit(conn, job, "people.requests_exported", entity="file", entity_id=Path(out).name,
          detail={"province": province, **counts})
    finish_job(conn, job, counts)
    return {"job_id": job.id, "out": str(out), "province": province, "since": str(since) if since else None,
            **counts}
