"""The ``geoland`` command line: one click group, a sub-command per task, ``--json`` wherever counts are
reported. Errors print one line on stderr and exit non-zero; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import traceback

import click

from boundaries.coverage import DEFAULT_MIN_AREA_M2
from boundaries.reassign import DEFAULT_MIN_SHARE, DEFAULT_SLIVER_M2
from geoland import config
from geoland.errors import Forbidden, GeolandError, InvalidInput
from geoland.output import emit_json, format_coverage, format_reassignment, table
from geoland.rules.checks import DEFAULT_MAP_SCALE, DEFAULT_MIN_OVERLAP_M2


def _date(ctx, param, value):
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--database-url", envvar="GEOLAND_DATABASE_URL", metavar="URL",
              help="PostgreSQL/PostGIS to use (default: the embedded cluster; env GEOLAND_DATABASE_URL).")
@click.option("--debug", is_flag=True, help="Show the full traceback when a command fails.")
@click.version_option(package_name="geoland")
@click.pass_context
def cli(ctx, database_url, debug):
    """geoland: clean a provincial land database after the 2025 reorganisation of communes.

    Start with `geoland db start` and `geoland db migrate`, then load the administrative units
    (`geoland units --help`).
    """
    ctx.obj = {"url": database_url}


def _connect(ctx):
    from geoland.store.db import connect

    return connect(ctx.obj["url"])


# --- db ---------------------------------------------------------------------------------------------

@cli.group()
def db():
    """The database: the embedded PostGIS cluster and the schema migrations."""


data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False), envvar="GEOLAND_PG_DIR", show_envvar=True,
    default=lambda: str(config.default_data_dir()), show_default=".geoland/pg",
    help="Folder of the embedded cluster.")


def _cluster(data_dir):
    from geoland.store.embedded import EmbeddedCluster

    return EmbeddedCluster(data_dir)


@db.command()
@data_dir_option
@json_option
def start(data_dir, as_json):
    """Create (first time) and start the embedded PostgreSQL + PostGIS cluster; a no-op when it runs.

    It listens on 127.0.0.1 and a unix socket only. Prints the URL with the password hidden
    (`geoland db url` prints it whole).
    """
    cluster = _cluster(data_dir)
    started = cluster.start()
    status = cluster.status().as_dict() | {"started": started}
    if as_json:
        emit_json(status)
    else:
        click.echo(f"embedded PostGIS {'started' if started else 'already running'}: {status['url']} "
                   f"(data in {status['data_dir']})")


@db.command()
@data_dir_option
@json_option
def stop(data_dir, as_json):
    """Stop the embedded cluster (a no-op when it is not running)."""
    stopped = _cluster(data_dir).stop()
    if as_json:
        emit_json({"stopped": stopped})
    else:
        click.echo("embedded PostGIS stopped" if stopped else "embedded PostGIS was not running")


@db.command()
@data_dir_option
@json_option
def status(data_dir, as_json):
    """Whether the embedded cluster exists and runs, where, and on which port."""
    st = _cluster(data_dir).status().as_dict()
    if as_json:
        emit_json(st)
    else:
        state = "running" if st["running"] else "initialised, stopped" if st["initialised"] else "not created"
        click.echo(f"embedded PostGIS: {state}; data dir {st['data_dir']}"
                   + (f"; {st['url']}" if st["url"] else ""))


@db.command()
@click.pass_context
def url(ctx):
    """Print the database URL geoland uses (GEOLAND_DATABASE_URL, or the running embedded cluster)."""
    click.echo(config.database_url(ctx.obj["url"]))


@db.command()
@json_option
@click.pass_context
def migrate(ctx, as_json):
    """Create or upgrade the schema `geoland` (Alembic migrations; PostGIS and btree_gist extensions)."""
    from geoland.store.db import migrate as run

    before, after = run(ctx.obj["url"])
    if as_json:
        emit_json({"before": before, "after": after})
    elif before == after:
        click.echo(f"schema already at revision {after}")
    else:
        click.echo(f"schema migrated from {before or 'nothing'} to revision {after}")


# --- units ------------------------------------------------------------------------------------------

@cli.group()
def units():
    """Administrative units (đơn vị hành chính): conversion table, boundaries, coverage QA, look-up."""


@units.command("load-conversion")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--effective", callback=_date, default="2025-07-01", show_default=True, metavar="DATE",
              help="Date the reorganisation took effect: old units end the day before, new ones start.")
@click.option("--replace", is_flag=True,
              help="Replace a different conversion table already stored for this date and provinces.")
@json_option
@click.pass_context
def load_conversion(ctx, path, effective, replace, as_json):
    """Load the official old → new commune conversion table (CSV, the columns of Decision 19/2025).

    The free-text `change` column is classified as whole / partial / unchanged / renamed / retyped / other
    and kept as written. Reloading the same file changes nothing. A malformed file stops with the line and
    the reason, and the database is left as it was.
    """
    from geoland.pipeline.units import load_conversion as run

    with _connect(ctx) as conn:
        report = run(conn, path, effective=effective, replace=replace)
    if as_json:
        return emit_json(report)
    click.echo(f"{path}: {report['rows']:,} rows, {report['new_communes']:,} new communes, "
               f"{report['old_communes']:,} old communes, {report['provinces']} provinces "
               f"(from {report['old_provinces']}); effective {report['effective']}")
    click.echo(table(["change", "rows"], [[k, v] for k, v in report["kinds"].items()], right={1}))
    click.echo(f"old communes split among several new ones: {report['split_old_communes']:,}")
    for warning in report["warnings"]:
        click.echo(f"warning: {warning}")
    if report["unchanged"]:
        click.echo("already loaded: nothing changed")
    else:
        u, c = report["units"], report["changes"]
        click.echo(f"job {report['job_id']}: units +{u['inserted']:,} (closed {u['closed']:,}, renamed "
                   f"{u['renamed']:,}); pairs +{c['inserted']:,}, updated {c['updated']:,}, removed "
                   f"{c['removed']:,}, unchanged {c['unchanged']:,}")


@units.command("load-boundaries")
@click.argument("path", type=click.Path())
@click.option("--effective", callback=_date, required=True, metavar="DATE",
              help="A day on which these boundaries are in force (2025-07-01 for the new communes, "
                   "2025-06-30 for the old ones); features are matched to the units valid that day.")
@click.option("--code-field", default="code", show_default=True, help="Field holding the 5-digit commune code.")
@click.option("--name-field", default="name", show_default=True, help="Field holding the commune's name.")
@click.option("--province-field", help="Field holding the 2-digit province code, if any.")
@click.option("--province", metavar="P", help="Province code of features that have none of their own.")
@click.option("--layer", help="Layer to read (GeoPackage, FileGDB).")
@click.option("--crs", help="CRS of a layer that has none (or a wrong one), e.g. EPSG:9206.")
@json_option
@click.pass_context
def load_boundaries(ctx, path, effective, code_field, name_field, province_field, province, layer, crs,
                    as_json):
    """Load commune boundaries (GeoJSON, GeoPackage, Shapefile, ...) of one date.

    Invalid polygons are repaired with make_valid and the repair is recorded; features whose code is blank
    or not a unit on that date are kept and reported. Geometry is stored in EPSG:4326 and in the VN-2000
    TM-3 zone nearest the layer (for areas and the reassignment).
    """
    from geoland.pipeline.units import load_boundaries as run

    with _connect(ctx) as conn:
        report = run(conn, path, effective=effective, code_field=code_field, name_field=name_field,
                     province_field=province_field, province=province, layer=layer, crs=crs)
    if as_json:
        return emit_json(report)
    click.echo(f"{path}: {report['features']} features, {report['area_km2']:,} km², areas in "
               f"EPSG:{report['metric_epsg']}; {report['matched']} matched to units of {report['effective']}")
    if report["unknown_code"]:
        click.echo(f"codes not among the units of {report['effective']} (kept): {', '.join(report['unknown_code'])}")
    if report["no_code"]:
        click.echo(f"features without a code (kept): {len(report['no_code'])}: "
                   + ", ".join(f"#{f['feature']} {f['name']}" for f in report["no_code"][:10])
                   + (" …" if len(report["no_code"]) > 10 else ""))
    if report["duplicate_codes"]:
        click.echo(f"codes on several features: {', '.join(report['duplicate_codes'])}")
    if report["units_without_boundary"]:
        click.echo(f"units of {report['effective']} with no feature in this layer: "
                   f"{len(report['units_without_boundary'])}")
    for r in report["repairs"]:
        click.echo(f"repaired feature #{r['feature']} {r['code'] or ''} {r['name'] or ''}: {r['repair']}")
    if report["unchanged"]:
        click.echo(f"already loaded as layer {report['layer_id']}: nothing changed")
    else:
        click.echo(f"job {report['job_id']}: stored as layer {report['layer_id']}"
                   + (f", superseding layer(s) {report['superseded']}" if report["superseded"] else ""))


@units.command("check")
@click.option("--province", metavar="P", help="Only this province (2-digit code).")
@click.option("--effective", callback=_date, metavar="DATE",
              help="Boundaries of this date (default: the latest loaded).")
@click.option("--min-area", "min_area_m2", type=float, default=DEFAULT_MIN_AREA_M2, show_default=True, metavar="M2",
              help="Report gaps and overlaps of at least this many square metres.")
@click.option("--limit", type=int, default=30, show_default=True, help="Rows to list (text output).")
@json_option
@click.pass_context
def check(ctx, province, effective, min_area_m2, limit, as_json):
    """Coverage QA of the commune boundaries: gaps and overlaps with their area (m², in a VN-2000 TM-3
    zone) and location. A report: it exits 0 whatever it finds.
    """
    from geoland.pipeline.units import check_units

    with _connect(ctx) as conn:
        report = check_units(conn, effective=effective, province=province, min_area_m2=min_area_m2)
    if as_json:
        return emit_json(report)
    click.echo(format_coverage(report, limit))


@units.command("lookup")
@click.argument("code")
@click.option("--at", callback=_date, metavar="DATE", help="Date at which to read the code (default: today).")
@click.option("--level", type=click.Choice(["commune", "district", "province"]), default="commune",
              show_default=True)
@json_option
@click.pass_context
def lookup(ctx, code, at, level, as_json):
    """What a unit code names on a date, what it was formed from and what it became.

    Codes are reused: 03646 is Phường Chiềng Lề until 2025-06-30 and Phường Tô Hiệu from 2025-07-01.
    """
    from geoland.pipeline.units import lookup_unit

    with _connect(ctx) as conn:
        report = lookup_unit(conn, code, at=at, level=level)
    if as_json:
        return emit_json(report)
    click.echo(f"{report['code']} on {report['at']}: {report['name']} ({report['level']}, province "
               f"{report['province_code']}, valid {report['valid']})")
    for title, key in (("formed from", "formed_from"), ("became", "became")):
        for r in report[key]:
            click.echo(f"  {title} {r['code']} {r['name']} on {r['effective']}: {r['kind']} ({r['note']})")


# --- plots ------------------------------------------------------------------------------------------

@cli.group()
def plots():
    """Land plots (thửa đất): import cadastral layers."""


@plots.command("import")
@click.argument("path", type=click.Path())
@click.option("--layer", help="Layer to read (GeoPackage, FileGDB, DGN with several layers).")
@click.option("--crs", help="CRS of the coordinates when the file has none or a wrong one: EPSG:9206, 9206 or "
                            "'VN-2000 / TM-3 104-00'.")
@click.option("--meridian", help="Central meridian of the file's VN-2000 TM-3 zone, e.g. 104.00 or 105-45 "
                                 "(instead of --crs).")
@click.option("--province", metavar="P", help="Province code of the plots (default: from each plot's commune code).")
@click.option("--fields", "fields_file", type=click.Path(dir_okay=False),
              help="TOML file naming the source field of each attribute (see README).")
@json_option
@click.pass_context
def import_(ctx, path, layer, crs, meridian, province, fields_file, as_json):
    """Import a cadastral plot layer: Shapefile (DBF), GeoPackage, GeoJSON, FileGDB, DGN, FlatGeobuf, or CSV
    with a WKT column, in VN-2000 TM-3 coordinates.

    Fields are recognised by their usual names (MAXA, SHBANDO, SOTHUA, DIENTICH, LOAIDAT, TENCHU, SOCCCD,
    NAMSINH, SOPHATHANH, ...); TCVN3 and VNI text is converted to Unicode. Names, ID numbers and birth years
    go to their own table. Rows that cannot be stored are quarantined with their row number and reason;
    the import is one transaction: all of it or nothing. Importing the same file again changes nothing.
    """
    from geoland.pipeline.plots import import_plots

    with _connect(ctx) as conn:
        report = import_plots(conn, path, layer=layer, crs=crs, meridian=meridian, province=province,
                              fields_file=fields_file, progress=not as_json)
    if as_json:
        return emit_json(report)
    mapping = ", ".join(f"{k}←{v}" for k, v in report["fields"].items() if v)
    unmapped = [k for k, v in report["fields"].items() if not v]
    click.echo(f"{path}: {report['driver']}, {report['source_crs']} → stored in EPSG:{report['srid']}")
    click.echo(f"fields: {mapping}" + (f"; not in the file: {', '.join(unmapped)}" if unmapped else ""))
    if report["unchanged"]:
        click.echo(f"already imported as import {report['import_id']} (job {report['job_id']}): nothing changed")
        return
    click.echo(f"text: {report['text_encoding']}" + (" (converted to Unicode)" if report["text_encoding"] in
                                                      ("tcvn3", "vni") else ""))
    click.echo(f"job {report['job_id']}, import {report['import_id']}: {report['rows_read']:,} rows read, "
               f"{report['imported']:,} imported ({report['repaired']:,} repaired), "
               f"{report['quarantined']:,} quarantined")
    if report["quarantine_reasons"]:
        click.echo(table(["quarantine reason", "rows"], [[k, v] for k, v in report["quarantine_reasons"].items()],
                         right={1}))


# --- reassign -----------------------------------------------------------------------------------------

@cli.command("reassign")
@click.option("--province", metavar="P", help="Only the plots of this (new) province, e.g. 14.")
@click.option("--effective", callback=_date, metavar="DATE",
              help="Communes in force on this date (default: the latest boundaries loaded).")
@click.option("--dry-run", is_flag=True, help="Compute and compare with the current assignment; write nothing.")
@click.option("--min-share", type=click.FloatRange(0, 1, min_open=True), default=DEFAULT_MIN_SHARE, show_default=True,
              help="A plot is inside a commune holding at least this share of it …")
@click.option("--sliver", "sliver_m2", type=click.FloatRange(min=0), default=DEFAULT_SLIVER_M2, show_default=True,
              metavar="M2",
              help="… or all of it but this many m² (boundary slivers between layers).")
@click.option("--limit", type=int, default=20, show_default=True, help="Communes to list (text output).")
@json_option
@click.pass_context
def reassign_command(ctx, province, effective, dry_run, min_share, sliver_m2, limit, as_json):
    """Assign every plot to its new commune by largest overlap (measured in the plot's TM-3 zone).

    Each plot gets a status: inside (the commune holds it, less slivers), straddling (it lies across a
    boundary: review it), or outside (no commune). legal mismatch: the commune found is not one of those
    the conversion table allows for the plot's old commune (MAXA). Only new or changed answers are written,
    with the job id, one old commune per transaction (a stopped job resumes when run again); earlier
    answers stay as history. --dry-run shows what would change.
    """
    from geoland.pipeline.assignments import reassign

    report = reassign(ctx.obj["url"], province=province, effective=effective, dry_run=dry_run,
                      min_share=min_share, sliver_m2=sliver_m2, progress=not as_json)
    if as_json:
        return emit_json(report)
    click.echo(format_reassignment(report, limit))


# --- codes ----------------------------------------------------------------------------------------------

@cli.group()
def codes():
    """Plot identification codes (mã định danh thửa đất): issue once, find conflicts."""


@codes.command("issue")
@click.option("--province", metavar="P", help="Only the plots of this province.")
@json_option
@click.pass_context
def codes_issue(ctx, province, as_json):
    """Give every plot that has none its 12-character identification code: the GeoHash of its pole of
    inaccessibility (1 cm tolerance), computed in its VN-2000 TM-3 zone and taken to WGS 84 with EPSG:6960.

    A code is issued once and never recomputed. Work is committed commune by commune: a job that was
    stopped resumes where it stopped when run again. Two plots with one code, or a code whose cell is no
    longer inside its plot, are recorded as conflicts for review.
    """
    from geoland.pipeline.codes import issue_codes

    report = issue_codes(ctx.obj["url"], province=province, progress=not as_json)
    if as_json:
        return emit_json(report)
    resumed = f" (resuming job {', '.join(map(str, report['resumed']))})" if report["resumed"] else ""
    click.echo(f"job {report['job_id']}{resumed}: {report['issued']:,} codes issued in {report['communes']} communes; "
               f"{report['with_code']:,} plots have a code")
    click.echo(f"conflicts: {report['conflicts'] or 'none'} ({report['new_conflicts']} new)")


@codes.command("lookup")
@click.argument("code")
@click.option("--at", callback=_date, metavar="DATE",
              help="Read a reused code as on this date (a legacy MX.SB.ST before the reorganisation, "
                   "the recoded one from it on).")
@json_option
@click.pass_context
def codes_lookup(ctx, code, at, as_json):
    """Find a plot by its identification code or by any current or past MX.SB.ST code; shows its codes
    and their history, and its communes. No personal data is shown.
    """
    from geoland.review.lookup import lookup_code

    with _connect(ctx) as conn:
        report = lookup_code(conn, code, at=at)
    if as_json:
        return emit_json(report)
    for p in report["plots"]:
        click.echo(f"plot {p['plot_id']} ({p['matched_as']}): identification code {p['identification_code'] or '—'}, "
                   f"MX.SB.ST {p['current_mx'] or '—'} (legacy {p['legacy_mx'] or '—'}), {p['area_m2']:,} m², "
                   f"{p['land_use'] or '—'}")
        for h in p["code_history"]:
            click.echo(f"  {h['effective']}: {h['old_code']} → {h['new_code']} ({h['policy']}, job {h['job_id']})")
        for h in p["commune_history"]:
            click.echo(f"  commune from {h['effective']}: {h['commune_code'] or '—'} ({h['status']}, job {h['job_id']})")


@cli.command("recode")
@click.option("--province", metavar="P", help="Only the plots of this (new) province.")
@click.option("--policy", type=click.Choice(["prefix", "renumber"]), required=True,
              help="prefix: keep the old commune code in the new code (03646.03649.25.112), nothing renumbered; "
                   "renumber: number the new commune's sheets again from 1, old communes in code order.")
@click.option("--effective", callback=_date, default="2025-07-01", show_default=True, metavar="DATE",
              help="The reorganisation whose assignments are used.")
@click.option("--dry-run", is_flag=True, help="Show the counts and examples; write nothing.")
@click.option("--crosswalk", "crosswalk_path", type=click.Path(dir_okay=False),
              help="Also write the old → new crosswalk as CSV (UTF-8) to this file.")
@json_option
@click.pass_context
def recode_command(ctx, province, policy, effective, dry_run, crosswalk_path, as_json):
    """New MX.SB.ST codes for the plots after the merger (their commune comes from `geoland reassign`),
    with a crosswalk old code → new code kept as history, so that any past code still finds its plot.

    Work is committed one new commune at a time: a stopped job resumes where it stopped.
    """
    from geoland.pipeline.recode import crosswalk_frame, recode_province

    report = recode_province(ctx.obj["url"], province=province, policy=policy, effective=effective,
                             dry_run=dry_run, progress=not as_json)
    if crosswalk_path and not dry_run:
        from geoland.output import write_csv
        from geoland.store.db import connect

        with connect(ctx.obj["url"]) as conn:
            write_csv(crosswalk_frame(conn, province=province, effective=effective), crosswalk_path)
        report["crosswalk_file"] = crosswalk_path
    if as_json:
        return emit_json(report)
    if dry_run:
        click.echo(f"would recode {report['plots']:,} plots in {report['communes']} new communes with policy {policy} "
                   f"({report['changed']:,} codes change)")
    else:
        click.echo(f"job {report['job_id']}: {report['recoded']:,} plots recoded with policy {policy}"
                   + (f"; {report['communes_done_before']} of {report['communes']} new communes were already done"
                      if report["communes_done_before"] else f" in {report['communes']} new communes"))
    click.echo(f"{report['legacy_collisions']:,} plots shared their legacy MX.SB.ST with another plot of the same "
               "new commune")
    for e in report.get("examples", [])[:10]:
        click.echo(f"  {e['old']} → {e['new']}")
    if report.get("crosswalk_file"):
        click.echo(f"crosswalk: {report['crosswalk_file']}")


# --- quality ----------------------------------------------------------------------------------------

@cli.group()
def people():
    """Land users (người sử dụng đất): the population database's verification results."""


@people.command("import-verification")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@json_option
@click.pass_context
def people_import_verification(ctx, path, as_json):
    """Load the national population database's answers: a UTF-8 CSV with the columns cccd, status
    (authenticated / incorrect / unverifiable) and checked_at. A later answer for a number replaces the
    earlier one. Every line must be readable or nothing is loaded; then run `geoland check`.
    """
    from geoland.pipeline.quality import import_verification

    with _connect(ctx) as conn:
        report = import_verification(conn, path, progress=not as_json)
    if as_json:
        return emit_json(report)
    click.echo(f"job {report['job_id']}: {report['rows']:,} answers read, {report['loaded']:,} new or changed "
               f"({report['authenticated']:,} authenticated, {report['incorrect']:,} incorrect, "
               f"{report['unverifiable']:,} unverifiable); {report['matching_land_users']:,} match land users")


@cli.command("check")
@click.option("--province", metavar="P", help="Only the plots of this (new) province.")
@click.option("--commune", metavar="C", help="Only store and report the findings of the plots of this new commune.")
@click.option("--map-scale", type=click.IntRange(min=100), default=DEFAULT_MAP_SCALE, show_default=True, metavar="M",
              help="Scale 1:M of the cadastral sheets, for the area tolerance ±2·0.0002·M·√area m².")
@click.option("--min-overlap", "min_overlap_m2", type=click.FloatRange(min=0), default=DEFAULT_MIN_OVERLAP_M2,
              show_default=True, metavar="M2", help="Overlaps between plots larger than this many m² are findings.")
@click.option("--english", is_flag=True, help="Finding names in English (default: Vietnamese).")
@json_option
@click.pass_context
def check_command(ctx, province, commune, map_scale, min_overlap_m2, english, as_json):
    """Check the plots' data quality ("đúng – đủ – sạch") and store the findings with the job id.

    Missing: certificate serial, land-user name, CCCD, land-use type, legal area, identification code, new
    commune. Conflicts: invalid or legacy CCCD, one CCCD for several people, population-database answers
    (incorrect, unverifiable), unknown or legacy land-use codes, legal vs computed area, invalid geometry,
    overlaps, duplicate MX.SB.ST, code conflicts, and the reassignment's straddling / outside / legal
    mismatch. A rerun keeps the findings that still hold (and their review state), reopens those whose
    measured value changed and closes those that are gone.
    """
    from geoland.pipeline.quality import check
    from geoland.rules.vocab import FINDING_TYPES, words

    with _connect(ctx) as conn:
        report = check(conn, province=province, commune=commune, map_scale=map_scale,
                       min_overlap_m2=min_overlap_m2, progress=not as_json)
    if as_json:
        return emit_json(report)
    language = "en" if english else "vi"
    click.echo(f"job {report['job_id']}: {report['plots']:,} plots checked, {report['plots_with_findings']:,} with "
               f"findings ({report['by_category'].get('missing', 0):,} missing data, "
               f"{report['by_category'].get('conflict', 0):,} in conflict)")
    rows = [[t, FINDING_TYPES[t].label(language), FINDING_TYPES[t].group, n] for t, n in report["by_type"].items()]
    click.echo(table(["finding", words("cli", language)["name"], "category", "plots"], rows, right={3}))
    c = report["changes"]
    click.echo(f"against the last check: {c['opened']:,} new, {c['reopened_changed']:,} changed, {c['closed']:,} "
               f"gone, {c['unchanged']:,} unchanged (review states kept)")


@cli.command("report")
@click.option("--province", metavar="P", help="The (new) province to report on.")
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Folder to write the report into.")
@click.option("--english", is_flag=True, help="In English (default: Vietnamese).")
@json_option
@click.pass_context
def report_command(ctx, province, out, english, as_json):
    """The data-quality report of a province from the findings of the last `geoland check`: index.html
    (the campaign's numbers — full data, authenticated, incorrect, unverifiable, missing ≥ 1 field — a bar
    chart per commune, plots per finding type; one offline page), communes.csv (per commune and in total)
    and findings.csv (each open finding, land users masked).
    """
    from pathlib import Path

    from geoland.pipeline.report import build_report

    with _connect(ctx) as conn:
        report = build_report(conn, province=province, out=Path(out), language="en" if english else "vi")
    if as_json:
        return emit_json(report)
    c = report["campaign"]
    click.echo(f"{c['plots']:,} plots in {report['communes']} communes: full data {c['full_data']:,} "
               f"(authenticated {c['authenticated']:,}, incorrect {c['incorrect']:,}, unverifiable "
               f"{c['unverifiable']:,}, not yet checked {c['not_checked']:,}); missing ≥ 1 field {c['missing_1_plus']:,}")
    for path in report["files"]:
        click.echo(path)


@cli.command("map")
@click.option("--commune", metavar="C", required=True, help="The new commune to map (5-digit code).")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="HTML file to write.")
@click.option("--english", is_flag=True, help="Labels in English (default: Vietnamese).")
@json_option
@click.pass_context
def map_command(ctx, commune, out, english, as_json):
    """A review map of a new commune's plots: one HTML file that opens offline (Leaflet inlined, no tiles
    unless GEOLAND_TILE_URL is set). Layers: the commune's boundary and its old communes, plots with missing
    data, plots in conflict, one layer per finding type, plots without findings (faint). Click a plot for its
    codes, areas, land use, findings and land user (masked). Run `geoland check` first.
    """
    from pathlib import Path

    from geoland.review.communes import commune_plots
    from geoland.review.maps import write_map

    with _connect(ctx) as conn:
        review = commune_plots(conn, commune)
    report = write_map(review, Path(out), language="en" if english else "vi")
    if as_json:
        return emit_json(report)
    click.echo(f"{report['file']}: commune {report['commune']} {report['name'] or ''}, {report['plots']:,} plots "
               f"({report['conflict']:,} in conflict, {report['missing']:,} missing data, {report['clean']:,} without "
               f"findings), {report['bytes'] / 1e6:.1f} MB")


# --- export ---------------------------------------------------------------------------------------

@cli.group("export", invoke_without_command=True)
@click.option("--province", metavar="P", help="The (new) province to export.")
@click.option("--commune", metavar="C", help="Only the plots of this new commune.")
@click.option("--format", "formats", default="csv,geojson,gpkg", show_default=True,
              help="Identifier files to write, comma-separated: csv, geojson, gpkg.")
@click.option("--out", "out", type=click.Path(file_okay=False), help="Folder to write the export into.")
@click.option("--since", metavar="EXPORT_ID", help="Also write delta.csv: added, changed and retired codes since "
                                                   "that earlier export (its manifest's export_id).")
@click.option("--with-people", is_flag=True, help="Also write people.csv with the land users' names and CCCDs: "
                                                  "needs an admin user (--user, password on standard input); audited.")
@click.option("--user", "username", metavar="NAME", help="The admin user asking for --with-people.")
@json_option
@click.pass_context
def export_group(ctx, province, commune, formats, out, since, with_people, username, as_json):
    """Identifier files for the national digital address platform: identifiers.csv / .geojson / .gpkg
    (columns in docs/export-schema.md), crosswalk.csv and manifest.json with the SHA-256 of every file.
    Rerun on unchanged data, the files are byte-identical. `geoland export verify DIR` checks a package.
    """
    if ctx.invoked_subcommand is not None:
        return
    if not out:
        raise click.UsageError("--out DIR is required")
    from pathlib import Path

    from geoland.pipeline.export import export_province
    from geoland.review.users import authenticate

    people_by = None
    with _connect(ctx) as conn:
        if with_people:
            if not username:
                raise InvalidInput("--with-people needs --user NAME (an admin) and the password on standard input")
            password = sys.stdin.readline().rstrip("\n")
            user = authenticate(conn, username, password)
            if user is None or user["role"] != "admin":
                raise Forbidden(f"--with-people needs an admin user: {username!r} is not one, or the password "
                                   "is wrong")
            people_by = username
        report = export_province(conn, province=province, commune=commune,
                                 formats=[f.strip() for f in formats.split(",") if f.strip()], out=Path(out),
                                 since=since, people_by=people_by)
    if as_json:
        return emit_json(report)
    click.echo(f"export {report['export_id']}: {report['rows']:,} identifiers → {report['out']}")
    for name, entry in report["files"].items():
        click.echo(f"  {name:22s} {entry['rows']:>10,} rows  {entry['bytes']:>12,} B  sha256 {entry['sha256'][:16]}…")
    if report["delta"]:
        d = report["delta"]
        click.echo(f"since {since}: {d['added']:,} added, {d['changed']:,} changed, {d['retired']:,} retired")


@export_group.command("verify")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@json_option
def export_verify(folder, as_json):
    """Check an export folder against its manifest.json (SHA-256 and size of every file, nothing added)."""
    from geoland.pipeline.export import verify_export

    report = verify_export(folder)
    if as_json:
        return emit_json(report)
    click.echo(f"export {report['export_id']}: {report['files']} files verified")


# --- users ----------------------------------------------------------------------------------------

@cli.group()
def users():
    """Users of the web app and API: viewer, reviewer (review actions), admin (personal data, audited)."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["viewer", "reviewer", "admin"]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (else prompted).")
@click.option("--token", "with_token", is_flag=True, help="Also issue an API token (printed once, stored hashed).")
@json_option
@click.pass_context
def users_add(ctx, username, role, password_stdin, with_token, as_json):
    """Add a user, or change an existing user's role and password."""
    from geoland.review.users import add_user

    password = sys.stdin.readline().rstrip("\n") if password_stdin else click.prompt(
        "password", hide_input=True, confirmation_prompt=True)
    with _connect(ctx) as conn:
        token = add_user(conn, username, role, password, with_token=with_token)
    if as_json:
        return emit_json({"username": username, "role": role, "token": token})
    click.echo(f"user {username}: {role}")
    if token:
        click.echo(f"API token (shown once): {token}")


@users.command("list")
@json_option
@click.pass_context
def users_list(ctx, as_json):
    """The users, their roles and whether they have an API token."""
    from geoland.review.users import list_users

    with _connect(ctx) as conn:
        rows = list_users(conn)
    if as_json:
        return emit_json({"users": rows})
    click.echo(table(["user", "role", "token", "disabled"],
                     [[r["username"], r["role"], "yes" if r["has_token"] else "", "yes" if r["disabled"] else ""]
                      for r in rows]))


# --- synth ------------------------------------------------------------------------------------------

@cli.command()
@click.option("--province", default="14", show_default=True, metavar="P",
              help="Province of the land users' birth-province codes (CCCD digits 1-3).")
@click.option("--plots", "n_plots", type=click.IntRange(min=1), default=50_000, show_default=True,
              help="About how many plots to make.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same file.")
@click.option("--out", "out", type=click.Path(), required=True,
              help="Plot file to write; the truth and verification CSVs are written beside it.")
@click.option("--format", "fmt", type=click.Choice(["gpkg", "shp", "geojson", "fgb", "gdb", "csv", "dgn"]),
              help="File format (default: from the --out extension, else gpkg). dgn carries geometry only.")
@click.option("--encoding", type=click.Choice(["utf-8", "tcvn3", "vni"]), default="utf-8", show_default=True,
              help="Text encoding of a Shapefile's DBF: tcvn3 or vni write legacy files as old offices have them.")
@click.option("--old-communes", type=click.Path(), help="Pre-2025 commune polygons the plots tile "
              "(default: the Sơn La pre-2025 layer of the sample data; geoland's own communes without it).")
@click.option("--new-communes", type=click.Path(), help="2025 communes, to record which plots their "
              "boundaries cut (default: the Sơn La 2025 layer with the sample data).")
@click.option("--code-field", help="Commune code field of --old-communes (default old_code or code).")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), envvar="GEOLAND_SAMPLE_DATA",
              help="Folder with the public sample data (default ../shared/data).")
@json_option
def synth(province, n_plots, seed, out, fmt, encoding, old_communes, new_communes, code_field, data_dir, as_json):
    """Write a synthetic province of land plots with realistic attributes and defects, and its truth.

    Plots tile the old communes (never crossing their boundaries) with settlements of small residential
    plots, paddy and crops around them and forest further out; sheets and plot numbers are numbered per
    commune. Defects are injected at the rates of the Sơn La campaign and recorded in OUT.truth.csv (keyed
    by row number); the population database's answers are in OUT.verification.csv.
    """
    import time
    from pathlib import Path

    from geoland.sample.cadastre import FORMATS, synth_inputs, synthesize, write_synthetic

    started = time.monotonic()
    out = Path(out)
    fmt = fmt or next((k for k, (_, ext) in FORMATS.items() if out.suffix.lower() == ext), "gpkg")
    old, new, source = synth_inputs(old_communes=old_communes, new_communes=new_communes, data_dir=data_dir,
                                    code_field=code_field, province=province)
    result = synthesize(old, n_plots, seed=seed, province=province, new_communes=new)
    try:
        paths = write_synthetic(result, out, fmt=fmt, encoding=encoding)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--encoding") from None
    truth = result.truth
    report = {"plots": len(result.plots), "source": source, "format": fmt, "encoding": encoding, "files": paths,
              "full_data": int(truth["full_data"].sum()), "missing_any": int((~truth["full_data"]).sum()),
              "verification": {k: int(v) for k, v in truth["verification"].value_counts().items() if k},
              "defects": {k: int(v) for k, v in truth["defects"].str.split("|").explode().value_counts().items() if k},
              "crosses_2025_boundary": int(truth["crosses_2025_boundary"].sum()),
              "seconds": round(time.monotonic() - started, 1)}
    if as_json:
        return emit_json(report)
    click.echo(f"{report['plots']:,} plots on {source} → {paths['plots']} ({fmt}, {encoding}) in {report['seconds']} s")
    click.echo(f"full data {report['full_data']:,} ({report['verification']}), missing ≥ 1 field "
               f"{report['missing_any']:,}; defects {report['defects']}; cut by 2025 boundaries "
               f"{report['crosses_2025_boundary']:,}")
    click.echo(f"truth: {paths['truth']}\nverification: {paths['verification']}")


# --- demo -------------------------------------------------------------------------------------------

@cli.command()
@click.option("--data", "data_dir", type=click.Path(file_okay=False), envvar="GEOLAND_SAMPLE_DATA",
              help="Folder with the public sample data (default ../shared/data when it exists).")
@click.option("--synthetic", is_flag=True, help="Use the synthetic province even if sample data exists.")
@click.option("--plots", "n_plots", type=click.IntRange(min=100), default=50_000, show_default=True,
              help="Synthetic plots to generate and import (1000000 for the seed's scale).")
@json_option
@click.pass_context
def demo(ctx, data_dir, synthetic, n_plots, as_json):
    """Run the whole pipeline on the Sơn La sample (or on a synthetic province when there is no sample
    data): units and conversion table, boundaries of both vintages, coverage reports, synthetic plots
    imported, reassigned, coded and recoded, population-database answers and checks, the report, maps
    of the communes with the most findings, the identifier export; then a summary with the paths.
    """
    from geoland.sample.demo import run_demo

    report = run_demo(ctx.obj["url"], data_dir=data_dir, synthetic=synthetic, n_plots=n_plots,
                      echo=(lambda *a: None) if as_json else click.echo, progress=not as_json)
    if as_json:
        emit_json(report)


# --- entry point --------------------------------------------------------------------------------------

def _plugins() -> None:
    """Add the commands other installed packages register (entry point group ``geoland.commands``)."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="geoland.commands"):
        if entry.name not in cli.commands:
            cli.add_command(entry.load(), entry.name)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv or os.environ.get("GEOLAND_DEBUG") == "1"
    try:
        _plugins()
        cli.main(args=argv, prog_name="geoland", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("geoland: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except GeolandError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"geoland: error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"geoland: internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                   " (run with --debug for the traceback)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
