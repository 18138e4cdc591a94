"""Printing command results: one JSON object with --json, aligned text tables otherwise."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata

import click


def _default(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def json_text(obj) -> str:
    """``obj`` as JSON text: UTF-8 letters kept, dates as ISO text, numpy scalars as numbers, anything
    else as its string; used by the CLI's ``--json`` and by the web app."""
    return json.dumps(obj, ensure_ascii=False, default=_default)


def emit_json(obj) -> None:
    """Print ``obj`` as one JSON object (``--json``)."""
    click.echo(json_text(obj))


def _width(text: str) -> int:
    return sum(0 if unicodedata.combining(ch) else 1 for ch in unicodedata.normalize("NFC", text))


def table(headers: list[str], rows: list[list], *, right: set[int] | None = None) -> str:
    """A plain text table; columns whose index is in ``right`` are right-aligned (numbers)."""
    right = right or set()
    cells = [[("" if v is None else f"{v:,}" if isinstance(v, int) else str(v)) for v in row] for row in rows]
    widths = [max([_width(h)] + [_width(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values):
        out = []
        for i, v in enumerate(values):
            pad = " " * (widths[i] - _width(v))
            out.append(pad + v if i in right else v + pad)
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def format_coverage(report: dict, limit: int = 30) -> str:
    """Text of a coverage QA report (``geoland units check``)."""
    scope = f"province {report['province']}" if report["province"] else "all provinces"
    lines = [f"coverage of {report['units']} communes in force on {report['effective']} ({scope}), "
             f"pieces ≥ {report['min_area_m2']:,.0f} m²: {report['gaps']} gaps "
             f"({report['gap_area_m2'] / 1e4:,.2f} ha), {report['overlaps']} overlaps "
             f"({report['overlap_area_m2'] / 1e4:,.2f} ha)"]
    rows = [[d["kind"], d["codes"], f"{d['area_m2']:,.0f}", f"{d['lon']:.5f}", f"{d['lat']:.5f}"]
            for d in report["defects"][:limit]]
    if rows:
        lines.append(table(["kind", "communes", "area m²", "lon", "lat"], rows, right={2, 3, 4}))
    if len(report["defects"]) > limit:
        lines.append(f"… and {len(report['defects']) - limit} more (--limit, or --json for all)")
    return "\n".join(lines)


def format_reassignment(report: dict, limit: int = 20) -> str:
    """Text of a reassignment report (``geoland reassign``)."""
    s = report["status"]
    scope = f"province {report['province']}" if report["province"] else "all plots"
    lines = [f"{report['plots']:,} plots ({scope}) → communes of {report['effective']}: {s['inside']:,} inside, "
             f"{s['straddling']:,} straddling, {s['outside']:,} outside; legal mismatch "
             f"{report.get('legal_mismatch', 0):,} (not checkable: {report.get('legal_unchecked', 0):,})"]
    per = sorted(report["per_commune"].items(), key=lambda kv: (-sum(v for k, v in kv[1].items()
                                                                       if k != "legal_mismatch"), kv[0]))
    rows = [[code, c.get("inside", 0), c.get("straddling", 0), c.get("outside", 0), c.get("legal_mismatch", 0)]
            for code, c in per[:limit]]
    lines.append(table(["commune", "inside", "straddling", "outside", "legal mismatch"], rows, right={1, 2, 3, 4}))
    if len(per) > limit:
        lines.append(f"… and {len(per) - limit} more communes (--limit, or --json)")
    c = report["changes"]
    verb = "would be" if report["dry_run"] else "were"
    lines.append(f"against the current assignment: {c['new']:,} new, {c['changed']:,} changed, "
                 f"{c['unchanged']:,} unchanged; {c['new'] + c['changed']:,} rows {verb} written"
                 + (f" (job {report['job_id']})" if report["job_id"] else "")
                 + (f", resuming job {', '.join(map(str, report['resumed']))}" if report.get("resumed") else ""))
    for e in report["examples"][: 10 if report["dry_run"] else 0]:
        lines.append(f"  plot {e['plot_id']}: {e['was'] or '—'} → {e['now'] or '—'} ({e['status']}, {e['change']})")
    return "\n".join(lines)


def write_csv(frame, path) -> None:
    """A DataFrame as a UTF-8 CSV file with a header row, written by pyarrow (text quoted, numbers bare,
    NULL empty): several times faster than pandas at a million rows.
    """
    from pathlib import Path

    from geoland.store.db import csv_bytes

    Path(path).write_bytes(csv_bytes(dict(frame.items()), header=True))
