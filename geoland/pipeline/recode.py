"""``geoland recode``: new MX.SB.ST codes after the merger, from the plots' assignments, with a crosswalk.

The unit of work is one new commune (its sheets are renumbered together): each is computed and committed
in its own transaction, so a stopped job resumes with the communes still to do and ends exactly as an
uninterrupted run (the policies are deterministic functions of the commune's plots). One policy per
province and date: a second run with another policy is refused.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import sqlalchemy as sa

from geoland.errors import Conflict, InvalidInput, NotFound
from geoland.pipeline.assignments import plot_provinces
from geoland.results import Recoding, returns
from geoland.store.db import copy_csv, csv_bytes, read_columns
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
    with batch_engine(url) as engine:
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
            plots = read_columns(conn, _PLOTS, params)
            done = set(conn.execute(sa.text(
                "SELECT DISTINCT new_commune FROM geoland.mx_crosswalk x WHERE x.effective = :e "
                "AND x.policy = :policy" + in_provinces("x", "scope", style="named")),
                {"e": effective, "policy": policy, "scope": params["scope"]}).scalars())
        if plots.empty:
            raise NotFound("no assigned plots with a complete MX.SB.ST code: run `geoland reassign` first")
        plots["plot_id"] = plots["plot_id"].astype(np.int64)
        plots["old_code"] = (plots["old_commune_code"] + "." + plots["sheet"].astype(str) + "."
                             + plots["plot_number"].astype(str))
        legacy_collisions = int(plots.duplicated(["new_commune", "sheet", "plot_number"], keep=False).sum())
        report = {"province": province, "policy": policy, "effective": effective.isoformat(), "dry_run": dry_run,
                  "plots": len(plots), "communes": int(plots["new_commune"].nunique()),
                  "legacy_collisions": legacy_collisions}
        if dry_run:
            report["already_recoded_with"] = used[0] if used else None
            new = _new_codes(plots, policy)
            changed = plots["old_code"] != new
            report["changed"] = int(changed.sum())
            report["examples"] = [{"old": o, "new": n} for o, n in
                                  zip(plots.loc[changed, "old_code"].head(20), new[changed].head(20))]
            report.update(job_id=None, recoded=0, remaining_communes=report["communes"] - len(done))
            return report
        # The rows come sorted by new commune: each commune is one slice.
        communes = plots["new_commune"].to_numpy(dtype=object)
        starts = np.flatnonzero(np.r_[True, communes[1:] != communes[:-1]])
        slices = {communes[a]: slice(a, b) for a, b in zip(starts, np.r_[starts[1:], len(plots)])}
        todo = [c for c in sorted(slices) if c not in done]
        with batch_job(engine, "recode", province, {"policy": policy, "effective": effective}) as job:
            recoded = write_per_unit(engine, (plots.iloc[slices[c]] for c in todo),      # one new commune per unit
                                     lambda conn, group: _write(conn, group, _new_codes(group, policy), policy,
                                                                effective, job.id),
                                     total=sum(slices[c].stop - slices[c].start for c in todo),
                                     label="plots recoded", progress=progress)
            job.counts = {"recoded": recoded, "communes": len(todo), "skipped_done": len(done), "policy": policy}
        report.update(job_id=job.id, resumed=job.resumes, recoded=recoded, remaining_communes=0,
                      communes_done_before=len(done))
        return report


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
