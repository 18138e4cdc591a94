"""The pole of inaccessibility search (identifiers.polylabel): known answers, the 1 cm guarantee against
GEOS's MaximumInscribedCircle run finer, ridges, holes, parts, and bit-for-bit determinism."""

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from identifiers.plotcode import TOLERANCE, poles_of_inaccessibility

X0, Y0 = 489_000.0, 2_356_000.0       # Sơn La TM-3 coordinates: large numbers, as in real plots


def pole(geom, tolerance=TOLERANCE):
    return poles_of_inaccessibility([geom], tolerance=tolerance, with_radius=True)[0]


def reference_radius(geoms):
    """GEOS's largest inscribed radius, searched 100 times finer than geoland's tolerance."""
    return shapely.length(shapely.maximum_inscribed_circle(geoms, TOLERANCE / 100))


def test_known_answers():
    # A square and a regular hexagon: the centre, exactly (every edge touches the circle).
    x, y, r = pole(shapely.box(X0, Y0, X0 + 20, Y0 + 20))
    assert (x, y, r) == (X0 + 10, Y0 + 10, 10)
    hexagon = shapely.Polygon([(X0 + 10 * math.cos(a), Y0 + 10 * math.sin(a))
                               for a in np.linspace(0, 2 * math.pi, 7)[:-1]])
    x, y, r = pole(hexagon)
    assert x == pytest.approx(X0, abs=1e-6) and y == pytest.approx(Y0, abs=1e-6)
    assert r == pytest.approx(10 * math.sqrt(3) / 2, abs=1e-6)
    # The 3-4-5 right triangle: incircle of radius 1 at (1, 1) from the right angle.
    x, y, r = pole(shapely.Polygon([(X0, Y0), (X0 + 4, Y0), (X0, Y0 + 3)]))
    assert (x - X0, y - Y0, r) == pytest.approx((1, 1, 1), abs=1e-6)
    # An L of arms 10 m wide (not convex): the circle touches the two outer walls and the inner corner,
    # centre on the diagonal at c = 10√2 / (1 + √2).
    ell = shapely.union(shapely.box(X0, Y0, X0 + 30, Y0 + 10), shapely.box(X0, Y0, X0 + 10, Y0 + 30))
    c = 10 * math.sqrt(2) / (1 + math.sqrt(2))
    x, y, r = pole(ell)
    assert r == pytest.approx(c, abs=TOLERANCE) and r <= c + 1e-9
    assert math.hypot(x - X0 - c, y - Y0 - c) < 0.05


def test_a_ridge_gives_its_middle_and_is_stable():
    # 20 × 10 m: every point of the midline between x = 5 and 15 is a centre of radius 5; the middle is
    # taken. A 2 mm survey wobble of one corner does not throw the point to one end of the ridge.
    x, y, r = pole(shapely.box(X0, Y0, X0 + 20, Y0 + 10))
    assert (x - X0, y - Y0, r) == (10, 5, 5)
    wobbly = shapely.Polygon([(X0, Y0), (X0 + 20, Y0), (X0 + 20, Y0 + 10.002), (X0, Y0 + 10)])
    x, y, r = pole(wobbly)
    assert abs(x - X0 - 10) < 0.01 and abs(y - Y0 - 5) < 0.01 and r >= 5 - TOLERANCE


def test_holes_and_parts():
    # A hole in the middle pushes the pole into the wider band; a multipolygon's pole is in its larger part.
    ring = shapely.Polygon(shapely.box(X0, Y0, X0 + 40, Y0 + 40).exterior.coords,
                           [shapely.box(X0 + 5, Y0 + 5, X0 + 25, Y0 + 35).exterior.coords])
    x, y, r = pole(ring)
    assert ring.contains(shapely.Point(x, y)) and r == pytest.approx(7.5, abs=TOLERANCE)
    assert x == pytest.approx(X0 + 32.5, abs=0.05)
    two = shapely.MultiPolygon([shapely.box(X0, Y0, X0 + 4, Y0 + 4), shapely.box(X0 + 10, Y0, X0 + 22, Y0 + 12)])
    x, y, r = pole(two)
    assert r == pytest.approx(6, abs=TOLERANCE) and shapely.box(X0 + 10, Y0, X0 + 22, Y0 + 12).contains(
        shapely.Point(x, y))
    assert np.isnan(poles_of_inaccessibility([shapely.Polygon(), None])).all()
    with pytest.raises(TypeError, match="polygons and multipolygons only"):
        poles_of_inaccessibility([shapely.Point(0, 0)])


def random_polygons(seed, n, convex):
    rng = np.random.default_rng(seed)
    points = rng.uniform((X0, Y0), (X0 + 60, Y0 + 60), size=(n, 2))
    if convex:
        return shapely.convex_hull(shapely.multipoints(points))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points)))
    # Two neighbouring Voronoi cells joined: often not convex, as plots at a commune edge are.
    joined = shapely.union(cells[0], shapely.get_parts(cells)[shapely.touches(cells[0], cells)][0])
    return shapely.intersection(joined, shapely.box(X0 - 50, Y0 - 50, X0 + 110, Y0 + 110))


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 30), convex=st.booleans())
def test_radius_is_within_the_tolerance_of_the_largest(seed, n, convex):
    geom = random_polygons(seed, n, convex)
    x, y, r = pole(geom)
    best = reference_radius([geom])[0]
    assert geom.contains(shapely.Point(x, y))
    assert best - TOLERANCE - 1e-6 <= r <= best + TOLERANCE / 100 + 1e-6
    # The radius reported is the distance from the point to the boundary.
    assert r == pytest.approx(geom.boundary.distance(shapely.Point(x, y)), abs=1e-6)


def test_same_bits_in_any_batch_or_split():
    geoms = np.array([random_polygons(s, 12, s % 2 == 0) for s in range(400)], dtype=object)
    whole = poles_of_inaccessibility(geoms, with_radius=True)
    order = np.random.default_rng(3).permutation(len(geoms))
    shuffled = poles_of_inaccessibility(geoms[order], with_radius=True)
    assert np.array_equal(shuffled, whole[order])
    one_thread = np.vstack([poles_of_inaccessibility(geoms[i:i + 7], threads=1, with_radius=True)
                            for i in range(0, len(geoms), 7)])
    assert np.array_equal(one_thread, whole)
