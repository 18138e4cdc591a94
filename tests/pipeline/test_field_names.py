"""Field names of the software offices use (issue 15, item 2): ViLIS-style and national-structure layers import
with every field recognised and no options; numbers stored as reals, commune codes that lost their leading
zero and compound land-use purposes are read as offices mean them; unknown look-alike fields are suggested."""

import json

import geopandas as gpd
import pyogrio
import pytest
import shapely

from geoland.rules.fields import CATALOGUE, SOURCES, normalise, resolve_field_map, suggest_fields


def _boxes(n):
    return [shapely.box(505_000 + 30 * i, 2_355_000, 505_020 + 30 * i, 2_355_020) for i in range(n)]


def _stored(db_query, url):
    return db_query(url, "SELECT p.old_commune_code, p.sheet, p.plot_number, p.legal_area_m2, p.land_use, u.name "
                         "FROM geoland.plot p LEFT JOIN geoland.land_user u ON u.plot_id = p.id ORDER BY p.source_row")


def test_a_vilis_layer_imports_with_every_field_recognised(tmp_path, db_url, db_query, geoland_cli):
    # As ViLIS writes it: the commune as a real that lost its leading zero, sheet and plot as reals.
    frame = gpd.GeoDataFrame({
        "XAID": [9922.0, 9922.0, 9922.0], "SHBANDO": [12.0, 12.0, 13.0], "SHTHUA": ["7.0", "8", "1.0"],
        "DIENTICH": [350.5, 1204.0, 88.2], "KHLOAIDAT": ["ONT+CLN", "LUC", "ODT"], "MDSD2003": ["ONT", "LUC", "ODT"],
        "TENCHU": ["Lò Văn Pọm", "Quàng Thị Ún", "Cà Văn Đôi"], "DIACHI": ["Bản Hụm", "Bản Mòng", "Tổ 3"],
    }, geometry=_boxes(3), crs="EPSG:9206")
    path = tmp_path / "vilis_thua.shp"
    pyogrio.write_dataframe(frame, path, encoding="utf-8")
    code, out, err = geoland_cli("plots", "import", path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["fields"] == {"commune_code": "XAID", "sheet": "SHBANDO", "plot_number": "SHTHUA",
                                "legal_area": "DIENTICH", "land_use": "KHLOAIDAT", "certificate_serial": None,
                                "user_name": "TENCHU", "id_number": None, "birth_year": None}
    assert report["imported"] == 3 and report["quarantined"] == 0 and not report["field_suggestions"]
    assert _stored(db_query, db_url) == [("09922", 12, 7, 350.5, "ONT+CLN", "Lò Văn Pọm"),
                                         ("09922", 12, 8, 1204.0, "LUC", "Quàng Thị Ún"),
                                         ("09922", 13, 1, 88.2, "ODT", "Cà Văn Đôi")]
    attributes = db_query(db_url, "SELECT attributes FROM geoland.plot ORDER BY source_row")[0][0]
    assert attributes == {"MDSD2003": "ONT", "DIACHI": "Bản Hụm"}          # the rest kept as it is


@pytest.mark.parametrize("fmt", ["gpkg", "shp"])
def test_national_structure_names_in_full_and_cut_to_ten_characters(fmt, tmp_path, db_url, db_query, geoland_cli):
    frame = gpd.GeoDataFrame({
        "MaXa": ["03646", "03646"], "SoHieuToBanDo": [5, 5], "SoThuTuThua": [101, 102], "DienTich": [500.0, 75.5],
        "KyHieuMucDichSuDung": ["ONT", "CLN"],
    }, geometry=_boxes(2), crs="EPSG:9206")
    path = tmp_path / f"thuadat.{fmt}"
    pyogrio.write_dataframe(frame, path)
    fields = pyogrio.read_info(path)["fields"].tolist()
    if fmt == "shp":
        assert "SoHieuToBa" in fields and "KyHieuMucD" in fields                # what a DBF keeps
    code, out, err = geoland_cli("plots", "import", path, "--json")
    assert code == 0, err
    assert None not in [v for k, v in json.loads(out)["fields"].items()
                        if k in ("commune_code", "sheet", "plot_number", "legal_area", "land_use")]
    assert _stored(db_query, db_url) == [("03646", 5, 101, 500.0, "ONT", None), ("03646", 5, 102, 75.5, "CLN", None)]


def test_a_legacy_purpose_field_is_used_only_without_a_current_one():
    assert resolve_field_map(["MAXA", "MDSD2003"])["land_use"] == "MDSD2003"
    assert resolve_field_map(["MAXA", "KH2003", "KHLOAIDAT"])["land_use"] == "KHLOAIDAT"


def test_look_alike_fields_are_suggested_in_the_summary(tmp_path, db_url, geoland_cli):
    frame = gpd.GeoDataFrame({"MAXA": ["03646"], "SO_HIEU_TO": [3], "SOTHUA": [9], "GHICHU": ["x"]},
                             geometry=_boxes(1), crs="EPSG:9206")
    path = tmp_path / "thua.gpkg"
    pyogrio.write_dataframe(frame, path)
    code, out, err = geoland_cli("plots", "import", path)
    assert code == 0, err
    assert "fields not recognised that look like one: SO_HIEU_TO → sheet?" in out


def test_the_catalogue_is_one_table_with_a_source_for_every_name():
    assert all(f.source in SOURCES for f in CATALOGUE)
    owners = {}
    for f in CATALOGUE:
        owners.setdefault(normalise(f.name), set()).add(f.attribute)
    assert all(len(a) == 1 for a in owners.values())                       # no name claimed twice
    for name in ("SHBANDO", "SHTHUA", "DIENTICH", "KHLOAIDAT", "MALOAIDAT", "TENCHU", "XAID", "MDSD2003", "KH2003",
                 "MaXa", "SoHieuToBanDo", "SoThuTuThua", "DienTich", "KyHieuMucDichSuDung"):
        assert normalise(name) in owners, name


@pytest.mark.parametrize(("fields", "attribute", "expected"), [
    (["so_thua"], "plot_number", "so_thua"), (["Dien_Tich"], "legal_area", "Dien_Tich"),
    (["SOTHUTUTHU"], "plot_number", "SOTHUTUTHU"), (["ma_loai_dat"], "land_use", "ma_loai_dat"),
])
def test_case_and_underscore_variants(fields, attribute, expected):
    assert resolve_field_map(fields)[attribute] == expected


def test_no_suggestion_for_what_is_already_mapped_or_unlike():
    fields = ["MAXA", "SHBANDO", "SHTHUA", "GHICHU", "NGAYCAP"]
    assert suggest_fields(fields, resolve_field_map(fields)) == {}
