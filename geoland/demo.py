"""``geoland demo``: the pipeline on the Sơn La sample, or on a synthetic province without sample data.

Each step goes through the same functions as the matching command, in its own transaction, so the demo
is what a user would get by typing the commands one by one. Running it again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd

from boundaries.coverage import DEFAULT_MIN_AREA_M2

from . import config
from .db import connect, migrate
from .output import format_coverage, format_reassignment
from .units import check_units, load_boundaries, load_conversion

NEW = dt.date(2025, 7, 1)
OLD = NEW - dt.timedelta(days=1)
SON_LA = "14"
_SAMPLE_FILES = ("admin_units_2025_conversion.csv", "son_la/communes_2025.geojson",
                 "son_la/communes_pre2025.geojson")


def sample_inputs(data_dir: Path | None) -> dict | None:
    """The Sơn La inputs in ``data_dir``, or None when any is missing."""
    if data_dir is None or not all((data_dir / f).is_file() for f in _SAMPLE_FILES):
        return None
    conversion, new, old = (data_dir / f for f in _SAMPLE_FILES)
    return {"province": SON_LA, "conversion": conversion, "new": new, "old": old,
            "new_code_field": "code", "old_code_field": "old_code", "source": f"Sơn La sample in {data_dir}"}


def synthetic_inputs(folder: Path) -> dict:
    """Write the synthetic province's files (same bytes on every run) and describe them."""
    from boundaries.crs import transform_geometries
    from boundaries.synthetic import PROVINCE_CODE, synthetic_reorganisation

    folder.mkdir(parents=True, exist_ok=True)
    reorg = synthetic_reorganisation(seed=0)
    paths = {"conversion": folder / "conversion.csv", "new": folder / "communes_new.geojson",
             "old": folder / "communes_old.geojson"}
    reorg.conversion.to_csv(paths["conversion"], index=False)
    for key, frame in (("new", reorg.new), ("old", reorg.old)):
        wgs84 = gpd.GeoDataFrame(frame.drop(columns="geometry"),
                                 geometry=transform_geometries(frame.geometry.to_numpy(), reorg.crs, "EPSG:4326"),
                                 crs="EPSG:4326")
        wgs84[[c for c in wgs84.columns if c in ("code", "name", "geometry")]].to_file(
            paths[key], driver="GeoJSON", engine="pyogrio", COORDINATE_PRECISION=7)
    return {"province": PROVINCE_CODE, **paths, "new_code_field": "code", "old_code_field": "code",
            "source": f"synthetic province {PROVINCE_CODE} written to {folder}"}


def demo_plots(folder: Path, n_plots: int, *, synthetic: bool, data_dir=None, seed: int = 0) -> Path:
    """The demo's plot file, generated once per (size, seed, source): rerunning the demo imports the very
    same file, which the importer recognises and skips."""
    from .synth import synth_inputs, synthesize, write_synthetic

    path = folder / f"plots-{'synthetic' if synthetic else 'son-la'}-{n_plots}-seed{seed}.gpkg"
    if not path.exists():
        old, new, _ = synth_inputs(data_dir=data_dir, use_synthetic=synthetic,
                                   province="99" if synthetic else SON_LA)
        tmp = path.with_name("tmp-" + path.name)
        write_synthetic(synthesize(old, n_plots, seed=seed, province="99" if synthetic else SON_LA,
                                   new_communes=new), tmp)
        for suffix in ("", ".truth.csv", ".verification.csv"):
            Path(str(tmp) + suffix).replace(str(path) + suffix)
    return path


def run_demo(url: str | None = None, *, data_dir=None, synthetic: bool = False, n_plots: int = 50_000,
             echo=print, progress: bool = False) -> dict:
    found = None if synthetic else config.sample_data_dir(data_dir)
    inputs = None if synthetic else sample_inputs(found)
    if inputs is None:
        if not synthetic:
            echo(f"no sample data found ({found or 'no ../shared/data, no --data, no GEOLAND_SAMPLE_DATA'}): "
                 "running on a synthetic province instead")
        synthetic = True
        inputs = synthetic_inputs(config.home() / "synthetic")
    echo(f"== geoland demo: {inputs['source']}")
    before, after = migrate(url)
    if before != after:
        echo(f"schema migrated to revision {after}")
    province = inputs["province"]
    report: dict = {"source": inputs["source"], "province": province}

    echo("\n== 1. conversion table (bảng chuyển đổi đơn vị hành chính)")
    with connect(url) as conn:
        conv = load_conversion(conn, inputs["conversion"], effective=NEW)
    report["conversion"] = conv
    echo(f"{conv['rows']:,} rows: {conv['new_communes']:,} new communes, {conv['old_communes']:,} old "
         f"communes, {conv['provinces']} provinces; kinds {conv['kinds']}"
         + ("; already loaded" if conv["unchanged"] else f"; job {conv['job_id']}"))

    echo("\n== 2. boundaries (ranh giới xã) of both vintages")
    for key, day, field in (("new", NEW, inputs["new_code_field"]), ("old", OLD, inputs["old_code_field"])):
        with connect(url) as conn:
            layer = load_boundaries(conn, inputs[key], effective=day, code_field=field, name_field="name",
                                    province=province)
        report[f"boundaries_{key}"] = layer
        echo(f"{Path(layer['file']).name} ({day}): {layer['features']} features, {layer['matched']} matched, "
             f"{len(layer['no_code'])} without code, {len(layer['unknown_code'])} unknown codes, "
             f"{len(layer['repairs'])} repaired" + ("; already loaded" if layer["unchanged"] else ""))

    echo("\n== 3. coverage QA (khoảng hở / chồng lấn giữa các xã)")
    for key, day in (("new", NEW), ("old", OLD)):
        with connect(url) as conn:
            cov = check_units(conn, effective=day, province=province, min_area_m2=DEFAULT_MIN_AREA_M2)
        report[f"coverage_{key}"] = cov
        echo(format_coverage(cov, limit=15))

    echo(f"\n== 4. land plots (thửa đất): {n_plots:,} synthetic plots on the old communes, imported")
    from .plots import import_plots

    plots_file = demo_plots(config.home() / "demo", n_plots, synthetic=synthetic, data_dir=data_dir)
    with connect(url) as conn:
        imported = import_plots(conn, plots_file, province=province, progress=progress)
    report["plots"] = imported
    echo(f"{plots_file.name}: {imported['rows_read']:,} rows, {imported['imported']:,} imported, "
         f"{imported['quarantined']:,} quarantined" + ("; already imported" if imported["unchanged"] else
                                                       f"; {imported['repaired']:,} repaired, job {imported['job_id']}"))

    echo("\n== 5. reassignment to the new communes (gán thửa đất vào xã mới)")
    from .assignments import flagged_plots, reassign

    reassigned = reassign(url, province=province, effective=NEW, progress=progress)
    with connect(url) as conn:
        flagged = flagged_plots(conn, province=province, effective=NEW)
    flagged_file = config.home() / "demo" / f"reassign-flagged-{province}.csv"
    flagged.to_csv(flagged_file, index=False)
    report["reassign"] = reassigned | {"flagged_file": str(flagged_file), "flagged": len(flagged)}
    echo(format_reassignment(reassigned, limit=10))
    echo(f"{len(flagged):,} plots to review (straddling, outside or legal mismatch): {flagged_file}")
    return report
