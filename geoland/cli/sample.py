"""``geoland synth`` (a synthetic province) and ``geoland demo`` (the whole pipeline on the sample)."""

from __future__ import annotations

import click

from geoland.output import emit_json

from .base import cli, json_option


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
@click.option("--provinces", "n_provinces", type=click.IntRange(1, 30),
              help="A national set instead: this many synthetic provinces (codes 99, 98, …) into the folder --out, "
                   "each with its own communes, conversion table and plots.")
@click.option("--plots-per-province", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="With --provinces: about how many plots per province.")
@click.option("--load", is_flag=True, help="With --provinces: load the set into the database too.")
@json_option
@click.pass_context
def synth(ctx, province, n_plots, seed, out, fmt, encoding, old_communes, new_communes, code_field, data_dir,
          n_provinces, plots_per_province, load, as_json):
    """Write a synthetic province of land plots with realistic attributes and defects, and its truth.

    Plots tile the old communes (never crossing their boundaries) with settlements of small residential
    plots, paddy and crops around them and forest further out; sheets and plot numbers are numbered per
    commune. Defects are injected at the rates of the Sơn La campaign and recorded in OUT.truth.csv (keyed
    by row number); the population database's answers are in OUT.verification.csv. The land register of
    the plots goes to OUT.register.xlsx (a folder OUT.register of CSVs above 100,000 plots) with its truth,
    and a paper register with known discrepancies to OUT.paper-register.xlsx.
    """
    import time
    from pathlib import Path

    from geoland.sample.cadastre import FORMATS, synth_inputs, synthesize, write_synthetic
    from geoland.sample.register import synthesize_register, write_register

    started = time.monotonic()
    out = Path(out)
    if n_provinces:
        return _national(out, n_provinces, plots_per_province, seed, load, as_json, started,
                         url=(ctx.obj or {}).get("url"))
    fmt = fmt or next((k for k, (_, ext) in FORMATS.items() if out.suffix.lower() == ext), "gpkg")
    old, new, source = synth_inputs(old_communes=old_communes, new_communes=new_communes, data_dir=data_dir,
                                    code_field=code_field, province=province)
    result = synthesize(old, n_plots, seed=seed, province=province, new_communes=new)
    try:
        paths = write_synthetic(result, out, fmt=fmt, encoding=encoding)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--encoding") from None
    register = synthesize_register(result, seed=seed)
    paths |= write_register(register, out)
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
    sizes = ", ".join(f"{len(f):,} {k}" for k, f in register.sheets.items())
    click.echo(f"land register: {paths['register']} ({sizes})"
               f"; its truth: {paths['register_truth']}\npaper register: {paths['paper_register']} "
               f"({len(register.paper_truth):,} known discrepancies: {paths['paper_register_truth']})")


def _national(out, n_provinces: int, plots_per_province: int, seed: int, load: bool, as_json: bool, started,
              url=None):
    """``synth --provinces``: the national synthetic set (:mod:`geoland.sample.national`), loaded on request."""
    import time

    from geoland.sample.national import load_national, write_national

    manifest = write_national(out, n_provinces, plots_per_province, seed)
    loaded = load_national(url, out) if load else None
    report = {"out": str(out), "provinces": manifest["provinces"], "loaded": loaded,
              "seconds": round(time.monotonic() - started, 1)}
    if as_json:
        return emit_json(report)
    for p in manifest["provinces"]:
        click.echo(f"province {p['province']}: {p['plots']:,} plots, {p['old_communes']} old → {p['new_communes']} "
                   f"new communes → {out / p['province']}")
    if loaded:
        click.echo("loaded: " + ", ".join(f"{r['province']} ({r['plots']:,} plots)" for r in loaded))
    click.echo(f"{out / 'provinces.json'} ({report['seconds']} s)")


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
