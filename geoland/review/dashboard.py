"""The province dashboard: the campaign's categories per commune, their totals and the communes' map.

The numbers are those of the latest check of each commune (``campaign_progress``, written by every
``geoland check``), so the page reads a few hundred rows whatever the number of plots: it is the same count as
the report's and the progress page's. A correction re-checks its plot at once (the commune page's list is live);
the dashboard's numbers move with the next check (nightly, see the README's cron line), and the page says which
check it shows.

The map: the new communes' boundaries, simplified in PostGIS to about 20 m (a display, not a survey) with
coordinates to 5 decimals (≈ 1 m), each with its counts, so that the page colours them by the share of plots
missing data or in conflict, switchable.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geoland.pipeline.assignments import latest_effective
from geoland.pipeline.progress import COUNTS
from geoland.pipeline.report import UNASSIGNED

SIMPLIFY_DEGREES = 0.0002          # ≈ 20 m at 21° N
CATEGORIES = ("plots", "full_data", "authenticated", "incorrect", "unverifiable", "missing_1_plus", "missing",
              "conflict")


def province_dashboard(conn: Connection, communes: tuple[str, ...] | None = None) -> dict:
    """The dashboard's rows (one per commune, latest check), the province's totals and the communes' map.

    Parameters
    ----------
    conn : Connection
        An open connection.
    communes : tuple of str, optional
        Only these communes (an editor's); all when None.

    Returns
    -------
    dict
        ``communes`` (list of dict: ``commune_code``, ``name``, ``checked_at``, :data:`CATEGORIES`),
        ``total`` (the sums), ``checked_at`` (the latest check shown), ``geojson`` (FeatureCollection text, the
        communes with rows), ``effective``.
    """
    effective = latest_effective(conn)
    mine = list(communes) if communes is not None else None
    rows = [dict(r) for r in conn.execute(sa.text(f"""
        SELECT DISTINCT ON (g.commune_code) g.commune_code, g.recorded_at AS checked_at,
               {', '.join(f'g.{c}' for c in COUNTS)}
        FROM geoland.campaign_progress g
        WHERE CAST(:c AS text[]) IS NULL OR g.commune_code = ANY(CAST(:c AS text[]))
        ORDER BY g.commune_code, g.job_id DESC"""), {"c": mine}).mappings()]
    codes = [r["commune_code"] for r in rows if r["commune_code"] != UNASSIGNED]
    features, names = [], {}
    if codes and effective is not None:
        for code, name, geometry in conn.execute(sa.text("""
                SELECT b.code, b.name, ST_AsGeoJSON(ST_SimplifyPreserveTopology(b.geom, :tol), 5)
                FROM geoland.unit_boundary b JOIN geoland.boundary_layer l ON l.id = b.layer_id
                WHERE l.effective = :e AND l.superseded_by IS NULL AND b.code = ANY(:codes)
                ORDER BY b.code"""), {"tol": SIMPLIFY_DEGREES, "e": effective, "codes": codes}):
            names[code] = name
            features.append((code, name, geometry))
        unit_names = dict(conn.execute(sa.text("""
            SELECT code, name FROM geoland.admin_unit WHERE level = 'commune' AND code = ANY(:codes)
              AND coalesce(valid_from, '-infinity') <= :e AND coalesce(valid_to, 'infinity') > :e"""),
            {"codes": codes, "e": effective}).all())
        names = unit_names | {k: v for k, v in names.items() if k not in unit_names}
    by_code = {r["commune_code"]: r for r in rows}
    for r in rows:
        r["name"] = names.get(r["commune_code"])
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": json.loads(geometry),
         "properties": {"code": code, "name": names.get(code) or name,
                        **{c: int(by_code[code][c]) for c in CATEGORIES}}}
        for code, name, geometry in features]}
    total = {c: sum(int(r[c]) for r in rows) for c in CATEGORIES}
    return {"communes": rows, "total": total, "geojson": json.dumps(collection, ensure_ascii=False,
                                                                     separators=(",", ":")),
            "checked_at": max((r["checked_at"] for r in rows), default=None), "effective": effective,
            "drawn": len(features)}
