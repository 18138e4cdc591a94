"""Pure code schemes of geoland.

Pure code schemes of geoland: administrative unit codes, GeoHash, the plot identification code (with
VN-2000 and its datum shift), and legacy MX.SB.ST codes with their recoding policies. No I/O, no
database, no pandas needed to import it.
"""

from .admin import InvalidCodeError, normalize_unit_code
from .geohash import InvalidGeohashError
from .mx import InvalidMXError, format_mx, parse_mx, recode
from .plotcode import UnsuitableCRSError, plot_identification_codes

__all__ = ["InvalidCodeError", "InvalidGeohashError", "InvalidMXError", "UnsuitableCRSError", "format_mx",
           "normalize_unit_code", "parse_mx", "plot_identification_codes", "recode"]
