"""The plot identification code (mã định danh thửa đất), DESIGN §4.

The steps:

1. the plot polygon in its VN-2000 TM-3 coordinates;
2. its pole of inaccessibility: the centre of the largest circle inscribed in it, to within
   :data:`TOLERANCE` of the largest radius (:mod:`identifiers.polylabel`);
3. that point from VN-2000 to WGS 84 with EPSG:6960;
4. a 12-character GeoHash of it.

:data:`TOLERANCE` is 1 cm: the centre found has an inscribed radius within 1 cm of the largest one, which
places it, for all but ridge-shaped plots (below), well inside a 12-character cell (≈ 3.7 × 1.9 cm) of where
a finer search would put it; a finer tolerance costs more for no change in most codes. Convex plots (most
cadastral plots: 96 % of a synthetic Sơn La) are solved exactly; the others by the polylabel
branch-and-bound search. Where the largest circles' centres form a ridge (a rectangle's midline), the middle
of the ridge is taken, so that a millimetre of survey noise does not throw the point from one end to the
other. The output is deterministic: the same polygon (same vertices, same order) gives the same code in any
batch or order. Codes are issued once and stored; this function never decides whether a stored code should
change.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely
from pyproj import CRS

from .geohash import MAX_PRECISION, encode
from .vn2000 import TM3_ZONES, transformer

TOLERANCE = 0.01
_CHUNK = 50_000


class UnsuitableCRSError(ValueError):
    """Plot codes are defined on VN-2000 TM-3 coordinates only."""


def poles_of_inaccessibility(polygons: np.ndarray, *, tolerance: float = TOLERANCE, threads: int = 2,
                             with_radius: bool = False) -> np.ndarray:
    """Poles of inaccessibility of polygons.

    (x, y) of each polygon's pole of inaccessibility, as an (n, 2) array ((n, 3) with the inscribed
    radius when ``with_radius``); NaN for empty or missing geometries. Both cores where it pays (the
    compiled search releases the GIL).

    Parameters
    ----------
    polygons : ndarray of Geometry
        Polygons or multipolygons, in metres.
    tolerance : float
        Precision of the search, metres.
    threads : int
        Threads of the compiled search.
    with_radius : bool
        Also return the inscribed radius.

    Returns
    -------
    ndarray of float
    """
    from .polylabel import poles

    polygons = np.asarray(polygons, dtype=object)
    result = np.full((len(polygons), 3), np.nan)
    present = ~shapely.is_missing(polygons) & ~shapely.is_empty(polygons)
    types = shapely.get_type_id(polygons[present])
    if not np.isin(types, (3, 6)).all():
        raise TypeError("poles of inaccessibility are computed for polygons and multipolygons only")
    index = np.flatnonzero(present)

    def chunk(part):
        _, coords, offsets = shapely.to_ragged_array(polygons[part])
        rings = offsets[1] if len(offsets) == 2 else offsets[1][offsets[2]]
        return poles(coords[:, :2], offsets[0], rings, tolerance)

    chunks = [index[i:i + _CHUNK] for i in range(0, len(index), _CHUNK)]
    if threads > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(chunk, chunks))
    else:
        parts = [chunk(c) for c in chunks]
    if parts:
        result[index] = np.vstack(parts)
    return result if with_radius else result[:, :2]


def plot_identification_codes(polygons, crs, *, tolerance: float = TOLERANCE) -> np.ndarray:
    """12-character codes of plots whose polygons are in ``crs``, a VN-2000 TM-3 zone.

    Parameters
    ----------
    polygons : sequence of Polygon or MultiPolygon
        The plots, in ``crs``.
    crs : str or CRS
        Their VN-2000 TM-3 zone (EPSG:9205-9218 or equivalent).
    tolerance : float
        Precision of the pole of inaccessibility, metres.

    Returns
    -------
    ndarray of object
        One 12-character GeoHash per plot (None for an empty geometry).

    Examples
    --------
    >>> import shapely
    >>> str(plot_identification_codes([shapely.box(489_400, 2_356_150, 489_420, 2_356_170)], "EPSG:9206")[0])
    'w7cchm991hp6'
    """
    zone = CRS.from_user_input(crs).to_epsg()
    if zone not in TM3_ZONES:
        raise UnsuitableCRSError(
            f"plot identification codes are computed from VN-2000 TM-3 coordinates (EPSG "
            f"{', '.join(map(str, sorted(TM3_ZONES)))}); got {CRS.from_user_input(crs).name}: "
            "reproject the plots to their TM-3 zone first")
    polygons = np.asarray(polygons, dtype=object)
    if len(polygons) == 0:
        return np.array([], dtype=f"U{MAX_PRECISION}")
    xy = poles_of_inaccessibility(polygons, tolerance=tolerance)
    lon, lat = transformer(f"EPSG:{zone}", "EPSG:4326").transform(xy[:, 0], xy[:, 1])
    return encode(lon, lat, MAX_PRECISION)
