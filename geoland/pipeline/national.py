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
    from geoland.pipeline.export import export_province, verify_export
    from geoland.pipeline.quality import check
    from geoland.pipeline.recode import recode_province

    done: dict = {"province": province}

    def timed(name, step):
        started = time.perf_counter()
        result = step()
        done[name] = {"seconds": round(time.perf_counter() - started, 2),
                      **(result.as_dict() if hasattr(result, "as_dict") else result)}

    timed("reassign", lambda: reassign(url, province=province, effective=EFFECTIVE, progress=False))
    timed("codes", lambda: issue_codes(url, province=province, progress=False))
    timed("recode", lambda: recode_province(url, province=province, policy="prefix", effective=EFFECTIVE,
                                            progress=False))

    def checked():
        with connect(url) as conn:
            return check(conn, province=province, progress=False)

    timed("check", checked)

    def exported():
        folder = Path(out) / province
        with connect(url) as conn:
            result = export_province(conn, province=province, commune=None, formats=["csv", "geojson", "gpkg"],
                                     out=folder)
        verify_export(folder)
        return {"rows": result.rows, "out": result.out}

    timed("export", exported)
    done["plots"] = done["check"].get("plots", 0)
    return done


def province_sizes(url: str | None, provinces: list[str]) -> dict[str, int]:
    """The plots of each of ``provinces`` (:func:`geoland.store.partitions.sizes`)."""
    from geoland.store import partitions

    with connect(url) as conn:
        known = partitions.sizes(conn)
    return {p: known[p] for p in provinces if p in known}


def run_provinces(url: str | None, provinces: list[str], out: Path, *, scheduler: str | None = None,
                  workers: int | None = None, progress: bool = True) -> dict:
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
        The LocalCluster's worker processes (default 2, at most one per province).
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

    cluster = None
    if scheduler is None:
        # The engines use process pools of their own (both cores for a check); a daemonic worker may not start them.
        # A remote cluster's workers need DASK_DISTRIBUTED__WORKER__DAEMON=False too (docs/scale.md).
        dask.config.set({"distributed.worker.daemon": False})
        cluster = LocalCluster(n_workers=max(1, min(workers or 2, len(provinces))), threads_per_worker=1,
                               processes=True, dashboard_address=None)
    started = time.perf_counter()
    results: dict = {}
    try:
        with Client(scheduler or cluster) as client:
            # the largest provinces first: the last to start must not be the longest (docs/scale.md)
            sizes = province_sizes(url, provinces)
            futures = [client.submit(run_province, url, p, str(out), key=f"geoland-province-{p}", pure=False,
                                     retries=2, priority=sizes.get(p, 0)) for p in provinces]
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
