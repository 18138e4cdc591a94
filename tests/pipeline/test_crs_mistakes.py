"""A mislabelled CRS stops the import with what the coordinates look like and what to give (issue 15, item 3):
a GeoJSON that declares EPSG:5897 but holds longitudes and latitudes was "0 imported, 4,537 quarantined"
with exit 0 and no hint."""

import json

import pytest
import shapely

LONLAT_PLOTS = [shapely.box(103.90 + 0.001 * i, 21.30, 103.9005 + 0.001 * i, 21.3005) for i in range(30)]


def _geojson(path, geoms, crs_urn, props=None):
    features = [{"type": "Feature", "properties": {"MaXa": "03646", "SoHieuToBanDo": 1, "SoThuTuThua": i + 1,
                                                   **(props or {})},
                 "geometry": json.loads(shapely.to_geojson(g))} for i, g in enumerate(geoms)]
    doc = {"type": "FeatureCollection", "features": features}
    if crs_urn:
        doc["crs"] = {"type": "name", "properties": {"name": crs_urn}}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_degrees_labelled_as_tm3_stop_before_any_row(tmp_path, db_url, db_snapshot, geoland_cli):
    path = _geojson(tmp_path / "thua_dat.geojson", LONLAT_PLOTS, "urn:ogc:def:crs:EPSG::5897")
    before = db_snapshot(db_url)
    code, out, err = geoland_cli("plots", "import", path)
    assert code != 0
    assert "thua_dat.geojson" in err and "look like longitudes and latitudes" in err
    assert "--crs EPSG:4326" in err and "nothing was imported" in err
    assert db_snapshot(db_url) == before
    code, out, err = geoland_cli("plots", "import", path, "--crs", "EPSG:4326", "--json")   # the fix it names
    assert code == 0, err
    report = json.loads(out)
    assert report["imported"] == 30 and report["quarantined"] == 0


def test_metres_labelled_as_degrees_stop_too(tmp_path, db_url, geoland_cli):
    metres = [shapely.box(505_000 + 30 * i, 2_355_000, 505_020 + 30 * i, 2_355_020) for i in range(5)]
    path = _geojson(tmp_path / "thua.geojson", metres, "urn:ogc:def:crs:OGC:1.3:CRS84")
    code, _, err = geoland_cli("plots", "import", path)
    assert code != 0 and "look like VN-2000 TM-3 or UTM metres" in err and "--meridian" in err


def test_almost_every_row_outside_the_zone_is_a_wrong_crs_not_bad_rows(tmp_path, db_url, db_snapshot,
                                                                           geoland_cli):
    # Metres that fit no zone of Vietnam (a local grid): the declared CRS is metric, so only the rows tell.
    local = [shapely.box(5_000 + 30 * i, 5_000, 5_020 + 30 * i, 5_020) for i in range(40)]
    path = _geojson(tmp_path / "luoi_cuc_bo.geojson", local, "urn:ogc:def:crs:EPSG::9206")
    before = db_snapshot(db_url)
    code, _, err = geoland_cli("plots", "import", path)
    assert code != 0
    assert "40 of 40 rows have coordinates outside VN-2000 TM-3 zone EPSG:9206" in err and "the CRS is wrong" in err
    assert db_snapshot(db_url) == before


@pytest.mark.parametrize("bad_rows", [1, 3])
def test_a_few_rows_outside_are_still_quarantined(tmp_path, db_url, geoland_cli, bad_rows):
    good = [shapely.box(505_000 + 30 * i, 2_355_000, 505_020 + 30 * i, 2_355_020) for i in range(40 - bad_rows)]
    bad = [shapely.box(5_000, 5_000, 5_020, 5_020)] * bad_rows
    path = _geojson(tmp_path / "thua.geojson", good + bad, "urn:ogc:def:crs:EPSG::9206")
    code, out, err = geoland_cli("plots", "import", path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["quarantined"] == bad_rows and report["imported"] == 40 - bad_rows
