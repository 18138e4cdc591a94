"""VN-2000 coordinate reference systems: the provincial 3° TM zones EPSG ships, and the datum shift.

Cadastral maps use a 3° transverse Mercator per province (k = 0.9999, false easting 500 km, the
province's central meridian; Circular 973/2001/TCĐC-CQLĐĐ). Areas are always measured in one of these
(never in degrees). VN-2000 ↔ WGS 84 goes through EPSG:6960 ("VN-2000 to WGS 84 (2)") explicitly:
forgetting the datum moves every point by about 200 m.
"""

from __future__ import annotations

import warnings

import numpy as np
import shapely
from pyproj import CRS

from identifiers.vn2000 import TM3_ZONES, VN2000_TO_WGS84, transformer  # noqa: F401  (re-exported)


def tm3_zone_for_longitude(longitude: float) -> int:
    """EPSG code of the TM-3 zone whose central meridian is nearest to ``longitude``.

    Ties go to the smaller EPSG code, so the choice is deterministic.

    >>> tm3_zone_for_longitude(103.9)   # Sơn La
    9206
    >>> tm3_zone_for_longitude(105.8)   # Hà Nội's neighbourhood, nearest 105°45′
    9210
    """
    return min(TM3_ZONES, key=lambda epsg: (abs(TM3_ZONES[epsg] - longitude), epsg))


def tm3_zone_for_meridian(meridian: float) -> int:
    """EPSG code of the TM-3 zone with exactly this central meridian (degrees, e.g. 104.0 or 105.75).

    >>> tm3_zone_for_meridian(104)
    9206
    """
    for epsg, lon0 in TM3_ZONES.items():
        if abs(lon0 - float(meridian)) < 1e-9:
            return epsg
    raise ValueError(f"central meridian {meridian} is not one of the VN-2000 TM-3 zones "
                     f"{sorted(set(TM3_ZONES.values()))}")


def is_metric(crs) -> bool:
    """Whether a CRS is projected with metre units (areas can be measured in it)."""
    crs = CRS.from_user_input(crs)
    return crs.is_projected and crs.axis_info[0].unit_name in ("metre", "meter")


def transform_geometries(geometries: np.ndarray, source, target) -> np.ndarray:
    """Reproject an array of shapely geometries (vectorised over all coordinates at once).

    Parameters
    ----------
    geometries : ndarray of Geometry
        Any shapely geometries (None and empty kept).
    source, target : str, int or CRS
        The CRSs (VN-2000 ↔ WGS 84 through EPSG:6960).

    Returns
    -------
    ndarray of Geometry
    """
    geometries = np.asarray(geometries, dtype=object)
    if CRS.from_user_input(source) == CRS.from_user_input(target):
        return geometries
    t = transformer(CRS.from_user_input(source).to_wkt(), CRS.from_user_input(target).to_wkt())
    return shapely.transform(geometries, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


UTM_ZONES = {3405: 105.0, 3406: 111.0}  # VN-2000 / UTM zone 48N and 49N


def parse_meridian(value) -> float:
    """A central meridian as users write it: ``104``, ``104.00``, ``105.75``, ``105-45`` or ``105°45'``.

    >>> parse_meridian("105-45"), parse_meridian("105°45′"), parse_meridian(104)
    (105.75, 105.75, 104.0)
    """
    text = str(value).strip().replace("′", "'").replace("°", "-").replace("'", "")
    degrees, sep, minutes = text.partition("-")
    try:
        return float(degrees) + (float(minutes) / 60 if sep and minutes else 0.0)
    except ValueError:
        raise ValueError(f"central meridian {value!r} is not a number of degrees such as 104.00 or 105-45") from None


def vn2000_zone(crs) -> int | None:
    """The EPSG code of a VN-2000 TM-3 or UTM 48N/49N CRS, or None.

    EPSG code of a VN-2000 TM-3 zone or UTM 48N/49N that ``crs`` is, by code or by its parameters
    (a .prj written without an EPSG code), else None.
    """
    crs = CRS.from_user_input(crs)
    epsg = crs.to_epsg(min_confidence=90)
    if epsg in TM3_ZONES or epsg in UTM_ZONES:
        return epsg
    towgs84_is_vn2000 = False
    if crs.is_bound:                    # a proj string / .prj with +towgs84: look at the projected CRS
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            towgs84_is_vn2000 = "-191.904" in (crs.to_proj4() or "")
        crs = crs.source_crs
    if not crs.is_projected or crs.coordinate_operation is None:
        return None
    params = {p.name: p.value for p in crs.coordinate_operation.params}
    lon0 = params.get("Longitude of natural origin")
    k = params.get("Scale factor at natural origin")
    if "Transverse Mercator" not in crs.coordinate_operation.method_name or lon0 is None or k is None:
        return None
    datum = f"{crs.geodetic_crs.name} {crs.datum.name}"
    if params.get("False easting") != 500_000 or not (towgs84_is_vn2000 or "2000" in datum or "Vietnam" in datum):
        return None
    if abs(k - 0.9999) < 1e-9:
        return next((e for e, m in TM3_ZONES.items() if abs(m - lon0) < 1e-9), None)
    if abs(k - 0.9996) < 1e-9:
        return next((e for e, m in UTM_ZONES.items() if abs(m - lon0) < 1e-9), None)
    return None


# What coordinates of plots in Vietnam look like in the systems offices use (x range, y range).
_LOOKS = (
    ("longitudes and latitudes in degrees", (100.0, 112.0), (6.0, 24.0)),
    ("VN-2000 TM-3 or UTM metres (easting, northing)", (100_000.0, 900_000.0), (800_000.0, 2_750_000.0)),
)


def describe_coordinates(bounds) -> str | None:
    """What a layer's coordinates (its bounds: minx, miny, maxx, maxy) look like, or None if nothing known.

    >>> describe_coordinates((103.9, 21.2, 104.1, 21.4))
    'longitudes and latitudes in degrees'
    >>> describe_coordinates((489_000, 2_356_000, 512_000, 2_371_000))
    'VN-2000 TM-3 or UTM metres (easting, northing)'
    >>> describe_coordinates((21.2, 103.9, 21.4, 104.1))
    'latitudes and longitudes in degrees (axes swapped)'
    >>> describe_coordinates((0, 0, 10, 10)) is None
    True
    """
    x0, y0, x1, y1 = (float(v) for v in bounds)
    for words, (lo_x, hi_x), (lo_y, hi_y) in _LOOKS:
        if lo_x <= x0 <= x1 <= hi_x and lo_y <= y0 <= y1 <= hi_y:
            return words
    if 6.0 <= x0 <= x1 <= 24.0 and 100.0 <= y0 <= y1 <= 112.0:
        return "latitudes and longitudes in degrees (axes swapped)"
    return None


def suggest_crs(bounds, declared) -> str:
    """The ``--crs`` or ``--meridian`` that would place coordinates with these bounds, in words."""
    looks = describe_coordinates(bounds)
    if looks is None:
        return "check the coordinates: they are not where plots in Vietnam can be in any system geoland knows"
    if looks.startswith("longitudes"):
        return "if they are WGS 84 (GPS, web maps) give --crs EPSG:4326; if VN-2000 geographic, --crs EPSG:4756"
    if looks.startswith("latitudes"):
        return ("the axes are swapped (latitude first): write the file longitude first, or give a --crs with that "
                "axis order")
    declared_name = getattr(declared, "name", str(declared))
    return (f"they are metres, not what {declared_name} holds: give the province's TM-3 zone with --meridian "
            f"(e.g. --meridian 104.00 for Sơn La) or --crs EPSG:NNNN of that zone")
