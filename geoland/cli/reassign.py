"""``geoland reassign``: every plot to its new commune by largest overlap."""

from __future__ import annotations

import click

from boundaries.reassign import DEFAULT_MIN_SHARE, DEFAULT_SLIVER_M2
from geoland.output import format_reassignment

from .base import cli, json_option, parse_date, show


@cli.command("reassign")
@click.option("--province", metavar="P", help="Only the plots of this (new) province, e.g. 14.")
@click.option("--effective", callback=parse_date, metavar="DATE",
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

    result = reassign(ctx.obj["url"], province=province, effective=effective, dry_run=dry_run,
                      min_share=min_share, sliver_m2=sliver_m2, progress=not as_json)
    show(result, as_json, lambda r: format_reassignment(r, limit))
