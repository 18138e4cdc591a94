"""Administrative units and their change over time.

Administrative units and their change over time: the conversion table, boundary layers, coverage QA
(and, later, the reassignment engine). GeoDataFrames in, DataFrames out; no database, no file paths.
"""

from .conversion import CHANGE_KINDS, ConversionTable, ConversionTableError, classify_change, parse_conversion_table
from .coverage import coverage_defects
from .layers import BoundaryLayerError, PreparedLayer, prepare_boundary_layer

__all__ = [
    "CHANGE_KINDS", "BoundaryLayerError", "ConversionTable", "ConversionTableError", "PreparedLayer",
    "classify_change", "coverage_defects", "parse_conversion_table", "prepare_boundary_layer",
]
