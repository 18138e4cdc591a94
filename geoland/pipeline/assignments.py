"""``geoland reassign``: the reassignment rule (boundaries.reassign) run on the plots in PostGIS.

Plots and communes are read as WKB, assigned in memory by the one implementation of the rule, and only the
answers that are new or changed since the last run are written (COPY), with the job id, one old commune per
transaction; earlier answers stay as history. ``--dry-run`` computes and compares, and writes nothing.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from boundaries.reassign import (
    DEFAULT_MIN_SHARE,
    DEFAULT_SLIVER_M2,
    reassign_plots,
    summarise,
)
from geoland.errors import NotFound
from geoland.pipeline.units import current_boundaries
from geoland.progress import shown
from geoland.results import Reassignment, returns
from geoland.store.db import copy_csv, csv_bytes, read_columns
from geoland.store.jobs import audit, batch_engine, job_lock, locked_job, part_scope, write_per_unit
from geoland.store.partitions import in_communes, in_provinces
from identifiers import normalize_unit_code

_FIELDS = ["commune_code", "overlap_share", "status", "second_code", "second_share", "legal_mismatch"]


@returns(Reassignment)
def reassign(url: str | None = None, *, province: str | None = None, effective: dt.date | None = None,
             dry_run: bool = False, min_share: float = DEFAULT_MIN_SHARE, sliver_m2: float = DEFAULT_SLIVER_M2,
             progress: bool = True, communes: list[str] | None = None) -> Reassignment:
    """Assign the plots (of one province, or all) to the communes in force on ``effective``.

    A batch job: one at a time per province (advisory lock); the answers are computed for all plots at
    once, then written one old commune per transaction, so a killed run loses at most the commune it was
    writing and running it again writes the rest (what was written is then unchanged) and ends as an
    uninterrupted run would.

    Parameters
    ----------
    url : str, optional
        The database (default: ``GEOLAND_DATABASE_URL`` or the embedded cluster).
    province : str, optional
        Only the plots of this new province (2 digits); all plots when None.
    effective : date, optional
        Communes in force on this date; default the latest boundaries loaded.
    dry_run : bool
        Compute and compare with the current assignment; write nothing.
    min_share, sliver_m2 : float
        A plot is *inside* a commune holding at least ``min_share`` of it, or all of it but ``sliver_m2``.
    progress : bool
        Draw the progress bar on standard error.
    communes : list of str, optional
        Only the plots of these old communes of ``province`` (``''``: the plots without one): one part of a
        province split by ``geoland run --split-above``, under a job and lock of its own
        (:func:`geoland.store.jobs.part_scope`).

    Returns
    -------
    Reassignment
        Status counts, per-commune counts, changes against the current assignment, the job id.

    Raises
    ------
    NotFound
        No boundaries or no plots to reassign.
    Conflict
        Another reassignment of the same province is running.
    """
    province = normalize_unit_code(province, "province") if province else None
    scope = part_scope(province, communes) if communes is not None else province
    with batch_engine(url) as engine, job_lock(engine, "reassign", scope,
                                               within=province if communes is not None else None):
        with engine.connect() as conn:
            report, writes, effective = _compute(conn, province, effective, min_share, sliver_m2, progress,
                                                 communes)
        report["dry_run"] = dry_run
        if dry_run:
            return report | {"job_id": None, "written": 0}
        if writes.empty and not _killed(engine, scope):
            # Nothing to write, nothing to record: running it again leaves the database as it was. (A killed job
            # that had written everything is resumed below: a job writing nothing, naming it.)
            return report | {"job_id": None, "written": 0}
        params = {"province": province, "effective": effective, "min_share": min_share, "sliver_m2": sliver_m2}
        with locked_job(engine, "reassign", scope, params) as job:
            units = writes.groupby(writes["old_commune_code"].fillna(""), sort=True)   # one old commune per unit
            written = write_per_unit(engine, (rows for _, rows in units),
                                     lambda conn, rows: _write(conn, rows, job.id, effective),
                                     total=len(writes), label="assignments written", progress=progress)
            with engine.begin() as conn:
                audit(conn, job, "plots.reassigned", entity="province", entity_id=province,
                      detail={"effective": effective.isoformat(), "written": written, **report["changes"],
                              "resumes": job.resumes})
            job.counts = {"plots": report["plots"], "status": report["status"], "written": written,
                          "communes": int(units.ngroups), "legal_mismatch": report.get("legal_mismatch", 0)}
        return report | {"job_id": job.id, "written": written, "resumed": job.resumes}


def _killed(engine, scope: str | None) -> bool:
    """Whether a reassignment of ``scope`` is still marked running: killed, since the caller holds the lock."""
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM geoland.job WHERE kind = 'reassign' "
                                    "AND state = 'running' AND params->>'scope' IS NOT DISTINCT FROM :s)"),
                            {"s": scope}).scalar()


def _compute(conn: Connection, province, effective, min_share, sliver_m2, progress, part=None):
    """The answers for every plot and those of them that are new or changed (read only)."""
    communes, effective, _ = current_boundaries(conn, effective=effective)
    communes = communes[communes["code"].notna()]
    if effective is None or communes.empty:
        raise NotFound("no commune boundaries loaded: run `geoland units load-boundaries` first")
    plots = _read_plots(conn, plot_provinces(conn, province, effective), progress, part)
    if not len(plots):
        raise NotFound(f"no plots{' of province ' + province if province else ''} to reassign: "
                           "import some with `geoland plots import`")
    conversion = _conversion(conn, effective)
    parts = []
    for srid, group in plots.groupby("srid", sort=True):
        frame = gpd.GeoDataFrame(group[["plot_id", "old_commune_code"]], crs=f"EPSG:{srid}",
                                 geometry=shapely.from_wkb(group["wkb"].to_numpy()))
        result = reassign_plots(frame, communes, old_code_column="old_commune_code", conversion=conversion,
                                min_share=min_share, sliver_m2=sliver_m2)
        result.insert(0, "plot_id", group["plot_id"].to_numpy())
        result.insert(1, "old_commune_code", group["old_commune_code"].to_numpy())
        result.insert(2, "province_code", group["province_code"].to_numpy())
        parts.append(result)
    result = pd.concat(parts, ignore_index=True).sort_values("plot_id", ignore_index=True)
    changes = _changes(conn, result, effective, plot_provinces(conn, province, effective), part)
    report = {"effective": effective.isoformat(), "province": province,
              **summarise(result.drop(columns=["plot_id", "old_commune_code", "province_code"])),
              "changes": {k: int(v) for k, v in changes["change"].value_counts().items()}}
    report["changes"] = {k: report["changes"].get(k, 0) for k in ("new", "changed", "unchanged")}
    report["examples"] = [_example(r) for r in changes[changes["change"] != "unchanged"].head(20).itertuples()]
    return report, changes[changes["change"] != "unchanged"], effective


def latest_effective(conn: Connection) -> dt.date | None:
    """The date of the latest reorganisation the plots were assigned for (None before any `reassign`)."""
    return conn.execute(sa.text("SELECT max(effective) FROM geoland.plot_assignment")).scalar()


def plot_provinces(conn: Connection, province: str | None, effective: dt.date | None) -> list[str] | None:
    """The province codes the plots of a new province carry.

    The province codes carried by the plots of new province ``province``: itself and the old
    provinces merged into it on ``effective``.

    Parameters
    ----------
    conn : Connection
        An open connection.
    province : str or None
        A new province code; None for all plots.
    effective : date or None
        The reorganisation.

    Returns
    -------
    list of str or None
        None when ``province`` is None (no filter).
    """
    if province is None:
        return None
    rows = conn.execute(sa.text("""
        SELECT o.code FROM geoland.unit_change c
        JOIN geoland.admin_unit o ON o.id = c.old_unit_id JOIN geoland.admin_unit n ON n.id = c.new_unit_id
        WHERE n.level = 'province' AND n.code = :p AND c.effective = :e"""), {"p": province, "e": effective})
    return sorted({province, *(r[0] for r in rows)})


def _read_plots(conn: Connection, provinces: list[str] | None, progress: bool,
                communes: list[str] | None = None) -> pd.DataFrame:
    """Plot ids, old commune codes, SRIDs and WKB (of ``communes`` when given), read in binary."""
    total = conn.execute(sa.text("SELECT count(*) FROM geoland.plot WHERE (CAST(:p AS text[]) IS NULL "
                                 "OR province_code = ANY(:p))" + in_communes("plot", style="named")),
                         {"p": provinces, "communes": communes}).scalar() \
        if shown(progress) else None          # the bar's count only when a bar is drawn
    where = "WHERE province_code = ANY(%(p)s)" if provinces else "WHERE true"
    frame = read_columns(conn, f"SELECT id, coalesce(province_code, ''), old_commune_code, ST_SRID(geom), "
                               f"ST_AsBinary(geom) FROM geoland.plot {where}{in_communes('plot')} ORDER BY id",
                         {"p": provinces, "communes": communes},
                         ["plot_id", "province_code", "old_commune_code", "srid", "wkb"],
                         label="plots read", total=total, progress=progress)
    return frame.astype({"plot_id": np.int64, "srid": np.int64})


def _conversion(conn: Connection, effective: dt.date) -> dict[str, list[str]]:
    rows = conn.execute(sa.text("""
        SELECT o.code, array_agg(n.code) FROM geoland.unit_change c
        JOIN geoland.admin_unit o ON o.id = c.old_unit_id JOIN geoland.admin_unit n ON n.id = c.new_unit_id
        WHERE o.level = 'commune' AND c.effective = :e GROUP BY o.code"""), {"e": effective}).all()
    return {code: list(news) for code, news in rows}


def _changes(conn: Connection, result: pd.DataFrame, effective: dt.date, provinces: list[str] | None,
             communes: list[str] | None = None) -> pd.DataFrame:
    """The result with a ``change`` column: new, changed or unchanged against the current assignment."""
    part = "" if communes is None else (
        " AND EXISTS (SELECT 1 FROM geoland.plot p WHERE p.id = a.plot_id AND p.province_code = a.province_code"
        + in_communes("p") + ")")
    current = read_columns(conn,
        "SELECT a.plot_id, a.commune_code, a.overlap_share, a.status, a.second_code, a.second_share, "
        "a.legal_mismatch FROM geoland.plot_assignment_current a WHERE a.effective = %(e)s"
        + in_provinces("a") + part, {"e": effective, "provinces": provinces, "communes": communes},
        ["plot_id", *_FIELDS])
    current["plot_id"] = current["plot_id"].astype(np.int64)
    merged = result.merge(current, on="plot_id", how="left", suffixes=("", "_was"), indicator=True)
    same = np.ones(len(merged), bool)
    for field in _FIELDS:
        now, was = merged[field], merged[f"{field}_was"]
        if field.endswith("share"):
            equal = np.isclose(now.astype(float), was.astype(float), rtol=0, atol=1e-9)
        else:
            equal = (now.astype(object).where(now.notna(), None).to_numpy()
                     == was.astype(object).where(was.notna(), None).to_numpy())
        same &= np.asarray(equal, dtype=bool)
    merged["change"] = np.where(merged["_merge"] == "left_only", "new", np.where(same, "unchanged", "changed"))
    return merged


def _example(row) -> dict:
    return {"plot_id": int(row.plot_id), "change": row.change, "was": row.commune_code_was
            if isinstance(row.commune_code_was, str) else None, "now": row.commune_code, "status": row.status}


def _write(conn: Connection, rows: pd.DataFrame, job_id: int, effective: dt.date) -> int:
    copy_csv(conn, "geoland.plot_assignment (job_id, effective, plot_id, province_code, commune_code, "
                   "overlap_share, status, second_code, second_share, legal_mismatch)", [csv_bytes({
                       "job_id": np.full(len(rows), job_id), "effective": np.full(len(rows), effective.isoformat()),
                       "plot_id": rows["plot_id"].to_numpy(), "province_code": rows["province_code"].to_numpy(),
                       "commune_code": rows["commune_code"],
                       "overlap_share": rows["overlap_share"].to_numpy(), "status": rows["status"],
                       "second_code": rows["second_code"], "second_share": rows["second_share"].to_numpy(),
                       "legal_mismatch": rows["legal_mismatch"].astype("boolean") if "legal_mismatch" in rows
                       else np.full(len(rows), None)})])
    return len(rows)


def flagged_plots(conn: Connection, *, province: str | None = None, effective: dt.date) -> pd.DataFrame:
    """The plots to review after a reassignment.

    The plots a reviewer must look at after a reassignment: straddling, outside, or in a commune the
    conversion table does not allow for their old commune; with their MX.SB.ST and the allowed communes.

    Parameters
    ----------
    conn : Connection
        An open connection.
    province : str, optional
        Only this (new) province.
    effective : date
        The reorganisation whose assignments are read.

    Returns
    -------
    DataFrame
        One row per plot: its MX.SB.ST, status, commune and share, the second commune, the allowed ones.
    """
    province = normalize_unit_code(province, "province") if province else None
    frame = read_columns(conn, """
        SELECT a.plot_id, p.legacy_mx AS mx,
               a.status, a.commune_code, round(a.overlap_share::numeric, 4) AS overlap_share, a.second_code,
               round(a.second_share::numeric, 4) AS second_share, a.legal_mismatch,
               (SELECT string_agg(DISTINCT n.code, '|' ORDER BY n.code) FROM geoland.unit_change c
                  JOIN geoland.admin_unit o ON o.id = c.old_unit_id JOIN geoland.admin_unit n ON n.id = c.new_unit_id
                 WHERE o.level = 'commune' AND o.code = p.old_commune_code AND c.effective = a.effective) AS allowed
        FROM geoland.plot_assignment_current a JOIN geoland.plot_mx p ON p.id = a.plot_id
        WHERE a.effective = %(e)s AND (a.status <> 'inside' OR a.legal_mismatch)
          AND (%(p)s::text IS NULL OR p.province_code = ANY(%(provinces)s::text[]))""" + in_provinces("a") + """
        ORDER BY a.plot_id""", {"e": effective, "p": province,
                                 "provinces": plot_provinces(conn, province, effective)},
        ["plot_id", "mx", "status", "commune_code", "overlap_share", "second_code", "second_share",
         "legal_mismatch", "allowed"])
    frame["plot_id"] = frame["plot_id"].astype(np.int64)
    return frame
