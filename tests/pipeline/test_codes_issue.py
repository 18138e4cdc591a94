"""`geoland codes issue` on PostGIS: issue-once, conflicts, one job at a time, a killed job resumes."""

import json

import shapely

from identifiers.plotcode import plot_identification_codes


def _stored(db_query, url):
    return db_query(url, "SELECT p.id, c.code, ST_SRID(p.geom), ST_AsBinary(p.geom) FROM geoland.plot p "
                         "LEFT JOIN geoland.plot_code c ON c.plot_id = p.id ORDER BY p.id")


def test_issue_once_and_conflicts(db_url, load_province, geoland_cli, db_query, tmp_path):
    _, synthetic = load_province("99", n_plots=1500)
    code, out, err = geoland_cli("codes", "issue", "--province", "99", "--json")
    assert code == 0, err
    report = json.loads(out)
    rows = _stored(db_query, db_url)
    assert report["issued"] == report["with_code"] == len(rows) and all(r[1] for r in rows)
    # Each stored code is the scheme's code of the stored polygon (recomputed independently of the job).
    geoms = shapely.from_wkb([bytes(r[3]) for r in rows])
    assert list(plot_identification_codes(geoms, "EPSG:9206")) == [r[1] for r in rows]
    # Issue-once: a plot edited afterwards keeps its code, and the code's cell leaving the plot is a conflict.
    edited = rows[0][0]
    db_query(db_url, "UPDATE geoland.plot SET geom = ST_Translate(geom, 5000, 0) WHERE id = :i RETURNING id", i=edited)
    # The same plots imported again from another file: every code now appears twice.
    synthetic.plots.iloc[:10].to_file(tmp_path / "again.gpkg")
    assert geoland_cli("plots", "import", tmp_path / "again.gpkg", "--province", "99")[0] == 0
    code, out, err = geoland_cli("codes", "issue", "--province", "99", "--json")
    second = json.loads(out)
    assert code == 0 and second["issued"] == 10
    assert db_query(db_url, "SELECT code FROM geoland.plot_code WHERE plot_id = :i", i=edited) == [(rows[0][1],)]
    conflicts = db_query(db_url, "SELECT kind, plot_ids FROM geoland.code_conflict ORDER BY kind, code")
    kinds = [k for k, _ in conflicts]
    assert kinds.count("duplicate_code") == 10 and ("cell_outside_plot", [edited]) in conflicts
    assert all(len(ids) == 2 for k, ids in conflicts if k == "duplicate_code")       # both plots kept
    assert second["conflicts"] == {"duplicate_code": 10, "cell_outside_plot": 1}


def test_second_job_on_the_same_province_is_refused(db_url, load_province, geoland_cli, running_job):
    load_province("99", n_plots=300)
    with running_job("codes.issue", "99", "lan"):
        code, _, err = geoland_cli("codes", "issue", "--province", "99")
        assert code == 1 and "already running for province 99 as job " in err and "(lan, since" in err
    code, out, _ = geoland_cli("codes", "issue", "--province", "99", "--json")
    assert code == 0 and json.loads(out)["resumed"]                 # the dead job is marked and resumed


def test_killed_job_resumes_to_the_uninterrupted_result(db_url, load_province, db_query, kill_and_resume):
    load_province("99", n_plots=60_000)
    total = db_query(db_url, "SELECT count(*) FROM geoland.plot")[0][0]
    partial, copy_url = kill_and_resume(["codes", "issue", "--province", "99"],
                                        "SELECT count(*) FROM geoland.plot_code", 5000)
    assert 0 < partial < total, "the job was not killed in the middle"
    resumed = db_query(db_url, "SELECT plot_id, code FROM geoland.plot_code ORDER BY plot_id")
    straight = db_query(copy_url, "SELECT plot_id, code FROM geoland.plot_code ORDER BY plot_id")
    assert resumed == straight and len(resumed) == total                # none lost, none twice
    states = db_query(db_url, "SELECT state, message FROM geoland.job WHERE kind = 'codes.issue' ORDER BY id")
    assert states == [("failed", "interrupted"), ("succeeded", None)]
