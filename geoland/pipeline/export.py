"""``geoland export``: identifier files for the national digital address platform, and ``export verify``.

One folder per export: ``identifiers.csv`` / ``.geojson`` / ``.gpkg`` (the columns of
docs/export-schema.md, one row per plot with an identification code, ordered by code), ``crosswalk.csv``
(old → new MX.SB.ST), ``assets.csv`` (the houses, apartments and other assets on the exported plots: asset
id, kind, the plot's identification code, building, floor area, floors, year built, the footprint's point;
no personal data), with ``--since`` a ``delta.csv`` (added / changed / retired), with ``--with-people``
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
import multiprocessing
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geoland.errors import Conflict, GeolandError, InvalidInput, NotFound
from geoland.output import write_csv
from geoland.pipeline.assignments import latest_effective, plot_provinces
from geoland.pipeline.files import file_sha256
from geoland.pipeline.units import units_valid_on
from geoland.results import Export, ExportCheck, returns
from geoland.store.db import csv_bytes, read_csv_table
from geoland.store.jobs import audit, finish_job, start_job
from geoland.store.partitions import in_provinces
from identifiers import normalize_unit_code

SCHEMA_VERSION = "1.1"      # 1.1: disputed.csv and the manifest's "disputed" (additions only)
FORMATS = ("csv", "geojson", "gpkg")
# GDAL's type of each exported column (a .csvt beside each CSV): codes are strings, so that GDAL and QGIS keep
# their leading zeros; anything not listed is a string.
CSV_TYPES = {"lon": "Real", "lat": "Real", "area_m2": "Real", "job_id": "Integer64", "plot_id": "Integer64",
             "birth_year": "Integer", "asset_id": "Integer64", "floor_area": "Real", "floors": "Integer",
             "year_built": "Integer"}
UTF8_BOM = b"\xef\xbb\xbf"
COLUMNS = ["identification_code", "commune_code", "commune_name", "province_code", "mx", "legacy_mx", "lon",
           "lat", "area_m2", "land_use", "certificate_serial"]
_ROWS = """
SELECT p.id AS plot_id, c.code AS identification_code, a.commune_code, p.province_code, x.new_code AS mx,
       p.legacy_mx,
       p.area_m2, ST_X(ST_PointFromGeoHash(c.code)) AS lon, ST_Y(ST_PointFromGeoHash(c.code)) AS lat,
       p.land_use, p.certificate_serial, p.disputed, p.disputed_since::text AS disputed_since,
       i.job_id AS import_job, a.job_id AS assign_job, c.job_id AS code_job, x.job_id AS recode_job,
       ej.job_id AS edit_job
       {people}
FROM geoland.plot_code c JOIN geoland.plot_mx p ON p.id = c.plot_id
JOIN geoland.plot_import i ON i.id = p.import_id
LEFT JOIN (SELECT plot_id, max(job_id) AS job_id FROM geoland.plot_edit GROUP BY plot_id) ej ON ej.plot_id = p.id
LEFT JOIN geoland.plot_assignment_current a ON a.plot_id = p.id AND a.effective = %(e)s""" + in_provinces("a") + """
LEFT JOIN geoland.mx_crosswalk_current x ON x.plot_id = p.id""" + in_provinces("x") + """
{people_join}
WHERE (%(provinces)s::text[] IS NULL OR p.province_code = ANY(%(provinces)s))""" + in_provinces("c") + """
  AND (%(commune)s::text IS NULL OR a.commune_code = %(commune)s)
ORDER BY c.code, legacy_mx, p.id
"""
_PEOPLE = (", u.name AS user_name, u.id_number, u.birth_year",
           "LEFT JOIN geoland.land_user u ON u.plot_id = p.id")


def identifier_rows(conn: Connection, province: str | None, commune: str | None, *,
                    people: bool = False) -> tuple[pd.DataFrame, dict]:
    """The rows of the identifier files, ordered by code (read by COPY: a million rows in seconds).

    Parameters
    ----------
    conn : Connection
        An open connection.
    province, commune : str or None
        What to export.
    people : bool
        Also read the land users' names and ID numbers (for ``people.csv``).

    Returns
    -------
    (DataFrame, dict)
        The rows, and what they were read for: the reorganisation date and the provinces.
    """
    effective = latest_effective(conn)
    provinces = plot_provinces(conn, province, effective)
    sql = _ROWS.format(people=_PEOPLE[0] if people else "", people_join=_PEOPLE[1] if people else "")
    text = {c: pa.string() for c in ("identification_code", "commune_code", "province_code", "mx", "legacy_mx",
                                      "land_use", "certificate_serial", "user_name", "id_number",
                                      "disputed", "disputed_since")}
    conn.execute(sa.text("SET LOCAL work_mem = '256MB'"))      # the sorts of a million rows stay in memory
    table = read_csv_table(conn, sql, {"e": effective, "provinces": provinces, "commune": commune,
                                       "_types": {**text, "plot_id": pa.int64(), "area_m2": pa.float64(),
                                                  "lon": pa.float64(), "lat": pa.float64()}})
    frame = table.to_pandas()
    units = units_valid_on(conn, effective)
    frame["commune_name"] = frame["commune_code"].map({c: u["name"] for c, u in units.items()})
    # The new province of the new commune (the plot's own code is the old province's).
    frame["province_code"] = frame["commune_code"].map({c: u["province_code"] for c, u in units.items()}) \
        .astype(object).fillna(frame["province_code"])
    frame["mx"] = frame["mx"].fillna(frame["legacy_mx"])
    # The code's point: the centre of its 12-character cell (PostGIS ST_PointFromGeoHash, as geohash.decode).
    frame["lon"], frame["lat"] = frame["lon"].round(8), frame["lat"].round(8)
    frame["area_m2"] = frame["area_m2"].round(2)
    return frame, {"effective": effective.isoformat() if effective else None, "provinces": provinces}


def _source_jobs(conn: Connection, frame: pd.DataFrame) -> tuple[list[int], str | None]:
    """The jobs that wrote the exported data, and the newest one's end.

    The jobs that wrote the exported data (the plots' import, assignment, codes, recoding and the latest
    correction: the latest of each), and the newest one's end — not the jobs that only read it, so that
    checking or exporting again does not make unchanged data look new.
    """
    jobs = sorted({int(frame[c].dropna().max()) for c in ("import_job", "assign_job", "code_job", "recode_job",
                                                          "edit_job") if frame[c].notna().any()})
    newest = conn.execute(sa.text("SELECT max(coalesce(finished_at, started_at)) FROM geoland.job WHERE id = ANY(:j)"),
                          {"j": jobs}).scalar()
    return jobs, newest.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if newest else None


def _row_hashes(csv: bytes) -> np.ndarray:
    """A digest of each exported row.

    A digest of each exported row — its line in identifiers.csv — to tell changed rows in a later
    ``--since`` export.
    """
    lines = csv.split(b"\n")[1:-1]
    return np.array([hashlib.blake2b(line, digest_size=8).hexdigest() for line in lines], dtype=object)


def _table(frame: pd.DataFrame) -> pa.Table:
    return pa.table({c: pa.array(frame[c], from_pandas=True) for c in COLUMNS})


_POINT_WKB = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])   # 21 bytes, packed


def point_wkb(lon: np.ndarray, lat: np.ndarray) -> pa.BinaryArray:
    """2-D points as little-endian WKB, built as one numpy buffer.

    2-D points as little-endian WKB, the bytes ``shapely.to_wkb`` writes, built as one numpy buffer
    (a million points in milliseconds, not seconds).

    Parameters
    ----------
    lon, lat : ndarray of float
        The points.

    Returns
    -------
    pyarrow.BinaryArray
    """
    n = len(lon)
    packed = np.empty(n, dtype=_POINT_WKB)
    packed["order"], packed["type"], packed["x"], packed["y"] = 1, 1, lon, lat
    offsets = np.arange(0, (n + 1) * _POINT_WKB.itemsize, _POINT_WKB.itemsize, dtype=np.int32)
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(packed.tobytes())])


def _with_points(table: pa.Table) -> pa.Table:
    """lon/lat replaced by a GeoArrow WKB point column."""
    field = pa.field("geometry", pa.binary(), metadata={b"ARROW:extension:name": b"geoarrow.wkb"})
    points = point_wkb(table["lon"].to_numpy(), table["lat"].to_numpy())
    return table.drop_columns(["lon", "lat"]).append_column(field, points)


def _json_values(column: pa.ChunkedArray) -> pa.Array:
    """Each value of a column as JSON text (``null`` for NULL), computed column-wise with pyarrow."""
    import json

    import pyarrow.compute as pc

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_floating(column.type):
        text = pc.cast(column, pa.string())
        text = pc.if_else(pc.match_substring_regex(text, "[.eEn]"), text, pc.binary_join_element_wise(text, ".0", ""))
        ok = pc.and_kleene(pc.is_valid(column), pc.is_finite(column))
        return pc.if_else(ok, text, pa.scalar("null"))
    if pa.types.is_integer(column.type):
        return pc.fill_null(pc.cast(column, pa.string()), "null")
    text = pc.cast(column, pa.string())
    if pc.any(pc.match_substring_regex(text, '["\\\\\\x00-\\x1f]')).as_py():   # rare: JSON's own escaping
        values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in text.to_pylist()]
        return pc.fill_null(pa.array(values, pa.string()), "null")
    return pc.fill_null(pc.binary_join_element_wise('"', text, '"', ""), "null")


def _write_geojson(table: pa.Table, path: Path) -> None:
    """The identifier points as an RFC 7946 FeatureCollection.

    The identifier points as an RFC 7946 FeatureCollection, one feature per line, laid out as GDAL's
    GeoJSON driver writes it — but built column-wise with pyarrow (1 M features in about two seconds
    where GDAL takes eight), and with every coordinate as stored: GDAL shortens some to fewer decimals
    (21.03999996 → 21.04) when they end in a run of nines.
    """
    import pyarrow.compute as pc

    head = b'{\n"type": "FeatureCollection",\n"xy_coordinate_resolution": 1e-08,\n"features": [\n'
    n = table.num_rows
    with open(path, "wb") as f:
        f.write(head)
        if n:
            ends = np.full(n, ",\n", dtype=object)
            ends[-1] = "\n"
            parts: list = ['{ "type": "Feature", "properties": { ']
            for i, name in enumerate(c for c in table.column_names if c not in ("lon", "lat")):
                parts += [f'{", " if i else ""}"{name}": ', _json_values(table[name])]
            parts += [' }, "geometry": { "type": "Point", "coordinates": [ ', _json_values(table["lon"]), ", ",
                      _json_values(table["lat"]), " ] } }", pa.array(ends, pa.string())]
            features = pc.binary_join_element_wise(*parts, "")
            # The features lie one after the other in the array's data buffer: written as they are.
            kind = np.int64 if pa.types.is_large_string(features.type) else np.int32
            offsets = np.frombuffer(features.buffers()[1], dtype=kind, count=n + 1,
                                    offset=features.offset * np.dtype(kind).itemsize)
            f.write(memoryview(features.buffers()[2])[offsets[0]:offsets[-1]])
        f.write(b"]\n}\n")


def _write_gpkg(table: pa.Table, path: Path, stamp: str | None) -> None:
    """The identifier points (:func:`_with_points`) through GDAL's Arrow interface."""
    import pyogrio

    if path.exists():
        path.unlink()
    with pyogrio_config(OGR_CURRENT_DATE=stamp or "2000-01-01T00:00:00Z"):   # else GDAL stamps the time
        # GeoPackage 1.2: what the GDAL (3.x) and QGIS (3.x, LTR 3.28 on) that offices run open without a
        # warning; the bundled GDAL would write 1.4, which Debian 12's GDAL 3.6 warns about.
        pyogrio.write_arrow(table, path, layer="identifiers", driver="GPKG", geometry_name="geometry",
                            geometry_type="Point", crs="EPSG:4326", dataset_options={"VERSION": "1.2"})


@contextlib.contextmanager
def pyogrio_config(**options):
    """GDAL configuration options set for the block and restored after it."""
    import pyogrio

    before = {k: pyogrio.get_gdal_config_option(k) for k in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)


@returns(Export)
def export_province(conn: Connection, *, province: str | None, commune: str | None, formats: list[str], out: Path,
                    since: str | None = None, people_by: str | None = None, excel: bool = False) -> Export:
    """Write the identifier files of a province or commune, with their manifest.

    Write an export (see the module docstring); ``people_by`` is the admin user who asked for the land
    users' personal data (the caller checked the role).

    Parameters
    ----------
    conn : Connection
        An open connection (the export's job and audit events commit with it).
    province, commune : str or None
        What to export: a (new) province, optionally one of its new communes.
    formats : list of str
        Among ``csv``, ``geojson``, ``gpkg``.
    out : Path
        The folder to write; created when missing.
    since : str, optional
        The id of an earlier export: also write ``delta.csv``.
    people_by : str, optional
        The admin user who asked for ``people.csv`` (the caller checked the role); audited.
    excel : bool
        Write the CSV files with a UTF-8 byte-order mark, which Excel needs to show Vietnamese letters when
        a file is opened by double-click (GDAL, QGIS and pandas read both).

    Returns
    -------
    Export
        The export id, rows, files with their sizes and SHA-256, the delta counts, the source jobs.

    Raises
    ------
    InvalidInput
        An unknown format.
    NotFound
        No coded plot to export, or no earlier export ``since``.
    """
    province = normalize_unit_code(province, "province") if province else None
    commune = normalize_unit_code(commune, "commune") if commune else None
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise InvalidInput(f"--format {','.join(formats)}: choose among {', '.join(FORMATS)}")
    frame, info = identifier_rows(conn, province, commune, people=bool(people_by))
    if frame.empty:
        raise NotFound("no plot with an identification code to export: run `geoland codes issue` first")
    previous = None
    if since:
        found = conn.execute(sa.text("SELECT export_id FROM geoland.export WHERE export_id = :i"),
                             {"i": since}).scalar()
        if found is None:
            raise NotFound(f"no export {since!r} to compare with (see `manifest.json` of an earlier export)")
        blob = conn.execute(sa.text("SELECT row_digests FROM geoland.export WHERE export_id = :i"),
                            {"i": since}).scalar()
        previous = pq.read_table(pa.BufferReader(bytes(blob))).to_pandas()
    jobs, stamp = _source_jobs(conn, frame)
    final = Path(out)
    out = _partial_folder(final)
    try:
        return _write_export(conn, final, out, frame, info, previous, jobs, stamp, province=province,
                             commune=commune, formats=formats, since=since, people_by=people_by, excel=excel)
    finally:
        shutil.rmtree(out, ignore_errors=True)          # gone after the swap; a failed export's half


def _partial_folder(final: Path) -> Path:
    """The hidden sibling folder an export is written into before it replaces ``final`` in one rename.

    So ``final`` either verifies or does not exist: a killed export leaves only a ``.partial`` folder, removed
    by the next export there. ``final`` must be new, empty, or an earlier export: other files are refused.
    """
    foreign = final.exists() and (not final.is_dir()
                                  or (any(final.iterdir()) and not (final / "manifest.json").exists()))
    if foreign:
        raise InvalidInput(f"--out {final}: not an export folder (it holds other files); choose a new folder")
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{final.name}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    out = final.with_name(f".{final.name}.partial-{os.getpid()}")
    out.mkdir()
    return out


def _swap_into_place(out: Path, final: Path) -> None:
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        final.rename(old)
        out.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        out.rename(final)


def _csv_sidecars(out: Path, files: dict, excel: bool) -> None:
    """Give each CSV a ``.csvt`` sidecar, and with ``excel`` a UTF-8 byte-order mark.

    The ``.csvt`` names GDAL's type of each column: QGIS and ogr2ogr then keep ``03646`` a string. Both are
    listed in the manifest.
    """
    for name in [n for n in files if n.endswith(".csv")]:
        path = out / name
        with path.open("rb") as f:
            header = f.readline().decode("utf-8").rstrip("\r\n").split(",")
        sidecar = out / (name + "t")
        sidecar.write_text(",".join(f'"{CSV_TYPES.get(c.strip(chr(34)), "String")}"' for c in header) + "\n",
                           encoding="ascii")
        if sidecar.name == "people.csvt":
            sidecar.chmod(0o600)
        files[sidecar.name] = {"describes": name}
        if excel:
            path.write_bytes(UTF8_BOM + path.read_bytes())
            files[name]["encoding"] = "UTF-8 with BOM (for Excel)"


def _write_export(conn, final: Path, out: Path, frame, info, previous, jobs, stamp, *, province, commune, formats,
                  since, people_by, excel=False) -> dict:
    files: dict[str, dict] = {}
    table = _table(frame)
    csv = csv_bytes(table, header=True)
    if "csv" in formats:
        (out / "identifiers.csv").write_bytes(csv)
        files["identifiers.csv"] = {"rows": len(frame)}
    # GDAL writes the GeoPackage in a forked process while this one writes the rest.
    writers = []
    for fmt in ("geojson", "gpkg"):
        if fmt in formats:
            files[f"identifiers.{fmt}"] = {"rows": len(frame)}
    if "gpkg" in formats:
        writer = multiprocessing.get_context("fork").Process(
            target=_write_gpkg, args=(_with_points(table), out / "identifiers.gpkg", stamp), daemon=True)
        writer.start()
        writers.append(("identifiers.gpkg", writer))
    if "geojson" in formats:
        _write_geojson(table, out / "identifiers.geojson")
    crosswalk = read_csv_table(conn, """
        SELECT x.old_code, x.new_code, x.new_commune, x.effective::text AS effective, x.policy, x.job_id
        FROM geoland.mx_crosswalk x JOIN geoland.plot_code c ON c.plot_id = x.plot_id
        JOIN geoland.plot p ON p.id = x.plot_id
        LEFT JOIN geoland.plot_assignment_current a ON a.plot_id = p.id AND a.effective = %(e)s""" + \
        in_provinces("a") + """
        WHERE (%(provinces)s::text[] IS NULL OR p.province_code = ANY(%(provinces)s::text[]))""" + \
        in_provinces("x") + in_provinces("c") + """
          AND (%(commune)s::text IS NULL OR a.commune_code = %(commune)s)
        ORDER BY x.old_code, x.new_code, x.plot_id""",
        {"e": info["effective"], "provinces": info["provinces"], "commune": commune,
         "_types": {c: pa.string() for c in ("old_code", "new_code", "new_commune", "effective", "policy")}})
    (out / "crosswalk.csv").write_bytes(csv_bytes(crosswalk, header=True))
    files["crosswalk.csv"] = {"rows": crosswalk.num_rows}
    # Plots in dispute (tranh chấp) are flagged, not left out: their identification code stands whatever the
    # dispute decides about their holders or boundary; a boundary that changes gives a new code in a later
    # export (retired and added in its delta). identifiers.csv keeps its columns (a new column would make
    # every row of a --since delta look changed): the flags are this file.
    disputed = frame.loc[frame["disputed"] == "t",                          # COPY writes booleans t / f
                         ["identification_code", "disputed_since"]]
    write_csv(disputed, out / "disputed.csv")
    files["disputed.csv"] = {"rows": len(disputed)}
    # The assets attached to the exported plots (houses, apartments, constructions, forest, trees): no person
    # in it; the footprint's centroid in WGS 84 (empty for an asset without a footprint, e.g. an apartment).
    assets = read_csv_table(conn, """
        SELECT a.id AS asset_id, a.kind, c.code AS identification_code, a.building, a.floor_area, a.floors,
               a.year_built,
               CASE WHEN ST_SRID(a.footprint) > 0 THEN
                   round(ST_X(ST_Transform(ST_Centroid(a.footprint), 4326))::numeric, 8)::float8 END AS lon,
               CASE WHEN ST_SRID(a.footprint) > 0 THEN
                   round(ST_Y(ST_Transform(ST_Centroid(a.footprint), 4326))::numeric, 8)::float8 END AS lat
        FROM geoland.asset a JOIN geoland.asset_plot ap ON ap.asset_id = a.id
        JOIN geoland.plot_code c ON c.plot_id = ap.plot_id JOIN geoland.plot p ON p.id = ap.plot_id
        LEFT JOIN geoland.plot_assignment_current x ON x.plot_id = p.id AND x.effective = %(e)s""" + \
        in_provinces("x") + """
        WHERE (%(provinces)s::text[] IS NULL OR p.province_code = ANY(%(provinces)s::text[]))""" + \
        in_provinces("c") + """
          AND (%(commune)s::text IS NULL OR x.commune_code = %(commune)s)
        ORDER BY a.id, c.code""",
        {"e": info["effective"], "provinces": info["provinces"], "commune": commune,
         "_types": {"asset_id": pa.int64(), "kind": pa.string(), "identification_code": pa.string(),
                    "building": pa.string(), "floor_area": pa.float64(), "floors": pa.int64(),
                    "year_built": pa.int64(), "lon": pa.float64(), "lat": pa.float64()}})
    (out / "assets.csv").write_bytes(csv_bytes(assets, header=True))
    files["assets.csv"] = {"rows": assets.num_rows}
    hashes = _row_hashes(csv)
    delta_counts = None
    if previous is not None:
        now = pd.DataFrame({"plot_id": frame["plot_id"], "row_hash": hashes})
        merged = now.merge(previous, on="plot_id", how="outer", suffixes=("", "_was"), indicator=True)
        added = set(merged.loc[merged["_merge"] == "left_only", "plot_id"])
        both = (merged["_merge"] == "both") & (merged["row_hash"] != merged["row_hash_was"])
        changed = set(merged.loc[both, "plot_id"])
        retired = merged.loc[merged["_merge"] == "right_only", ["plot_id", "identification_code"]]
        rows = frame[frame["plot_id"].isin(added | changed)].copy()
        rows.insert(0, "change", np.where(rows["plot_id"].isin(added), "added", "changed"))
        gone = pd.DataFrame({"change": "retired", "identification_code": retired["identification_code"]})
        delta = pd.concat([rows[["change", *COLUMNS]], gone], ignore_index=True).sort_values(
            ["change", "identification_code"], ignore_index=True)
        write_csv(delta, out / "delta.csv")
        delta_counts = {"added": len(added), "changed": len(changed), "retired": len(retired)}
        files["delta.csv"] = {"rows": len(delta)}
    if people_by:
        people = frame[["identification_code", "user_name", "id_number", "birth_year"]]
        path = out / "people.csv"
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))   # private before a byte is written
        write_csv(people, path)
        files["people.csv"] = {"rows": len(people), "personal_data": True,
                               "mode": "0600: names and ID numbers, readable by the exporting account only"}
    for name, writer in writers:
        writer.join()
        if writer.exitcode != 0:
            raise GeolandError(f"writing {out / name} failed (exit code {writer.exitcode})")
    _csv_sidecars(out, files, excel)
    for name in files:
        files[name] |= {"bytes": (out / name).stat().st_size, "sha256": file_sha256(out / name)}
    export_id = hashlib.sha256(json.dumps({"province": province, "commune": commune, "since": since,
                                           "files": {k: v["sha256"] for k, v in sorted(files.items())}},
                                          sort_keys=True).encode()).hexdigest()[:16]
    manifest = {"schema_version": SCHEMA_VERSION, "export_id": export_id, "province": province, "commune": commune,
                "assignments_effective": info["effective"], "source_jobs": jobs, "data_as_of": stamp,
                "since": since, "delta": delta_counts, "files": dict(sorted(files.items())),
                "disputed": {"flagged": len(disputed), "left_out": 0}}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                       encoding="utf-8")
    _swap_into_place(out, final)
    out = final
    job = start_job(conn, "export", {"province": province, "commune": commune, "formats": formats, "since": since,
                                     "with_people": bool(people_by), "out": str(out)})
    digests = pa.BufferOutputStream()
    pq.write_table(pa.table({"plot_id": frame["plot_id"].to_numpy(),
                             "identification_code": pa.array(frame["identification_code"], from_pandas=True),
                             "row_hash": pa.array(hashes, pa.string())}), digests, compression="zstd")
    conn.execute(sa.text("INSERT INTO geoland.export (export_id, province, commune, job_id, manifest, row_digests) "
                         "VALUES (:i, :p, :c, :j, CAST(:m AS jsonb), :d) ON CONFLICT (export_id) DO NOTHING"),
                 {"i": export_id, "p": province, "c": commune, "j": job.id, "d": digests.getvalue().to_pybytes(),
                  "m": json.dumps(manifest, ensure_ascii=False)})
    if people_by:
        audit(conn, job, "personal_data.exported", entity="export", entity_id=export_id,
              detail={"by": people_by, "rows": len(frame), "file": str(out / "people.csv")})
    report = {"export_id": export_id, "out": str(out), "rows": len(frame), "files": manifest["files"],
              "delta": delta_counts, "source_jobs": jobs}
    finish_job(conn, job, {"rows": len(frame), "export_id": export_id, "delta": delta_counts})
    return report


@returns(ExportCheck)
def verify_export(folder: Path) -> ExportCheck:
    """Check every file of an export against its manifest; raises naming the first file that differs."""
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{manifest_path}: not a readable manifest ({type(exc).__name__})") from exc
    problems = []
    for name, entry in manifest.get("files", {}).items():
        path = folder / name
        if os.sep in name or "/" in name or not path.is_file():
            problems.append(f"{name}: missing")
        elif path.stat().st_size != entry["bytes"] or file_sha256(path) != entry["sha256"]:
            problems.append(f"{name}: SHA-256 differs from the manifest (changed after export)")
    extra = sorted(p.name for p in folder.iterdir() if p.name != "manifest.json" and p.name not in manifest["files"])
    problems += [f"{name}: not in the manifest" for name in extra]
    if problems:
        raise Conflict(f"export {manifest.get('export_id')} in {folder} does not verify: " + "; ".join(problems))
    return {"export_id": manifest["export_id"], "files": len(manifest["files"]), "ok": True}
