"""The register's migration (0015) keeps every value of a database built by the previous schema (issue 16):
each land user becomes a party (one per ID number, other spellings kept as aliases), each certificate serial a
certificate linking its plots, each holder a right; `land_user` reads the same afterwards; and back."""

import json

import sqlalchemy as sa
from alembic import command

from geoland.store.db import _alembic_config, connect, head_revision

LAND_USER = "SELECT plot_id, name, id_number, birth_year, extra::text FROM geoland.land_user ORDER BY plot_id"


def _to(url, revision):
    with connect(url, migrated=False) as conn:
        (command.downgrade if revision != "head" else command.upgrade)(_alembic_config(conn), revision)


def test_the_register_migration_keeps_every_value(load_province, db_url, db_query):
    load_province("99", n_plots=400)
    _to(db_url, "0014")                                          # the previous schema, with its data
    ids = [r[0] for r in db_query(db_url, "SELECT id FROM geoland.plot WHERE certificate_serial IS NOT NULL "
                                               "ORDER BY id LIMIT 4")]
    # what real registers hold: one person written two ways on two plots, personal extras, a row with nothing
    db_query(db_url, "UPDATE geoland.land_user SET id_number = '001090000001', name = 'Lò Văn Pọm', birth_year = 1970 "
                     "WHERE plot_id = :a RETURNING plot_id", a=ids[0])
    db_query(db_url, "UPDATE geoland.land_user SET id_number = '001090000001', name = 'LÒ VĂN PỌM', birth_year = 1971, "
                     "extra = '{\"DIACHI\": \"Bản Hụm\"}' WHERE plot_id = :b RETURNING plot_id", b=ids[1])
    db_query(db_url, "UPDATE geoland.land_user SET id_number = NULL, name = NULL, birth_year = NULL WHERE plot_id = :c "
                     "RETURNING plot_id", c=ids[2])
    db_query(db_url, "UPDATE geoland.plot SET certificate_serial = (SELECT certificate_serial FROM geoland.plot "
                     "WHERE id = :a) WHERE id = :d RETURNING id", a=ids[0], d=ids[3])    # one certificate, two plots
    before = db_query(db_url, LAND_USER)
    serials = dict(db_query(db_url, "SELECT id, certificate_serial FROM geoland.plot"))
    _to(db_url, "head")

    held = [r for r in before if any(v is not None for v in r[1:4]) or json.loads(r[4])]
    assert db_query(db_url, LAND_USER) == held                  # every value, as written on each plot
    assert len(held) == len(before) - 1                          # only the row naming nobody has no holder
    numbers = {r[2] for r in held if r[2]}
    assert db_query(db_url, "SELECT count(*) FROM geoland.party_personal WHERE id_number IS NOT NULL") == \
        [(len(numbers),)]                                        # one party per ID number
    assert db_query(db_url, "SELECT count(*) FROM geoland.party") == [(len(numbers) + sum(1 for r in held
                                                                                          if not r[2]),)]
    assert db_query(db_url, "SELECT count(DISTINCT party_id) FROM geoland.land_right WHERE plot_id IN (:a, :b)",
                    a=ids[0], b=ids[1]) == [(1,)]
    assert db_query(db_url, "SELECT name, birth_year FROM geoland.party_alias WHERE plot_id = :b", b=ids[1]) == \
        [("LÒ VĂN PỌM", 1971)]
    links = db_query(db_url, "SELECT p.plot_id, c.series FROM geoland.certificate_plot p JOIN geoland.certificate c "
                             "ON c.id = p.certificate_id")
    assert dict(links) == {k: v for k, v in serials.items() if v}  # every serial, on its plots
    assert db_query(db_url, "SELECT count(*) FROM geoland.certificate_plot WHERE certificate_id = (SELECT "
                            "certificate_id FROM geoland.certificate_plot WHERE plot_id = :a)", a=ids[0]) == [(2,)]
    assert db_query(db_url, "SELECT count(*) FROM geoland.land_right WHERE certificate_id IS NULL AND plot_id IN "
                            "(SELECT plot_id FROM geoland.certificate_plot)") == [(0,)]

    _to(db_url, "0014")                                          # and back: one holder per plot, as written
    assert db_query(db_url, LAND_USER) == held
    _to(db_url, "head")
    with sa.create_engine(db_url).connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM geoland.alembic_version")).scalar() == head_revision()
