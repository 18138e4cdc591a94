"""What the commands return: one small dataclass per command, with ``as_dict()`` for ``--json``.

The pipeline's functions build their answer and return one of these (:func:`returns`); the CLI and the
demo read attributes and print them through the one set of formatters in :mod:`geoland.output`. Fields that
only some runs have (a dry run's examples, a resumed job's ids) default to None and are left out of
``as_dict()`` when absent, so that ``--json`` prints what was measured and nothing else.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field

OPTIONAL = {"optional": True}      # a field that only some runs measure: left out of as_dict() when None


@dataclass
class Result:
    """Base class of the command results."""

    @classmethod
    def of(cls, values: dict):
        """The result from the keys a pipeline function measured; an unknown key is a programming error."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise TypeError(f"{cls.__name__} has no field(s) {sorted(unknown)}")
        return cls(**values)

    def as_dict(self) -> dict:
        """The result as plain values (``--json``); optional fields that were not measured are left out."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if not (f.metadata.get("optional") and getattr(self, f.name) is None)}


def returns(kind: type[Result]):
    """Decorate a function that builds a dict so that it returns ``kind`` instead."""
    def wrap(function):
        @functools.wraps(function)
        def inner(*args, **kwargs):
            value = function(*args, **kwargs)
            return value if isinstance(value, Result) else kind.of(value)
        return inner
    return wrap


@dataclass
class ConversionLoad(Result):
    """``geoland units load-conversion``."""

    file: str
    sha256: str
    effective: str
    rows: int
    new_communes: int
    old_communes: int
    provinces: int
    old_provinces: int
    split_old_communes: int
    kinds: dict
    padded_codes: list
    warnings: list
    job_id: int | None
    unchanged: bool
    units: dict = field(default_factory=dict)
    changes: dict = field(default_factory=dict)


@dataclass
class BoundaryLoad(Result):
    """``geoland units load-boundaries``."""

    file: str
    sha256: str
    effective: str
    features: int
    metric_epsg: int
    provinces: list
    matched: int
    unknown_code: list
    no_code: list
    duplicate_codes: list
    units_without_boundary: list
    repairs: list
    area_km2: float
    layer_id: int
    job_id: int | None
    unchanged: bool
    superseded: list


@dataclass
class Coverage(Result):
    """``geoland units check``: gaps and overlaps between communes."""

    effective: str
    province: str | None
    units: int
    min_area_m2: float
    gaps: int
    overlaps: int
    gap_area_m2: float
    overlap_area_m2: float
    defects: list


@dataclass
class UnitLookup(Result):
    """``geoland units lookup``."""

    code: str
    at: str
    name: str
    level: str
    unit_type: str | None
    province_code: str | None
    district_name: str | None
    valid: str
    formed_from: list
    became: list
    code_history: list


@dataclass
class PlotImport(Result):
    """``geoland plots import``."""

    file: str
    sha256: str
    layer: str | None
    driver: str
    source_crs: str
    srid: int
    fields: dict
    unchanged: bool
    import_id: int
    job_id: int
    rows_read: int
    imported: int
    quarantined: int
    text_encoding: str | None = field(default=None, metadata=OPTIONAL)
    encoding_evidence: dict | None = field(default=None, metadata=OPTIONAL)
    field_suggestions: dict | None = field(default=None, metadata=OPTIONAL)
    zone_basis: str | None = field(default=None, metadata=OPTIONAL)
    z_dropped: int | None = field(default=None, metadata=OPTIONAL)
    placed_by_location: int | None = field(default=None, metadata=OPTIONAL)
    without_province: int | None = field(default=None, metadata=OPTIONAL)
    duplicates_of_earlier: int | None = field(default=None, metadata=OPTIONAL)
    repaired: int | None = field(default=None, metadata=OPTIONAL)
    quarantine_reasons: dict | None = field(default=None, metadata=OPTIONAL)
    replaced: list | None = field(default=None, metadata=OPTIONAL)
    register: dict | None = field(default=None, metadata=OPTIONAL)


@dataclass
class Reassignment(Result):
    """``geoland reassign``."""

    effective: str
    province: str | None
    plots: int
    status: dict
    per_commune: dict
    legal_mismatch: int
    legal_unchecked: int
    changes: dict
    examples: list
    dry_run: bool
    job_id: int | None
    written: int
    resumed: list | None = field(default=None, metadata=OPTIONAL)


@dataclass
class CodeIssue(Result):
    """``geoland codes issue``."""

    province: str | None
    job_id: int
    resumed: list
    tolerance_m: float
    issued: int
    with_code: int
    communes: int
    new_conflicts: int
    conflicts: dict
    reinstated: int = 0
    withheld_retired: int = 0


@dataclass
class Recoding(Result):
    """``geoland recode``."""

    province: str | None
    policy: str
    effective: str
    dry_run: bool
    plots: int
    communes: int
    legacy_collisions: int
    job_id: int | None
    recoded: int
    remaining_communes: int
    resumed: list | None = field(default=None, metadata=OPTIONAL)
    communes_done_before: int | None = field(default=None, metadata=OPTIONAL)
    already_recoded_with: str | None = field(default=None, metadata=OPTIONAL)
    changed: int | None = field(default=None, metadata=OPTIONAL)
    examples: list | None = field(default=None, metadata=OPTIONAL)
    crosswalk_file: str | None = field(default=None, metadata=OPTIONAL)


@dataclass
class Check(Result):
    """``geoland check``."""

    job_id: int
    province: str | None
    commune: str | None
    plots: int
    effective: str | None
    campaign: dict
    findings: int
    plots_with_findings: int
    by_type: dict
    by_category: dict
    changes: dict


@dataclass
class Recheck(Result):
    """``geoland check --changed-since``: the plots edited since a date or job, re-checked with their partners."""

    job_id: int | None
    since: str
    edited_plots: int
    plots: int
    opened: int
    reopened_changed: int
    closed: int
    unchanged: int


@dataclass
class VerificationImport(Result):
    """``geoland people import-verification``."""

    job_id: int
    file: str
    rows: int
    loaded: int
    authenticated: int
    incorrect: int
    unverifiable: int
    matching_land_users: int


@dataclass
class Report(Result):
    """``geoland report``."""

    province: str | None
    out: str
    effective: str | None
    files: list
    communes: int
    findings: int
    campaign: dict
    by_type: dict
    register: dict = field(default_factory=dict)


@dataclass
class MapFile(Result):
    """``geoland map``."""

    commune: str
    name: str | None
    file: str
    bytes: int
    plots: int
    clean: int
    missing: int
    conflict: int


@dataclass
class Export(Result):
    """``geoland export``."""

    export_id: str
    out: str
    rows: int
    files: dict
    delta: dict | None
    source_jobs: list


@dataclass
class ExportCheck(Result):
    """``geoland export verify``."""

    export_id: str
    files: int
    ok: bool


@dataclass
class RegisterImport(Result):
    """``geoland register import``."""

    file: str
    sha256: str
    format: str
    import_id: int
    job_id: int
    text_encoding: str
    cells_converted: int
    rows: dict
    quarantined: int
    counts: dict
    unchanged: bool = False
    quarantined_by_sheet: dict | None = field(default=None, metadata=OPTIONAL)
    problems: list | None = field(default=None, metadata=OPTIONAL)
    unknown_columns: dict | None = field(default=None, metadata=OPTIONAL)


@dataclass
class Reconcile(Result):
    """``geoland register reconcile``."""

    file: str
    sha256: str
    job_id: int
    rows: int
    differences: dict
    unchanged: bool
    examples: list
    out: str | None = field(default=None, metadata=OPTIONAL)


@dataclass
class VerificationRequests(Result):
    """``geoland people export-requests``."""

    job_id: int
    out: str
    province: str | None
    since: str | None
    people: int
    asked_before: int
