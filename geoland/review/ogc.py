"""What the OGC API – Features service reads.

The collections, their extents, the communes' boundaries as features, the ``datetime`` filter, and the
OpenAPI document.

Two collections: ``plots`` (the land plots, WGS 84, paged by keyset as in :func:`geoland.review.lookup.
plot_features`) and ``communes`` (every commune boundary loaded, current and past, each with its period).

``datetime`` (RFC 3339 instant or interval, ``..`` open): for ``plots``, the period a plot's record has been in
geoland — from its import on, no end yet; for ``communes``, the boundary layer's period — from its effective
date to the effective date of the layer that superseded it.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geoland.errors import InvalidInput, NotFound

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
COLLECTIONS = {
    "plots": ("Thửa đất — land plots", "The land plots with their identification code, new commune, legacy "
                                      "MX.SB.ST, computed area and land use (no personal data)."),
    "communes": ("Ranh giới xã — commune boundaries", "Every commune boundary loaded, before and after the "
                                                      "2025-07-01 reorganisation, each with its period."),
}
COMMUNE_PAGE_MAX = 100      # boundaries are large polygons: fewer per page


def parse_datetime(text: str | None) -> tuple[dt.datetime | None, dt.datetime | None] | None:
    """An OGC ``datetime`` value as (start, end), either open (None); None when not given.

    >>> parse_datetime("2025-07-01T00:00:00Z")[0].isoformat()
    '2025-07-01T00:00:00+00:00'
    >>> parse_datetime("../2025-07-01")[0] is None
    True

    Raises
    ------
    InvalidInput
        Not an RFC 3339 date-time, a date, or an interval of them.
    """
    if not text:
        return None
    parts = text.split("/")
    if len(parts) > 2:
        raise InvalidInput("datetime is an instant or an interval start/end ('..' for open)")
    try:
        values = [None if p in ("..", "") else _instant(p) for p in parts]
    except ValueError:
        raise InvalidInput(f"datetime {text[:40]!r} is not an RFC 3339 date-time, date or interval") from None
    if len(values) == 1:
        if values[0] is None:
            raise InvalidInput("datetime '..' alone is not an instant")
        return values[0], values[0]
    if values[0] and values[1] and values[0] > values[1]:
        raise InvalidInput("datetime interval ends before it starts")
    return values[0], values[1]


def _instant(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def imports_between(conn: Connection, period) -> list[int] | None:
    """The imports whose plots' records exist at some time in ``period`` (all of them: no end yet)."""
    if period is None:
        return None
    _, end = period
    return list(conn.execute(sa.text("""
        SELECT i.id FROM geoland.plot_import i JOIN geoland.job j ON j.id = i.job_id
        WHERE CAST(:end AS timestamptz) IS NULL OR j.started_at <= :end ORDER BY i.id"""), {"end": end}).scalars())


_EXTENTS: dict[tuple, dict] = {}       # (database, last import, last boundary layer) → extents


def extents(conn: Connection) -> dict[str, dict]:
    """Each collection's spatial (CRS84) and temporal extent, from the data.

    Measured once per state of the data (the last import and the last boundary layer): the extent of a
    million plots is a full read, which every client's ``/collections`` must not pay.
    """
    key = (str(conn.engine.url), *conn.execute(sa.text(
        "SELECT (SELECT max(id) FROM geoland.plot_import), (SELECT max(id) FROM geoland.boundary_layer)")).one())
    if key not in _EXTENTS:
        _EXTENTS.clear()
        _EXTENTS[key] = _measure_extents(conn)
    return _EXTENTS[key]


def _measure_extents(conn: Connection) -> dict[str, dict]:
    rows = conn.execute(sa.text("""
        SELECT z.srid, ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)
        FROM (SELECT DISTINCT srid FROM geoland.plot_import) z,
             LATERAL (SELECT ST_Transform(ST_SetSRID(ST_Extent(p.geom)::geometry, z.srid), 4326) b
                      FROM geoland.plot p WHERE ST_SRID(p.geom) = z.srid) e""")).all()
    boxes = [r[1:] for r in rows if r[1] is not None]
    first_import = conn.execute(sa.text("SELECT min(j.started_at) FROM geoland.plot_import i "
                                        "JOIN geoland.job j ON j.id = i.job_id")).scalar()
    communes = conn.execute(sa.text("""
        SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), (SELECT min(effective) FROM geoland.boundary_layer)
        FROM (SELECT ST_Extent(geom) e FROM geoland.unit_boundary) b""")).one()
    return {
        "plots": _extent(_union(boxes), first_import),
        "communes": _extent(communes[:4] if communes[0] is not None else None,
                            dt.datetime.combine(communes[4], dt.time(), dt.UTC) if communes[4] else None),
    }


def _union(boxes):
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _extent(box, start) -> dict:
    out: dict = {}
    if box is not None:
        out["spatial"] = {"bbox": [[round(v, 7) for v in box]], "crs": CRS84}
    out["temporal"] = {"interval": [[start.isoformat().replace("+00:00", "Z") if start else None, None]],
                       "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return out


def count(conn: Connection, collection: str) -> int:
    """How many features a collection holds."""
    table = {"plots": "geoland.plot", "communes": "geoland.unit_boundary"}[collection]
    return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()


def commune_features(conn: Connection, *, bbox, limit: int, after: int = 0, period=None) -> tuple[str, int, int | None]:
    """One page of commune boundaries as GeoJSON features (JSON text, count, next ``after`` or None)."""
    start, end = period or (None, None)
    rows = conn.execute(sa.text("""
        SELECT b.id FROM geoland.unit_boundary b JOIN geoland.boundary_layer l ON l.id = b.layer_id
        LEFT JOIN geoland.boundary_layer s ON s.id = l.superseded_by
        WHERE b.id > :a
          AND (CAST(:x0 AS float8) IS NULL OR b.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))
          AND (CAST(:end AS timestamptz) IS NULL OR l.effective <= CAST(:end AS timestamptz))
          AND (CAST(:start AS timestamptz) IS NULL OR s.effective IS NULL OR s.effective > CAST(:start AS timestamptz))
        ORDER BY b.id LIMIT :n"""), {"a": after, "n": limit + 1, "start": start, "end": end,
                                     **dict(zip(("x0", "y0", "x1", "y1"), bbox or (None,) * 4, strict=True))}).scalars()
    ids = list(rows)
    following = ids[limit - 1] if len(ids) > limit else None
    ids = ids[:limit]
    return (*_commune_json(conn, ids), following)


def commune_feature(conn: Connection, feature_id: int) -> str:
    """One commune boundary as a GeoJSON feature (JSON text)."""
    text, count = _commune_json(conn, [feature_id])
    if not count:
        raise NotFound(f"no commune boundary {feature_id}")
    return text


def _commune_json(conn: Connection, ids: list[int]) -> tuple[str, int]:
    count, text = conn.execute(sa.text("""
        SELECT count(*), coalesce(string_agg(json_build_object(
            'type', 'Feature', 'id', b.id, 'geometry', ST_AsGeoJSON(b.geom, 7)::json,
            'properties', json_build_object(
                'boundary_id', b.id, 'code', b.code, 'name', b.name, 'province_code', b.province_code,
                'valid_from', l.effective, 'valid_to', s.effective, 'current', l.superseded_by IS NULL))::text,
            ',' ORDER BY b.id), '')
        FROM geoland.unit_boundary b JOIN geoland.boundary_layer l ON l.id = b.layer_id
        LEFT JOIN geoland.boundary_layer s ON s.id = l.superseded_by
        WHERE b.id = ANY(:ids)"""), {"ids": ids}).one()
    return text, count


def openapi(base: str, max_limit: int) -> dict:
    """The OpenAPI 3.0 document of the service (the ``service-desc`` of the landing page)."""
    def parameter(name, where, schema, description, required=False, style=None):
        out = {"name": name, "in": where, "required": required, "schema": schema, "description": description}
        if style:
            out |= {"style": style, "explode": False}
        return out

    limit = parameter("limit", "query", {"type": "integer", "minimum": 1, "maximum": max_limit, "default": 100},
                      f"Features per page (at most {max_limit}; more is answered with {max_limit}).")
    bbox = parameter("bbox", "query", {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
                     "minlon,minlat,maxlon,maxlat in CRS84.", style="form")
    when = parameter("datetime", "query", {"type": "string"}, "RFC 3339 instant or interval ('..' open).")
    after = parameter("after", "query", {"type": "integer", "minimum": 0},
                      "Cursor: the last feature id of the previous page (the `next` link carries it).")
    fmt = parameter("f", "query", {"type": "string", "enum": ["json", "html"]}, "Response format.")
    collection = parameter("collectionId", "path", {"type": "string", "enum": list(COLLECTIONS)}, "Collection.",
                           required=True)
    feature = parameter("featureId", "path", {"type": "integer"}, "Feature id.", required=True)
    ok = {"200": {"description": "OK"}, "400": {"description": "Bad parameter"},
          "401": {"description": "No valid token"}, "404": {"description": "Not found"}}
    geojson = {"200": {"description": "GeoJSON", "content": {"application/geo+json": {"schema": {"type": "object"}}}},
               **{k: v for k, v in ok.items() if k != "200"}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "geoland — OGC API Features", "version": "1.0.0",
                 "description": "Land plots and commune boundaries of geoland. Authorization: Bearer TOKEN."},
        "servers": [{"url": base}],
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "security": [{"token": []}],
        "paths": {
            "/": {"get": {"summary": "Landing page", "parameters": [fmt], "responses": ok}},
            "/conformance": {"get": {"summary": "Conformance classes", "parameters": [fmt], "responses": ok}},
            "/api": {"get": {"summary": "This document", "responses": ok}},
            "/collections": {"get": {"summary": "Collections", "parameters": [fmt], "responses": ok}},
            "/collections/{collectionId}": {"get": {"summary": "A collection", "parameters": [collection, fmt],
                                                    "responses": ok}},
            "/collections/{collectionId}/items": {"get": {
                "summary": "Features", "parameters": [collection, limit, bbox, when, after, fmt],
                "responses": geojson}},
            "/collections/{collectionId}/items/{featureId}": {"get": {
                "summary": "One feature", "parameters": [collection, feature, fmt], "responses": geojson}},
        },
    }
