"""The data-quality checks (DESIGN §6): "sufficient" (missing data) and "correct – clean" (conflicts).

Each check is a vectorised function of a plot frame (one row per plot, columns as :func:`geoland.pipeline.quality`
reads them) and returns findings: ``plot_id``, ``type``, ``value`` (the measured value, never personal
data), ``tolerance`` and ``related`` (the other plots involved, sorted). Category and severity come with
the type (:data:`geoland.rules.vocab.FINDING_TYPES`). No database here: the same functions run on any frame.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import shapely

from geoland.rules.vntext import looks_damaged
from geoland.rules.vocab import FINDING_TYPES
from identifiers.cccd import LEGACY_CMND, check_cccd
from identifiers.landuse import classify_land_use

MISSING = {"certificate_serial": "missing_certificate", "user_name": "missing_user_name",
           "id_number": "missing_id_number", "land_use": "missing_land_use", "legal_area_m2": "missing_legal_area"}
# The campaign's "missing ≥ 1 field": the five fields, and a holder not identified (the register's check)
CAMPAIGN_FIELDS = (*MISSING.values(), "unidentified_holder")

DEFAULT_MAP_SCALE = 2000       # 1:2,000, the usual scale of rural residential and farmland sheets
DEFAULT_MIN_OVERLAP_M2 = 1.0
OVERLAP_SHRINK_M = 0.001
_COLUMNS = ["plot_id", "type", "value", "tolerance", "related"]


def _findings(plot_ids, kind, values=None, tolerance=None, related=None) -> pd.DataFrame:
    n = len(plot_ids)
    return pd.DataFrame({
        "plot_id": np.asarray(plot_ids, dtype=np.int64), "type": kind,
        "value": pd.Series(values if values is not None else [None] * n, dtype=object).to_numpy(),
        "tolerance": pd.Series(tolerance if tolerance is not None else [None] * n, dtype=object).to_numpy(),
        "related": related if related is not None else [()] * n})


def is_blank(series: pd.Series) -> np.ndarray:
    r"""Which values are missing: null, NaN, or text that is only white space.

    The one definition of "blank" for the importer (a cell that holds nothing) and the checks (a field to
    supplement). Numbers are blank only when null; text goes through pyarrow's kernels, no Python loop.

    Parameters
    ----------
    series : Series
        Any column of a plot frame.

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> is_blank(pd.Series(["ONT", " ", None, "\t"])).tolist()
    [False, True, True, True]
    >>> is_blank(pd.Series([1.5, float("nan")])).tolist()
    [False, True]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (series.dtype == object or pd.api.types.is_string_dtype(series)):
        return series.isna().to_numpy(dtype=bool)
    values = series.astype(object)
    try:                                   # text only (the usual case): pyarrow's kernels, column-wise
        text = pa.array(values.to_numpy(), pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    else:
        return pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), ""), True).to_numpy(zero_copy_only=False)
    blank = values.isna().to_numpy(dtype=bool).copy()
    text = values[~blank]
    is_text = text.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    if is_text.any():
        empty = text[is_text].astype(str).str.strip().to_numpy(dtype=object) == ""
        blank[np.flatnonzero(~blank)[is_text]] = empty
    return blank


def missing_fields(plots: pd.DataFrame) -> pd.DataFrame:
    """Missing certificate serial, land-user name, CCCD, land-use type, legal area, code, new commune."""
    parts = [_findings(plots["plot_id"][is_blank(plots[column])], kind) for column, kind in MISSING.items()]
    if "code" in plots:
        parts.append(_findings(plots["plot_id"][is_blank(plots["code"])], "missing_code"))
    if "commune_code" in plots:
        parts.append(_findings(plots["plot_id"][is_blank(plots["commune_code"])], "missing_commune"))
    return pd.concat(parts, ignore_index=True)


def cccd_findings(plots: pd.DataFrame) -> pd.DataFrame:
    """Numbers that are not valid CCCDs, and legacy 9-digit CMNDs.

    A number that is not a CCCD (12 digits, known birth province, century and year digits agreeing with
    the birth year when known); a 9-digit CMND is accepted and flagged as legacy.
    """
    reason = check_cccd(plots["id_number"].to_numpy(dtype=object), plots["birth_year"].to_numpy(dtype=object))
    ids = plots["plot_id"].to_numpy()
    bad = np.array([r not in (None, "", LEGACY_CMND) for r in reason], dtype=bool)
    legacy = reason == LEGACY_CMND
    return pd.concat([_findings(ids[bad], "invalid_cccd", reason[bad]),
                      _findings(ids[legacy], "legacy_cmnd", reason[legacy])], ignore_index=True)


def _folded_names(names: pd.Series) -> np.ndarray:
    """Names folded for comparison.

    Names compared without case or spacing: lower case, runs of white space as one space, trimmed
    ('' for none); pyarrow's Unicode kernels, column-wise.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(names.astype(object).where(names.notna(), None).to_numpy(dtype=object), pa.string())
    text = pc.utf8_trim_whitespace(pc.replace_substring_regex(pc.utf8_lower(text), r"[\s\pZ]+", " "))
    return pc.fill_null(text, "").to_numpy(zero_copy_only=False).astype(object)


def cccd_conflicts(plots: pd.DataFrame) -> pd.DataFrame:
    """One ID number held by several people.

    One number, several people: the same CCCD with different names (compared without case or spacing)
    or different birth years across plots. Each plot of the group is a finding, the others related.
    """
    users = plots.loc[~is_blank(plots["id_number"]), ["plot_id", "id_number", "user_name", "birth_year"]].copy()
    users["id_number"] = users["id_number"].astype(str).str.strip()
    users["who"] = _folded_names(users["user_name"])
    named = users[users["who"] != ""]
    names = users["id_number"].map(named.groupby("id_number")["who"].nunique()).fillna(0).astype(int)
    years = users.groupby("id_number")["birth_year"].transform("nunique")
    clash = users[(names > 1) | (years > 1)]
    if clash.empty:
        return _findings([], "cccd_conflict")
    members = clash.groupby("id_number")["plot_id"].agg(lambda s: tuple(sorted(s)))
    group = clash["id_number"].map(members)
    related = [tuple(p for p in g if p != own) for own, g in zip(clash["plot_id"], group)]
    value = [f"{n} names, {y} birth years" for n, y in zip(names[clash.index], years[clash.index])]
    return _findings(clash["plot_id"], "cccd_conflict", value, related=related)


def verification_findings(plots: pd.DataFrame) -> pd.DataFrame:
    """Plots whose land user the population database found incorrect or could not verify."""
    status = plots["verification"].astype(object)
    parts = []
    for answer, kind in (("incorrect", "verification_incorrect"), ("unverifiable", "verification_unverifiable")):
        hit = (status == answer).to_numpy()
        parts.append(_findings(plots["plot_id"][hit], kind, plots["checked_at"][hit].astype(str)))
    return pd.concat(parts, ignore_index=True)


def land_use_findings(plots: pd.DataFrame) -> pd.DataFrame:
    """Unknown, legacy and combined land-use codes.

    A land-use value with a part that is no current or legacy code; legacy codes and combinations are
    mapped (``BHK`` → ``HNK``; ``ONT+CLN`` split) and flagged for information.
    """
    current, legacy, unknown = classify_land_use(plots["land_use"].to_numpy(dtype=object))
    ids = plots["plot_id"].to_numpy()
    bad = unknown != ""
    old = legacy & ~bad
    return pd.concat([_findings(ids[bad], "unknown_land_use", unknown[bad]),
                      _findings(ids[old], "legacy_land_use", current[old])], ignore_index=True)


TEXT_FIELDS = ("user_name", "land_use", "certificate_serial")


def damaged_text(plots: pd.DataFrame) -> pd.DataFrame:
    """Text damaged by an earlier broken TCVN3 conversion (``ĐOàN``, ``TổNG CụC``).

    The finding's value names the field, never the text (a name is personal data).
    """
    parts = []
    for column in (c for c in TEXT_FIELDS if c in plots):
        values = plots[column]
        damaged = [v for v in pd.unique(values.dropna()) if looks_damaged(v)]
        if damaged:
            hit = values.isin(damaged).to_numpy()
            parts.append(_findings(plots["plot_id"].to_numpy()[hit], "damaged_text", [column] * int(hit.sum())))
    return pd.concat(parts, ignore_index=True) if parts else _findings([], "damaged_text")


def area_tolerance(area_m2, map_scale: int = DEFAULT_MAP_SCALE) -> np.ndarray:
    """Allowed difference between recorded and computed area, m².

    Allowed difference between recorded and computed area, m²: twice the mean area error of a plot
    measured on a sheet of scale 1:``map_scale``, 2 × 0.0002 · M · √P (the cadastral survey rule), so
    ±0.8 √P at 1:2,000: 8 m² (8 %) for a 100 m² plot, 80 m² (0.8 %) for 1 ha. Never below 0.1 m² (areas
    are recorded to one decimal).

    Parameters
    ----------
    area_m2 : array_like
        Computed areas.
    map_scale : int
        The sheets' scale 1:M.

    Returns
    -------
    ndarray of float

    >>> area_tolerance([100, 10_000]).round(1).tolist()
    [8.0, 80.0]
    """
    area = np.asarray(area_m2, dtype=float)
    return np.maximum(2 * 0.0002 * map_scale * np.sqrt(np.maximum(area, 0)), 0.1)


def area_mismatch(plots: pd.DataFrame, map_scale: int = DEFAULT_MAP_SCALE) -> pd.DataFrame:
    """Recorded (legal) area against the area computed in the plot's TM-3 zone.

    Parameters
    ----------
    plots : DataFrame
        ``plot_id``, ``legal_area_m2``, ``area_m2``.
    map_scale : int
        The sheets' scale 1:M.

    Returns
    -------
    DataFrame
        Findings: value the difference, tolerance the allowed one.
    """
    legal = pd.to_numeric(plots["legal_area_m2"], errors="coerce").to_numpy(dtype=float)
    computed = plots["area_m2"].to_numpy(dtype=float)
    tolerance = area_tolerance(computed, map_scale)
    off = ~np.isnan(legal) & (np.abs(legal - computed) > tolerance)
    value = [f"{lg:.1f} vs {c:.1f} m² ({(lg - c) / c:+.1%})" if c else f"{lg:.1f} vs {c:.1f} m²"
             for lg, c in zip(legal[off], computed[off])]
    return _findings(plots["plot_id"].to_numpy()[off], "area_mismatch", value,
                     [f"±{t:.1f} m² (1:{map_scale})" for t in tolerance[off]])


def geometry_findings(plots: pd.DataFrame, geoms: np.ndarray, valid: np.ndarray | None = None) -> pd.DataFrame:
    """Invalid, empty or self-overlapping geometry.

    Invalid, empty or self-overlapping geometry: what the import had to repair (its note), or what is
    invalid now (``valid``: ``shapely.is_valid(geoms)`` when the caller has it).

    Parameters
    ----------
    plots : DataFrame
        ``plot_id``, ``repaired``, ``repair_note``.
    geoms : ndarray of Geometry
        The plots' geometries.
    valid : ndarray of bool, optional
        ``shapely.is_valid(geoms)`` when the caller has it.

    Returns
    -------
    DataFrame
    """
    valid = (shapely.is_valid(geoms) if valid is None else valid) & ~shapely.is_empty(geoms)
    repaired = plots["repaired"].to_numpy(dtype=bool)
    bad = ~valid | repaired
    reasons = np.full(len(geoms), None, dtype=object)
    reasons[~valid] = shapely.is_valid_reason(geoms[~valid])
    note = plots["repair_note"].astype(object).to_numpy()
    value = [r if r is not None else (n or "repaired on import") for r, n in zip(reasons[bad], note[bad])]
    return _findings(plots["plot_id"].to_numpy()[bad], "invalid_geometry", value)


def overlaps(plots: pd.DataFrame, geoms: np.ndarray, min_area_m2: float = DEFAULT_MIN_OVERLAP_M2,
             valid: np.ndarray | None = None) -> pd.DataFrame:
    """Pairs of plots whose intersection is larger than ``min_area_m2``.

    Neighbours that share a boundary touch along a line (area 0) and are most pairs of a cadastral map, so
    candidates are found by querying each plot shrunk by :data:`OVERLAP_SHRINK_M` (1 mm) against the others
    (STRtree, both cores): only plots whose interiors overlap by more than a millimetre's width remain, and their
    intersection areas are computed array-wise. Each plot of a pair is a finding, the other related, the area the
    value.

    Parameters
    ----------
    plots : DataFrame
        ``plot_id`` (and the plots' order).
    geoms : ndarray of Geometry
        The plots' geometries in metres.
    min_area_m2 : float
        Smaller overlaps are not findings.
    valid : ndarray of bool, optional
        ``shapely.is_valid(geoms)`` when the caller has it.

    Returns
    -------
    DataFrame
        One finding per plot of each pair, the other plot related.
    """
    ids = plots["plot_id"].to_numpy()
    geoms = geoms.copy()
    invalid = ~(shapely.is_valid(geoms) if valid is None else valid)
    geoms[invalid] = shapely.make_valid(geoms[invalid])
    tree = shapely.STRtree(geoms)

    def candidates(part):
        shrunk = shapely.buffer(geoms[part], -OVERLAP_SHRINK_M, quad_segs=1, join_style="mitre")
        inner, other = tree.query(shrunk, predicate="intersects")
        return part[inner], other

    chunks = np.array_split(np.arange(len(geoms)), max(1, min(8, len(geoms) // 50_000)))
    with ThreadPoolExecutor(2) as pool:
        found = list(pool.map(candidates, chunks))
    left = np.concatenate([f[0] for f in found]) if found else np.empty(0, int)
    right = np.concatenate([f[1] for f in found]) if found else np.empty(0, int)
    pairs = np.unique(np.sort(np.column_stack([left, right])[left != right], axis=1), axis=0)
    left, right = pairs[:, 0], pairs[:, 1]
    area = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    big = area > min_area_m2
    left, right, area = left[big], right[big], area[big]
    value = [f"{a:.1f} m²" for a in np.concatenate([area, area])]
    return _findings(np.concatenate([ids[left], ids[right]]), "overlap", value,
                     [f"> {min_area_m2:g} m²"] * len(value),
                     [(int(r),) for r in np.concatenate([ids[right], ids[left]])])


def duplicate_mx(plots: pd.DataFrame) -> pd.DataFrame:
    """Plots of one old commune with the same sheet and plot number (MX.SB.ST)."""
    keyed = plots.dropna(subset=["old_commune_code", "sheet", "plot_number"])
    keys = (keyed["old_commune_code"].astype(str) + "." + keyed["sheet"].astype(str) + "."
            + keyed["plot_number"].astype(str))
    dup = keys.duplicated(keep=False)
    if not dup.any():
        return _findings([], "duplicate_mx")
    ids = keyed.loc[dup, "plot_id"]
    groups = ids.groupby(keys[dup]).agg(lambda s: tuple(sorted(s)))
    group = keys[dup].map(groups)
    related = [tuple(p for p in g if p != own) for own, g in zip(ids, group)]
    return _findings(ids, "duplicate_mx", keys[dup].to_numpy(), related=related)


def code_findings(conflicts: pd.DataFrame, plot_ids) -> pd.DataFrame:
    """The conflicts recorded by ``geoland codes issue`` (``kind``, ``code``, ``plot_ids``), per plot.

    Parameters
    ----------
    conflicts : DataFrame
        The recorded conflicts.
    plot_ids : array_like
        The plots checked (conflicts of other plots are left out).

    Returns
    -------
    DataFrame
    """
    present = set(np.asarray(plot_ids).tolist())
    rows = [(p, kind, code, tuple(sorted(q for q in ids if q != p)))
            for kind, code, ids in conflicts[["kind", "code", "plot_ids"]].itertuples(index=False)
            for p in ids if p in present]
    plot_id, kind, value, related = zip(*rows) if rows else ((), (), (), ())
    return _findings(plot_id, np.array(kind, dtype=object), value, related=list(related))


def assignment_findings(plots: pd.DataFrame) -> pd.DataFrame:
    """The reassignment's findings: straddling, outside, legal mismatch.

    From the reassignment: straddling (value: the share in the commune found and the second commune),
    outside, and legal mismatch (the commune found is not one the conversion table allows).
    """
    status = plots["status"].astype(object)
    ids = plots["plot_id"]
    straddle = (status == "straddling").to_numpy()
    shares = plots.loc[straddle, ["overlap_share", "commune_code", "second_share", "second_code"]]
    value = [f"{s:.1%} in {c}, {t:.1%} in {d}" for s, c, t, d in shares.itertuples(index=False)]
    mismatch = plots["legal_mismatch"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return pd.concat([
        _findings(ids[straddle], "straddling", value),
        _findings(ids[(status == "outside").to_numpy()], "outside"),
        _findings(ids[mismatch], "legal_mismatch",
                  [f"{o} → {c}" for o, c in plots.loc[mismatch, ["old_commune_code", "commune_code"]]
                   .itertuples(index=False)]),
    ], ignore_index=True)


def run_checks(plots: pd.DataFrame, geoms: np.ndarray, conflicts: pd.DataFrame | None = None, *,
               map_scale: int = DEFAULT_MAP_SCALE, min_overlap_m2: float = DEFAULT_MIN_OVERLAP_M2,
               extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """Run every check on a plot frame.

    Every check on the plots; findings sorted by plot, type and related plots, with category and
    severity.

    Parameters
    ----------
    plots : DataFrame
        One row per plot, the columns :func:`geoland.pipeline.quality.read_plots` reads.
    geoms : ndarray of Geometry
        The plots' geometries in their TM-3 zone, in the same order.
    conflicts : DataFrame, optional
        The code conflicts recorded by ``geoland codes issue``.
    map_scale : int
        Scale 1:M of the sheets, for the area tolerance.
    min_overlap_m2 : float
        Smaller overlaps between plots are not findings.
    extra : DataFrame, optional
        Findings measured elsewhere (the land register's, :mod:`geoland.pipeline.register_checks`), in the
        same columns, stored with these.

    Returns
    -------
    DataFrame
        ``plot_id``, ``type``, ``category``, ``severity``, ``value``, ``tolerance``, ``related``.
    """
    valid = shapely.is_valid(geoms)
    parts = [missing_fields(plots), cccd_findings(plots), cccd_conflicts(plots), verification_findings(plots),
             land_use_findings(plots), area_mismatch(plots, map_scale), geometry_findings(plots, geoms, valid),
             overlaps(plots, geoms, min_overlap_m2, valid), duplicate_mx(plots), assignment_findings(plots),
             damaged_text(plots)]
    if conflicts is not None and len(conflicts):
        parts.append(code_findings(conflicts, plots["plot_id"]))
    if extra is not None:
        parts.append(extra[_COLUMNS])
    found = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) \
        else _findings([], "none")
    found["related"] = [tuple(map(int, r)) if r else () for r in found["related"]]
    found["category"] = found["type"].map({t: v.group for t, v in FINDING_TYPES.items()})
    found["severity"] = found["type"].map({t: v.severity for t, v in FINDING_TYPES.items()})
    found["_key"] = [r[0] if r else -1 for r in found["related"]]
    found = found.sort_values(["plot_id", "type", "_key"], ignore_index=True).drop(columns="_key")
    return found.drop_duplicates(["plot_id", "type", "related"], ignore_index=True)
