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




# The official central meridian of each province's VN-2000 TM-3 zone (the table of Thông tư 973/2001/TCĐC-CV
# on applying VN-2000), by the province's code before the 2025 reorganisation (the codes of Decision
# 124/2004/QĐ-TTg, as in the conversion table's old_province_code). Plots of a province are stored in its zone.
PROVINCE_MERIDIANS = {
    "01": 105.0, "02": 105.5, "04": 105.75, "06": 106.5, "08": 106.0, "10": 104.75, "11": 103.0, "12": 103.0,
    "14": 104.0, "15": 104.75, "17": 106.0, "19": 106.5, "20": 107.25, "22": 107.75, "24": 107.0, "25": 104.75,
    "26": 105.0, "27": 105.5, "30": 105.5, "31": 105.75, "33": 105.5, "34": 105.5, "35": 105.0, "36": 105.5,
    "37": 105.0, "38": 105.0, "40": 104.75, "42": 105.5, "44": 106.0, "45": 106.25, "46": 107.0, "48": 107.75,
    "49": 107.75, "51": 108.0, "52": 108.25, "54": 108.5, "56": 108.25, "58": 108.25, "60": 108.5, "62": 107.5,
    "64": 108.5, "66": 108.5, "67": 108.5, "68": 107.75, "70": 106.25, "72": 105.5, "74": 105.75, "75": 107.75,
    "77": 107.75, "79": 105.75, "80": 105.75, "82": 105.75, "83": 105.75, "84": 105.5, "86": 105.5, "87": 105.0,
    "89": 104.75, "91": 104.5, "92": 105.0, "93": 105.0, "94": 105.5, "95": 105.0, "96": 104.5,
}


def province_zone(old_province_code: str) -> int | None:
    """EPSG code of the official TM-3 zone of a province (its code before 2025), or None if unknown.

    >>> province_zone("14"), province_zone("48"), province_zone("99")
    (9206, 5899, None)
    """
    meridian = PROVINCE_MERIDIANS.get(old_province_code)
    if meridian is None:
        return None
    return next(epsg for epsg, lon0 in TM3_ZONES.items() if lon0 == meridian)
