"""The per-plot tables partitioned by province (issue 19, migration 0019): a province's first plots make its
partitions; every statement a province's run sends reads only that province's partitions (checked with
EXPLAIN on the statements themselves, as the run sent them); an existing database moves in place and back."""

import re

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import event
from sqlalchemy.engine import Engine

from geoland.store import db as store_db
from geoland.store.db import _alembic_config, connect, sqlalchemy_url
from geoland.store.partitions import REGISTER, TABLES, ensure

PARTITION = re.compile(rf"^({'|'.join(TABLES + REGISTER)})_(\d\d|none)$")

# Statements of a province's run that read every province on purpose, and why.
NATIONAL = {
    "max(effective)": "the latest reorganisation with assignments: one index end per partition",
    "FROM geoland.code_conflict": "the code conflicts are kept national (a plot id list each)",
    # the register (certificates, rights, assets) is not partitioned: its links name plots by id, in any province
    # (a certificate or a house over two provinces' plots is checked whole); index look-ups in each partition
    "a certificate of one plot is of one commune": "the register's links",
    "FROM geoland.asset a JOIN geoland.asset_plot ap": "the register's links",
    # a holder is one party by ID number: the spellings of their name written on any plot, in any province
    "JOIN geoland.party_alias a USING (party_id)": "a party's aliases, wherever written",
    # a right on an asset (a house) names no plot: it is kept in the rights of no province (land_right_none)
    "JOIN geoland.land_right r ON r.asset_id = ap.asset_id": "the rights on assets, of no province",
}


def _touched(plan) -> set[str]:
    """The partitions a plan reads; with a plan that ran (EXPLAIN ANALYZE), those it read (a partition pruned at
    run time, by a value from the outer side of a join, never runs)."""
    names = set()

    def walk(node):
        if isinstance(node, dict):
            if node.get("Actual Loops") == 0:
                return
            if "Relation Name" in node:
                names.add(node["Relation Name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(plan)
    return {n for n in names if PARTITION.match(n)}


@pytest.fixture
def two_provinces(db_url, geoland_cli, tmp_path):
    code, _, err = geoland_cli("synth", "--provinces", "2", "--plots-per-province", "300", "--seed", "3",
                               "--out", tmp_path / "vn", "--load")
    assert code == 0, err
    return db_url


def test_a_province_s_plots_make_its_partitions(two_provinces, db_query):
    made = {r[0] for r in db_query(two_provinces, "SELECT c.relname FROM pg_inherits i JOIN pg_class c "
                                                  "ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
                                                  "WHERE p.relname = ANY(:t)", t=list(TABLES + REGISTER))}
    assert made == {f"{t}_{p}" for t in TABLES + REGISTER for p in ("98", "99", "none")}
    # each plot in its province's partition, and nothing in the others
    rows = db_query(two_provinces, "SELECT c.relname, p.province_code, count(*) FROM geoland.plot p "
                                   "JOIN pg_class c ON c.oid = p.tableoid GROUP BY 1, 2 ORDER BY 1")
    assert [(r[0], r[1]) for r in rows] == [("plot_98", "98"), ("plot_99", "99")] and all(r[2] >= 300 for r in rows)
    for table in TABLES[1:]:                 # nothing stored yet beside the plots
        assert db_query(two_provinces, f"SELECT count(*) FROM geoland.{table}") == [(0,)]
    with connect(two_provinces) as conn, pytest.raises(ValueError, match="'9x' is not two digits"):
        ensure(conn, ["9x"])


@pytest.mark.parametrize("split", [False, True], ids=["whole", "split"])
def test_a_province_s_run_reads_only_its_partitions(two_provinces, monkeypatch, tmp_path, split):
    """The province's run whole, and split by old commune (its parts' statements name the province too)."""
    from geoland.pipeline.national import plan_parts, run_province, run_province_in_parts

    plans: dict[str, tuple[str, set[str]]] = {}          # each statement sent, explained where it was sent
    mentions = re.compile(rf"geoland\.({'|'.join(TABLES + REGISTER + ('land_user',))})(_current|_mx)?\b")

    def explain(raw, sql, params):
        made = re.match(r"\s*CREATE TEMP TABLE \w+ (ON COMMIT DROP )?AS\s+(?=SELECT|WITH)", sql, re.I)
        sql = sql[made.end():] if made else sql           # a table made of a query: the query's reads
        if not mentions.search(sql) or sql.lstrip().upper().startswith(("CREATE", "DROP", "LOCK", "ANALYZE")):
            return
        query = psycopg.ClientCursor(raw).mogrify(sql, params) if params else sql
        if query not in plans:
            # a read runs (EXPLAIN ANALYZE: which partitions it really reads); a write is only planned
            reads = sql.lstrip().upper().startswith(("SELECT", "WITH")) and " FOR UPDATE" not in sql.upper()
            with raw.cursor() as cur:
                cur.execute(f"EXPLAIN ({'ANALYZE, ' if reads else ''}FORMAT JSON) {query}")
                plans[query] = (sql, _touched(cur.fetchone()[0]))

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        explain(cursor.connection, statement, parameters)
    copy_out = store_db._copy_out

    def explained_copy_out(conn, sql, params, **kwargs):
        explain(conn.connection.driver_connection, sql, params)
        return copy_out(conn, sql, params, **kwargs)
    monkeypatch.setattr(store_db, "_copy_out", explained_copy_out)
    event.listen(Engine, "before_cursor_execute", on_execute)
    try:
        if split:
            parts = plan_parts(two_provinces, "99", 120)
            assert len(parts) >= 2
            done = run_province_in_parts(two_provinces, "99", str(tmp_path / "out"), parts)
        else:
            done = run_province(two_provinces, "99", str(tmp_path / "out"))
    finally:
        event.remove(Engine, "before_cursor_execute", on_execute)
    assert done["plots"] >= 300 and set(done) >= {"reassign", "codes", "recode", "check", "export"}

    national, checked, wider, read = set(), 0, [], set()
    for sql, touched in plans.values():
        why = [k for k in NATIONAL if k in sql]
        if why:
            national.update(why)
            continue
        checked += 1
        read |= touched
        if not touched <= {f"{t}_99" for t in TABLES + REGISTER}:
            wider.append(f"{sorted(touched)}: {' '.join(sql.split())[:300]}")
    assert not wider, "\n".join(wider)
    # every engine's statements, every table (the assets' links are read by the statements named in NATIONAL)
    assert checked >= 10 and read == {f"{t}_99" for t in TABLES + REGISTER if t != "asset_plot"}
    assert national <= set(NATIONAL)


def test_the_store_moves_in_place_and_back(load_province, db_url, db_query, geoland_cli):
    load_province("99", n_plots=300)
    engine = sa.create_engine(sqlalchemy_url(db_url))

    def digest(table, columns):
        return db_query(db_url, f"SELECT count(*), md5(string_agg(({columns})::text, '|' ORDER BY {columns})) "
                                f"FROM geoland.{table}")

    columns = {"plot": "id, province_code, old_commune_code, sheet, plot_number, ST_AsEWKB(geom)",
               "plot_code": "plot_id, code, job_id", "finding": "id, plot_id, type, value, related, closed_by",
               "plot_assignment": "plot_id, effective, job_id, commune_code, status",
               "mx_crosswalk": "plot_id, effective, old_code, new_code",
               # the register's rows naming a plot (0020): a right, a certificate's plot, an alias
               "land_right": "id, party_id, plot_id, asset_id, role, certificate_id",
               "certificate_plot": "certificate_id, plot_id", "party_alias": "party_id, plot_id, name"}
    for args in (("reassign",), ("codes", "issue"), ("recode", "--policy", "prefix"), ("check",)):
        code, _, err = geoland_cli(*args)
        assert code == 0, err
    before = {t: digest(t, c) for t, c in columns.items()}
    assert all(d[0][0] > 0 for d in before.values())

    def to(revision):
        with connect(db_url, migrated=False) as conn:
            (command.downgrade if revision != "head" else command.upgrade)(_alembic_config(conn), revision)

    to("0018")                                               # plain tables, as before issue 19
    assert db_query(db_url, "SELECT relkind FROM pg_class WHERE oid = 'geoland.plot'::regclass") == [("r",)]
    assert {t: digest(t, c) for t, c in columns.items()} == before
    to("head")                                               # and in place again
    assert db_query(db_url, "SELECT relkind FROM pg_class WHERE oid = 'geoland.plot'::regclass") == [("p",)]
    assert {t: digest(t, c) for t, c in columns.items()} == before
    for table in ("finding", "land_right", "certificate_plot", "party_alias"):
        assert db_query(db_url, f"SELECT DISTINCT c.relname FROM geoland.{table} f JOIN pg_class c "
                                "ON c.oid = f.tableoid") == [(f"{table}_99",)], table
    # the sequence still gives the next plot its own id
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT nextval('geoland.plot_id_seq') > max(id) FROM geoland.plot")).scalar()
        assert conn.execute(sa.text("SELECT nextval('geoland.land_right_id_seq') > max(id) "
                                    "FROM geoland.land_right")).scalar()
    engine.dispose()


def test_bulk_mode_builds_the_partitions_indexes_again(two_provinces, db_query):
    from geoland.pipeline.plots import BULK_TABLES, drop_for_bulk, restore_after_bulk

    def indexes():
        return db_query(two_provinces, "SELECT c.relname, i.indisvalid FROM pg_index i "
                                       "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
                                       "WHERE t.relname IN ('plot', 'plot_98', 'plot_99', 'plot_none') ORDER BY 1")
    before = indexes()
    assert len(before) >= 4 * 4 and all(valid for _, valid in before)    # parent and partitions, each valid
    with connect(two_provinces) as conn:
        dropped = drop_for_bulk(conn, BULK_TABLES)
        assert conn.execute(sa.text("SELECT count(*) FROM pg_indexes WHERE tablename = 'plot_99'")).scalar() == 1
        restore_after_bulk(conn, dropped)
    assert indexes() == before


def test_a_province_s_check_reads_the_same_plots_by_plot_or_whole(two_provinces):
    """A province's check joins its holders and certificates whole; a quick re-check looks them up plot by plot;
    the rows are the same, and the holder is the land_user view's."""
    from geoland.pipeline.quality import _PLOTS, _PLOTS_BY_PLOT, COLUMNS
    from geoland.store.db import read_columns

    with connect(two_provinces) as conn:
        # a plot's first holder written otherwise on it (an alias), and a second holder after them
        plot, party = conn.execute(sa.text("SELECT plot_id, party_id FROM geoland.land_right WHERE province_code = "
                                           "'99' AND plot_id IS NOT NULL ORDER BY id LIMIT 1")).one()
        conn.execute(sa.text("DELETE FROM geoland.party_alias WHERE plot_id = :p"), {"p": plot})
        conn.execute(sa.text("INSERT INTO geoland.party_alias (party_id, name, plot_id, province_code) "
                             "VALUES (:y, 'Tên Viết Khác', :p, '99')"), {"y": party, "p": plot})
        second = conn.execute(sa.text("INSERT INTO geoland.party (kind) VALUES ('individual') RETURNING id")).scalar()
        conn.execute(sa.text("INSERT INTO geoland.party_personal (party_id, name) VALUES (:y, 'Người Thứ Hai')"),
                     {"y": second})
        conn.execute(sa.text("INSERT INTO geoland.land_right (party_id, plot_id, role, province_code) "
                             "VALUES (:y, :p, 'co_user', '99')"), {"y": second, "p": plot})
    with connect(two_provinces) as conn:
        params = {"effective": None, "provinces": ["99"]}
        whole = read_columns(conn, _PLOTS, params, COLUMNS)
        by_plot = read_columns(conn, _PLOTS_BY_PLOT, params, COLUMNS)
        view = read_columns(conn, "SELECT p.id, u.name, u.id_number, u.birth_year FROM geoland.plot p "
                                  "LEFT JOIN geoland.land_user u ON u.plot_id = p.id WHERE p.province_code = '99' "
                                  "ORDER BY p.id", {}, ["plot_id", "user_name", "id_number", "birth_year"])
    assert len(whole) >= 300 and whole["user_name"].notna().sum() > 100 and whole["id_number"].notna().sum() > 100
    assert whole.equals(by_plot)
    # the holder each read gives is the land_user view's (the plot's first right, its spelling on the plot)
    holder = ["plot_id", "user_name", "id_number", "birth_year"]
    assert whole[holder].reset_index(drop=True).equals(view[holder])
    assert whole.loc[whole["plot_id"] == plot, "user_name"].item() == "Tên Viết Khác"


def test_a_province_s_priority_is_its_plot_count(two_provinces, db_query):
    from geoland.pipeline.national import province_sizes

    db_query(two_provinces, "DELETE FROM geoland.plot WHERE province_code = '98' AND id % 3 <> 0 RETURNING id")
    with connect(two_provinces) as conn:
        conn.execute(sa.text("ANALYZE geoland.plot"))
    sizes = province_sizes(two_provinces, ["98", "99"])
    counts = dict(db_query(two_provinces, "SELECT province_code, count(*) FROM geoland.plot GROUP BY 1"))
    assert sizes == counts and sizes["99"] > 2 * sizes["98"]      # the Dask priority of each province's task
