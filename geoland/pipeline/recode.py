"""``geoland recode``: new MX.SB.ST codes after the merger, from the plots' assignments, with a crosswalk.

The unit of work is one new commune (its sheets are renumbered together): each is computed and committed
in its own transaction, so a stopped job resumes with the communes still to do and ends exactly as an
uninterrupted run (the policies are deterministic functions of the commune's plots). One policy per
province and date: a second run with another policy is refused.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from geoland.errors import Conflict, InvalidInput, NotFound
from geoland.pipeline.assignments import plot_provinces
from geoland.results import Recoding, returns
from geoland.store.db import copy_csv, csv_bytes, read_columns, read_csv_batches, spool_csv
from geoland.store.jobs import batch_engine, batch_job, write_per_unit
from geoland.store.partitions import in_provinces
from identifiers import normalize_unit_code, recode
from identifiers.mx import POLICIES

_PLOTS = """
    SELECT a.commune_code AS new_commune, p.id AS plot_id, coalesce(p.province_code, '') AS province_code,
           p.old_commune_code, p.sheet, p.plot_number
    FROM geoland.plot_assignment_current a JOIN geoland.plot p ON p.id = a.plot_id
    WHERE a.effective = %(e)s AND a.commune_code IS NOT NULL
      AND p.old_commune_code IS NOT NULL AND p.sheet IS NOT NULL AND p.plot_number IS NOT NULL
      AND (%(p)s::text IS NULL OR p.province_code = ANY(%(provinces)s::text[]))""" + in_provinces("a", "scope") + """
    ORDER BY 1, 2
"""
_TYPES = {"new_commune": pa.string(), "plot_id": pa.int64(), "province_code": pa.string(),
          "old_commune_code": pa.string(), "sheet": pa.int64(), "plot_number": pa.int64()}
# The plots are spooled to a file (COPY) and read back a block at a time: a recoding holds one new commune's
# plots, not the province's (0.78 GB at 1 M plots when it held them).
BLOCK_BYTES = 8 << 20


@returns(Recoding)
def recode_province(url: str | None = None, *, province: str | None, policy: str, effective: dt.date,
                    dry_run: bool = False, progress: bool = True) -> Recoding:
    """New MX.SB.ST codes for the reassigned plots of a province, with the crosswalk kept as history.

    Parameters
    ----------
    url : str, optional
        The database (default: the embedded cluster).
    province : str or None
        The (new) province, or all plots.
    policy : {"prefix", "renumber"}
        ``prefix`` keeps the old commune code in the new code; ``renumber`` numbers the sheets again.
    effective : date
        The reorganisation whose assignments are used.
    dry_run : bool
        Count and show examples; write nothing.
    progress : bool
        Draw the progress bar.

    Returns
    -------
    Recoding
        Counts, the job id and the jobs it resumed; a dry run's examples.

    Raises
    ------
    InvalidInput
        Unknown policy.
    Conflict
        The plots were recoded for this date with the other policy.
    NotFound
        No assigned plot has a complete MX.SB.ST code.
    """
    if policy not in POLICIES:
        raise InvalidInput(f"policy {policy!r} is not one of {list(POLICIES)}")
    province = normalize_unit_code(province, "province") if province else None
    with batch_engine(url) as engine, tempfile.TemporaryDirectory(prefix="geoland-recode-") as spool:
        path = Path(spool) / "plots.csv"
        with engine.connect() as conn:
            provinces = plot_provinces(conn, province, effective) or []
            params = {"e": effective, "p": province, "provinces": provinces, "scope": provinces if province else None}
            used = conn.execute(sa.text(
                "SELECT DISTINCT policy FROM geoland.mx_crosswalk x JOIN geoland.plot p ON p.id = x.plot_id "
                "WHERE x.effective = :e AND (CAST(:p AS text) IS NULL OR p.province_code = ANY(:provinces))"
                + in_provinces("x", "scope", style="named")), params).scalars().all()
            if any(u != policy for u in used) and not dry_run:     # a dry run may still show the other policy
                raise Conflict(f"these plots were already recoded for {effective} with policy {used[0]!r}; "
                                   f"a crosswalk is kept as history and is not redone with {policy!r}")
            rows = spool_csv(conn, _PLOTS, params, path)
            done = set(conn.execute(sa.text(
                "SELECT DISTINCT new_commune FROM geoland.mx_crosswalk x WHERE x.effective = :e "
                "AND x.policy = :policy" + in_provinces("x", "scope", style="named")),
                {"e": effective, "policy": policy, "scope": params["scope"]}).scalars())
        if not rows:
            raise NotFound("no assigned plots with a complete MX.SB.ST code: run `geoland reassign` first")
        return _recode(engine, path, province, policy, effective, used, done, rows, dry_run, progress)


def _recode(engine, path: Path, province, policy, effective, used, done, rows, dry_run, progress) -> dict:
    """The recoding of the spooled plots (``path``), one new commune at a time (see :func:`recode_province`)."""
    sizes, collisions, changed, examples = {}, 0, 0, []
    for group in _communes(path):               # a first pass: what the report says
        commune = group["new_commune"].iat[0]
        sizes[commune] = len(group)
        collisions += int(group.duplicated(["sheet", "plot_number"], keep=False).sum())
        if dry_run:
            new = _new_codes(group, policy)
            differs = group["old_code"] != new
            changed += int(differs.sum())
            examples += [{"old": o, "new": n} for o, n in zip(group.loc[differs, "old_code"].head(20 - len(examples)),
                                                              new[differs].head(20 - len(examples)))]
    report = {"province": province, "policy": policy, "effective": effective.isoformat(), "dry_run": dry_run,
              "plots": rows, "communes": len(sizes), "legacy_collisions": collisions}
    if dry_run:
        report["already_recoded_with"] = used[0] if used else None
        report.update(changed=changed, examples=examples, job_id=None, recoded=0,
                      remaining_communes=len(sizes) - len(done & set(sizes)))
        return report
    todo = [c for c in sorted(sizes) if c not in done]
    with batch_job(engine, "recode", province, {"policy": policy, "effective": effective}) as job:
        recoded = write_per_unit(engine, (g for g in _communes(path) if g["new_commune"].iat[0] not in done),
                                 lambda conn, group: _write(conn, group, _new_codes(group, policy), policy,
                                                            effective, job.id),
                                 total=sum(sizes[c] for c in todo), label="plots recoded", progress=progress)
        job.counts = {"recoded": recoded, "communes": len(todo), "skipped_done": len(done), "policy": policy}
    report.update(job_id=job.id, resumed=job.resumes, recoded=recoded, remaining_communes=0,
                  communes_done_before=len(done))
    return report


def _communes(path: Path) -> Iterator[pd.DataFrame]:
    """The spooled plots one new commune at a time (they are sorted by it), with their old MX.SB.ST code."""
    pieces: list[pd.DataFrame] = []

    def whole(parts):
        group = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        group["old_code"] = (group["old_commune_code"] + "." + group["sheet"].astype(str) + "."
                             + group["plot_number"].astype(str))
        return group

    for batch in read_csv_batches(path, _TYPES, BLOCK_BYTES):
        frame = batch.to_pandas()
        communes = frame["new_commune"].to_numpy(dtype=object)
        starts = np.flatnonzero(np.r_[True, communes[1:] != communes[:-1]])
        for a, b in zip(starts, np.r_[starts[1:], len(frame)]):
            if pieces and pieces[-1]["new_commune"].iat[0] != communes[a]:
                yield whole(pieces)
                pieces = []
            pieces.append(frame.iloc[a:b])
    if pieces:
        yield whole(pieces)


def _new_codes(plots: pd.DataFrame, policy: str) -> pd.Series:
    codes = recode(plots["old_commune_code"].tolist(), plots["sheet"].tolist(), plots["plot_number"].tolist(),
                   plots["new_commune"].tolist(), policy)
    return pd.Series(codes, index=plots.index, dtype=object)


def _write(conn, plots: pd.DataFrame, new_codes: pd.Series, policy: str, effective: dt.date, job_id: int) -> int:
    """One new commune's crosswalk rows; returns how many."""
    n = len(plots)
    reason = {"prefix": "sáp nhập: giữ mã xã cũ làm tiền tố (merger: old commune kept as prefix)",
              "renumber": "sáp nhập: đánh lại số tờ (merger: sheets renumbered)"}[policy]
    copy_csv(conn, "geoland.mx_crosswalk (plot_id, province_code, effective, old_code, new_code, new_commune, "
                   "policy, reason, job_id)", [csv_bytes({
                       "plot_id": plots["plot_id"].to_numpy(), "province_code": plots["province_code"].to_numpy(),
                       "effective": np.full(n, effective.isoformat()),
                       "old_code": plots["old_code"].to_numpy(dtype=object), "new_code": new_codes.to_numpy(),
                       "new_commune": plots["new_commune"].to_numpy(dtype=object), "policy": np.full(n, policy),
                       "reason": np.full(n, reason), "job_id": np.full(n, job_id)})])
    return n


def crosswalk_frame(conn, *, province: str | None, effective: dt.date) -> pd.DataFrame:
    """The crosswalk old code → new code of a province, in a stable order.

    The crosswalk of a province (old code → new code), in a stable order, without job or time: the same
    data always gives the same file.

    Parameters
    ----------
    conn : Connection
        An open connection.
    province : str or None
        The (new) province, or all plots.
    effective : date
        The reorganisation.

    Returns
    -------
    DataFrame
    """
    province = normalize_unit_code(province, "province") if province else None
    return read_columns(conn,
        "SELECT x.old_code, x.new_code, x.new_commune, x.policy, x.effective FROM geoland.mx_crosswalk x "
        "JOIN geoland.plot p ON p.id = x.plot_id WHERE x.effective = %(e)s "
        "AND (%(p)s::text IS NULL OR p.province_code = ANY(%(provinces)s::text[]))" + in_provinces("x")
        + " ORDER BY x.new_code, x.old_code",
        {"e": effective, "p": province, "provinces": plot_provinces(conn, province, effective)})
