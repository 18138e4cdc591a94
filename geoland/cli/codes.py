"""``geoland codes`` (issue, look-up) and ``geoland recode`` (new MX.SB.ST codes with a crosswalk)."""

from __future__ import annotations

import click

from geoland.output import format_code_lookup, format_codes, format_recode

from .base import cli, connect, json_option, parse_date, show


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

    result = issue_codes(ctx.obj["url"], province=province, progress=not as_json)
    show(result, as_json, format_codes)


@codes.command("lookup")
@click.argument("code")
@click.option("--at", callback=parse_date, metavar="DATE",
              help="Read a reused code as on this date (a legacy MX.SB.ST before the reorganisation, "
                   "the recoded one from it on).")
@json_option
@click.pass_context
def codes_lookup(ctx, code, at, as_json):
    """Find a plot by its identification code or by any current or past MX.SB.ST code; shows its codes
    and their history, and its communes. No personal data is shown.
    """
    from geoland.review.lookup import lookup_code

    with connect(ctx) as conn:
        result = lookup_code(conn, code, at=at)
    show(result, as_json, format_code_lookup)


@cli.command("recode")
@click.option("--province", metavar="P", help="Only the plots of this (new) province.")
@click.option("--policy", type=click.Choice(["prefix", "renumber"]), required=True,
              help="prefix: keep the old commune code in the new code (03646.03649.25.112), nothing renumbered; "
                   "renumber: number the new commune's sheets again from 1, old communes in code order.")
@click.option("--effective", callback=parse_date, default="2025-07-01", show_default=True, metavar="DATE",
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

    result = recode_province(ctx.obj["url"], province=province, policy=policy, effective=effective,
                             dry_run=dry_run, progress=not as_json)
    if crosswalk_path and not dry_run:
        from geoland.output import write_csv

        with connect(ctx) as conn:
            write_csv(crosswalk_frame(conn, province=province, effective=effective), crosswalk_path)
        result.crosswalk_file = crosswalk_path
    show(result, as_json, format_recode)
