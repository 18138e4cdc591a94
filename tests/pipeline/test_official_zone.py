"""Plots are stored in the official TM-3 zone of their province (issue 15, item 6), not the zone of the nearest
meridian: Hà Nội's plots at 105.84°E go to 105°00′ (EPSG:5897), not 105°45′ (EPSG:9210)."""

import json

import geopandas as gpd
import pyogrio
import pytest
import shapely

from identifiers.vn2000 import PROVINCE_MERIDIANS, TM3_ZONES, province_zone


def test_every_province_of_the_conversion_table_has_an_official_zone(sample_data):
    import pandas as pd

    table = pd.read_csv(sample_data / "admin_units_2025_conversion.csv", dtype=str)
    old = set(table["old_province_code"])
    assert len(old) == 63 and old == set(PROVINCE_MERIDIANS)
    assert all(province_zone(p) in TM3_ZONES for p in old)


@pytest.mark.parametrize(("commune", "lon", "lat", "zone", "nearest"), [
    ("00004", 105.840, 21.045, 5897, 9210),        # Hà Nội (01): 105°00′, nearest would be 105°45′
    ("20194", 108.220, 16.060, 5899, 5898),        # Đà Nẵng (48): 107°45′, nearest would be 108°00′
])
def test_degrees_go_to_the_official_zone_of_the_province(sample_data, tmp_path, db_url, db_query, geoland_cli,
                                                         commune, lon, lat, zone, nearest):
    assert geoland_cli("units", "load-conversion", sample_data / "admin_units_2025_conversion.csv")[0] == 0
    boxes = [shapely.box(lon + 0.0003 * i, lat, lon + 0.0003 * i + 0.0002, lat + 0.0002) for i in range(3)]
    path = tmp_path / "thua_wgs84.geojson"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"MaXa": [commune] * 3, "SoHieuToBanDo": [1] * 3,
                                              "SoThuTuThua": [1, 2, 3]}, geometry=boxes, crs="EPSG:4326"), path)
    code, out, err = geoland_cli("plots", "import", path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["srid"] == zone != nearest and "official meridian of province" in report["zone_basis"]
    assert db_query(db_url, "SELECT DISTINCT ST_SRID(geom) FROM geoland.plot") == [(zone,)]


def test_without_a_known_province_the_nearest_meridian(tmp_path, db_url, geoland_cli):
    boxes = [shapely.box(105.84 + 0.0003 * i, 21.045, 105.8402 + 0.0003 * i, 21.0452) for i in range(2)]
    path = tmp_path / "thua.geojson"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"MaXa": ["00004"] * 2, "SoThuTuThua": [1, 2]}, geometry=boxes,
                                             crs="EPSG:4326"), path)
    code, out, err = geoland_cli("plots", "import", path, "--json")       # no conversion table loaded
    assert code == 0, err
    report = json.loads(out)
    assert report["srid"] == 9210 and report["zone_basis"].startswith("the nearest meridian")
