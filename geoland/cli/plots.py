"""``geoland plots``: import cadastral plot layers."""

from __future__ import annotations

import click

from geoland.output import format_import

from .base import cli, connect, json_option, show


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
@click.option("--encoding", type=click.Choice(["utf-8", "tcvn3", "vni", "cp1258", "latin-1"]),
              help="Text encoding of a DBF without a UTF-8 .cpg (default: judged from the text; the import stops "
                   "and asks when it cannot tell).")
@click.option("--replace", is_flag=True,
              help="Replace the earlier import of this file (same content, else same path): its plots are forgotten "
                   "in the same transaction (see `plots forget`).")
@json_option
@click.pass_context
def import_(ctx, path, layer, crs, meridian, province, fields_file, encoding, replace, as_json):
    """Import a cadastral plot layer: Shapefile (DBF), GeoPackage, GeoJSON, FileGDB, DGN, FlatGeobuf, or CSV
    with a WKT column, in VN-2000 TM-3 coordinates.

    Fields are recognised by their usual names (MAXA, SHBANDO, SOTHUA, DIENTICH, LOAIDAT, TENCHU, SOCCCD,
    NAMSINH, SOPHATHANH, ...). Text that is bytes (a DBF without a UTF-8 .cpg) is read as whichever of UTF-8,
    TCVN3, VNI, Windows-1258 or Latin-1 makes it Vietnamese, and the evidence is recorded on the import.
    Names, ID numbers and birth years go to their own table. Rows that cannot be stored are quarantined with
    their row number and reason; the import is one transaction: all of it or nothing. Importing the same file
    again changes nothing; with --replace it is imported again and the earlier import forgotten.
    """
    from geoland.pipeline.plots import import_plots

    with connect(ctx) as conn:
        result = import_plots(conn, path, layer=layer, crs=crs, meridian=meridian, province=province,
                              fields_file=fields_file, encoding=encoding, replace=replace, progress=not as_json)
    show(result, as_json, format_import)


@plots.command("imports")
@json_option
@click.pass_context
def imports_(ctx, as_json):
    """The imports, oldest first: file, layer, driver, zone, text encoding, rows read / imported / quarantined,
    plots stored now, when and by which job.
    """
    from geoland.output import emit_json, table
    from geoland.pipeline.plots import list_imports

    with connect(ctx) as conn:
        rows = list_imports(conn)
    if as_json:
        return emit_json({"imports": rows})
    click.echo(table(["import", "file", "layer", "zone", "text", "read", "imported", "quarantined", "plots", "when",
                      "job", "forgotten by"],
                     [[r["import_id"], r["file"], r["layer"] or "", f"EPSG:{r['srid']}", r["text_encoding"],
                       r["rows_read"], r["rows_imported"], r["rows_quarantined"], r["plots_now"], r["at"][:16],
                       r["job_id"], f"job {r['forgotten_by']}" if r["forgotten_by"] else ""] for r in rows],
                     right={0, 5, 6, 7, 8, 10}))


@plots.command("forget")
@click.argument("import_id", type=click.IntRange(min=1))
@click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
@json_option
@click.pass_context
def forget(ctx, import_id, dry_run, as_json):
    """Forget an import: its plots and what was derived from them (rights, and the certificates and persons
    no other plot holds; assignments, crosswalk rows, codes, findings) leave the working tables in one
    transaction.

    The import stays listed with the job that forgot it; each plot is kept as a record without personal
    data; its identification code is retired: never issued to another plot, given back to the same plot
    (same geometry within 1 cm) if it is imported again.
    """
    from geoland.output import emit_json
    from geoland.pipeline.forget import forget_import

    with connect(ctx) as conn:
        result = forget_import(conn, import_id, dry_run=dry_run)
    if as_json:
        return emit_json(result)
    verb = "would forget" if dry_run else f"job {result['job_id']}: forgot"
    click.echo(f"{verb} import {import_id} ({result['file']}): {result['plots']:,} plots, "
               f"{result['codes_retired']:,} identification codes retired"
               + ("" if dry_run else "; removed " + ", ".join(
                   f"{v:,} {k.removeprefix('removed_').replace('_', ' ')}" for k, v in result.items()
                   if k.startswith("removed_") and k != "removed_plots")))


@plots.command("edit")
@click.argument("plot_id", type=click.IntRange(min=1))
@click.option("--version", "version", type=click.IntRange(min=1), required=True,
              help="The plot version the values were read at (`geoland plots edit ID --show`, or the plot page).")
@click.option("--set", "values", multiple=True, metavar="FIELD=VALUE",
              help="A field and its new value (land_use, legal_area_m2, sheet, plot_number, holder_name, id_number, "
                   "birth_year, disputed, disputed_since, dispute_note); empty VALUE empties the field. Repeat.")
@click.option("--user", "username", metavar="U", help="Edit as this web user (an editor: their communes only).")
@json_option
@click.pass_context
def edit(ctx, plot_id, version, values, username, as_json):
    """Supplement or correct one plot, as the web form does: the same rules, the version check, the history
    (source ``command``) and the re-check of the plot with its partners.
    """
    from geoland.review.edits import save_edits
    from geoland.review.scope import allow_plot
    from geoland.review.users import active_user
    from geoland.rules.edits import FIELDS
    from geoland.store.jobs import current_actor

    typed = {}
    for item in values:
        field, sep, value = item.partition("=")
        if not sep or field not in FIELDS:
            raise click.BadParameter(f"{item!r}: FIELD=VALUE with FIELD one of {', '.join(FIELDS)}", param_hint="--set")
        typed[field] = value
    with connect(ctx) as conn:
        user = active_user(conn, username) if username else None
        if user is not None:
            allow_plot(conn, user, plot_id)
        done = save_edits(conn, plot_id, version, typed, actor=user["username"] if user else current_actor(),
                          source="command")
    show(done, as_json, lambda r: f"plot {r['plot_id']}: version {r['version']}, changed: "
                                  f"{', '.join(r['changed']) or 'nothing'}"
                                  + (f"; warnings: {', '.join(f'{k} {v}' for k, v in r['warnings'].items())}"
                                     if r.get("warnings") else ""))
