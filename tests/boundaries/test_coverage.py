"""Coverage QA on constructed communes with hand-computed areas, and on the real Sơn La layer checked
against PostGIS computing the same overlaps in SQL."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from boundaries import coverage_defects
from boundaries.crs import transform_geometries

HOLE = shapely.box(950, 950, 1050, 1030)                 # 100 m × 80 m = 8,000 m²


def four_quadrants(x0=500_000.0, y0=2_350_000.0):
    """Four 1 km communes; NE reaches 30 m into NW (overlap 30 × 1,000 m less the 30 × 30 m that lies
    in the hole = 29,100 m²) and a hole of 8,000 m² is cut out of all of them at the centre."""
    cells = {
        "00001": shapely.box(0, 0, 1000, 1000), "00002": shapely.box(1000, 0, 2000, 1000),
        "00003": shapely.box(0, 1000, 1000, 2000), "00004": shapely.box(970, 1000, 2000, 2000),
    }
    geoms = [shapely.affinity.translate(g.difference(HOLE), x0, y0) for g in cells.values()]
    return gpd.GeoDataFrame({"code": list(cells)}, geometry=geoms, crs="EPSG:9206")


def test_gap_and_overlap_with_exact_areas():
    found = coverage_defects(four_quadrants(), min_area_m2=100)
    assert list(found["kind"]) == ["overlap", "gap"]
    overlap, gap = found.iloc[0], found.iloc[1]
    assert overlap["codes"] == "00003 | 00004"
    assert overlap["area_m2"] == pytest.approx(29_100, abs=1e-6)
    assert gap["area_m2"] == pytest.approx(8_000, abs=1e-6)
    assert gap["codes"] == "00001 | 00002 | 00003 | 00004"
    # Locations are inside the pieces, in WGS 84 (Sơn La's zone, so around 104° E, 21° N).
    assert found.crs == "EPSG:4326"
    for piece in found.itertuples():
        assert piece.geometry.buffer(1e-9).contains(shapely.Point(piece.lon, piece.lat))
        assert 103.9 < piece.lon < 104.1 and 21.0 < piece.lat < 21.3


def test_geographic_input_is_measured_in_metres():
    metric = four_quadrants()
    dense = shapely.segmentize(metric.geometry.to_numpy(), 10)
    wgs84 = gpd.GeoDataFrame({"code": metric["code"]},
                             geometry=transform_geometries(dense, "EPSG:9206", "EPSG:4326"), crs="EPSG:4326")
    found = coverage_defects(wgs84, min_area_m2=100)
    assert found["area_m2"].to_numpy() == pytest.approx([29_100, 8_000], rel=1e-4)


def test_threshold_leaves_slivers_out():
    units = four_quadrants()
    assert list(coverage_defects(units, min_area_m2=10_000)["kind"]) == ["overlap"]
    assert coverage_defects(units, min_area_m2=50_000).empty
    edge = gpd.GeoDataFrame({"code": ["00001", "00002"]},
                            geometry=[shapely.box(0, 0, 100, 100), shapely.box(99.9, 0, 200, 100)], crs="EPSG:9206")
    assert coverage_defects(edge, min_area_m2=100).empty            # 10 m² sliver: digitising noise
    assert len(coverage_defects(edge, min_area_m2=1)) == 1


def test_clean_tiling_and_bad_arguments():
    grid = gpd.GeoDataFrame({"code": [f"{i:05d}" for i in range(9)]},
                            geometry=[shapely.box(x, y, x + 1, y + 1) for x in range(3) for y in range(3)],
                            crs="EPSG:9206")
    assert coverage_defects(grid, min_area_m2=0).empty
    with pytest.raises(ValueError, match="`code_column` was 'ma'"):
        coverage_defects(grid, code_column="ma")
    with pytest.raises(ValueError, match="`min_area_m2`"):
        coverage_defects(grid, min_area_m2=-1)


def test_real_son_la_overlaps_agree_with_postgis(sample_data, db_query, db_url):
    communes = gpd.read_file(sample_data / "son_la" / "communes_2025.geojson")
    found = coverage_defects(communes, min_area_m2=0)
    ours = found[found["kind"] == "overlap"].groupby("codes")["area_m2"].sum()
    wkt = {c: g.wkt for c, g in zip(communes["code"], communes.geometry)}
    pairs = [tuple(k.split(" | ")) for k in ours.index]
    for (a, b), area in zip(pairs, ours.to_numpy()):
        (theirs,) = db_query(db_url, """
            SELECT ST_Area(ST_CollectionExtract(ST_Intersection(
                ST_Transform(ST_GeomFromText(:a, 4326), 9206), ST_Transform(ST_GeomFromText(:b, 4326), 9206)), 3))""",
            a=wkt[a], b=wkt[b])[0]
        assert area == pytest.approx(theirs, rel=1e-3), (a, b)
    big = found[found["area_m2"] >= 1000]
    assert (big["kind"] == "overlap").all() and len(big) > 0
    assert np.isin(big["codes"], ["03970 | 04000", "03997 | 04000"]).all()
