"""Printing command results: one JSON object with --json, aligned text tables otherwise."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata

import click

from geoland.results import (
    BoundaryLoad,
    Check,
    CodeIssue,
    ConversionLoad,
    Coverage,
    Export,
    MapFile,
    PlotImport,
    Reassignment,
    Recheck,
    Recoding,
    Reconcile,
    RegisterImport,
    Report,
    UnitLookup,
    VerificationImport,
)


def _default(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def json_text(obj) -> str:
    """``obj`` as JSON text, the one encoder of the CLI and the web app.

    ``obj`` as JSON text: UTF-8 letters kept, dates as ISO text, numpy scalars as numbers, anything
    else as its string; used by the CLI's ``--json`` and by the web app.
    """
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


def _verb(dry_run: bool) -> str:
    return "would be" if dry_run else "were"


def format_conversion(r: ConversionLoad, *, brief: bool = False) -> str:
    """Text of a conversion-table load (``geoland units load-conversion``, the demo's step 1)."""
    head = (f"{r.file}: {r.rows:,} rows, {r.new_communes:,} new communes, {r.old_communes:,} old communes, "
            f"{r.provinces} provinces (from {r.old_provinces}); effective {r.effective}")
    done = ("already loaded: nothing changed" if r.unchanged else
            f"job {r.job_id}: units +{r.units['inserted']:,} (closed {r.units['closed']:,}, renamed "
            f"{r.units['renamed']:,}); pairs +{r.changes['inserted']:,}, updated {r.changes['updated']:,}, "
            f"removed {r.changes['removed']:,}, unchanged {r.changes['unchanged']:,}")
    if brief:
        return f"{head}\n{done}"
    lines = [head, table(["change", "rows"], [[k, v] for k, v in r.kinds.items()], right={1}),
             f"old communes split among several new ones: {r.split_old_communes:,}",
             *(f"warning: {w}" for w in r.warnings), done]
    return "\n".join(lines)


def format_boundaries(r: BoundaryLoad, *, brief: bool = False) -> str:
    """Text of a boundary-layer load (``geoland units load-boundaries``, the demo's step 2)."""
    lines = [f"{r.file}: {r.features} features, {r.area_km2:,} km², areas in EPSG:{r.metric_epsg}; "
             f"{r.matched} matched to units of {r.effective}; {len(r.no_code)} without code, "
             f"{len(r.unknown_code)} unknown codes, {len(r.repairs)} repaired"]
    if not brief:
        if r.unknown_code:
            lines.append(f"codes not among the units of {r.effective} (kept): {', '.join(r.unknown_code)}")
        if r.no_code:
            lines.append(f"features without a code (kept): {len(r.no_code)}: "
                         + ", ".join(f"#{f['feature']} {f['name']}" for f in r.no_code[:10])
                         + (" …" if len(r.no_code) > 10 else ""))
        if r.duplicate_codes:
            lines.append(f"codes on several features: {', '.join(r.duplicate_codes)}")
        if r.units_without_boundary:
            lines.append(f"units of {r.effective} with no feature in this layer: {len(r.units_without_boundary)}")
        lines += [f"repaired feature #{x['feature']} {x['code'] or ''} {x['name'] or ''}: {x['repair']}"
                  for x in r.repairs]
    lines.append(f"already loaded as layer {r.layer_id}: nothing changed" if r.unchanged else
                 f"job {r.job_id}: stored as layer {r.layer_id}"
                 + (f", superseding layer(s) {r.superseded}" if r.superseded else ""))
    return "\n".join(lines)


def format_coverage(r: Coverage, limit: int = 30) -> str:
    """Text of a coverage QA report (``geoland units check``, the demo's step 3)."""
    scope = f"province {r.province}" if r.province else "all provinces"
    lines = [f"coverage of {r.units} communes in force on {r.effective} ({scope}), "
             f"pieces ≥ {r.min_area_m2:,.0f} m²: {r.gaps} gaps ({r.gap_area_m2 / 1e4:,.2f} ha), "
             f"{r.overlaps} overlaps ({r.overlap_area_m2 / 1e4:,.2f} ha)"]
    rows = [[d["kind"], d["codes"], f"{d['area_m2']:,.0f}", f"{d['lon']:.5f}", f"{d['lat']:.5f}"]
            for d in r.defects[:limit]]
    if rows:
        lines.append(table(["kind", "communes", "area m²", "lon", "lat"], rows, right={2, 3, 4}))
    if len(r.defects) > limit:
        lines.append(f"… and {len(r.defects) - limit} more (--limit, or --json for all)")
    return "\n".join(lines)


def format_unit_lookup(r: UnitLookup) -> str:
    """Text of ``geoland units lookup``."""
    lines = [f"{r.code} on {r.at}: {r.name} ({r.level}, province {r.province_code}, valid {r.valid})"]
    for title, related in (("formed from", r.formed_from), ("became", r.became)):
        lines += [f"  {title} {x['code']} {x['name']} on {x['effective']}: {x['kind']} ({x['note']})" for x in related]
    return "\n".join(lines)


def describe_encoding(encoding: str, evidence: dict) -> str:
    """How the import read the text, and why.

    E.g. ``tcvn3 → Unicode (1,204 values; 100% Vietnamese words, next vni 12%)``.
    """
    readings = evidence.get("readings", {})
    if encoding in ("ascii",) or not readings:
        return encoding + (" (given)" if evidence.get("forced") else "")
    others = sorted((v, e) for e, v in readings.items() if e != encoding)
    why = f"{evidence.get('values', 0):,} values; {readings.get(encoding, 0):.0%} Vietnamese words"
    if others:
        why += f", next {others[-1][1]} {others[-1][0]:.0%}"
    if evidence.get("forced"):
        why += "; given with --encoding"
    converted = encoding not in ("unicode", "latin-1")
    return f"{encoding}{' → Unicode' if converted else ''} ({why})"


def format_register_import(r: RegisterImport) -> str:
    """Text of ``geoland register import``: rows read per sheet, what was added or changed, what was set aside."""
    c = r.counts
    read = ", ".join(f"{n:,} {sheet}" for sheet, n in r.rows.items())
    done = (f"the same file as register import {r.import_id}, and nothing differs: nothing changed" if r.unchanged
            else f"job {r.job_id}, register import {r.import_id}")
    lines = [f"{r.file}: {done}; rows read: {read}",
             f"added: {c['certificates_added']:,} certificates, {c['parties_added']:,} parties, "
             f"{c['rights_added']:,} rights, {c['assets_added']:,} assets, {c['paper_plots_added']:,} plots without "
             f"geometry yet; links: {c['certificate_links_added']:,} certificate–plot, {c['asset_links_added']:,} "
             f"asset–plot, {c['household_members_added']:,} household members; {c['aliases_added']:,} other "
             f"spellings kept; {c['changes']:,} values changed (history in register_change), "
             f"{c.get('records_completed', 0):,} records completed or changed"]
    if r.text_encoding in ("tcvn3", "vni"):
        lines.append(f"text: {r.cells_converted:,} cells converted from {r.text_encoding.upper()} to Unicode")
    if r.quarantined:
        lines.append(f"{r.quarantined:,} rows quarantined (register_quarantine): "
                     + ", ".join(f"{n:,} {sheet}" for sheet, n in (r.quarantined_by_sheet or {}).items()))
        lines += [f"  sheet {p['sheet']!r}, row {p['row']}: {'; '.join(p['reasons'])}" for p in (r.problems or [])[:20]]
    for sheet, columns in (r.unknown_columns or {}).items():
        lines.append(f"sheet {sheet!r}: columns not read: {', '.join(columns)} (name them in a --fields file if "
                     "they hold one of the register's fields)")
    return "\n".join(lines)


def format_reconcile(r: Reconcile) -> str:
    """Text of ``geoland register reconcile``: the differences per field, the first ones (masked)."""
    d = r.differences
    words = {"missing_in_database": "certificates not in the database", "plot": "plots not on the certificate",
             "area": "areas differ", "purpose": "purposes differ", "holder_name": "holder names differ",
             "holder_id": "holder ID numbers differ",
             "missing_in_register": "database certificates not in the register"}
    lines = [f"{r.file}: job {r.job_id}, {r.rows:,} rows compared; {sum(d.values()):,} differences "
             + ("as at that job's run of this file: nothing new to record" if r.unchanged else
                "recorded (reconcile_difference; nothing in the register was changed)")]
    lines += [f"  {d[k]:>7,}  {words[k]}" for k in words if k in d]
    for e in r.examples[:10]:
        lines.append(f"  row {e['source_row'] or '-'}: {e['series']} {e['plot_ref'] or ''}: {e['field']}: register "
                     f"{e['register_value']!s}, database {e['database_value']!s}")
    if r.out:
        lines.append(f"all differences: {r.out}")
    return "\n".join(lines)


def format_import(r: PlotImport, *, brief: bool = False) -> str:
    """Text of a plot import (``geoland plots import``, the demo's step 4)."""
    counts = (f"{r.rows_read:,} rows read, {r.imported:,} imported"
              + (f" ({r.repaired:,} repaired)" if r.repaired is not None else "") + f", {r.quarantined:,} quarantined")
    if r.unchanged:
        done = (f"already imported as import {r.import_id} (job {r.job_id}): nothing changed; {counts}; to import "
                "it again with other options, add --replace")
    else:
        done = f"job {r.job_id}, import {r.import_id}: {counts}"
    if brief:
        return f"{r.file}: {done}"
    mapping = ", ".join(f"{k}←{v}" for k, v in r.fields.items() if v)
    unmapped = [k for k, v in r.fields.items() if not v]
    lines = [f"{r.file}: {r.driver}, {r.source_crs} → stored in EPSG:{r.srid}"
             + (f" ({r.zone_basis})" if r.zone_basis else ""),
             f"fields: {mapping}" + (f"; not in the file: {', '.join(unmapped)}" if unmapped else "")]
    if r.field_suggestions:
        lines.append("fields not recognised that look like one: "
                     + ", ".join(f"{f} → {a}?" for f, a in r.field_suggestions.items())
                     + " (if so, name them in a --fields file)")
    if not r.unchanged:
        lines.append(f"text: {describe_encoding(r.text_encoding, r.encoding_evidence or {})}")
    if r.placed_by_location:
        lines.append(f"{r.placed_by_location:,} plots whose commune code is not in the conversion table were given "
                     "the province whose boundary holds them")
    if r.without_province:
        lines.append(f"{r.without_province:,} plots have no province (commune code unknown and no boundary holds "
                     "them): `reassign --province` will not see them; load the boundaries or pass --province")
    if r.duplicates_of_earlier:
        lines.append(f"{r.duplicates_of_earlier:,} plots are already stored by an earlier import (same MX.SB.ST and "
                     "geometry): `geoland check` flags them as duplicate_mx")
    if r.register:
        g = r.register
        lines.append(f"register: {g['rights']:,} holders recorded ({g['parties']:,} new persons, "
                     f"{g['aliases']:,} written otherwise than before); {g['certificate_links']:,} plots on "
                     f"certificates ({g['certificates']:,} new)"
                     + (f"; {g['paper_plots_attached']:,} plots known only from certificates got their geometry"
                        if g.get("paper_plots_attached") else ""))
    for old in r.replaced or ():
        lines.append(f"replaces import {old['import_id']} ({old['file']}): its {old['plots']:,} plots forgotten, "
                     f"{old['codes_retired']:,} identification codes retired (the same plots get theirs back at "
                     "`codes issue`)")
    if r.z_dropped:
        lines.append(f"heights (Z) dropped from {r.z_dropped:,} geometries: plots are stored in 2D")
    lines.append(done)
    if r.quarantine_reasons:
        lines.append(table(["quarantine reason", "rows"], [[k, v] for k, v in r.quarantine_reasons.items()],
                           right={1}))
    return "\n".join(lines)


def format_reassignment(r: Reassignment, limit: int = 20) -> str:
    """Text of a reassignment (``geoland reassign``, the demo's step 5)."""
    s = r.status
    scope = f"province {r.province}" if r.province else "all plots"
    lines = [f"{r.plots:,} plots ({scope}) → communes of {r.effective}: {s['inside']:,} inside, "
             f"{s['straddling']:,} straddling, {s['outside']:,} outside; legal mismatch "
             f"{r.legal_mismatch:,} (not checkable: {r.legal_unchecked:,})"]
    per = sorted(r.per_commune.items(), key=lambda kv: (-sum(v for k, v in kv[1].items() if k != "legal_mismatch"),
                                                        kv[0]))
    rows = [[code, c.get("inside", 0), c.get("straddling", 0), c.get("outside", 0), c.get("legal_mismatch", 0)]
            for code, c in per[:limit]]
    lines.append(table(["commune", "inside", "straddling", "outside", "legal mismatch"], rows, right={1, 2, 3, 4}))
    if len(per) > limit:
        lines.append(f"… and {len(per) - limit} more communes (--limit, or --json)")
    c = r.changes
    lines.append(f"against the current assignment: {c['new']:,} new, {c['changed']:,} changed, "
                 f"{c['unchanged']:,} unchanged; {c['new'] + c['changed']:,} rows {_verb(r.dry_run)} written"
                 + (f" (job {r.job_id})" if r.job_id else "")
                 + (f", resuming job {', '.join(map(str, r.resumed))}" if r.resumed else ""))
    for e in r.examples[: 10 if r.dry_run else 0]:
        lines.append(f"  plot {e['plot_id']}: {e['was'] or '—'} → {e['now'] or '—'} ({e['status']}, {e['change']})")
    return "\n".join(lines)


def format_codes(r: CodeIssue) -> str:
    """Text of ``geoland codes issue`` (and the demo's step 7)."""
    resumed = f" (resuming job {', '.join(map(str, r.resumed))})" if r.resumed else ""
    lines = [f"job {r.job_id}{resumed}: {r.issued:,} codes issued in {r.communes} communes; {r.with_code:,} plots "
             f"have a code"]
    if r.reinstated:
        lines.append(f"{r.reinstated:,} plots of a forgotten import came back: each got its earlier code again")
    if r.withheld_retired:
        lines.append(f"{r.withheld_retired:,} plots would take a retired code (of a forgotten plot elsewhere): none "
                     "issued, see the retired_code conflicts")
    lines.append(f"conflicts: {r.conflicts or 'none'} ({r.new_conflicts} new)")
    return "\n".join(lines)


def format_code_lookup(report: dict) -> str:
    """Text of ``geoland codes lookup``: each plot found, its codes and communes over time."""
    lines = []
    for p in report["plots"]:
        lines.append(f"plot {p['plot_id']} ({p['matched_as']}): identification code {p['identification_code'] or '—'}, "
                     f"MX.SB.ST {p['current_mx'] or '—'} (legacy {p['legacy_mx'] or '—'}), {p['area_m2']:,} m², "
                     f"{p['land_use'] or '—'}")
        lines += [f"  {h['effective']}: {h['old_code']} → {h['new_code']} ({h['policy']}, job {h['job_id']})"
                  for h in p["code_history"]]
        lines += [f"  commune from {h['effective']}: {h['commune_code'] or '—'} ({h['status']}, job {h['job_id']})"
                  for h in p["commune_history"]]
    return "\n".join(lines)


def format_recode(r: Recoding, *, brief: bool = False) -> str:
    """Text of ``geoland recode`` (and the demo's step 6)."""
    if r.dry_run:
        lines = [f"would recode {r.plots:,} plots in {r.communes} new communes with policy {r.policy} "
                 f"({r.changed:,} codes change)"]
    else:
        lines = [f"job {r.job_id}: {r.recoded:,} plots recoded with policy {r.policy}"
                 + (f"; {r.communes_done_before} of {r.communes} new communes were already done"
                    if r.communes_done_before else f" in {r.communes} new communes")]
    if r.crosswalk_file:
        lines.append(f"crosswalk: {r.crosswalk_file}")
    if brief:
        return "\n".join(lines)
    lines.insert(1, f"{r.legacy_collisions:,} plots shared their legacy MX.SB.ST with another plot of the same "
                    "new commune")
    lines[2:2] = [f"  {e['old']} → {e['new']}" for e in (r.examples or [])[:10]]
    return "\n".join(lines)


def format_verification(r: VerificationImport) -> str:
    """Text of ``geoland people import-verification`` (and the demo's step 8)."""
    return (f"job {r.job_id}: {r.rows:,} answers read, {r.loaded:,} new or changed ({r.authenticated:,} "
            f"authenticated, {r.incorrect:,} incorrect, {r.unverifiable:,} unverifiable); "
            f"{r.matching_land_users:,} match land users")


def format_corrections_applied(r: dict) -> str:
    """Text of ``geoland corrections apply``."""
    head = "dry run, nothing changed: " if r["dry_run"] else f"job {r['job_id']}: "
    lines = [f"{head}{r['rows']:,} rows read, {r['changed']:,} plots changed ({r['values']:,} values), "
             f"{r['unchanged']:,} rows unchanged"]
    c = r.get("recheck")
    if c:
        lines.append(f"re-checked {c['plots']:,} plots: {c['opened']:,} findings opened, {c['closed']:,} closed, "
                     f"{c['reopened_changed']:,} reopened (value changed)")
    return "\n".join(lines)


def format_progress(r: dict) -> str:
    """Text of ``geoland progress``: the province's totals per check, then the corrections per day and officer."""
    runs, corrections = r["runs"], r["corrections"]
    if not runs and not corrections:
        return "no check recorded yet: run `geoland check` (nightly: see the README)"

    def share(n, total):
        return f"{n:,} ({n / total:.1%})" if total else f"{n:,}"

    lines = [table(["check", "job", "plots", "full data", "missing ≥ 1 field", "in conflict"],
                   [[str(x["at"])[:16], x["job_id"], x["plots"], share(x["full_data"], x["plots"]),
                     share(x["missing_1_plus"], x["plots"]), share(x["conflict"], x["plots"])] for x in runs],
                   right={1, 2, 3, 4, 5})]
    if corrections:
        lines += ["", "corrections per day, officer and source:",
                  table(["day", "officer", "source", "values", "plots"],
                        [[str(c["day"]), c["actor"], c["source"], c["values"], c["plots"]] for c in corrections],
                        right={3, 4})]
    if r.get("out"):
        lines.append(f"per commune and check: {r['out']}")
    return "\n".join(lines)


def format_recheck(r: Recheck) -> str:
    """Text of ``geoland check --changed-since``."""
    if not r.edited_plots:
        return f"no plot edited since {r.since}: nothing to re-check"
    return (f"job {r.job_id}: {r.edited_plots:,} plots edited since {r.since}, {r.plots:,} re-checked with their "
            f"partners: {r.opened:,} findings opened, {r.reopened_changed:,} reopened (value changed), "
            f"{r.closed:,} closed, {r.unchanged:,} unchanged")


def format_check(r: Check, *, language: str = "vi", brief: bool = False) -> str:
    """Text of ``geoland check`` (and the demo's step 9): counts, then findings per type in ``language``."""
    from geoland.rules.vocab import FINDING_TYPES, words

    lines = [f"job {r.job_id}: {r.plots:,} plots checked, {r.plots_with_findings:,} with findings "
             f"({r.by_category.get('missing', 0):,} missing data, {r.by_category.get('conflict', 0):,} in conflict)"]
    if brief:
        return lines[0]
    rows = [[t, FINDING_TYPES[t].label(language), FINDING_TYPES[t].group, n] for t, n in r.by_type.items()]
    lines.append(table(["finding", words("cli", language)["name"], "category", "plots"], rows, right={3}))
    c = r.changes
    lines.append(f"against the last check: {c['opened']:,} new, {c['reopened_changed']:,} changed, "
                 f"{c['closed']:,} gone, {c['unchanged']:,} unchanged (review states kept)")
    return "\n".join(lines)


def format_report(r: Report) -> str:
    """Text of ``geoland report`` (and the demo's step 10)."""
    c = r.campaign
    return "\n".join([f"{c['plots']:,} plots in {r.communes} communes: full data {c['full_data']:,} (authenticated "
                      f"{c['authenticated']:,}, incorrect {c['incorrect']:,}, unverifiable {c['unverifiable']:,}, "
                      f"not yet checked {c['not_checked']:,}); missing ≥ 1 field {c['missing_1_plus']:,}",
                      *r.files])


def format_map(r: MapFile) -> str:
    """Text of ``geoland map`` (and each map of the demo's step 11)."""
    return (f"{r.file}: commune {r.commune} {r.name or ''}, {r.plots:,} plots ({r.conflict:,} in conflict, "
            f"{r.missing:,} missing data, {r.clean:,} without findings), {r.bytes / 1e6:.1f} MB")


def format_export(r: Export, *, since: str | None = None, brief: bool = False) -> str:
    """Text of ``geoland export`` (and the demo's step 12)."""
    lines = [f"export {r.export_id}: {r.rows:,} identifiers → {r.out}"]
    if not brief:
        def what(e):
            return f"{e['rows']:,} rows" if "rows" in e else f"types of {e['describes']}"

        lines += [f"  {name:22s} {what(e):>15}  {e['bytes']:>12,} B  sha256 {e['sha256'][:16]}…"
                  for name, e in r.files.items()]
    if r.delta:
        d = r.delta
        lines.append(f"since {since or 'the earlier export'}: {d['added']:,} added, {d['changed']:,} changed, "
                     f"{d['retired']:,} retired")
    return "\n".join(lines)


def write_csv(frame, path) -> None:
    """Write a DataFrame as a UTF-8 CSV file with a header row.

    A DataFrame as a UTF-8 CSV file with a header row, written by pyarrow (text quoted, numbers bare,
    NULL empty): several times faster than pandas at a million rows.
    """
    from pathlib import Path

    from geoland.store.db import csv_bytes

    Path(path).write_bytes(csv_bytes(dict(frame.items()), header=True))
