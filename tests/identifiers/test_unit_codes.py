import pytest

from identifiers import InvalidCodeError, normalize_unit_code


@pytest.mark.parametrize("raw, level, expected", [
    ("03646", "commune", "03646"), ("3646", "commune", "03646"), (3646, "commune", "03646"),
    (3646.0, "commune", "03646"), (" 4 ", "commune", "00004"), ("1", "province", "01"),
    ("001", "district", "001"), ("", "commune", None), (None, "commune", None), (float("nan"), "commune", None),
])
def test_normalize_unit_code(raw, level, expected):
    assert normalize_unit_code(raw, level) == expected


@pytest.mark.parametrize("raw, level", [
    ("036466", "commune"), ("03a46", "commune"), ("-3646", "commune"), (3646.5, "commune"),
    ("123", "province"), ("０３６４６", "commune"),
])
def test_normalize_unit_code_refuses(raw, level):
    with pytest.raises(InvalidCodeError, match=f"not a {level} code"):
        normalize_unit_code(raw, level)


def test_unknown_level_names_the_allowed_ones():
    with pytest.raises(ValueError, match=r"`level` was 'ward' but is expected to be in \['commune'"):
        normalize_unit_code("1", "ward")
