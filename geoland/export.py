"""``geoland export``: identifier files for the national digital address platform, and ``export verify``.

One folder per export: ``identifiers.csv`` / ``.geojson`` / ``.gpkg`` (the columns of
docs/export-schema.md, one row per plot with an identification code, ordered by code), ``crosswalk.csv``
(old → new MX.SB.ST), with ``--since`` a ``delta.csv`` (added / changed / retired), with ``--with-people``
a separate ``people.csv``, and ``manifest.json``: export id, source jobs, schema version, row counts and
the SHA-256 of every file. No wall-clock time is written: the manifest's time is the newest source job's,
the GeoPackage's timestamps are set to it, and the export id is a digest of the content — so an export of
unchanged data is byte-identical. Each export is recorded (its rows' digests too, for ``--since``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from identifiers import normalize_unit_code
from identifiers.geohash import decode

from .assignments import plot_provinces
from .db import copy_csv, csv_bytes, read_columns
from .errors import GeolandError
from .jobs import audit, finish_job, start_job

SCHEMA_VERSION = "1.0"
FORMATS = ("csv", "geojson", "gpkg")
COLUMNS = ["identification_code", "commune_code", "commune_name", "province_code", "mx", "legacy_mx", "lon",
           "lat", "area_m2", "land_use", "certificate_serial"]
_ROWS = """
SELECT p.id, c.code, a.commune_code, p.province_code,
       (SELECT x.new_code FROM geoland.mx_crosswalk x WHERE x.plot_id = p.id ORDER BY x.effective DESC LIMIT 1),
       CASE WHEN p.old_commune_code IS NOT NULL AND p.sheet IS NOT NULL AND p.plot_number IS NOT NULL
            THEN p.old_commune_code || '.' || p.sheet || '.' || p.plot_number END,
       p.area_m2, p.land_use, p.certificate_serial, u.name, u.id_number, u.birth_year
FROM geoland.plot_code c JOIN geoland.plot p ON p.id = c.plot_id
LEFT JOIN geoland.plot_assignment_current a ON a.plot_id = p.id AND a.effective = %(e)s
LEFT JOIN geoland.land_user u ON u.plot_id = p.id
WHERE (%(provinces)s::text[] IS NULL OR p.province_code = ANY(%(provinces)s))
  AND (%(commune)s::text IS NULL OR a.commune_code = %(commune)s)
"""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def identifier_rows(conn: Connection, province: str | None, commune: str | None) -> tuple[pd.DataFrame, dict]:
    effective = conn.execute(sa.text("SELECT max(effective) FROM geoland.plot_assignment")).scalar()
    provinces = (plot_provinces(conn, province, effective) if effective else [province]) if province else None
    frame = read_columns(conn, _ROWS, {"e": effective, "provinces": provinces, "commune": commune},
                         ["plot_id", "identification_code", "commune_code", "province_code", "mx", "legacy_mx",
                          "area_m2", "land_use", "certificate_serial", "user_name", "id_number", "birth_year"])
    names = dict(conn.execute(sa.text("""
        SELECT code, name FROM geoland.admin_unit WHERE level = 'commune' AND (CAST(:e AS date) IS NULL OR
          (coalesce(valid_from, '-infinity') <= :e AND coalesce(valid_to, 'infinity') > :e))"""), {"e": effective}).all())
    provinces_of = dict(conn.execute(sa.text("""
        SELECT code, province_code FROM geoland.admin_unit WHERE level = 'commune' AND (CAST(:e AS date) IS NULL OR
          (coalesce(valid_from, '-infinity') <= :e AND coalesce(valid_to, 'infinity') > :e))"""), {"e": effective}).all())
    frame["plot_id"] = frame["plot_id"].astype(np.int64)
    frame["commune_name"] = frame["commune_code"].map(names)
    # The new province of the new commune (the plot's own code is the old province's).
    frame["province_code"] = frame["commune_code"].map(provinces_of).fillna(frame["province_code"])
    frame["mx"] = frame["mx"].fillna(frame["legacy_mx"])
    lon, lat = decode(frame["identification_code"].to_numpy(dtype=object)) if len(frame) else (np.empty(0),) * 2
    frame["lon"], frame["lat"] = np.round(lon, 8), np.round(lat, 8)
    frame["area_m2"] = np.round(frame["area_m2"].astype(float), 2)
    frame = frame.sort_values(["identification_code", "legacy_mx", "plot_id"], ignore_index=True,
                              na_position="last")
    return frame, {"effective": effective.isoformat() if effective else None}


def _source_jobs(conn: Connection, plot_ids: list[int]) -> tuple[list[int], str | None]:
    """The jobs that wrote the exported data (the plots' import, assignment, codes and recoding: the
    latest of each), and the newest one's end — not the jobs that only read it, so that checking or
    exporting again does not make unchanged data look new."""
    ids = conn.execute(sa.text("""
        SELECT (SELECT max(i.job_id) FROM geoland.plot p JOIN geoland.plot_import i ON i.id = p.import_id
                WHERE p.id = ANY(:ids)),
               (SELECT max(job_id) FROM geoland.plot_assignment WHERE plot_id = ANY(:ids)),
               (SELECT max(job_id) FROM geoland.plot_code WHERE plot_id = ANY(:ids)),
               (SELECT max(job_id) FROM geoland.mx_crosswalk WHERE plot_id = ANY(:ids))"""), {"ids": plot_ids}).one()
    jobs = sorted({int(i) for i in ids if i is not None})
    newest = conn.execute(sa.text("SELECT max(coalesce(finished_at, started_at)) FROM geoland.job WHERE id = ANY(:j)"),
                          {"j": jobs}).scalar()
    return jobs, newest.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if newest else None


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """A digest of each exported row, to tell changed rows in a later ``--since`` export."""
    text = frame[COLUMNS[0]].astype(str).fillna("\0")
    for column in COLUMNS[1:]:
        text = text + "\x1f" + frame[column].astype(str).fillna("\0")      # missing ≠ empty
    return np.array([hashlib.sha1(t.encode()).hexdigest() for t in text], dtype=object)


def _write_csv(frame: pd.DataFrame, path: Path, columns: list[str]) -> None:
    table = pa.table({c: pa.array(frame[c], from_pandas=True) for c in columns})
    with open(path, "wb") as f:
        pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=True, quoting_style="needed"))


def _write_geo(frame: pd.DataFrame, path: Path, driver: str, stamp: str | None) -> None:
    import pyogrio

    points = shapely.points(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
    data = gpd.GeoDataFrame(frame[COLUMNS].reset_index(drop=True), geometry=points, crs="EPSG:4326")
    if path.exists():
        path.unlink()
    if driver == "GPKG":      # GDAL stamps GeoPackages with the current time unless told which
        with pyogrio_config(OGR_CURRENT_DATE=stamp or "2000-01-01T00:00:00Z"):
            pyogrio.write_dataframe(data, path, driver="GPKG", layer="identifiers")
    else:
        pyogrio.write_dataframe(data, path, driver="GeoJSON", layer="identifiers", RFC7946="YES",
                                WRITE_NAME="NO", COORDINATE_PRECISION=8)


@contextlib.contextmanager
def pyogrio_config(**options):
    import pyogrio

    before = {k: pyogrio.get_gdal_config_option(k) for k in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)


def export_province(conn: Connection, *, province: str | None, commune: str | None, formats: list[str], out: Path,
                    since: str | None = None, people_by: str | None = None) -> dict:
    """Write an export (see the module docstring); ``people_by`` is the admin user who asked for the land
    users' personal data (the caller checked the role)."""
    province = normalize_unit_code(province, "province") if province else None
    commune = normalize_unit_code(commune, "commune") if commune else None
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise GeolandError(f"--format {','.join(formats)}: choose among {', '.join(FORMATS)}")
    frame, info = identifier_rows(conn, province, commune)
    if frame.empty:
        raise GeolandError("no plot with an identification code to export: run `geoland codes issue` first")
    previous = None
    if since:
        found = conn.execute(sa.text("SELECT export_id FROM geoland.export WHERE export_id = :i"), {"i": since}).scalar()
        if found is None:
            raise GeolandError(f"no export {since!r} to compare with (see `manifest.json` of an earlier export)")
        previous = pd.DataFrame(conn.execute(sa.text(
            "SELECT plot_id, identification_code, row_hash FROM geoland.export_row WHERE export_id = :i"),
            {"i": since}).all(), columns=["plot_id", "identification_code", "row_hash"])
    jobs, stamp = _source_jobs(conn, frame["plot_id"].tolist())
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict] = {}
    if "csv" in formats:
        _write_csv(frame, out / "identifiers.csv", COLUMNS)
        files["identifiers.csv"] = {"rows": len(frame)}
    if "geojson" in formats:
        _write_geo(frame, out / "identifiers.geojson", "GeoJSON", stamp)
        files["identifiers.geojson"] = {"rows": len(frame)}
    if "gpkg" in formats:
        _write_geo(frame, out / "identifiers.gpkg", "GPKG", stamp)
        files["identifiers.gpkg"] = {"rows": len(frame)}
    crosswalk = pd.DataFrame(conn.execute(sa.text("""
        SELECT x.old_code, x.new_code, x.new_commune, x.effective::text AS effective, x.policy, x.job_id
        FROM geoland.mx_crosswalk x WHERE x.plot_id = ANY(:ids) ORDER BY x.old_code, x.new_code, x.plot_id"""),
        {"ids": frame["plot_id"].tolist()}).all(), columns=["old_code", "new_code", "new_commune", "effective",
                                                            "policy", "job_id"])
    crosswalk.to_csv(out / "crosswalk.csv", index=False, lineterminator="\n")
    files["crosswalk.csv"] = {"rows": len(crosswalk)}
    hashes = _row_hashes(frame)
    delta_counts = None
    if previous is not None:
        now = pd.DataFrame({"plot_id": frame["plot_id"], "row_hash": hashes})
        merged = now.merge(previous, on="plot_id", how="outer", suffixes=("", "_was"), indicator=True)
        added = set(merged.loc[merged["_merge"] == "left_only", "plot_id"])
        changed = set(merged.loc[(merged["_merge"] == "both") & (merged["row_hash"] != merged["row_hash_was"]), "plot_id"])
        retired = merged.loc[merged["_merge"] == "right_only", ["plot_id", "identification_code"]]
        rows = frame[frame["plot_id"].isin(added | changed)].copy()
        rows.insert(0, "change", np.where(rows["plot_id"].isin(added), "added", "changed"))
        gone = pd.DataFrame({"change": "retired", "identification_code": retired["identification_code"]})
        delta = pd.concat([rows[["change", *COLUMNS]], gone], ignore_index=True).sort_values(
            ["change", "identification_code"], ignore_index=True)
        delta.to_csv(out / "delta.csv", index=False, lineterminator="\n")
        delta_counts = {"added": len(added), "changed": len(changed), "retired": len(retired)}
        files["delta.csv"] = {"rows": len(delta)}
    elif (out / "delta.csv").exists():
        (out / "delta.csv").unlink()
    if people_by:
        people = frame[["identification_code", "user_name", "id_number", "birth_year"]]
        people.to_csv(out / "people.csv", index=False, lineterminator="\n")
        files["people.csv"] = {"rows": len(people), "personal_data": True}
    elif (out / "people.csv").exists():
        (out / "people.csv").unlink()
    for name in files:
        files[name] |= {"bytes": (out / name).stat().st_size, "sha256": _sha256(out / name)}
    export_id = hashlib.sha256(json.dumps({"province": province, "commune": commune, "since": since,
                                           "files": {k: v["sha256"] for k, v in sorted(files.items())}},
                                          sort_keys=True).encode()).hexdigest()[:16]
    manifest = {"schema_version": SCHEMA_VERSION, "export_id": export_id, "province": province, "commune": commune,
                "assignments_effective": info["effective"], "source_jobs": jobs, "data_as_of": stamp,
                "since": since, "delta": delta_counts, "files": dict(sorted(files.items()))}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                       encoding="utf-8")
    job = start_job(conn, "export", {"province": province, "commune": commune, "formats": formats, "since": since,
                                     "with_people": bool(people_by), "out": str(out)})
    if conn.execute(sa.text("INSERT INTO geoland.export (export_id, province, commune, job_id, manifest) VALUES "
                            "(:i, :p, :c, :j, CAST(:m AS jsonb)) ON CONFLICT (export_id) DO NOTHING"),
                    {"i": export_id, "p": province, "c": commune, "j": job.id,
                     "m": json.dumps(manifest, ensure_ascii=False)}).rowcount:
        copy_csv(conn, "geoland.export_row (export_id, plot_id, identification_code, row_hash)", [csv_bytes({
            "export_id": np.full(len(frame), export_id), "plot_id": frame["plot_id"].to_numpy(),
            "identification_code": frame["identification_code"].to_numpy(dtype=object), "row_hash": hashes})])
    if people_by:
        audit(conn, job, "personal_data.exported", entity="export", entity_id=export_id,
              detail={"by": people_by, "rows": len(frame), "file": str(out / "people.csv")})
    report = {"export_id": export_id, "out": str(out), "rows": len(frame), "files": manifest["files"],
              "delta": delta_counts, "source_jobs": jobs}
    finish_job(conn, job, {"rows": len(frame), "export_id": export_id, "delta": delta_counts})
    return report


def verify_export(folder: Path) -> dict:
    """Check every file of an export against its manifest; raises naming the first file that differs."""
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GeolandError(f"{manifest_path}: not a readable manifest ({type(exc).__name__})") from exc
    problems = []
    for name, entry in manifest.get("files", {}).items():
        path = folder / name
        if os.sep in name or "/" in name or not path.is_file():
            problems.append(f"{name}: missing")
        elif path.stat().st_size != entry["bytes"] or _sha256(path) != entry["sha256"]:
            problems.append(f"{name}: SHA-256 differs from the manifest (changed after export)")
    extra = sorted(p.name for p in folder.iterdir() if p.name != "manifest.json" and p.name not in manifest["files"])
    problems += [f"{name}: not in the manifest" for name in extra]
    if problems:
        raise GeolandError(f"export {manifest.get('export_id')} in {folder} does not verify: " + "; ".join(problems))
    return {"export_id": manifest["export_id"], "files": len(manifest["files"]), "ok": True}
