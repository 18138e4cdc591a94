"""Boundary layers: one vintage of administrative unit polygons from one source, checked and repaired.

:func:`prepare_boundary_layer` takes a GeoDataFrame as read from a file and returns the features with
normalised codes and names, geometry in EPSG:4326 (MultiPolygon) and in a VN-2000 TM-3 zone (for areas and
for the reassignment), and a record of every repair. It refuses what cannot be repaired, naming the
feature: a missing field, a bad code, a feature without polygonal geometry.
"""

from __future__ import annotations

import dataclasses
import json
import math
import unicodedata

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from identifiers import InvalidCodeError, normalize_unit_code

from .crs import is_metric, tm3_zone_for_longitude, transform_geometries


class BoundaryLayerError(ValueError):
    """A boundary layer that cannot be used; ``feature`` is the 0-based feature index when known."""

    def __init__(self, reason: str, feature: int | None = None):
        super().__init__(reason if feature is None else f"feature {feature}: {reason}")
        self.reason = reason
        self.feature = feature


@dataclasses.dataclass
class PreparedLayer:
    """Features of one boundary layer ready to store.

    ``features`` columns: feature_index, code (None when blank), name, province_code, repaired,
    repair_note, attributes (dict of the other fields), area_m2, geometry (EPSG:4326 MultiPolygon),
    geometry_metric (MultiPolygon in ``metric_epsg``).
    """

    features: gpd.GeoDataFrame
    metric_epsg: int
    source_crs: str

    @property
    def repairs(self) -> pd.DataFrame:
        """The features that were repaired (make_valid), with the repair."""
        return self.features.loc[self.features["repaired"], ["feature_index", "code", "name", "repair_note"]]


def prepare_boundary_layer(frame: gpd.GeoDataFrame, *, code_field: str, name_field: str,
                           province_field: str | None = None, province_code: str | None = None,
                           metric_epsg: int | None = None) -> PreparedLayer:
    """Check, normalise and repair a boundary layer (see the module docstring).

    ``province_code`` fills the province of features that have no ``province_field`` value.
    ``metric_epsg`` defaults to the TM-3 zone nearest the layer's centre (or the layer's own CRS when it
    is already metric).

    Parameters
    ----------
    frame : GeoDataFrame
        The layer as read, with its CRS.
    code_field, name_field : str
        The fields holding the commune code and name.
    province_field : str, optional
        The field holding the province code.
    province_code : str, optional
        The province of features without one.
    metric_epsg : int, optional
        The metric CRS for areas; default the nearest TM-3 zone.

    Returns
    -------
    PreparedLayer
        Features in EPSG:4326 and in ``metric_epsg``, with codes normalised and repairs noted.

    Raises
    ------
    BoundaryLayerError
        A field is missing or the layer has no CRS.
    """
    _check_fields(frame, code_field, name_field, province_field)
    if frame.crs is None:
        raise BoundaryLayerError("the layer has no coordinate reference system: give it one (--crs)")
    codes = _codes(frame[code_field], "commune")
    provinces = (_codes(frame[province_field], "province") if province_field
                 else [None] * len(frame))
    default_province = normalize_unit_code(province_code, "province") if province_code else None
    provinces = [p or default_province for p in provinces]
    geoms, repaired, notes = _repair_polygons(frame.geometry.to_numpy())
    wgs84 = transform_geometries(geoms, frame.crs, "EPSG:4326")
    if metric_epsg is None:
        metric_epsg = (frame.crs.to_epsg() if is_metric(frame.crs) and frame.crs.to_epsg()
                       else tm3_zone_for_longitude(_centre_longitude(wgs84)))
    metric = transform_geometries(geoms, frame.crs, f"EPSG:{metric_epsg}")
    used = {code_field, name_field, province_field, frame.geometry.name}
    attributes = frame[[c for c in frame.columns if c not in used]]
    features = gpd.GeoDataFrame({
        "feature_index": np.arange(len(frame)),
        "code": codes,
        "name": [_clean_name(v) for v in frame[name_field]],
        "province_code": provinces,
        "repaired": repaired,
        "repair_note": notes,
        "attributes": [_json_safe(row) for row in attributes.to_dict("records")],
        "area_m2": shapely.area(metric),
        "geometry_metric": metric,
    }, geometry=gpd.GeoSeries(wgs84, crs="EPSG:4326"))
    return PreparedLayer(features, metric_epsg, frame.crs.to_string())


def _check_fields(frame, code_field, name_field, province_field) -> None:
    fields = [c for c in frame.columns if c != frame.geometry.name]
    for role, field in (("code", code_field), ("name", name_field), ("province", province_field)):
        if field is not None and field not in frame.columns:
            raise BoundaryLayerError(f"{role} field {field!r} not found; the layer has fields {fields}")


def _codes(values: pd.Series, level: str) -> list[str | None]:
    out = []
    for i, value in enumerate(values):
        try:
            out.append(normalize_unit_code(value, level))
        except InvalidCodeError as exc:
            raise BoundaryLayerError(str(exc), feature=i) from None
    return out


def _clean_name(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return " ".join(unicodedata.normalize("NFC", str(value)).split()) or None


def _repair_polygons(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """MultiPolygons out; invalid ones repaired with make_valid (polygonal parts kept), each repair noted."""
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            raise BoundaryLayerError("no geometry", feature=i)
    types = shapely.get_type_id(geoms)
    bad_type = np.flatnonzero(~np.isin(types, (3, 6)))
    if bad_type.size:
        i = int(bad_type[0])
        raise BoundaryLayerError(f"geometry is a {geoms[i].geom_type}, expected Polygon or MultiPolygon",
                                 feature=i)
    valid = shapely.is_valid(geoms)
    notes: list[str | None] = [None] * len(geoms)
    out = geoms.copy()
    for i in np.flatnonzero(~valid):
        reason = shapely.is_valid_reason(geoms[i])
        fixed = polygonal_parts(shapely.make_valid(geoms[i]))
        if fixed.is_empty:
            raise BoundaryLayerError(f"invalid geometry ({reason}) that make_valid cannot turn into a polygon",
                                     feature=int(i))
        out[i] = fixed
        notes[i] = f"make_valid: {reason}"
    single = shapely.get_type_id(out) == 3
    out[single] = [shapely.MultiPolygon([g]) for g in out[single]]
    return out, ~valid, notes


def polygonal_parts(geom):
    """The polygonal parts of a geometry, as a MultiPolygon.

    Only the polygonal parts of a geometry, as a MultiPolygon (empty when there are none): what is
    left of a polygon that make_valid turned into a collection.
    """
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon")]
    flat = [q for p in polys for q in (p.geoms if p.geom_type == "MultiPolygon" else [p])]
    return shapely.MultiPolygon(flat)


def _centre_longitude(geoms_wgs84: np.ndarray) -> float:
    xmin, _, xmax, _ = shapely.total_bounds(geoms_wgs84)
    return (xmin + xmax) / 2


def _json_safe(record: dict) -> dict:
    """Attributes as JSON-ready values (NaN → None, numpy scalars → Python, dates → ISO text)."""
    out = {}
    for key, value in record.items():
        if isinstance(value, float) and math.isnan(value):
            value = None
        elif isinstance(value, np.generic):
            value = value.item()
        elif not isinstance(value, (str, int, float, bool, type(None))):
            value = str(value)
        out[str(key)] = value
    return json.loads(json.dumps(out, ensure_ascii=False))
