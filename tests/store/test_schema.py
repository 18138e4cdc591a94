"""Rules the schema itself enforces."""

import pytest
import sqlalchemy as sa

from geoland.store.db import sqlalchemy_url


def _exec(url, sql):
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            return conn.execute(sa.text(sql))
    finally:
        engine.dispose()


def test_audit_is_append_only(db_url):
    _exec(db_url, "INSERT INTO geoland.audit_event (actor, action) VALUES ('lan', 'test')")
    for sql in ("UPDATE geoland.audit_event SET actor = 'x'", "DELETE FROM geoland.audit_event",
                "TRUNCATE geoland.audit_event"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            _exec(db_url, sql)


def test_a_code_cannot_have_two_overlapping_periods(db_url):
    _exec(db_url, "INSERT INTO geoland.admin_unit (level, code, name, valid_to) "
                  "VALUES ('commune', '03646', 'Phường Chiềng Lề', '2025-07-01')")
    _exec(db_url, "INSERT INTO geoland.admin_unit (level, code, name, valid_from) "
                  "VALUES ('commune', '03646', 'Phường Tô Hiệu', '2025-07-01')")
    with pytest.raises(sa.exc.IntegrityError, match="exclu"):
        _exec(db_url, "INSERT INTO geoland.admin_unit (level, code, name, valid_from, valid_to) "
                      "VALUES ('commune', '03646', 'X', '2025-06-01', '2025-08-01')")
    with pytest.raises(sa.exc.IntegrityError, match="check"):
        _exec(db_url, "INSERT INTO geoland.admin_unit (level, code, name) VALUES ('commune', '3646A', 'X')")


def test_every_tm3_zone_transforms_in_postgis(db_url):
    from boundaries.crs import TM3_ZONES

    srids = ", ".join(str(s) for s in TM3_ZONES)
    rows = _exec(db_url, f"SELECT count(*) FROM spatial_ref_sys WHERE srid IN ({srids})").scalar()
    assert rows == len(TM3_ZONES)
    for srid, lon0 in TM3_ZONES.items():
        x = _exec(db_url, f"SELECT ST_X(ST_Transform(ST_SetSRID(ST_Point({lon0}, 16), 4756), {srid}))").scalar()
        assert x == pytest.approx(500_000, abs=0.01)     # on its central meridian: false easting
