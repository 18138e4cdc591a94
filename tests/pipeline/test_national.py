"""Every province at once on Dask (issue 19, first part): `geoland synth --provinces` writes and loads a national
synthetic set; `geoland run --provinces all` on a LocalCluster gives the same assignments, codes, crosswalk,
findings and export files as the single-process commands run province by province."""

import filecmp
import json

import pandas as pd
import pyogrio
import pytest

from geoland.sample.national import province_plan

PROVINCES = ["97", "98", "99"]


def _rows(helpers, url):
    q = lambda sql: helpers.query(url, sql)                       # noqa: E731
    return {
        "assignments": q("SELECT plot_id, commune_code, status, legal_mismatch FROM geoland.plot_assignment_current "
                         "ORDER BY plot_id, effective"),
        "codes": q("SELECT plot_id, code FROM geoland.plot_code ORDER BY plot_id"),
        "crosswalk": q("SELECT plot_id, old_code, new_code, new_commune FROM geoland.mx_crosswalk_current "
                       "ORDER BY plot_id"),
        "findings": q("SELECT plot_id, type, category, severity, value, tolerance, related "
                      "FROM geoland.finding_current ORDER BY plot_id, type, value, related"),
    }


def _by_hand(geoland_cli, url, out):
    """The single-process commands, province after province, in one process."""
    for p in PROVINCES:
        for args in (("reassign", "--province", p, "--effective", "2025-07-01"), ("codes", "issue", "--province", p),
                     ("recode", "--province", p, "--policy", "prefix"), ("check", "--province", p),
                     ("export", "--province", p, "--out", out / p)):
            code, _, err = geoland_cli("--database-url", url, *args)
            assert code == 0, (args, err)


def test_a_national_set_is_several_provinces_of_their_own():
    plan = province_plan(4, seed=7)
    assert [p["province"] for p in plan] == ["99", "98", "97", "96"] and [p["seed"] for p in plan] == [7, 8, 9, 10]
    origins = {p["origin"] for p in plan}
    assert len(origins) == 4 and all(abs(a[0] - b[0]) >= 40_000 or abs(a[1] - b[1]) >= 40_000
                                     for a in origins for b in origins if a != b)    # 30 km squares apart
    with pytest.raises(ValueError, match="1–30"):
        province_plan(31, seed=0)


def test_dask_run_equals_the_single_process_commands(db_url, other_db, geoland_cli, helpers, tmp_path):
    folder = tmp_path / "vn"
    for url in (db_url, other_db):
        code, out, err = geoland_cli("--database-url", url, "synth", "--provinces", "3", "--plots-per-province",
                                     "400", "--seed", "5", "--out", folder, "--load", "--json")
        assert code == 0, err
    manifest = json.loads(out)
    assert sorted(p["province"] for p in manifest["provinces"]) == PROVINCES
    assert [r["plots"] for r in manifest["loaded"]] == [p["plots"] for p in manifest["provinces"]]
    _by_hand(geoland_cli, db_url, tmp_path / "one")
    # every province at once, one Dask task each, on a local cluster of two worker processes
    code, out, err = geoland_cli("--database-url", other_db, "run", "--provinces", "all", "--workers", "2",
                                 "--out", tmp_path / "dask", "--json")
    assert code == 0, err
    ran = json.loads(out)
    assert [r["province"] for r in ran["provinces"]] == PROVINCES
    assert all(r["plots"] > 0 and r["export"]["rows"] > 0 for r in ran["provinces"])
    _same(helpers, db_url, other_db, tmp_path / "one", tmp_path / "dask", ran)


def _same(helpers, one_db, dask_db, one_dir, dask_dir, ran):
    """The rows of the two databases and the files of the two folders are the same."""
    one, dask = _rows(helpers, one_db), _rows(helpers, dask_db)
    for table in one:
        assert one[table] == dask[table], table
        assert one[table], table
    for p in PROVINCES:
        a, b = one_dir / p, dask_dir / p
        names = sorted(f.name for f in a.iterdir())
        assert names == sorted(f.name for f in b.iterdir())
        # byte for byte, but for the job that made each crosswalk row (jobs are numbered as they start: by hand
        # province after province, on Dask interleaved) and the GeoPackage's own clock (gpkg_contents.last_change)
        data = [n for n in names if n not in ("manifest.json", "crosswalk.csv", "identifiers.gpkg")]
        match, mismatch, errors = filecmp.cmpfiles(a, b, data, shallow=False)
        assert mismatch == [] and errors == [] and match == data, p
        crosswalk = [pd.read_csv(f / "crosswalk.csv", dtype=str) for f in (a, b)]
        assert crosswalk[0].drop(columns="job_id").equals(crosswalk[1].drop(columns="job_id")), p
        gpkg = [pyogrio.read_dataframe(f / "identifiers.gpkg") for f in (a, b)]
        assert gpkg[0].equals(gpkg[1]) and len(gpkg[0]) == ran["provinces"][PROVINCES.index(p)]["export"]["rows"], p


def test_a_province_split_by_old_commune_gives_the_same_answers(db_url, other_db, geoland_cli, helpers, tmp_path):
    """--split-above: each province runs as parts of old communes (reassign, codes and check per part), with the
    same assignments, codes, crosswalk, findings, campaign counts and files as the unsplit commands."""
    folder = tmp_path / "vn"
    for url in (db_url, other_db):
        code, out, err = geoland_cli("--database-url", url, "synth", "--provinces", "3", "--plots-per-province",
                                     "400", "--seed", "5", "--out", folder, "--load", "--json")
        assert code == 0, err
    from geoland.pipeline.national import plan_parts

    parts = {p: plan_parts(other_db, p, 150) for p in PROVINCES}
    assert all(len(v) >= 2 for v in parts.values()), parts
    for cut in parts.values():                         # every old commune in exactly one part, in code order
        flat = [c for part in cut for c in part]
        assert flat == sorted(flat) and len(set(flat)) == len(flat)
    for url in (db_url, other_db):                  # one person holding plots of two parts, written two ways
        _one_holder_across(helpers, url, parts["98"])
    _by_hand(geoland_cli, db_url, tmp_path / "one")
    code, out, err = geoland_cli("--database-url", other_db, "run", "--provinces", "all", "--workers", "2",
                                 "--split-above", "150", "--out", tmp_path / "dask", "--json")
    assert code == 0, err
    ran = json.loads(out)
    assert [r["province"] for r in ran["provinces"]] == PROVINCES
    assert [r["parts"] for r in ran["provinces"]] == [len(parts[p]) for p in PROVINCES]
    _same(helpers, db_url, other_db, tmp_path / "one", tmp_path / "dask", ran)
    # one job per part and step, named by its part; the check's record per commune equal to the commands'
    for p, cut in parts.items():
        for kind in ("reassign", "codes.issue", "check"):
            scopes = {r[0] for r in helpers.query(other_db, "SELECT params->>'scope' FROM geoland.job WHERE kind = :k "
                                                  "AND params->>'scope' LIKE :p", k=kind, p=f"{p}:%")}
            assert scopes == {f"{p}:{part[0] or '-'}-{part[-1] or '-'}" for part in cut}, (p, kind)
    # the parts' borders were crossed: findings relating plots of two parts (overlaps across an old commune's
    # border, one holder's plots), each found by its own part's check as the whole province's check finds it
    part_of = {c: (p, i) for p, cut in parts.items() for i, part in enumerate(cut) for c in part}
    across = helpers.query(other_db, """SELECT f.type, coalesce(p.old_commune_code, ''),
        coalesce(o.old_commune_code, '') FROM geoland.finding_current f JOIN geoland.plot p ON p.id = f.plot_id
        JOIN geoland.plot o ON o.id = ANY(f.related)""")
    crossing = {t for t, a, b in across if part_of[a] != part_of[b]}
    assert {"overlap", "cccd_conflict"} <= crossing, crossing
    progress = "SELECT province_code, commune_code, plots, full_data, authenticated, incorrect, unverifiable, " \
               "not_checked, missing_1_plus, missing, conflict FROM geoland.campaign_progress ORDER BY 1, 2"
    assert helpers.query(db_url, progress) == helpers.query(other_db, progress)
    assert len(helpers.query(db_url, progress)) > 3
    for p in PROVINCES:
        report = next(r for r in ran["provinces"] if r["province"] == p)["check"]
        assert report["plots"] == helpers.query(other_db, "SELECT count(*) FROM geoland.plot WHERE province_code = :p",
                                                p=p)[0][0]
        assert report["findings"] == helpers.query(other_db, "SELECT count(*) FROM geoland.finding_current "
                                                   "WHERE province_code = :p", p=p)[0][0]


def _one_holder_across(helpers, url, cut):
    """The first holder of the first plot of the second part becomes the first holder of the first part's first
    plot with an ID number, written there with another name: one ID number, two names, plots of two parts."""
    first = helpers.query(url, """SELECT p.id, r.party_id FROM geoland.plot p JOIN geoland.land_right r
        ON r.plot_id = p.id JOIN geoland.party_personal pp ON pp.party_id = r.party_id
        WHERE pp.id_number IS NOT NULL AND p.old_commune_code = ANY(:c) ORDER BY p.id, r.id LIMIT 1""", c=cut[0])[0]
    other = helpers.query(url, """SELECT p.id, min(r.id) FROM geoland.plot p JOIN geoland.land_right r
        ON r.plot_id = p.id WHERE p.old_commune_code = ANY(:c) GROUP BY p.id ORDER BY p.id LIMIT 1""", c=cut[1])[0]
    helpers.query(url, "UPDATE geoland.land_right SET party_id = :party WHERE id = :r RETURNING id",
                  party=first[1], r=other[1])
    helpers.query(url, "DELETE FROM geoland.party_alias WHERE plot_id = :p RETURNING plot_id", p=other[0])
    helpers.query(url, "INSERT INTO geoland.party_alias (party_id, name, plot_id, province_code) "
                  "SELECT :party, 'Lò Văn Khác', :p, (SELECT province_code FROM geoland.plot WHERE id = :p) "
                  "RETURNING plot_id", party=first[1], p=other[0])


def test_run_names_an_unknown_province(db_url, geoland_cli, tmp_path):
    code, _, err = geoland_cli("run", "--provinces", "42", "--out", tmp_path / "x")
    assert code != 0 and "42" in err


@pytest.mark.parametrize("split_above", [None, 1200], ids=["whole", "split"])
def test_a_worker_killed_mid_task_changes_nothing(db_url, other_db, geoland_cli, helpers, tmp_path, split_above):
    """SIGKILL a worker process while a province's job runs: Dask runs the task again on a new worker, the steps
    resume, and every row is what the uninterrupted commands give; no plot is assigned or coded twice. The same
    with the provinces split by old commune (a part's job killed, its task run again)."""
    import os
    import signal
    import threading
    import time

    import psutil

    from geoland.pipeline.national import run_provinces
    from geoland.store.jobs import lock_key

    folder = tmp_path / "vn"
    for url in (db_url, other_db):
        code, _, err = geoland_cli("--database-url", url, "synth", "--provinces", "3", "--plots-per-province",
                                   "3000", "--seed", "11", "--out", folder, "--load")
        assert code == 0, err
    _by_hand(geoland_cli, db_url, tmp_path / "one")
    result, failure = {}, []

    def run():
        try:
            result.update(run_provinces(other_db, PROVINCES, tmp_path / "dask", workers=2, progress=False,
                                        split_above=split_above))
        except Exception as exc:
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and thread.is_alive():
        # a running batch job, and the worker process whose session holds that job's advisory lock
        ports = set()
        for kind, scope in helpers.query(other_db, "SELECT kind, params->>'scope' FROM geoland.job "
                                                   "WHERE state = 'running'"):
            ports |= {r[0] for r in helpers.query(other_db, """SELECT a.client_port FROM pg_locks l
                JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted
                AND l.objid::bigint = :k AND a.client_port IS NOT NULL""", k=lock_key(kind, scope))}
        if ports:
            holders = []
            for child in psutil.Process().children(recursive=True):
                try:
                    if any(c.laddr and c.laddr.port in ports for c in child.net_connections(kind="tcp")):
                        holders.append(child)
                except psutil.Error:
                    continue
            # a worker's forked pool processes share its sockets: the worker is the holder whose parent is not one
            pids = {h.pid for h in holders}
            workers = [h for h in holders if h.ppid() not in pids]
            if workers:
                killed = workers[0].pid
                os.kill(killed, signal.SIGKILL)
        time.sleep(0.02)
    thread.join(timeout=300)
    assert killed is not None and failure == [] and not thread.is_alive()
    assert [r["province"] for r in result["provinces"]] == PROVINCES
    assert all(r.get("parts", 1) >= (2 if split_above else 1) for r in result["provinces"]), result
    one, dask = _rows(helpers, db_url), _rows(helpers, other_db)
    for table in one:
        assert one[table] == dask[table], table
    twice = helpers.query(other_db, "SELECT count(*) FROM (SELECT plot_id, effective FROM geoland.plot_assignment "
                                     "GROUP BY 1, 2 HAVING count(*) > 1 AND count(DISTINCT commune_code) > 1) x")
    assert twice[0][0] == 0
    # the killed worker's job was cut short: it never finished, and its province's step ran again to the end
    # no job is left running; a job the kill cut short is marked interrupted and the job that resumed it names it
    # (on CI the kill has also landed between a job's last write and its end: then nothing was cut, and the
    # task's rerun found every step done)
    assert helpers.query(other_db, "SELECT count(*) FROM geoland.job WHERE state = 'running'")[0][0] == 0
    cut = helpers.query(other_db, "SELECT id, kind, params->>'scope' FROM geoland.job WHERE state <> 'succeeded'")
    assert all(helpers.query(other_db, "SELECT message FROM geoland.job WHERE id = :i", i=i)[0][0]
                       == "interrupted" for i, _, _ in cut), cut
    for i, kind, scope in cut:                  # the job that resumed it finished, naming it
        assert helpers.query(other_db, f"""SELECT count(*) FROM geoland.job WHERE kind = '{kind}'
            AND params->>'scope' = '{scope}' AND state = 'succeeded' AND params->'resumes' @> '[{i}]'""")[0][0] == 1, \
            (i, kind, scope, helpers.query(other_db, "SELECT id, kind, state, params FROM geoland.job ORDER BY id"))


def test_the_parts_of_a_province_run_side_by_side_and_exclude_the_whole(db_url, helpers):
    """A part's job holds its own lock and the province's shared: another part may run beside it; a job on the
    whole province is refused (naming the part's job) while one runs, and a part while the whole runs."""
    from geoland.errors import Conflict
    from geoland.store.db import make_engine
    from geoland.store.jobs import job_lock, part_scope

    first, second = part_scope("14", ["03979", "04000"]), part_scope("14", ["04003", ""])
    assert (first, second) == ("14:03979-04000", "14:--04003")
    helpers.query(db_url, "INSERT INTO geoland.job (kind, params, state, actor) VALUES ('reassign', "
                          "CAST(:p AS jsonb), 'running', 'lan') RETURNING id", p=f'{{"scope": "{first}"}}')
    engine = make_engine(db_url)
    try:
        with job_lock(engine, "reassign", first, within="14"):
            with job_lock(engine, "reassign", second, within="14"):          # two parts at once
                with pytest.raises(Conflict, match=r"reassign is already running for province 14 as job \d+ \(lan"):
                    with job_lock(engine, "reassign", "14"):
                        pass
                with pytest.raises(Conflict, match=f"province {first}"):
                    with job_lock(engine, "reassign", first, within="14"):
                        pass
                # the refused part had taken the province's shared lock and let go of it: two parts, two locks each
                held = helpers.query(db_url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
                assert held[0][0] == 4
            with job_lock(engine, "codes.issue", "14"):                       # another kind: its own locks
                pass
        with job_lock(engine, "reassign", "14"):                               # every part done: the whole runs
            with pytest.raises(Conflict, match="province 14"):
                with job_lock(engine, "reassign", second, within="14"):
                    pass
        assert helpers.query(db_url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")[0][0] == 0
    finally:
        engine.dispose()
