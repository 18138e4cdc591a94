"""Every province at once: the per-province engines run as Dask tasks (``geoland run``).

No scheduler of geoland's own: each province is one task of a Dask distributed cluster — a ``LocalCluster`` on
this machine (``--workers N``: N worker processes, one thread each) or an existing one (``--scheduler
ADDRESS``). A task runs the same steps as the single-machine commands, in their order, on its province:

1. ``reassign`` (to the communes of 2025-07-01), 2. ``codes issue``, 3. ``recode --policy prefix``,
4. ``check``, 5. ``export`` (CSV, GeoJSON and GeoPackage into ``OUT/PP/``, then verified).

Each worker connects to PostGIS itself (the database URL travels with the task, the data never passes through
the scheduler), under the same per-province advisory locks and job records as the commands, so a province run by
Dask and the same province run by hand cannot overlap, and an interrupted task resumes the way an interrupted
command does: Dask runs a lost task again on another worker, and each step's own resume logic makes the result
the uninterrupted one.

A task returns its steps' summaries (counts and seconds); the command shows a bar of provinces done, with
their plots.

**A large province is split by old commune** (``--split-above N``: a province of more than N plots): its old
communes, in code order, are cut into parts of at most N plots (a commune is never cut), and the province runs as
tasks of its parts and of the province, four stages each waiting for the one before:

1. per part: ``reassign`` and ``codes issue`` of the part's plots (a job and lock of the part's own, the
   province's lock held shared: a command on the whole province meanwhile is refused);
2. per province: the duplicate codes between parts are sought, and ``recode`` (its unit, a new commune, may
   gather old communes of several parts; it reads no geometry);
3. per part: ``check`` of the part's plots among every plot of the province their findings may touch
   (:func:`geoland.pipeline.quality.check_part`);
4. per province: the check's end (the campaign's counts, added from the parts'; the findings of plots gone) and
   the export.

A worker then holds one part's geometries, not the province's. The result is the unsplit run's, row for row and
file for file (tests/pipeline/test_national.py).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import sqlalchemy as sa

from geoland.store.db import connect

EFFECTIVE = dt.date(2025, 7, 1)
STEPS = ("reassign", "codes", "recode", "check", "export")


def provinces_with_plots(url: str | None) -> list[str]:
    """The provinces that have imported plots, in code order."""
    with connect(url) as conn:
        return [r[0] for r in conn.execute(sa.text(
            "SELECT DISTINCT province_code FROM geoland.plot_import WHERE province_code IS NOT NULL ORDER BY 1"))]


def run_province(url: str | None, province: str, out: str) -> dict:
    """The whole per-province pipeline on one province (one Dask task; also callable on its own).

    Returns
    -------
    dict
        ``province``, ``plots``, and per step its summary and ``seconds``.
    """
    from geoland.pipeline.assignments import reassign
    from geoland.pipeline.codes import issue_codes
    from geoland.pipeline.quality import check
    from geoland.pipeline.recode import recode_province

    done: dict = {"province": province}
    _timed(done, "reassign", lambda: reassign(url, province=province, effective=EFFECTIVE, progress=False))
    _timed(done, "codes", lambda: issue_codes(url, province=province, progress=False))
    _timed(done, "recode", lambda: recode_province(url, province=province, policy="prefix", effective=EFFECTIVE,
                                                   progress=False))

    def checked():
        with connect(url) as conn:
            return check(conn, province=province, progress=False)

    _timed(done, "check", checked)
    _timed(done, "export", lambda: _export(url, province, out))
    done["plots"] = done["check"].get("plots", 0)
    return done


def plan_parts(url: str | None, province: str, max_plots: int) -> list[list[str]]:
    """The parts of a province split by old commune.

    Its old communes (``''``: the plots without one) in code order — neighbours, mostly: codes are given district
    by district — cut into the fewest runs of about equal plots that hold at most ``max_plots`` each (a commune is
    never cut: one larger than that is a part of its own). One part when the province holds ``max_plots`` plots or
    fewer.
    """
    from geoland.pipeline.assignments import plot_provinces

    with connect(url) as conn:
        rows = conn.execute(sa.text(
            "SELECT coalesce(old_commune_code, ''), count(*) FROM geoland.plot WHERE province_code = ANY(:p) "
            "GROUP BY 1 ORDER BY 1"), {"p": plot_provinces(conn, province, EFFECTIVE)}).all()
    return cut_parts([(c, int(n)) for c, n in rows], max_plots)


def cut_parts(communes: list[tuple[str, int]], max_plots: int) -> list[list[str]]:
    """Communes (code, plots) in order cut into runs for :func:`plan_parts`.

    >>> cut_parts([("a", 5), ("b", 5), ("c", 5), ("d", 5), ("e", 1)], 12)
    [['a', 'b'], ['c', 'd', 'e']]
    >>> cut_parts([("a", 30), ("b", 2), ("c", 2)], 10)
    [['a'], ['b', 'c']]
    >>> cut_parts([("a", 3), ("b", 3)], 10)
    [['a', 'b']]
    """
    if max_plots < 1:
        raise ValueError(f"a part holds at least one plot, not {max_plots}")
    parts: list[list[str]] = []
    remaining = sum(n for _, n in communes)
    size = target = 0.0
    for commune, n in communes:
        if not parts or size + n > max_plots or (size and size + n / 2 > target):
            parts.append([])                     # a new part: about an equal share of what is left
            target, size = remaining / max(1, -(-remaining // max_plots)), 0
        parts[-1].append(commune)
        size += n
        remaining -= n
    return parts


def _timed(done: dict, name: str, step) -> None:
    started = time.perf_counter()
    result = step()
    done[name] = {"seconds": round(time.perf_counter() - started, 2),
                  **(result.as_dict() if hasattr(result, "as_dict") else result)}


def run_part(url: str | None, province: str, communes: list[str]) -> dict:
    """Stage 1 of a split province: reassign and code one part's plots (one Dask task)."""
    from geoland.pipeline.assignments import reassign
    from geoland.pipeline.codes import issue_codes

    done: dict = {"province": province, "communes": communes}
    _timed(done, "reassign", lambda: reassign(url, province=province, effective=EFFECTIVE, progress=False,
                                              communes=communes))
    _timed(done, "codes", lambda: issue_codes(url, province=province, progress=False, communes=communes))
    return done


def run_middle(url: str | None, province: str, *parts: dict) -> dict:
    """Stage 2 of a split province, once every part is coded: duplicate codes between parts, then ``recode``."""
    from geoland.pipeline.codes import record_duplicates
    from geoland.pipeline.recode import recode_province

    done: dict = {"province": province}
    _timed(done, "duplicates", lambda: record_duplicates(url, province=province))
    _timed(done, "recode", lambda: recode_province(url, province=province, policy="prefix", effective=EFFECTIVE,
                                                   progress=False))
    return done


def run_part_check(url: str | None, province: str, communes: list[str], middle: dict) -> dict:
    """Stage 3 of a split province: the check of one part (after stage 2: the codes' conflicts are known)."""
    from geoland.pipeline.quality import check_part

    started = time.perf_counter()
    with connect(url) as conn:
        result = check_part(conn, province=province, communes=communes)
    return result | {"seconds": round(time.perf_counter() - started, 2)}


def run_end(url: str | None, province: str, out: str, parts: list[dict], middle: dict, *checks: dict) -> dict:
    """Stage 4 of a split province: the check's end and the export; returns the province's summary."""
    from geoland.pipeline.quality import finish_check

    done: dict = {"province": province, "parts": len(parts)}
    work = lambda results, step: round(sum(r[step]["seconds"] for r in results), 2)    # noqa: E731
    for step in ("reassign", "codes"):           # the parts' seconds added: work, not wall clock
        done[step] = {"seconds": work(parts, step), "parts": len(parts),
                      "plots": sum(r[step].get("plots", r[step].get("issued", 0)) for r in parts)}
    done["recode"] = middle["recode"] | {"duplicates_seconds": middle["duplicates"]["seconds"]}

    def finished():
        with connect(url) as conn:
            return finish_check(conn, province=province, parts=list(checks))

    _timed(done, "check", finished)
    done["check"]["seconds"] = round(done["check"]["seconds"] + sum(c["seconds"] for c in checks), 2)
    _timed(done, "export", lambda: _export(url, province, out))
    done["plots"] = done["check"].get("plots", 0)
    return done


def _export(url: str | None, province: str, out: str) -> dict:
    from geoland.pipeline.export import export_province, verify_export

    folder = Path(out) / province
    with connect(url) as conn:
        result = export_province(conn, province=province, commune=None, formats=["csv", "geojson", "gpkg"],
                                 out=folder)
    verify_export(folder)
    return {"rows": result.rows, "out": result.out}


def run_province_in_parts(url: str | None, province: str, out: str, parts: list[list[str]]) -> dict:
    """A split province's four stages one after the other in this process (what Dask runs side by side)."""
    coded = [run_part(url, province, communes) for communes in parts]
    middle = run_middle(url, province, *coded)
    checks = [run_part_check(url, province, communes, middle) for communes in parts]
    return run_end(url, province, out, coded, middle, *checks)


def province_sizes(url: str | None, provinces: list[str]) -> dict[str, int]:
    """The plots of each of ``provinces`` (:func:`geoland.store.partitions.sizes`)."""
    from geoland.store import partitions

    with connect(url) as conn:
        known = partitions.sizes(conn)
    return {p: known[p] for p in provinces if p in known}


def _submit(client, url: str, province: str, out: str, size: int, parts: list[list[str]]):
    """The future of one province's summary: one task, or the four stages of its ``parts`` when it is split."""
    task = dict(pure=False, retries=2, priority=size)       # the largest provinces first (docs/scale.md)
    name = f"geoland-province-{province}"
    if not parts:
        return client.submit(run_province, url, province, out, key=name, **task)
    coded = [client.submit(run_part, url, province, communes, key=f"{name}-part-{i}", **task)
             for i, communes in enumerate(parts)]
    middle = client.submit(run_middle, url, province, *coded, key=f"{name}-middle", **task)
    checks = [client.submit(run_part_check, url, province, communes, middle, key=f"{name}-check-{i}", **task)
              for i, communes in enumerate(parts)]
    return client.submit(run_end, url, province, out, coded, middle, *checks, key=name, **task)


def run_provinces(url: str | None, provinces: list[str], out: Path, *, scheduler: str | None = None,
                  workers: int | None = None, split_above: int | None = None, progress: bool = True) -> dict:
    """Run :func:`run_province` for every province as Dask tasks; returns each province's summary.

    The largest provinces are given the highest priority, so that they start first and the run does not end with
    a large province alone on one worker.

    Parameters
    ----------
    url : str, optional
        The database every worker connects to (it must be reachable from the workers).
    provinces : list of str
        The provinces, one task each.
    out : Path
        The exports' folder (``OUT/PP/``); on a cluster, a folder every worker sees.
    scheduler : str, optional
        A running Dask scheduler's address (``tcp://host:8786``); without it a ``LocalCluster`` here.
    workers : int, optional
        The LocalCluster's worker processes (default 2, at most one per province or part).
    split_above : int, optional
        A province of more plots than this runs split by old commune (the module's docstring); None: never.
    progress : bool
        A bar of provinces done, with their plots.
    """
    from dask.distributed import Client, LocalCluster, as_completed

    from geoland import config
    from geoland.progress import progress_bar

    url = config.database_url(url)              # resolved here: a worker has no embedded cluster of its own
    out = Path(out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    import dask

    # the largest provinces first: the last to start must not be the longest (docs/scale.md); a large one in parts
    sizes = province_sizes(url, provinces)
    plans = {p: plan_parts(url, p, split_above) if split_above and sizes.get(p, 0) > split_above else []
             for p in provinces}
    plans = {p: parts if len(parts) > 1 else [] for p, parts in plans.items()}
    cluster = None
    if scheduler is None:
        # The engines use process pools of their own (both cores for a check); a daemonic worker may not start them.
        # A remote cluster's workers need DASK_DISTRIBUTED__WORKER__DAEMON=False too (docs/scale.md).
        dask.config.set({"distributed.worker.daemon": False})
        side_by_side = sum(len(parts) or 1 for parts in plans.values())     # tasks that may run at once
        cluster = LocalCluster(n_workers=max(1, min(workers or 2, side_by_side)), threads_per_worker=1,
                               processes=True, dashboard_address=None)
    started = time.perf_counter()
    results: dict = {}
    try:
        with Client(scheduler or cluster) as client:
            futures = [_submit(client, url, p, str(out), sizes.get(p, 0), plans[p]) for p in provinces]
            with progress_bar(len(provinces), "provinces", enabled=progress, desc="provinces") as shown:
                for future in as_completed(futures):
                    done = future.result()
                    results[done["province"]] = done
                    shown.update(1)
                    shown.set_postfix(plots=sum(r["plots"] for r in results.values()))
    finally:
        if cluster is not None:
            cluster.close()
    return {"provinces": [results[p] for p in provinces], "seconds": round(time.perf_counter() - started, 2),
            "workers": workers if scheduler is None else None, "scheduler": scheduler}
