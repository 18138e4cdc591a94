"""Importing cadastral plot layers: read in batches, map fields, fix legacy text, validate, repair,
split personal data off, and bulk-load with binary COPY, all in one transaction (one job).

Rows that cannot be stored as they are go to ``plot_quarantine`` with their source row and reason; the
totals always add up: imported + quarantined = rows read.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from pyproj import CRS
from sqlalchemy.engine import Connection

from boundaries.crs import (TM3_ZONES, parse_meridian, tm3_zone_for_longitude, tm3_zone_for_meridian,
                            transform_geometries, vn2000_zone)
from identifiers import InvalidCodeError, normalize_unit_code

from . import vntext
from .errors import ConfigError, InputFileError
from .fields import PERSONAL, read_field_file, resolve_field_map
from .io import file_sha256
from .jobs import audit, finish_job, start_job
from .progress import progress_bar

BATCH_SIZE = 50_000
# Plausible VN-2000 TM-3 coordinates for Vietnam (8°–24° N): anything else is a wrong CRS or garbage.
_EASTING = (100_000.0, 900_000.0)
_NORTHING = (800_000.0, 2_750_000.0)
_CSV_OPEN_OPTIONS = {"GEOM_POSSIBLE_NAMES": "WKT,GEOMETRY,GEOM,THE_GEOM,SHAPE", "KEEP_GEOM_COLUMNS": "YES"}
_PLOT_COLUMNS = ("id", "import_id", "source_row", "province_code", "old_commune_code", "sheet", "plot_number",
                 "legal_area_m2", "land_use", "certificate_serial", "area_m2", "geom", "repaired", "repair_note",
                 "attributes")
_PLOT_TYPES = ("int8", "int8", "int4", "text", "text", "int4", "int4", "float8", "text", "text", "float8",
               "bytea", "bool", "text", "jsonb")


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
    read_encoding: str | None
    open_options: dict = field(default_factory=dict)
    wkt_column: str | None = None


def import_plots(conn: Connection, path, *, layer=None, crs=None, meridian=None, province=None,
                 fields_file=None, batch_size: int = BATCH_SIZE, progress: bool = True) -> dict:
    """Import one plot layer (see the module docstring); returns the counts and the choices made."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "no such file")
    sha = file_sha256(path)
    plan = _plan(path, layer, crs, meridian, fields_file)
    done = conn.execute(sa.text("""SELECT i.id, i.job_id, i.rows_read, i.rows_imported, i.rows_quarantined
        FROM geoland.plot_import i WHERE i.source_sha256 = :sha AND i.layer_name IS NOT DISTINCT FROM :layer"""),
        {"sha": sha, "layer": plan.layer}).first()
    report = {"file": str(path), "sha256": sha, "layer": plan.layer, "driver": plan.driver,
              "source_crs": plan.source_crs.name, "srid": plan.srid, "fields": plan.field_map}
    if done is not None:
        return report | {"unchanged": True, "import_id": done.id, "job_id": done.job_id, "rows_read": done.rows_read,
                         "imported": done.rows_imported, "quarantined": done.rows_quarantined}
    province = normalize_unit_code(province, "province") if province else None
    job = start_job(conn, "plots.import", {"file": str(path), "sha256": sha, "layer": plan.layer,
                                           "crs": crs, "meridian": meridian, "province": province,
                                           "fields_file": str(fields_file) if fields_file else None})
    conn.execute(sa.text("LOCK TABLE geoland.plot IN SHARE ROW EXCLUSIVE MODE"))
    import_id = conn.execute(sa.text("""
        INSERT INTO geoland.plot_import (job_id, source, source_sha256, layer_name, driver, source_crs, srid,
            province_code, field_map, text_encoding, rows_read, rows_imported, rows_quarantined, rows_repaired)
        VALUES (:job, :source, :sha, :layer, :driver, :crs, :srid, :province, CAST(:map AS jsonb), '?', 0, 0, 0, 0)
        RETURNING id"""), {"job": job.id, "source": str(path), "sha": sha, "layer": plan.layer,
                           "driver": plan.driver, "crs": plan.source_crs.to_string(), "srid": plan.srid,
                           "province": province, "map": json.dumps(plan.field_map)}).scalar_one()
    provinces = _province_of_codes(conn)
    rebuild = _drop_indexes_for_bulk(conn, plan.features)
    counts = {"rows_read": 0, "imported": 0, "quarantined": 0, "repaired": 0}
    reasons: dict[str, int] = {}
    encoding = None
    raw = conn.connection.driver_connection
    with progress_bar(plan.features, "plots", enabled=progress) as bar:
        for offset, frame, geoms in _batches(plan, batch_size):
            if encoding is None:
                encoding = vntext.detect_encoding(_string_sample(frame))
            rows = _prepare_batch(plan, frame, geoms, offset, encoding, province, provinces)
            ids = _allocate_ids(conn, int(rows.ok.sum()))
            _copy_batch(raw, import_id, plan, rows, ids)
            counts["rows_read"] += len(frame)
            counts["imported"] += int(rows.ok.sum())
            counts["quarantined"] += int((~rows.ok).sum())
            counts["repaired"] += int(rows.repaired[rows.ok].sum())
            for keys in rows.reason_keys[~rows.ok]:
                for key in keys:
                    reasons[key] = reasons.get(key, 0) + 1
            bar.update(len(frame))
    encoding = encoding or "ascii"
    if rebuild:
        _create_indexes(conn)
    conn.execute(sa.text("ANALYZE geoland.plot"))
    conn.execute(sa.text("""UPDATE geoland.plot_import SET text_encoding = :enc, rows_read = :read,
        rows_imported = :imported, rows_quarantined = :quarantined, rows_repaired = :repaired WHERE id = :id"""),
        {"enc": encoding, "read": counts["rows_read"], "imported": counts["imported"],
         "quarantined": counts["quarantined"], "repaired": counts["repaired"], "id": import_id})
    if encoding in ("tcvn3", "vni"):
        audit(conn, job, "plots.text_converted", entity="plot_import", entity_id=str(import_id),
              detail={"from": encoding, "to": "unicode NFC"})
    finish_job(conn, job, counts | {"quarantine_reasons": reasons})
    return report | {"unchanged": False, "import_id": import_id, "job_id": job.id, "text_encoding": encoding,
                     **counts, "quarantine_reasons": reasons}


# --- planning -----------------------------------------------------------------------------------------

def _plan(path: Path, layer, crs_option, meridian, fields_file) -> _Plan:
    import pyogrio
    import pyogrio.errors

    driver_hint = "CSV" if path.suffix.lower() in (".csv", ".txt") else None
    open_options = _CSV_OPEN_OPTIONS if driver_hint == "CSV" else {}
    read_encoding = _dbf_encoding(path)
    try:
        info = pyogrio.read_info(path, layer=layer, encoding=read_encoding, **open_options)
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
    return _Plan(path, layer if layer is not None else info.get("layer_name"), info["driver"],
                 int(info["features"]), source_crs, srid, field_map, extra, read_encoding, open_options, wkt_column)


def _dbf_encoding(path: Path) -> str | None:
    """Read a Shapefile's DBF as Latin-1 (byte for byte) unless its .cpg says UTF-8, so that legacy
    TCVN3/VNI text reaches the detector intact instead of being mangled by a guessed code page."""
    if path.suffix.lower() != ".shp":
        return None
    cpg = path.with_suffix(".cpg")
    if cpg.exists() and cpg.read_text(errors="replace").strip().upper().replace("-", "") in ("UTF8", "65001"):
        return None
    return "latin1"


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
    zone = vn2000_zone(source)
    if zone in TM3_ZONES:
        return source, zone
    bounds = info.get("total_bounds")
    if bounds is None or not np.all(np.isfinite(bounds)):
        raise InputFileError(path, f"cannot tell which TM-3 zone suits CRS {source.name}: pass --meridian")
    centre = transform_geometries(np.array([shapely.box(*bounds).centroid]), source, "EPSG:4326")[0]
    return source, tm3_zone_for_longitude(centre.x)


def _province_of_codes(conn: Connection) -> dict[str, str]:
    """Commune code → province, from the units stored (the earliest period of each code wins: plot maps
    carry the codes of before the reorganisation)."""
    rows = conn.execute(sa.text("""SELECT DISTINCT ON (code) code, province_code FROM geoland.admin_unit
        WHERE level = 'commune' ORDER BY code, valid_to NULLS LAST""")).all()
    return dict(rows)


# --- reading ------------------------------------------------------------------------------------------

def _batches(plan: _Plan, batch_size: int):
    """(offset, attributes DataFrame, shapely geometries) per batch of features, in file order."""
    from pyogrio.raw import open_arrow

    offset = 0
    with open_arrow(plan.path, layer=plan.layer, encoding=plan.read_encoding, batch_size=batch_size,
                    use_pyarrow=True, **plan.open_options) as (meta, reader):
        geometry_name = meta.get("geometry_name") or "wkb"
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
    repair_note: list
    area: np.ndarray
    columns: dict          # canonical → values (object arrays, None for missing)
    attributes: list       # JSON text of the unmapped, non-personal fields
    personal: list         # dicts of personal fields (None when the row has none)
    raw_geometry: list     # WKT/WKB hex of quarantined rows, for the reviewer


def _prepare_batch(plan: _Plan, frame: pd.DataFrame, geoms: np.ndarray, offset: int, encoding: str,
                   province: str | None, provinces: dict) -> _Rows:
    n = len(frame)
    frame = _decode_text(frame, encoding)
    reasons = [[] for _ in range(n)]
    raw_wkt = frame[plan.wkt_column].to_numpy(dtype=object) if plan.wkt_column else None
    geoms, repaired, notes = _check_geometries(plan, geoms, reasons, raw_wkt)
    columns = _map_columns(plan, frame, reasons, province, provinces)
    ok = np.array([not r for r in reasons])
    area = np.full(n, np.nan)
    area[ok] = shapely.area(geoms[ok])
    personal_names = {plan.field_map[c] for c in PERSONAL if plan.field_map[c]} | set(plan.personal_extra)
    mapped = {v for v in plan.field_map.values() if v} | ({plan.wkt_column} if plan.wkt_column else set())
    rest = [c for c in frame.columns if c not in mapped and c not in personal_names]
    attributes = _json_records(frame[rest]) if rest else ["{}"] * n
    personal = _personal(plan, frame, columns)
    raw_geometry = [None if ok[i] else (raw_wkt[i] if raw_wkt is not None and isinstance(raw_wkt[i], str)
                                        else (shapely.to_wkt(geoms[i]) if geoms[i] is not None else None))
                    for i in range(n)]
    keys = np.empty(n, dtype=object)
    keys[:] = [tuple(k for k, _ in r) for r in reasons]
    return _Rows(ok, np.array(["; ".join(m for _, m in r) for r in reasons], dtype=object), keys, np.arange(offset + 1, offset + n + 1),
                 geoms, repaired, notes, area, columns, attributes, personal, raw_geometry)


def _is_text(series: pd.Series) -> bool:
    return series.dtype == object or pd.api.types.is_string_dtype(series)


def _decode_text(frame: pd.DataFrame, encoding: str) -> pd.DataFrame:
    if encoding == "ascii":
        return frame
    out = frame.copy()
    for column in out.columns:
        if _is_text(out[column]):
            values = out[column]
            uniques = pd.unique(values.dropna())
            table = {u: vntext.to_unicode(u, encoding) for u in uniques}
            out[column] = values.map(table, na_action="ignore")
    return out


def _check_geometries(plan: _Plan, geoms: np.ndarray, reasons: list, raw_wkt) -> tuple:
    n = len(geoms)
    missing = pd.isna(geoms)
    for i in np.flatnonzero(missing):
        text = raw_wkt[i] if raw_wkt is not None else None
        if isinstance(text, str) and text.strip():
            reasons[i].append(("unparseable geometry", f"unparseable geometry {text.strip()[:40]!r}"))
        else:
            reasons[i].append(("no geometry", "no geometry"))
    present = ~missing
    empty = np.zeros(n, bool)
    empty[present] = shapely.is_empty(geoms[present])
    for i in np.flatnonzero(empty):
        reasons[i].append(("empty geometry", "empty geometry"))
    usable = present & ~empty
    types = np.full(n, -1)
    types[usable] = shapely.get_type_id(geoms[usable])
    wrong = usable & ~np.isin(types, (3, 6))
    for i in np.flatnonzero(wrong):
        reasons[i].append(("wrong geometry type",
                           f"geometry is a {geoms[i].geom_type}, expected Polygon or MultiPolygon"))
    usable &= ~wrong
    out = np.full(n, None, dtype=object)
    out[usable] = geoms[usable]
    if vn2000_zone(plan.source_crs) != plan.srid:
        out[usable] = transform_geometries(out[usable], plan.source_crs, f"EPSG:{plan.srid}")
    finite = np.zeros(n, bool)
    if usable.any():
        bounds = shapely.bounds(out[usable])
        inside = (np.isfinite(bounds).all(axis=1) & (bounds[:, 0] >= _EASTING[0]) & (bounds[:, 2] <= _EASTING[1])
                  & (bounds[:, 1] >= _NORTHING[0]) & (bounds[:, 3] <= _NORTHING[1]))
        finite[usable] = inside
        for i in np.flatnonzero(usable & ~finite):
            x, y = shapely.get_coordinates(out[i])[0] if not shapely.is_empty(out[i]) else (math.nan, math.nan)
            reasons[i].append(("coordinates outside the zone",
                               f"coordinates outside VN-2000 TM-3 zone EPSG:{plan.srid} (first point {x:.1f}, "
                               f"{y:.1f}): wrong CRS?"))
    usable &= finite
    valid = np.ones(n, bool)
    valid[usable] = shapely.is_valid(out[usable])
    repaired = usable & ~valid
    notes: list = [None] * n
    for i in np.flatnonzero(repaired):
        reason = shapely.is_valid_reason(out[i])
        fixed = _polygonal(shapely.make_valid(out[i]))
        if fixed.is_empty or fixed.area <= 0:
            reasons[i].append(("unrepairable geometry", f"invalid geometry that cannot be repaired ({reason})"))
            repaired[i] = False
        else:
            out[i] = fixed
            notes[i] = f"make_valid: {reason}"
    single = usable & (shapely.get_type_id(np.where(usable, out, None)) == 3)
    out[single] = shapely.multipolygons(shapely.get_parts(out[single])[:, None]) if single.any() else out[single]
    return out, repaired, notes


def _polygonal(geom):
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon")]
    flat = [q for p in polys for q in (p.geoms if p.geom_type == "MultiPolygon" else [p])]
    return shapely.MultiPolygon(flat)


_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


def _to_float(value):
    """A number as offices write it (``123.5`` or ``123,5``); None for blank; ValueError otherwise."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    text = str(value).strip()
    if not text:
        return None
    if not _NUMBER.match(text):
        raise ValueError(text)
    return float(text.replace(",", "."))


def _to_int(value):
    number = _to_float(value)
    if number is None:
        return None
    if not number.is_integer():
        raise ValueError(value)
    return int(number)


def _map_columns(plan: _Plan, frame: pd.DataFrame, reasons: list, province, provinces) -> dict:
    n = len(frame)
    fm = plan.field_map

    def column(canonical):
        name = fm[canonical]
        return frame[name].to_numpy(dtype=object) if name else np.full(n, None, dtype=object)

    def convert(canonical, fn, label, check=None):
        out = np.full(n, None, dtype=object)
        key = f"bad {canonical.replace('_', ' ')}"
        for i, value in enumerate(column(canonical)):
            try:
                v = fn(value)
            except (ValueError, InvalidCodeError):
                v, bad = None, True
            else:
                bad = v is not None and check is not None and not check(v)
            if bad:
                reasons[i].append((key, f"{fm[canonical]} {str(value).strip()[:30]!r} is not {label}"))
            else:
                out[i] = v
        return out

    codes = convert("commune_code", lambda v: normalize_unit_code(v, "commune"), "a commune code")
    sheet = convert("sheet", _to_int, "a sheet number (a whole number from 1)", lambda v: v > 0)
    plot_number = convert("plot_number", _to_int, "a plot number (a whole number from 1)", lambda v: v > 0)
    legal_area = convert("legal_area", _to_float, "an area in m² (a number ≥ 0)", lambda v: v >= 0 and math.isfinite(v))
    texts = {c: np.array([_clean_text(v) for v in column(c)], dtype=object)
             for c in ("land_use", "certificate_serial", "user_name", "id_number")}
    texts["land_use"] = np.array([v.upper() if v else None for v in texts["land_use"]], dtype=object)
    birth = column("birth_year")
    province_codes = np.array([province or provinces.get(c) for c in codes], dtype=object)
    return {"old_commune_code": codes, "sheet": sheet, "plot_number": plot_number, "legal_area_m2": legal_area,
            "province_code": province_codes, "birth_year_raw": birth, **texts}


def _clean_text(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = " ".join(unicodedata.normalize("NFC", str(value)).split())
    return text or None


def _json_records(frame: pd.DataFrame) -> list[str]:
    clean = frame.astype(object).where(frame.notna(), None)
    return [json.dumps({k: (v.item() if isinstance(v, np.generic) else v if isinstance(v, (str, int, float, bool))
                            or v is None else str(v)) for k, v in row.items()}, ensure_ascii=False)
            for row in clean.to_dict("records")]


def _personal(plan: _Plan, frame: pd.DataFrame, columns: dict) -> list:
    n = len(frame)
    extra_cols = [c for c in frame.columns if c.upper() in {e.upper() for e in plan.personal_extra}]
    out = []
    for i in range(n):
        year_raw = columns["birth_year_raw"][i]
        try:
            year = _to_int(year_raw)
        except ValueError:
            year = None
        extra = {c: _clean_text(frame[c].iat[i]) for c in extra_cols if _clean_text(frame[c].iat[i])}
        if year is None and _clean_text(year_raw):
            extra[plan.field_map["birth_year"]] = _clean_text(year_raw)
        record = {"name": columns["user_name"][i], "id_number": columns["id_number"][i], "birth_year": year,
                  "extra": extra}
        out.append(record if any(v for v in record.values()) else None)
    return out


# --- writing ------------------------------------------------------------------------------------------

def _allocate_ids(conn: Connection, n: int) -> np.ndarray:
    """Plot ids for the next n rows (the table is locked by the import, so the range is ours)."""
    if n == 0:
        return np.array([], dtype=np.int64)
    first = conn.execute(sa.text("SELECT nextval('geoland.plot_id_seq')")).scalar_one()
    conn.execute(sa.text("SELECT setval('geoland.plot_id_seq', :last)"), {"last": first + n - 1})
    return np.arange(first, first + n, dtype=np.int64)


def _copy_batch(raw, import_id: int, plan: _Plan, rows: _Rows, ids: np.ndarray) -> None:
    from psycopg.types.json import Jsonb

    ok = np.flatnonzero(rows.ok)
    wkb = shapely.to_wkb(shapely.set_srid(rows.geoms[ok], plan.srid), include_srid=True) if ok.size else []
    c = rows.columns
    identity = lambda s: s  # noqa: E731 — attributes are JSON text already
    with raw.cursor() as cur:
        with cur.copy(f"COPY geoland.plot ({', '.join(_PLOT_COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_PLOT_TYPES)
            for k, i in enumerate(ok):
                copy.write_row((
                    int(ids[k]), import_id, int(rows.source_row[i]), c["province_code"][i], c["old_commune_code"][i],
                    c["sheet"][i], c["plot_number"][i], c["legal_area_m2"][i], c["land_use"][i],
                    c["certificate_serial"][i], float(rows.area[i]), wkb[k], bool(rows.repaired[i]),
                    rows.repair_note[i], Jsonb(rows.attributes[i], dumps=identity)))
        people = [(int(ids[k]), p["name"], p["id_number"], p["birth_year"], Jsonb(p["extra"]))
                  for k, i in enumerate(ok) for p in (rows.personal[i],) if p is not None]
        if people:
            with cur.copy("COPY geoland.land_user (plot_id, name, id_number, birth_year, extra) "
                          "FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(("int8", "text", "text", "int4", "jsonb"))
                for person in people:
                    copy.write_row(person)
        bad = np.flatnonzero(~rows.ok)
        if bad.size:
            with cur.copy("COPY geoland.plot_quarantine (import_id, source, source_row, reason, geometry, "
                          "attributes, personal) FROM STDIN") as copy:
                for i in bad:
                    p = rows.personal[i]
                    copy.write_row((import_id, str(plan.path), int(rows.source_row[i]), rows.reasons[i],
                                    rows.raw_geometry[i], rows.attributes[i],
                                    json.dumps(p or {}, ensure_ascii=False, default=str)))


_INDEXES = {
    "plot_geom_idx": "CREATE INDEX plot_geom_idx ON geoland.plot USING gist (geom)",
    "plot_mx_idx": "CREATE INDEX plot_mx_idx ON geoland.plot (old_commune_code, sheet, plot_number)",
}


def _drop_indexes_for_bulk(conn: Connection, incoming: int) -> bool:
    """Building an index once is much cheaper than growing it row by row: when the import at least
    doubles the table, drop the secondary indexes now and build them again at the end (same transaction)."""
    existing = conn.execute(sa.text("SELECT reltuples FROM pg_class WHERE oid = 'geoland.plot'::regclass")).scalar()
    if incoming < 50_000 or incoming < max(existing, 0):
        return False
    for name in _INDEXES:
        conn.execute(sa.text(f"DROP INDEX IF EXISTS geoland.{name}"))
    return True


def _create_indexes(conn: Connection) -> None:
    for sql in _INDEXES.values():
        conn.execute(sa.text(sql))
