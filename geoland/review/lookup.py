"""``geoland codes lookup``: any identification code, or any current or past MX.SB.ST code → the plot."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geoland.errors import GeolandError
from identifiers.geohash import InvalidGeohashError, validate
from identifiers.mx import InvalidMXError, parse_mx


def lookup_code(conn: Connection, code: str, *, at: dt.date | None = None) -> dict:
    """The plots a code names. A legacy MX.SB.ST code is read as the map's code before the reorganisation
    and as a recoded one from it on; ``at`` picks one reading where a reused commune code makes both exist.
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
            raise GeolandError(f"{code!r} is neither a 12-character identification code nor an MX.SB.ST code "
                               "(e.g. 03646.25.112)") from None
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
        raise GeolandError(f"no plot has code {code}" + (f" on {at}" if at else ""))
    return {"code": code, "at": at.isoformat() if at else None,
            "plots": [plot_record(conn, plot_id) | {"matched_as": how} for plot_id, how in matches]}


def plot_record(conn: Connection, plot_id: int) -> dict:
    """A plot's codes, commune and code history (no personal data)."""
    plot = conn.execute(sa.text("""
        SELECT p.id, p.province_code, p.old_commune_code, p.sheet, p.plot_number, p.area_m2, p.land_use,
               c.code AS identification_code, i.source
        FROM geoland.plot p LEFT JOIN geoland.plot_code c ON c.plot_id = p.id
        JOIN geoland.plot_import i ON i.id = p.import_id WHERE p.id = :i"""), {"i": plot_id}).mappings().one()
    legacy = (f"{plot['old_commune_code']}.{plot['sheet']}.{plot['plot_number']}"
              if plot["old_commune_code"] and plot["sheet"] and plot["plot_number"] else None)
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
    }


def _plain(row) -> dict:
    """A database row as JSON-ready values (dates and times as ISO text)."""
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
