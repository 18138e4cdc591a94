"""``geoland codes issue``: plot identification codes, issued once, commune by commune.

Each commune's codes are committed in their own transaction, so a job killed at any moment loses at most
the commune it was on; running it again issues the codes still missing, and because a code depends only on
its plot's polygon the end state is the one an uninterrupted run reaches. One job per province at a time
(a PostgreSQL advisory lock); a second one is refused with the running job's number. Duplicate codes and
stored codes whose cell has left its plot are recorded as conflicts, never resolved by changing a code.
"""

from __future__ import annotations

import json
import zlib

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa

from identifiers import normalize_unit_code
from identifiers.geohash import decode
from identifiers.plotcode import TOLERANCE, plot_identification_codes
from identifiers.vn2000 import transformer

from .db import copy_csv, csv_bytes, make_engine, require_migrated
from .errors import GeolandError
from .jobs import Job, audit, current_actor
from .progress import progress_bar


def _lock_key(kind: str, province: str | None) -> int:
    return zlib.crc32(f"geoland:{kind}:{province or '*'}".encode())


def issue_codes(url: str | None = None, *, province: str | None = None, progress: bool = True) -> dict:
    """Issue codes to the plots (of one province, or all) that have none; record conflicts."""
    province = normalize_unit_code(province, "province") if province else None
    engine = make_engine(url)
    try:
        with engine.connect() as lock_conn:
            require_migrated(lock_conn)
            key = _lock_key("codes.issue", province)
            if not lock_conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                running = lock_conn.execute(sa.text(
                    "SELECT id, actor, started_at FROM geoland.job WHERE kind = 'codes.issue' AND state = 'running' "
                    "AND params->>'province' IS NOT DISTINCT FROM :p ORDER BY id DESC LIMIT 1"), {"p": province}).first()
                who = f"job {running.id} ({running.actor}, since {running.started_at:%Y-%m-%d %H:%M})" if running else "another job"
                raise GeolandError(f"codes are being issued for {'province ' + province if province else 'all plots'} "
                                   f"by {who}: wait for it to finish")
            try:
                return _issue(engine, province, progress)
            finally:
                lock_conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                lock_conn.commit()
    finally:
        engine.dispose()


def _issue(engine, province: str | None, progress: bool) -> dict:
    where = "AND p.province_code = :p" if province else ""
    with engine.begin() as conn:
        # We hold the lock, so a job still marked running for this scope was killed: say so.
        interrupted = conn.execute(sa.text(
            "UPDATE geoland.job SET state = 'failed', finished_at = clock_timestamp(), message = 'interrupted' "
            "WHERE kind = 'codes.issue' AND state = 'running' AND params->>'province' IS NOT DISTINCT FROM :p "
            "RETURNING id"), {"p": province}).scalars().all()
        job_id = conn.execute(sa.text(
            "INSERT INTO geoland.job (kind, params, state, actor) VALUES ('codes.issue', CAST(:params AS jsonb), "
            "'running', :actor) RETURNING id"),
            {"params": json.dumps({"province": province, "tolerance": TOLERANCE, "resumes": interrupted}),
             "actor": current_actor()}).scalar_one()
        todo = conn.execute(sa.text(
            f"SELECT coalesce(p.old_commune_code, '') AS commune, count(*) FROM geoland.plot p "
            f"LEFT JOIN geoland.plot_code c ON c.plot_id = p.id WHERE c.plot_id IS NULL {where} "
            f"GROUP BY 1 ORDER BY 1"), {"p": province}).all()
    issued = 0
    with progress_bar(sum(n for _, n in todo), "codes", enabled=progress) as bar:
        for commune, _ in todo:
            with engine.begin() as conn:          # one transaction per commune: the unit of resumption
                issued += _issue_commune(conn, commune, province, job_id)
            bar.update(_)
    with engine.begin() as conn:
        conflicts = _record_conflicts(conn, province, job_id)
        total = conn.execute(sa.text(f"SELECT count(*) FROM geoland.plot_code c JOIN geoland.plot p "
                                     f"ON p.id = c.plot_id WHERE true {where}"), {"p": province}).scalar()
        counts = {"issued": issued, "with_code": total, "communes": len(todo), **conflicts}
        conn.execute(sa.text("UPDATE geoland.job SET state = 'succeeded', finished_at = clock_timestamp(), "
                             "counts = CAST(:c AS jsonb) WHERE id = :id"), {"c": json.dumps(counts), "id": job_id})
        audit(conn, Job(job_id, "codes.issue", current_actor()), "codes.issued", entity="province",
              entity_id=province, detail=counts)
    return {"province": province, "job_id": job_id, "resumed": interrupted, "tolerance_m": TOLERANCE, **counts}


def _issue_commune(conn, commune: str, province: str | None, job_id: int) -> int:
    rows = conn.execute(sa.text(
        "SELECT p.id, ST_SRID(p.geom), ST_AsBinary(p.geom) FROM geoland.plot p LEFT JOIN geoland.plot_code c "
        "ON c.plot_id = p.id WHERE c.plot_id IS NULL AND coalesce(p.old_commune_code, '') = :m "
        + ("AND p.province_code = :p " if province else "") + "ORDER BY p.id FOR UPDATE OF p"),
        {"m": commune, "p": province}).all()
    if not rows:
        return 0
    frame = pd.DataFrame(rows, columns=["plot_id", "srid", "wkb"])
    codes = np.empty(len(frame), dtype=object)
    for srid, group in frame.groupby("srid"):
        geoms = shapely.from_wkb(group["wkb"].map(bytes).to_numpy())
        codes[group.index.to_numpy()] = plot_identification_codes(geoms, f"EPSG:{srid}")
    copy_csv(conn, "geoland.plot_code (plot_id, code, job_id, tolerance)", [csv_bytes({
        "plot_id": frame["plot_id"].to_numpy(), "code": codes, "job_id": np.full(len(frame), job_id),
        "tolerance": np.full(len(frame), TOLERANCE)})])
    return len(frame)


def _record_conflicts(conn, province: str | None, job_id: int) -> dict:
    where = "AND p.province_code = :p" if province else ""
    duplicates = conn.execute(sa.text(f"""
        INSERT INTO geoland.code_conflict (kind, code, plot_ids, job_id)
        SELECT 'duplicate_code', c.code, array_agg(c.plot_id ORDER BY c.plot_id), :job
        FROM geoland.plot_code c JOIN geoland.plot p ON p.id = c.plot_id WHERE true {where}
        GROUP BY c.code HAVING count(*) > 1
        ON CONFLICT (kind, code, plot_ids) DO NOTHING"""), {"p": province, "job": job_id}).rowcount
    stored = conn.execute(sa.text(f"""
        SELECT c.plot_id, c.code, ST_SRID(p.geom), ST_AsBinary(p.geom) FROM geoland.plot_code c
        JOIN geoland.plot p ON p.id = c.plot_id WHERE true {where}"""), {"p": province}).all()
    outside = []
    if stored:
        frame = pd.DataFrame(stored, columns=["plot_id", "code", "srid", "wkb"])
        for srid, group in frame.groupby("srid"):
            lon, lat = decode(group["code"].to_numpy())
            x, y = transformer("EPSG:4326", f"EPSG:{srid}").transform(lon, lat)
            geoms = shapely.from_wkb(group["wkb"].map(bytes).to_numpy())
            gone = ~shapely.contains_xy(geoms, x, y)
            outside.extend(zip(group["plot_id"].to_numpy()[gone].tolist(), group["code"].to_numpy()[gone].tolist()))
    moved = 0
    for plot_id, code in outside:
        moved += conn.execute(sa.text(
            "INSERT INTO geoland.code_conflict (kind, code, plot_ids, job_id) VALUES ('cell_outside_plot', :c, "
            "ARRAY[CAST(:i AS bigint)], :job) ON CONFLICT (kind, code, plot_ids) DO NOTHING"),
            {"c": code, "i": plot_id, "job": job_id}).rowcount
    total = conn.execute(sa.text(f"""SELECT kind, count(*) FROM geoland.code_conflict k
        WHERE EXISTS (SELECT 1 FROM geoland.plot p WHERE p.id = ANY(k.plot_ids) {where}) GROUP BY kind"""),
        {"p": province}).all()
    return {"new_conflicts": duplicates + moved, "conflicts": {k: int(n) for k, n in total}}
