"""Importing cadastral plot layers into PostGIS.

Importing cadastral plot layers: read in batches, map fields, fix legacy text, validate, repair,
split personal data off, and bulk-load with binary COPY, all in one transaction (one job).

Rows that cannot be stored as they are go to ``plot_quarantine`` with their source row and reason; the
totals always add up: imported + quarantined = rows read.
"""

from __future__ import annotations

import codecs
import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from pyproj import CRS
from sqlalchemy.engine import Connection

from boundaries.crs import (
    TM3_ZONES,
    describe_coordinates,
    is_metric,
    parse_meridian,
    suggest_crs,
    tm3_zone_for_longitude,
    tm3_zone_for_meridian,
    transform_geometries,
    vn2000_zone,
)
from boundaries.layers import polygonal_parts
from geoland.errors import ConfigError, InputFileError
from geoland.pipeline.files import file_sha256
from geoland.pipeline.forget import forget_import, imports_to_replace
from geoland.pipeline.register import (
    STAGING,
    STAGING_COLUMNS,
    attach_paper_plots,
    create_staging,
    register_holders,
)
from geoland.progress import progress_bar
from geoland.results import PlotImport, returns
from geoland.rules import vntext
from geoland.rules.checks import is_blank
from geoland.rules.fields import PERSONAL, read_field_file, resolve_field_map, suggest_fields
from geoland.store import partitions
from geoland.store.db import copy_csv, csv_bytes
from geoland.store.jobs import audit, finish_job, start_job
from identifiers import normalize_unit_code
from identifiers.vn2000 import province_zone

BATCH_SIZE = 50_000
# Plausible VN-2000 TM-3 coordinates for Vietnam (8°–24° N): anything else is a wrong CRS or garbage.
_EASTING = (100_000.0, 900_000.0)
_NORTHING = (800_000.0, 2_750_000.0)
OUTSIDE_ZONE = "coordinates outside the zone"
ALL_BUT = 0.95            # this share of the rows outside the zone: the CRS is wrong, not the rows
_CSV_OPEN_OPTIONS = {"GEOM_POSSIBLE_NAMES": "WKT,GEOMETRY,GEOM,THE_GEOM,SHAPE", "KEEP_GEOM_COLUMNS": "YES"}
_PLOT_COLUMNS = ("id", "import_id", "source_row", "province_code", "old_commune_code", "sheet", "plot_number",
                 "legal_area_m2", "land_use", "certificate_serial", "area_m2", "geom", "repaired", "repair_note",
                 "attributes")


@dataclass
class _Plan:
    """How a file will be read: decided once from its metadata, before any row is read."""

    path: Path
    layer: str | None
    driver: str
    features: int
    source_crs: CRS
    srid: int
    field_map: dict
    personal_extra: list
    open_options: dict = field(default_factory=dict)
    wkt_column: str | None = None
    suggestions: dict = field(default_factory=dict)
    bounds: tuple | None = None
    source: object = None          # what GDAL reads: the path, or the file's text re-encoded (see _readable)


@returns(PlotImport)
def import_plots(conn: Connection, path, *, layer=None, crs=None, meridian=None, province=None,
                 fields_file=None, encoding: str | None = None, replace: bool = False,
                 batch_size: int = BATCH_SIZE, progress: bool = True) -> PlotImport:
    """Import one plot layer (see the module docstring); returns the counts and the choices made.

    Parameters
    ----------
    conn : Connection
        An open connection: the whole import is this one transaction.
    path : str or Path
        The layer (Shapefile, GeoPackage, GeoJSON, FileGDB, DGN, FlatGeobuf, CSV with WKT).
    layer : str, optional
        The layer to read in a multi-layer source.
    crs, meridian : str, optional
        The coordinates' CRS when the file has none or a wrong one, or the central meridian of its TM-3 zone.
    province : str, optional
        The plots' province; default from each plot's commune code.
    fields_file : str or Path, optional
        A TOML file naming the source field of each attribute.
    encoding : str, optional
        The text encoding of a file whose text is bytes (a DBF without a UTF-8 ``.cpg``): ``utf-8``,
        ``tcvn3``, ``vni``, ``cp1258`` or ``latin-1``. Default: judged from the text
        (:func:`geoland.rules.vntext.judge_encoding`); when no reading is clearly Vietnamese the import stops
        and asks for it.
    replace : bool
        Replace the earlier import of this file (the same content, else the same path; same layer): it is
        forgotten (:func:`geoland.pipeline.forget.forget_import`) in the same transaction as this import,
        so a failed import leaves it in place.
    batch_size : int
        Rows read and written per batch.
    progress : bool
        Draw the progress bar on standard error.

    Returns
    -------
    PlotImport
        The driver, CRS, field map and text encoding chosen; rows read, imported, repaired, quarantined
        (with the reasons); the import and job ids; ``unchanged`` for a file imported before; ``replaced``:
        the imports forgotten with ``replace``.

    Raises
    ------
    InputFileError
        The file cannot be read, or a field or CRS given does not fit it, or its text encoding cannot be told.
    """
    path = Path(path)
    if encoding is not None and encoding not in vntext.LEGACY:
        raise ConfigError(f"unknown text encoding {encoding!r}: one of {', '.join(vntext.LEGACY)}")
    if not path.exists():
        raise InputFileError(path, "no such file")
    sha = file_sha256(path)
    plan = _plan(path, layer, crs, meridian, fields_file)
    zone_basis = _official_zone(conn, plan) if meridian is None else "the meridian given (--meridian)"
    done = conn.execute(sa.text("""SELECT i.id, i.job_id, i.rows_read, i.rows_imported, i.rows_quarantined
        FROM geoland.plot_import i WHERE i.source_sha256 = :sha AND i.layer_name IS NOT DISTINCT FROM :layer
        AND i.forgotten_by IS NULL"""), {"sha": sha, "layer": plan.layer}).first()
    earlier = imports_to_replace(conn, sha, str(path), plan.layer) if replace else []
    if replace and not earlier:
        raise InputFileError(path, "nothing to replace: no earlier import of this file (same content or same path"
                                   f"{', layer ' + plan.layer if plan.layer else ''}); see `geoland plots imports`, "
                                   "or import it without --replace")
    report = {"file": str(path), "sha256": sha, "layer": plan.layer, "driver": plan.driver,
              "source_crs": plan.source_crs.name, "srid": plan.srid, "fields": plan.field_map,
              "field_suggestions": plan.suggestions, "zone_basis": zone_basis}
    if done is not None and not replace:
        return report | {"unchanged": True, "import_id": done.id, "job_id": done.job_id, "rows_read": done.rows_read,
                         "imported": done.rows_imported, "quarantined": done.rows_quarantined}
    province = normalize_unit_code(province, "province") if province else None
    job = start_job(conn, "plots.import", {"file": str(path), "sha256": sha, "layer": plan.layer,
                                           "crs": crs, "meridian": meridian, "province": province,
                                           "fields_file": str(fields_file) if fields_file else None,
                                           "encoding": encoding, "replace": earlier})
    conn.execute(sa.text("LOCK TABLE geoland.plot IN SHARE ROW EXCLUSIVE MODE"))
    replaced = [forget_import(conn, i, job=job) for i in earlier]
    import_id = conn.execute(sa.text("""
        INSERT INTO geoland.plot_import (job_id, source, source_sha256, layer_name, driver, source_crs, srid,
            province_code, field_map, text_encoding, rows_read, rows_imported, rows_quarantined, rows_repaired)
        VALUES (:job, :source, :sha, :layer, :driver, :crs, :srid, :province, CAST(:map AS jsonb), '?', 0, 0, 0, 0)
        RETURNING id"""), {"job": job.id, "source": str(path), "sha": sha, "layer": plan.layer,
                           "driver": plan.driver, "crs": plan.source_crs.to_string(), "srid": plan.srid,
                           "province": province, "map": json.dumps(plan.field_map)}).scalar_one()
    provinces = _province_of_codes(conn)
    rebuild = _drop_indexes_for_bulk(conn, plan.features)
    counts = {"rows_read": 0, "imported": 0, "quarantined": 0, "repaired": 0, "z_dropped": 0}
    reasons: dict[str, int] = {}
    text_encoding, evidence = None, {}
    next_id = conn.execute(sa.text("SELECT nextval('geoland.plot_id_seq')")).scalar_one()   # ids are ours:
    # the plot table is locked until commit, so the range from here on is allocated by advancing the sequence
    people, quarantine = [], []
    raw = conn.connection.driver_connection
    # One COPY for the whole file: the server stores one batch while the next one is being prepared. A batch
    # bringing a province without partitions ends it, has them made, and starts another.
    partitioned = partitions.existing(conn)
    with progress_bar(plan.features, "plots", enabled=progress) as bar, raw.cursor() as cur, \
            contextlib.ExitStack() as copying:
        copy = None
        for offset, frame, geoms in _batches(plan, batch_size):
            has_z = shapely.has_z(geoms)
            if has_z.any():                      # heights are not part of a plot: stored in 2D, and said so
                geoms = np.where(has_z, shapely.force_2d(geoms), geoms)
                counts["z_dropped"] += int(has_z.sum())
            if text_encoding is None:
                text_encoding, evidence = vntext.judge_encoding(_string_sample(frame), forced=encoding)
                if text_encoding == "unsure":
                    raise InputFileError(path, _unsure_message(evidence))
            rows = _prepare_batch(plan, frame, geoms, offset, text_encoding, province, provinces)
            arriving = set(rows.columns["province_code"][rows.ok].dropna()) - partitioned
            if copy is None or arriving:
                copying.close()
                partitioned |= set(partitions.ensure(conn, arriving))
                copy = copying.enter_context(cur.copy(
                    f"COPY geoland.plot ({', '.join(_PLOT_COLUMNS)}) FROM STDIN (FORMAT csv)",
                    writer=_queued_writer(cur)))
            n_ok = int(rows.ok.sum())
            ids = np.arange(next_id, next_id + n_ok, dtype=np.int64)
            next_id += n_ok
            copy.write(_plot_csv(import_id, plan.srid, rows, ids))
            people.append(_people_csv(rows, ids))
            quarantine.append(_quarantine_csv(import_id, plan, rows))
            counts["rows_read"] += len(frame)
            counts["imported"] += n_ok
            counts["quarantined"] += len(frame) - n_ok
            counts["repaired"] += int(rows.repaired[rows.ok].sum())
            for keys in rows.reason_keys[~rows.ok]:
                for key in keys:
                    reasons[key] = reasons.get(key, 0) + 1
            bar.update(len(frame))
    outside = reasons.get(OUTSIDE_ZONE, 0)
    if counts["rows_read"] and outside >= ALL_BUT * counts["rows_read"]:
        bounds = plan.bounds
        looks = describe_coordinates(bounds) if bounds is not None else None
        hint = f"; the coordinates look like {looks}: {suggest_crs(bounds, plan.source_crs)}" if looks else ""
        raise InputFileError(path, f"{outside:,} of {counts['rows_read']:,} rows have coordinates outside VN-2000 "
                                   f"TM-3 zone EPSG:{plan.srid} when read as {plan.source_crs.name}: the CRS is "
                                   f"wrong{hint}; nothing was imported")
    if counts["imported"]:
        conn.execute(sa.text("SELECT setval('geoland.plot_id_seq', :last)"), {"last": next_id - 1})
    create_staging(conn)
    copy_csv(conn, f"{STAGING} ({STAGING_COLUMNS})", people)
    copy_csv(conn, "geoland.plot_quarantine (import_id, source, source_row, reason, geometry, attributes, "
                   "personal)", quarantine)
    text_encoding = text_encoding or "ascii"
    register = register_holders(conn, import_id, job.id)
    if rebuild:
        restore_after_bulk(conn, rebuild)
    register["paper_plots_attached"] = attach_paper_plots(conn, import_id, job.id)
    counts |= _place_by_location(conn, import_id) if not province else {}
    duplicates = _duplicates_of_earlier_imports(conn, import_id) if counts["imported"] else {}
    copied = {k: v for k, v in duplicates.items() if v >= ALL_BUT * counts["imported"]}
    if copied:
        earlier, n = next(iter(copied.items()))
        source = conn.execute(sa.text("SELECT source FROM geoland.plot_import WHERE id = :i"), {"i": earlier}).scalar()
        raise InputFileError(path, f"{n:,} of its {counts['imported']:,} plots are already stored by import {earlier} "
                                   f"({source}): the same MX.SB.ST and geometry — a copy of that file, perhaps with "
                                   "other options; nothing was imported (see `geoland plots imports`)")
    counts["duplicates_of_earlier"] = sum(duplicates.values())
    conn.execute(sa.text("ANALYZE geoland.plot"))
    if any(register.values()):
        # what reads the register next (a registry export's import, the checks) is planned on these statistics:
        # left to autovacuum, an import started at once saw "no rights" and looped over a million of them
        conn.execute(sa.text(f"ANALYZE {', '.join(REGISTER_TABLES)}"))
    conn.execute(sa.text("""UPDATE geoland.plot_import SET text_encoding = :enc, rows_read = :read,
        rows_imported = :imported, rows_quarantined = :quarantined, rows_repaired = :repaired,
        encoding_evidence = CAST(:evidence AS jsonb) WHERE id = :id"""),
        {"enc": text_encoding, "evidence": json.dumps(evidence, ensure_ascii=False), "read": counts["rows_read"],
         "imported": counts["imported"],
         "quarantined": counts["quarantined"], "repaired": counts["repaired"], "id": import_id})
    if text_encoding not in ("ascii", "unicode", "latin-1"):
        audit(conn, job, "plots.text_converted", entity="plot_import", entity_id=str(import_id),
              detail={"from": text_encoding, "to": "unicode NFC", "evidence": evidence})
    finish_job(conn, job, counts | {"quarantine_reasons": reasons, "register": register,
                                    "replaced": [{k: r[k] for k in ("import_id", "plots", "codes_retired")}
                                                 for r in replaced]})
    return report | {"unchanged": False, "import_id": import_id, "job_id": job.id, "text_encoding": text_encoding,
                     "encoding_evidence": evidence, "replaced": replaced or None, "register": register,
                     **counts, "quarantine_reasons": reasons}


# --- planning -----------------------------------------------------------------------------------------

def _plan(path: Path, layer, crs_option, meridian, fields_file) -> _Plan:
    import pyogrio
    import pyogrio.errors

    driver_hint = "CSV" if path.suffix.lower() in (".csv", ".txt") else None
    open_options = _CSV_OPEN_OPTIONS if driver_hint == "CSV" else _dbf_open_options(path)
    if path.suffix.lower() == ".shp" and not any(path.with_suffix(s).exists() for s in (".dbf", ".DBF")):
        raise InputFileError(path, "no .dbf beside it: a Shapefile's attributes (commune, sheet, plot number, …) "
                                   "are in its .dbf; copy it next to the .shp (nothing was imported)")
    source = _readable(path)
    try:
        info = pyogrio.read_info(source, layer=layer, force_total_bounds=True, **open_options)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputFileError(path, f"cannot read the layer: {str(exc).splitlines()[0]}") from None
    fields = list(info["fields"])
    override, extra = read_field_file(fields_file) if fields_file else ({}, [])
    try:
        field_map = resolve_field_map(fields, override)
    except ValueError as exc:
        raise InputFileError(fields_file, str(exc)) from None
    missing_extra = [f for f in extra if f.upper() not in {x.upper() for x in fields}]
    if missing_extra:
        raise InputFileError(fields_file, f"personal field(s) {missing_extra} not in the layer; it has {fields}")
    wkt_column = None
    if info["driver"] == "CSV":
        wkt_column = next((f for f in fields if f.upper() in _CSV_OPEN_OPTIONS["GEOM_POSSIBLE_NAMES"].split(",")), None)
        if wkt_column is None:
            raise InputFileError(path, f"a CSV needs a WKT geometry column (named WKT or GEOMETRY); it has {fields}")
    source_crs, srid = _resolve_crs(path, info, crs_option, meridian)
    suggestions = suggest_fields([f for f in fields if f != wkt_column], field_map)
    if not isinstance(source, Path):      # read from memory: GDAL names the layer after a scratch file
        info["layer_name"] = path.stem
    return _Plan(path, layer if layer is not None else info.get("layer_name"), info["driver"],
                 int(info["features"]), source_crs, srid, field_map, extra, open_options, wkt_column, suggestions,
                 _bounds(info), source)


def _dbf_open_options(path: Path) -> dict:
    """GDAL open options that keep a DBF's legacy text bytes intact.

    Read a Shapefile's DBF as ISO-8859-1 (each byte to the code point of the same value, losslessly)
    unless its .cpg says UTF-8, so that legacy TCVN3/VNI text reaches the detector intact instead of
    being mangled by a guessed code page.
    """
    if path.suffix.lower() != ".shp":
        return {}
    cpg = path.with_suffix(".cpg")
    if cpg.exists() and cpg.read_text(errors="replace").strip().upper().replace("-", "") in ("UTF8", "65001"):
        return {}
    return {"ENCODING": "ISO-8859-1"}


def _resolve_crs(path, info, crs_option, meridian) -> tuple[CRS, int]:
    """(CRS of the coordinates in the file, EPSG of the TM-3 zone the plots are stored in)."""
    if crs_option and meridian is not None:
        raise ConfigError("give either --crs or --meridian, not both")
    try:
        if meridian is not None:
            zone = tm3_zone_for_meridian(parse_meridian(meridian))
            return CRS.from_epsg(zone), zone
        source = CRS.from_user_input(crs_option) if crs_option else (CRS.from_user_input(info["crs"])
                                                                     if info["crs"] else None)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    except Exception as exc:  # pyproj.exceptions.CRSError
        raise ConfigError(f"unknown CRS {crs_option!r}: {exc}") from None
    if source is None:
        raise InputFileError(path, "the layer has no CRS: pass --crs EPSG:NNNN (e.g. EPSG:9206 for VN-2000 / "
                                   "TM-3 104-00) or --meridian 104.00")
    _check_coordinates_fit(path, source, info.get("total_bounds"))
    zone = vn2000_zone(source)
    if zone in TM3_ZONES:
        return source, zone
    bounds = info.get("total_bounds")
    if bounds is None or not np.all(np.isfinite(bounds)):
        raise InputFileError(path, f"cannot tell which TM-3 zone suits CRS {source.name}: pass --meridian")
    centre = transform_geometries(np.array([shapely.box(*bounds).centroid]), source, "EPSG:4326")[0]
    return source, tm3_zone_for_longitude(centre.x)


def list_imports(conn: Connection) -> list[dict]:
    """Every import, oldest first, with the plots it holds now."""
    rows = conn.execute(sa.text("""
        SELECT i.id AS import_id, i.source AS file, i.layer_name AS layer, i.driver, i.srid, i.text_encoding,
               i.rows_read, i.rows_imported, i.rows_quarantined, i.job_id, j.started_at::text AS at, i.forgotten_by,
               (SELECT count(*) FROM geoland.plot p WHERE p.import_id = i.id) AS plots_now
        FROM geoland.plot_import i JOIN geoland.job j ON j.id = i.job_id ORDER BY i.id""")).mappings().all()
    return [dict(r) for r in rows]


def _duplicates_of_earlier_imports(conn: Connection, import_id: int) -> dict[int, int]:
    """How many plots of this import an earlier import already stored, per earlier import.

    The same MX.SB.ST and the same geometry (within 1 cm).
    """
    others = conn.execute(sa.text("SELECT EXISTS (SELECT FROM geoland.plot_import WHERE id <> :i "
                                  "AND rows_imported > 0)"), {"i": import_id}).scalar()
    if not others:                  # the first import: nothing to compare with (and a million look-ups saved)
        return {}
    rows = conn.execute(sa.text("""
        SELECT o.import_id, count(*) FROM geoland.plot n JOIN geoland.plot o
          ON o.old_commune_code = n.old_commune_code AND o.sheet = n.sheet AND o.plot_number = n.plot_number
         AND o.import_id <> n.import_id AND ST_SRID(o.geom) = ST_SRID(n.geom) AND o.geom && n.geom
         AND ST_HausdorffDistance(o.geom, n.geom) < 0.01
        WHERE n.import_id = :i GROUP BY o.import_id ORDER BY o.import_id"""), {"i": import_id}).all()
    return {int(k): int(v) for k, v in rows}


def _official_zone(conn: Connection, plan: _Plan) -> str:
    """Choose the TM-3 zone the plots are stored in, and say why.

    A layer already in a VN-2000 TM-3 zone stays in it (the office's own choice). Otherwise (UTM, degrees) the
    plots go to the official zone of their province before 2025 (:data:`identifiers.vn2000.PROVINCE_MERIDIANS`),
    the province most of the layer's commune codes belong to in the loaded conversion table; the zone of the
    nearest meridian only when no province is known.
    """
    if vn2000_zone(plan.source_crs) in TM3_ZONES:
        return "the layer's own TM-3 zone"
    field_name = plan.field_map.get("commune_code")
    provinces: list[str] = []
    if field_name:
        import pyogrio

        codes = pyogrio.read_dataframe(plan.source, layer=plan.layer if isinstance(plan.source, Path) else None,
                                       columns=[field_name], read_geometry=False, max_features=5000,
                                       **plan.open_options)[field_name]
        codes = _commune_codes(codes).dropna().unique().tolist()
        provinces = list(conn.execute(sa.text("""
            SELECT u.province_code FROM geoland.admin_unit u
            WHERE u.level = 'commune' AND u.code = ANY(:codes) AND u.valid_to IS NOT NULL
              AND u.province_code IS NOT NULL"""), {"codes": codes}).scalars())
    if provinces:
        old = max(set(provinces), key=lambda p: (provinces.count(p), p))
        zone = province_zone(old)
        if zone is not None:
            plan.srid = zone
            return f"the official meridian of province {old} ({TM3_ZONES[zone]:g}°E)"
    return "the nearest meridian (no province known from the commune codes)"


def _readable(path: Path):
    """What to hand GDAL: the path, or the text of a GeoJSON that is not UTF-8, re-encoded.

    GDAL cannot decode a GeoJSON in Windows-1258, Latin-1 or TCVN3; each byte becomes the character of that
    value, re-encoded in UTF-8 — losslessly, so that the encoding is judged on the text like a DBF's
    (``judge_encoding``).
    """
    if path.suffix.lower() not in (".geojson", ".json"):
        return path
    check = codecs.getincrementaldecoder("utf-8")()
    try:                                # checked a megabyte at a time: a valid file is not held in memory
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                check.decode(chunk)
        check.decode(b"", final=True)
    except UnicodeDecodeError:
        return path.read_bytes().decode("latin-1").encode("utf-8")
    return path


def _bounds(info) -> tuple | None:
    bounds = info.get("total_bounds")
    return tuple(float(v) for v in bounds) if bounds is not None and np.all(np.isfinite(bounds)) else None


def _check_coordinates_fit(path, source: CRS, bounds) -> None:
    """Stop before reading a row when the coordinates cannot be in the CRS the layer declares.

    E.g. a GeoJSON labelled EPSG:5897 that holds longitudes and latitudes: say what they look like and what
    to give.
    """
    if bounds is None or not np.all(np.isfinite(bounds)):
        return
    looks = describe_coordinates(bounds)
    if looks is None:
        return
    in_degrees = "degrees" in looks
    if in_degrees == (not is_metric(source)):
        return
    shown = ", ".join(f"{v:,.6g}" for v in bounds)
    raise InputFileError(path, f"the layer says its coordinates are in {source.name}, but they look like {looks} "
                               f"(extent {shown}): {suggest_crs(bounds, source)}; nothing was imported")


def _place_by_location(conn: Connection, import_id: int) -> dict[str, int]:
    """Give a province to the plots whose commune code is not in the conversion table, by location.

    A code retired before 2025, or a typo: the plot gets the province of the commune boundary holding its
    inner point, when boundaries are loaded. Returns how many were placed so and how many are still without
    a province.
    """
    # found once, then the provinces' partitions made (a plot moves into its province's partition), then moved
    conn.execute(sa.text("""
        CREATE TEMP TABLE _placed ON COMMIT DROP AS
        SELECT b.id, b.province_code FROM (
            SELECT p.id, (SELECT u.province_code FROM geoland.unit_boundary u
                          WHERE u.province_code IS NOT NULL
                            AND ST_Intersects(u.geom, ST_Transform(ST_PointOnSurface(p.geom), 4326))
                          ORDER BY u.layer_id DESC LIMIT 1) AS province_code
            FROM geoland.plot p WHERE p.import_id = :i AND p.province_code IS NULL) b
        WHERE b.province_code IS NOT NULL"""), {"i": import_id})
    partitions.ensure(conn, conn.execute(sa.text("SELECT DISTINCT province_code FROM _placed")).scalars())
    placed = conn.execute(sa.text("""
        UPDATE geoland.plot p SET province_code = b.province_code FROM _placed b
        WHERE p.id = b.id AND p.province_code IS NULL""")).rowcount
    conn.execute(sa.text("DROP TABLE _placed"))
    left = conn.execute(sa.text("SELECT count(*) FROM geoland.plot WHERE import_id = :i AND province_code IS NULL"),
                        {"i": import_id}).scalar()
    return {"placed_by_location": int(placed), "without_province": int(left)}


def _province_of_codes(conn: Connection) -> dict[str, str]:
    """Commune code → province, from the units stored.

    Commune code → province, from the units stored (the earliest period of each code wins: plot maps
    carry the codes of before the reorganisation).
    """
    rows = conn.execute(sa.text("""SELECT DISTINCT ON (code) code, province_code FROM geoland.admin_unit
        WHERE level = 'commune' ORDER BY code, valid_to NULLS LAST""")).all()
    return dict(rows)


# --- reading ------------------------------------------------------------------------------------------

def _batches(plan: _Plan, batch_size: int):
    """(offset, attributes DataFrame, shapely geometries) per batch of features, in file order."""
    from pyogrio.raw import open_arrow

    offset = 0
    with open_arrow(plan.source, layer=plan.layer if isinstance(plan.source, Path) else None, batch_size=batch_size,
                    use_pyarrow=True, **plan.open_options) as (meta, reader):
        geometry_name = next((f.name for f in reader.schema
                              if (f.metadata or {}).get(b"ARROW:extension:name") == b"geoarrow.wkb"),
                             meta.get("geometry_name") or "wkb")
        for batch in reader:
            names = batch.schema.names
            wkb = batch.column(names.index(geometry_name)).to_numpy(zero_copy_only=False) \
                if geometry_name in names else np.full(batch.num_rows, None, dtype=object)
            attrs = batch.drop_columns([geometry_name]) if geometry_name in names else batch
            frame = attrs.to_pandas()
            geoms = shapely.from_wkb(wkb, on_invalid="ignore")
            yield offset, frame, geoms
            offset += batch.num_rows


def _string_sample(frame: pd.DataFrame, n: int = 5000) -> list[str]:
    out = []
    for column in frame.columns:
        if _is_text(frame[column]):
            out.extend(v for v in frame[column].dropna().head(n) if isinstance(v, str))
    return out


# --- validation ---------------------------------------------------------------------------------------

@dataclass
class _Rows:
    ok: np.ndarray
    reasons: np.ndarray
    reason_keys: np.ndarray
    source_row: np.ndarray
    geoms: np.ndarray
    repaired: np.ndarray
    repair_note: np.ndarray
    area: np.ndarray
    columns: dict          # canonical → pandas Series (None/NA for missing)
    attributes: list       # JSON text of the unmapped, non-personal fields
    extra_personal: list   # JSON text of personal fields beyond name / ID number / birth year
    raw_geometry: np.ndarray


def _prepare_batch(plan: _Plan, frame: pd.DataFrame, geoms: np.ndarray, offset: int, encoding: str,
                   province: str | None, provinces: dict) -> _Rows:
    n = len(frame)
    reasons = _Reasons(n)
    frame = _decode_text(frame.reset_index(drop=True), encoding, reasons)
    raw_wkt = frame[plan.wkt_column].to_numpy(dtype=object) if plan.wkt_column else None
    geoms, repaired, notes = _check_geometries(plan, geoms, reasons, raw_wkt)
    columns = _map_columns(plan, frame, reasons, province, provinces)
    ok = reasons.ok()
    area = np.full(n, np.nan)
    area[ok] = shapely.area(geoms[ok])
    personal_names = {plan.field_map[c] for c in PERSONAL if plan.field_map[c]}
    extra_names = [c for c in frame.columns if c.upper() in {e.upper() for e in plan.personal_extra}]
    mapped = {v for v in plan.field_map.values() if v} | ({plan.wkt_column} if plan.wkt_column else set())
    rest = [c for c in frame.columns if c not in mapped and c not in personal_names and c not in extra_names]
    extra = frame[extra_names].copy() if extra_names else pd.DataFrame(index=frame.index)
    bad_year = columns.pop("birth_year_bad")
    if bad_year.any():                     # keep an unreadable birth year as written, with the user
        extra[plan.field_map["birth_year"]] = frame[plan.field_map["birth_year"]].where(bad_year)
    raw_geometry = np.full(n, None, dtype=object)
    for i in np.flatnonzero(~ok):
        raw_geometry[i] = (raw_wkt[i] if raw_wkt is not None and isinstance(raw_wkt[i], str)
                           else shapely.to_wkt(geoms[i]) if geoms[i] is not None else None)
    messages, keys = reasons.assemble()
    return _Rows(ok, messages, keys, np.arange(offset + 1, offset + n + 1), geoms, repaired, notes, area,
                 columns, _json_lines(frame[rest]), _json_lines(extra), raw_geometry)


class _Reasons:
    """Why rows cannot be stored: (key for the counts, message for the reviewer) per row."""

    def __init__(self, n: int):
        self.n = n
        self.found: dict[int, list] = {}

    def add(self, i: int, key: str, message: str) -> None:
        self.found.setdefault(int(i), []).append((key, message))

    def ok(self) -> np.ndarray:
        ok = np.ones(self.n, bool)
        ok[list(self.found)] = False
        return ok

    def assemble(self) -> tuple[np.ndarray, np.ndarray]:
        messages = np.full(self.n, "", dtype=object)
        keys = np.empty(self.n, dtype=object)
        keys[:] = [()] * self.n
        for i, found in self.found.items():
            messages[i] = "; ".join(m for _, m in found)
            keys[i] = tuple(k for k, _ in found)
        return messages, keys


def _is_text(series: pd.Series) -> bool:
    return series.dtype == object or pd.api.types.is_string_dtype(series)


def _unsure_message(evidence: dict) -> str:
    readings = evidence.get("readings", {})
    ranked = sorted(readings, key=lambda e: (readings[e], e == "latin-1"), reverse=True)
    shown = "; ".join(f"{e}: {readings[e]:.0%} Vietnamese words" for e in ranked)
    example = evidence.get("example", {})
    samples = ", ".join(f"{e} → {example[e]!r}" for e in ranked[:3] if e in example)
    return (f"cannot tell the text encoding: no reading of its text is clearly Vietnamese ({shown}; "
            f"e.g. {example.get('as_read', '')!r}: {samples}); give --encoding "
            f"{' or '.join(ranked[:2]) or 'utf-8'} (nothing was imported)")


def _decode_text(frame: pd.DataFrame, encoding: str, reasons: _Reasons | None = None) -> pd.DataFrame:
    """Text to Unicode NFC in the file's encoding; ASCII values are left alone (fast).

    A value that is not valid in the encoding (UTF-8 beyond the sample) stays as read and its row goes to
    quarantine.
    """
    if encoding == "ascii":
        return frame
    out = frame.copy()
    for column in out.columns:
        if not _is_text(out[column]):
            continue
        values = out[column]
        text = values.astype(_TEXT)
        special = text.notna() & ~text.str.isascii().fillna(True)
        if special.any():
            uniques = pd.unique(values[special])
            table = {}
            for u in uniques:
                try:
                    table[u] = vntext.decode(u, encoding)
                except UnicodeError:
                    table[u] = u
                    for i in np.flatnonzero((values == u).to_numpy()):
                        if reasons is not None:
                            reasons.add(i, "text not in the file's encoding",
                                        f"field {column}: text not valid {encoding}")
            values = values.astype(object)
            values[special] = values[special].map(table)
            out[column] = values
    return out


def _check_geometries(plan: _Plan, geoms: np.ndarray, reasons: _Reasons, raw_wkt) -> tuple:
    n = len(geoms)
    missing = pd.isna(geoms)
    for i in np.flatnonzero(missing):
        text = raw_wkt[i] if raw_wkt is not None else None
        if isinstance(text, str) and text.strip():
            reasons.add(i, "unparseable geometry", f"unparseable geometry {text.strip()[:40]!r}")
        else:
            reasons.add(i, "no geometry", "no geometry")
    present = ~missing
    empty = np.zeros(n, bool)
    empty[present] = shapely.is_empty(geoms[present])
    for i in np.flatnonzero(empty):
        reasons.add(i, "empty geometry", "empty geometry")
    usable = present & ~empty
    types = np.full(n, -1)
    types[usable] = shapely.get_type_id(geoms[usable])
    wrong = usable & ~np.isin(types, (3, 6))
    for i in np.flatnonzero(wrong):
        reasons.add(i, "wrong geometry type", f"geometry is a {geoms[i].geom_type}, expected Polygon or MultiPolygon")
    usable &= ~wrong
    positions = np.flatnonzero(usable)
    coords, owner = shapely.get_coordinates(geoms[positions], return_index=True)
    for i in positions[np.unique(owner[~np.isfinite(coords).all(axis=1)])]:
        reasons.add(i, "coordinates not numbers", "a vertex's coordinates are not numbers (NaN or infinite)")
        usable[i] = False
    out = np.full(n, None, dtype=object)
    out[usable] = geoms[usable]
    if vn2000_zone(plan.source_crs) != plan.srid:
        out[usable] = transform_geometries(out[usable], plan.source_crs, f"EPSG:{plan.srid}")
    inside = np.zeros(n, bool)
    if usable.any():
        bounds = shapely.bounds(out[usable])
        inside[usable] = (np.isfinite(bounds).all(axis=1) & (bounds[:, 0] >= _EASTING[0])
                          & (bounds[:, 2] <= _EASTING[1]) & (bounds[:, 1] >= _NORTHING[0])
                          & (bounds[:, 3] <= _NORTHING[1]))
    for i in np.flatnonzero(usable & ~inside):
        x, y = shapely.get_coordinates(out[i])[0]
        reasons.add(i, OUTSIDE_ZONE, f"coordinates outside VN-2000 TM-3 zone EPSG:{plan.srid} "
                                                       f"(first point {x:.1f}, {y:.1f}): wrong CRS?")
    usable &= inside
    valid = np.ones(n, bool)
    valid[usable] = shapely.is_valid(out[usable])
    repaired = usable & ~valid
    notes = np.full(n, None, dtype=object)
    for i in np.flatnonzero(repaired):
        reason = shapely.is_valid_reason(out[i])
        fixed = polygonal_parts(shapely.make_valid(out[i]))
        if fixed.is_empty or fixed.area <= 0:
            reasons.add(i, "unrepairable geometry", f"invalid geometry that cannot be repaired ({reason})")
            repaired[i] = False
        else:
            out[i] = fixed
            notes[i] = f"make_valid: {reason}"
    single = usable & (shapely.get_type_id(np.where(usable, out, None)) == 3)
    if single.any():
        out[single] = shapely.multipolygons(shapely.get_parts(out[single])[:, None])
    return out, repaired, notes


_TEXT = "string[pyarrow]"   # pyarrow's string kernels: vectorised, no Python loop


def _numbers(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(values as float, NaN when blank or unreadable; mask of unreadable non-blank cells).

    Text accepts a decimal comma (``123,5``) as offices write it.
    """
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.astype("float64")
        return values, pd.Series(False, index=series.index)
    text = series.astype(_TEXT).str.strip()
    comma = text.str.contains(",", regex=False).fillna(False) & ~text.str.contains(".", regex=False).fillna(False)
    text = text.mask(comma, text.str.replace(",", ".", regex=False))
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    return values, values.isna() & ~is_blank(series)


def _map_columns(plan: _Plan, frame: pd.DataFrame, reasons: _Reasons, province, provinces) -> dict:
    n = len(frame)
    fm = plan.field_map
    none = pd.Series([None] * n, dtype=object)

    def column(canonical) -> pd.Series:
        return frame[fm[canonical]] if fm[canonical] else none

    def refuse(mask: np.ndarray, canonical: str, label: str) -> None:
        values = column(canonical)
        for i in np.flatnonzero(mask):
            reasons.add(i, f"bad {canonical.replace('_', ' ')}",
                        f"{fm[canonical]} {str(values.iat[i]).strip()[:30]!r} is not {label}")

    codes = _commune_codes(column("commune_code"))
    refuse(codes.isna().to_numpy() & ~is_blank(column("commune_code")), "commune_code", "a commune code")
    out = {"old_commune_code": codes.astype(object).where(codes.notna(), None)}
    for canonical, label in (("sheet", "a sheet number (a whole number from 1)"),
                             ("plot_number", "a plot number (a whole number from 1)")):
        values, unreadable = _numbers(column(canonical))
        bad = unreadable | (values.notna() & ((values <= 0) | (values % 1 != 0)))
        refuse(bad.to_numpy(), canonical, label)
        out[canonical] = values.where(~bad).astype("Int64")
    area, unreadable = _numbers(column("legal_area"))
    bad = unreadable | (area.notna() & ((area < 0) | ~np.isfinite(area)))
    refuse(bad.to_numpy(), "legal_area", "an area in m² (a number ≥ 0)")
    out["legal_area_m2"] = area.where(~bad)
    for canonical in ("land_use", "certificate_serial", "user_name", "id_number"):
        out[canonical] = _clean_text(column(canonical))
    out["land_use"] = out["land_use"].str.upper()
    years, unreadable = _numbers(column("birth_year"))
    bad_year = unreadable | (years.notna() & (years % 1 != 0))
    out["birth_year"] = years.where(~bad_year).astype("Int64")
    out["birth_year_bad"] = bad_year.to_numpy()
    out["province_code"] = (pd.Series([province] * n, dtype=object) if province
                            else out["old_commune_code"].map(provinces))
    return out


def _commune_codes(series: pd.Series) -> pd.Series:
    """Zero-padded 5-digit codes; NA where blank or not a code (numbers from a DBF included)."""
    if pd.api.types.is_numeric_dtype(series):
        whole = series.notna() & (series % 1 == 0) & (series >= 0) & (series < 100_000)
        return series.where(whole).astype("Int64").astype("string").str.zfill(5)
    text = series.astype(_TEXT).str.strip().str.replace(r"\.0+$", "", regex=True)
    return text.where(text.str.fullmatch(r"[0-9]{1,5}").fillna(False)).str.zfill(5)


def _clean_text(series: pd.Series) -> pd.Series:
    """Whitespace collapsed and trimmed, blank → NA (pyarrow kernels: no Python loop)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(series.astype(object).where(series.notna(), None), type=pa.string())
    arr = pc.utf8_trim_whitespace(pc.replace_substring_regex(arr, r"\s+", " "))
    text = pd.Series(arr, index=series.index, dtype=_TEXT)
    return text.where(text != "")


def _json_lines(frame: pd.DataFrame) -> list[str] | None:
    """One JSON object per row (None when there are no columns: '{}' for all)."""
    if frame.shape[1] == 0:
        return None
    text = frame.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
    return text.splitlines()


# --- writing ------------------------------------------------------------------------------------------

def _queued_writer(cur):
    """Let a thread send COPY data while this one prepares the next batch."""
    from psycopg.copy import QueuedLibpqWriter

    return QueuedLibpqWriter(cur)


def _plot_csv(import_id: int, srid: int, rows: _Rows, ids: np.ndarray) -> bytes:
    ok = rows.ok
    n = int(ok.sum())
    if n == 0:
        return b""
    c = {k: (v[ok].reset_index(drop=True) if isinstance(v, pd.Series) else v[ok]) for k, v in rows.columns.items()}
    wkb = _hex_ewkb(rows.geoms[ok], srid)
    attributes = np.asarray(rows.attributes, dtype=object)[ok] if rows.attributes is not None else ["{}"] * n
    return csv_bytes({
        "id": ids, "import_id": np.full(n, import_id), "source_row": rows.source_row[ok],
        "province_code": c["province_code"], "old_commune_code": c["old_commune_code"], "sheet": c["sheet"],
        "plot_number": c["plot_number"], "legal_area_m2": c["legal_area_m2"], "land_use": c["land_use"],
        "certificate_serial": c["certificate_serial"], "area_m2": rows.area[ok], "geom": wkb,
        "repaired": rows.repaired[ok], "repair_note": rows.repair_note[ok], "attributes": attributes,
    })


def _hex_ewkb(geoms: np.ndarray, srid: int):
    """Hex EWKB of geometries as a pyarrow string array.

    Hex EWKB as a pyarrow string array: binary WKB from GEOS, hexlified in one call and cut by offsets
    (twice as fast as GEOS's own hex writer, and no Python string per plot).
    """
    import binascii

    import pyarrow as pa

    wkb = shapely.to_wkb(shapely.set_srid(geoms, srid), include_srid=True)
    lengths = np.fromiter(map(len, wkb), dtype=np.int64, count=len(wkb))
    offsets = np.zeros(len(wkb) + 1, dtype=np.int64)
    np.cumsum(lengths * 2, out=offsets[1:])
    blob = binascii.hexlify(b"".join(wkb))
    return pa.LargeStringArray.from_buffers(len(wkb), pa.py_buffer(offsets), pa.py_buffer(blob))


def _people_csv(rows: _Rows, ids: np.ndarray) -> bytes:
    ok = rows.ok
    c = rows.columns
    extra = (pd.Series(np.asarray(rows.extra_personal, dtype=object)[ok]) if rows.extra_personal is not None
             else pd.Series(["{}"] * int(ok.sum()), dtype=object))
    frame = pd.DataFrame({"plot_id": ids, "name": c["user_name"][ok].to_numpy(),
                          "id_number": c["id_number"][ok].to_numpy(), "birth_year": c["birth_year"][ok].to_numpy(),
                          "extra": extra.to_numpy()})
    present = frame[["name", "id_number", "birth_year"]].notna().any(axis=1) | (frame["extra"] != "{}")
    frame = frame[present.to_numpy()]
    return csv_bytes({k: frame[k].to_numpy() if k != "birth_year" else frame[k].astype("Int64") for k in frame}) \
        if len(frame) else b""


def _quarantine_csv(import_id: int, plan: _Plan, rows: _Rows) -> bytes:
    bad = np.flatnonzero(~rows.ok)
    if bad.size == 0:
        return b""
    c = rows.columns
    personal = [json.dumps({k: (None if pd.isna(v) else v.item() if isinstance(v, np.generic) else v)
                            for k, v in (("name", c["user_name"].iat[i]), ("id_number", c["id_number"].iat[i]),
                                         ("birth_year", c["birth_year"].iat[i]))}, ensure_ascii=False, default=str)
                for i in bad]
    attributes = (np.asarray(rows.attributes, dtype=object)[bad] if rows.attributes is not None
                  else np.full(bad.size, "{}", dtype=object))
    return csv_bytes({"import_id": np.full(bad.size, import_id),
                      "source": np.full(bad.size, str(plan.path), dtype=object),
                 "source_row": rows.source_row[bad], "reason": rows.reasons[bad],
                 "geometry": rows.raw_geometry[bad], "attributes": attributes,
                 "personal": np.array(personal, dtype=object)})


# For a bulk load, constraints and indexes are dropped and built again once at the end: checking a foreign
# key or growing an index row by row costs several times more than one validating join or one index build.
# What is dropped is read from the catalog, so a migration that adds an index or a constraint to these tables
# needs no change here. Kept: the plots' primary key (other tables' foreign keys depend on it) and CHECK and
# NOT NULL constraints (checked per row at no index cost).
# The tables a large import fills: the plots and the register their holders go to (every table whose keys
# the register's keys depend on, so that they can all be dropped and rebuilt together).
BULK_TABLES = ("geoland.plot", "geoland.land_right", "geoland.party", "geoland.party_personal",
                "geoland.party_alias", "geoland.household_member", "geoland.certificate", "geoland.certificate_plot",
                "geoland.certificate_paper_plot")
REGISTER_TABLES = BULK_TABLES[1:]    # the register's: no other table refers to them


def bulk_definitions(conn: Connection, tables: tuple[str, ...] = BULK_TABLES, *, outside_keys: bool = True,
                     ) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """What bulk mode drops and restores, read from the catalog.

    What bulk mode drops and restores: (table, constraint name, definition) of the unique, primary-key and
    foreign-key constraints of the plot tables, and (index name, CREATE INDEX statement) of their other indexes.

    Returns
    -------
    (list, list)
        Constraints in the order they are restored (unique and primary keys before the foreign keys that
        may need them), and indexes.
    """
    constraints = conn.execute(sa.text("""
        SELECT format('%I.%I', n.nspname, r.relname), c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
        WHERE c.conrelid = ANY(CAST(:tables AS regclass[])) AND c.contype IN ('p', 'u', 'f')
          AND NOT (c.conrelid = 'geoland.plot'::regclass AND c.conname = 'plot_id_key')
          AND (:outside OR c.contype <> 'f' OR c.confrelid = ANY(CAST(:tables AS regclass[])))
        ORDER BY c.contype = 'f', r.relname DESC, c.conname"""),
        {"tables": list(tables), "outside": outside_keys}).all()
    indexes = conn.execute(sa.text("""
        SELECT format('%I.%I', n.nspname, x.relname),
               replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ')   -- a partitioned table's: all of it
        FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_namespace n ON n.oid = x.relnamespace
        WHERE i.indrelid = ANY(CAST(:tables AS regclass[]))
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1"""), {"tables": list(tables)}).all()
    return [tuple(r) for r in constraints], [tuple(r) for r in indexes]


def _drop_indexes_for_bulk(conn: Connection, incoming: int) -> list | None:
    """Switch to bulk mode for a large import into a small table.

    Switch to bulk mode when the import at least doubles the table (and is large): drop the constraints
    and indexes of :func:`bulk_definitions`, to be restored by :func:`restore_after_bulk` at the end of the same
    transaction (a killed import rolls the drop back with the rest). Returns what to restore, or None.
    """
    existing = conn.execute(sa.text("SELECT count(*) FROM (SELECT 1 FROM geoland.plot LIMIT :n) t"),
                            {"n": incoming + 1}).scalar()
    if incoming < 50_000 or incoming < existing:
        return None
    return drop_for_bulk(conn, BULK_TABLES)


def drop_for_bulk(conn: Connection, tables: tuple[str, ...], *, outside_keys: bool = True) -> list:
    """Lock ``tables`` and drop their constraints and indexes (:func:`bulk_definitions`); what to restore.

    ``tables`` must hold every table whose foreign keys refer to one of them (but the plots). Without
    ``outside_keys``, their foreign keys to other tables stay (checked row by row, and no lock taken on the
    tables they refer to when they are added again).
    """
    conn.execute(sa.text(f"LOCK TABLE {', '.join(t for t in tables if t != 'geoland.plot')} "
                         "IN ACCESS EXCLUSIVE MODE"))
    constraints, indexes = bulk_definitions(conn, tables, outside_keys=outside_keys)
    for table, name, _ in reversed(constraints):       # foreign keys first
        conn.execute(sa.text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        conn.execute(sa.text(f"DROP INDEX {name}"))
    return [constraints, indexes]


def restore_after_bulk(conn: Connection, dropped: list) -> None:
    """Build the indexes and add the constraints :func:`drop_for_bulk` dropped (validated by one join each)."""
    constraints, indexes = dropped
    conn.execute(sa.text("SET LOCAL maintenance_work_mem = '512MB'"))
    for _, statement in indexes:
        conn.execute(sa.text(statement))
    for table, name, definition in constraints:
        conn.execute(sa.text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))


