"""Pure code schemes of geoland: administrative unit codes (and, later, GeoHash, plot identification
codes and MX.SB.ST). No I/O, no database, no pandas needed to import it."""

from .admin import InvalidCodeError, normalize_unit_code

__all__ = ["InvalidCodeError", "normalize_unit_code"]
