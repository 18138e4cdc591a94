"""``geoland run``: every province's pipeline at once, as Dask tasks (:mod:`geoland.pipeline.national`)."""

from __future__ import annotations

import click

from geoland.output import emit_json

from .base import cli, json_option

SPLIT_ABOVE = 1_200_000      # a province of about a million plots runs whole (3.9 GB a worker, benchmarks/README.md)


@cli.command("run")
@click.option("--provinces", required=True, metavar="all|P,P2,…",
              help="Every province with imported plots (all), or these province codes.")
@click.option("--out", type=click.Path(file_okay=False), required=True,
              help="Folder for the exports (OUT/PP/ per province; on a cluster, one every worker sees).")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes of the local cluster (default 2).")
@click.option("--scheduler", metavar="ADDRESS", help="A running Dask scheduler (tcp://host:8786) instead of a "
              "local cluster; its workers need geoland installed and the database reachable.")
@click.option("--split-above", type=click.IntRange(1, None), default=SPLIT_ABOVE, show_default=True,
              metavar="PLOTS", help="A province of more plots than this runs split by old commune, in parts of at "
              "most this many (a worker holds one part's geometries, not the province's).")
@json_option
@click.pass_context
def run_command(ctx, provinces, out, workers, scheduler, split_above, as_json):
    """Reassign, issue codes, recode (prefix), check and export every province, one Dask task per province.

    Each task runs the single-machine steps on its province, connecting to the database itself, under the
    same per-province locks and job records; a task lost with its worker is run again and resumes. Without
    --scheduler a local cluster of --workers processes is used. A province of more than --split-above plots
    runs as parts of old communes (reassignment, codes and checks per part; recoding, the check's record and
    the export per province), with the same answers.
    """
    from pathlib import Path

    from geoland.errors import InvalidInput
    from geoland.pipeline.national import provinces_with_plots, run_provinces
    from identifiers import normalize_unit_code

    url = ctx.obj.get("url") if ctx.obj else None
    known = provinces_with_plots(url)
    if provinces.strip().lower() == "all":
        chosen = known
    else:
        chosen = [normalize_unit_code(p.strip(), "province") for p in provinces.split(",") if p.strip()]
        unknown = [p for p in chosen if p not in known]
        if unknown:
            raise InvalidInput(f"no plots imported for province(s) {', '.join(unknown)}: "
                               f"known are {', '.join(known) or 'none'}")
    if not chosen:
        raise InvalidInput("no province has imported plots: run `geoland plots import` first")
    result = run_provinces(url, chosen, Path(out), scheduler=scheduler, workers=workers, split_above=split_above)
    if as_json:
        return emit_json(result)
    for r in result["provinces"]:
        parts = f" in {r['parts']} parts" if r.get("parts") else ""
        click.echo(f"province {r['province']}: {r['plots']:,} plots{parts} — " + ", ".join(
            f"{step} {r[step]['seconds']:.1f} s" for step in ("reassign", "codes", "recode", "check", "export")))
    click.echo(f"{len(result['provinces'])} provinces in {result['seconds']:.1f} s → {out}")
