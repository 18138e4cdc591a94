"""``geoland register``: the land register from registry exports."""

from __future__ import annotations

import click

from geoland.output import format_reconcile, format_register_import

from .base import cli, connect, json_option, show


@cli.group()
def register():
    """The land register (sổ địa chính): certificates, land users and owners, rights, assets."""


@register.command("import")
@click.argument("path", type=click.Path())
@click.option("--province", metavar="P", help="Only plots of this province may be named (another is a bad row).")
@click.option("--fields", "fields_file", type=click.Path(dir_okay=False),
              help="TOML naming a sheet's column for an attribute: [rights] share = \"TY_LE\" (see README).")
@click.option("--encoding", type=click.Choice(["tcvn3", "vni"]),
              help="Legacy text encoding when it cannot be judged from the text.")
@click.option("--keep-going", is_flag=True,
              help="Import the good rows and quarantine the bad ones (and the rows referring to them) instead of "
                   "stopping at the first file with a bad row.")
@json_option
@click.pass_context
def import_(ctx, path, province, fields_file, encoding, keep_going, as_json):
    """Import a registry export: an .xlsx workbook, or a folder of .csv files, with the sheets Giấy chứng nhận
    (certificates), Thửa đất (the plots each certificate covers), Chủ sử dụng (parties), Quyền (rights) and
    Tài sản (assets).

    Plots are named by identification code or MX.SB.ST of any date; a certificate's plot the database has no
    geometry for is kept as a plot without geometry until a plot import brings it. Every bad row is named
    (sheet, row, every reason) and nothing is written, unless --keep-going. One transaction. Importing the
    same file again changes nothing; a later export of the same register updates what changed, with history.
    """
    from geoland.pipeline.register_import import import_register

    with connect(ctx) as conn:
        result = import_register(conn, path, province=province, fields_file=fields_file, encoding=encoding,
                                 keep_going=keep_going, progress=not as_json)
    show(result, as_json, format_register_import)


@register.command("reconcile")
@click.argument("path", type=click.Path())
@click.option("--out", type=click.Path(dir_okay=False),
              help="Write every difference to this CSV (UTF-8 with BOM, opens in Excel; names and ID numbers masked).")
@json_option
@click.pass_context
def reconcile_(ctx, path, out, as_json):
    """Compare a digitised paper register (an .xlsx or .csv with Số phát hành, Thửa đất, Diện tích, Mục đích sử
    dụng, Họ tên, Số CCCD) with the database, and record each difference: certificates or plots one side
    lacks, areas, purposes, holders' names and ID numbers that differ. Nothing is changed.
    """
    import csv

    from geoland.pipeline.reconcile import differences, reconcile

    with connect(ctx) as conn:
        result = reconcile(conn, path, progress=not as_json)
        if out:
            rows = differences(conn, result.job_id)
            with open(out, "w", encoding="utf-8-sig", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=["source_row", "series", "plot_ref", "field", "register_value",
                                                        "database_value"])
                writer.writeheader()
                writer.writerows(rows)
            result.out = str(out)
    show(result, as_json, format_reconcile)
