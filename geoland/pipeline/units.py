"""Administrative units in the store: the conversion table, boundary layers, coverage QA, look-ups.

Each loader runs in the caller's transaction, as one job; a load that would change nothing rolls its
savepoint back, so reloading the same file leaves no trace (not even a job row).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from boundaries import (
    BoundaryLayerError,
    ConversionTable,
    ConversionTableError,
    coverage_defects,
    parse_conversion_table,
    prepare_boundary_layer,
)
from boundaries.units import unit_type_of
from geoland.errors import Conflict, DatabaseError, InputFileError, InvalidInput, NotFound
from geoland.pipeline.files import file_sha256, read_csv_text, read_vector
from geoland.results import BoundaryLoad, ConversionLoad, Coverage, UnitLookup, returns
from geoland.store.db import copy_csv, csv_bytes
from geoland.store.jobs import audit, finish_job, start_job
from identifiers import InvalidCodeError, normalize_unit_code

DEFAULT_EFFECTIVE = dt.date(2025, 7, 1)

_UNIT_COLUMNS = ("level", "code", "name", "unit_type", "province_code", "district_code", "district_name")


class _NothingChanged(Exception):
    """Raised inside a load's savepoint to roll it back when the load would change nothing."""


# --- conversion table -------------------------------------------------------------------------------

def read_conversion_table(path: str | Path) -> ConversionTable:
    """Read and validate a conversion-table CSV (:class:`InputFileError` names the line)."""
    frame, lines = read_csv_text(path)
    try:
        return parse_conversion_table(frame, lines)
    except ConversionTableError as exc:
        raise InputFileError(path, str(exc)) from None


@returns(ConversionLoad)
def load_conversion(conn: Connection, path: str | Path, *, effective: dt.date = DEFAULT_EFFECTIVE,
                    replace: bool = False) -> ConversionLoad:
    """Load an official conversion table (old commune → new commune pairs) effective on ``effective``.

    Old units are those valid the day before ``effective`` (created when unknown, closed at
    ``effective`` when still open); new units start on ``effective``. Province and district rows come
    from the table's province and old-district columns. Pairs already stored for the file's provinces
    at that date but absent from the file make the load fail unless ``replace`` is true.

    Parameters
    ----------
    conn : Connection
        An open connection (the load is one savepoint: all or nothing).
    path : str or Path
        The CSV in the columns of Decision 19/2025.
    effective : date
        The day the reorganisation took effect.
    replace : bool
        Replace a different table already stored for this date and these provinces.

    Returns
    -------
    ConversionLoad
        Rows, communes, provinces, change kinds, units and pairs inserted or changed, the job id.

    Raises
    ------
    InputFileError
        A malformed file (line and reason).
    Conflict
        A different table is stored for the date and ``replace`` is false.
    """
    table = read_conversion_table(path)
    report = {"file": str(path), "sha256": file_sha256(path), "effective": effective.isoformat(),
              **table.summary(), "warnings": list(table.warnings)}
    try:
        with conn.begin_nested():
            job = start_job(conn, "units.load-conversion",
                            {"file": str(path), "sha256": report["sha256"], "effective": effective,
                             "replace": replace})
            changes = _store_conversion(conn, table, effective, job, source=Path(path).name, replace=replace)
            report.update(changes)
            if not _changed(changes):
                raise _NothingChanged
            finish_job(conn, job, _counts(report))
            report["job_id"] = job.id
    except _NothingChanged:
        report["job_id"] = None
    except sa.exc.IntegrityError as exc:
        raise DatabaseError(f"{path}: the table contradicts the units already stored "
                            f"({str(exc.orig).splitlines()[0]})") from None
    report["unchanged"] = report["job_id"] is None
    return report


def _changed(changes: dict) -> bool:
    return any(v for part in ("units", "changes") for k, v in changes[part].items() if k != "unchanged")


def _counts(report: dict) -> dict:
    return {k: report[k] for k in ("rows", "new_communes", "old_communes", "kinds", "units", "changes")}


def _unit_frames(table: ConversionTable) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(old units, new units) as rows of admin_unit columns; the first spelling of a name wins."""
    rows = table.rows.sort_values("line")

    def units(level, code, name, province=None, district=None, district_name=None):
        cols = {"code": code, "name": name}
        if province:
            cols["province_code"] = province
        if district:
            cols["district_code"], cols["district_name"] = district, district_name
        picked = rows[rows[code] != ""][list(cols.values())].drop_duplicates(code)
        picked = picked.rename(columns={v: k for k, v in cols.items()})
        picked["level"] = level
        picked["unit_type"] = picked["name"].map(unit_type_of)
        return picked.reindex(columns=_UNIT_COLUMNS)

    old = pd.concat([
        units("province", "old_province_code", "old_province_name"),
        units("district", "old_district_code", "old_district_name", province="old_province_code"),
        units("commune", "old_commune_code", "old_commune_name", province="old_province_code",
              district="old_district_code", district_name="old_district_name"),
    ], ignore_index=True)
    new = pd.concat([
        units("province", "province_code", "province_name"),
        units("commune", "commune_code", "commune_name", province="province_code"),
    ], ignore_index=True)
    old.loc[old["level"] == "province", "province_code"] = old["code"]
    new.loc[new["level"] == "province", "province_code"] = new["code"]
    return old, new


def _pairs(table: ConversionTable) -> pd.DataFrame:
    """Commune pairs as in the file, plus the province pairs they imply."""
    rows = table.rows
    communes = pd.DataFrame({"level": "commune", "old_code": rows["old_commune_code"],
                             "new_code": rows["commune_code"], "kind": rows["kind"], "note": rows["note"],
                             "line": rows["line"]})
    prov = rows[rows["old_province_code"] != ""].groupby(["old_province_code", "province_code"])["line"].min()
    prov = prov.reset_index()
    fan_in = prov.groupby("province_code")["old_province_code"].transform("nunique")
    fan_out = prov.groupby("old_province_code")["province_code"].transform("nunique")
    same = (prov["old_province_code"] == prov["province_code"]) & (fan_in == 1)
    kinds = np.where(fan_out > 1, "partial", np.where(same, "unchanged", "whole"))
    provinces = pd.DataFrame({"level": "province", "old_code": prov["old_province_code"],
                              "new_code": prov["province_code"], "kind": kinds,
                              "note": "suy ra từ các dòng cấp xã (derived from the commune rows)",
                              "line": prov["line"]})
    return pd.concat([communes, provinces], ignore_index=True)


def _store_conversion(conn: Connection, table: ConversionTable, effective: dt.date, job, *, source: str,
                      replace: bool) -> dict:
    old, new = _unit_frames(table)
    conn.execute(sa.text(
        "CREATE TEMP TABLE _units (side text, level text, code text, name text, unit_type text, "
        "province_code text, district_code text, district_name text) ON COMMIT DROP"))
    conn.execute(sa.text(
        "CREATE TEMP TABLE _pairs (level text, old_code text, new_code text, kind text, note text, "
        "line int) ON COMMIT DROP"))
    units = pd.concat([old.assign(side="old"), new.assign(side="new")], ignore_index=True)
    units = units[["side", *_UNIT_COLUMNS]].replace("", None)
    copy_csv(conn, f"_units (side, {', '.join(_UNIT_COLUMNS)})", [csv_bytes(dict(units.items()))])
    pairs = _pairs(table)
    copy_csv(conn, "_pairs (level, old_code, new_code, kind, note, line)", [csv_bytes(dict(pairs.items()))])
    conn.execute(sa.text("ANALYZE _units; ANALYZE _pairs; ANALYZE geoland.admin_unit; ANALYZE geoland.unit_change"))
    p = {"e": effective, "job": job.id, "source": source}
    q = lambda sql: conn.execute(sa.text(sql), p)  # noqa: E731

    closed = q("""
        UPDATE geoland.admin_unit u SET valid_to = :e
        FROM _units s
        WHERE s.side = 'old' AND u.level = s.level AND u.code = s.code AND u.valid_to IS NULL
          AND (u.valid_from IS NULL OR u.valid_from < :e)""").rowcount
    inserted_old = q("""
        INSERT INTO geoland.admin_unit (level, code, name, unit_type, province_code, district_code,
                                        district_name, valid_from, valid_to, job_id)
        SELECT s.level, s.code, s.name, s.unit_type, s.province_code, s.district_code, s.district_name,
               NULL, :e, :job
        FROM _units s
        WHERE s.side = 'old' AND NOT EXISTS (
            SELECT 1 FROM geoland.admin_unit u
            WHERE u.level = s.level AND u.code = s.code AND u.valid_to = :e)""").rowcount
    inserted_new = q("""
        INSERT INTO geoland.admin_unit (level, code, name, unit_type, province_code, valid_from, job_id)
        SELECT s.level, s.code, s.name, s.unit_type, s.province_code, :e, :job
        FROM _units s
        WHERE s.side = 'new' AND NOT EXISTS (
            SELECT 1 FROM geoland.admin_unit u
            WHERE u.level = s.level AND u.code = s.code AND u.valid_from = :e)""").rowcount
    renamed = q("""
        UPDATE geoland.admin_unit u
        SET name = s.name, unit_type = s.unit_type, province_code = s.province_code,
            district_code = s.district_code, district_name = s.district_name
        FROM _units s
        WHERE u.level = s.level AND u.code = s.code
          AND ((s.side = 'old' AND u.valid_to = :e) OR (s.side = 'new' AND u.valid_from = :e))
          AND (u.name, u.unit_type, u.province_code, u.district_code, u.district_name)
              IS DISTINCT FROM (s.name, s.unit_type, s.province_code, s.district_code, s.district_name)
          AND u.job_id IS DISTINCT FROM :job""").rowcount

    q("""CREATE TEMP TABLE _resolved ON COMMIT DROP AS
        SELECT o.id AS old_id, n.id AS new_id, c.kind, c.note, c.line
        FROM _pairs c
        JOIN geoland.admin_unit o ON o.level = c.level AND o.code = c.old_code AND o.valid_to = :e
        JOIN geoland.admin_unit n ON n.level = c.level AND n.code = c.new_code AND n.valid_from = :e""")
    stale_filter = """
        FROM geoland.unit_change ch JOIN geoland.admin_unit n ON n.id = ch.new_unit_id
        WHERE ch.effective = :e
          AND n.province_code IN (SELECT code FROM _units WHERE side = 'new' AND level = 'province')
          AND NOT EXISTS (SELECT 1 FROM _resolved r WHERE r.old_id = ch.old_unit_id AND r.new_id = ch.new_unit_id)"""
    stale = q("SELECT count(*) " + stale_filter).scalar_one()
    if stale and not replace:
        raise Conflict(
            f"{stale} old → new pairs are already stored for {effective} in these provinces but are not in "
            f"this file: it is a different conversion table. Pass --replace to replace the stored one.")
    removed = q("DELETE FROM geoland.unit_change WHERE id IN (SELECT ch.id " + stale_filter + ")").rowcount
    updated = q("""
        UPDATE geoland.unit_change ch SET kind = r.kind, note = r.note, source = :source,
               source_line = r.line, job_id = :job
        FROM _resolved r
        WHERE ch.old_unit_id = r.old_id AND ch.new_unit_id = r.new_id AND ch.effective = :e
          AND (ch.kind, ch.note) IS DISTINCT FROM (r.kind, r.note)""").rowcount
    inserted = q("""
        INSERT INTO geoland.unit_change (old_unit_id, new_unit_id, kind, note, effective, source,
                                         source_line, job_id)
        SELECT r.old_id, r.new_id, r.kind, r.note, :e, :source, r.line, :job FROM _resolved r
        ON CONFLICT (old_unit_id, new_unit_id, effective) DO NOTHING""").rowcount
    total = q("SELECT count(*) FROM _resolved").scalar_one()
    return {
        "units": {"inserted": inserted_old + inserted_new, "closed": closed, "renamed": renamed},
        "changes": {"inserted": inserted, "updated": updated, "removed": removed,
                    "unchanged": total - inserted - updated},
    }


# --- boundary layers --------------------------------------------------------------------------------

@returns(BoundaryLoad)
def load_boundaries(conn: Connection, path: str | Path, *, effective: dt.date, code_field: str = "code",
                    name_field: str = "name", province_field: str | None = None,
                    province: str | None = None, layer: str | None = None, crs: str | None = None) -> BoundaryLoad:
    """Load one boundary layer in force on ``effective`` and match its features to the units valid that day.

    Invalid polygons are repaired (make_valid) and the repair recorded; features whose code is blank or
    unknown on that date are stored and reported, never dropped. Reloading the same file for the same date
    is a no-op; another file for the same date and provinces supersedes the earlier layer (kept as history).

    Parameters
    ----------
    conn : Connection
        An open connection.
    path : str or Path
        The layer (GeoJSON, GeoPackage, Shapefile, …).
    effective : date
        A day on which these boundaries are in force.
    code_field, name_field : str
        The fields holding the 5-digit commune code and the name.
    province_field : str, optional
        The field holding the 2-digit province code.
    province : str, optional
        The province of features that have none.
    layer : str, optional
        The layer to read in a multi-layer source.
    crs : str, optional
        The CRS of a layer that has none or a wrong one.

    Returns
    -------
    BoundaryLoad
        Features, matches, unknown and missing codes, repairs, the layer and job ids.

    Raises
    ------
    InputFileError
        The file cannot be read or its fields are wrong.
    """
    frame = read_vector(path, layer=layer, crs=crs)
    try:
        prepared = prepare_boundary_layer(frame, code_field=code_field, name_field=name_field,
                                          province_field=province_field, province_code=province)
    except (BoundaryLayerError, InvalidCodeError) as exc:
        raise InputFileError(path, str(exc)) from None
    sha = file_sha256(path)
    feats = prepared.features
    units = units_valid_on(conn, effective, "commune")
    known = feats["code"].map(lambda c: c in units)
    feats["unit_id"] = pd.Series([units[c]["id"] if ok else None for c, ok in zip(feats["code"], known)],
                                 index=feats.index, dtype=object)
    feats["match"] = np.where(feats["code"].isna(), "no_code", np.where(known, "matched", "unknown_code"))
    feats["province_code"] = pd.Series(
        [p if isinstance(p, str) else units[c]["province_code"] if ok else None
         for p, c, ok in zip(feats["province_code"], feats["code"], known)], index=feats.index, dtype=object)
    provinces = sorted({p for p in feats["province_code"] if isinstance(p, str)})
    report = {
        "file": str(path), "sha256": sha, "effective": effective.isoformat(), "features": len(feats),
        "metric_epsg": prepared.metric_epsg, "provinces": provinces,
        "matched": int((feats["match"] == "matched").sum()),
        "unknown_code": sorted(c for c in feats.loc[feats["match"] == "unknown_code", "code"]),
        "no_code": [{"feature": int(f), "name": n} for f, n in
                    feats.loc[feats["match"] == "no_code", ["feature_index", "name"]].itertuples(index=False)],
        "duplicate_codes": sorted(set(feats["code"].dropna()[feats["code"].dropna().duplicated()])),
        "units_without_boundary": sorted(c for c, u in units.items()
                                         if u["province_code"] in provinces and c not in set(feats["code"])),
        "repairs": [{"feature": int(f), "code": c, "name": n, "repair": r}
                    for f, c, n, r in prepared.repairs.itertuples(index=False)],
        "area_km2": round(float(feats["area_m2"].sum()) / 1e6, 3),
    }
    same = conn.execute(sa.text(
        "SELECT id FROM geoland.boundary_layer WHERE source_sha256 = :sha AND effective = :e "
        "AND superseded_by IS NULL"), {"sha": sha, "e": effective}).scalar()
    if same is not None:
        return {**report, "layer_id": same, "job_id": None, "unchanged": True, "superseded": []}
    job = start_job(conn, "units.load-boundaries",
                    {"file": str(path), "sha256": sha, "effective": effective, "code_field": code_field,
                     "name_field": name_field, "province": province, "layer": layer, "crs": crs})
    layer_id = conn.execute(sa.text("""
        INSERT INTO geoland.boundary_layer (source, source_sha256, layer_name, effective, code_field,
            name_field, source_crs, metric_srid, feature_count, province_codes, job_id)
        VALUES (:source, :sha, :layer, :e, :cf, :nf, :crs, :srid, :n, :provinces, :job) RETURNING id"""),
        {"source": str(path), "sha": sha, "layer": layer, "e": effective, "cf": code_field, "nf": name_field,
         "crs": prepared.source_crs, "srid": prepared.metric_epsg, "n": len(feats), "provinces": provinces,
         "job": job.id}).scalar_one()
    superseded = conn.execute(sa.text("""
        UPDATE geoland.boundary_layer SET superseded_by = :id
        WHERE effective = :e AND superseded_by IS NULL AND id <> :id AND province_codes && :provinces
        RETURNING id"""), {"id": layer_id, "e": effective, "provinces": provinces}).scalars().all()
    _copy_features(conn, layer_id, feats, prepared.metric_epsg)
    for repair in report["repairs"]:
        audit(conn, job, "unit_boundary.repaired", entity="boundary_layer", entity_id=str(layer_id),
              detail=repair)
    report.update(layer_id=layer_id, job_id=job.id, unchanged=False, superseded=superseded)
    finish_job(conn, job, {k: report[k] for k in ("features", "matched", "area_km2")}
               | {"unknown_code": len(report["unknown_code"]), "no_code": len(report["no_code"]),
                  "repairs": len(report["repairs"])})
    return report


def units_valid_on(conn: Connection, day: dt.date | None, level: str = "commune") -> dict[str, dict]:
    """The units of ``level`` in force on ``day`` by code: id, name, province code (none without a day).

    Parameters
    ----------
    conn : Connection
        An open connection.
    day : date or None
        The date.
    level : {"commune", "district", "province"}
        The level.

    Returns
    -------
    dict
        code → ``{"id", "name", "province_code"}``.
    """
    if day is None:
        return {}
    rows = conn.execute(sa.text(
        "SELECT code, id, name, province_code FROM geoland.admin_unit "
        "WHERE level = :level AND daterange(valid_from, valid_to, '[)') @> CAST(:d AS date)"),
        {"level": level, "d": day}).mappings().all()
    return {r["code"]: dict(r) for r in rows}


def _copy_features(conn: Connection, layer_id: int, feats: gpd.GeoDataFrame, metric_epsg: int) -> None:
    import json

    n = len(feats)
    copy_csv(conn, "geoland.unit_boundary (layer_id, feature_index, unit_id, code, name, province_code, match, geom, "
                   "geom_metric, area_m2, repaired, repair_note, attributes)", [csv_bytes({
                       "layer_id": np.full(n, layer_id), "feature_index": feats["feature_index"].to_numpy(),
                       "unit_id": feats["unit_id"].astype("Int64"), "code": feats["code"], "name": feats["name"],
                       "province_code": feats["province_code"], "match": feats["match"],
                       "geom": shapely.to_wkb(shapely.set_srid(feats.geometry.to_numpy(), 4326), hex=True,
                                              include_srid=True),
                       "geom_metric": shapely.to_wkb(shapely.set_srid(feats["geometry_metric"].to_numpy(), metric_epsg),
                                                     hex=True, include_srid=True),
                       "area_m2": feats["area_m2"].to_numpy(), "repaired": feats["repaired"].to_numpy(),
                       "repair_note": feats["repair_note"],
                       "attributes": [json.dumps(a, ensure_ascii=False) for a in feats["attributes"]]})])


# --- coverage QA ------------------------------------------------------------------------------------

def current_boundaries(conn: Connection, *, effective: dt.date | None = None,
                       province: str | None = None) -> tuple[gpd.GeoDataFrame, dt.date | None, int | None]:
    """The current boundary features of one effective date.

    The current (not superseded) boundary features of one effective date (default: the latest loaded),
    optionally of one province; returns (features in EPSG:4326, the date, the layers' metric EPSG).

    Parameters
    ----------
    conn : Connection
        An open connection.
    effective : date, optional
        The date; default the latest loaded.
    province : str, optional
        Only this province.

    Returns
    -------
    (GeoDataFrame, date or None, int or None)
    """
    if effective is None:
        effective = conn.execute(sa.text(
            "SELECT max(effective) FROM geoland.boundary_layer WHERE superseded_by IS NULL")).scalar()
    if effective is None:
        return gpd.GeoDataFrame({"code": [], "name": []}, geometry=[], crs="EPSG:4326"), None, None
    province = normalize_unit_code(province, "province") if province else None
    rows = conn.execute(sa.text("""
        SELECT b.code, b.name, b.province_code, b.match, ST_AsBinary(b.geom) AS wkb, l.metric_srid
        FROM geoland.unit_boundary b JOIN geoland.boundary_layer l ON l.id = b.layer_id
        WHERE l.effective = :e AND l.superseded_by IS NULL
          AND (CAST(:p AS text) IS NULL OR b.province_code = :p)
        ORDER BY b.layer_id, b.feature_index"""), {"e": effective, "p": province}).all()
    srids = {r.metric_srid for r in rows}
    frame = gpd.GeoDataFrame(
        {"code": [r.code for r in rows], "name": [r.name for r in rows],
         "province_code": [r.province_code for r in rows], "match": [r.match for r in rows]},
        geometry=shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else [], crs="EPSG:4326")
    return frame, effective, (srids.pop() if len(srids) == 1 else None)


@returns(Coverage)
def check_units(conn: Connection, *, effective: dt.date | None = None, province: str | None = None,
                min_area_m2: float) -> Coverage:
    """Coverage QA (gaps and overlaps) of the boundaries in force on one date; a report, never a failure.

    Parameters
    ----------
    conn : Connection
        An open connection.
    effective : date, optional
        Boundaries of this date; default the latest loaded.
    province : str, optional
        Only this province.
    min_area_m2 : float
        Report gaps and overlaps of at least this area.

    Returns
    -------
    Coverage
        Gaps and overlaps with their area and location.

    Raises
    ------
    NotFound
        No boundary layer loaded.
    """
    frame, effective, metric_epsg = current_boundaries(conn, effective=effective, province=province)
    if effective is None or frame.empty:
        raise NotFound("no boundary layer loaded" + (f" for province {province}" if province else "")
                           + ": run `geoland units load-boundaries` first")
    defects = coverage_defects(frame, code_column="code", min_area_m2=min_area_m2, metric_epsg=metric_epsg)
    counts = defects["kind"].value_counts()
    return {
        "effective": effective.isoformat(), "province": province, "units": len(frame),
        "min_area_m2": min_area_m2,
        "gaps": int(counts.get("gap", 0)), "overlaps": int(counts.get("overlap", 0)),
        "gap_area_m2": round(float(defects.loc[defects["kind"] == "gap", "area_m2"].sum()), 1),
        "overlap_area_m2": round(float(defects.loc[defects["kind"] == "overlap", "area_m2"].sum()), 1),
        "defects": [{"kind": d.kind, "codes": d.codes, "area_m2": round(float(d.area_m2), 1),
                     "lon": round(float(d.lon), 6), "lat": round(float(d.lat), 6)}
                    for d in defects.itertuples(index=False)],
    }


# --- look-ups -----------------------------------------------------------------------------------------

@returns(UnitLookup)
def lookup_unit(conn: Connection, code: str, *, at: dt.date | None = None, level: str = "commune") -> UnitLookup:
    """The unit a code names on a date (default: today), with its predecessors and successors.

    Parameters
    ----------
    conn : Connection
        An open connection.
    code : str
        The unit code (leading zeros may be missing).
    at : date, optional
        The date to read the code at; default today.
    level : {"commune", "district", "province"}
        The level of the code.

    Returns
    -------
    UnitLookup
        Its name, level, validity, what it was formed from and what it became, every period of the code.

    Raises
    ------
    InvalidInput
        Not a code of that level.
    NotFound
        No unit has the code on that date.
    """
    try:
        code = normalize_unit_code(code, level)
    except InvalidCodeError as exc:
        raise InvalidInput(str(exc)) from None
    at = at or dt.date.today()
    unit = conn.execute(sa.text("""
        SELECT id, level, code, name, unit_type, province_code, district_name, valid_from, valid_to
        FROM geoland.admin_unit
        WHERE level = :level AND code = :code AND daterange(valid_from, valid_to, '[)') @> CAST(:at AS date)"""),
        {"level": level, "code": code, "at": at}).mappings().first()
    periods = conn.execute(sa.text(
        "SELECT name, valid_from, valid_to FROM geoland.admin_unit WHERE level = :level AND code = :code "
        "ORDER BY valid_from NULLS FIRST"), {"level": level, "code": code}).mappings().all()
    if unit is None:
        known = "; ".join(f"{_period(p)}: {p['name']}" for p in periods) or "never"
        raise NotFound(f"no {level} has code {code} on {at} (code {code} was used: {known})")
    related = """
        SELECT u.code, u.name, ch.kind, ch.note, ch.effective FROM geoland.unit_change ch
        JOIN geoland.admin_unit u ON u.id = ch.{other}
        WHERE ch.{this} = :id ORDER BY ch.effective, u.code"""
    before = conn.execute(sa.text(related.format(other="old_unit_id", this="new_unit_id")), {"id": unit["id"]})
    after = conn.execute(sa.text(related.format(other="new_unit_id", this="old_unit_id")), {"id": unit["id"]})
    return {
        "code": code, "at": at.isoformat(), "name": unit["name"], "level": unit["level"],
        "unit_type": unit["unit_type"], "province_code": unit["province_code"],
        "district_name": unit["district_name"], "valid": _period(unit),
        "formed_from": [dict(r._mapping) | {"effective": r.effective.isoformat()} for r in before],
        "became": [dict(r._mapping) | {"effective": r.effective.isoformat()} for r in after],
        "code_history": [{"valid": _period(p), "name": p["name"]} for p in periods],
    }


def _period(row) -> str:
    """A validity period for people: first and last day (the stored end is exclusive)."""
    start = row["valid_from"].isoformat() if row["valid_from"] else "…"
    end = (row["valid_to"] - dt.timedelta(days=1)).isoformat() if row["valid_to"] else "…"
    return f"{start} – {end}"
