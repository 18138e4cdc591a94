"""The rules of the edit form and the commune workbooks (issue 17): each typed value read or refused with its
reason, and values kept as text for the history without losing digits."""

import datetime as dt

import pytest

from geoland.rules.edits import Problem, as_text, parse

TODAY = dt.date(2026, 12, 3)


@pytest.mark.parametrize(("field", "typed", "value", "warning"), [
    ("land_use", " ont ", "ONT", None), ("land_use", "BHK", "BHK", "legacy_land_use"),
    ("legal_area_m2", "131985,3", 131985.3, None), ("legal_area_m2", "152.45", 152.4, None),
    ("sheet", "12", 12, None), ("birth_year", "1990", 1990, None),
    ("id_number", "014 090 001 234", "014090001234", None), ("id_number", "123456789", "123456789", "legacy_cmnd"),
    ("holder_name", "  Lò   Văn  Ánh ", "Lò Văn Ánh", None), ("disputed", "có", True, None),
    ("disputed", "", False, None), ("disputed_since", "2025-03-01", dt.date(2025, 3, 1), None),
    ("certificate_series", "cs 123456", "CS 123456", None), ("certificate_book", "ch00123", "CH00123", None),
    ("certificate_form", "Sổ hồng", "gcn_nho_1994", None), ("land_use", "", None, None),
])
def test_a_typed_value_is_read(field, typed, value, warning):
    assert parse(field, typed, birth_year=1990, today=TODAY) == (value, warning)


@pytest.mark.parametrize(("field", "typed", "reason"), [
    ("land_use", "XYZ", "unknown_land_use"), ("legal_area_m2", "abc", "not_a_number"),
    ("legal_area_m2", "0", "not_positive"), ("sheet", "1.5", "not_a_whole_number"),
    ("plot_number", "0", "not_positive"),
    ("birth_year", "1850", "year_out_of_range"), ("birth_year", "2027", "year_out_of_range"),
    ("id_number", "01409000123", "not_12_digits"), ("id_number", "014290001234", "century_mismatch"),
    ("holder_name", "ĐOàN VăN", "damaged_text"), ("disputed_since", "2027-01-01", "in_the_future"),
    ("disputed_since", "01/03/2025", "not_a_date"), ("certificate_series", "123456", "series_format"),
    ("certificate_book", "số 12", "book_format"), ("certificate_form", "mẫu lạ", "unknown_form"),
    ("dispute_note", "x" * 2001, "too_long"),
])
def test_a_value_the_checks_call_wrong_is_refused(field, typed, reason):
    with pytest.raises(Problem) as refused:
        parse(field, typed, birth_year=1990, today=TODAY)
    assert (refused.value.field, refused.value.reason) == (field, reason)


def test_history_text_keeps_every_digit():
    assert as_text(131985.3) == "131985.3" and as_text(1234567.5) == "1234567.5" and as_text(12.0) == "12"
    assert as_text(True) == "true" and as_text(dt.date(2025, 3, 1)) == "2025-03-01" and as_text(None) is None
