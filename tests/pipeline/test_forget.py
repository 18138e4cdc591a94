"""Undo and redo an import (issue 15, item 4): `plots forget` removes an import's plots and what was derived
from them, with a record; `plots import --replace` imports a file again in place of its earlier import; an
identification code once issued is retired, never given to another plot, and given back to the same plot."""

import json

import geopandas as gpd
import pandas as pd
import psycopg
import pytest

from geoland.store.jobs import lock_key

DERIVED = {"plot": "SELECT count(*) FROM geoland.plot",
           "land_user": "SELECT count(*) FROM geoland.land_user",
           "plot_code": "SELECT count(*) FROM geoland.plot_code",
           "plot_assignment": "SELECT count(*) FROM geoland.plot_assignment",
           "mx_crosswalk": "SELECT count(*) FROM geoland.mx_crosswalk",
           "finding": "SELECT count(*) FROM geoland.finding"}


def _counts(db_query, url):
    return {table: db_query(url, sql)[0][0] for table, sql in DERIVED.items()}


def _codes(db_query, url):
    return sorted(r[0] for r in db_query(url, "SELECT code FROM geoland.plot_code"))


def _codes_by_mx(db_query, url):
    return dict(db_query(url, "SELECT p.legacy_mx, c.code FROM geoland.plot_mx p "
                              "JOIN geoland.plot_code c ON c.plot_id = p.id"))


@pytest.fixture
def worked(load_province, geoland_cli, db_url):
    """A province imported, reassigned, recoded, coded and checked: everything derived from its plots."""
    _, plots = load_province("99", n_plots=300)
    for args in (("reassign", "--province", "99"), ("recode", "--province", "99", "--policy", "renumber"),
                 ("codes", "issue", "--province", "99"), ("check", "--province", "99")):
        code, _, err = geoland_cli(*args)
        assert code == 0, (args, err)
    return plots


def test_forget_removes_the_plots_and_what_was_derived_keeping_a_record(worked, db_url, db_query, db_snapshot,
                                                                       geoland_cli):
    before = _counts(db_query, db_url)
    assert all(before.values()), before                       # every derived table holds rows of the import
    codes = _codes(db_query, db_url)
    snap = db_snapshot(db_url)
    code, out, err = geoland_cli("plots", "forget", "1", "--dry-run", "--json")
    assert code == 0, err
    dry = json.loads(out)
    assert dry["plots"] == before["plot"] and dry["codes_retired"] == before["plot_code"] and dry["job_id"] is None
    assert db_snapshot(db_url) == snap                         # a dry run changes nothing

    code, out, err = geoland_cli("plots", "forget", "1")
    assert code == 0, err
    assert "forgot import 1" in out and f"{before['plot']:,} plots" in out
    assert set(_counts(db_query, db_url).values()) == {0}
    kept = db_query(db_url, "SELECT mx, code, new_mx, commune_code FROM geoland.forgotten_plot")
    assert len(kept) == before["plot"]
    assert sorted(c for _, c, _, _ in kept if c) == codes         # every code retired with its plot's map code
    assert all(new_mx and commune for _, _, new_mx, commune in kept)
    assert db_query(db_url, "SELECT forgotten_by IS NOT NULL FROM geoland.plot_import WHERE id = 1") == [(True,)]
    assert db_query(db_url, "SELECT count(*) FROM geoland.audit_event WHERE action = 'plots.import_forgotten'"
                            " AND entity_id = '1'") == [(1,)]
    _, out, _ = geoland_cli("plots", "imports")
    assert "forgotten by" in out and "job" in out.splitlines()[-1]
    code, _, err = geoland_cli("plots", "forget", "1")
    assert code != 0 and "forgotten already" in err
    code, _, err = geoland_cli("plots", "forget", "42")
    assert code != 0 and "no import 42" in err


def test_replace_imports_again_and_the_same_plots_get_their_codes_back(worked, db_url, db_query, geoland_cli,
                                                                       tmp_path):
    codes = _codes(db_query, db_url)
    by_mx = _codes_by_mx(db_query, db_url)
    ids_before = {r[0] for r in db_query(db_url, "SELECT id FROM geoland.plot")}
    path = tmp_path / "province-99" / "plots.gpkg"
    code, out, err = geoland_cli("plots", "import", path, "--province", "99")
    assert code == 0 and "nothing changed" in out and "--replace" in out
    code, out, err = geoland_cli("plots", "import", path, "--replace", "--json")      # other options: no --province
    assert code == 0, err
    report = json.loads(out)
    assert report["import_id"] == 2 and [r["import_id"] for r in report["replaced"]] == [1]
    assert report["imported"] == len(ids_before)
    assert not ids_before & {r[0] for r in db_query(db_url, "SELECT id FROM geoland.plot")}     # new plots
    for args in (("reassign", "--province", "99"), ("codes", "issue", "--province", "99", "--json")):
        code, out, err = geoland_cli(*args)
        assert code == 0, err
    issued = json.loads(out)
    assert issued["reinstated"] == len(codes) and issued["withheld_retired"] == 0
    assert _codes(db_query, db_url) == codes and _codes_by_mx(db_query, db_url) == by_mx
    assert db_query(db_url, "SELECT count(*) FROM geoland.forgotten_plot WHERE reinstated_plot_id IS NOT NULL "
                            "AND reinstated_by IS NOT NULL") == [(len(codes),)]


def test_a_retired_code_is_never_issued_to_another_plot(worked, db_url, db_query, geoland_cli, tmp_path):
    codes = _codes(db_query, db_url)
    assert geoland_cli("plots", "forget", "1")[0] == 0
    # One forgotten plot lay elsewhere (a metre off): the plot coming now has its code but is not that plot.
    retired = codes[0]
    db_query(db_url, "UPDATE geoland.forgotten_plot SET geom = ST_Translate(geom, 1, 0) WHERE code = :c "
                     "RETURNING plot_id", c=retired)
    code, _, err = geoland_cli("plots", "import", tmp_path / "province-99" / "plots.gpkg", "--province", "99")
    assert code == 0, err
    code, out, err = geoland_cli("codes", "issue", "--province", "99", "--json")
    assert code == 0, err
    issued = json.loads(out)
    assert issued["withheld_retired"] == 1 and issued["reinstated"] == len(codes) - 1
    assert issued["conflicts"]["retired_code"] == 1
    assert _codes(db_query, db_url) == codes[1:]                    # every code back but the one
    code, out, _ = geoland_cli("codes", "issue", "--province", "99", "--json")      # again: still withheld
    assert json.loads(out)["issued"] == 0 and retired not in _codes(db_query, db_url)


def _office(frame):
    return frame.rename(columns={"commune_code": "MAXA", "sheet": "SHBANDO", "plot_number": "SOTHUA"})


def test_a_replace_that_fails_leaves_the_earlier_import(worked, db_url, db_query, db_snapshot, geoland_cli,
                                                        tmp_path):
    # A second file shares 20 plots with the first and brings 30 of its own (import 2) ...
    part = tmp_path / "mot_phan.geojson"
    others = worked.plots.iloc[20:50].copy()
    others["geometry"] = others.geometry.translate(0, 5_000)
    others["plot_number"] = others["plot_number"] + 10_000
    _office(gpd.GeoDataFrame(pd.concat([worked.plots.iloc[:20], others]), crs=worked.plots.crs)).to_file(part)
    assert geoland_cli("plots", "import", part)[0] == 0
    snap = db_snapshot(db_url)
    # ... is fixed in place to hold only the shared ones: replacing import 2 forgets it, then the new import is
    # refused as a copy of import 1, and the forgetting is undone with it.
    part.unlink()
    _office(worked.plots.iloc[:20]).to_file(part)
    code, _, err = geoland_cli("plots", "import", part, "--replace")
    assert code != 0 and "already stored by import 1" in err
    assert db_snapshot(db_url) == snap
    assert db_query(db_url, "SELECT count(*) FROM geoland.plot WHERE import_id = 2") == [(50,)]
    other = tmp_path / "khac.geojson"                         # another file: neither its content nor its path
    _office(worked.plots.iloc[:10]).to_file(other)
    code, _, err = geoland_cli("plots", "import", other, "--replace")
    assert code != 0 and "nothing to replace" in err
    assert db_snapshot(db_url) == snap


def test_forget_waits_for_no_batch_job(worked, db_url, db_snapshot, geoland_cli):
    snap = db_snapshot(db_url)
    with psycopg.connect(db_url.replace("+psycopg", ""), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (lock_key("codes.issue", "99"),))   # a code issue running
        code, _, err = geoland_cli("plots", "forget", "1")
    assert code != 0 and "codes.issue is running for province 99" in err
    assert db_snapshot(db_url) == snap
