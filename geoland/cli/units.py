"""``geoland units``: administrative units, the conversion table, boundaries, coverage QA, look-up."""

from __future__ import annotations

import click

from boundaries.coverage import DEFAULT_MIN_AREA_M2
from geoland.output import format_boundaries, format_conversion, format_coverage, format_unit_lookup

from .base import cli, connect, json_option, parse_date, show


@cli.group()
def units():
    """Administrative units (đơn vị hành chính): conversion table, boundaries, coverage QA, look-up."""


@units.command("load-conversion")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--effective", callback=parse_date, default="2025-07-01", show_default=True, metavar="DATE",
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

    with connect(ctx) as conn:
        result = run(conn, path, effective=effective, replace=replace)
    show(result, as_json, format_conversion)


@units.command("load-boundaries")
@click.argument("path", type=click.Path())
@click.option("--effective", callback=parse_date, required=True, metavar="DATE",
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

    with connect(ctx) as conn:
        result = run(conn, path, effective=effective, code_field=code_field, name_field=name_field,
                     province_field=province_field, province=province, layer=layer, crs=crs)
    show(result, as_json, format_boundaries)


@units.command("check")
@click.option("--province", metavar="P", help="Only this province (2-digit code).")
@click.option("--effective", callback=parse_date, metavar="DATE",
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

    with connect(ctx) as conn:
        result = check_units(conn, effective=effective, province=province, min_area_m2=min_area_m2)
    show(result, as_json, lambda r: format_coverage(r, limit))


@units.command("lookup")
@click.argument("code")
@click.option("--at", callback=parse_date, metavar="DATE", help="Date at which to read the code (default: today).")
@click.option("--level", type=click.Choice(["commune", "district", "province"]), default="commune",
              show_default=True)
@json_option
@click.pass_context
def lookup(ctx, code, at, level, as_json):
    """What a unit code names on a date, what it was formed from and what it became.

    Codes are reused: 03646 is Phường Chiềng Lề until 2025-06-30 and Phường Tô Hiệu from 2025-07-01.
    """
    from geoland.pipeline.units import lookup_unit

    with connect(ctx) as conn:
        result = lookup_unit(conn, code, at=at, level=level)
    show(result, as_json, format_unit_lookup)
