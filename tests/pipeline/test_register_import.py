"""Registry exports into the land register (issue 16): a workbook as a registry office writes it, with a couple on
one certificate, a household, an organisation holding several plots on one certificate, a cancelled certificate
replaced by a new one, a house owned by someone other than the land user, and a plot the land database has no
geometry for yet, which a later plot import attaches. Bad rows are all named and nothing is written."""

import datetime as dt

import geopandas as gpd
import openpyxl
import pyogrio
import pytest
import shapely

from geoland.sample.register import CERT_COLUMNS as CERT_HEADER
from geoland.sample.register import PARTY_COLUMNS as PARTY_HEADER
from geoland.sample.register import PLOT_COLUMNS as PLOT_HEADER
from geoland.sample.register import RIGHT_COLUMNS as RIGHT_HEADER

ASSET_HEADER = ["Mã tài sản", "Loại tài sản", "Thửa đất", "Diện tích sàn", "Số tầng", "Năm xây dựng", "Kết cấu",
                "Hình thể"]                       # no building column: an export without apartments


def write_book(path, sheets: dict[str, tuple[list, list]]):
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, (header, rows) in sheets.items():
        ws = book.create_sheet(name)
        ws.append(header)
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


@pytest.fixture
def province(load_province, db_url, db_query):
    """A synthetic province (99) with 300 plots (jobs 1–3; their layer's own holders and serials are in the
    register already); returns MX.SB.ST codes of its first plots and a plot number no plot has."""
    load_province(n_plots=300)
    rows = db_query(db_url, "SELECT old_commune_code || '.' || sheet || '.' || plot_number, id, "
                            "ST_AsText(ST_PointOnSurface(geom)) FROM geoland.plot ORDER BY id LIMIT 6")
    commune = rows[0][0].split(".")[0]
    return {"mx": [r[0] for r in rows], "ids": [r[1] for r in rows], "inside": [r[2] for r in rows],
            "commune": commune, "paper": f"{commune}.99.999"}


def registry(province):
    mx, paper = province["mx"], province["paper"]
    x, y = shapely.from_wkt(province["inside"][3]).coords[0]
    house = shapely.box(x - 4, y - 4, x + 4, y + 4).wkt
    return {
        "Giấy chứng nhận": (CERT_HEADER, [
            ["CT 100001", "CH00001", dt.datetime(2015, 5, 4), "UBND huyện Mai Sơn", "2014", "Còn hiệu lực", None],
            ["CT 100002", "CS00002", "12/01/2019", "Sở TN&MT Sơn La", "2014", None, None],
            ["BA 200003", "H00003", "03/03/2008", "UBND huyện Mai Sơn", "Sổ đỏ", None, "CT 100004"],
            ["CT 100004", "CS00004", "2020-06-30", "Sở TN&MT Sơn La", "2014", "Còn hiệu lực", None],
            ["DA 300005", "CS00005", "15/08/2025", "Văn phòng đăng ký đất đai", "2024", None, None],
        ]),
        "Thửa đất": (PLOT_HEADER, [
            ["CT 100001", mx[0], 250.5, "ONT"],
            ["CT 100002", mx[1], 1200, "SKC"], ["CT 100002", mx[2], 800, "SKC"],      # one certificate, two plots
            ["BA 200003", mx[3], 300, "ONT"], ["CT 100004", mx[3], 300, "ONT"],
            ["DA 300005", paper, 410.0, "LUC"],                                        # no geometry yet
        ]),
        "Chủ sử dụng": (PARTY_HEADER, [
            ["C1", "Cá nhân", "Lò Văn Pọm", 1080012345, 1980, "Nam", None, None, None],   # typed as a number
            ["C2", "Cá nhân", "Quàng Thị Ún", "001182000321", 1982, "Nữ", None, None, None],
            ["H1", "Hộ gia đình", "Hộ ông Cầm Văn Khụt", None, None, None, None, None, None],
            ["C3", "Cá nhân", "Cầm Văn Khụt", "001075004444", 1975, "Nam", None, "H1", "Chủ hộ"],
            ["T1", "Tổ chức", "Công ty TNHH Chè Mộc Châu", None, None, None, "0100109106", None, None],
            ["C4", "Cá nhân", "Tòng Văn Ơn", "001090007777", 1990, "Nam", None, None, None],
        ]),
        "Tài sản": (ASSET_HEADER, [["TS1", "Nhà ở riêng lẻ", mx[3], 120.5, 2, 2012, "Bê tông cốt thép", house]]),
        "Quyền": (RIGHT_HEADER, [
            ["C1", mx[0], None, "Sử dụng chung", "1/2", "ONT", "Lâu dài", "Nhà nước giao đất có thu tiền",
             "CT 100001"],
            ["C2", mx[0], None, "Sử dụng chung", "50%", "ONT", "Lâu dài", "Nhà nước giao đất có thu tiền",
             "CT 100001"],
            ["T1", mx[1], None, "Sử dụng", None, "SKC", "31/12/2064", "Thuê đất trả tiền hằng năm", "CT 100002"],
            ["T1", mx[2], None, "Sử dụng", None, "SKC", "2064", "Thuê đất trả tiền hằng năm", "CT 100002"],
            ["H1", mx[3], None, "Sử dụng", None, "ONT", "Lâu dài", "Công nhận QSDĐ", "BA 200003"],
            ["H1", mx[3], None, "Sử dụng", None, "ONT", "Lâu dài", "Công nhận QSDĐ", "CT 100004"],
            ["C4", None, "TS1", "Sở hữu", None, None, None, "Mua nhà", "CT 100004"],   # owner ≠ land user
            ["C3", paper, None, "Sử dụng", None, "LUC", "2043", "Nhà nước giao đất", "DA 300005"],
        ]),
    }


def test_a_registry_workbook_round_trips(tmp_path, province, db_url, db_query, geoland_cli, db_snapshot):
    book = write_book(tmp_path / "so-dia-chinh.xlsx", registry(province))
    code, out, err = geoland_cli("register", "import", book)
    assert code == 0, err
    assert "added: 5 certificates, 6 parties, 8 rights, 1 assets, 1 plots without geometry yet" in out
    mx, ids = province["mx"], province["ids"]
    q = lambda sql: db_query(db_url, sql)  # noqa: E731

    # the couple: two co-users, half each, on one certificate; the number typed as a number got its zero back
    assert q(f"""SELECT pp.name, pp.id_number, r.role, r.share_num, r.share_den, c.series FROM geoland.land_right r
                 JOIN geoland.party_personal pp ON pp.party_id = r.party_id
                 JOIN geoland.certificate c ON c.id = r.certificate_id WHERE r.plot_id = {ids[0]} AND r.job_id = 4
                 ORDER BY r.id""") == [
        ("Lò Văn Pọm", "001080012345", "co_user", 1, 2, "CT 100001"),
        ("Quàng Thị Ún", "001182000321", "co_user", 1, 2, "CT 100001")]
    # one certificate covering two plots of one organisation, with its tax code and a term
    assert q("""SELECT c.series, count(*) FROM geoland.certificate_plot cp JOIN geoland.certificate c
                ON c.id = cp.certificate_id WHERE c.job_id = 4 GROUP BY 1 ORDER BY 1""") == [
        ("BA 200003", 1), ("CT 100001", 1), ("CT 100002", 2), ("CT 100004", 1)]
    assert q("""SELECT DISTINCT y.kind, y.tax_code, r.term_end FROM geoland.land_right r
                JOIN geoland.party y ON y.id = r.party_id WHERE y.kind = 'organisation'""") == [
        ("organisation", "0100109106", dt.date(2064, 12, 31))]
    # the household and its member
    assert q("""SELECT h.kind, m.kind, hm.role FROM geoland.household_member hm JOIN geoland.party h
                ON h.id = hm.household_id JOIN geoland.party m ON m.id = hm.member_id""") == [
        ("household", "individual", "Chủ hộ")]
    # the old certificate replaced by the new one, both kept with the household's right on each
    assert q("""SELECT c.series, c.status, c.form, r.series FROM geoland.certificate c
                LEFT JOIN geoland.certificate r ON r.id = c.replaced_by WHERE c.job_id = 4 ORDER BY 1""") == [
        ("BA 200003", "replaced", "gcn_qsdd_1993", "CT 100004"), ("CT 100001", "valid", "gcn_2014", None),
        ("CT 100002", "valid", "gcn_2014", None), ("CT 100004", "valid", "gcn_2014", None),
        ("DA 300005", "valid", "gcn_2024", None)]
    # the house, owned by someone who is not the land user, its footprint in the plot's zone
    assert q("""SELECT a.kind, a.floor_area, a.floors, ST_SRID(a.footprint), ap.plot_id, pp.name, r.role
                 FROM geoland.asset a JOIN geoland.asset_plot ap ON ap.asset_id = a.id
                 JOIN geoland.land_right r ON r.asset_id = a.id
                 JOIN geoland.party_personal pp ON pp.party_id = r.party_id""") == [
        ("house", 120.5, 2, 9206, ids[3], "Tòng Văn Ơn", "owner")]
    # the plot known only on paper: counted, its certificate and its holder's right waiting on it
    assert q("""SELECT pp.commune_code, pp.sheet, pp.plot_number, pp.legal_area_m2, pp.land_use, pp.plot_id,
                       c.series, r.role FROM geoland.paper_plot pp
                JOIN geoland.certificate_paper_plot cpp ON cpp.paper_plot_id = pp.id
                JOIN geoland.certificate c ON c.id = cpp.certificate_id
                JOIN geoland.land_right r ON r.paper_plot_id = pp.id""") == [
        (province["commune"], 99, 999, 410.0, "LUC", None, "DA 300005", "user")]
    assert mx[0] in out or "register import" in out

    # the same file again: nothing changes
    before = db_snapshot(db_url)
    code, out, err = geoland_cli("register", "import", book)
    assert code == 0, err
    assert "added: 0 certificates, 0 parties, 0 rights, 0 assets, 0 plots without geometry yet" in out
    assert "0 values changed" in out
    after = db_snapshot(db_url)
    changed = {t for t in before if before[t] != after[t]}
    assert changed <= {"job", "audit_event"}, changed
    assert "nothing changed" in out

    # a later export of the same register: a book number corrected, a share corrected; updated with history
    later = registry(province)
    later["Giấy chứng nhận"][1][0][1] = "CH00001-A"
    later["Quyền"][1][0][4] = "1/3"
    later["Quyền"][1][1][4] = "2/3"
    code, out, err = geoland_cli("register", "import", write_book(tmp_path / "later.xlsx", later))
    assert code == 0, err
    assert "added: 0 certificates, 0 parties, 0 rights" in out
    assert q("""SELECT entity, field, old_value, new_value FROM geoland.register_change ORDER BY id""") == [
        ("certificate", "book_number", "CH00001", "CH00001-A"),
        ("right", "share_den", "2", "3"), ("right", "share_num", "1", "2"), ("right", "share_den", "2", "3")]
    assert q("SELECT count(*) FROM geoland.land_right WHERE job_id > 3") == [(8,)]

    # the plot on paper gets its geometry from a later plot layer: attached, never a second plot
    commune, sheet, number = province["paper"].split(".")
    layer = gpd.GeoDataFrame({"MAXA": [commune], "SHBANDO": [int(sheet)], "SOTHUA": [int(number)]},
                             geometry=[shapely.box(486_000, 2_346_000, 486_020, 2_346_020)], crs="EPSG:9206")
    pyogrio.write_dataframe(layer, tmp_path / "survey.gpkg")
    code, out, err = geoland_cli("plots", "import", tmp_path / "survey.gpkg")
    assert code == 0, err
    assert "1 plots known only from certificates got their geometry" in out, q(
        "SELECT old_commune_code, sheet, plot_number, import_id FROM geoland.plot WHERE sheet = 99")
    new_plot = q(f"SELECT id FROM geoland.plot WHERE old_commune_code = '{commune}' AND sheet = 99")[0][0]
    assert q("""SELECT pp.plot_id, r.plot_id, cp.plot_id FROM geoland.paper_plot pp
                JOIN geoland.land_right r ON r.paper_plot_id = pp.id
                JOIN geoland.certificate_paper_plot cpp ON cpp.paper_plot_id = pp.id
                JOIN geoland.certificate_plot cp ON cp.certificate_id = cpp.certificate_id""") == [
        (new_plot, new_plot, new_plot)]
    # the register names it by its MX code now, and finds the plot, not a second paper plot
    code, out, err = geoland_cli("register", "import", book)
    assert code == 0, err
    assert q("SELECT count(*) FROM geoland.paper_plot") == [(1,)]
    assert q("SELECT count(*) FROM geoland.land_right WHERE job_id > 3") == [(8,)]

    # forgetting the province's layer does not take away what the register said about its plots: they wait on
    # paper again, and the layer imported again gets them back
    register_rights = "SELECT count(*), count(plot_id), count(paper_plot_id) FROM geoland.land_right WHERE job_id = 4"
    assert q(register_rights) == [(8, 7, 1)]
    code, out, err = geoland_cli("plots", "forget", "1")
    assert code == 0, err
    assert q(register_rights) == [(8, 1, 7)]                   # the survey's plot (import 2) still holds its own
    assert q("SELECT count(*) FROM geoland.paper_plot WHERE plot_id IS NULL") == [(4,)]
    assert q("SELECT count(*) FROM geoland.certificate WHERE job_id = 4") == [(5,)]
    assert q("SELECT count(*) FROM geoland.asset_paper_plot") == [(1,)]
    layer = tmp_path / "province-99" / "plots.gpkg"
    code, out, err = geoland_cli("plots", "import", layer, "--province", "99")
    assert code == 0, err
    assert "4 plots known only from certificates got their geometry" in out
    assert q(register_rights) == [(8, 7, 7)]                   # the house owner's right is on the house
    assert q("SELECT count(*) FROM geoland.certificate_plot cp JOIN geoland.certificate c ON c.id = cp.certificate_id "
             "WHERE c.job_id = 4") == [(6,)]


def test_bad_rows_are_all_named_and_nothing_is_written(tmp_path, province, db_url, db_query, geoland_cli,
                                                        db_snapshot):
    sheets = registry(province)
    sheets["Quyền"][1][2][1] = "90001.77.123456"                 # no such plot, nor on a certificate
    sheets["Quyền"][1][1][4] = "3/4"                             # the couple's shares: 1/2 + 3/4 > 1
    sheets["Chủ sử dụng"][1][1][3] = "00118200032A"              # not a number
    sheets["Giấy chứng nhận"][1][1][5] = "Đang thế chấp"         # not a status
    book = write_book(tmp_path / "bad.xlsx", sheets)
    before = db_snapshot(db_url)
    code, out, err = geoland_cli("register", "import", book)
    assert code != 0
    assert str(book) in err and "nothing was imported" in err
    assert "sheet 'Quyền', row 4: unknown plot 90001.77.123456" in err
    assert "sheet 'Quyền', row 3: the shares of this object's holders on certificate CT 100001 add up to 5/4" in err
    assert "sheet 'Chủ sử dụng', row 3: ID number is not 12 digits (CCCD) or 9 digits (CMND)" in err
    assert "sheet 'Giấy chứng nhận', row 3: status 'Đang thế chấp' is not one of" in err
    assert "00118200032A" not in err and "Quàng" not in err          # no personal data in errors
    assert db_snapshot(db_url) == before

    # --keep-going: the good rows land, the bad ones and those that refer to them are quarantined with reasons
    code, out, err = geoland_cli("register", "import", book, "--keep-going")
    assert code == 0, err
    assert "8 rows quarantined (register_quarantine): 1 Giấy chứng nhận, 2 Thửa đất, 1 Chủ sử dụng, 4 Quyền" in out, out
    quarantined = {(s, r): reasons for s, r, reasons in db_query(
        db_url, "SELECT sheet, source_row, reasons FROM geoland.register_quarantine")}
    assert sorted(quarantined) == [("Chủ sử dụng", 3), ("Giấy chứng nhận", 3), ("Quyền", 2), ("Quyền", 3),
                                   ("Quyền", 4), ("Quyền", 5), ("Thửa đất", 3), ("Thửa đất", 4)]
    assert quarantined[("Quyền", 5)] == ["refers to Giấy chứng nhận CT 100002, quarantined (row 3)"]
    assert len(quarantined[("Quyền", 3)]) == 2                 # every reason: the shares, and the party set aside
    # the rest is in: the household's rights, the house, the plot on paper
    assert db_query(db_url, "SELECT count(*) FROM geoland.land_right WHERE job_id > 3") == [(4,)]
    assert db_query(db_url, "SELECT count(*) FROM geoland.certificate WHERE job_id > 3") == [(4,)]


@pytest.mark.parametrize("content, message", [
    (b"PK\x03\x04 not really a zip", "not a readable XLSX workbook"),
    (None, "hold rows but are not register sheets; rename them"),
])
def test_broken_workbooks_and_wrong_sheet_names(tmp_path, db_url, geoland_cli, db_snapshot, content, message):
    path = tmp_path / "export.xlsx"
    if content is None:
        write_book(path, {"Sheet1": (["Số phát hành"], [["CT 1"]])})
    else:
        path.write_bytes(content)
    before = db_snapshot(db_url)
    code, _, err = geoland_cli("register", "import", path)
    assert code != 0 and message in err and str(path) in err
    assert db_snapshot(db_url) == before


def test_the_register_checks_find_what_is_wrong(tmp_path, province, db_url, db_query, geoland_cli):
    """Each register check on a plot of its own (plots the layer gave no holder or certificate), and nothing on
    the plot whose register is right."""
    x, y = shapely.from_wkt(province["inside"][0]).coords[0]
    commune = province["commune"]
    land_use = ["ONT", "ONT", "ONT", "SKC", "LUC", "ONT", "ONT"]
    layer = gpd.GeoDataFrame({"MAXA": [commune] * 7, "SHBANDO": [500] * 7, "SOTHUA": list(range(1, 8)),
                              "LOAIDAT": land_use},
                             geometry=[shapely.box(x + 40 * i, y + 3000, x + 40 * i + 30, y + 3030) for i in range(7)],
                             crs="EPSG:9206")
    pyogrio.write_dataframe(layer, tmp_path / "clean.gpkg")
    assert geoland_cli("plots", "import", tmp_path / "clean.gpkg", "--province", "99")[0] == 0
    c = [f"{commune}.500.{i}" for i in range(1, 8)]
    other = db_query(db_url, f"SELECT old_commune_code || '.' || sheet || '.' || plot_number FROM geoland.plot "
                             f"WHERE old_commune_code <> '{commune}' AND certificate_serial IS NOT NULL AND id IN "
                             "(SELECT plot_id FROM geoland.land_user WHERE id_number IS NOT NULL) LIMIT 1")[0][0]
    box = lambda i, dx=0, size=8: shapely.box(x + 40 * i + 5 + dx, y + 3005, x + 40 * i + 5 + dx + size,  # noqa: E731
                                              y + 3005 + size).wkt
    sheets = {
        "GCN": (CERT_HEADER, [["CS 000001", "CS00001", None, None, None, None, None],
                              ["XY 12", "CS00002", None, None, None, None, None],           # series malformed
                              ["CS 000003", "CS01234", None, None, None, None, None],
                              ["CS 000004", "CS01234", None, None, None, None, None],       # same book number
                              ["CS 000006", "CS00006", None, None, None, None, None]]),
        "Thửa đất": (PLOT_HEADER, [["CS 000001", c[0], None, None], ["XY 12", c[1], None, None],
                                   ["XY 12", other, None, None],                             # two communes
                                   ["CS 000003", c[3], None, None], ["CS 000004", c[4], None, None],
                                   ["CS 000006", c[6], None, None]]),
        "Chủ sử dụng": (PARTY_HEADER, [
            ["A", "Cá nhân", "Lò Văn Pọm", "001080012345", 1980, None, None, None, None],
            ["B", "Cá nhân", "Quàng Thị Ún", "001182000321", 1982, None, None, None, None],
            ["A2", "Cá nhân", "Lò Văn Pộm Khác", "001080012345", 1980, None, None, None, None],  # same ID
            ["T", "Tổ chức", "HTX Chè", None, None, None, "0100109107", None, None],           # bad check digit
            ["N", "Cá nhân", "Cầm Thị Nọi", None, None, None, None, None, None],              # no ID
            ["G", "Cá nhân", "Tòng Văn Ơn", "001090007777", 1990, None, None, None, None]]),
        "Tài sản": (ASSET_HEADER, [["H1", "Nhà ở", c[0], 60, 1, 2010, None, box(0)],
                                   ["H2", "Nhà ở", c[0], 60, 1, 2010, None, box(0, dx=4)],    # overlaps H1
                                   ["H4", "Nhà ở", c[4], 60, 1, 2010, None, box(4, dx=20)]]),  # outside, on LUC
        "Quyền": (RIGHT_HEADER, [
            ["A", c[0], None, "Sử dụng chung", "1/2", None, None, None, "CS 000001"],
            ["B", c[0], None, "Sử dụng chung", "1/3", None, None, None, "CS 000001"],      # 1/2 + 1/3
            ["A2", c[1], None, "Sử dụng", None, None, None, None, "XY 12"],
            ["T", c[3], None, "Sử dụng", None, None, None, None, "CS 000003"],
            ["N", c[4], None, "Sử dụng", None, None, None, None, "CS 000004"],
            ["G", c[5], None, "Sử dụng", None, None, None, None, "CS 000001"],            # not on that certificate
            ["G", c[6], None, "Sử dụng", None, None, None, None, "CS 000006"]]),           # all right
    }
    code, _, err = geoland_cli("register", "import", write_book(tmp_path / "defects.xlsx", sheets))
    assert code == 0, err
    code, _, err = geoland_cli("check", "--province", "99")
    assert code == 0, err
    ids = dict(db_query(db_url, "SELECT old_commune_code || '.' || sheet || '.' || plot_number, id FROM geoland.plot "
                                "WHERE old_commune_code || '.' || sheet || '.' || plot_number = ANY(:c)",
                        c=[*c, other]))
    names = {v: k for k, v in ids.items()}
    register_types = ("certificate_format", "certificate_duplicate", "certificate_communes", "share_sum",
                      "party_conflict", "tax_code_invalid", "unidentified_holder", "rights_without_certificate",
                      "dangling_right", "house_outside_plot", "house_overlap", "house_not_allowed")
    found = {}
    for plot_id, kind, value in db_query(db_url, "SELECT plot_id, type, value FROM geoland.finding_current "
                                                 "WHERE type = ANY(:t) AND plot_id = ANY(:p)",
                                         t=list(register_types), p=list(ids.values())):
        found.setdefault(kind, {})[names[plot_id]] = value
    assert found == {
        "certificate_format": {c[1]: "series XY 12", other: "series XY 12"},
        "certificate_duplicate": {c[3]: "book number CS01234", c[4]: "book number CS01234",
                                  other: "2 valid certificates"},
        "certificate_communes": {c[1]: f"{sorted([commune, other[:5]])[0]},{sorted([commune, other[:5]])[1]}",
                                 other: f"{sorted([commune, other[:5]])[0]},{sorted([commune, other[:5]])[1]}"},
        "share_sum": {c[0]: "1/2+1/3"},
        "party_conflict": {c[0]: "1 holder(s)", c[1]: "1 holder(s)"},
        "tax_code_invalid": {c[3]: "tax_code_check_digit"},
        "unidentified_holder": {c[4]: "1 holder(s)"},
        "rights_without_certificate": {c[5]: None},
        "dangling_right": {c[5]: "CS 000001"},
        "house_outside_plot": {c[4]: "24.0"},                   # 3 m of its 8 m beyond the plot's edge
        "house_overlap": {c[0]: "32.0"},
        "house_not_allowed": {c[4]: "LUC"},
    }
    # the campaign: a plot with a holder not identified is missing data
    assert db_query(db_url, "SELECT category FROM geoland.finding_current WHERE plot_id = :p AND "
                            "type = 'unidentified_holder'", p=ids[c[4]]) == [("missing",)]


def test_the_register_round_trips_through_api_pages_report_and_export(tmp_path, province, db_url, db_query,
                                                                       geoland_cli):
    import json
    import re

    import pandas as pd

    from geoland.review.users import add_user
    from geoland.store.db import connect
    from web.app import create_app

    for args in (("reassign", "--province", "99"), ("codes", "issue", "--province", "99")):
        assert geoland_cli(*args)[0] == 0
    assert geoland_cli("register", "import", write_book(tmp_path / "so.xlsx", registry(province)))[0] == 0
    assert geoland_cli("check", "--province", "99")[0] == 0
    mx = province["mx"]
    code_of = dict(db_query(db_url, "SELECT p.old_commune_code || '.' || p.sheet || '.' || p.plot_number, c.code "
                                    "FROM geoland.plot p JOIN geoland.plot_code c ON c.plot_id = p.id"))
    with connect(db_url) as conn:
        token = add_user(conn, "xem", "viewer", "mat-khau-123", with_token=True)
        add_user(conn, "quan", "admin", "mat-khau-123")
    client = create_app(db_url, secret_key="t").test_client()
    get = lambda path: client.get(path, headers={"Authorization": f"Bearer {token}"})  # noqa: E731

    # the couple on one certificate, by identification code: shares and roles, names and numbers masked
    response = get(f"/api/plots/{code_of[mx[0]]}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Lò Văn Pọm" not in text and "001080012345" not in text and "Quàng Thị Ún" not in text
    register = response.get_json()["plots"][0]["register"]
    couple = [h for h in register["holders"] if h["certificate"] == "CT 100001"]
    assert [(h["name"], h["id_number"], h["role"], h["share"]) for h in couple] == [
        ("Lò V*** P***", "001******345", "co_user", "1/2"), ("Quàng T*** Ú**", "001******321", "co_user", "1/2")]
    # one certificate, two plots of one organisation (its name is not personal data); by the series
    plots = get("/api/plots/CT%20100002").get_json()["plots"]
    assert sorted(p["legacy_mx"] for p in plots) == sorted(mx[1:3])
    assert {h["name"] for p in plots for h in p["register"]["holders"] if h["kind"] == "organisation"} == \
        {"Công ty TNHH Chè Mộc Châu"}
    # the replaced certificate and its replacement, the household, the house of another owner
    fourth = get(f"/api/plots/{mx[3]}").get_json()["plots"][0]["register"]
    assert [(c["series"], c["status"], c["replaced_by"]) for c in fourth["certificates"]
            if c["series"] in ("BA 200003", "CT 100004")] == [("CT 100004", "valid", None),
                                                             ("BA 200003", "replaced", "CT 100004")]
    assert {h["kind"] for h in fourth["holders"]} >= {"household", "individual"}
    assert [(a["kind"], a["floor_area"]) for a in fourth["assets"]] == [("house", 120.5)]
    assert [h["role"] for h in fourth["holders"] if h["asset_id"]] == ["owner"]
    # the plot on paper only, by its certificate
    paper = get("/api/plots/da300005").get_json()
    assert paper["plots"] == [] and [p["sheet"] for p in paper["paper_plots"]] == [99]
    assert json.loads(geoland_cli("codes", "lookup", "DA 300005", "--json")[1])["paper_plots"][0]["plot_number"] == 999

    # the plot page: masked for everyone by default, in clear for an administrator who asks (audited)
    plot_id = province["ids"][0]
    admin = create_app(db_url, secret_key="t").test_client()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', admin.get("/login").get_data(as_text=True)).group(1)
    admin.post("/login", data={"username": "quan", "password": "mat-khau-123", "csrf_token": csrf, "next": "/"})
    page = admin.get(f"/plots/{plot_id}").get_data(as_text=True)
    assert "CT 100001" in page and "Sử dụng chung" in page and "1/2" in page and "Quàng Thị Ún" not in page
    assert "Quàng Thị Ún" in admin.get(f"/plots/{plot_id}?people=1").get_data(as_text=True)

    # the report counts the houses and the plots on paper; the export carries the house, and no person
    code, out, err = geoland_cli("report", "--province", "99", "--out", tmp_path / "report", "--json")
    assert code == 0, err
    counts = json.loads(out)["register"]
    assert (counts["houses"], counts["paper_plots"], counts["replaced_certificates"]) == (1, 1, 1)
    assert "Nhà ở riêng lẻ" in (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    code, out, err = geoland_cli("export", "--province", "99", "--out", tmp_path / "export")
    assert code == 0, err
    assets = pd.read_csv(tmp_path / "export" / "assets.csv", dtype=str)
    assert assets[["kind", "identification_code"]].values.tolist() == [["house", code_of[mx[3]]]]
    assert 103 < float(assets["lon"].iat[0]) < 106 and 20 < float(assets["lat"].iat[0]) < 23
    manifest = json.loads((tmp_path / "export" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"]["assets.csv"]["rows"] == 1
    assert json.loads(geoland_cli("export", "verify", tmp_path / "export", "--json")[1])["ok"]
    assert "Tòng" not in (tmp_path / "export" / "assets.csv").read_text(encoding="utf-8")


def test_a_workbook_typed_in_a_tcvn3_font_is_read_as_unicode(tmp_path, province, db_url, db_query, geoland_cli):
    from geoland.rules.vntext import unicode_to_legacy

    sheets = registry(province)
    for row in sheets["Chủ sử dụng"][1]:
        row[2] = unicode_to_legacy(row[2], "tcvn3")            # Họ tên typed with .VnTime
    for row in sheets["Giấy chứng nhận"][1]:
        row[3] = unicode_to_legacy(row[3], "tcvn3")
    code, out, err = geoland_cli("register", "import", write_book(tmp_path / "vntime.xlsx", sheets))
    assert code == 0, err
    assert "cells converted from TCVN3 to Unicode" in out
    names = {n for (n,) in db_query(db_url, "SELECT name FROM geoland.party_personal")}
    assert {"Lò Văn Pọm", "Cầm Văn Khụt", "Tòng Văn Ơn"} <= names
    assert db_query(db_url, "SELECT authority FROM geoland.certificate WHERE series = 'CT 100002'") == \
        [("Sở TN&MT Sơn La",)]
    assert db_query(db_url, "SELECT text_encoding FROM geoland.register_import") == [("tcvn3",)]
    detail = db_query(db_url, "SELECT detail::text FROM geoland.audit_event WHERE action = 'register.text_converted'")
    assert detail and "Lß" not in detail[0][0] and "Lò" not in detail[0][0]      # no name in the audit trail


def test_a_folder_of_csv_files_names_its_lines(tmp_path, province, db_url, geoland_cli, db_snapshot, db_query):
    """The same register as CSV files (one per sheet, as registry software exports large registers): read by
    line, a bad row named by its line, a cell over two lines read exactly."""
    import csv

    folder = tmp_path / "export"
    folder.mkdir()
    sheets = registry(province)
    sheets["Chủ sử dụng"][1][1][2] = "Quàng Thị\nÚn"                  # a name over two lines, quoted
    for name, (header, rows) in sheets.items():
        with open(folder / f"{name}.csv", "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows([[v.strftime("%d/%m/%Y") if hasattr(v, "strftime") else v for v in r] for r in rows])
    bad = folder / "Quyền.csv"
    text = bad.read_text(encoding="utf-8-sig").splitlines()
    text[2] = text[2].replace("Sử dụng chung", "Đồng chủ")                # line 3: an unknown role
    bad.write_text("\n".join(text) + "\n", encoding="utf-8")
    before = db_snapshot(db_url)
    code, _, err = geoland_cli("register", "import", folder)
    assert code != 0 and "sheet 'Quyền', row 3: role 'Đồng chủ' is not one of" in err
    assert db_snapshot(db_url) == before
    text[2] = text[2].replace("Đồng chủ", "Sử dụng chung")
    bad.write_text("\n".join(text) + "\n", encoding="utf-8")
    code, out, err = geoland_cli("register", "import", folder)
    assert code == 0, err
    assert "added: 5 certificates, 6 parties, 8 rights" in out
    assert ("Quàng Thị Ún",) in db_query(db_url, "SELECT name FROM geoland.party_personal")


def test_bulk_mode_gives_the_same_register_and_keeps_every_key(tmp_path, province, db_url, db_query, db_snapshot):
    """A registry export as large as the register drops its indexes and keys for the merge (a province's first
    export, at a million plots): the same register results, every index and key is back, the same file again
    changes nothing, and a later export is recorded as history."""
    from geoland.pipeline.plots import bulk_definitions
    from geoland.pipeline.register_import import REGISTER_TABLES, import_register
    from geoland.store.db import connect

    with connect(db_url) as conn:
        keys_before = bulk_definitions(conn, REGISTER_TABLES)
    book = write_book(tmp_path / "so-dia-chinh.xlsx", registry(province))
    with connect(db_url) as conn:
        result = import_register(conn, book, progress=False, bulk=True)
    assert (result.counts["certificates_added"], result.counts["parties_added"], result.counts["rights_added"],
            result.counts["household_members_added"]) == (5, 6, 8, 1)
    with connect(db_url) as conn:
        assert bulk_definitions(conn, REGISTER_TABLES) == keys_before
    q = lambda sql: db_query(db_url, sql)  # noqa: E731
    ids = province["ids"]
    assert q(f"""SELECT pp.id_number, r.role, r.share_num, r.share_den, c.series FROM geoland.land_right r
                 JOIN geoland.party_personal pp ON pp.party_id = r.party_id
                 JOIN geoland.certificate c ON c.id = r.certificate_id WHERE r.plot_id = {ids[0]} AND r.job_id = 4
                 ORDER BY r.id""") == [("001080012345", "co_user", 1, 2, "CT 100001"),
                                       ("001182000321", "co_user", 1, 2, "CT 100001")]
    assert q("""SELECT c.series, r.series FROM geoland.certificate c JOIN geoland.certificate r
                ON r.id = c.replaced_by""") == [("BA 200003", "CT 100004")]

    before = db_snapshot(db_url)
    with connect(db_url) as conn:
        again = import_register(conn, book, progress=False, bulk=True)
    assert again.unchanged and not any(again.counts.values())
    after = db_snapshot(db_url)
    assert {t for t in before if before[t] != after[t]} <= {"job", "audit_event"}

    later = registry(province)
    later["Giấy chứng nhận"][1][0][1] = "CH00001-A"
    with connect(db_url) as conn:
        import_register(conn, write_book(tmp_path / "later.xlsx", later), progress=False, bulk=True)
    assert q("SELECT entity, field, old_value, new_value FROM geoland.register_change") == [
        ("certificate", "book_number", "CH00001", "CH00001-A")]
    # a key restored is a key enforced: a second party with the same ID number is refused
    with pytest.raises(Exception, match="party_personal_id_number_key"), connect(db_url) as conn:
        conn.exec_driver_sql("INSERT INTO geoland.party (id, kind) VALUES (-1, 'individual')")
        conn.exec_driver_sql("INSERT INTO geoland.party_personal (party_id, id_number) VALUES (-1, '001080012345')")
