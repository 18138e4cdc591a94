"""What a reviewer looks at: a new commune's plots, findings and boundaries.

What a reviewer looks at: a new commune's plots with their codes and findings, its boundary and the old
communes it was formed from; one plot with its history. Read from PostGIS; personal data masked unless
the caller may see it (and then the access is audited by the caller's layer).

Used by ``geoland map`` and by the web app (web/), so that both show the same thing.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geoland.errors import NotFound
from geoland.pipeline.assignments import latest_effective
from geoland.pipeline.units import current_boundaries, units_valid_on
from geoland.store.db import read_columns
from identifiers import normalize_unit_code
from identifiers.cccd import mask_cccd, mask_name

# The popup's attributes of a plot (the map's card), masked by the caller.
_PLOTS_SQL = """
        SELECT p.id, c.code, p.legacy_mx, x.new_code,
               p.area_m2, p.legal_area_m2, p.land_use, u.name, u.id_number, a.status,
               (SELECT string_agg(cc.series, ', ' ORDER BY cc.series) FROM geoland.certificate_plot cp
                JOIN geoland.certificate cc ON cc.id = cp.certificate_id AND cc.status = 'valid'
                WHERE cp.plot_id = p.id),
               (SELECT count(*) FROM geoland.land_right r WHERE r.plot_id = p.id),
               (SELECT count(*) FROM geoland.asset_plot ap WHERE ap.plot_id = p.id),
               ST_AsBinary(ST_Transform(p.geom, 4326))
        FROM geoland.plot_assignment_current a JOIN geoland.plot_mx p ON p.id = a.plot_id
        LEFT JOIN geoland.plot_code c ON c.plot_id = p.id
        LEFT JOIN geoland.land_user u ON u.plot_id = p.id
        LEFT JOIN geoland.mx_crosswalk_current x ON x.plot_id = p.id
        WHERE {where} ORDER BY p.id"""
CARD_COLUMNS = ["plot_id", "code", "legacy_mx", "mx", "area_m2", "legal_area_m2", "land_use", "user_name", "id_number",
                "status", "certificates", "holders", "assets"]


def plot_card(conn: Connection, plot_id: int) -> dict:
    """One plot's popup attributes (codes, areas, land use, its land user masked, certificates, holders, assets).

    The web app's review map reads them when a plot is clicked instead of carrying them for every plot.

    Raises
    ------
    NotFound
        No plot has that id (or it is not assigned to a commune).
    """
    frame = read_columns(conn, _PLOTS_SQL.format(where="p.id = %(i)s AND a.effective = %(e)s"),
                         {"i": int(plot_id), "e": latest_effective(conn)}, [*CARD_COLUMNS, "wkb"])
    if frame.empty:
        raise NotFound(f"no plot {plot_id} assigned to a commune")
    row = frame.drop(columns="wkb").iloc[0]
    card = {k: (None if v is None or (isinstance(v, float) and np.isnan(v)) else v) for k, v in row.items()}
    card["user_name"] = mask_name([card["user_name"]])[0]
    card["id_number"] = mask_cccd([card["id_number"]])[0]
    for k in ("area_m2", "legal_area_m2"):
        card[k] = None if card[k] is None else round(float(card[k]), 1)
    for k in ("plot_id", "holders", "assets"):
        card[k] = int(card[k] or 0)
    return card


def commune_plots(conn: Connection, commune: str, *, unmasked: bool = False, lite: bool = False) -> dict:
    """The plots of a new commune with their findings, its boundary and its old communes.

    The plots of new commune ``commune`` (current assignment) in WGS 84, their attributes and open
    findings, the commune's boundary and the old communes it came from. ``lite``: of the plots' attributes only
    their id and identification code (the web app's map reads the rest per click, :func:`plot_card`).
    """
    commune = normalize_unit_code(commune, "commune")
    effective = latest_effective(conn)
    if effective is None:
        raise NotFound("no plot is assigned to a new commune yet: run `geoland reassign` first")
    if lite:
        frame = read_columns(conn, """
            SELECT p.id, c.code, ST_AsBinary(ST_Transform(p.geom, 4326))
            FROM geoland.plot_assignment_current a JOIN geoland.plot p ON p.id = a.plot_id
            LEFT JOIN geoland.plot_code c ON c.plot_id = p.id
            WHERE a.effective = %(e)s AND a.commune_code = %(c)s ORDER BY p.id""", {"e": effective, "c": commune},
            ["plot_id", "code", "wkb"])
    else:
        frame = read_columns(conn, _PLOTS_SQL.format(where="a.effective = %(e)s AND a.commune_code = %(c)s"),
                             {"e": effective, "c": commune}, [*CARD_COLUMNS, "wkb"])
    if frame.empty:
        raise NotFound(f"no plots assigned to commune {commune} on {effective}: check the code "
                           "(`geoland units lookup`) or run `geoland reassign`")
    frame["plot_id"] = frame["plot_id"].astype(np.int64)
    if not unmasked and not lite:
        frame["user_name"] = mask_name(frame["user_name"].to_numpy(dtype=object))
        frame["id_number"] = mask_cccd(frame["id_number"].to_numpy(dtype=object))
    geoms = shapely.from_wkb(frame.pop("wkb").to_numpy())
    findings = read_columns(conn, """
        SELECT f.id, f.plot_id, f.type, f.category, f.severity, f.value, f.tolerance, f.review_state, f.assigned_to
        FROM geoland.finding_current f JOIN geoland.plot_assignment_current a ON a.plot_id = f.plot_id
        WHERE a.effective = %(e)s AND a.commune_code = %(c)s ORDER BY f.plot_id, f.type, f.id""",
        {"e": effective, "c": commune}, ["finding_id", "plot_id", "type", "category", "severity", "value", "tolerance",
                                         "review_state", "assigned_to"])
    new, _, _ = current_boundaries(conn, effective=effective)
    boundary = new[new["code"] == commune]
    old_codes = conn.execute(sa.text("""
        SELECT DISTINCT o.code FROM geoland.unit_change x
        JOIN geoland.admin_unit o ON o.id = x.old_unit_id JOIN geoland.admin_unit n ON n.id = x.new_unit_id
        WHERE n.level = 'commune' AND n.code = :c AND x.effective = :e"""),
        {"c": commune, "e": effective}).scalars().all()
    old, _, _ = current_boundaries(conn, effective=effective - dt.timedelta(days=1))
    if old.empty or not (old["code"].isin(old_codes)).any():
        old = gpd.GeoDataFrame({"code": [], "name": []}, geometry=[], crs="EPSG:4326")
    else:
        old = old[old["code"].isin(old_codes)]
    name = units_valid_on(conn, effective).get(commune, {}).get("name")
    return {"commune": commune, "name": name, "effective": effective,
            "plots": frame, "geometry": geoms, "findings": findings,
            "boundary": boundary[["code", "name", "geometry"]].reset_index(drop=True),
            "old_communes": old[["code", "name", "geometry"]].reset_index(drop=True)}
