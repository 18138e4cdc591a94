"""``geoland corrections``: commune workbooks — a template of the plots to supplement, applied back (issue 17)."""

from __future__ import annotations

import click

from geoland.output import format_corrections_applied

from .base import cli, connect, json_option, show


@cli.group()
def corrections():
    """Commune workbooks (sổ bổ sung của xã): write a commune's template, apply a filled one."""


@corrections.command("template")
@click.option("--commune", required=True, metavar="C", help="The new (2025) commune.")
@click.option("--only", type=click.Choice(["all", "missing", "conflict"]), default="all", show_default=True,
              help="The plots with open findings of this category.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="The .xlsx file to write.")
@json_option
@click.pass_context
def template_command(ctx, commune, only, out, as_json):
    """Write one sheet of the commune's plots with open findings: key columns locked, a column per field to
    supplement, the findings in words, drop-down lists, a hidden version per row; personal values masked.
    """
    from geoland.pipeline.corrections import write_template

    with connect(ctx) as conn:
        result = write_template(conn, commune, out, only=only)
    show(result, as_json, lambda r: f"{r['file']}: commune {r['commune']}, {r['rows']:,} plots ({r['only']})")


@corrections.command("apply")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every cell and report; change nothing.")
@click.option("--user", "username", metavar="U", help="Apply as this web user (an editor: their communes only); "
              "default: the acting OS user, province-wide.")
@json_option
@click.pass_context
def apply_command(ctx, path, dry_run, username, as_json):
    """Apply a filled commune workbook: every cell checked, all rows in one transaction or none; a row whose plot
    changed since the template was written is a conflict. The same file twice changes nothing.
    """
    from geoland.pipeline.corrections import apply_workbook
    from geoland.review.users import active_user

    with connect(ctx) as conn:
        user = active_user(conn, username) if username else None
        result = apply_workbook(conn, path, user=user, dry_run=dry_run)
        if dry_run:
            conn.rollback()
    show(result, as_json, format_corrections_applied)
