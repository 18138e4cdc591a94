"""Editing a plot (issue 17): typed values checked by the checks' rules, a save refused over a newer version,
every change recorded and revertible, and the plot re-checked at once exactly as a full check would."""

import pytest
import sqlalchemy as sa

from geoland.errors import Conflict, InvalidInput
from geoland.pipeline.quality import check
from geoland.review.edits import EditConflict, EditRefused, changes, current_values, revert_edit, save_edits
from geoland.store.db import connect

GOOD_CCCD = "014090001234"          # Sơn La (014), a man born in 1990


@pytest.fixture
def checked(checked_province):
    return checked_province(800)


def _open(conn, plot_id, kind=None):
    return {r[0] for r in conn.execute(sa.text(
        "SELECT type FROM geoland.finding WHERE plot_id = :p AND closed_by IS NULL "
        "AND (CAST(:t AS text) IS NULL OR type = :t)"),
        {"p": plot_id, "t": kind})}


def _plot_missing(conn, kind):
    return conn.execute(sa.text("""SELECT f.plot_id FROM geoland.finding f JOIN geoland.land_user u USING (plot_id)
        WHERE f.type = :t AND f.closed_by IS NULL AND u.name IS NOT NULL ORDER BY f.plot_id LIMIT 1"""),
        {"t": kind}).scalar_one()


def _all_open(conn):
    return {(p, t, tuple(r), v) for p, t, r, v in conn.execute(sa.text(
        "SELECT plot_id, type, related, coalesce(value, '') FROM geoland.finding WHERE closed_by IS NULL"))}


def test_a_missing_cccd_bad_first_then_good_closes_its_finding(checked):
    with connect(checked) as conn:
        plot = _plot_missing(conn, "missing_id_number")
        version = current_values(conn, plot)["version"]
    with connect(checked) as conn, pytest.raises(EditRefused) as refused:
        save_edits(conn, plot, version, {"id_number": "01409000123", "birth_year": "1990"}, actor="xa1")
    assert refused.value.problems == {"id_number": "not_12_digits"}
    with connect(checked) as conn:
        assert current_values(conn, plot)["version"] == version and changes(conn, plot) == []
        done = save_edits(conn, plot, version, {"id_number": GOOD_CCCD, "birth_year": "1990"}, actor="xa1")
    assert done["version"] == version + 1 and "id_number" in done["changed"]
    with connect(checked) as conn:
        now = current_values(conn, plot)
        assert now["id_number"] == GOOD_CCCD and now["version"] == version + 1
        assert "missing_id_number" not in _open(conn, plot)
        closed_by = conn.execute(sa.text("SELECT closed_by FROM geoland.finding WHERE plot_id = :p AND "
                                         "type = 'missing_id_number' ORDER BY id DESC LIMIT 1"), {"p": plot}).scalar()
        assert closed_by == done["job_id"]
        history = changes(conn, plot)
        number = next(h for h in history if h["field"] == "id_number")
        assert number["old_value"] is None and number["new_value"] != GOOD_CCCD and number["personal"]   # masked
        assert next(h for h in changes(conn, plot, unmasked=True) if h["field"] == "id_number")["new_value"] \
            == GOOD_CCCD
        logged = conn.execute(sa.text("SELECT detail::text FROM geoland.audit_event WHERE action = 'plot.edited' "
                                      "AND entity_id = :p"), {"p": str(plot)}).scalar_one()
        assert GOOD_CCCD not in logged and "id_number" in logged


def test_a_save_over_a_newer_version_is_refused_with_both_values(checked):
    with connect(checked) as conn:
        plot = _plot_missing(conn, "missing_land_use")
        version = current_values(conn, plot)["version"]
        save_edits(conn, plot, version, {"land_use": "ONT"}, actor="xa1")
    with connect(checked) as conn, pytest.raises(EditConflict) as stale:
        save_edits(conn, plot, version, {"land_use": "CLN"}, actor="xa2")
    e = stale.value
    assert (e.yours, e.now, e.current["land_use"], e.typed["land_use"]) == (version, version + 1, "ONT", "CLN")
    assert [c["field"] for c in e.since] == ["land_use"] and e.since[0]["actor"] == "xa1"
    with connect(checked) as conn:
        assert current_values(conn, plot)["land_use"] == "ONT"


def test_the_quick_recheck_leaves_what_a_full_check_would(checked):
    with connect(checked) as conn:
        a, b = conn.execute(sa.text("SELECT id FROM geoland.plot ORDER BY id LIMIT 2")).scalars()
        target = conn.execute(sa.text("SELECT old_commune_code, sheet, plot_number FROM geoland.plot WHERE id = :b"),
                              {"b": b}).one()
        v = current_values(conn, a)["version"]
        # a copies b's map key (duplicate MX.SB.ST for both), a legal area far off, an unknown-then-fixed use
        if conn.execute(sa.text("SELECT old_commune_code FROM geoland.plot WHERE id = :a"), {"a": a}).scalar() \
                == target.old_commune_code:
            save_edits(conn, a, v, {"sheet": str(target.sheet), "plot_number": str(target.plot_number)}, actor="xa1")
            v += 1
        save_edits(conn, a, v, {"legal_area_m2": "99999"}, actor="xa1")
        edited = _all_open(conn)
    with connect(checked) as conn:
        full = check(conn, province="99", progress=False)
    assert full.changes["opened"] == 0 and full.changes["closed"] == 0 and full.changes["reopened_changed"] == 0
    with connect(checked) as conn:
        assert _all_open(conn) == edited
        assert "area_mismatch" in _open(conn, a)


def test_a_change_is_reverted_as_a_change_of_its_own(checked):
    with connect(checked) as conn:
        plot = _plot_missing(conn, "missing_id_number")
        version = current_values(conn, plot)["version"]
        save_edits(conn, plot, version, {"id_number": GOOD_CCCD, "birth_year": "1990"}, actor="xa1")
        edit = next(h for h in changes(conn, plot) if h["field"] == "id_number")
        reverted = revert_edit(conn, edit["id"], actor="admin")
    assert reverted["changed"] == ["id_number"]
    with connect(checked) as conn:
        assert current_values(conn, plot)["id_number"] is None
        assert "missing_id_number" in _open(conn, plot)
        history = changes(conn, plot)
        assert history[-1]["source"] == "revert" and history[-1]["reverts"] == edit["id"]
        assert next(h for h in history if h["id"] == edit["id"])["reverted_by"] == history[-1]["id"]
        with pytest.raises(Conflict, match="reverted already"):
            revert_edit(conn, edit["id"], actor="admin")


def test_a_number_of_another_holder_and_bad_values_are_refused(checked):
    with connect(checked) as conn:
        plot = _plot_missing(conn, "missing_id_number")
        taken, year = conn.execute(sa.text("SELECT id_number, birth_year FROM geoland.land_user "
                                           "WHERE id_number ~ '^[0-9]{12}$' AND plot_id <> :p LIMIT 1"),
                                   {"p": plot}).one()
        version = current_values(conn, plot)["version"]
        with pytest.raises(EditRefused) as refused:
            save_edits(conn, plot, version, {"id_number": taken, "birth_year": str(year or "")}, actor="xa1")
        assert refused.value.problems == {"id_number": "id_number_taken"}
    with connect(checked) as conn, pytest.raises(EditRefused) as refused:
        save_edits(conn, plot, version, {"land_use": "XYZ", "legal_area_m2": "-3", "birth_year": "1850",
                                         "disputed_since": "2999-01-01"}, actor="xa1")
    assert refused.value.problems == {"land_use": "unknown_land_use", "legal_area_m2": "not_positive",
                                      "birth_year": "year_out_of_range", "disputed_since": "in_the_future"}
    with connect(checked) as conn:
        assert current_values(conn, plot)["version"] == version


def test_a_dispute_is_flagged_and_recorded(checked):
    with connect(checked) as conn:
        plot = conn.execute(sa.text("SELECT min(id) FROM geoland.plot")).scalar()
        done = save_edits(conn, plot, 1, {"disputed": "on", "disputed_since": "2025-03-01",
                                          "dispute_note": "tranh chấp ranh giới với thửa bên cạnh"}, actor="xa1")
        assert set(done["changed"]) == {"disputed", "dispute_note", "disputed_since"}
        again = save_edits(conn, plot, done["version"], {"disputed": "on", "disputed_since": "2025-03-01"},
                           actor="xa1")
        assert again["changed"] == [] and again["version"] == done["version"]
        row = conn.execute(sa.text("SELECT disputed, disputed_since::text FROM geoland.plot WHERE id = :p"),
                           {"p": plot}).one()
    assert tuple(row) == (True, "2025-03-01")


def test_check_changed_since_rechecks_what_was_edited_without_a_recheck(checked, geoland_cli):
    import datetime as dt
    import json

    with connect(checked) as conn:
        plot = _plot_missing(conn, "missing_land_use")
        done = save_edits(conn, plot, current_values(conn, plot)["version"], {"land_use": "ONT"}, actor="xa1",
                          source="command", recheck=False)
        assert "missing_land_use" in _open(conn, plot)          # not re-checked yet
    code, out, err = geoland_cli("check", "--changed-since", "2999-01-01", "--json")
    assert code == 0, err
    assert json.loads(out)["edited_plots"] == 0
    code, out, err = geoland_cli("check", "--changed-since", str(done["job_id"]), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["edited_plots"] == 1 and result["closed"] >= 1 and result["plots"] >= 1
    with connect(checked) as conn:
        assert "missing_land_use" not in _open(conn, plot)
    code, out, err = geoland_cli("check", "--changed-since", dt.date.today().isoformat())
    assert code == 0 and "1 plots edited since" in out and "0 closed" in out
    code, _, err = geoland_cli("check", "--changed-since", "yesterday")
    assert code != 0 and "a date YYYY-MM-DD or a job id" in err


def test_progress_over_time_counts_each_check_and_the_corrections(checked, geoland_cli, tmp_path):
    import csv
    import json

    with connect(checked) as conn:
        plot = _plot_missing(conn, "missing_land_use")
        save_edits(conn, plot, current_values(conn, plot)["version"], {"land_use": "ONT", "disputed": "on"},
                   actor="xa1")
        n = conn.execute(sa.text("SELECT count(*) FROM geoland.plot")).scalar()
    assert geoland_cli("check", "--province", "99")[0] == 0              # a second run, after the correction
    out = tmp_path / "progress.csv"
    code, stdout, err = geoland_cli("progress", "--province", "99", "--out", out, "--json")
    assert code == 0, err
    result = json.loads(stdout)
    first, second = result["runs"][-2:]
    assert first["plots"] == second["plots"] == n
    assert second["missing_1_plus"] <= first["missing_1_plus"] and second["full_data"] >= first["full_data"]
    assert second["full_data"] + second["missing_1_plus"] == n
    assert result["corrections"] == [{"day": result["corrections"][0]["day"], "actor": "xa1", "source": "form",
                                      "values": 2, "plots": 1}]
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["job_id"] for r in rows} >= {str(first["job_id"]), str(second["job_id"])}
    assert sum(int(r["plots"]) for r in rows if r["job_id"] == str(second["job_id"])) == n
    code, text, _ = geoland_cli("progress", "--province", "99")
    assert code == 0 and "full data" in text and "xa1" in text
    code, _, err = geoland_cli("report", "--province", "99", "--out", tmp_path / "report")
    assert code == 0, err
    page = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "Tiến độ chiến dịch" in page and page.count('data-series="full_data"') == 1 and "xa1" in page
    assert "tranh chấp (danh sách: disputed.csv): 1<" in page
    listed = (tmp_path / "report" / "disputed.csv").read_text(encoding="utf-8").splitlines()
    assert len(listed) == 2 and listed[1].startswith(f"{plot},")


def test_the_edit_command_uses_the_same_rules_version_and_history(checked, geoland_cli):
    import json

    with connect(checked) as conn:
        plot = _plot_missing(conn, "missing_id_number")
        version = current_values(conn, plot)["version"]
    code, _, err = geoland_cli("plots", "edit", str(plot), "--version", str(version), "--set", "id_number=0140900012")
    assert code != 0 and "id_number: not_12_digits" in err and "0140900012" not in err
    code, out, err = geoland_cli("plots", "edit", str(plot), "--version", str(version),
                                 "--set", f"id_number={GOOD_CCCD}", "--set", "birth_year=1990", "--json")
    assert code == 0, err
    assert json.loads(out)["version"] == version + 1
    code, _, err = geoland_cli("plots", "edit", str(plot), "--version", str(version), "--set", "land_use=ONT")
    assert code != 0 and f"at version {version + 1}" in err
    with connect(checked) as conn:
        assert {h["source"] for h in changes(conn, plot)} == {"command"}
        assert "missing_id_number" not in _open(conn, plot)


def test_a_missing_certificate_series_is_supplemented_in_the_register(checked):
    with connect(checked) as conn:
        plot = _plot_missing(conn, "missing_certificate")
        version = current_values(conn, plot)["version"]
        with pytest.raises(EditRefused) as refused:
            save_edits(conn, plot, version, {"certificate_series": "12345"}, actor="xa1")
        assert refused.value.problems == {"certificate_series": "series_format"}
        done = save_edits(conn, plot, version, {"certificate_series": "zz 12345678"}, actor="xa1")
        assert done["changed"] == ["certificate_series"]
        now = current_values(conn, plot)
        assert now["certificate_series"] == "ZZ 12345678" and "missing_certificate" not in _open(conn, plot)
        assert conn.execute(sa.text("SELECT certificate_serial FROM geoland.plot WHERE id = :p"),
                            {"p": plot}).scalar() == "ZZ 12345678"            # what the export carries
        rights = conn.execute(sa.text("SELECT count(*) FROM geoland.land_right WHERE plot_id = :p "
                                      "AND certificate_id = :c"), {"p": plot, "c": now["certificate_id"]}).scalar()
        assert rights >= 1                                                   # the holder's right is on it
        other, series = conn.execute(sa.text("""SELECT cp.plot_id, c.series FROM geoland.certificate_plot cp
            JOIN geoland.certificate c ON c.id = cp.certificate_id WHERE c.status = 'valid' AND cp.plot_id <> :p
            ORDER BY 1 LIMIT 1"""), {"p": plot}).one()
        with pytest.raises(EditRefused) as refused:                            # another certificate's series
            save_edits(conn, plot, now["version"], {"certificate_series": series}, actor="xa1")
        assert refused.value.problems == {"certificate_series": "series_taken"}
        assert other != plot
        with pytest.raises(EditRefused) as refused:
            save_edits(conn, plot, now["version"], {"certificate_book": "số 12", "certificate_form": "mẫu lạ"},
                       actor="xa1")
        assert refused.value.problems == {"certificate_book": "book_format", "certificate_form": "unknown_form"}
        save_edits(conn, plot, now["version"], {"certificate_book": "ch00123", "certificate_issued_on": "2016-05-20",
                                                "certificate_form": "2014", "certificate_authority": "UBND huyện"},
                   actor="xa1")
        stored = conn.execute(sa.text("SELECT book_number, issued_on::text, form, authority FROM geoland.certificate "
                                      "WHERE id = :c"), {"c": now["certificate_id"]}).one()
        assert tuple(stored) == ("CH00123", "2016-05-20", "gcn_2014", "UBND huyện")
        bare = conn.execute(sa.text("""SELECT p.id FROM geoland.plot p WHERE NOT EXISTS (SELECT FROM
            geoland.certificate_plot cp WHERE cp.plot_id = p.id) ORDER BY p.id LIMIT 1""")).scalar_one()
        with pytest.raises(EditRefused) as refused:
            save_edits(conn, bare, current_values(conn, bare)["version"], {"certificate_book": "CH00124"},
                       actor="xa1")
        assert refused.value.problems == {"certificate_book": "no_certificate"}


def test_co_holders_shares_are_saved_per_certificate_and_reverted_together(checked):
    from geoland.review.edits import save_shares

    with connect(checked) as conn:
        plot, first, party, certificate = conn.execute(sa.text("""SELECT r.plot_id, r.id, r.party_id, r.certificate_id
            FROM geoland.land_right r WHERE r.plot_id IS NOT NULL AND r.certificate_id IS NOT NULL
            ORDER BY r.id LIMIT 1""")).one()
        other = conn.execute(sa.text("INSERT INTO geoland.party (kind) VALUES ('individual') RETURNING id")).scalar()
        second = conn.execute(sa.text("""INSERT INTO geoland.land_right (party_id, plot_id, role, certificate_id,
            province_code) SELECT :y, :p, 'co_user', :c,
            (SELECT coalesce(province_code, '') FROM geoland.plot WHERE id = :p) RETURNING id"""),
            {"y": other, "p": plot, "c": certificate}).scalar()
    with connect(checked) as conn:                          # two whole shares on one certificate: 1/1 + 1/1
        from geoland.pipeline.quality import recheck
        job = conn.execute(sa.text("SELECT max(id) FROM geoland.job")).scalar()
        recheck(conn, [plot], job_id=job)
        assert "share_sum" in _open(conn, plot)
        version = current_values(conn, plot)["version"]
        with pytest.raises(EditRefused) as refused:
            save_shares(conn, plot, version, {first: "2/3", second: "1/2"}, actor="xa1")
        assert refused.value.problems == {f"share:{first}": "shares_sum", f"share:{second}": "shares_sum"}
        with pytest.raises(EditRefused) as refused:
            save_shares(conn, plot, version, {first: "một nửa", second: "1/2"}, actor="xa1")
        assert refused.value.problems == {f"share:{first}": "share_format"}
        done = save_shares(conn, plot, version, {first: "0,5", second: "50%"}, actor="xa1")
        assert done["changed"] == [f"share:{first}", f"share:{second}"] and done["version"] == version + 1
        assert "share_sum" not in _open(conn, plot)
        shares = conn.execute(sa.text("SELECT share_num, share_den FROM geoland.land_right WHERE id = ANY(:r) "
                                      "ORDER BY id"), {"r": [first, second]}).all()
        assert [tuple(s) for s in shares] == [(1, 2), (1, 2)]
        edit = next(h for h in changes(conn, plot) if h["field"] == "share")
        revert_edit(conn, edit["id"], actor="admin")             # both go back: one save, one sum
        shares = conn.execute(sa.text("SELECT share_num, share_den FROM geoland.land_right WHERE id = ANY(:r) "
                                      "ORDER BY id"), {"r": [first, second]}).all()
        assert [tuple(s) for s in shares] == [(1, 1), (1, 1)] and "share_sum" in _open(conn, plot)
        assert party != other


def test_an_assets_values_are_saved_checked_and_reverted(checked):
    from geoland.review.edits import save_assets

    with connect(checked) as conn:
        plot = conn.execute(sa.text("SELECT min(id) FROM geoland.plot")).scalar()
        asset = conn.execute(sa.text("INSERT INTO geoland.asset (kind, floor_area) VALUES ('house', 80) "
                                     "RETURNING id")).scalar()
        conn.execute(sa.text("INSERT INTO geoland.asset_plot (asset_id, plot_id, province_code) "
                     "SELECT :a, :p, (SELECT coalesce(province_code, '') FROM geoland.plot WHERE id = :p)"),
                     {"a": asset, "p": plot})
    with connect(checked) as conn:
        version = current_values(conn, plot)["version"]
        with pytest.raises(EditRefused) as refused:
            save_assets(conn, plot, version, {asset: {"floors": "0", "year_built": "1700"}}, actor="xa1")
        assert refused.value.problems == {f"asset:{asset}:floors": "not_positive",
                                          f"asset:{asset}:year_built": "built_out_of_range"}
        done = save_assets(conn, plot, version, {asset: {"floor_area": "96,5", "floors": "3", "year_built": "2012",
                                                         "structure": "khung bê tông"}}, actor="xa1")
        assert len(done["changed"]) == 4 and done["version"] == version + 1
        row = conn.execute(sa.text("SELECT floor_area, floors, year_built, structure FROM geoland.asset "
                                   "WHERE id = :a"), {"a": asset}).one()
        assert tuple(row) == (96.5, 3, 2012, "khung bê tông")
        edit = next(h for h in changes(conn, plot) if h["field"] == "floor_area")
        revert_edit(conn, edit["id"], actor="admin")
        assert conn.execute(sa.text("SELECT floor_area FROM geoland.asset WHERE id = :a"), {"a": asset}).scalar() == 80
        other = conn.execute(sa.text("INSERT INTO geoland.asset (kind) VALUES ('house') RETURNING id")).scalar()
        with pytest.raises(InvalidInput):
            save_assets(conn, plot, version + 2, {other: {"floors": "2"}}, actor="xa1")


def test_a_co_holders_identity_is_supplemented_and_reverted(checked):
    from geoland.review.edits import holders_of, save_holders

    with connect(checked) as conn:
        plot, certificate = conn.execute(sa.text("SELECT plot_id, certificate_id FROM geoland.land_right "
                                                 "WHERE plot_id IS NOT NULL ORDER BY id LIMIT 1")).one()
        wife = conn.execute(sa.text("INSERT INTO geoland.party (kind) VALUES ('individual') RETURNING id")).scalar()
        conn.execute(sa.text("INSERT INTO geoland.party_personal (party_id, name) VALUES (:y, 'Lò Thị Ánh')"),
                     {"y": wife})
        conn.execute(sa.text("INSERT INTO geoland.land_right (party_id, plot_id, role, certificate_id, "
                             "province_code) SELECT :y, :p, 'co_user', :c, "
                             "(SELECT coalesce(province_code, '') FROM geoland.plot WHERE id = :p)"),
                     {"y": wife, "p": plot, "c": certificate})
    with connect(checked) as conn:
        assert wife in holders_of(conn, plot)
        version = current_values(conn, plot)["version"]
        with pytest.raises(EditRefused) as refused:
            save_holders(conn, plot, version, {wife: {"id_number": "01419000123", "birth_year": "1990"}}, actor="xa1")
        assert refused.value.problems == {f"holder:{wife}:id_number": "not_12_digits"}
        done = save_holders(conn, plot, version, {wife: {"id_number": "014190001234", "birth_year": "1990"}},
                            actor="xa1")
        assert set(done["changed"]) == {f"holder:{wife}:id_number", f"holder:{wife}:birth_year"}
        assert holders_of(conn, plot)[wife]["id_number"] == "014190001234"
        edit = next(h for h in changes(conn, plot, unmasked=True) if h["field"] == "id_number")
        assert edit["personal"] and edit["new_value"] == "014190001234"
        revert_edit(conn, edit["id"], actor="admin")
        assert holders_of(conn, plot)[wife]["id_number"] is None
        first = current_values(conn, plot)
        assert first["party_id"] != wife                        # the land user was not touched
