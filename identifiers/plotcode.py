"""The plot identification code (mã định danh thửa đất), DESIGN §4:

1. the plot polygon in its VN-2000 TM-3 coordinates;
2. its pole of inaccessibility (the centre of the largest inscribed circle, GEOS's
   MaximumInscribedCircle, a polylabel-style search) with :data:`TOLERANCE`;
3. that point from VN-2000 to WGS 84 with EPSG:6960;
4. a 12-character GeoHash of it.

:data:`TOLERANCE` is 1 cm: the search stops when the inscribed radius is known to within 1 cm, which
places the point well inside a 12-character cell (≈ 3.7 × 1.9 cm) of where a finer search would put it,
while a finer tolerance costs several times more for no change in most codes. The output is deterministic:
the same polygon (same vertices, same order) gives the same code in any batch or order. Codes are issued
once and stored; this function never decides whether a stored code should change.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely
from pyproj import CRS

from .geohash import MAX_PRECISION, encode
from .vn2000 import TM3_ZONES, transformer

TOLERANCE = 0.01
_CHUNK = 20_000


class UnsuitableCRSError(ValueError):
    """Plot codes are defined on VN-2000 TM-3 coordinates only."""


def poles_of_inaccessibility(polygons: np.ndarray, *, tolerance: float = TOLERANCE, threads: int = 2) -> np.ndarray:
    """(x, y) of each polygon's pole of inaccessibility, as an (n, 2) array; both cores where it pays
    (GEOS releases the GIL)."""
    polygons = np.asarray(polygons, dtype=object)

    def centres(chunk):
        return shapely.get_coordinates(shapely.get_point(shapely.maximum_inscribed_circle(chunk, tolerance), 0))

    chunks = [polygons[i:i + _CHUNK] for i in range(0, len(polygons), _CHUNK)]
    if threads > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(centres, chunks))
    else:
        parts = [centres(c) for c in chunks]
    return np.vstack(parts) if parts else np.empty((0, 2))


def plot_identification_codes(polygons, crs, *, tolerance: float = TOLERANCE) -> np.ndarray:
    """12-character codes of plots whose polygons are in ``crs``, a VN-2000 TM-3 zone.

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
