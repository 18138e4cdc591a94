"""One vocabulary: every finding type the checks can produce has its record and both labels; reasons in
words; no surface lacks a word the other language has."""

import pytest

from geoland.rules import vocab
from geoland.rules.vocab import FINDING_TYPES, REASONS, describe_value, words
from identifiers import cccd


def test_every_finding_type_has_a_group_severity_and_two_labels():
    for code, kind in FINDING_TYPES.items():
        assert kind.code == code and kind.group in vocab.GROUPS and kind.severity in ("error", "warning", "info")
        assert kind.vi and kind.en and kind.vi != kind.en
    assert len({k.vi for k in FINDING_TYPES.values()}) == len(FINDING_TYPES)


def test_every_cccd_reason_is_shown_in_words():
    codes = {v for k, v in vars(cccd).items() if k.isupper() and isinstance(v, str) and v and v.islower()
             and "_" in v}
    assert codes and codes <= set(REASONS)
    assert describe_value("not_12_digits", "en") == "not 12 digits"
    assert describe_value("not_12_digits", "vi") != "not_12_digits"
    assert describe_value("12.5%", "vi") == "12.5%" and describe_value(None) is None


@pytest.mark.parametrize("surface", ["page", "map", "report", "cli"])
def test_both_languages_have_the_same_words(surface):
    vi, en = words(surface, "vi"), words(surface, "en")
    assert set(vi) == set(en) and all(vi.values()) and all(en.values())
    assert words(surface, "fr") == vi           # anything else falls back to Vietnamese


def test_reason_words_is_describe_value_for_a_column():
    for language in ("vi", "en"):
        table = vocab.reason_words(language)
        assert all(describe_value(code, language) == text for code, text in table.items())
