"""Plot import on real PostGIS: every driver round-trips the synthetic province, legacy text comes out as
Vietnamese, broken rows are quarantined with their reasons, and a killed import leaves nothing behind."""

import json
import math
import os
import signal
import subprocess
import sys
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from boundaries.synthetic import synthetic_reorganisation
from geoland.sample.cadastre import synthesize, write_synthetic

ATTRS = ["commune_code", "sheet", "plot_number", "legal_area", "land_use", "certificate_serial", "user_name",
         "id_number", "birth_year"]
# How the file states its CRS to the importer: CSV and DGN carry none.
CRS_ARGS = {"csv": ["--crs", "EPSG:9206"], "dgn": ["--meridian", "104"]}


@pytest.fixture(scope="module")
def province():
    """A small synthetic province on geoland's own communes (no sample data needed)."""
    reorg = synthetic_reorganisation(seed=0)
    return synthesize(reorg.old[["code", "name", "geometry"]], 1500, seed=11, province="14", new_communes=reorg.new)


def _stored(db_query, url, import_id):
    rows = db_query(url, """
        SELECT p.source_row, p.old_commune_code, p.sheet, p.plot_number, p.legal_area_m2, p.land_use,
               p.certificate_serial, u.name, u.id_number, u.birth_year, p.area_m2, p.repaired, ST_SRID(p.geom),
               ST_Perimeter(p.geom)
        FROM geoland.plot p LEFT JOIN geoland.land_user u ON u.plot_id = p.id
        WHERE p.import_id = :i ORDER BY p.source_row""", i=import_id)
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["row", *ATTRS, "area", "repaired", "srid", "perimeter"],
                         dtype=object)
    return frame.astype({"area": float, "perimeter": float, "repaired": bool})


@pytest.mark.parametrize("fmt", ["gpkg", "shp", "geojson", "fgb", "gdb", "csv", "dgn"])
def test_round_trip_every_driver(fmt, province, tmp_path, db_url, db_query, geoland_cli):
    out = tmp_path / f"plots.{fmt}"
    write_synthetic(province, out, fmt=fmt)
    code, stdout, err = geoland_cli("plots", "import", out, *CRS_ARGS.get(fmt, []), "--json")
    assert code == 0, err
    report = json.loads(stdout)
    truth, source = province.truth, province.plots
    assert report["rows_read"] == report["imported"] == len(source) and report["quarantined"] == 0
    stored = _stored(db_query, db_url, report["import_id"])
    assert list(stored["row"]) == list(range(1, len(source) + 1)) and (stored["srid"] == 9206).all()
    # Areas: recomputed from the stored geometry, equal to the generator's within 0.01 m² (DGN stores
    # integers of r = 0.1 mm: each vertex may move r/2, so the area by up to perimeter × r/2).
    valid = truth["computed_area_m2"].notna().to_numpy()
    diff = np.abs(stored["area"].to_numpy()[valid] - truth["computed_area_m2"].to_numpy()[valid])
    tolerance = 0.01 if fmt != "dgn" else np.maximum(0.01, stored["perimeter"].to_numpy()[valid] * 0.5e-4)
    assert (diff <= tolerance).all(), float(diff.max())
    # Invalid geometries were repaired and flagged, not dropped.
    assert stored["repaired"].to_numpy()[~valid].all() and (~valid).sum() >= 1
    if fmt == "dgn":
        return                                       # DGN v7 elements carry no attribute table
    expected = source[ATTRS].reset_index(drop=True)
    for column in ATTRS:
        got = stored[column].to_numpy(dtype=object)
        want = expected[column].to_numpy(dtype=object)
        for g, w in zip(got, want):
            if w is None or (isinstance(w, float) and math.isnan(w)):
                assert g is None, column
            elif column in ("sheet", "plot_number", "birth_year"):
                assert g == int(w), column
            elif column == "legal_area":
                assert g == pytest.approx(float(w)), column
            else:
                assert g == w, column


def test_personal_data_lives_apart(province, tmp_path, db_url, db_query, geoland_cli):
    out = tmp_path / "plots.gpkg"
    write_synthetic(province, out)
    assert geoland_cli("plots", "import", out)[0] == 0
    columns = {r[0] for r in db_query(db_url, "SELECT column_name FROM information_schema.columns "
                                              "WHERE table_schema = 'geoland' AND table_name = 'plot'")}
    assert not columns & {"name", "id_number", "birth_year", "tenchu", "socccd"}
    leaked = db_query(db_url, "SELECT count(*) FROM geoland.plot WHERE attributes::text ~ '[0-9]{12}' "
                              "OR attributes ?| array['TENCHU', 'SOCCCD', 'NAMSINH']")
    assert leaked == [(0,)]
    people = db_query(db_url, "SELECT count(*) FROM geoland.land_user WHERE name IS NOT NULL")[0][0]
    assert people == province.plots["user_name"].notna().sum()


def test_reimport_is_a_no_op(province, tmp_path, db_url, geoland_cli, db_snapshot):
    out = tmp_path / "plots.fgb"
    write_synthetic(province, out, fmt="fgb")
    assert geoland_cli("plots", "import", out)[0] == 0
    before = db_snapshot(db_url)
    code, stdout, _ = geoland_cli("plots", "import", out)
    assert code == 0 and "nothing changed" in stdout
    assert db_snapshot(db_url) == before


# Independent truth: TCVN3 and VNI text as it reads in Latin-1, typed from the encodings' tables.
LEGACY = {
    "tcvn3": [("NguyÔn V¨n Hïng", "Nguyễn Văn Hùng"), ("§Æng ThÞ Thu", "Đặng Thị Thu"),
              ("Céng hoµ x· héi chñ nghÜa ViÖt Nam", "Cộng hoà xã hội chủ nghĩa Việt Nam")],
    "vni": [("Nguyeãn Vaên Huøng", "Nguyễn Văn Hùng"), ("Ñaëng Thò Thu", "Đặng Thị Thu"),
            ("Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam", "Cộng hòa xã hội chủ nghĩa Việt Nam")],
}


@pytest.mark.parametrize("encoding", ["tcvn3", "vni"])
def test_legacy_dbf_text_becomes_vietnamese(encoding, tmp_path, db_url, db_query, geoland_cli):
    pairs = LEGACY[encoding]
    n = len(pairs)
    frame = gpd.GeoDataFrame({
        "MAXA": ["03646"] * n, "SHBANDO": [1] * n, "SOTHUA": list(range(1, n + 1)), "DIENTICH": [400.0] * n,
        "LOAIDAT": ["ONT"] * n, "TENCHU": [legacy for legacy, _ in pairs], "GHICHU": [legacy for legacy, _ in pairs],
    }, geometry=[shapely.box(500_000 + 30 * i, 2_350_000, 500_020 + 30 * i, 2_350_020) for i in range(n)],
        crs="EPSG:9206")
    path = tmp_path / "legacy.shp"
    pyogrio.write_dataframe(frame, path, encoding="latin1")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    assert pairs[0][0].encode("latin1") in path.with_suffix(".dbf").read_bytes()   # legacy bytes on disk
    code, out, err = geoland_cli("plots", "import", path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["text_encoding"] == encoding
    rows = db_query(db_url, "SELECT u.name, p.attributes->>'GHICHU', i.text_encoding FROM geoland.plot p "
                            "JOIN geoland.land_user u ON u.plot_id = p.id JOIN geoland.plot_import i "
                            "ON i.id = p.import_id ORDER BY p.source_row")
    assert [r[0] for r in rows] == [unicode for _, unicode in pairs]
    assert [r[1] for r in rows] == [unicode for _, unicode in pairs]
    assert db_query(db_url, "SELECT count(*) FROM geoland.audit_event WHERE action = 'plots.text_converted' "
                            "AND detail->>'from' = :e", e=encoding) == [(1,)]


@pytest.mark.parametrize("encoding", ["tcvn3", "vni"])
def test_synthetic_legacy_shapefile_round_trips(encoding, province, tmp_path, db_url, db_query, geoland_cli):
    out = tmp_path / "legacy.shp"
    write_synthetic(province, out, fmt="shp", encoding=encoding)
    assert not out.with_suffix(".cpg").exists()
    code, stdout, err = geoland_cli("plots", "import", out, "--json")
    assert code == 0, err
    assert json.loads(stdout)["text_encoding"] == encoding
    names = [r[0] for r in db_query(db_url, "SELECT u.name FROM geoland.land_user u JOIN geoland.plot p "
                                            "ON p.id = u.plot_id WHERE u.name IS NOT NULL ORDER BY p.source_row")]
    expected = [n for n in province.plots["user_name"] if isinstance(n, str)]
    if encoding == "tcvn3":      # TCVN3 has no capital toned letters: they come back in lower case
        expected = [" ".join(w if w[0] in "ĂÂÊÔƠƯĐ" or w[0].isascii() else w[0].lower() + w[1:]
                             for w in n.split()) for n in expected]
    assert names == expected


def _broken_csv(path):
    good = "POLYGON ((500000 2350000, 500020 2350000, 500020 2350020, 500000 2350020, 500000 2350000))"
    rows = [
        (good, "03646", "1", "1", "400", "ONT", "Nguyễn Văn A", "014090001234"),
        ("POLYGON ((500000 2350000, 500020", "03646", "1", "2", "400", "ONT", "Lò Văn B", "014090001235"),
        ("POLYGON EMPTY", "03646", "1", "3", "400", "ONT", "", ""),
        ("LINESTRING (500000 2350000, 500020 2350020)", "03646", "1", "4", "400", "ONT", "", ""),
        (good.replace("500000", "500040").replace("500020", "500060"), "03646", "1", "5", "bốn trăm", "ONT", "", ""),
        (good.replace("500000", "500080").replace("500020", "500100"), "3646A", "1", "6", "400", "ONT", "", ""),
        (good.replace("500000", "500120").replace("500020", "500140"), "03646", "abc", "7", "400", "ONT", "", ""),
        ("POLYGON ((103.9 21.3, 103.91 21.3, 103.91 21.31, 103.9 21.3))", "03646", "1", "8", "400", "ONT", "", ""),
        ("POLYGON ((500200 2350000, 500210 2350000, 500220 2350000, 500200 2350000))", "03646", "1", "9", "0",
         "ONT", "", ""),
        (good.replace("500000", "500300").replace("500020", "500320"), "03646", "1", "10", "399,5", "ont", "", ""),
        ("", "03646", "1", "11", "400", "ONT", "", ""),
    ]
    frame = pd.DataFrame(rows, columns=["WKT", "MAXA", "SOTO", "SOTHUA", "DIENTICH", "LOAIDAT", "TENCHU", "SOCCCD"])
    frame.to_csv(path, index=False)
    return frame


def test_broken_rows_are_quarantined_with_reasons(tmp_path, db_url, db_query, geoland_cli):
    path = tmp_path / "broken.csv"
    _broken_csv(path)
    code, out, err = geoland_cli("plots", "import", path, "--crs", "EPSG:9206", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["rows_read"] == 11 and report["imported"] + report["quarantined"] == report["rows_read"]
    assert report["imported"] == 2 and report["quarantined"] == 9
    reasons = dict(db_query(db_url, "SELECT source_row, reason FROM geoland.plot_quarantine ORDER BY 1"))
    assert "unparseable geometry 'POLYGON ((500000 2350000, 500020'" in reasons[2]
    assert reasons[3] == "empty geometry"
    assert "geometry is a LineString" in reasons[4]
    assert reasons[5] == "DIENTICH 'bốn trăm' is not an area in m² (a number ≥ 0)"
    assert reasons[6] == "MAXA '3646A' is not a commune code"
    assert "SOTO 'abc' is not a sheet number" in reasons[7]
    assert "coordinates outside VN-2000 TM-3 zone EPSG:9206" in reasons[8] and "wrong CRS?" in reasons[8]
    assert "cannot be repaired" in reasons[9]
    assert reasons[11] == "no geometry"
    stored = db_query(db_url, "SELECT source_row, legal_area_m2, land_use FROM geoland.plot ORDER BY 1")
    assert stored == [(1, 400.0, "ONT"), (10, 399.5, "ONT")]          # decimal comma read, code upper-cased
    # The quarantined row keeps its data, personal data apart from the rest.
    (attributes, personal, source), = db_query(db_url, "SELECT attributes, personal, source FROM "
                                                       "geoland.plot_quarantine WHERE source_row = 2")
    assert personal == {"name": "Lò Văn B", "id_number": "014090001235", "birth_year": None}
    assert "TENCHU" not in attributes and source.endswith("broken.csv")


def test_layer_without_crs_says_what_to_pass(tmp_path, db_url, geoland_cli):
    path = tmp_path / "nocrs.csv"
    _broken_csv(path)
    code, _, err = geoland_cli("plots", "import", path)
    assert code == 1 and "nocrs.csv: the layer has no CRS: pass --crs EPSG:NNNN" in err and "--meridian" in err
    code, _, err = geoland_cli("plots", "import", path, "--crs", "EPSG:9206", "--meridian", "104")
    assert code == 1 and "either --crs or --meridian" in err
    code, _, err = geoland_cli("plots", "import", path, "--meridian", "104.2")
    assert code == 1 and "not one of the VN-2000 TM-3 zones" in err


def test_field_mapping_file(tmp_path, db_url, db_query, geoland_cli):
    frame = gpd.GeoDataFrame({"MA_XA_CU": ["3646"], "TO": [2], "THUA_SO": [7], "DT": [400.0],
                              "CHU": ["Trần Thị C"], "DIACHI_CHU": ["Bản Mòng"], "GHICHU": ["ok"]},
                             geometry=[shapely.box(500_000, 2_350_000, 500_020, 2_350_020)], crs="EPSG:9206")
    path = tmp_path / "custom.gpkg"
    frame.to_file(path)
    mapping = tmp_path / "map.toml"
    mapping.write_text('[fields]\ncommune_code = "MA_XA_CU"\nsheet = "TO"\nplot_number = "THUA_SO"\n'
                       'user_name = "CHU"\n\n[personal]\nextra = ["DIACHI_CHU"]\n', encoding="utf-8")
    code, out, err = geoland_cli("plots", "import", path, "--fields", mapping)
    assert code == 0, err
    assert "commune_code←MA_XA_CU" in out and "sheet←TO" in out and "legal_area←DT" in out
    (row,) = db_query(db_url, "SELECT p.old_commune_code, p.sheet, p.plot_number, p.legal_area_m2, p.attributes, "
                              "u.name, u.extra FROM geoland.plot p JOIN geoland.land_user u ON u.plot_id = p.id")
    assert row == ("03646", 2, 7, 400.0, {"GHICHU": "ok"}, "Trần Thị C", {"DIACHI_CHU": "Bản Mòng"})
    bad = tmp_path / "bad.toml"
    bad.write_text('[fields]\nsheet = "NO_SUCH"\n', encoding="utf-8")
    code, _, err = geoland_cli("plots", "import", path, "--fields", bad)
    assert code == 1 and "bad.toml" in err and "'NO_SUCH' given for sheet is not in the layer" in err


def test_killed_import_leaves_nothing(tmp_path, db_url, db_query, db_snapshot):
    reorg = synthetic_reorganisation(seed=0)
    big = synthesize(reorg.old[["code", "name", "geometry"]], 120_000, seed=2)
    path = tmp_path / "big.gpkg"
    write_synthetic(big, path)
    before = db_snapshot(db_url)
    catalog = _catalog(db_url, db_query)
    proc = subprocess.Popen([sys.executable, "-m", "geoland.cli", "plots", "import", str(path)],
                            env={**os.environ, "GEOLAND_DATABASE_URL": db_url}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    copying = False
    while time.monotonic() < deadline and proc.poll() is None:
        copying = bool(db_query(db_url, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY geoland.plot %' "
                                        "AND datname = current_database()")[0][0])
        if copying:
            break
        time.sleep(0.05)
    assert copying, "the import never reached its COPY"
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30        # the server notices the dead client and rolls back
    while time.monotonic() < deadline and db_query(
            db_url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'geoland' "
                    "AND datname = current_database() AND pid <> pg_backend_pid()")[0][0]:
        time.sleep(0.1)
    assert db_snapshot(db_url) == before
    # Bulk mode had dropped constraints and indexes inside the transaction: every one is back, as it was.
    assert _catalog(db_url, db_query) == catalog


CATALOG = """
    SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
    WHERE conrelid IN ('geoland.plot'::regclass, 'geoland.land_user'::regclass)
    UNION ALL
    SELECT 'index', indrelid::regclass::text, indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
    WHERE indrelid IN ('geoland.plot'::regclass, 'geoland.land_user'::regclass)
    ORDER BY 1, 2, 3"""


def _catalog(url, db_query):
    return db_query(url, CATALOG)


def test_bulk_mode_restores_every_constraint_and_index(tmp_path, db_url, db_query):
    """A bulk import (≥ 50,000 plots into an empty table) drops what the catalog lists and builds exactly
    that again: names and definitions, indexes included."""
    from geoland.pipeline.plots import bulk_definitions
    from geoland.store.db import connect

    catalog = _catalog(db_url, db_query)
    with connect(db_url) as conn:
        constraints, indexes = bulk_definitions(conn)
    assert {name for _, name, _ in constraints} >= {"plot_import_id_fkey", "land_right_pkey",
                                                    "land_right_party_id_fkey"}
    assert {name.split(".")[-1] for name, _ in indexes} >= {"plot_geom_idx", "land_right_plot_idx"}
    assert "plot_pkey" not in {name for _, name, _ in constraints}        # other tables depend on it
    reorg = synthetic_reorganisation(seed=0)
    path = tmp_path / "bulk.gpkg"
    write_synthetic(synthesize(reorg.old[["code", "name", "geometry"]], 52_000, seed=3), path)
    done = subprocess.run([sys.executable, "-m", "geoland.cli", "plots", "import", str(path), "--json"],
                          env={**os.environ, "GEOLAND_DATABASE_URL": db_url}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["imported"] >= 50_000
    assert _catalog(db_url, db_query) == catalog


@pytest.mark.parametrize("source_crs", ["EPSG:3405", "EPSG:4326", "VN-2000 / UTM zone 48N"])
def test_utm_and_geographic_input_is_stored_in_the_tm3_zone(source_crs, tmp_path, db_url, db_query, geoland_cli):
    from boundaries.crs import transform_geometries

    tm3 = np.array([shapely.box(500_000, 2_350_000, 500_040, 2_350_025),
                    shapely.box(500_100, 2_350_000, 500_130, 2_350_030)])
    dense = shapely.segmentize(tm3, 1.0)
    frame = gpd.GeoDataFrame({"MAXA": ["03646", "03646"], "SOTHUA": [1, 2]},
                             geometry=transform_geometries(dense, "EPSG:9206", source_crs), crs=source_crs)
    path = tmp_path / "input.gpkg"
    frame.to_file(path)
    code, out, err = geoland_cli("plots", "import", path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["srid"] == 9206 and report["imported"] == 2
    areas = [r[0] for r in db_query(db_url, "SELECT area_m2 FROM geoland.plot ORDER BY source_row")]
    assert areas == pytest.approx([1000.0, 900.0], abs=0.01)     # measured in TM-3, never in degrees
