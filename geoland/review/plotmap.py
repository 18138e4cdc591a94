"""One plot on a map, and the plot as a GeoJSON feature for download.

The map: the plot, its neighbours, its new and old communes, the point behind its code, and where its geometry
is broken.

All in WGS 84 (the plot's own VN-2000 zone transformed by PostGIS). Neighbours are the plots within
:data:`NEIGHBOUR_M` metres (through the GiST index, in the plot's zone), at most :data:`MAX_NEIGHBOURS`. The
point behind the identification code is the centre of its 12-character GeoHash cell (a few centimetres
across): the pole of inaccessibility the code was made from. A broken geometry's location is the one GEOS
reported (``Self-intersection[x y]``, in the plot's metres), shown as a marker with its reason in words.
Nothing personal is read.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geoland.errors import NotFound
from geoland.rules.vocab import describe_value, geometry_problem
from identifiers.geohash import decode

NEIGHBOUR_M = 30.0
MAX_NEIGHBOURS = 300
BOUNDARY_SIMPLIFY = 0.00005        # ≈ 5 m: the communes' boundaries as a backdrop


def plot_map(conn: Connection, plot_id: int, language: str = "vi") -> dict:
    """The layers of one plot's map (GeoJSON geometries as dicts) and what they are.

    Returns
    -------
    dict
        ``plot`` (geometry, ``code``, ``commune``, ``old_commune``), ``neighbours`` (list: ``id``, ``code``,
        ``geometry``), ``new_commune`` and ``old_commune`` (``code``, ``name``, ``geometry``; None when not
        loaded), ``code_point`` ([lon, lat] or None), ``problems`` (list: ``text``, ``at`` [lon, lat]).

    Raises
    ------
    NotFound
        No plot has that id.
    """
    row = conn.execute(sa.text("""
        SELECT p.id, ST_SRID(p.geom) AS srid, ST_AsGeoJSON(ST_Transform(p.geom, 4326), 7) AS geometry,
               p.old_commune_code, c.code, a.commune_code, a.effective
        FROM geoland.plot p LEFT JOIN geoland.plot_code c ON c.plot_id = p.id
        LEFT JOIN LATERAL (SELECT commune_code, effective FROM geoland.plot_assignment_current x
                           WHERE x.plot_id = p.id ORDER BY effective DESC LIMIT 1) a ON true
        WHERE p.id = :i"""), {"i": plot_id}).mappings().first()
    if row is None:
        raise NotFound(f"no plot {plot_id}")
    neighbours = [{"id": r.id, "code": r.code, "geometry": json.loads(r.geometry)} for r in conn.execute(sa.text("""
        SELECT n.id, nc.code, ST_AsGeoJSON(ST_Transform(n.geom, 4326), 7) AS geometry
        FROM geoland.plot p JOIN geoland.plot n ON n.geom && ST_Expand(p.geom, :d) AND n.id <> p.id
             AND ST_SRID(n.geom) = ST_SRID(p.geom) AND ST_DWithin(n.geom, p.geom, :d)
        LEFT JOIN geoland.plot_code nc ON nc.plot_id = n.id
        WHERE p.id = :i ORDER BY ST_Distance(n.geom, p.geom), n.id LIMIT :n"""),
        {"i": plot_id, "d": NEIGHBOUR_M, "n": MAX_NEIGHBOURS})]
    new = _boundary(conn, row["commune_code"], "=", row["effective"])
    old = _boundary(conn, row["old_commune_code"], "<", row["effective"]) if row["effective"] else None
    point = None
    if row["code"]:
        lon, lat = decode([row["code"]])
        point = [float(lon[0]), float(lat[0])]
    problems = []
    for (value,) in conn.execute(sa.text("SELECT value FROM geoland.finding_current WHERE plot_id = :i "
                                         "AND type = 'invalid_geometry'"), {"i": plot_id}):
        found = geometry_problem(value)
        if found and found["at"]:
            lon, lat = conn.execute(sa.text(
                "SELECT ST_X(g), ST_Y(g) FROM ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), :s), 4326) AS g"),
                {"x": found["at"][0], "y": found["at"][1], "s": row["srid"]}).one()
            problems.append({"text": describe_value(value, language), "at": [lon, lat]})
    return {"plot": {"id": row["id"], "code": row["code"], "commune": row["commune_code"],
                     "old_commune": row["old_commune_code"], "geometry": json.loads(row["geometry"])},
            "neighbours": neighbours, "new_commune": new, "old_commune": old, "code_point": point,
            "problems": problems}


def _boundary(conn: Connection, code: str | None, compare: str, effective) -> dict | None:
    """A commune's boundary from the current layer of ``effective`` (``=``) or the latest before it (``<``)."""
    if not code or effective is None:
        return None
    row = conn.execute(sa.text(f"""
        SELECT b.code, b.name, ST_AsGeoJSON(ST_SimplifyPreserveTopology(b.geom, :t), 6) AS geometry
        FROM geoland.unit_boundary b JOIN geoland.boundary_layer l ON l.id = b.layer_id
        WHERE b.code = :c AND l.superseded_by IS NULL AND l.effective {compare} :e
        ORDER BY l.effective DESC LIMIT 1"""), {"c": code, "e": effective, "t": BOUNDARY_SIMPLIFY}).mappings().first()
    return None if row is None else {"code": row["code"], "name": row["name"],
                                     "geometry": json.loads(row["geometry"])}


def plot_feature(conn: Connection, plot_id: int) -> dict:
    """The plot as a GeoJSON Feature (WGS 84): its codes, commune, areas and land use; nothing personal."""
    row = conn.execute(sa.text("""
        SELECT p.id, ST_AsGeoJSON(ST_Transform(p.geom, 4326), 8) AS geometry, c.code, p.legacy_mx,
               x.new_code, p.old_commune_code, a.commune_code, p.sheet, p.plot_number, p.area_m2,
               p.legal_area_m2, p.land_use, ST_SRID(p.geom) AS srid
        FROM geoland.plot_mx p LEFT JOIN geoland.plot_code c ON c.plot_id = p.id
        LEFT JOIN geoland.mx_crosswalk_current x ON x.plot_id = p.id
        LEFT JOIN LATERAL (SELECT commune_code FROM geoland.plot_assignment_current y
                           WHERE y.plot_id = p.id ORDER BY effective DESC LIMIT 1) a ON true
        WHERE p.id = :i"""), {"i": plot_id}).mappings().first()
    if row is None:
        raise NotFound(f"no plot {plot_id}")
    props = {"plot_id": row["id"], "identification_code": row["code"], "mx": row["new_code"] or row["legacy_mx"],
             "legacy_mx": row["legacy_mx"], "commune_code": row["commune_code"],
             "old_commune_code": row["old_commune_code"], "sheet": row["sheet"], "plot_number": row["plot_number"],
             "area_m2": None if row["area_m2"] is None else round(float(row["area_m2"]), 2),
             "legal_area_m2": None if row["legal_area_m2"] is None else float(row["legal_area_m2"]),
             "land_use": row["land_use"], "source_epsg": row["srid"]}
    return {"type": "Feature", "id": row["id"], "geometry": json.loads(row["geometry"]), "properties": props}
