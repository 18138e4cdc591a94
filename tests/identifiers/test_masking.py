"""One masking rule for every kind of name and ID number (issue 14, defect 5): nothing of a name but the
family name and initials, never more than half of a number's digits."""

import re

import pytest

from identifiers.cccd import mask_cccd, mask_name


@pytest.mark.parametrize(("name", "masked"), [
    ("Nguyễn Văn An", "Nguyễn V*** A**"),
    ("Quàng-Thị-Pọm", "Quàng-T***-P***"),                    # hyphenated: three parts
    ("Pọm", "P***"),                                         # one word: never in clear
    ("  Lò   Thị  Ngọc Ánh ", "Lò T*** N**** Á***"),          # extra spaces
    ("Hà Thị Phương", "Hà T*** P******"),
    ("Giàng A Páo", "Giàng A* P***"),                        # Hmong: one-letter middle name
    ("Y Blieng Niê", "Y B****** N***"),                      # Ê Đê: the family name last, a one-letter first part
    ("Lường Văn Ún.", "Lường V*** Ú**."),
    ("Công ty TNHH Sơn La", "Công t** T**** S*** L**"),      # organisations: the same rule
    ("HỘ GIA ĐÌNH ÔNG LÒ VĂN A", "HỘ G*** Đ**** Ô*** L** V*** A*"),
])
def test_names(name, masked):
    assert mask_name([name]).tolist() == [masked]


@pytest.mark.parametrize("name", ["Quàng-Thị-Pọm", "Pọm", "Nguyễn Văn An", "Giàng A Páo", "Lò Thị Ngọc Ánh"])
def test_no_part_but_the_family_name_is_left_readable(name):
    masked = mask_name([name])[0]
    parts = [p for p in re.split(r"[\s\-]+", name) if p]
    shown = [p for p in re.split(r"[\s\-]+", masked) if p and "*" not in p]
    assert shown == (parts[:1] if len(parts) > 1 else [])


@pytest.mark.parametrize(("number", "masked"), [
    ("014090001234", "014******234"),                       # CCCD: 6 of 12 digits shown
    ("123456789", "12******9"),                             # CMND: 3 of 9
    ("C1234567", "C1*****7"),                               # passport
    ("B12345678", "B1******8"),
    ("12345", "*****"),
    (" 014090001234 ", "014******234"),
])
def test_numbers(number, masked):
    assert mask_cccd([number]).tolist() == [masked]


@pytest.mark.parametrize("number", ["014090001234", "123456789", "C1234567", "0140900012345"])
def test_at_most_half_of_a_number_is_shown(number):
    shown = sum(c != "*" for c in mask_cccd([number])[0])
    assert shown <= len(number) / 2


def test_blank_and_missing_stay_missing():
    assert mask_name([None, "", "  ", float("nan")]).tolist() == [None, None, None, None]
    assert mask_cccd([None, ""]).tolist() == [None, None]
