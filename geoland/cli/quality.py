"""``geoland people``, ``check``, ``report`` and ``map``: data quality and what reviewers look at."""

from __future__ import annotations

import click

from geoland.output import (
    format_check,
    format_map,
    format_progress,
    format_recheck,
    format_report,
    format_verification,
    write_csv,
)
from geoland.rules.checks import DEFAULT_MAP_SCALE, DEFAULT_MIN_OVERLAP_M2

from .base import cli, connect, json_option, parse_date, show


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

    with connect(ctx) as conn:
        result = import_verification(conn, path, progress=not as_json)
    show(result, as_json, format_verification)


@people.command("export-requests")
@click.option("--province", metavar="P", help="Only the people holding rights in this province.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Also people last verified before this date (default: only those never verified).")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="The CSV to send (UTF-8, owner-only).")
@json_option
@click.pass_context
def people_export_requests(ctx, province, since, out, as_json):
    """Write the request batch for the national population database: one row per person holding a right
    (ID number, name, birth date or year), each number once, only those not verified (since --since). The
    answers come back with `people import-verification` and reach every plot of the person. The file holds
    personal data in clear, by purpose: it is written readable by its owner only, and the export is audited.
    """
    from geoland.pipeline.quality import export_verification_requests

    with connect(ctx) as conn:
        result = export_verification_requests(conn, out, province=province,
                                              since=since.date() if since else None)
    show(result, as_json, lambda r: f"{r.out}: {r.people:,} people to verify"
         + (f" ({r.asked_before:,} asked before {r.since})" if r.since else " (never verified)")
         + f"{' in province ' + r.province if r.province else ''}; job {r.job_id} (audited)")


@cli.command("check")
@click.option("--province", metavar="P", help="Only the plots of this (new) province.")
@click.option("--commune", metavar="C", help="Only store and report the findings of the plots of this new commune.")
@click.option("--map-scale", type=click.IntRange(min=100), default=DEFAULT_MAP_SCALE, show_default=True, metavar="M",
              help="Scale 1:M of the cadastral sheets, for the area tolerance ±2·0.0002·M·√area m².")
@click.option("--min-overlap", "min_overlap_m2", type=click.FloatRange(min=0), default=DEFAULT_MIN_OVERLAP_M2,
              show_default=True, metavar="M2", help="Overlaps between plots larger than this many m² are findings.")
@click.option("--english", is_flag=True, help="Finding names in English (default: Vietnamese).")
@click.option("--changed-since", metavar="DATE|JOB", help="Only the plots edited since this date (YYYY-MM-DD) or "
              "job (forms, commune workbooks, commands), with the plots their findings touch: a quick re-check.")
@json_option
@click.pass_context
def check_command(ctx, province, commune, map_scale, min_overlap_m2, english, changed_since, as_json):
    """Check the plots' data quality ("đúng – đủ – sạch") and store the findings with the job id.

    Missing: certificate serial, land-user name, CCCD, land-use type, legal area, identification code, new
    commune. Conflicts: invalid or legacy CCCD, one CCCD for several people, population-database answers
    (incorrect, unverifiable), unknown or legacy land-use codes, legal vs computed area, invalid geometry,
    overlaps, duplicate MX.SB.ST, code conflicts, and the reassignment's straddling / outside / legal
    mismatch. A rerun keeps the findings that still hold (and their review state), reopens those whose
    measured value changed and closes those that are gone.
    """
    from geoland.pipeline.quality import check, check_changed

    if changed_since:
        if commune:
            raise click.UsageError("--changed-since re-checks the edited plots wherever they are: drop --commune")
        with connect(ctx) as conn:
            result = check_changed(conn, changed_since, province=province)
        return show(result, as_json, format_recheck)
    with connect(ctx) as conn:
        result = check(conn, province=province, commune=commune, map_scale=map_scale,
                       min_overlap_m2=min_overlap_m2, progress=not as_json)
    show(result, as_json, lambda r: format_check(r, language="en" if english else "vi"))


@cli.command("progress")
@click.option("--province", metavar="P", help="The (new) province.")
@click.option("--since", callback=parse_date, metavar="DATE", help="Checks and corrections from this day on.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the counts per commune and check to this CSV.")
@json_option
@click.pass_context
def progress_command(ctx, province, since, out, as_json):
    """The campaign's progress over time: each check's counts (full data, missing ≥ 1 field, in conflict…), and
    the corrections made per day, officer and source (form, workbook, command).
    """
    from pathlib import Path

    from geoland.pipeline.progress import read_progress

    with connect(ctx) as conn:
        found = read_progress(conn, province=province, since=since)
    if out:
        write_csv(found["communes"], Path(out))
    result = {"province": found["province"], "since": since.isoformat() if since else None, "out": out,
              "runs": found["runs"].to_dict(orient="records"),
              "corrections": found["corrections"].to_dict(orient="records")}
    show(result, as_json, format_progress)


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

    with connect(ctx) as conn:
        result = build_report(conn, province=province, out=Path(out), language="en" if english else "vi")
    show(result, as_json, format_report)


@cli.command("map")
@click.option("--commune", metavar="C", required=True, help="The new commune to map (5-digit code).")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="HTML file to write.")
@click.option("--english", is_flag=True, help="Labels in English (default: Vietnamese).")
@json_option
@click.pass_context
def map_command(ctx, commune, out, english, as_json):
    """A review map of a new commune's plots: one HTML file that opens offline (Leaflet inlined, no background
    unless the office's layers are listed in GEOLAND_BASEMAPS, see the README). Layers: the commune's boundary
    and its old communes, plots with missing data, plots in conflict, one layer per finding type, plots without
    findings (faint). Click a plot for its codes, areas, land use, findings and land user (masked). Run
    `geoland check` first.
    """
    from pathlib import Path

    from geoland.review.communes import commune_plots
    from geoland.review.maps import write_map

    with connect(ctx) as conn:
        review = commune_plots(conn, commune)
    result = write_map(review, Path(out), language="en" if english else "vi")
    show(result, as_json, format_map)
