"""`geoland reassign` on PostGIS: dry run, history, idempotence, provinces kept apart, the Sơn La sample."""

import datetime as dt
import json

import geopandas as gpd
import pandas as pd
import shapely

from boundaries.crs import transform_geometries
from geoland.pipeline.assignments import flagged_plots
from geoland.store.db import connect


def test_dry_run_then_run_then_again(db_url, load_province, geoland_cli, db_snapshot, db_query):
    reorg, synthetic = load_province("99", n_plots=3000)
    before = db_snapshot(db_url)
    code, out, err = geoland_cli("reassign", "--province", "99", "--dry-run", "--json")
    assert code == 0, err
    dry = json.loads(out)
    assert dry["dry_run"] and dry["job_id"] is None and dry["changes"]["new"] == dry["plots"] > 2900
    assert db_snapshot(db_url) == before                                     # nothing written
    code, out, err = geoland_cli("reassign", "--province", "99", "--json")
    assert code == 0, err
    first = json.loads(out)
    assert first["written"] == first["plots"] and first["status"] == dry["status"]
    # New communes are exact unions of (pieces of) old ones: only plots of the old communes split between
    # two new ones, and the plots grown by 3 m on purpose, can straddle; none is outside or illegal.
    assert first["status"]["outside"] == 0 and first["legal_mismatch"] == 0 and first["legal_unchecked"] == 0
    split = set(reorg.conversion.loc[reorg.conversion["change"] == "Nhập một phần", "old_commune_code"])
    grown = set(synthetic.truth.loc[synthetic.truth["defects"].str.contains("overlap"), "row"])
    straddlers = db_query(db_url, "SELECT p.old_commune_code, p.source_row FROM geoland.plot_assignment a "
                                  "JOIN geoland.plot p ON p.id = a.plot_id WHERE a.status = 'straddling'")
    assert len(straddlers) == first["status"]["straddling"] > 0
    assert all(code in split or row in grown for code, row in straddlers)
    rows = db_query(db_url, "SELECT plot_id, commune_code, status, overlap_share FROM geoland.plot_assignment_current "
                            "ORDER BY plot_id")
    code, out, _ = geoland_cli("reassign", "--province", "99", "--json")
    second = json.loads(out)
    assert second["written"] == 0 and second["job_id"] is None and second["changes"]["unchanged"] == first["plots"]
    assert db_query(db_url, "SELECT plot_id, commune_code, status, overlap_share FROM "
                            "geoland.plot_assignment_current ORDER BY plot_id") == rows
    assert db_query(db_url, "SELECT count(*) FROM geoland.plot_assignment") == [(first["plots"],)]


def test_text_output_lists_communes_and_changes(db_url, load_province, geoland_cli):
    load_province("99", n_plots=1000)
    code, out, _ = geoland_cli("reassign", "--province", "99", "--dry-run")
    assert code == 0 and "inside" in out and "would be written" in out and "plot " in out


def test_a_second_province_is_untouched(db_url, load_province, geoland_cli, db_query):
    load_province("99", n_plots=1500)
    load_province("98", first_code=80001, origin=(560_000.0, 2_345_000.0), n_plots=1500, seed=1)
    assert geoland_cli("reassign", "--province", "99")[0] == 0
    count_98 = "SELECT count(*) FROM geoland.plot_assignment a JOIN geoland.plot p ON p.id = a.plot_id " \
               "WHERE p.province_code = :p"
    assert db_query(db_url, count_98, p="98") == [(0,)]
    rows_99 = db_query(db_url, "SELECT * FROM geoland.plot_assignment ORDER BY plot_id, job_id")
    code, out, _ = geoland_cli("reassign", "--province", "98", "--json")
    assert code == 0 and json.loads(out)["plots"] == db_query(db_url, "SELECT count(*) FROM geoland.plot "
                                                                      "WHERE province_code = '98'")[0][0]
    assert db_query(db_url, "SELECT * FROM geoland.plot_assignment a WHERE plot_id IN (SELECT id FROM geoland.plot "
                            "WHERE province_code = '99') ORDER BY plot_id, job_id") == rows_99
    codes_98 = {r[0] for r in db_query(db_url, "SELECT DISTINCT commune_code FROM geoland.plot_assignment_current a "
                                               "JOIN geoland.plot p ON p.id = a.plot_id WHERE p.province_code = '98'")}
    assert codes_98 and all(c.startswith("8") for c in codes_98)


def test_a_boundary_change_is_recorded_as_history(db_url, load_province, geoland_cli, db_query, tmp_path):
    reorg, _ = load_province("99", n_plots=2000)
    assert geoland_cli("reassign")[0] == 0
    # A corrected 2025 layer moves one commune's outline 200 m into its neighbour.
    moved = reorg.new.copy()
    a = moved.index[0]
    b = next(j for j in moved.index[1:] if moved.geometry[j].touches(moved.geometry[a]))
    shift = shapely.buffer(moved.geometry[a], 200).intersection(moved.geometry[b])
    moved.loc[a, "geometry"] = moved.geometry[a].union(shift)
    moved.loc[b, "geometry"] = moved.geometry[b].difference(shift)
    frame = gpd.GeoDataFrame(moved[["code", "name"]], crs="EPSG:4326",
                             geometry=transform_geometries(moved.geometry.to_numpy(), reorg.crs, "EPSG:4326"))
    frame.to_file(tmp_path / "corrected.geojson")
    assert geoland_cli("units", "load-boundaries", tmp_path / "corrected.geojson", "--effective", "2025-07-01")[0] == 0
    code, out, _ = geoland_cli("reassign", "--json")
    report = json.loads(out)
    assert code == 0 and report["changes"]["changed"] > 0 and report["written"] == report["changes"]["changed"]
    history = db_query(db_url, """
        SELECT plot_id, array_agg(commune_code ORDER BY job_id), array_agg(job_id ORDER BY job_id)
        FROM geoland.plot_assignment GROUP BY plot_id HAVING count(*) > 1""")
    assert len(history) == report["changes"]["changed"]
    assert all(len(set(jobs)) == 2 for _, _, jobs in history)


def test_son_la_wholly_merged_communes_land_where_the_table_says(db_url, sample_data, geoland_cli, db_query):
    code, out, err = geoland_cli("demo", "--data", sample_data, "--plots", 8000, "--json")
    assert code == 0, err
    report = json.loads(out)["reassign"]
    assert report["plots"] > 7900
    # Independent of the engine: each plot's old commune → the new commune the table names (whole merges).
    rows = db_query(db_url, """
        SELECT a.plot_id, a.commune_code, a.status, a.legal_mismatch, n.code
        FROM geoland.plot_assignment_current a JOIN geoland.plot p ON p.id = a.plot_id
        JOIN geoland.admin_unit o ON o.level = 'commune' AND o.code = p.old_commune_code AND o.valid_to = '2025-07-01'
        JOIN geoland.unit_change c ON c.old_unit_id = o.id AND c.kind IN ('whole', 'unchanged')
        JOIN geoland.admin_unit n ON n.id = c.new_unit_id""")
    frame = pd.DataFrame(rows, columns=["plot", "found", "status", "legal_mismatch", "table"])
    clean = frame[(frame["status"] == "inside") & ~frame["legal_mismatch"].astype(bool)]
    assert len(clean) > 0.5 * len(frame) and (clean["found"] == clean["table"]).all()
    # Every other one is on the review list the demo wrote.
    with connect(db_url) as conn:
        flagged = flagged_plots(conn, province="14", effective=dt.date(2025, 7, 1))
    exceptions = set(frame.loc[~frame.index.isin(clean.index), "plot"])
    assert exceptions <= set(flagged["plot_id"]) and len(flagged) == report["flagged"]
    listed = pd.read_csv(report["flagged_file"])
    assert set(listed["plot_id"]) == set(flagged["plot_id"])


def _assignments(db_query, url):
    return db_query(url, "SELECT plot_id, effective, commune_code, overlap_share, status, second_code, second_share, "
                         "legal_mismatch FROM geoland.plot_assignment ORDER BY plot_id, effective")


def test_killed_reassign_resumes_to_the_uninterrupted_result(db_url, load_province, geoland_cli, db_query,
                                                            kill_and_resume):
    load_province("99", n_plots=40_000, n_old=90)
    communes = db_query(db_url, "SELECT count(DISTINCT old_commune_code) FROM geoland.plot")[0][0]
    assert communes >= 60
    partial, copy_url = kill_and_resume(
        ["reassign"], "SELECT count(DISTINCT p.old_commune_code) FROM geoland.plot_assignment a "
                      "JOIN geoland.plot p ON p.id = a.plot_id", 3)
    assert 0 < partial < communes, "the job was not killed in the middle"
    assert _assignments(db_query, db_url) == _assignments(db_query, copy_url)
    jobs = db_query(db_url, "SELECT state, message, params->'resumes' FROM geoland.job WHERE kind = 'reassign' "
                            "ORDER BY id")
    assert [(s, m) for s, m, _ in jobs] == [("failed", "interrupted"), ("succeeded", None)]
    first = db_query(db_url, "SELECT min(id) FROM geoland.job WHERE kind = 'reassign'")[0][0]
    assert jobs[1][2] == [first]
    # The answers written before the kill keep the first job's id: every plot written once, none twice.
    written = db_query(db_url, "SELECT job_id, count(*) FROM geoland.plot_assignment GROUP BY 1 ORDER BY 1")
    assert written[0][0] == first and sum(n for _, n in written) == db_query(
        db_url, "SELECT count(*) FROM geoland.plot")[0][0]


def test_a_job_killed_after_its_last_write_is_resumed_by_a_job_writing_nothing(db_url, load_province, geoland_cli,
                                                                                db_query):
    """Killed between its last commune's write and its end: the next run has nothing to write, and still records
    that it resumed the dead job (which is marked interrupted); a run with nothing killed records no job."""
    load_province("99", n_plots=300)
    code, out, _ = geoland_cli("reassign", "--province", "99", "--json")
    assert code == 0 and json.loads(out)["written"] == db_query(db_url, "SELECT count(*) FROM geoland.plot")[0][0]
    dead = db_query(db_url, "INSERT INTO geoland.job (kind, params, state, actor) VALUES ('reassign', "
                            """'{"scope": "99"}', 'running', 'lan') RETURNING id""")[0][0]
    code, out, _ = geoland_cli("reassign", "--province", "99", "--json")
    report = json.loads(out)
    assert code == 0 and report["written"] == 0 and report["resumed"] == [dead] and report["job_id"] > dead
    assert db_query(db_url, "SELECT state, message FROM geoland.job WHERE id = :i", i=dead) == [
        ("failed", "interrupted")]
    code, out, _ = geoland_cli("reassign", "--province", "99", "--json")
    assert code == 0 and json.loads(out)["job_id"] is None


def test_a_second_reassignment_is_refused_while_one_runs(db_url, load_province, geoland_cli, db_query, running_job):
    load_province("99", n_plots=300)
    with running_job("reassign", "99", "minh"):
        code, _, err = geoland_cli("reassign", "--province", "99")
        assert code == 1 and "reassign is already running for province 99 as job " in err and "(minh, since" in err
    code, out, _ = geoland_cli("reassign", "--province", "99", "--json")
    assert code == 0 and json.loads(out)["resumed"]                  # the dead job is marked and resumed
    assert db_query(db_url, "SELECT state FROM geoland.job WHERE actor = 'minh'") == [("failed",)]
