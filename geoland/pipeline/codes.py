"""``geoland codes issue``: plot identification codes, issued once, commune by commune.

Each commune's codes are committed in their own transaction, so a job killed at any moment loses at most
the commune it was on; running it again issues the codes still missing, and because a code depends only on
its plot's polygon the end state is the one an uninterrupted run reaches. One job per province at a time
(a PostgreSQL advisory lock); a second one is refused with the running job's number. Duplicate codes and
stored codes whose cell has left its plot are recorded as conflicts, never resolved by changing a code.

A code retired with a forgotten import (``geoland plots forget``) is never issued to another plot: a plot
whose code would be one gets none and a ``retired_code`` conflict; the same plot imported again (the same
geometry within 1 cm) gets its code back, recorded on the forgotten plot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa

from geoland.progress import shown
from geoland.results import CodeIssue, returns
from geoland.store.db import copy_csv, csv_bytes, read_columns
from geoland.store.jobs import batch_engine, batch_job, part_scope, write_per_unit
from geoland.store.partitions import in_communes
from identifiers import normalize_unit_code
from identifiers.geohash import decode
from identifiers.plotcode import TOLERANCE, plot_identification_codes
from identifiers.vn2000 import transformer


@returns(CodeIssue)
def issue_codes(url: str | None = None, *, province: str | None = None, progress: bool = True,
                communes: list[str] | None = None) -> CodeIssue:
    """Issue codes to the plots (of one province, or all) that have none; record conflicts.

    Parameters
    ----------
    url : str, optional
        The database (default: ``GEOLAND_DATABASE_URL`` or the embedded cluster).
    province : str, optional
        Only the plots of this province; all plots when None.
    progress : bool
        Draw the progress bar on standard error.
    communes : list of str, optional
        Only the plots of these old communes of ``province`` (``''``: without one), one part of a province split
        by ``geoland run --split-above``, under a job and lock of its own. Duplicate codes are then not sought:
        the province's are, once every part has its codes (:func:`record_duplicates`).

    Returns
    -------
    CodeIssue
        Codes issued, plots with a code, communes written, conflicts, the job id and the jobs it resumed.

    Raises
    ------
    Conflict
        Another code issue of the same province is running.
    """
    province = normalize_unit_code(province, "province") if province else None
    scope = part_scope(province, communes) if communes is not None else province
    with batch_engine(url) as engine, batch_job(engine, "codes.issue", scope, {"tolerance": TOLERANCE},
                                                within=province if communes is not None else None) as job:
        with engine.connect() as conn:
            todo = _plots_without_code(conn, province, progress, communes)
        codes = np.empty(len(todo), dtype=object)
        outside = []      # a code's cell centre outside its plot: only possible on the plot's edge
        for srid, group in todo.groupby("srid"):
            geoms = shapely.from_wkb(group["wkb"].to_numpy())
            codes[group.index.to_numpy()] = plot_identification_codes(geoms, f"EPSG:{srid}")
            outside += _cells_outside(group["plot_id"].to_numpy(), codes[group.index.to_numpy()], geoms, srid)
        todo["code"] = codes
        todo["reinstates"], withheld = _retired(engine, todo)
        todo = todo[~todo["plot_id"].isin([plot for plot, _ in withheld])]
        units = todo.groupby("commune", sort=True)       # one commune per unit
        issued = write_per_unit(engine, (rows for _, rows in units),
                                lambda conn, rows: _write_codes(conn, rows, job.id),
                                total=len(todo), label="codes", progress=progress)
        with engine.begin() as conn:
            conflicts = _record_conflicts(conn, province, job.id, outside, withheld, communes)
            total = conn.execute(sa.text(
                "SELECT count(*) FROM geoland.plot_code c JOIN geoland.plot p ON p.id = c.plot_id "
                "WHERE CAST(:p AS text) IS NULL OR (p.province_code = :p AND c.province_code = :p)"),
                {"p": province}).scalar()
        job.counts = {"issued": issued, "with_code": total, "communes": int(units.ngroups),
                      "reinstated": int((todo["reinstates"] >= 0).sum()), "withheld_retired": len(withheld),
                      **conflicts}
    return {"province": province, "job_id": job.id, "resumed": job.resumes, "tolerance_m": TOLERANCE,
            **job.counts}


def _plots_without_code(conn, province: str | None, progress: bool, communes: list[str] | None = None,
                        ) -> pd.DataFrame:
    """Plots that have no code yet: id, old commune (the unit of work), SRID, WKB; one binary read."""
    where, on = ("AND p.province_code = %(p)s", "AND c.province_code = %(p)s") if province else ("", "")
    where += in_communes("p")
    total = conn.execute(sa.text("SELECT count(*) FROM geoland.plot p LEFT JOIN geoland.plot_code c "
                                 "ON c.plot_id = p.id AND (CAST(:p AS text) IS NULL OR c.province_code = :p) "
                                 "WHERE c.plot_id IS NULL AND (CAST(:p AS text) IS NULL OR p.province_code = :p)"
                                 + in_communes("p", style="named")),
                         {"p": province, "communes": communes}).scalar() if shown(progress) else None
    frame = read_columns(conn, f"""
        SELECT p.id, coalesce(p.province_code, ''), coalesce(p.old_commune_code, ''), ST_SRID(p.geom),
               ST_AsBinary(p.geom)
        FROM geoland.plot p LEFT JOIN geoland.plot_code c ON c.plot_id = p.id {on}
        WHERE c.plot_id IS NULL {where}""", {"p": province, "communes": communes},
                         ["plot_id", "province_code", "commune", "srid", "wkb"],
                         label="plots read", total=total, progress=progress)
    return frame.astype({"plot_id": np.int64, "srid": np.int64})


def _retired(engine, todo: pd.DataFrame) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Plots whose new code is a retired one.

    For each plot the forgotten plot whose code it takes back (the same geometry within 1 cm), or -1; and
    the (plot, code) of the others, which get no code.
    """
    reinstates = np.full(len(todo), -1, dtype=np.int64)
    with engine.connect() as conn:
        retired = read_columns(conn, "SELECT plot_id, code, ST_SRID(geom), ST_AsBinary(geom) FROM "
                                     "geoland.forgotten_plot WHERE code IS NOT NULL AND reinstated_plot_id IS NULL",
                               {}, ["forgotten", "code", "old_srid", "old_wkb"])
    if retired.empty or todo.empty:
        return reinstates, []
    pairs = todo.reset_index(drop=True).reset_index().merge(retired, on="code")
    same = (pairs["srid"].to_numpy() == pairs["old_srid"].to_numpy()) & (shapely.hausdorff_distance(
        shapely.from_wkb(pairs["wkb"].to_numpy()), shapely.from_wkb(pairs["old_wkb"].to_numpy())) < 0.01)
    back = pairs[same].drop_duplicates("index").drop_duplicates("forgotten")
    reinstates[back["index"].to_numpy()] = back["forgotten"].to_numpy()
    others = pairs[~pairs["index"].isin(back["index"])].drop_duplicates("index")
    return reinstates, list(zip(others["plot_id"].astype(int).tolist(), others["code"].tolist()))


def _write_codes(conn, rows: pd.DataFrame, job_id: int) -> int:
    back = rows[rows["reinstates"] >= 0]
    if len(back):
        conn.execute(sa.text("""UPDATE geoland.forgotten_plot f SET reinstated_plot_id = r.plot, reinstated_by = :job
            FROM unnest(CAST(:forgotten AS bigint[]), CAST(:plots AS bigint[])) AS r (forgotten, plot)
            WHERE f.plot_id = r.forgotten"""), {"job": job_id, "forgotten": back["reinstates"].tolist(),
                                                 "plots": back["plot_id"].tolist()})
    copy_csv(conn, "geoland.plot_code (plot_id, province_code, code, job_id, tolerance)", [csv_bytes({
        "plot_id": rows["plot_id"].to_numpy(), "province_code": rows["province_code"].to_numpy(),
        "code": rows["code"].to_numpy(), "job_id": np.full(len(rows), job_id),
        "tolerance": np.full(len(rows), TOLERANCE)})])
    return len(rows)


def _cells_outside(plot_ids: np.ndarray, codes: np.ndarray, geoms: np.ndarray, srid: int) -> list[tuple[int, str]]:
    """(plot, code) whose code's cell centre, back in the plot's CRS, is not inside the plot."""
    lon, lat = decode(codes)
    x, y = transformer("EPSG:4326", f"EPSG:{srid}").transform(lon, lat)
    gone = ~shapely.contains_xy(geoms, x, y)
    return list(zip(plot_ids[gone].tolist(), codes[gone].tolist()))


def record_duplicates(url: str | None, *, province: str) -> dict:
    """Seek the duplicate codes of a province whose parts were coded one by one (``geoland run --split-above``).

    The step :func:`issue_codes` leaves out for a part: run once every part has its codes, so that two plots of
    different parts sharing a code are found, as one province's issue finds them. A job of its own
    (``codes.issue`` on the province, ``duplicates_only``).
    """
    province = normalize_unit_code(province, "province")
    with batch_engine(url) as engine, batch_job(engine, "codes.issue", province,
                                                {"tolerance": TOLERANCE, "duplicates_only": True}) as job:
        with engine.begin() as conn:
            found = _record_duplicates(conn, province, job.id)
        job.counts = {"new_conflicts": found}
    return {"province": province, "job_id": job.id, "new_conflicts": found}


def _record_duplicates(conn, province: str | None, job_id: int) -> int:
    """Record the codes held by more than one plot (of ``province``, or anywhere); returns the new ones."""
    return conn.execute(sa.text("""
        INSERT INTO geoland.code_conflict (kind, code, plot_ids, job_id)
        SELECT 'duplicate_code', c.code, array_agg(c.plot_id ORDER BY c.plot_id), :job
        FROM geoland.plot_code c JOIN geoland.plot p ON p.id = c.plot_id
        WHERE c.code IN (SELECT code FROM geoland.plot_code k WHERE CAST(:p AS text) IS NULL OR k.province_code = :p
                         GROUP BY code HAVING count(*) > 1)
          AND (CAST(:p AS text) IS NULL OR (p.province_code = :p AND c.province_code = :p))
        GROUP BY c.code HAVING count(*) > 1
        ON CONFLICT (kind, code, plot_ids) DO NOTHING"""), {"p": province, "job": job_id}).rowcount


def _record_conflicts(conn, province: str | None, job_id: int, outside: list[tuple[int, str]],
                      withheld: list[tuple[int, str]] = (), communes: list[str] | None = None) -> dict:
    """Record duplicate codes and code cells outside their plot.

    Record duplicate codes, and the cells outside their plot: ``outside`` for the codes this job issued
    (checked on the geometries it had read), the others — earlier jobs', an interrupted attempt's included —
    checked again on the stored geometries, which an editor may have changed since their code was issued.
    With a province, duplicates are sought among its plots (its partition): two provinces' plots sharing a
    2-cm cell would overlap across a province border; ``codes issue`` without a province seeks them everywhere.
    A part of a province (``communes``) checks its own plots' cells and leaves the duplicates to
    :func:`record_duplicates`.
    """
    where = "AND p.province_code = :p" if province else ""
    duplicates = _record_duplicates(conn, province, job_id) if communes is None else 0
    frame = read_columns(conn, """
        SELECT c.plot_id, c.code, ST_SRID(p.geom), ST_AsBinary(p.geom) FROM geoland.plot_code c
        JOIN geoland.plot p ON p.id = c.plot_id WHERE c.job_id <> %(job)s""" +
                         (" AND p.province_code = %(p)s AND c.province_code = %(p)s" if province else "")
                         + in_communes("p"), {"p": province, "job": job_id, "communes": communes},
                         ["plot_id", "code", "srid", "wkb"])
    outside = list(outside)
    for srid, group in frame.groupby("srid"):
        outside += _cells_outside(group["plot_id"].to_numpy(), group["code"].to_numpy(),
                                  shapely.from_wkb(group["wkb"].to_numpy()), int(srid))
    moved = 0
    for kind, found in (("cell_outside_plot", outside), ("retired_code", withheld)):
        for plot_id, code in found:
            moved += conn.execute(sa.text(
                "INSERT INTO geoland.code_conflict (kind, code, plot_ids, job_id) VALUES (:kind, :c, "
                "ARRAY[CAST(:i AS bigint)], :job) ON CONFLICT (kind, code, plot_ids) DO NOTHING"),
                {"kind": kind, "c": code, "i": plot_id, "job": job_id}).rowcount
    total = conn.execute(sa.text(f"""SELECT kind, count(*) FROM geoland.code_conflict k
        WHERE EXISTS (SELECT 1 FROM geoland.plot p WHERE p.id = ANY(k.plot_ids) {where}) GROUP BY kind"""),
        {"p": province}).all()
    return {"new_conflicts": duplicates + moved, "conflicts": {k: int(n) for k, n in total}}
