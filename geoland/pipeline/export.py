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
import tempfile
from collections.abc import Iterable, Iterator
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
from geoland.store.db import csv_bytes, read_csv_batches, spool_csv
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


# The rows go through a spool file (the COPY's CSV) and are read back and written block by block: a worker holds
# one block of rows, not the province's (issue 19: 1.5 GB a million plots when held whole).
BLOCK_BYTES = 8 << 20           # ≈ 40,000 rows a block
GPKG_BATCH_ROWS = 65_536        # GDAL is given batches of this many rows whatever the blocks: it commits once a
#                                 batch and the GeoPackage's header counts the commits, so its bytes then depend on
#                                 its rows only
_JOBS = ("import_job", "assign_job", "code_job", "recode_job", "edit_job")
_TEXT = ("identification_code", "commune_code", "province_code", "mx", "legacy_mx", "land_use", "certificate_serial",
         "user_name", "id_number", "disputed", "disputed_since")
_ROW_TYPES = {**{c: pa.string() for c in _TEXT}, "plot_id": pa.int64(), "area_m2": pa.float64(),
              "lon": pa.float64(), "lat": pa.float64(), "birth_year": pa.int64(), **{c: pa.int64() for c in _JOBS}}
# identifiers.csv read back: numbers as numbers, every code as text.
_FILE_TYPES = {c: pa.float64() if c in ("lon", "lat", "area_m2") else pa.string() for c in COLUMNS}


def spool_identifier_rows(conn: Connection, province: str | None, commune: str | None, path: Path, *,
                          people: bool = False) -> tuple[int, dict]:
    """Write the rows of the identifier files, ordered by code, to the CSV file ``path`` (by COPY).

    Parameters
    ----------
    conn : Connection
        An open connection.
    province, commune : str or None
        What to export.
    path : Path
        The spool file; read back with :func:`identifier_batches`.
    people : bool
        Also read the land users' names and ID numbers (for ``people.csv``).

    Returns
    -------
    (int, dict)
        The number of rows, and what they were read for: the reorganisation date, the provinces and the
        units valid then.
    """
    effective = latest_effective(conn)
    provinces = plot_provinces(conn, province, effective)
    sql = _ROWS.format(people=_PEOPLE[0] if people else "", people_join=_PEOPLE[1] if people else "")
    conn.execute(sa.text("SET LOCAL work_mem = '256MB'"))      # the sorts of a million rows stay in memory
    rows = spool_csv(conn, sql, {"e": effective, "provinces": provinces, "commune": commune}, path)
    return rows, {"effective": effective.isoformat() if effective else None, "provinces": provinces,
                  "units": units_valid_on(conn, effective)}


def identifier_batches(path: Path, units: dict) -> Iterator[pd.DataFrame]:
    """The spooled rows (:func:`spool_identifier_rows`) block by block, as the files show them.

    Each plot with its new commune's name and province, its MX.SB.ST (the legacy one when not recoded), the
    code's point and the area rounded as written.
    """
    names = {c: u["name"] for c, u in units.items()}
    provinces = {c: u["province_code"] for c, u in units.items()}
    for batch in read_csv_batches(path, _ROW_TYPES, BLOCK_BYTES):
        frame = batch.to_pandas()
        frame["commune_name"] = frame["commune_code"].map(names)
        # The new province of the new commune (the plot's own code is the old province's).
        frame["province_code"] = frame["commune_code"].map(provinces).astype(object).fillna(frame["province_code"])
        frame["mx"] = frame["mx"].fillna(frame["legacy_mx"])
        # The code's point: the centre of its 12-character cell (PostGIS ST_PointFromGeoHash, as geohash.decode).
        frame["lon"], frame["lat"] = frame["lon"].round(8), frame["lat"].round(8)
        frame["area_m2"] = frame["area_m2"].round(2)
        yield frame


def _source_jobs(conn: Connection, newest_of: dict[str, int]) -> tuple[list[int], str | None]:
    """The jobs that wrote the exported data, and the newest one's end.

    The jobs that wrote the exported data (the plots' import, assignment, codes, recoding and the latest
    correction: the latest of each, ``newest_of``), and the newest one's end — not the jobs that only read it,
    so that checking or exporting again does not make unchanged data look new.
    """
    jobs = sorted(set(newest_of.values()))
    newest = conn.execute(sa.text("SELECT max(coalesce(finished_at, started_at)) FROM geoland.job WHERE id = ANY(:j)"),
                          {"j": jobs}).scalar()
    return jobs, newest.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if newest else None


def _line_hashes(body: bytes) -> np.ndarray:
    """A digest of each exported row, as 16 hexadecimal ASCII bytes.

    A digest of each exported row — its line in identifiers.csv (``body``: lines without the header) — to
    tell changed rows in a later ``--since`` export. Held as bytes (16 a row), not Python strings (about 75).
    """
    return np.array([hashlib.blake2b(line, digest_size=8).hexdigest().encode() for line in body.split(b"\n")[:-1]],
                    dtype="S16")


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


def _write_geojson(tables: Iterable[pa.Table], path: Path) -> None:
    """The identifier points as an RFC 7946 FeatureCollection, written table by table.

    The identifier points as an RFC 7946 FeatureCollection, one feature per line, laid out as GDAL's
    GeoJSON driver writes it — but built column-wise with pyarrow (1 M features in about two seconds
    where GDAL takes eight), and with every coordinate as stored: GDAL shortens some to fewer decimals
    (21.03999996 → 21.04) when they end in a run of nines. ``tables`` are the rows in order, in pieces of any
    size: the file's bytes do not depend on them.
    """
    import pyarrow.compute as pc

    head = b'{\n"type": "FeatureCollection",\n"xy_coordinate_resolution": 1e-08,\n"features": [\n'
    written = 0
    with open(path, "wb") as f:
        f.write(head)
        for table in tables:
            if not table.num_rows:
                continue
            parts: list = [",\n" if written else "", '{ "type": "Feature", "properties": { ']
            for i, name in enumerate(c for c in table.column_names if c not in ("lon", "lat")):
                parts += [f'{", " if i else ""}"{name}": ', _json_values(table[name])]
            parts += [' }, "geometry": { "type": "Point", "coordinates": [ ', _json_values(table["lon"]), ", ",
                      _json_values(table["lat"]), " ] } }"]
            # Each feature after the file's first starts with the comma that ends the one before it.
            ends = np.full(table.num_rows, ",\n", dtype=object)
            ends[0] = parts[0]
            features = pc.binary_join_element_wise(pa.array(ends, pa.string()), *parts[1:], "")
            # The features lie one after the other in the array's data buffer: written as they are.
            kind = np.int64 if pa.types.is_large_string(features.type) else np.int32
            offsets = np.frombuffer(features.buffers()[1], dtype=kind, count=table.num_rows + 1,
                                    offset=features.offset * np.dtype(kind).itemsize)
            f.write(memoryview(features.buffers()[2])[offsets[0]:offsets[-1]])
            written += table.num_rows
        f.write(b"\n]\n}\n" if written else b"]\n}\n")


def _identifier_tables(path: Path) -> Iterator[pa.Table]:
    """The rows of an identifiers.csv just written (:func:`_write_export`), block by block, as written."""
    for batch in read_csv_batches(path, _FILE_TYPES, BLOCK_BYTES):
        yield pa.Table.from_batches([batch])


def _write_gpkg(csv: Path, path: Path, stamp: str | None) -> None:
    """The identifier points of ``csv`` (an identifiers.csv) through GDAL's Arrow interface, batch by batch.

    The points as GeoArrow WKB (:func:`_with_points`), given to GDAL in batches of ``GPKG_BATCH_ROWS`` rows.
    """
    import pyogrio

    def batches():
        pending: list[pa.Table] = []
        held = 0
        for table in _identifier_tables(csv):
            pending.append(table)
            held += table.num_rows
            while held >= GPKG_BATCH_ROWS:
                rows = pa.concat_tables(pending)
                yield from _with_points(rows.slice(0, GPKG_BATCH_ROWS).combine_chunks()).to_batches()
                pending, held = [rows.slice(GPKG_BATCH_ROWS)], held - GPKG_BATCH_ROWS
        if held:
            yield from _with_points(pa.concat_tables(pending).combine_chunks()).to_batches()

    schema = _with_points(pa.schema(_FILE_TYPES).empty_table()).schema
    if path.exists():
        path.unlink()
    with pyogrio_config(OGR_CURRENT_DATE=stamp or "2000-01-01T00:00:00Z"):   # else GDAL stamps the time
        # GeoPackage 1.2: what the GDAL (3.x) and QGIS (3.x, LTR 3.28 on) that offices run open without a
        # warning; the bundled GDAL would write 1.4, which Debian 12's GDAL 3.6 warns about.
        pyogrio.write_arrow(pa.RecordBatchReader.from_batches(schema, batches()), path, layer="identifiers",
                            driver="GPKG", geometry_name="geometry", geometry_type="Point", crs="EPSG:4326",
                            dataset_options={"VERSION": "1.2"})


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
    with tempfile.TemporaryDirectory(prefix="geoland-export-") as spool:
        rows, info = spool_identifier_rows(conn, province, commune, Path(spool) / "rows.csv", people=bool(people_by))
        if not rows:
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
        final = Path(out)
        out = _partial_folder(final)
        try:
            return _write_export(conn, final, out, Path(spool), info, previous, province=province, commune=commune,
                                 formats=formats, since=since, people_by=people_by, excel=excel)
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


def _identifier_files(out: Path, spool: Path, info: dict, ids: Path, people: bool) -> dict:
    """Pass 1 over the spooled rows: identifiers.csv (at ``ids``), people.csv, and what the rest needs.

    Returns the rows' plot ids, codes and line digests (in file order), the newest job of each kind, and the
    plots in dispute.
    """
    plot_ids, codes, hashes, disputed = [], [], [], []
    newest: dict[str, int] = {}
    people_path = out / "people.csv"
    if people:
        os.close(os.open(people_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))   # private before a byte
    with open(ids, "wb") as f, (open(people_path, "wb") if people else contextlib.nullcontext()) as who:
        for i, frame in enumerate(identifier_batches(spool / "rows.csv", info["units"])):
            table = _table(frame)
            body = csv_bytes(table)
            f.write((csv_bytes(table.slice(0, 0), header=True) if i == 0 else b"") + body)
            hashes.append(_line_hashes(body))
            plot_ids.append(frame["plot_id"].to_numpy())
            codes.append(table["identification_code"].combine_chunks().cast(pa.string()))
            for c in _JOBS:
                if frame[c].notna().any():
                    newest[c] = max(newest.get(c, 0), int(frame[c].max()))
            disputed.append(frame.loc[frame["disputed"] == "t",               # COPY writes booleans t / f
                                      ["identification_code", "disputed_since"]])
            if people:
                who.write(csv_bytes(dict(frame[["identification_code", "user_name", "id_number",
                                                "birth_year"]].items()), header=i == 0))
    return {"plot_id": np.concatenate(plot_ids), "identification_code": pa.chunked_array(codes, pa.string()),
            "row_hash": np.concatenate(hashes), "newest": newest,
            "disputed": pd.concat(disputed, ignore_index=True)}


def _copy_to_file(conn: Connection, sql: str, params: dict, types: dict, spool: Path, path: Path) -> int:
    """The rows of a query as a CSV file with a header, written block by block (through a spool file)."""
    rows = spool_csv(conn, sql, params, spool)
    reader = read_csv_batches(spool, types, BLOCK_BYTES)
    with open(path, "wb") as f:
        f.write(csv_bytes(reader.schema.empty_table(), header=True))
        for batch in reader:
            f.write(csv_bytes(pa.Table.from_batches([batch])))
    spool.unlink()
    return rows


def _write_export(conn, final: Path, out: Path, spool: Path, info, previous, *, province, commune, formats,
                  since, people_by, excel=False) -> dict:
    files: dict[str, dict] = {}
    # identifiers.csv: in the export, or beside the spool when only the other formats are asked for.
    ids = out / "identifiers.csv" if "csv" in formats else spool / "identifiers.csv"
    written = _identifier_files(out, spool, info, ids, bool(people_by))
    (spool / "rows.csv").unlink()
    rows = len(written["plot_id"])
    jobs, stamp = _source_jobs(conn, written["newest"])
    for fmt in FORMATS:
        if fmt in formats:
            files[f"identifiers.{fmt}"] = {"rows": rows}
    # GDAL writes the GeoPackage in a forked process while this one writes the rest.
    writers = []
    if "gpkg" in formats:
        writer = multiprocessing.get_context("fork").Process(
            target=_write_gpkg, args=(ids, out / "identifiers.gpkg", stamp), daemon=True)
        writer.start()
        writers.append(("identifiers.gpkg", writer))
    if "geojson" in formats:
        _write_geojson(_identifier_tables(ids), out / "identifiers.geojson")
    crosswalk = _copy_to_file(conn, """
        SELECT x.old_code, x.new_code, x.new_commune, x.effective::text AS effective, x.policy, x.job_id
        FROM geoland.mx_crosswalk x JOIN geoland.plot_code c ON c.plot_id = x.plot_id
        JOIN geoland.plot p ON p.id = x.plot_id
        LEFT JOIN geoland.plot_assignment_current a ON a.plot_id = p.id AND a.effective = %(e)s""" + \
        in_provinces("a") + """
        WHERE (%(provinces)s::text[] IS NULL OR p.province_code = ANY(%(provinces)s::text[]))""" + \
        in_provinces("x") + in_provinces("c") + """
          AND (%(commune)s::text IS NULL OR a.commune_code = %(commune)s)
        ORDER BY x.old_code, x.new_code, x.plot_id""",
        {"e": info["effective"], "provinces": info["provinces"], "commune": commune},
        {**{c: pa.string() for c in ("old_code", "new_code", "new_commune", "effective", "policy")},
         "job_id": pa.int64()}, spool / "crosswalk.spool", out / "crosswalk.csv")
    files["crosswalk.csv"] = {"rows": crosswalk}
    # Plots in dispute (tranh chấp) are flagged, not left out: their identification code stands whatever the
    # dispute decides about their holders or boundary; a boundary that changes gives a new code in a later
    # export (retired and added in its delta). identifiers.csv keeps its columns (a new column would make
    # every row of a --since delta look changed): the flags are this file.
    disputed = written["disputed"]
    write_csv(disputed, out / "disputed.csv")
    files["disputed.csv"] = {"rows": len(disputed)}
    # The assets attached to the exported plots (houses, apartments, constructions, forest, trees): no person
    # in it; the footprint's centroid in WGS 84 (empty for an asset without a footprint, e.g. an apartment).
    assets = _copy_to_file(conn, """
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
        {"e": info["effective"], "provinces": info["provinces"], "commune": commune},
        {"asset_id": pa.int64(), "kind": pa.string(), "identification_code": pa.string(), "building": pa.string(),
         "floor_area": pa.float64(), "floors": pa.int64(), "year_built": pa.int64(), "lon": pa.float64(),
         "lat": pa.float64()}, spool / "assets.spool", out / "assets.csv")
    files["assets.csv"] = {"rows": assets}
    delta_counts = None
    if previous is not None:
        delta_counts, delta = _delta(written, previous, ids)
        write_csv(delta, out / "delta.csv")
        files["delta.csv"] = {"rows": len(delta)}
    if people_by:
        files["people.csv"] = {"rows": rows, "personal_data": True,
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
    pq.write_table(pa.table({"plot_id": written["plot_id"], "identification_code": written["identification_code"],
                             "row_hash": pa.array(written["row_hash"]).cast(pa.string())}), digests,
                   compression="zstd")
    conn.execute(sa.text("INSERT INTO geoland.export (export_id, province, commune, job_id, manifest, row_digests) "
                         "VALUES (:i, :p, :c, :j, CAST(:m AS jsonb), :d) ON CONFLICT (export_id) DO NOTHING"),
                 {"i": export_id, "p": province, "c": commune, "j": job.id, "d": digests.getvalue().to_pybytes(),
                  "m": json.dumps(manifest, ensure_ascii=False)})
    if people_by:
        audit(conn, job, "personal_data.exported", entity="export", entity_id=export_id,
              detail={"by": people_by, "rows": rows, "file": str(out / "people.csv")})
    report = {"export_id": export_id, "out": str(out), "rows": rows, "files": manifest["files"],
              "delta": delta_counts, "source_jobs": jobs}
    finish_job(conn, job, {"rows": rows, "export_id": export_id, "delta": delta_counts})
    return report


def _delta(written: dict, previous: pd.DataFrame, ids: Path) -> tuple[dict, pd.DataFrame]:
    """The rows added, changed (their digest differs) and retired since an earlier export.

    The added and changed rows are read back from ``ids`` (identifiers.csv) by their place in it.
    """
    now = pd.DataFrame({"plot_id": written["plot_id"], "row_hash": written["row_hash"].astype(str).astype(object)})
    merged = now.merge(previous, on="plot_id", how="outer", suffixes=("", "_was"), indicator=True)
    added = set(merged.loc[merged["_merge"] == "left_only", "plot_id"])
    both = (merged["_merge"] == "both") & (merged["row_hash"] != merged["row_hash_was"])
    changed = set(merged.loc[both, "plot_id"])
    retired = merged.loc[merged["_merge"] == "right_only", ["plot_id", "identification_code"]]
    wanted = now["plot_id"].isin(added | changed).to_numpy()
    pieces, start = [], 0
    for table in _identifier_tables(ids):
        end = start + table.num_rows
        if wanted[start:end].any():
            pieces.append(table.filter(pa.array(wanted[start:end])).to_pandas())
        start = end
    rows = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=COLUMNS)
    is_added = now.loc[wanted, "plot_id"].isin(added).to_numpy()
    rows.insert(0, "change", np.where(is_added, "added", "changed"))
    gone = pd.DataFrame({"change": "retired", "identification_code": retired["identification_code"]})
    delta = pd.concat([rows[["change", *COLUMNS]], gone], ignore_index=True).sort_values(
        ["change", "identification_code"], ignore_index=True)
    return {"added": len(added), "changed": len(changed), "retired": len(retired)}, delta


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
