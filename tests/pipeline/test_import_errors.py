"""Files that used to end in an internal error or a silent loss (issue 15, item 7), each built like the real
case: a 3D GeoPackage, a NaN vertex, a Windows-1258 GeoJSON, a Shapefile without its .dbf."""

import json
import unicodedata

import geopandas as gpd
import numpy as np
import pytest
import shapely

NAMES = ["Lò Văn Pọm", "Quàng Thị Ún", "Nguyễn Hữu Phước", "Đinh Thị Thu Hạnh"]
TONES = set("\u0300\u0301\u0303\u0309\u0323")


def _boxes(n, z=None):
    out = []
    for i in range(n):
        ring = [(505_000 + 30 * i, 2_355_000), (505_020 + 30 * i, 2_355_000), (505_020 + 30 * i, 2_355_020),
                (505_000 + 30 * i, 2_355_020), (505_000 + 30 * i, 2_355_000)]
        out.append(shapely.Polygon([(*p, z) for p in ring] if z is not None else ring))
    return out


def _frame(geoms, **extra):
    n = len(geoms)
    return gpd.GeoDataFrame({"MAXA": ["03646"] * n, "SHBANDO": [4] * n, "SOTHUA": list(range(1, n + 1)), **extra},
                            geometry=geoms, crs="EPSG:9206")


def test_a_3d_geopackage_is_stored_in_2d_and_says_so(tmp_path, db_url, db_query, geoland_cli):
    path = tmp_path / "thua_3d.gpkg"
    _frame(_boxes(4, z=312.5)).to_file(path)
    code, out, err = geoland_cli("plots", "import", path)
    assert code == 0, err
    assert "heights (Z) dropped from 4 geometries" in out
    assert db_query(db_url, "SELECT count(*), bool_and(ST_NDims(geom) = 2), min(area_m2) FROM geoland.plot") == \
        [(4, True, pytest.approx(400.0))]


def test_a_nan_vertex_quarantines_its_row_only(tmp_path, db_url, db_query, geoland_cli):
    geoms = _boxes(3)
    geoms[1] = shapely.Polygon([(505_030, 2_355_000), (np.nan, 2_355_000), (505_050, 2_355_020), (505_030, 2_355_000)])
    path = tmp_path / "thua_nan.gpkg"
    _frame(geoms).to_file(path)
    code, out, err = geoland_cli("plots", "import", path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["imported"], report["quarantined"]) == (2, 1)
    assert report["quarantine_reasons"] == {"coordinates not numbers": 1}
    assert db_query(db_url, "SELECT source_row FROM geoland.plot_quarantine") == [(2,)]


def _cp1258(text):
    out = ""
    for ch in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", ch)
        out += unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
        out += "".join(c for c in parts if c in TONES)
    return out.encode("cp1258")


def test_a_windows_1258_geojson_is_read(tmp_path, db_url, db_query, geoland_cli):
    features = b",".join(
        b'{"type": "Feature", "properties": {"MaXa": "03646", "SoHieuToBanDo": 2, "SoThuTuThua": %d, '
        b'"TENCHU": "%s"}, "geometry": %s}' % (i + 1, _cp1258(name), shapely.to_geojson(g).encode())
        for i, (name, g) in enumerate(zip(NAMES, _boxes(len(NAMES)), strict=True)))
    path = tmp_path / "thua_cp1258.geojson"
    path.write_bytes(b'{"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": '
                     b'"urn:ogc:def:crs:EPSG::9206"}}, "features": [' + features + b"]}")
    with pytest.raises(UnicodeDecodeError):
        path.read_text(encoding="utf-8")                            # what GDAL could not read
    code, out, err = geoland_cli("plots", "import", path, "--json")
    assert code == 0, err
    assert json.loads(out)["text_encoding"] == "cp1258"
    assert [r[0] for r in db_query(db_url, "SELECT u.name FROM geoland.land_user u JOIN geoland.plot p "
                                           "ON p.id = u.plot_id ORDER BY p.source_row")] == NAMES


def test_a_shapefile_without_its_dbf_is_refused(tmp_path, db_url, db_snapshot, geoland_cli):
    path = tmp_path / "thua.shp"
    _frame(_boxes(3)).to_file(path)
    path.with_suffix(".dbf").unlink()
    before = db_snapshot(db_url)
    code, _, err = geoland_cli("plots", "import", path)
    assert code != 0 and "thua.shp: no .dbf beside it" in err
    assert db_snapshot(db_url) == before
