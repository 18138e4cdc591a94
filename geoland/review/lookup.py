"""Finding plots: by code, by point, by bounding box; one plot's page.

Finding plots: by any identification code, current or past MX.SB.ST code or certificate series
(``geoland codes lookup``, ``/api/plots/<code>``), by a WGS 84 point (``/api/plots?lon=&lat=``), by a
bounding box (the OGC API
Features items), and one plot's page with its land user (masked unless the caller may see it).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geoland.errors import InvalidInput, NotFound
from geoland.review.findings import plot_findings
from geoland.store.jobs import audit
from identifiers.cccd import mask_cccd, mask_name
from identifiers.geohash import InvalidGeohashError, validate
from identifiers.mx import InvalidMXError, parse_mx


def lookup_code(conn: Connection, code: str, *, at: dt.date | None = None) -> dict:
    """The plots a code names.

    A legacy MX.SB.ST code is read as the map's code before the reorganisation and as a recoded one from it on;
    ``at`` picks one reading where a reused commune code makes both exist.
    """
    code = code.strip()
    matches: list[tuple[int, str]] = []
    try:
        is_geohash = len(code) == 12 and validate(code) == code.lower()
    except InvalidGeohashError:
        is_geohash = False
    if is_geohash:
        matches = [(r[0], "identification code") for r in conn.execute(sa.text(
            "SELECT plot_id FROM geoland.plot_code WHERE code = :c ORDER BY plot_id"), {"c": code.lower()})]
    else:
        try:
            commune, prefix, sheet, number = parse_mx(code)
        except InvalidMXError:
            return _lookup_series(conn, code)
        for plot_id, effective in conn.execute(sa.text(
                "SELECT plot_id, effective FROM geoland.mx_crosswalk WHERE new_code = :c ORDER BY plot_id"),
                {"c": code}):
            if at is None or at >= effective:
                matches.append((plot_id, f"MX.SB.ST from {effective}"))
        if prefix is None:
            for plot_id, until in conn.execute(sa.text(
                    "SELECT p.id, min(x.effective) FROM geoland.plot p LEFT JOIN geoland.mx_crosswalk x "
                    "ON x.plot_id = p.id WHERE p.old_commune_code = :m AND p.sheet = :s AND p.plot_number = :n "
                    "GROUP BY p.id ORDER BY p.id"), {"m": commune, "s": sheet, "n": number}):
                if at is None or until is None or at < until:
                    matches.append((plot_id, "legacy MX.SB.ST" + (f" until {until}" if until else "")))
    if not matches:
        raise NotFound(f"no plot has code {code}" + (f" on {at}" if at else ""))
    return {"code": code, "at": at.isoformat() if at else None,
            "plots": [plot_record(conn, plot_id) | {"matched_as": how} for plot_id, how in matches]}


def _lookup_series(conn: Connection, code: str) -> dict:
    """The plots (and the plots on paper only) of the certificate with this series (số phát hành).

    Compared without spaces and in capitals (``CS 000123``, ``cs000123``).
    """
    compact = "".join(code.split()).upper()
    if not 4 <= len(compact) <= 20 or not compact.isalnum():
        raise InvalidInput(f"{code!r} is neither a 12-character identification code, an MX.SB.ST code "
                           "(e.g. 03646.25.112) nor a certificate series (e.g. CS 000123)")
    found = conn.execute(sa.text(r"""
        SELECT c.id, c.series, c.status, cp.plot_id, NULL::bigint AS paper_id FROM geoland.certificate c
        JOIN geoland.certificate_plot cp ON cp.certificate_id = c.id
        WHERE upper(regexp_replace(c.series, '\s', '', 'g')) = :s
        UNION ALL
        SELECT c.id, c.series, c.status, NULL, cpp.paper_plot_id FROM geoland.certificate c
        JOIN geoland.certificate_paper_plot cpp ON cpp.certificate_id = c.id
        JOIN geoland.paper_plot pp ON pp.id = cpp.paper_plot_id AND pp.plot_id IS NULL
        WHERE upper(regexp_replace(c.series, '\s', '', 'g')) = :s
        ORDER BY 4, 5"""), {"s": compact}).mappings().all()
    if not found:
        raise NotFound(f"no plot has code or certificate series {code}")
    plots = [plot_record(conn, r["plot_id"]) | {"matched_as": f"certificate {r['series']} ({r['status']})"}
             for r in found if r["plot_id"] is not None]
    paper = [dict(conn.execute(sa.text("""SELECT id AS paper_plot_id, province_code, commune_code, sheet, plot_number,
        legal_area_m2, land_use FROM geoland.paper_plot WHERE id = :i"""), {"i": r["paper_id"]}).mappings().one())
        | {"matched_as": f"certificate {r['series']} ({r['status']}): not in the land database yet"}
        for r in found if r["paper_id"] is not None]
    return {"code": code, "at": None, "plots": plots, **({"paper_plots": paper} if paper else {})}


def plot_register(conn: Connection, plot_id: int, *, unmasked: bool = False) -> dict:
    """A plot's land register: its certificates, the holders of rights on it and on its assets, its assets.

    Names and ID numbers are masked unless ``unmasked`` (the caller checks the role and audits the access).
    """
    certificates = [_plain(r) for r in conn.execute(sa.text("""
        SELECT c.series, c.book_number, c.issued_on, c.authority, c.form, c.status, r.series AS replaced_by
        FROM geoland.certificate_plot cp JOIN geoland.certificate c ON c.id = cp.certificate_id
        LEFT JOIN geoland.certificate r ON r.id = c.replaced_by
        WHERE cp.plot_id = :p ORDER BY c.status <> 'valid', c.issued_on DESC NULLS LAST, c.series"""),
        {"p": plot_id}).mappings()]
    holders = [dict(r) for r in conn.execute(sa.text("""
        SELECT r.id AS right_id, y.kind, coalesce(a.name, pp.name) AS name, pp.id_number, r.role,
               r.share_num || '/' || r.share_den AS share, r.purpose, r.term_end, r.origin, c.series AS certificate,
               r.asset_id
        FROM geoland.land_right r JOIN geoland.party y ON y.id = r.party_id
        LEFT JOIN geoland.party_personal pp ON pp.party_id = r.party_id
        LEFT JOIN geoland.party_alias a ON a.party_id = r.party_id AND a.plot_id = r.plot_id
        LEFT JOIN geoland.certificate c ON c.id = r.certificate_id
        WHERE r.plot_id = :p OR r.asset_id IN (SELECT asset_id FROM geoland.asset_plot WHERE plot_id = :p)
        ORDER BY r.asset_id NULLS FIRST, r.id"""), {"p": plot_id}).mappings()]
    if not unmasked:
        people = [h for h in holders if h["kind"] not in ("organisation", "community")]
        for h, name, number in zip(people, mask_name([h["name"] for h in people]),
                                   mask_cccd([h["id_number"] for h in people]), strict=True):
            h["name"], h["id_number"] = name, number
    assets = [_plain(r) for r in conn.execute(sa.text("""
        SELECT a.id AS asset_id, a.kind, a.building, a.floor_area, a.floors, a.year_built, a.structure,
               a.footprint IS NOT NULL AS has_footprint
        FROM geoland.asset a JOIN geoland.asset_plot ap ON ap.asset_id = a.id WHERE ap.plot_id = :p
        ORDER BY a.id"""), {"p": plot_id}).mappings()]
    return {"certificates": certificates, "holders": [_plain(h) for h in holders], "assets": assets}


def plot_record(conn: Connection, plot_id: int) -> dict:
    """A plot's codes, commune, code history and register (names and ID numbers masked)."""
    plot = conn.execute(sa.text("""
        SELECT p.id, p.province_code, p.old_commune_code, p.sheet, p.plot_number, p.area_m2, p.land_use,
               c.code AS identification_code, i.source, p.legacy_mx
        FROM geoland.plot_mx p LEFT JOIN geoland.plot_code c ON c.plot_id = p.id
        JOIN geoland.plot_import i ON i.id = p.import_id WHERE p.id = :i"""), {"i": plot_id}).mappings().one()
    legacy = plot["legacy_mx"]
    codes = conn.execute(sa.text(
        "SELECT effective, old_code, new_code, policy, job_id, reason, recorded_at FROM geoland.mx_crosswalk "
        "WHERE plot_id = :i ORDER BY effective"), {"i": plot_id}).mappings().all()
    communes = conn.execute(sa.text(
        "SELECT effective, commune_code, status, overlap_share, job_id FROM geoland.plot_assignment "
        "WHERE plot_id = :i ORDER BY effective, job_id"), {"i": plot_id}).mappings().all()
    return {
        "plot_id": plot["id"], "identification_code": plot["identification_code"], "legacy_mx": legacy,
        "current_mx": codes[-1]["new_code"] if codes else legacy, "province_code": plot["province_code"],
        "area_m2": round(plot["area_m2"], 2), "land_use": plot["land_use"], "source": plot["source"],
        "code_history": [_plain(r) for r in codes],
        "commune_history": [_plain(r) for r in communes],
        "register": plot_register(conn, plot_id),
    }


def _plain(row) -> dict:
    """A database row as JSON-ready values (dates and times as ISO text)."""
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def plot_detail(conn: Connection, plot_id: int, *, unmasked: bool) -> dict:
    """One plot's fields, code, current commune, land user and findings.

    Parameters
    ----------
    conn : Connection
        An open connection.
    plot_id : int
        The plot.
    unmasked : bool
        Show the land user's name, ID number and birth year in clear (the caller checks the role and
        audits the access); masked otherwise.

    Raises
    ------
    NotFound
        No plot has that id.
    """
    row = conn.execute(sa.text("""
        SELECT p.id, p.province_code, p.old_commune_code, p.sheet, p.plot_number, p.area_m2, p.legal_area_m2,
               p.land_use, p.certificate_serial, p.repaired, p.repair_note, c.code, u.name, u.id_number,
               u.birth_year, a.commune_code, a.status, v.status AS verification
        FROM geoland.plot p LEFT JOIN geoland.plot_code c ON c.plot_id = p.id
        LEFT JOIN geoland.land_user u ON u.plot_id = p.id
        LEFT JOIN geoland.verification v ON v.id_number = u.id_number
        LEFT JOIN LATERAL (SELECT commune_code, status FROM geoland.plot_assignment_current x
                           WHERE x.plot_id = p.id ORDER BY effective DESC LIMIT 1) a ON true
        WHERE p.id = :i"""), {"i": plot_id}).mappings().first()
    if row is None:
        raise NotFound(f"no plot {plot_id}")
    out = dict(row)
    if not unmasked:
        out["name"] = mask_name([row["name"]])[0]
        out["id_number"] = mask_cccd([row["id_number"]])[0]
        out["birth_year"] = None
    out["findings"] = plot_findings(conn, plot_id)
    out["register"] = plot_register(conn, plot_id, unmasked=unmasked)
    return out


def plots_at(conn: Connection, lon: float, lat: float) -> dict:
    """The plots containing a WGS 84 point, and the current commune there.

    The plots containing a WGS 84 point (each in its own TM-3 zone, through the GiST index) and the
    current commune there.
    """
    srids = conn.execute(sa.text("SELECT DISTINCT srid FROM geoland.plot_import")).scalars().all()
    plots = []
    for srid in sorted(set(srids)):
        plots += [dict(r) for r in conn.execute(sa.text("""
            SELECT p.id AS plot_id, c.code AS identification_code, p.area_m2, p.land_use,
                   p.legacy_mx
            FROM geoland.plot_mx p LEFT JOIN geoland.plot_code c ON c.plot_id = p.id
            WHERE p.geom && ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), 4326), :srid)
              AND ST_SRID(p.geom) = :srid
              AND ST_Intersects(p.geom, ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), 4326), ST_SRID(p.geom)))
            ORDER BY p.id"""), {"x": lon, "y": lat, "srid": srid}).mappings()]
    commune = conn.execute(sa.text("""
        SELECT b.code, b.name FROM geoland.unit_boundary b JOIN geoland.boundary_layer l ON l.id = b.layer_id
        WHERE l.superseded_by IS NULL AND l.effective = (SELECT max(effective) FROM geoland.boundary_layer
                                                           WHERE superseded_by IS NULL)
          AND ST_Intersects(b.geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326)) ORDER BY b.code LIMIT 1"""),
        {"x": lon, "y": lat}).mappings().first()
    return {"lon": lon, "lat": lat, "commune": dict(commune) if commune else None, "plots": plots}


VIETNAM_LONLAT = (100.0, 6.0, 112.0, 24.0)      # where VN-2000 TM-3 coordinates are defined


def plot_features(conn: Connection, *, bbox: tuple[float, float, float, float] | None, limit: int,
                  after: int = 0, imports: list[int] | None = None) -> tuple[str, int, int | None]:
    """One page of plots as GeoJSON features in WGS 84 (the OGC API Features items), by keyset.

    A page costs the same wherever it is in the collection and whatever the box: plots are read in id order
    from ``after`` on, never by counting or skipping the pages before it, and with a box along whichever path
    bounds the work (see :func:`_page_ids`). A page can then hold fewer plots than ``limit`` and still have
    a next one; the collection ends where there is no next. PostgreSQL writes the features' JSON itself, so
    that a page costs the web server's Python almost nothing (many pages at once must not slow the look-ups).

    Parameters
    ----------
    conn : Connection
        An open connection.
    bbox : (minlon, minlat, maxlon, maxlat), optional
        Only plots that intersect it.
    limit : int
        Plots per page.
    after : int
        The last plot id of the previous page (0 for the first).
    imports : list of int, optional
        Only the plots of these imports (the ``datetime`` filter: see :func:`geoland.review.ogc.imports_between`).

    Returns
    -------
    (str, int, int or None)
        The features as JSON text, comma-separated (to go between ``[`` and ``]``), how many, and the id to
        continue ``after`` (None on the last page).
    """
    ids, following = _page_ids(conn, bbox, limit, after, imports)
    return (*_features(conn, ids), following)


def plot_feature(conn: Connection, plot_id: int) -> str:
    """One plot as a GeoJSON feature (JSON text), as in :func:`plot_features`.

    Raises
    ------
    NotFound
        No plot has this id.
    """
    text, count = _features(conn, [plot_id])
    if not count:
        raise NotFound(f"no plot {plot_id}")
    return text


def _features(conn: Connection, ids: list[int]) -> tuple[str, int]:
    count, features = conn.execute(sa.text("""
        SELECT count(*), coalesce(string_agg(json_build_object(
                   'type', 'Feature', 'id', p.id,
                   'geometry', ST_AsGeoJSON(ST_Transform(p.geom, 4326), 7)::json,
                   'properties', json_build_object(
                       'plot_id', p.id, 'identification_code', c.code, 'commune_code', a.commune_code,
                       'legacy_mx', p.legacy_mx, 'area_m2', round(p.area_m2::numeric, 1),
                       'land_use', p.land_use))::text, ',' ORDER BY p.id), '')
        FROM geoland.plot_mx p LEFT JOIN geoland.plot_code c ON c.plot_id = p.id
        LEFT JOIN LATERAL (SELECT commune_code FROM geoland.plot_assignment_current x WHERE x.plot_id = p.id
                           ORDER BY effective DESC LIMIT 1) a ON true
        WHERE p.id = ANY(:ids)"""), {"ids": ids}).one()
    return features, count


_IMPORTS = " AND (CAST(:imports AS bigint[]) IS NULL OR import_id = ANY(:imports))"   # datetime filter, if any
DENSE_PLOTS = 60_000      # a box holding more plots than this is paged along the primary key, not the spatial index
WINDOW_PER_PAGE = 50      # along the primary key, at most this many ids per plot asked for are read per page


def _page_ids(conn: Connection, bbox, n: int, after: int, imports=None) -> tuple[list[int], int | None]:
    """The ids of one page (at most ``n``, after ``after``) and where the next page starts (None: no more).

    A page may hold fewer than ``n`` plots and still have a next one: its work is bounded, never the
    collection's size. Per TM-3 zone, one of three reads, whichever is bounded for this box:

    - the box covers all the plots (their estimated extent): the primary key, no spatial test;
    - the box holds few plots (PostGIS's estimate from the column's statistics, ≤ :data:`DENSE_PLOTS`): the
      spatial index, ids sorted, the exact test only on the page's candidates;
    - otherwise: the primary key, a window of ids at a time, each tested.

    The exact test is in the zone's own coordinates, against the box densified (a hundred points a side, at
    least every 0.001°) and projected.
    """
    if bbox is None:
        ids = list(conn.execute(sa.text(f"SELECT id FROM geoland.plot WHERE id > :a{_IMPORTS} ORDER BY id LIMIT :n"),
                                {"a": after, "n": n + 1, "imports": imports}).scalars())
        return ids[:n], (ids[n - 1] if len(ids) > n else None)
    x0, y0 = max(bbox[0], VIETNAM_LONLAT[0]), max(bbox[1], VIETNAM_LONLAT[1])
    x1, y1 = min(bbox[2], VIETNAM_LONLAT[2]), min(bbox[3], VIETNAM_LONLAT[3])
    if x0 > x1 or y0 > y1:
        return [], None
    found: list[int] = []
    bound = None                      # every zone's ids are complete up to here (None: to the end)
    for srid in sorted(set(conn.execute(sa.text("SELECT DISTINCT srid FROM geoland.plot_import")).scalars())):
        ids, upto = _zone_page(conn, (x0, y0, x1, y1), srid, n, after, imports)
        found += ids
        if upto is not None:
            bound = upto if bound is None else min(bound, upto)
    found = sorted(i for i in found if bound is None or i <= bound)
    if len(found) > n:
        return found[:n], found[n - 1]
    return found, bound


def _zone_page(conn: Connection, box, srid: int, n: int, after: int, imports=None) -> tuple[list[int], int | None]:
    """One zone's ids in the box after ``after`` (sorted), and the id up to which they are complete."""
    step = max(0.001, (box[2] - box[0]) / 100, (box[3] - box[1]) / 100)
    zone = conn.execute(sa.text("""
        WITH z AS (SELECT ST_Transform(ST_Segmentize(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326), :step), :srid) g),
             parts AS (SELECT c.oid, c.relname, c.reltuples, EXISTS (
                           SELECT FROM pg_stats WHERE schemaname = 'geoland' AND tablename = c.relname
                           AND attname = 'geom') AS analysed
                       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                       WHERE i.inhparent = 'geoland.plot'::regclass AND c.reltuples <> 0),
             s AS (SELECT count(*) > 0 AND bool_and(analysed) AS analysed, sum(reltuples) AS rows FROM parts)
        SELECT ST_AsEWKB(z.g) AS g, s.rows,
               s.analysed AND ST_Covers(z.g, ST_SetSRID((SELECT ST_Extent(ST_EstimatedExtent('geoland', relname,
                                                         'geom')::geometry) FROM parts)::geometry, :srid)) AS covers,
               CASE WHEN s.analysed THEN (SELECT sum(_postgis_selectivity(oid::regclass, 'geom', z.g) * reltuples)
                                          FROM parts) / s.rows END AS share
        FROM z, s"""), dict(zip(("x0", "y0", "x1", "y1"), box, strict=True), srid=srid, step=step)).mappings().one()
    # The box goes to each query as a constant, so that the planner sees it.
    geom = {"g": bytes(zone["g"]), "srid": srid, "a": after, "n": n + 1, "imports": imports}
    if zone["covers"]:
        ids = list(conn.execute(sa.text(
            f"SELECT id FROM geoland.plot WHERE id > :a AND ST_SRID(geom) = :srid{_IMPORTS} ORDER BY id LIMIT :n"),
            geom).scalars())
        return ids[:n], (ids[n - 1] if len(ids) > n else None)
    share = zone["share"]
    if share is not None and share * zone["rows"] <= DENSE_PLOTS:
        cap = 2 * n + 100
        candidates = list(conn.execute(sa.text(f"""
            SELECT id FROM geoland.plot WHERE geom && ST_GeomFromEWKB(:g) AND id > :a AND ST_SRID(geom) = :srid
              {_IMPORTS} ORDER BY id LIMIT :cap"""), geom | {"cap": cap}).scalars())
        ids = list(conn.execute(sa.text("""
            SELECT id FROM geoland.plot WHERE id = ANY(:ids) AND ST_Intersects(geom, ST_GeomFromEWKB(:g))
            ORDER BY id LIMIT :n"""), geom | {"ids": candidates}).scalars())
        upto = candidates[-1] if len(candidates) == cap else None
    else:
        # A window of ids sized for the box's share of the plots (at most WINDOW_PER_PAGE ids per plot asked).
        window = int(min(WINDOW_PER_PAGE, max(2, 2 / share if share else WINDOW_PER_PAGE)) * n)
        # Along the primary key (OFFSET 0 keeps the planner from mixing in the spatial index, which would read
        # every plot of the box), stopping at the page's end.
        ids = list(conn.execute(sa.text(f"""
            SELECT id FROM (SELECT id, geom FROM geoland.plot WHERE id > :a AND id <= :upto{_IMPORTS} ORDER BY id
                            OFFSET 0) w
            WHERE ST_SRID(geom) = :srid AND geom && ST_GeomFromEWKB(:g) AND ST_Intersects(geom, ST_GeomFromEWKB(:g))
            LIMIT :n"""), geom | {"upto": after + window}).scalars())
        last = conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM geoland.plot")).scalar()
        upto = after + window if after + window < last else None
    if len(ids) > n:
        return ids[:n], ids[n - 1]
    return ids, upto


def record_personal_view(conn: Connection, plot_id: int, *, actor: str, path: str, reason: str = "") -> None:
    """The audit event of someone seeing a plot's land user in clear (name, ID number, birth year)."""
    audit(conn, None, "personal_data.viewed", entity="plot", entity_id=plot_id, actor=actor,
          detail={"path": path, "reason": reason})
