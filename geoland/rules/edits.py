"""The fields commune officers may supplement or correct, and how each typed value is checked (issue 17).

One catalogue for the web form, its as-you-type check and the command line: each field names what it
changes (the plot, its first holder, its certificate, its dispute flag), whether it is personal data, and how
a typed value is read. The rules are the checks' own (:mod:`geoland.rules.checks`): an ID number is judged by
:func:`identifiers.cccd.check_cccd` with the birth year, a land-use code by
:func:`identifiers.landuse.classify_land_use`, a name by the damaged-text rule. A value the checks would
only flag for information (a legacy CMND, a legacy land-use code) is accepted with a warning; a value they
would call wrong is refused. Problems are reason codes; their words are in :mod:`geoland.rules.vocab`
(``EDIT_REASONS``). No database here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from geoland.rules.registry import BOOK_FORMAT, SERIES_FORMAT, coded
from geoland.rules.vntext import looks_damaged
from identifiers.cccd import LEGACY_CMND, check_cccd
from identifiers.landuse import classify_land_use


@dataclass(frozen=True)
class Field:
    """One editable field: ``entity`` (``plot``, ``holder``, ``dispute``), its column, kind and privacy."""

    name: str
    entity: str
    column: str
    kind: str
    personal: bool = False


FIELDS = {f.name: f for f in (
    Field("land_use", "plot", "land_use", "land_use"),
    Field("legal_area_m2", "plot", "legal_area_m2", "area"),
    Field("sheet", "plot", "sheet", "count"),
    Field("plot_number", "plot", "plot_number", "count"),
    Field("certificate_series", "certificate", "series", "series"),
    Field("certificate_book", "certificate", "book_number", "book"),
    Field("certificate_issued_on", "certificate", "issued_on", "date"),
    Field("certificate_authority", "certificate", "authority", "note"),
    Field("certificate_form", "certificate", "form", "form"),
    Field("holder_name", "holder", "name", "name", personal=True),
    Field("id_number", "holder", "id_number", "id_number", personal=True),
    Field("birth_year", "holder", "birth_year", "year", personal=True),
    Field("disputed", "dispute", "disputed", "flag"),
    Field("disputed_since", "dispute", "disputed_since", "date"),
    Field("dispute_note", "dispute", "dispute_note", "note"),
)}
# An asset's values on the plot page (a house, an apartment, a construction on the plot): read by the same
# kinds as the plot's fields, under the asset's id.
ASSET_FIELDS = {f.name: f for f in (
    Field("floor_area", "asset", "floor_area", "area"),
    Field("floors", "asset", "floors", "count"),
    Field("year_built", "asset", "year_built", "built"),
    Field("structure", "asset", "structure", "name"),
)}
FIRST_BUILT = 1800
MAX_TEXT = {"name": 200, "note": 2000, "land_use": 40, "series": 20}
FIRST_YEAR = 1900


class Problem(ValueError):
    """A typed value the rules refuse: ``field`` and a reason code of ``vocab.EDIT_REASONS``."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def parse(name: str, raw, *, birth_year=None, today: dt.date | None = None) -> tuple[object, str | None]:
    """The value a typed text stands for, and a warning code (or None).

    ``raw`` blank (or None) is "no value" for a plot field: a field is emptied only by typing nothing
    into a field that had a value. ``birth_year``: the holder's, to judge an ID number's century digits.

    Raises
    ------
    Problem
        The value breaks a rule (the reason code says which).
    KeyError
        Not an editable field.
    """
    field = FIELDS[name] if name in FIELDS else ASSET_FIELDS[name]
    text = "" if raw is None else str(raw).strip()
    if field.kind == "flag":
        return text.lower() in ("1", "true", "on", "yes", "có", "x"), None
    if not text:
        return None, None
    limit = MAX_TEXT.get(field.kind)
    if limit and len(text) > limit:
        raise Problem(name, "too_long")
    today = today or dt.date.today()
    if field.kind == "land_use":
        _, legacy, unknown = classify_land_use([text.upper()])
        if unknown[0]:
            raise Problem(name, "unknown_land_use")
        return text.upper(), "legacy_land_use" if legacy[0] else None
    if field.kind == "area":
        try:
            value = float(text.replace(",", "."))
        except ValueError:
            raise Problem(name, "not_a_number") from None
        if not 0 < value < 1e9:
            raise Problem(name, "not_positive")
        return round(value, 1), None
    if field.kind in ("count", "year", "built"):
        if not re.fullmatch(r"[0-9]{1,9}", text):
            raise Problem(name, "not_a_whole_number")
        value = int(text)
        if field.kind == "count" and value < 1:
            raise Problem(name, "not_positive")
        if field.kind == "year" and not FIRST_YEAR <= value <= today.year:
            raise Problem(name, "year_out_of_range")
        if field.kind == "built" and not FIRST_BUILT <= value <= today.year:
            raise Problem(name, "built_out_of_range")
        return value, None
    if field.kind == "series":
        series = " ".join(text.upper().split())
        if not re.fullmatch(SERIES_FORMAT, series):
            raise Problem(name, "series_format")
        return series, None
    if field.kind == "book":
        book = text.upper()
        if not re.fullmatch(BOOK_FORMAT, book):
            raise Problem(name, "book_format")
        return book, None
    if field.kind == "form":
        form = coded("form", text)
        if form is None:
            raise Problem(name, "unknown_form")
        return form, None
    if field.kind == "name":
        if looks_damaged(text):
            raise Problem(name, "damaged_text")
        return " ".join(text.split()), None
    if field.kind == "id_number":
        number = re.sub(r"[\s.]", "", text)
        reason = check_cccd([number], [birth_year])[0]
        if reason == LEGACY_CMND:
            return number, LEGACY_CMND
        if reason:
            raise Problem(name, reason)
        return number, None
    if field.kind == "date":
        try:
            value = dt.date.fromisoformat(text)
        except ValueError:
            raise Problem(name, "not_a_date") from None
        if value > today:
            raise Problem(name, "in_the_future")
        return value, None
    return text, None           # note


def as_text(value) -> str | None:
    """A value as the history keeps it (dates ISO, flags ``true``/``false``, None stays None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return format(value, ".12g")         # 131985.3 stays 131985.3 (":g" keeps six digits only)
    return str(value)
