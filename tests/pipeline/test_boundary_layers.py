"""Loading boundary layers: the real Sơn La vintages, repairs, broken files, reloads, supersession, QA."""

import json

import geopandas as gpd
import pytest
import shapely

from boundaries.crs import transform_geometries
from boundaries.synthetic import synthetic_reorganisation


@pytest.fixture
def synthetic_files(tmp_path):
    """The synthetic province as the files a user would have: conversion CSV, new and old GeoJSON."""
    r = synthetic_reorganisation(seed=4)
    paths = {"conversion": tmp_path / "conv.csv", "new": tmp_path / "new.geojson", "old": tmp_path / "old.geojson"}
    r.conversion.to_csv(paths["conversion"], index=False)
    for key, frame in (("new", r.new), ("old", r.old)):
        geoms = transform_geometries(frame.geometry.to_numpy(), r.crs, "EPSG:4326")
        gpd.GeoDataFrame(frame[["code", "name"]], geometry=geoms, crs="EPSG:4326").to_file(paths[key])
    return r, paths


def test_son_la_both_vintages(db_url, sample_data, geoland_cli, db_query):
    assert geoland_cli("units", "load-conversion", sample_data / "admin_units_2025_conversion.csv")[0] == 0
    code, out, err = geoland_cli("units", "load-boundaries", sample_data / "son_la" / "communes_2025.geojson",
                                 "--effective", "2025-07-01", "--json")
    assert code == 0, err
    new = json.loads(out)
    assert (new["features"], new["matched"], new["unknown_code"], new["no_code"]) == (75, 75, [], [])
    assert new["metric_epsg"] == 9206 and new["provinces"] == ["14"] and new["units_without_boundary"] == []
    code, out, err = geoland_cli("units", "load-boundaries", sample_data / "son_la" / "communes_pre2025.geojson",
                                 "--effective", "2025-06-30", "--code-field", "old_code", "--province", "14",
                                 "--json")
    assert code == 0, err
    old = json.loads(out)
    assert (old["features"], old["matched"], len(old["no_code"])) == (206, 163, 43)
    assert len(old["duplicate_codes"]) == 1
    # Nothing dropped: every feature is stored, the unmatched ones with their reason.
    assert db_query(db_url, "SELECT match, count(*) FROM geoland.unit_boundary b JOIN geoland.boundary_layer l "
                            "ON l.id = b.layer_id WHERE l.effective = '2025-06-30' GROUP BY 1 ORDER BY 1") == [
        ("matched", 163), ("no_code", 43)]
    # The stored metric geometry is in Sơn La's zone and agrees with PostGIS's own transform.
    (srid, ratio), = db_query(db_url, """SELECT min(ST_SRID(geom_metric)),
        sum(ST_Area(geom_metric)) / sum(ST_Area(ST_Transform(geom, 9206))) FROM geoland.unit_boundary""")
    assert srid == 9206 and ratio == pytest.approx(1, abs=1e-9)
    # Both vintages tile the same province: total areas within 1 % (different sources and dates).
    areas = dict(db_query(db_url, "SELECT l.effective::text, sum(b.area_m2) FROM geoland.unit_boundary b "
                                  "JOIN geoland.boundary_layer l ON l.id = b.layer_id GROUP BY 1"))
    assert areas["2025-06-30"] == pytest.approx(areas["2025-07-01"], rel=0.01)
    code, out, err = geoland_cli("units", "check", "--province", "14", "--effective", "2025-07-01")
    assert code == 0 and "13 overlaps" in out and "03970 | 04000" in out


def test_repaired_polygon_is_recorded(db_url, tmp_path, synthetic_files, geoland_cli, db_query):
    _r, paths = synthetic_files
    assert geoland_cli("units", "load-conversion", paths["conversion"])[0] == 0
    frame = gpd.read_file(paths["new"])
    x0, y0, x1, y1 = frame.geometry[0].bounds
    bowtie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)])   # self-intersection
    frame.loc[0, "geometry"] = bowtie
    broken = tmp_path / "bowtie.geojson"
    frame.to_file(broken)
    code, out, err = geoland_cli("units", "load-boundaries", broken, "--effective", "2025-07-01")
    assert code == 0, err
    assert "repaired feature #0" in out and "Self-intersection" in out
    (repaired, note, valid, area), = db_query(db_url, """SELECT repaired, repair_note, ST_IsValid(geom),
        area_m2 FROM geoland.unit_boundary WHERE feature_index = 0""")
    assert repaired and note.startswith("make_valid: Self-intersection") and valid
    assert area == pytest.approx(shapely.area(transform_geometries(
        [shapely.make_valid(bowtie)], "EPSG:4326", "EPSG:9206")[0]), rel=1e-9)
    assert db_query(db_url, "SELECT count(*) FROM geoland.audit_event "
                            "WHERE action = 'unit_boundary.repaired'") == [(1,)]


@pytest.mark.parametrize("content, message", [
    ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": "90001", '
     '"name": "A"}, "geometry": {"type": "Polygon", "coordinates": [[[104.0, 21.0], [104.1, "x"]]]}}',
     "cannot read the layer"),
    ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": "90001", '
     '"name": "A"}, "geometry": null}]}', "feature 0: no geometry"),
    ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": "90001", '
     '"name": "A"}, "geometry": {"type": "LineString", "coordinates": [[104.0, 21.0], [104.1, 21.1]]}}]}',
     "feature 0: geometry is a LineString"),
    ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": "9000A", '
     '"name": "A"}, "geometry": {"type": "Polygon", "coordinates": [[[104.0, 21.0], [104.1, 21.0], '
     '[104.1, 21.1], [104.0, 21.0]]]}}]}', "feature 0: '9000A' is not a commune code"),
])
def test_broken_files_are_refused_and_change_nothing(db_url, tmp_path, synthetic_files, geoland_cli,
                                                     db_snapshot, content, message):
    _, paths = synthetic_files
    assert geoland_cli("units", "load-conversion", paths["conversion"])[0] == 0
    assert geoland_cli("units", "load-boundaries", paths["new"], "--effective", "2025-07-01")[0] == 0
    before = db_snapshot(db_url)
    broken = tmp_path / "broken.geojson"
    broken.write_text(content, encoding="utf-8")
    code, _out, err = geoland_cli("units", "load-boundaries", broken, "--effective", "2025-07-01")
    assert code == 1 and "broken.geojson" in err and message in err, err
    assert len(err.strip().splitlines()) == 1
    assert db_snapshot(db_url) == before


def test_missing_field_lists_the_fields(db_url, synthetic_files, geoland_cli):
    _, paths = synthetic_files
    code, _, err = geoland_cli("units", "load-boundaries", paths["new"], "--effective", "2025-07-01",
                               "--code-field", "MAXA")
    assert code == 1 and "code field 'MAXA' not found" in err and "['code', 'name']" in err


def test_reload_is_a_no_op_and_a_new_file_supersedes(db_url, tmp_path, synthetic_files, geoland_cli,
                                                     db_snapshot, db_query):
    _r, paths = synthetic_files
    assert geoland_cli("units", "load-conversion", paths["conversion"])[0] == 0
    assert geoland_cli("units", "load-boundaries", paths["new"], "--effective", "2025-07-01")[0] == 0
    before = db_snapshot(db_url)
    code, out, _ = geoland_cli("units", "load-boundaries", paths["new"], "--effective", "2025-07-01")
    assert code == 0 and "nothing changed" in out
    assert db_snapshot(db_url) == before
    # A corrected file (one commune's code unknown on that date) supersedes the first layer; history kept.
    frame = gpd.read_file(paths["new"])
    replaced = frame.loc[1, "code"]
    frame.loc[1, "code"] = "99999"
    corrected = tmp_path / "corrected.geojson"
    frame.to_file(corrected)
    code, out, err = geoland_cli("units", "load-boundaries", corrected, "--effective", "2025-07-01", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["unknown_code"] == ["99999"] and report["superseded"] == [1]
    assert report["units_without_boundary"] == [replaced]
    assert db_query(db_url, "SELECT id, superseded_by FROM geoland.boundary_layer ORDER BY id") == [(1, 2), (2, None)]
    code, out, _ = geoland_cli("units", "check", "--json")
    check = json.loads(out)
    assert code == 0 and check["units"] == len(frame) and check["gaps"] == check["overlaps"] == 0


def test_check_without_boundaries_says_what_to_do(db_url, geoland_cli):
    code, _, err = geoland_cli("units", "check")
    assert code == 1 and "geoland units load-boundaries" in err
