"""GeoHash, the plot identification code (datum included) and MX.SB.ST recoding — pure code schemes."""

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Transformer

from identifiers.geohash import InvalidGeohashError, decode, decode_bounds, encode, validate
from identifiers.mx import InvalidMXError, format_mx, parse_mx, recode
from identifiers.plotcode import TOLERANCE, UnsuitableCRSError, plot_identification_codes, poles_of_inaccessibility
from identifiers.vn2000 import transformer


def test_geohash_known_answers():
    # Wikipedia's examples (Jutland; and the Spanish town of ezs42).
    assert encode(10.40744, 57.64911, 11)[0] == "u4pruydqqvj"
    lon, lat = decode("u4pruydqqvj")
    assert lon[0] == pytest.approx(10.40744, abs=1e-5) and lat[0] == pytest.approx(57.64911, abs=1e-5)
    lon, lat = decode("ezs42")
    assert lon[0] == pytest.approx(-5.603, abs=0.001) and lat[0] == pytest.approx(42.605, abs=0.001)
    assert encode(-5.6, 42.6, 5)[0] == "ezs42"


@settings(max_examples=200, deadline=None)
@given(lon=st.floats(-180, 180), lat=st.floats(-90, 90), precision=st.integers(1, 12))
def test_geohash_round_trip(lon, lat, precision):
    code = encode(lon, lat, precision)[0]
    assert len(code) == precision
    x0, y0, x1, y1 = decode_bounds(code)[0]
    assert x0 <= lon <= x1 and y0 <= lat <= y1                 # the cell contains the point
    assert encode(*decode(code), precision)[0] == code          # the centre encodes back to the code


def test_geohash_refuses_what_it_should():
    with pytest.raises(InvalidGeohashError, match="'a' is not in the alphabet"):
        validate("w7a")
    with pytest.raises(InvalidGeohashError, match="1 to 12 characters"):
        validate("w" * 13)
    with pytest.raises(ValueError, match="`precision` was 13"):
        encode(104, 21, 13)


def plots():
    rng = np.random.default_rng(1)
    seeds = rng.uniform((489_000, 2_356_000), (490_000, 2_357_000), size=(300, 2))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds),
                                                       extend_to=shapely.box(489_000, 2_356_000, 490_000, 2_357_000)))
    return shapely.intersection(cells, shapely.box(489_000, 2_356_000, 490_000, 2_357_000))


def test_code_cell_lies_in_its_plot_with_the_datum_and_not_without():
    polygons = plots()
    codes = plot_identification_codes(polygons, "EPSG:9206")
    assert all(len(c) == 12 for c in codes) and len(set(codes)) == len(codes)
    lon, lat = decode(codes)
    x, y = transformer("EPSG:4326", "EPSG:9206").transform(lon, lat)        # back with EPSG:6960
    poles = poles_of_inaccessibility(polygons)
    assert shapely.contains_xy(polygons, x, y).all()
    distance = np.hypot(x - poles[:, 0], y - poles[:, 1])
    assert distance.max() < 0.03                  # within a 12-character cell (≈ 3.7 × 1.9 cm) of the pole
    # Forgetting the datum (WGS 84 taken as if it were VN-2000) moves every point about 200 m.
    wrong = Transformer.from_crs(CRS.from_proj4("+proj=longlat +ellps=WGS84"),
                                 CRS.from_proj4("+proj=tmerc +lon_0=104 +k=0.9999 +x_0=500000 +ellps=WGS84"),
                                 always_xy=True)
    wx, wy = wrong.transform(lon, lat)
    shift = np.hypot(wx - x, wy - y)
    assert (shift > 150).all() and (shift < 300).all()
    assert not shapely.contains_xy(polygons, wx, wy).any()


def test_codes_are_deterministic_whatever_the_batch():
    polygons = plots()
    codes = plot_identification_codes(polygons, "EPSG:9206")
    order = np.random.default_rng(7).permutation(len(polygons))
    shuffled = plot_identification_codes(polygons[order], "EPSG:9206")
    assert (shuffled == codes[order]).all()
    halves = np.concatenate([plot_identification_codes(polygons[:111], "EPSG:9206"),
                             plot_identification_codes(polygons[111:], "EPSG:9206")])
    assert (halves == codes).all() and (plot_identification_codes(polygons, 9206) == codes).all()
    assert TOLERANCE == 0.01


def test_codes_need_tm3_coordinates():
    with pytest.raises(UnsuitableCRSError, match=r"VN-2000 TM-3 coordinates .* got WGS 84"):
        plot_identification_codes([shapely.box(104, 21, 104.001, 21.001)], "EPSG:4326")
    with pytest.raises(UnsuitableCRSError, match="9206"):
        plot_identification_codes([shapely.box(0, 0, 1, 1)], "EPSG:32648")


def test_mx_parse_and_format():
    assert parse_mx(" 03646.25.112 ") == ("03646", None, 25, 112)
    assert format_mx("3646", "25", 112) == "03646.25.112"
    for bad in ("03646.25", "03646.0.1", "0364.1.1", "03646.a.1", None):
        with pytest.raises(InvalidMXError):
            parse_mx(bad)
    with pytest.raises(InvalidMXError):
        format_mx("03646", 0, 1)


def test_recode_policies_resolve_sheet_collisions():
    # Two old communes merged into 03646, each with its own sheet 1: the legacy codes collide.
    old = ["03646", "03646", "03649", "03649", "03652", None]
    sheet = [1, 2, 1, 1, 3, 1]
    plot = [5, 5, 5, 6, 1, 1]
    new = ["03646"] * 5 + ["03646"]
    assert len({f"{n}.{s}.{p}" for n, s, p in zip(new[:5], sheet[:5], plot[:5])}) < 5      # collisions
    prefixed = recode(old, sheet, plot, new, "prefix")
    renumbered = recode(old, sheet, plot, new, "renumber")
    for codes in (prefixed, renumbered):
        assert codes[5] is None and len(set(codes[:5])) == 5                                  # all unique
    # prefix: the old code can be read back from the new one
    assert [parse_mx(c)[1:] for c in prefixed[:5]] == [(o, s, p) for o, s, p in zip(old, sheet, plot)][:5]
    # renumber: old communes in code order, sheets in number order
    assert renumbered[:5].tolist() == ["03646.1.5", "03646.2.5", "03646.3.5", "03646.3.6", "03646.4.1"]
    order = [4, 2, 0, 3, 1]
    again = recode([old[i] for i in order], [sheet[i] for i in order], [plot[i] for i in order],
                   [new[i] for i in order], "renumber")
    assert again.tolist() == [renumbered[i] for i in order]
    with pytest.raises(ValueError, match="`policy` was 'keep'"):
        recode(old, sheet, plot, new, "keep")
