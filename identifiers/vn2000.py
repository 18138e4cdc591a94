"""VN-2000: the provincial 3° TM zones EPSG ships, and the datum shift to WGS 84 (EPSG:6960).

Kept with the code schemes because the plot identification code is defined through them (DESIGN §4):
VN-2000 TM-3 coordinates → WGS 84 with EPSG:6960 → GeoHash.
"""

from __future__ import annotations

import functools

from pyproj import CRS, Transformer
from pyproj.transformer import TransformerGroup

# EPSG code → central meridian (degrees east) of every VN-2000 TM-3 zone in the EPSG dataset.
TM3_ZONES = {
    5896: 102.0, 9205: 103.0, 9206: 104.0, 9207: 104.5, 9208: 104.75, 5897: 105.0, 9209: 105.5,
    9210: 105.75, 9211: 106.0, 9212: 106.25, 9213: 106.5, 9214: 107.0, 9215: 107.25, 9216: 107.5,
    5899: 107.75, 5898: 108.0, 9217: 108.25, 9218: 108.5,
}
VN2000_TO_WGS84 = "EPSG:6960"


@functools.lru_cache(maxsize=64)
def transformer(source, target) -> Transformer:
    """A transformer that uses EPSG:6960 between VN-2000 and WGS 84.

    A transformer between two CRSs that uses EPSG:6960 whenever one side is VN-2000 and the other
    WGS 84, rather than whatever PROJ ranks first; always (x, y) = (lon, lat) / (easting, northing).

    Parameters
    ----------
    source, target : str, int or CRS
        Anything ``pyproj.CRS.from_user_input`` reads.

    Returns
    -------
    pyproj.Transformer
        ``always_xy``.
    """
    src, dst = CRS.from_user_input(source), CRS.from_user_input(target)
    group = TransformerGroup(src, dst, always_xy=True)
    for candidate in group.transformers:
        if "VN-2000 to WGS 84 (2)" in candidate.description:
            return candidate
    return Transformer.from_crs(src, dst, always_xy=True)


