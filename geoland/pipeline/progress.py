"""The campaign's progress over time (issue 17): each check's counts per commune, and the corrections made.

Every ``geoland check`` records, per commune of the plots it checked, the campaign's categories as the report
counts them (:func:`geoland.pipeline.report.commune_table`) in ``campaign_progress``, with its job. What the
campaign's "regular reporting, inspection and monitoring" reads:

- the runs: the province's totals per check (date, job, plots, full data, authenticated, incorrect,
  unverifiable, missing ≥ 1 field, plots in conflict), oldest first;
- per commune: the same per run (``geoland progress --out FILE.csv``);
- the corrections: values changed per day, per officer and per source (form, workbook, command, revert),
  from ``plot_edit``.

A run of one commune (``check --commune``) is a run of that commune only: the province's totals are drawn
from the runs that checked the whole province (or all plots).
"""

from __future__ import annotations

import datetime as dt
import html

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geoland.store.db import copy_csv, csv_bytes
from identifiers import normalize_unit_code

COUNTS = ("plots", "full_data", "authenticated", "incorrect", "unverifiable", "not_checked", "missing_1_plus",
          "missing", "conflict")


def record_progress(conn: Connection, job_id: int, province: str | None, plots: pd.DataFrame,
                    found: pd.DataFrame) -> int:
    """Store one check's counts per commune (``plots``: ``plot_id``, ``commune_code``, ``verification``)."""
    return store_progress(conn, job_id, province, progress_counts(plots, found))


def progress_counts(plots: pd.DataFrame, found: pd.DataFrame) -> pd.DataFrame:
    """The campaign's counts per commune of checked ``plots`` and their findings: ``commune`` and :data:`COUNTS`.

    Every count is a number of plots: the counts of disjoint sets of plots (a split province's parts) add up to
    the counts of their union.
    """
    from geoland.pipeline.report import UNASSIGNED, commune_table

    if plots.empty:
        return pd.DataFrame(columns=["commune", *COUNTS])
    frame = plots[["plot_id", "verification"]].assign(
        commune=plots["commune_code"].astype(object).where(plots["commune_code"].notna(), UNASSIGNED).to_numpy())
    table = commune_table(frame, found[["plot_id", "type", "category"]])
    table = table[table["commune"] != ""].rename(columns={"category_missing": "missing",
                                                          "category_conflict": "conflict"})
    return table[["commune", *COUNTS]].reset_index(drop=True)


def store_progress(conn: Connection, job_id: int, province: str | None, table: pd.DataFrame) -> int:
    """Write counts per commune (:func:`progress_counts`) as one check's record; returns the rows written."""
    if table.empty:
        return 0
    data = {"job_id": np.full(len(table), job_id), "province_code": [province] * len(table),
            "commune_code": table["commune"].to_numpy(dtype=object)}
    data |= {c: table[c].to_numpy(dtype=np.int64) for c in COUNTS}
    copy_csv(conn, f"geoland.campaign_progress ({', '.join(data)})", [csv_bytes(data)])
    return len(table)


def read_progress(conn: Connection, *, province: str | None = None, since: dt.date | None = None,
                  communes: tuple[str, ...] | None = None) -> dict:
    """The runs (province totals per check), the rows per commune and run, and the corrections.

    ``communes``: only these (an editor's); their totals then stand for the province's.

    Returns
    -------
    dict
        ``runs`` (DataFrame: job, at, scope, and :data:`COUNTS`), ``communes`` (DataFrame: job, at, commune and
        the counts), ``corrections`` (DataFrame: day, actor, source, values, plots).
    """
    province = normalize_unit_code(province, "province") if province else None
    params = {"p": province, "since": since, "c": list(communes) if communes is not None else None}
    rows = pd.DataFrame(conn.execute(sa.text(f"""
        SELECT g.job_id, g.recorded_at AS at, j.params->>'commune' AS scope, g.commune_code,
               {', '.join(f'g.{c}' for c in COUNTS)}
        FROM geoland.campaign_progress g JOIN geoland.job j ON j.id = g.job_id
        WHERE (CAST(:p AS text) IS NULL OR g.province_code = :p OR g.province_code IS NULL)
          AND (CAST(:since AS date) IS NULL OR g.recorded_at >= CAST(:since AS date))
          AND (CAST(:c AS text[]) IS NULL OR g.commune_code = ANY(CAST(:c AS text[])))
        ORDER BY g.job_id, g.commune_code"""), params).mappings().all(),
        columns=["job_id", "at", "scope", "commune_code", *COUNTS])
    whole = rows[rows["scope"].isna()] if communes is None else rows
    runs = (whole.groupby(["job_id"], as_index=False).agg({"at": "min", **{c: "sum" for c in COUNTS}})
            if len(whole) else pd.DataFrame(columns=["job_id", "at", *COUNTS]))
    corrections = pd.DataFrame(conn.execute(sa.text("""
        SELECT e.at::date AS day, e.actor, e.source, count(*) AS values, count(DISTINCT e.plot_id) AS plots
        FROM geoland.plot_edit e JOIN geoland.plot p ON p.id = e.plot_id
        LEFT JOIN LATERAL (SELECT commune_code FROM geoland.plot_assignment_current a WHERE a.plot_id = p.id
                           ORDER BY a.effective DESC LIMIT 1) a ON true
        WHERE (CAST(:p AS text) IS NULL OR p.province_code = :p)
          AND (CAST(:since AS date) IS NULL OR e.at >= CAST(:since AS date))
          AND (CAST(:c AS text[]) IS NULL OR a.commune_code = ANY(CAST(:c AS text[])))
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""), params).mappings().all(),
        columns=["day", "actor", "source", "values", "plots"])
    return {"province": province, "since": since, "runs": runs, "communes": rows.drop(columns="scope"),
            "corrections": corrections}


def progress_chart(runs: pd.DataFrame, words: dict) -> str:
    """An inline SVG line chart (offline): the shares of full data, missing ≥ 1 field and conflict per run."""
    if runs.empty:
        return ""
    width, height, left, top, bottom = 900, 260, 50, 16, 40
    n = len(runs)
    xs = [left + (width - left - 20) * (i / max(n - 1, 1)) for i in range(n)]
    plots = runs["plots"].to_numpy(dtype=float)
    series = (("full_data", "#2e7d32"), ("missing_1_plus", "#fbc02d"), ("conflict", "#c62828"))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{html.escape(words["progress_chart"])}" class="progress-chart">']
    for share in (0, 0.25, 0.5, 0.75, 1):
        y = top + (height - top - bottom) * (1 - share)
        out.append(f'<line x1="{left}" x2="{width - 20}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{share:.0%}</text>')
    for key, colour in series:
        share = np.divide(runs[key].to_numpy(dtype=float), plots, out=np.zeros(n), where=plots > 0)
        points = " ".join(f"{x:.1f},{top + (height - top - bottom) * (1 - s):.1f}" for x, s in zip(xs, share))
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}" data-series="{key}"/>')
        out.extend(f'<circle cx="{x:.1f}" cy="{top + (height - top - bottom) * (1 - s):.1f}" r="3" fill="{colour}">'
                   f'<title>{html.escape(words[key])}: {s:.1%}</title></circle>' for x, s in zip(xs, share))
    for x, at in zip(xs, runs["at"]):
        out.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11">'
                   f'{pd.Timestamp(at):%d/%m}</text>')
    legend_x = left
    for key, colour in series:
        out.append(f'<rect x="{legend_x}" y="{height - 14}" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{legend_x + 14}" y="{height - 5}" font-size="12">{html.escape(words[key])}</text>')
        legend_x += 200
    out.append("</svg>")
    return "".join(out)
