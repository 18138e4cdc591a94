"""The synthetic register of a synthetic province (20,000 plots), imported and checked: every register check finds
exactly the plots of the generator's truth (recall and precision 100 %), and importing it again changes nothing."""

import re

import pandas as pd
import pytest

from geoland.sample.register import synthesize_register, write_register

REGISTER_TYPES = ("certificate_format", "certificate_duplicate", "certificate_communes", "share_sum",
                  "party_conflict", "tax_code_invalid", "unidentified_holder", "rights_without_certificate",
                  "dangling_right", "house_outside_plot", "house_overlap", "house_not_allowed")


@pytest.fixture(scope="module")
def registered(module_cli, module_db, tmp_path_factory, helpers):
    folder = tmp_path_factory.mktemp("register")
    _, synthetic = helpers.write_and_load_province(module_cli, folder / "province-99", "99", n_plots=20_000, n_old=40)
    register = synthesize_register(synthetic, seed=0)
    paths = write_register(register, folder / "province-99" / "plots.gpkg")
    code, out, err = module_cli("register", "import", paths["register"], "--province", "99")
    assert code == 0, err
    code, _, err = module_cli("check", "--province", "99")
    assert code == 0, err
    found = pd.DataFrame(helpers.query(module_db, """
        SELECT p.source_row, f.type FROM geoland.finding_current f JOIN geoland.plot p ON p.id = f.plot_id
        WHERE f.type = ANY(:t)""", t=list(REGISTER_TYPES)), columns=["row", "type"])
    return {"truth": register.truth, "found": found, "paths": paths, "out": out, "register": register}


@pytest.mark.parametrize("kind", REGISTER_TYPES)
def test_each_register_check_finds_its_truth(registered, kind):
    truth = set(registered["truth"].loc[registered["truth"]["type"] == kind, "row"])
    found = set(registered["found"].loc[registered["found"]["type"] == kind, "row"])
    assert truth, f"the generator injected no {kind}"
    assert found == truth, (f"missed {sorted(truth - found)[:10]}", f"extra {sorted(found - truth)[:10]}")


def test_the_register_holds_every_relation(registered, module_db, helpers):
    q = lambda sql: helpers.query(module_db, sql)[0]  # noqa: E731
    sheets = registered["register"].sheets
    assert q("SELECT count(*) FROM geoland.paper_plot WHERE plot_id IS NULL")[0] == \
        sheets["Thửa đất"]["Thửa đất"].str.contains(r"\.9\d\d\.").sum() - \
        sheets["Thửa đất"].loc[sheets["Thửa đất"]["Thửa đất"].str.contains(r"\.9\d\d\."), "Thửa đất"].duplicated().sum()
    kinds = dict(helpers.query(module_db, "SELECT kind, count(*) FROM geoland.party GROUP BY 1"))
    assert kinds["household"] > 0 and kinds["organisation"] > 0
    assert q("SELECT count(*) FROM geoland.household_member")[0] == 2 * kinds["household"]
    assert q("SELECT count(*) FROM geoland.certificate WHERE status = 'replaced'")[0] > 0
    assert q("SELECT count(*) FROM geoland.certificate WHERE status = 'cancelled'")[0] > 0
    assert q("SELECT count(*) FROM (SELECT certificate_id FROM geoland.certificate_plot GROUP BY 1 "
             "HAVING count(*) > 1) m")[0] > 0                                     # multi-plot certificates
    assert q("SELECT count(*) FROM geoland.asset WHERE kind = 'apartment' AND building IS NOT NULL")[0] == 6
    # a house whose owner is not the plot's land user
    assert q("""SELECT count(*) FROM geoland.land_right o JOIN geoland.asset_plot ap ON ap.asset_id = o.asset_id
                JOIN geoland.asset a ON a.id = o.asset_id AND a.kind = 'house'
                WHERE NOT EXISTS (SELECT FROM geoland.land_right u WHERE u.plot_id = ap.plot_id
                                  AND u.party_id = o.party_id)""")[0] > 0
    changed = re.search(r"; ([\d,]+) values changed.*, ([\d,]+) records completed", registered["out"])
    assert changed.group(1) != "0" and changed.group(2) != "0"   # the export changes and completes the layer's


def test_the_same_export_again_changes_nothing(registered, module_cli, module_db, helpers):
    before = helpers.snapshot(module_db)
    code, out, err = module_cli("register", "import", registered["paths"]["register"], "--province", "99")
    assert code == 0, err
    assert "added: 0 certificates, 0 parties, 0 rights, 0 assets, 0 plots without geometry yet" in out
    assert "0 values changed" in out
    after = helpers.snapshot(module_db)
    assert {t for t in before if before[t] != after[t]} <= {"job", "audit_event"}


def test_reconcile_finds_exactly_the_paper_registers_discrepancies(registered, module_cli, module_db, helpers,
                                                                   tmp_path):
    out = tmp_path / "differences.csv"
    code, text, err = module_cli("register", "reconcile", registered["paths"]["paper_register"], "--out", out)
    assert code == 0, err
    job = int(text.split("job ")[1].split(",")[0])
    found = {(s, p, f) for s, p, f in helpers.query(
        module_db, "SELECT series, plot_ref, field FROM geoland.reconcile_difference WHERE job_id = :j", j=job)}
    truth = set(registered["register"].paper_truth.itertuples(index=False, name=None))
    assert {f for *_, f in truth} == {"area", "purpose", "holder_name", "holder_id", "missing_in_database",
                                      "missing_in_register"}
    assert found == truth, (sorted(truth - found)[:5], sorted(found - truth)[:5])
    # nothing applied; the file for the officers has every difference, names and numbers masked
    written = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert len(written) == len(truth)
    shown = written.loc[written["field"] == "holder_id", "register_value"]
    assert shown.str.fullmatch(r"\d{3}\*{6}\d{3}").all()
    # the same paper register again: the same differences, nothing new recorded
    before = helpers.snapshot(module_db)
    code, text, err = module_cli("register", "reconcile", registered["paths"]["paper_register"])
    assert code == 0, err
    assert f"job {job}," in text and "nothing new to record" in text
    after = helpers.snapshot(module_db)
    assert {t for t in before if before[t] != after[t]} <= {"job", "audit_event"}


def test_population_database_requests_and_answers_reach_every_plot_of_a_person(registered, module_cli, module_db,
                                                                               helpers, tmp_path):
    import os
    import stat

    out = tmp_path / "requests.csv"
    code, text, err = module_cli("people", "export-requests", "--province", "99", "--out", out)
    assert code == 0, err
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    sent = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    assert list(sent.columns) == ["cccd", "name", "birth_date", "birth_year"]
    assert sent["cccd"].is_unique and sent["cccd"].notna().all()
    persons = helpers.query(module_db, """SELECT count(*) FROM geoland.party_personal pp JOIN geoland.party y
        ON y.id = pp.party_id WHERE y.kind = 'individual' AND pp.id_number IS NOT NULL""")[0][0]
    assert len(sent) == persons                                     # nobody was verified yet
    # the answer for one person holding several plots reaches each of them
    number, plots = helpers.query(module_db, """SELECT pp.id_number, count(DISTINCT r.plot_id) FROM geoland.land_right r
        JOIN geoland.party_personal pp ON pp.party_id = r.party_id WHERE r.plot_id IS NOT NULL
        GROUP BY 1 HAVING count(DISTINCT r.plot_id) > 2 LIMIT 1""")[0]
    answers = tmp_path / "answers.csv"
    answers.write_text(f"cccd,status,checked_at\n{number},authenticated,2026-11-30\n", encoding="utf-8")
    code, _, err = module_cli("people", "import-verification", answers)
    assert code == 0, err
    assert helpers.query(module_db, """SELECT count(DISTINCT r.plot_id) FROM geoland.land_right r
        JOIN geoland.party_personal pp ON pp.party_id = r.party_id JOIN geoland.verification v USING (id_number)
        WHERE v.status = 'authenticated' AND r.plot_id IS NOT NULL""")[0][0] == plots
    # asked again: the person answered is not in the batch; with --since after the answer, everyone is
    code, text, err = module_cli("people", "export-requests", "--province", "99", "--out", out)
    assert number not in set(pd.read_csv(out, dtype=str, encoding="utf-8-sig")["cccd"])
    code, text, err = module_cli("people", "export-requests", "--out", out, "--since", "2026-12-01")
    assert number in set(pd.read_csv(out, dtype=str, encoding="utf-8-sig")["cccd"]) and "asked before" in text
    assert number not in text and number not in err
