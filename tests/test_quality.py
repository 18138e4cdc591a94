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


def test_findings_match_the_synthetic_truth(db_url, load_province, geoland_cli, db_query, tmp_path):
    _, synthetic = load_province("99", n_plots=20_000, n_old=40)
    truth, plots = synthetic.truth, synthetic.plots
    _run(geoland_cli, "reassign", "--province", "99")
    _run(geoland_cli, "codes", "issue", "--province", "99")
    answers = json.loads(_run(geoland_cli, "people", "import-verification",
                              tmp_path / "province-99" / "plots.gpkg.verification.csv", "--json"))
    assert answers["loaded"] == len(synthetic.verification)
    report = json.loads(_run(geoland_cli, "check", "--province", "99", "--json"))
    assert report["plots"] == len(truth) > 19_000
    found = pd.DataFrame(db_query(db_url, """
        SELECT p.source_row, f.type, f.category, f.related, f.value FROM geoland.finding_current f
        JOIN geoland.plot p ON p.id = f.plot_id"""), columns=["row", "type", "category", "related", "value"])
    row_of = dict(db_query(db_url, "SELECT id, source_row FROM geoland.plot"))
    by_type = found.groupby("type")["row"].agg(set).to_dict()

    def got(kind):
        return by_type.get(kind, set())

    defect = truth["defects"]
    # Missing fields: exactly the rows the generator blanked, field by field.
    for field, kind in TRUTH_FIELDS.items():
        assert got(kind) == _rows(truth, truth["missing_fields"].str.split("|").map(lambda f, field=field: field in f)), kind
    assert got("missing_code") == got("missing_commune") == set()
    # CCCD: every malformed number is found; a number taken from someone else also reads wrong against its
    # new holder's birth year, so those may be flagged too; nothing else.
    malformed, conflicting = _rows(truth, defect.str.contains("malformed_cccd")), \
        _rows(truth, defect.str.contains("conflicting_cccd"))
    assert malformed and malformed <= got("invalid_cccd") <= malformed | conflicting
    shared = plots["id_number"].isin(plots.loc[defect.str.contains("conflicting_cccd"), "id_number"])
    assert conflicting and got("cccd_conflict") == _rows(truth, shared)
    # Population database: on full-data plots, exactly the truth's answers.
    full = truth["full_data"]
    for status in ("incorrect", "unverifiable"):
        on_full = got(f"verification_{status}") & _rows(truth, full)
        assert on_full == _rows(truth, full & (truth["verification"] == status)), status
    # Area: every altered legal area is found; a plot grown or repaired after its area was recorded may be too.
    altered = _rows(truth, defect.str.contains("area_mismatch"))
    reshaped = _rows(truth, defect.str.contains("overlap|invalid_geometry"))
    assert altered and altered <= got("area_mismatch") <= altered | reshaped
    # Geometry and overlaps: the repaired bow-ties; each overlap pair contains a grown plot, every grown
    # plot is in one.
    assert got("invalid_geometry") == _rows(truth, defect.str.contains("invalid_geometry"))
    grown = _rows(truth, defect.str.contains("overlap"))
    pairs = found[found["type"] == "overlap"]
    assert grown <= got("overlap")
    assert all(row in grown or row_of[other[0]] in grown for row, other in zip(pairs["row"], pairs["related"]))
    # Duplicate MX.SB.ST: the copied rows and the rows they copied.
    mx = plots[["commune_code", "sheet", "plot_number"]].astype(str).agg(".".join, axis=1)
    copied = mx.isin(mx[defect.str.contains("duplicate_mx")])
    assert got("duplicate_mx") == _rows(truth, copied)
    # Land use: no unknown code; the legacy and combined ones flagged for information.
    assert got("unknown_land_use") == set()
    assert got("legacy_land_use") == _rows(truth, plots["land_use"].isin(["BHK", "ONT+CLN"]))
    # Reassignment findings are the assignments' statuses.
    status = dict(db_query(db_url, "SELECT p.source_row, a.status FROM geoland.plot_assignment_current a "
                                   "JOIN geoland.plot p ON p.id = a.plot_id"))
    assert got("straddling") == {r for r, s in status.items() if s == "straddling"} != set()
    assert got("outside") == {r for r, s in status.items() if s == "outside"}
    # The campaign's totals equal the generator's.
    verified = truth.loc[full, "verification"].value_counts()
    assert report["campaign"] == {"full_data": int(full.sum()), "authenticated": int(verified["authenticated"]),
                                  "incorrect": int(verified["incorrect"]),
                                  "unverifiable": int(verified["unverifiable"]),
                                  "missing_1_plus": int((~full).sum())}
    # No personal data in any finding.
    numbers = set(plots["id_number"].dropna())
    names = set(plots["user_name"].dropna())
    assert not any(v in numbers or v in names for v in found["value"].dropna())

    # The report: the same totals, per commune too, and no CCCD or name in clear in any file.
    out = tmp_path / "bao-cao"
    rep = json.loads(_run(geoland_cli, "report", "--province", "99", "--out", out, "--json"))
    expected = {"plots": len(truth), **report["campaign"],
                "not_checked": int(full.sum() - verified.sum())}
    assert rep["campaign"] == expected
    communes = pd.read_csv(out / "communes.csv", dtype={"commune": str}, keep_default_na=False)
    total = communes[communes["commune"] == ""].iloc[0]
    assert {k: int(total[k]) for k in expected} == expected
    per = communes[communes["commune"] != ""].set_index("commune")
    assert per["plots"].sum() == len(truth) and per["missing_1_plus"].sum() == int((~full).sum())
    commune_of = dict(db_query(db_url, "SELECT p.source_row, a.commune_code FROM geoland.plot_assignment_current a "
                                       "JOIN geoland.plot p ON p.id = a.plot_id"))
    by_commune = truth.assign(commune=truth["row"].map(commune_of)).groupby("commune")["full_data"].sum()
    assert per["full_data"].to_dict() == by_commune.astype(int).to_dict()
    for kind, plots_with in report["by_type"].items():
        assert int(total[kind]) == plots_with, kind
    listed = pd.read_csv(out / "findings.csv", dtype=str)
    assert len(listed) == len(found) and listed["land_user"].dropna().str.contains(r"\*").all()
    assert listed["id_number"].dropna().str.fullmatch(r"[0-9]{3}\*+[0-9]{3}").all()
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "Đủ thông tin" in page and page.count('class="bar ') > len(per) and "http" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not any(number in text for number in numbers), path.name
        assert not any(name in text for name in names), path.name
    # Same findings, same bytes.
    again = tmp_path / "again"
    _run(geoland_cli, "report", "--province", "99", "--out", again)
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
    path.write_text("cccd,status,checked_at\n014090001234,Đã xác thực,2025-10-01\n014090001235,sai thông tin,\n",
                    encoding="utf-8")
    _run(geoland_cli, "people", "import-verification", path)
    path.write_text("cccd,status,checked_at\n014090001234,incorrect,2025-11-01\n", encoding="utf-8")
    _run(geoland_cli, "people", "import-verification", path)
    rows = db_query(db_url, "SELECT id_number, status, checked_at::text FROM geoland.verification ORDER BY 1")
    assert rows == [("014090001234", "incorrect", "2025-11-01"), ("014090001235", "incorrect", None)]
    actions = [r[0] for r in db_query(db_url, "SELECT action FROM geoland.audit_event WHERE action = "
                                              "'people.verification_imported'")]
    assert actions == ["people.verification_imported"] * 2
