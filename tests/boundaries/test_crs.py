import pytest
from pyproj import CRS

from boundaries.crs import TM3_ZONES, tm3_zone_for_longitude, tm3_zone_for_meridian, transformer


@pytest.mark.parametrize("epsg", sorted(TM3_ZONES))
def test_zone_table_matches_the_epsg_dataset(epsg):
    crs = CRS.from_epsg(epsg)
    assert crs.name.startswith("VN-2000 / TM-3")
    params = {p.name: p.value for p in crs.coordinate_operation.params}
    assert params["Longitude of natural origin"] == pytest.approx(TM3_ZONES[epsg])
    assert params["Scale factor at natural origin"] == pytest.approx(0.9999)
    assert params["False easting"] == 500_000


def test_zone_choice():
    assert tm3_zone_for_meridian(104) == 9206 and tm3_zone_for_meridian(105.75) == 9210
    assert tm3_zone_for_meridian(107.75) == 5899 and tm3_zone_for_meridian(105) == 5897
    with pytest.raises(ValueError, match="not one of the VN-2000 TM-3 zones"):
        tm3_zone_for_meridian(104.2)
    assert tm3_zone_for_longitude(104.1) == 9206


def test_datum_shift_uses_epsg_6960():
    t = transformer("EPSG:4326", "EPSG:9206")
    assert "VN-2000 to WGS 84 (2)" in t.description
    # Without the datum shift (pure projection on the WGS 84 ellipsoid) the point lands ~200 m away.
    x, y = t.transform(103.9, 21.3)
    plain = transformer(CRS.from_proj4("+proj=longlat +ellps=WGS84").to_wkt(),
                        CRS.from_proj4("+proj=tmerc +lon_0=104 +k=0.9999 +x_0=500000 +ellps=WGS84").to_wkt())
    px, py = plain.transform(103.9, 21.3)
    assert 150 < ((x - px) ** 2 + (y - py) ** 2) ** 0.5 < 300


def test_postgis_transforms_agree_with_pyproj(db_url, db_query):
    (x, y), = db_query(db_url, "SELECT ST_X(p), ST_Y(p) FROM "
                               "ST_Transform(ST_SetSRID(ST_Point(103.9, 21.3), 4326), 9206) p")
    px, py = transformer("EPSG:4326", "EPSG:9206").transform(103.9, 21.3)
    assert abs(x - px) < 0.01 and abs(y - py) < 0.01


def test_zone_recognised_from_a_prj_without_code():
    from boundaries.crs import vn2000_zone

    esri = CRS.from_epsg(9210).to_wkt("WKT1_ESRI")
    assert vn2000_zone(esri) == 9210
    proj = ("+proj=tmerc +lat_0=0 +lon_0=105.75 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 "
            "+towgs84=-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278 "
            "+units=m +no_defs")
    assert vn2000_zone(CRS.from_proj4(proj)) == 9210
    assert vn2000_zone(CRS.from_proj4(proj.replace("-191.90441429", "0"))) is None      # not VN-2000
    assert vn2000_zone("VN-2000 / UTM zone 48N") == 3405 and vn2000_zone(4326) is None
