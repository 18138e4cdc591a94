"""`geoland check` and `geoland people import-verification` on PostGIS: every injected defect of a synthetic
province found and nothing else (the generator's truth), the campaign's totals, reruns and review states,
bad verification files."""

import json

import pandas as pd
import pytest

TRUTH_FIELDS = {"certificate_serial": "missing_certificate", "user_name": "missing_user_name",
                "id_number": "missing_id_number", "land_use": "missing_land_use", "legal_area": "missing_legal_area"}


def _run(geoland_cli, *args):
    code, out, err = geoland_cli(*args)
    assert code == 0, err
    return out


def _rows(truth, mask):
    return set(truth.loc[mask, "row"].tolist())


@pytest.fixture(scope="module")
def checked(module_cli, module_db, tmp_path_factory, helpers):
    """A synthetic province of 20,000 plots reassigned, coded, answered by the population database and
    checked once; the tests below each compare one kind of finding with the generator's truth."""
    query = helpers.query
    folder = tmp_path_factory.mktemp("quality")
    _, synthetic = helpers.write_and_load_province(module_cli, folder / "province-99", "99", n_plots=20_000, n_old=40)
    _run(module_cli, "reassign", "--province", "99")
    _run(module_cli, "codes", "issue", "--province", "99")
    answers = json.loads(_run(module_cli, "people", "import-verification",
                              folder / "province-99" / "plots.gpkg.verification.csv", "--json"))
    report = json.loads(_run(module_cli, "check", "--province", "99", "--json"))
    found = pd.DataFrame(query(module_db, """
        SELECT p.source_row, f.type, f.category, f.related, f.value FROM geoland.finding_current f
        JOIN geoland.plot p ON p.id = f.plot_id"""), columns=["row", "type", "category", "related", "value"])
    status = dict(query(module_db, "SELECT p.source_row, a.status FROM geoland.plot_assignment_current a "
                                   "JOIN geoland.plot p ON p.id = a.plot_id"))
    return {"truth": synthetic.truth, "plots": synthetic.plots, "verification": synthetic.verification,
            "answers": answers, "report": report, "found": found, "by_type": found.groupby("type")["row"].agg(set),
            "row_of": dict(query(module_db, "SELECT id, source_row FROM geoland.plot")), "status": status,
            "commune_of": dict(query(module_db, "SELECT p.source_row, a.commune_code "
                                                "FROM geoland.plot_assignment_current a "
                                                "JOIN geoland.plot p ON p.id = a.plot_id")),
            "run": module_cli, "folder": folder}


def _got(checked, kind):
    return checked["by_type"].get(kind, set())


def test_every_plot_is_checked_and_every_answer_loaded(checked):
    assert checked["answers"]["loaded"] == len(checked["verification"])
    assert checked["report"]["plots"] == len(checked["truth"]) > 19_000


@pytest.mark.parametrize(("field", "kind"), TRUTH_FIELDS.items())
def test_missing_fields_are_exactly_the_blanked_ones(checked, field, kind):
    truth = checked["truth"]
    assert _got(checked, kind) == _rows(truth, truth["missing_fields"].str.split("|").map(lambda f: field in f))


def test_nothing_lacks_a_code_or_a_commune(checked):
    assert _got(checked, "missing_code") == _got(checked, "missing_commune") == set()


def test_malformed_and_shared_cccd(checked):
    # Every malformed number is found; a number taken from someone else also reads wrong against its new
    # holder's birth year, so those may be flagged too; nothing else.
    truth, plots, defect = checked["truth"], checked["plots"], checked["truth"]["defects"]
    malformed = _rows(truth, defect.str.contains("malformed_cccd"))
    conflicting = _rows(truth, defect.str.contains("conflicting_cccd"))
    assert malformed and malformed <= _got(checked, "invalid_cccd") <= malformed | conflicting
    shared = plots["id_number"].isin(plots.loc[defect.str.contains("conflicting_cccd"), "id_number"])
    assert conflicting and _got(checked, "cccd_conflict") == _rows(truth, shared)


@pytest.mark.parametrize("status", ["incorrect", "unverifiable"])
def test_population_database_answers_on_full_data_plots(checked, status):
    truth = checked["truth"]
    full = truth["full_data"]
    on_full = _got(checked, f"verification_{status}") & _rows(truth, full)
    assert on_full == _rows(truth, full & (truth["verification"] == status))


def test_altered_areas(checked):
    # Every altered legal area is found; a plot grown or repaired after its area was recorded may be too.
    truth, defect = checked["truth"], checked["truth"]["defects"]
    altered = _rows(truth, defect.str.contains("area_mismatch"))
    reshaped = _rows(truth, defect.str.contains("overlap|invalid_geometry"))
    assert altered and altered <= _got(checked, "area_mismatch") <= altered | reshaped


def test_invalid_geometry_and_overlaps(checked):
    # The repaired bow-ties; each overlap pair contains a grown plot, every grown plot is in one.
    truth, defect, found, row_of = checked["truth"], checked["truth"]["defects"], checked["found"], checked["row_of"]
    assert _got(checked, "invalid_geometry") == _rows(truth, defect.str.contains("invalid_geometry"))
    grown = _rows(truth, defect.str.contains("overlap"))
    pairs = found[found["type"] == "overlap"]
    assert grown and grown <= _got(checked, "overlap")
    assert all(row in grown or row_of[other[0]] in grown for row, other in zip(pairs["row"], pairs["related"]))


def test_duplicate_mx_are_the_copies_and_their_originals(checked):
    truth, plots = checked["truth"], checked["plots"]
    mx = plots[["commune_code", "sheet", "plot_number"]].astype(str).agg(".".join, axis=1)
    copied = mx.isin(mx[truth["defects"].str.contains("duplicate_mx")])
    assert _got(checked, "duplicate_mx") == _rows(truth, copied)


def test_land_use_codes(checked):
    # No unknown code; the legacy and combined ones flagged for information.
    assert _got(checked, "unknown_land_use") == set()
    assert _got(checked, "legacy_land_use") == _rows(checked["truth"],
                                                     checked["plots"]["land_use"].isin(["BHK", "ONT+CLN"]))


@pytest.mark.parametrize("status", ["straddling", "outside"])
def test_reassignment_findings_are_the_assignment_statuses(checked, status):
    expected = {r for r, s in checked["status"].items() if s == status}
    assert _got(checked, status) == expected
    if status == "straddling":
        assert expected


def test_campaign_totals_equal_the_generators(checked):
    truth = checked["truth"]
    full = truth["full_data"]
    verified = truth.loc[full, "verification"].value_counts()
    assert checked["report"]["campaign"] == {
        "full_data": int(full.sum()), "authenticated": int(verified["authenticated"]),
        "incorrect": int(verified["incorrect"]), "unverifiable": int(verified["unverifiable"]),
        "missing_1_plus": int((~full).sum())}


def test_no_personal_data_in_any_finding(checked):
    plots = checked["plots"]
    numbers, names = set(plots["id_number"].dropna()), set(plots["user_name"].dropna())
    assert not any(v in numbers or v in names for v in checked["found"]["value"].dropna())


@pytest.fixture(scope="module")
def report_folder(checked):
    out = checked["folder"] / "bao-cao"
    return out, json.loads(_run(checked["run"], "report", "--province", "99", "--out", out, "--json"))


def test_report_totals_per_commune_and_province(checked, report_folder):
    out, rep = report_folder
    truth, report = checked["truth"], checked["report"]
    full = truth["full_data"]
    verified = truth.loc[full, "verification"].value_counts()
    expected = {"plots": len(truth), **report["campaign"], "not_checked": int(full.sum() - verified.sum())}
    assert rep["campaign"] == expected
    communes = pd.read_csv(out / "communes.csv", dtype={"commune": str}, keep_default_na=False)
    total = communes[communes["commune"] == ""].iloc[0]
    assert {k: int(total[k]) for k in expected} == expected
    per = communes[communes["commune"] != ""].set_index("commune")
    assert per["plots"].sum() == len(truth) and per["missing_1_plus"].sum() == int((~full).sum())
    by_commune = truth.assign(commune=truth["row"].map(checked["commune_of"])).groupby("commune")["full_data"].sum()
    assert per["full_data"].to_dict() == by_commune.astype(int).to_dict()
    for kind, plots_with in report["by_type"].items():
        assert int(total[kind]) == plots_with, kind
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "Đủ thông tin" in page and page.count('class="bar ') > len(per) and "http" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")


def test_report_files_mask_personal_data(checked, report_folder):
    out, _ = report_folder
    plots = checked["plots"]
    numbers, names = set(plots["id_number"].dropna()), set(plots["user_name"].dropna())
    listed = pd.read_csv(out / "findings.csv", dtype=str)
    assert len(listed) == len(checked["found"]) and listed["land_user"].dropna().str.contains(r"\*").all()
    masked = listed["id_number"].dropna()
    assert masked.str.contains(r"\*").all() and masked.map(lambda s: 2 * sum(c != "*" for c in s) <= len(s)).all()
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not any(number in text for number in numbers), path.name
        assert not any(name in text for name in names), path.name


def test_same_findings_same_report_bytes(checked, report_folder):
    out, _ = report_folder
    again = checked["folder"] / "again"
    _run(checked["run"], "report", "--province", "99", "--out", again)
    assert all((out / n).read_bytes() == (again / n).read_bytes() for n in ("index.html", "communes.csv",
                                                                         "findings.csv"))


def test_rerun_keeps_review_states_and_follows_the_data(db_url, load_province, geoland_cli, db_query):
    load_province("99", n_plots=1500)
    first = json.loads(_run(geoland_cli, "check", "--province", "99", "--json"))
    assert first["changes"]["opened"] == first["findings"] > 0
    missing = db_query(db_url, "SELECT id, plot_id FROM geoland.finding WHERE type = 'missing_code' ORDER BY id")
    assert len(missing) == first["plots"]                      # no code issued yet: every plot
    area = db_query(db_url, "SELECT id, plot_id FROM geoland.finding WHERE type = 'area_mismatch' ORDER BY id")
    db_query(db_url, "UPDATE geoland.finding SET review_state = 'not_a_problem', reviewed_by = 'lan' "
                     "WHERE id = :i RETURNING id", i=area[0][0])
    # Nothing changed: nothing opened or closed, the review state stays.
    again = json.loads(_run(geoland_cli, "check", "--province", "99", "--json"))
    assert again["changes"] == {"opened": 0, "reopened_changed": 0, "closed": 0, "unchanged": first["findings"]}
    assert db_query(db_url, "SELECT review_state FROM geoland.finding WHERE id = :i", i=area[0][0]) == [
        ("not_a_problem",)]
    # Codes issued: the missing-code findings close (kept as history). The reviewed plot's legal area is
    # edited: its finding's value changes, so it is reopened as a new finding.
    _run(geoland_cli, "codes", "issue", "--province", "99")
    db_query(db_url, "UPDATE geoland.plot SET legal_area_m2 = legal_area_m2 * 2 WHERE id = :p RETURNING id",
             p=area[0][1])
    third = json.loads(_run(geoland_cli, "check", "--province", "99", "--json"))
    assert third["changes"]["closed"] >= len(missing) and third["changes"]["reopened_changed"] == 1
    assert db_query(db_url, "SELECT count(*) FROM geoland.finding_current WHERE type = 'missing_code'") == [(0,)]
    assert db_query(db_url, "SELECT count(*) FROM geoland.finding WHERE type = 'missing_code'") == [(len(missing),)]
    assert db_query(db_url, "SELECT review_state FROM geoland.finding_current WHERE plot_id = :p AND "
                            "type = 'area_mismatch'", p=area[0][1]) == [("open",)]
    jobs = db_query(db_url, "SELECT count(*) FROM geoland.job WHERE kind = 'check' AND state = 'succeeded'")
    assert jobs == [(3,)]
    # A plot deleted behind geoland's back: its open findings are closed by the next check, not left open
    # (no cascade either: the history stays).
    gone = area[1][1]
    open_before = db_query(db_url, "SELECT count(*) FROM geoland.finding_current WHERE plot_id = :p", p=gone)[0][0]
    db_query(db_url, "DELETE FROM geoland.plot WHERE id = :p RETURNING id", p=gone)
    fourth = json.loads(_run(geoland_cli, "check", "--province", "99", "--json"))
    assert open_before > 0 and fourth["changes"]["closed"] == open_before
    assert db_query(db_url, "SELECT count(*) FROM geoland.finding_current WHERE plot_id = :p", p=gone) == [(0,)]
    assert db_query(db_url, "SELECT count(*) FROM geoland.finding WHERE plot_id = :p AND closed_by = :j",
                    p=gone, j=fourth["job_id"]) == [(open_before,)]


def test_commune_scope(db_url, load_province, geoland_cli, db_query):
    load_province("99", n_plots=1500)
    _run(geoland_cli, "reassign", "--province", "99")
    commune = db_query(db_url, "SELECT commune_code FROM geoland.plot_assignment_current GROUP BY 1 "
                               "ORDER BY count(*) DESC LIMIT 1")[0][0]
    report = json.loads(_run(geoland_cli, "check", "--province", "99", "--commune", commune, "--json"))
    inside = db_query(db_url, "SELECT count(*) FROM geoland.plot_assignment_current WHERE commune_code = :c",
                      c=commune)[0][0]
    assert report["plots"] == inside
    assert db_query(db_url, "SELECT count(DISTINCT a.commune_code) FROM geoland.finding_current f JOIN "
                            "geoland.plot_assignment_current a USING (plot_id)") == [(1,)]
    code, _, err = geoland_cli("check", "--province", "99", "--commune", "00001")
    assert code == 1 and "no plots assigned to commune 00001" in err


@pytest.mark.parametrize("content, message", [
    ("cccd,status\n014090001234,authenticated\n014090001235,maybe\n", "line 3: status 'maybe' is not one of"),
    ("number,status\n014090001234,authenticated\n", "needs a `cccd` and a `status` column"),
    ("cccd,status,checked_at\n014090001234,incorrect,yesterday\n", "line 2: checked_at 'yesterday' is not a date"),
    ("cccd,status\n,incorrect\n", "line 2: empty CCCD"),
    # Issue 15, item 7: each of these used to be an internal error or a silent choice.
    ("", "the file is empty"),
    ("cccd,status\n", "no answers in it: only a header line"),
    ("cccd,status\n014090001234,authenticated\n014090001235,incorrect,2025-10-01\n",
     "line 3: 3 fields where the header has 2"),
    ("cccd,status\n014090001234,authenticated\nabc,incorrect\n", "line 3: not an ID number"),
    ("cccd,status\n014090001234,authenticated\n014090001235,incorrect\n014090001234,incorrect\n",
     "lines 2 and 4 give different answers for the same ID number"),
])
def test_bad_verification_files_are_refused_whole(db_url, geoland_cli, db_query, db_snapshot, tmp_path, content,
                                                   message):
    path = tmp_path / "ket-qua.csv"
    path.write_text(content, encoding="utf-8")
    before = db_snapshot(db_url)
    code, _, err = geoland_cli("people", "import-verification", path)
    assert code == 1 and message in err and "ket-qua.csv" in err
    assert "014090001234" not in err                          # never the number itself
    assert db_snapshot(db_url) == before


def test_verification_vietnamese_statuses_and_later_answers_win(db_url, geoland_cli, db_query, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("cccd,status,checked_at\n014090001234,Đã xác thực,2025-10-01\n014090001235,sai thông tin,\n"
                    "014090001235,Sai thông tin,\n", encoding="utf-8")          # the same answer twice: once
    _run(geoland_cli, "people", "import-verification", path)
    path.write_text("cccd,status,checked_at\n014090001234,incorrect,2025-11-01\n", encoding="utf-8")
    _run(geoland_cli, "people", "import-verification", path)
    rows = db_query(db_url, "SELECT id_number, status, checked_at::text FROM geoland.verification ORDER BY 1")
    assert rows == [("014090001234", "incorrect", "2025-11-01"), ("014090001235", "incorrect", None)]
    actions = [r[0] for r in db_query(db_url, "SELECT action FROM geoland.audit_event WHERE action = "
                                              "'people.verification_imported'")]
    assert actions == ["people.verification_imported"] * 2


def test_report_shows_reasons_in_words(checked, report_folder):
    out, _ = report_folder
    listed = pd.read_csv(out / "findings.csv", dtype=str)
    cccd = listed[listed["type"] == "invalid_cccd"]
    assert len(cccd) and cccd["value"].str.fullmatch(r"[a-z0-9_]+").all()          # the code, for machines
    assert not cccd["value_text"].isin(cccd["value"]).any()                          # … and its words, in Vietnamese
    assert "không đủ 12 chữ số" in set(listed["value_text"])
    area = listed[listed["type"] == "area_mismatch"]
    assert (area["value_text"] == area["value"]).all()                               # a measurement stays as it is
