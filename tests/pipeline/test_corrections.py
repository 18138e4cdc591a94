"""Commune workbooks (issue 17): template → filled in code with openpyxl (as an officer fills it in Excel) → apply;
the findings close and the history names the workbook; applying twice changes nothing; one bad cell or a
conflict with a later form edit changes nothing and is named by sheet, row and column."""

import json

import openpyxl
import pytest
import sqlalchemy as sa

from geoland.pipeline.corrections import SHEET
from geoland.review.edits import current_values, save_edits
from geoland.review.users import add_user
from geoland.store.db import connect

GOOD_CCCD = "014090001234"


@pytest.fixture
def commune(checked_province):
    with connect(checked_province(800)) as conn:
        return conn.execute(sa.text("""SELECT a.commune_code FROM geoland.finding_current f
            JOIN geoland.plot_assignment_current a USING (plot_id) WHERE f.type = 'missing_id_number'
            GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""")).scalar_one()


def _template(geoland_cli, tmp_path, commune, *options):
    out = tmp_path / f"so-bo-sung-{commune}.xlsx"
    code, stdout, err = geoland_cli("corrections", "template", "--commune", commune, "--out", out, "--json", *options)
    assert code == 0, err
    return out, json.loads(stdout)


def _rows(book):
    keys = [c.value for c in book["Danh muc"]["B"] if c.value is not None]
    return keys, {row[0].value: row for row in book[SHEET].iter_rows(min_row=2)}


def _plot_with(conn, commune, kind):
    return conn.execute(sa.text("""SELECT f.plot_id FROM geoland.finding_current f
        JOIN geoland.plot_assignment_current a USING (plot_id) JOIN geoland.land_user u USING (plot_id)
        WHERE a.commune_code = :c AND f.type = :t AND u.name IS NOT NULL ORDER BY 1 LIMIT 1"""),
        {"c": commune, "t": kind}).scalar_one()


def _open(conn, plot, kind):
    return conn.execute(sa.text("SELECT count(*) FROM geoland.finding_current WHERE plot_id = :p AND type = :t"),
                        {"p": plot, "t": kind}).scalar()


def test_template_fill_apply_closes_findings_and_records_the_workbook(db_url, commune, geoland_cli, tmp_path):
    out, written = _template(geoland_cli, tmp_path, commune)
    book = openpyxl.load_workbook(out)
    sheet = book[SHEET]
    assert book.sheetnames[0] == SHEET and book["Danh muc"].sheet_state == "hidden"
    assert sheet.protection.sheet and sheet.column_dimensions["B"].hidden
    keys, rows = _rows(book)
    assert keys[:2] == ["plot_id", "version"] and len(rows) == written["rows"]
    with connect(db_url) as conn:
        no_cccd, no_use = _plot_with(conn, commune, "missing_id_number"), _plot_with(conn, commune, "missing_land_use")
        stored = conn.execute(sa.text("SELECT count(*) FROM geoland.finding_current f JOIN "
                                      "geoland.plot_assignment_current a USING (plot_id) WHERE a.commune_code = :c"),
                              {"c": commune}).scalar()
    assert stored > 0
    cells = rows[no_cccd]
    assert cells[keys.index("plot_id")].protection.locked and not cells[keys.index("id_number")].protection.locked
    assert "*" in (cells[keys.index("holder_name")].value or "")            # names masked in the file
    assert "CCCD" in cells[keys.index("findings")].value or "định danh" in cells[keys.index("findings")].value
    rows[no_cccd][keys.index("id_number")].value = GOOD_CCCD
    rows[no_cccd][keys.index("birth_year")].value = 1990
    rows[no_use][keys.index("land_use")].value = "ONT"
    book.save(out)
    code, stdout, err = geoland_cli("corrections", "apply", out, "--dry-run", "--json")
    assert code == 0, err
    assert json.loads(stdout)["changed"] == 2 and json.loads(stdout)["dry_run"]
    with connect(db_url) as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM geoland.plot_edit")).scalar() == 0
        assert _open(conn, no_cccd, "missing_id_number") == 1
    code, stdout, err = geoland_cli("corrections", "apply", out, "--json")
    assert code == 0, err
    result = json.loads(stdout)
    assert result["changed"] == 2 and result["recheck"]["closed"] >= 2
    with connect(db_url) as conn:
        assert _open(conn, no_cccd, "missing_id_number") == 0 and _open(conn, no_use, "missing_land_use") == 0
        assert current_values(conn, no_cccd)["id_number"] == GOOD_CCCD
        sources = conn.execute(sa.text("SELECT DISTINCT source, source_ref, job_id FROM geoland.plot_edit")).all()
    assert sources == [("workbook", result["sha256"], result["job_id"])]
    # the same file again: nothing changes
    code, stdout, err = geoland_cli("corrections", "apply", out, "--json")
    assert code == 0, err
    again = json.loads(stdout)
    assert again["changed"] == 0 and again["unchanged"] == again["rows"]
    with connect(db_url) as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM geoland.plot_edit")).scalar() == result["values"]


def test_one_bad_cell_changes_nothing_and_is_named(db_url, commune, geoland_cli, tmp_path, db_snapshot):
    out, _ = _template(geoland_cli, tmp_path, commune, "--only", "missing")
    book = openpyxl.load_workbook(out)
    keys, rows = _rows(book)
    first, second = list(rows)[:2]
    rows[first][keys.index("land_use")].value = "ONT"                     # good
    rows[second][keys.index("id_number")].value = "01409000123"            # 11 digits
    row_number = rows[second][0].row
    book.save(out)
    before = db_snapshot(db_url)
    code, _, err = geoland_cli("corrections", "apply", out)
    assert code != 0
    column = openpyxl.utils.get_column_letter(keys.index("id_number") + 1)
    assert f"sheet '{SHEET}', row {row_number}, column {column} (id_number): not 12 digits" in err
    assert "01409000123" not in err and "nothing was applied" in err
    assert db_snapshot(db_url) == before
    code, _, err = geoland_cli("corrections", "apply", out, "--dry-run")
    assert code != 0 and "nothing was applied" in err


def test_a_workbook_older_than_a_form_edit_is_a_conflict(db_url, commune, geoland_cli, tmp_path):
    out, _ = _template(geoland_cli, tmp_path, commune)
    book = openpyxl.load_workbook(out)
    keys, rows = _rows(book)
    plot = next(iter(rows))
    with connect(db_url) as conn:                       # an officer saves the plot's form after the workbook
        now = current_values(conn, plot)
        form = "NTS" if now["land_use"] != "NTS" else "LUC"
        save_edits(conn, plot, now["version"], {"land_use": form}, actor="xa2")
    rows[plot][keys.index("land_use")].value = "ODT"
    book.save(out)
    code, _, err = geoland_cli("corrections", "apply", out)
    assert code != 0 and "changed after the workbook was written" in err
    assert f"yours 'ODT', now '{form}' (changed by xa2)" in err
    with connect(db_url) as conn:
        assert current_values(conn, plot)["land_use"] == form
    # the same value as the form's is no conflict: nothing to change
    rows[plot][keys.index("land_use")].value = form
    book.save(out)
    code, stdout, err = geoland_cli("corrections", "apply", out, "--json")
    assert code == 0, err
    assert json.loads(stdout)["changed"] == 0


def test_an_editor_applies_only_to_their_communes(db_url, commune, geoland_cli, tmp_path):
    out, _ = _template(geoland_cli, tmp_path, commune)
    with connect(db_url) as conn:
        other = conn.execute(sa.text("SELECT DISTINCT commune_code FROM geoland.plot_assignment_current "
                                     "WHERE commune_code <> :c ORDER BY 1 LIMIT 1"), {"c": commune}).scalar_one()
        add_user(conn, "xa-khac", "editor", "mat-khau-123", communes=(other,))
        add_user(conn, "xa-nay", "editor", "mat-khau-123", communes=(commune,))
    book = openpyxl.load_workbook(out)
    keys, rows = _rows(book)
    plot = next(iter(rows))
    rows[plot][keys.index("dispute_note")].value = "tranh chấp lối đi"
    book.save(out)
    code, _, err = geoland_cli("corrections", "apply", out, "--user", "xa-khac")
    assert code != 0 and "not in one of your communes" in err
    code, _, err = geoland_cli("corrections", "apply", out, "--user", "xa-nay", "--json")
    assert code == 0, err
    with connect(db_url) as conn:
        assert conn.execute(sa.text("SELECT actor FROM geoland.plot_edit WHERE plot_id = :p"),
                            {"p": plot}).scalar() == "xa-nay"


def test_a_workbook_supplements_certificate_series(db_url, commune, geoland_cli, tmp_path):
    out, _ = _template(geoland_cli, tmp_path, commune, "--only", "missing")
    book = openpyxl.load_workbook(out)
    keys, rows = _rows(book)
    with connect(db_url) as conn:
        plot = _plot_with(conn, commune, "missing_certificate")
    rows[plot][keys.index("certificate_series")].value = "XY 7654321"
    book.save(out)
    code, stdout, err = geoland_cli("corrections", "apply", out, "--json")
    assert code == 0, err
    assert json.loads(stdout)["changed"] == 1
    with connect(db_url) as conn:
        assert _open(conn, plot, "missing_certificate") == 0
        assert current_values(conn, plot)["certificate_series"] == "XY 7654321"
        assert conn.execute(sa.text("SELECT entity FROM geoland.plot_edit WHERE plot_id = :p"),
                            {"p": plot}).scalar() == "certificate"


def test_a_broken_or_oversized_workbook_is_refused_before_reading(db_url, commune, geoland_cli, tmp_path,
                                                                  monkeypatch):
    from geoland.pipeline import corrections

    broken = tmp_path / "so-bo-sung.xlsx"
    broken.write_bytes(b"Ma xa,So to\n04231,12\n")                      # a CSV saved under .xlsx
    code, _, err = geoland_cli("corrections", "apply", broken)
    assert code != 0 and "so-bo-sung.xlsx" in err and "not a readable .xlsx workbook" in err
    out, _ = _template(geoland_cli, tmp_path, commune)
    monkeypatch.setattr(corrections, "MAX_UNPACKED", 10_000)            # as a zip bomb would unpack
    code, _, err = geoland_cli("corrections", "apply", out)
    assert code != 0 and "more than a commune workbook can hold" in err


def test_a_plot_twice_in_a_workbook_is_named(db_url, commune, geoland_cli, tmp_path):
    out, _ = _template(geoland_cli, tmp_path, commune)
    book = openpyxl.load_workbook(out)
    keys, rows = _rows(book)
    first = next(iter(rows.values()))
    sheet = book[SHEET]
    sheet.append([c.value for c in first])
    copy = sheet.max_row
    sheet.cell(copy, keys.index("land_use") + 1).value = "ONT"
    book.save(out)
    code, _, err = geoland_cli("corrections", "apply", out)
    assert code != 0
    assert f"row {copy}, column A (plot_id): the same plot is on an earlier row (row {first[0].row})" in err
