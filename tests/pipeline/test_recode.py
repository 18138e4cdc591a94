"""`geoland recode` and `geoland codes lookup` on PostGIS: policies, crosswalk, history, resume after a kill."""

import json

import pandas as pd

from identifiers.mx import parse_mx


def test_policies_crosswalk_and_lookup(db_url, load_province, geoland_cli, db_query, tmp_path):
    _reorg, _ = load_province("99", n_plots=2500)
    assert geoland_cli("reassign", "--province", "99")[0] == 0
    code, out, err = geoland_cli("recode", "--province", "99", "--policy", "renumber", "--dry-run", "--json")
    assert code == 0, err
    dry = json.loads(out)
    assert dry["job_id"] is None and dry["plots"] > 2000 and dry["legacy_collisions"] > 0 and dry["changed"] > 0
    assert db_query(db_url, "SELECT count(*) FROM geoland.mx_crosswalk") == [(0,)]
    code, out, err = geoland_cli("recode", "--province", "99", "--policy", "renumber", "--crosswalk",
                                 tmp_path / "crosswalk.csv", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["recoded"] == dry["plots"]
    crosswalk = pd.read_csv(tmp_path / "crosswalk.csv", dtype=str)
    assert len(crosswalk) == report["recoded"] and (crosswalk["policy"] == "renumber").all()
    # Renumbering removes the collisions between the merged communes' sheets (injected duplicates aside).
    truth_dups = db_query(db_url, "SELECT count(*) FROM (SELECT old_code FROM geoland.mx_crosswalk GROUP BY old_code "
                                  "HAVING count(*) > 1) t")[0][0]
    assert crosswalk["new_code"].duplicated().sum() == truth_dups
    # Every new code lies in its new commune; old communes keep their plot numbers.
    parsed = crosswalk["new_code"].map(parse_mx)
    assert (parsed.map(lambda p: p[0]) == crosswalk["new_commune"]).all()
    assert (parsed.map(lambda p: p[3]) == crosswalk["old_code"].map(lambda c: parse_mx(c)[3])).all()
    # Another policy on the same province and date is refused; running the same one again does nothing.
    code, _, err = geoland_cli("recode", "--province", "99", "--policy", "prefix")
    assert code == 1 and "already recoded for 2025-07-01 with policy 'renumber'" in err
    code, out, _ = geoland_cli("recode", "--province", "99", "--policy", "renumber", "--json")
    assert code == 0 and json.loads(out)["recoded"] == 0
    # Any past or present code finds the plot.
    moved = crosswalk[crosswalk["old_code"] != crosswalk["new_code"]].iloc[0]
    for query, at in ((moved["old_code"], "2025-06-01"), (moved["new_code"], "2025-08-01")):
        code, out, err = geoland_cli("codes", "lookup", query, "--at", at, "--json")
        assert code == 0, err
        (plot,) = json.loads(out)["plots"]
        assert plot["legacy_mx"] == moved["old_code"] and plot["current_mx"] == moved["new_code"]
        assert plot["code_history"][0]["policy"] == "renumber" and plot["commune_history"]
    # Before the reorganisation the new code meant nothing, or (a reused code) another plot's legacy code.
    code, out, err = geoland_cli("codes", "lookup", moved["new_code"], "--at", "2025-06-01", "--json")
    if moved["new_code"] in set(crosswalk["old_code"]):
        assert code == 0 and all(p["legacy_mx"] == moved["new_code"] for p in json.loads(out)["plots"])
    else:
        assert code == 1 and "no plot has code" in err
    code, _, err = geoland_cli("codes", "lookup", "not-a-code")
    assert code == 1 and "neither a 12-character identification code, an MX.SB.ST code" in err


def test_prefix_policy_keeps_the_old_code_readable(db_url, load_province, geoland_cli, db_query):
    load_province("99", n_plots=1500)
    assert geoland_cli("reassign")[0] == 0
    code, _out, err = geoland_cli("recode", "--policy", "prefix", "--json")
    assert code == 0, err
    rows = db_query(db_url, "SELECT old_code, new_code, new_commune FROM geoland.mx_crosswalk")
    for old, new, commune in rows:
        o = parse_mx(old)
        assert parse_mx(new) == (commune, o[0], o[2], o[3])


def _crosswalk(db_query, url):
    return db_query(url, "SELECT plot_id, effective, old_code, new_code, new_commune, policy, reason "
                         "FROM geoland.mx_crosswalk ORDER BY plot_id")


def test_read_in_blocks_a_commune_at_a_time(db_url, load_province, geoland_cli, db_query, monkeypatch):
    """Issue 19: the recoding streams its plots (blocks of BLOCK_BYTES, a new commune at a time). With blocks of a
    few dozen rows (every commune across many) the report and the crosswalk are those of recode() applied to each
    commune's plots read whole from the database."""
    import datetime as dt

    import geoland.pipeline.recode as recoding
    from identifiers.mx import recode

    load_province("99", n_plots=3000)
    assert geoland_cli("reassign")[0] == 0
    july = dt.date(2025, 7, 1)
    whole = recoding.recode_province(db_url, province="99", policy="renumber", effective=july, dry_run=True,
                                     progress=False)
    monkeypatch.setattr(recoding, "BLOCK_BYTES", 1024)      # rows of about 26 bytes: ≈ 40 a block
    small = recoding.recode_province(db_url, province="99", policy="renumber", effective=july, dry_run=True,
                                     progress=False)
    assert small == whole and len(whole.examples) == 20 and whole.legacy_collisions > 0
    done = recoding.recode_province(db_url, province="99", policy="renumber", effective=july, progress=False)
    plots = pd.DataFrame(db_query(db_url, """
        SELECT a.commune_code, p.id, p.old_commune_code, p.sheet, p.plot_number
        FROM geoland.plot_assignment_current a JOIN geoland.plot p ON p.id = a.plot_id
        WHERE a.commune_code IS NOT NULL AND p.sheet IS NOT NULL AND p.plot_number IS NOT NULL
          AND p.old_commune_code IS NOT NULL"""), columns=["commune", "plot_id", "old", "sheet", "number"])
    expected = {}
    for _, group in plots.groupby("commune"):
        new = recode(group["old"].tolist(), group["sheet"].tolist(), group["number"].tolist(),
                     group["commune"].tolist(), "renumber")
        expected.update(zip(group["plot_id"], new))
    assert done.recoded == done.plots == len(plots) == whole.plots
    sizes = plots["commune"].value_counts()
    assert (sizes > 200).sum() >= 3 and whole.communes == len(sizes)    # communes across several blocks
    assert dict(db_query(db_url, "SELECT plot_id, new_code FROM geoland.mx_crosswalk")) == expected
    assert whole.changed == sum(expected[i] != f"{o}.{s}.{n}" for i, o, s, n in
                                plots[["plot_id", "old", "sheet", "number"]].itertuples(index=False))


def test_killed_recode_resumes_to_the_uninterrupted_result(db_url, load_province, geoland_cli, db_query,
                                                          kill_and_resume):
    load_province("99", n_plots=40_000, n_old=90)
    assert geoland_cli("reassign")[0] == 0
    communes = db_query(db_url, "SELECT count(DISTINCT commune_code) FROM geoland.plot_assignment")[0][0]
    assert communes >= 20
    partial, copy_url = kill_and_resume(["recode", "--policy", "renumber"],
                                        "SELECT count(DISTINCT new_commune) FROM geoland.mx_crosswalk", 3)
    assert 0 < partial < communes, "the job was not killed in the middle"
    assert _crosswalk(db_query, db_url) == _crosswalk(db_query, copy_url)
    jobs = db_query(db_url, "SELECT state, message FROM geoland.job WHERE kind = 'recode' ORDER BY id")
    assert jobs == [("failed", "interrupted"), ("succeeded", None)]


def test_recode_on_son_la(db_url, sample_data, geoland_cli, tmp_path):
    # The demo takes the sample through the pipeline and recodes it with the prefix policy.
    code, _, err = geoland_cli("demo", "--data", sample_data, "--plots", 4000)
    assert code == 0, err
    counts = {}
    for policy in ("prefix", "renumber"):
        code, out, err = geoland_cli("recode", "--province", "14", "--policy", policy, "--dry-run", "--json")
        assert code == 0, err
        counts[policy] = json.loads(out)
        assert counts[policy]["already_recoded_with"] == "prefix"
    assert counts["prefix"]["plots"] == counts["renumber"]["plots"] > 3000
    assert counts["prefix"]["changed"] == counts["prefix"]["plots"]        # every code gains its prefix
    assert 0 < counts["renumber"]["changed"] < counts["renumber"]["plots"]  # the first old commune keeps its sheets
    # The other policy is refused for real: the crosswalk is history, not redone.
    code, _, err = geoland_cli("recode", "--province", "14", "--policy", "renumber")
    assert code == 1 and "already recoded for 2025-07-01 with policy 'prefix'" in err
    code, out, err = geoland_cli("recode", "--province", "14", "--policy", "prefix", "--crosswalk",
                                 tmp_path / "son-la.csv", "--json")
    assert code == 0, err
    assert json.loads(out)["recoded"] == 0                                   # done by the demo, nothing left
    crosswalk = pd.read_csv(tmp_path / "son-la.csv", dtype=str)
    assert len(crosswalk) == counts["prefix"]["plots"]
    old = crosswalk[crosswalk["old_code"].str.startswith("03649.")].iloc[0]      # the old Phường Tô Hiệu
    assert old["new_commune"] == "03646" and old["new_code"] == "03646." + old["old_code"]
    code, out, err = geoland_cli("codes", "lookup", old["old_code"], "--json")
    assert code == 0 and json.loads(out)["plots"][0]["current_mx"] == old["new_code"]
