"""``geoland report``: the province's data-quality report from the stored findings of ``geoland check``.

Writes, into one folder:

- ``index.html``: one self-contained page (no script, font or image fetched; charts are inline SVG), in
  Vietnamese by default: the campaign's numbers (full data — authenticated / incorrect / unverifiable —
  and missing ≥ 1 field), a stacked bar per new commune, plots per finding type, and the table per commune;
- ``communes.csv``: per new commune and a total row, the campaign's categories and the plots per
  finding type;
- ``findings.csv``: one row per open finding, with the plot's codes and its land user MASKED
  (``Nguyễn V*** A**``, ``014******123``).

Same findings, same bytes: the date printed is the last check job's, never the clock.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geoland.errors import NotFound
from geoland.output import write_csv
from geoland.pipeline.quality import STATUSES, campaign_categories
from geoland.results import Report, returns
from geoland.rules import vocab
from geoland.rules.vocab import FINDING_TYPES
from geoland.store.db import read_columns
from identifiers import normalize_unit_code
from identifiers.cccd import mask_cccd, mask_name

UNASSIGNED = "—"
CAMPAIGN = ("plots", "full_data", *STATUSES, "not_checked", "missing_1_plus")
COLOURS = {"authenticated": "#2e7d32", "incorrect": "#c62828", "unverifiable": "#ef6c00", "not_checked": "#90a4ae",
           "missing_1_plus": "#fbc02d"}


def _read(conn: Connection, province: str | None):
    from geoland.pipeline.assignments import latest_effective, plot_provinces
    from geoland.pipeline.units import units_valid_on

    effective = latest_effective(conn)
    provinces = plot_provinces(conn, province, effective)
    where = "WHERE (%(p)s::text[] IS NULL OR p.province_code = ANY(%(p)s))"
    plots = read_columns(conn, f"""
        SELECT p.id, coalesce(a.commune_code, '{UNASSIGNED}'), v.status, c.code,
               p.legacy_mx,
               x.new_code, u.name, u.id_number
        FROM geoland.plot_mx p
        LEFT JOIN geoland.mx_crosswalk_current x ON x.plot_id = p.id
        LEFT JOIN geoland.plot_assignment_current a ON a.plot_id = p.id AND a.effective = %(e)s
        LEFT JOIN geoland.land_user u ON u.plot_id = p.id
        LEFT JOIN geoland.verification v ON v.id_number = u.id_number
        LEFT JOIN geoland.plot_code c ON c.plot_id = p.id
        {where} ORDER BY p.id""", {"p": provinces, "e": effective},
        ["plot_id", "commune", "verification", "code", "legacy_mx", "mx", "user_name", "id_number"])
    found = read_columns(conn, f"""
        SELECT f.plot_id, f.type, f.category, f.severity, f.value, f.tolerance, f.review_state, f.job_id
        FROM geoland.finding_current f JOIN geoland.plot p ON p.id = f.plot_id {where}
        ORDER BY f.plot_id, f.type, f.id""", {"p": provinces},
        ["plot_id", "type", "category", "severity", "value", "tolerance", "review_state", "job_id"])
    plots["plot_id"] = plots["plot_id"].astype("int64")
    found["plot_id"] = found["plot_id"].astype("int64")
    names = {code: unit["name"] for code, unit in units_valid_on(conn, effective).items()}
    return plots, found, names, effective


def commune_table(plots: pd.DataFrame, found: pd.DataFrame) -> pd.DataFrame:
    """Per commune (and a total row, commune ``""``): the campaign's categories and plots per finding type.

    Parameters
    ----------
    plots : DataFrame
        One row per plot with its commune and campaign category.
    found : DataFrame
        The findings.

    Returns
    -------
    DataFrame
    """
    categories = campaign_categories(found, plots)
    frame = pd.DataFrame({"commune": plots["commune"].to_numpy(), "plots": 1,
                          "full_data": categories["full_data"].to_numpy().astype(int)})
    answer = pd.Index(STATUSES).get_indexer(categories["verification"].to_numpy())        # -1: none
    for i, status in enumerate(STATUSES):
        frame[status] = (answer == i).astype(int)
    frame["not_checked"] = frame["full_data"] - frame[list(STATUSES)].sum(axis=1)
    frame["missing_1_plus"] = 1 - frame["full_data"]
    # Plots × (categories, finding types) as one 0/1 matrix: a finding sets its plot's cells.
    row = pd.Index(plots["plot_id"].to_numpy()).get_indexer(found["plot_id"].to_numpy())
    kinds, groups = list(FINDING_TYPES), ["missing", "conflict"]
    hits = np.zeros((len(plots), len(groups) + len(kinds)), dtype=np.int64)
    for column, names, first in (("category", groups, 0), ("type", kinds, len(groups))):
        code = pd.Index(names).get_indexer(found[column].to_numpy())
        ok = (row >= 0) & (code >= 0)
        hits[row[ok], first + code[ok]] = 1
    for j, name in enumerate([f"category_{g}" for g in groups] + kinds):
        frame[name] = hits[:, j]
    table = frame.groupby("commune", sort=True).sum().reset_index()
    total = table.drop(columns="commune").sum().to_frame().T
    total.insert(0, "commune", "")
    return pd.concat([table, total], ignore_index=True)


def _bar_chart(table: pd.DataFrame, names: dict, words: dict) -> str:
    """A stacked bar per commune, as inline SVG.

    A horizontal stacked bar per commune: full data split by the population database's answer, then
    missing ≥ 1 field. Inline SVG.
    """
    rows = table[table["commune"] != ""].sort_values("plots", ascending=False)
    parts = ("authenticated", "incorrect", "unverifiable", "not_checked", "missing_1_plus")
    scale = 560 / max(1, rows["plots"].max()) if len(rows) else 1
    height = 22 * len(rows) + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="900" height="{height}" role="img" '
           f'aria-label="{html.escape(words["chart"])}">']
    for i, row in enumerate(rows.itertuples(index=False)):
        y = 22 * i
        label = row.commune if row.commune != UNASSIGNED else words["unassigned"]
        title = f"{row.commune} {names.get(row.commune, '')}".strip()
        out.append(f'<text x="250" y="{y + 15}" text-anchor="end" font-size="12">{html.escape(title or label)}</text>')
        x = 256.0
        for part in parts:
            width = getattr(row, part) * scale
            if width > 0:
                out.append(f'<rect class="bar {part}" x="{x:.1f}" y="{y + 3}" width="{width:.1f}" height="16" '
                           f'fill="{COLOURS[part]}"><title>{html.escape(words[part])}: {getattr(row, part):,}'
                           f'</title></rect>')
            x += width
        out.append(f'<text x="{x + 4:.1f}" y="{y + 15}" font-size="11">{row.plots:,}</text>')
    y = 22 * len(rows) + 12
    x = 256
    for part in parts:
        out.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{COLOURS[part]}"/>'
                   f'<text x="{x + 16}" y="{y + 11}" font-size="12">{html.escape(words[part])}</text>')
        x += 24 + 7 * len(words[part])
    out.append("</svg>")
    return "\n".join(out)


def _type_chart(total: pd.Series, language: str) -> str:
    kinds = [k for k in FINDING_TYPES if total.get(k, 0)]
    top = max([total[k] for k in kinds], default=1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="900" height="{22 * len(kinds) + 10}" role="img">']
    for i, kind in enumerate(kinds):
        category = FINDING_TYPES[kind].group
        width = total[kind] / top * 560
        colour = "#fbc02d" if category == "missing" else "#c62828"
        out.append(f'<text x="300" y="{22 * i + 15}" text-anchor="end" font-size="12">'
                   f'{html.escape(FINDING_TYPES[kind].label(language))}</text>'
                   f'<rect class="bar type" x="306" y="{22 * i + 3}" width="{width:.1f}" height="16" fill="{colour}">'
                   f'<title>{kind}: {total[kind]:,}</title></rect>'
                   f'<text x="{310 + width:.1f}" y="{22 * i + 15}" font-size="11">{total[kind]:,}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _progress_html(progress: dict, words: dict) -> str:
    """The report's progress section: the chart of the shares per check, the corrections per day and officer."""
    from geoland.pipeline.progress import progress_chart

    runs, corrections = progress["runs"], progress["corrections"]
    if runs.empty and corrections.empty:
        return f"<p>{html.escape(words['no_progress'])}</p>"
    rows = "".join(f"<tr><th>{c.day}</th><td>{html.escape(str(c.actor))}</td><td>{html.escape(str(c.source))}</td>"
                   f"<td>{int(c.values):,}</td><td>{int(c.plots):,}</td></tr>" for c in corrections.itertuples())
    table = (f"<h3>{html.escape(words['corrections_per_day'])}</h3><table><thead><tr><th>{html.escape(words['day'])}"
             f"</th><th>{html.escape(words['officer'])}</th><th></th><th>#</th><th>{html.escape(words['plots'])}</th>"
             f"</tr></thead><tbody>{rows}</tbody></table>") if rows else ""
    return f"{progress_chart(runs, words)}<p>{html.escape(words['progress_chart'])}</p>{table}"


def _html(province, table, names, words, language, stamp, register: dict, progress: str = "") -> str:
    total = table[table["commune"] == ""].iloc[0]
    plots = int(total["plots"])

    def pct(n):
        return f"{n / plots:.1%}" if plots else "—"

    cards = "".join(f'<div class="card {k}"><div class="n">{int(total[k]):,}</div><div>{html.escape(words[k])}'
                    f'</div><div class="p">{pct(int(total[k]))}</div></div>' for k in CAMPAIGN)
    register_cards = "".join(f'<div class="card register {k}"><div class="n">{n:,}</div><div>{html.escape(words[k])}'
                             '</div></div>' for k, n in register.items())
    columns = [*CAMPAIGN, "category_missing", "category_conflict"]
    head = "".join(f"<th>{html.escape(words[c])}</th>" for c in ["commune", *columns])
    body = []
    for row in table.itertuples(index=False):
        commune = row.commune or words["total"]
        label = (words["unassigned"] if commune == UNASSIGNED
                 else f"{commune} {names.get(commune, '')}".strip())
        cells = "".join(f"<td>{int(getattr(row, c)):,}</td>" for c in columns)
        body.append(f'<tr{" class=total" if not row.commune else ""}><th>{html.escape(label)}</th>{cells}</tr>')
    return f"""<!DOCTYPE html>
<html lang="{language}"><head><meta charset="utf-8">
<title>{html.escape(words["title"])} — {html.escape(words["province"])} {province or "*"}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 12px; }}
.card {{ border: 1px solid #ccc; border-radius: 6px; padding: 10px 16px; min-width: 120px; }}
.card .n {{ font-size: 1.6em; font-weight: bold; }} .card .p {{ color: #666; }}
table {{ border-collapse: collapse; margin-top: 1em; }} td, th {{ border: 1px solid #ddd; padding: 3px 8px; }}
td {{ text-align: right; }} tr.total {{ font-weight: bold; background: #f4f4f4; }}
</style></head><body>
<h1>{html.escape(words["title"])} — {html.escape(words["province"])} {province or "*"}</h1>
<p>{html.escape(words["check"])}: {html.escape(stamp)}. {html.escape(words["note"])}</p>
<div class="cards">{cards}</div>
<h2>{html.escape(words["register"])}</h2>
<div class="cards">{register_cards}</div>
<h2>{html.escape(words["chart"])}</h2>
{_bar_chart(table, names, words)}
<h2>{html.escape(words["findings"])}</h2>
{_type_chart(total, language)}
<h2>{html.escape(words["progress"])}</h2>
{progress}
<h2>{html.escape(words["per_commune"])}</h2>
<table><thead><tr>{head}</tr></thead><tbody>
{chr(10).join(body)}
</tbody></table>
</body></html>
"""


REGISTER_COUNTS = ("valid_certificates", "replaced_certificates", "cancelled_certificates", "houses", "apartments",
                   "other_assets", "paper_plots", "paper_plots_attached")


def register_counts(conn: Connection, province: str | None) -> dict[str, int]:
    """The land register of the province's plots, counted for the report.

    Certificates by status, houses, apartments, other assets, plots known only from certificates (on paper,
    waiting for their geometry) and those a plot import attached since.
    """
    from geoland.pipeline.assignments import latest_effective, plot_provinces

    provinces = plot_provinces(conn, province, latest_effective(conn))
    row = conn.execute(sa.text("""
        WITH plots AS (SELECT id FROM geoland.plot WHERE CAST(:p AS text[]) IS NULL OR province_code = ANY(:p)),
             certs AS (SELECT DISTINCT c.id, c.status FROM geoland.certificate c
                       JOIN geoland.certificate_plot cp ON cp.certificate_id = c.id
                       JOIN plots ON plots.id = cp.plot_id),
             assets AS (SELECT DISTINCT a.id, a.kind FROM geoland.asset a
                        JOIN geoland.asset_plot ap ON ap.asset_id = a.id JOIN plots ON plots.id = ap.plot_id),
             paper AS (SELECT pp.plot_id FROM geoland.paper_plot pp
                       WHERE CAST(:p AS text[]) IS NULL OR pp.province_code = ANY(:p))
        SELECT (SELECT count(*) FILTER (WHERE status = 'valid') FROM certs),
               (SELECT count(*) FILTER (WHERE status = 'replaced') FROM certs),
               (SELECT count(*) FILTER (WHERE status = 'cancelled') FROM certs),
               (SELECT count(*) FILTER (WHERE kind = 'house') FROM assets),
               (SELECT count(*) FILTER (WHERE kind = 'apartment') FROM assets),
               (SELECT count(*) FILTER (WHERE kind NOT IN ('house', 'apartment')) FROM assets),
               (SELECT count(*) FILTER (WHERE plot_id IS NULL) FROM paper),
               (SELECT count(*) FILTER (WHERE plot_id IS NOT NULL) FROM paper)"""), {"p": provinces}).one()
    return dict(zip(REGISTER_COUNTS, map(int, row), strict=True))


@returns(Report)
def build_report(conn: Connection, *, province: str | None, out: Path, language: str = "vi") -> Report:
    """Write the province's data-quality report from the last check's findings.

    Parameters
    ----------
    conn : Connection
        An open connection.
    province : str or None
        The (new) province, or all plots.
    out : Path
        Folder for ``index.html``, ``communes.csv`` and ``findings.csv`` (personal data masked).
    language : {"vi", "en"}
        Language of the page and of the finding labels.

    Returns
    -------
    Report
        The campaign's totals, the files written, the counts per finding type.
    """
    province = normalize_unit_code(province, "province") if province else None
    plots, found, names, effective = _read(conn, province)
    if plots.empty:
        raise NotFound(f"no plots{' of province ' + province if province else ''}: nothing to report")
    if found.empty:
        raise NotFound("no findings stored: run `geoland check` first")
    last = conn.execute(sa.text("SELECT id, finished_at FROM geoland.job WHERE id = :j"),
                        {"j": int(found["job_id"].max())}).one()
    table = commune_table(plots, found)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    words = vocab.words("report", language)
    stamp = f"job {last.id}, {last.finished_at:%Y-%m-%d %H:%M}" if last.finished_at else f"job {last.id}"
    register = register_counts(conn, province)
    from geoland.pipeline.assignments import plot_provinces
    from geoland.pipeline.progress import read_progress

    disputed = read_columns(conn, """
        SELECT p.id, c.code, p.legacy_mx, coalesce(a.commune_code, '') AS commune, p.disputed_since::text
        FROM geoland.plot_mx p LEFT JOIN geoland.plot_code c ON c.plot_id = p.id
        LEFT JOIN geoland.plot_assignment_current a ON a.plot_id = p.id AND a.effective = %(e)s
        WHERE p.disputed AND (%(p)s::text[] IS NULL OR p.province_code = ANY(%(p)s)) ORDER BY p.id""",
        {"e": effective, "p": plot_provinces(conn, province, effective)},
        ["plot_id", "identification_code", "legacy_mx", "commune", "disputed_since"])
    progress = _progress_html(read_progress(conn, province=province), words) + \
        f"<p class=disputed>{html.escape(words['disputed_plots'])}: {len(disputed):,}</p>"
    (out / "index.html").write_text(_html(province, table, names, words, language, stamp, register, progress),
                                    encoding="utf-8")
    csv_table = table.copy()
    csv_table.insert(1, "commune_name", [names.get(c, "") for c in csv_table["commune"]])
    csv_table.loc[csv_table["commune"] == "", "commune_name"] = words["total"]
    write_csv(csv_table, out / "communes.csv")
    detail = found.merge(plots, on="plot_id", how="left")
    rows = pd.DataFrame({
        "plot_id": detail["plot_id"], "identification_code": detail["code"], "mx": detail["mx"],
        "legacy_mx": detail["legacy_mx"], "commune": detail["commune"], "type": detail["type"],
        "label": detail["type"].map(vocab.labels(language)),
        "category": detail["category"], "severity": detail["severity"], "value": detail["value"],
        "value_text": detail["value"].map(vocab.reason_words(language)).fillna(detail["value"]),
        "tolerance": detail["tolerance"], "review_state": detail["review_state"],
        "land_user": mask_name(detail["user_name"].to_numpy(dtype=object)),
        "id_number": mask_cccd(detail["id_number"].to_numpy(dtype=object))})
    write_csv(rows, out / "findings.csv")
    write_csv(disputed, out / "disputed.csv")          # the dispute's note stays in geoland: it may name people
    total = table[table["commune"] == ""].iloc[0]
    return {"province": province, "out": str(out), "effective": effective.isoformat() if effective else None,
            "files": [str(out / n) for n in ("index.html", "communes.csv", "findings.csv", "disputed.csv")],
            "communes": int(len(table) - 1), "findings": len(found),
            "campaign": {k: int(total[k]) for k in CAMPAIGN}, "register": register,
            "by_type": {k: int(total[k]) for k in FINDING_TYPES if total[k]}}
