"""``geoland export``: identifier files for the national digital address platform, and their check."""

from __future__ import annotations

import sys

import click

from geoland.errors import Forbidden, InvalidInput
from geoland.output import format_export

from .base import cli, connect, json_option, show


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
@click.option("--excel", is_flag=True, help="Write the CSV files with a UTF-8 byte-order mark, so that Excel shows "
                                            "Vietnamese letters when a file is opened by double-click.")
@json_option
@click.pass_context
def export_group(ctx, province, commune, formats, out, since, with_people, username, excel, as_json):
    """Identifier files for the national digital address platform: identifiers.csv / .geojson / .gpkg
    (columns in docs/export-schema.md), crosswalk.csv, a .csvt beside each CSV (GDAL's column types: codes stay
    text with their leading zeros) and manifest.json with the SHA-256 of every file.
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
    with connect(ctx) as conn:
        if with_people:
            if not username:
                raise InvalidInput("--with-people needs --user NAME (an admin) and the password on standard input")
            password = sys.stdin.readline().rstrip("\n")
            user = authenticate(conn, username, password)
            if user is None or user["role"] != "admin":
                raise Forbidden(f"--with-people needs an admin user: {username!r} is not one, or the password "
                                   "is wrong")
            people_by = username
        result = export_province(conn, province=province, commune=commune,
                                 formats=[f.strip() for f in formats.split(",") if f.strip()], out=Path(out),
                                 since=since, people_by=people_by, excel=excel)
    show(result, as_json, lambda r: format_export(r, since=since))


@export_group.command("verify")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@json_option
def export_verify(folder, as_json):
    """Check an export folder against its manifest.json (SHA-256 and size of every file, nothing added)."""
    from geoland.pipeline.export import verify_export

    result = verify_export(folder)
    show(result, as_json, lambda r: f"export {r.export_id}: {r.files} files verified")
