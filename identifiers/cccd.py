"""Citizen identity numbers (CCCD, 12 digits; the legacy CMND, 9 digits): validation and masking.

A CCCD reads ``PPP G YY NNNNNN``: the birth-province code ``PPP`` of the 63-province scheme (001–096 as
issued, Circular 59/2021/TT-BCA), a gender/century digit ``G`` (0/1 male/female born 1900–1999, 2/3
2000–2099, 4/5 2100s, 6/7 2200s, 8/9 2300s), the last two digits of the birth year ``YY`` and six
serial digits. There is no public check digit. A 9-digit CMND is accepted as legacy and flagged.

Vectorised over arrays of strings (None for missing); no I/O.
"""

from __future__ import annotations

import re

import numpy as np

# Birth-province codes of the 63 provinces before 1 July 2025, as CCCD numbers carry them.
BIRTH_PROVINCES = frozenset(f"{c:03d}" for c in (
    1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37, 38, 40, 42,
    44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77, 79, 80, 82, 83, 84, 86,
    87, 89, 91, 92, 93, 94, 95, 96))

# Reasons, in the order they are checked; a number gets the first that applies.
OK = ""
LEGACY_CMND = "legacy_cmnd"            # 9 digits: accepted, flagged
NOT_12_DIGITS = "not_12_digits"
UNKNOWN_BIRTH_PROVINCE = "unknown_birth_province"
CENTURY_MISMATCH = "century_mismatch"    # the G digit's century or the YY digits disagree with the birth year
BIRTH_YEAR_MISMATCH = "birth_year_mismatch"


def _strings(values) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
    return out


def check_cccd(numbers, birth_years=None) -> np.ndarray:
    """The reason each number is wrong (``""`` when it is fine, None when it is missing).

    Parameters
    ----------
    numbers : sequence of str or None
        The ID numbers as stored.
    birth_years : sequence of int or None, optional
        The holders' birth years, for the century and year digits.

    Returns
    -------
    ndarray of object
        A reason code per number (see :data:`REASONS` in :mod:`geoland.rules.vocab` for the words).

    Examples
    --------
    >>> check_cccd(["014090001234", "01409000123", "099090001234", "014290001234", "123456789", None],
    ...            [1990, 1990, 1990, 1990, None, None]).tolist()
    ['', 'not_12_digits', 'unknown_birth_province', 'century_mismatch', 'legacy_cmnd', None]
    """
    numbers = _strings(numbers)
    n = len(numbers)
    years = np.full(n, np.nan) if birth_years is None else np.array(
        [np.nan if y is None else y for y in birth_years], dtype=float)
    present = (numbers != None) & (numbers != "")  # noqa: E711 — element-wise on an object array
    text = np.where(present, numbers, "").astype(str)
    digits = np.char.isdigit(text) if n else np.zeros(0, bool)
    length = np.char.str_len(text) if n else np.zeros(0, int)
    reason = np.full(n, OK, dtype=object)
    twelve = digits & (length == 12)
    reason[~twelve] = NOT_12_DIGITS
    reason[digits & (length == 9)] = LEGACY_CMND
    # The first six characters as digit values (a shorter number is padded with NUL, not a digit).
    head = (text.astype("U6").view(np.uint32).reshape(n, 6).astype(np.int64) - ord("0")) if n \
        else np.zeros((0, 6), np.int64)
    is_digit = (head >= 0) & (head <= 9)
    bad_province = twelve & ~np.isin(text.astype("U3"), list(BIRTH_PROVINCES))
    reason[bad_province] = UNKNOWN_BIRTH_PROVINCE
    checkable = twelve & ~bad_province & ~np.isnan(years)
    if checkable.any():
        g = np.where(is_digit[:, 3], head[:, 3], 0)
        yy = np.where(is_digit[:, 4] & is_digit[:, 5], 10 * head[:, 4] + head[:, 5], -1)
        safe = np.where(np.isnan(years), 0, years).astype(int)
        century = 1900 + 100 * (g // 2)
        reason[checkable & (century != safe // 100 * 100)] = CENTURY_MISMATCH
        reason[checkable & (century == safe // 100 * 100) & (yy != safe % 100)] = BIRTH_YEAR_MISMATCH
    reason[~present] = None
    return reason


def _mask_one_number(v: str) -> str:
    if len(v) >= 12:
        return v[:3] + "*" * (len(v) - 6) + v[-3:]
    if len(v) >= 7:
        return v[:2] + "*" * (len(v) - 3) + v[-1:]
    return "*" * len(v)


def _mask_one_name(v: str) -> str:
    parts = _NAME_PARTS.split(" ".join(v.split()))
    words, seps = parts[0::2], parts[1::2]
    shown = [words[0] if len([w for w in words if w]) > 1 else _hide(words[0]), *(_hide(w) for w in words[1:])]
    return "".join(w + (seps[i] if i < len(seps) else "") for i, w in enumerate(shown))


def _hide(word: str) -> str:
    return word[:1] + "*" * len(word) if word else word


def _masked(values, one) -> np.ndarray:
    """``one`` applied to each distinct non-blank value once (names and numbers repeat across plots)."""
    values = _strings(values)
    out = np.empty(len(values), dtype=object)
    cache: dict[str, str] = {}
    for i, v in enumerate(values):
        if not v:
            out[i] = None
        else:
            found = cache.get(v)
            if found is None:
                found = cache[v] = one(v)
            out[i] = found
    return out


_ID_NUMBER_IN_TEXT = re.compile(r"(?<!\d)(\d{12}|\d{9})(?!\d)")


def mask_id_numbers_in_text(text: str) -> str:
    """Mask every run of 12 or 9 digits standing alone in free text (a log line, an audit note).

    Examples
    --------
    >>> mask_id_numbers_in_text("hồ sơ 014090001234, job 12")
    'hồ sơ 014******234, job 12'
    """
    return _ID_NUMBER_IN_TEXT.sub(lambda m: _mask_one_number(m.group(1)), text)


def mask_cccd(numbers) -> np.ndarray:
    """What a viewer sees of an ID number: never more than half of its digits.

    The one rule for every kind of number (masking is geoland's default everywhere):

    - 12 characters or more (a CCCD): the first three (the birth province) and the last three;
    - 7 to 11 (a 9-digit CMND, an 8-character passport): the first two and the last one;
    - fewer: all starred.

    Examples
    --------
    >>> mask_cccd(["014090001234", "123456789", "C1234567", "12345", None]).tolist()
    ['014******234', '12******9', 'C1*****7', '*****', None]
    """
    return _masked(numbers, _mask_one_number)


_NAME_PARTS = re.compile(r"([\s\-–.,/]+)")


def mask_name(names) -> np.ndarray:
    """What a viewer sees of a name: the family name, and the first letter of every other part.

    The one rule for every name: white space is collapsed; spaces, hyphens, dots, commas and slashes separate
    the parts (``Quàng-Thị-Pọm`` has three); with two parts or more the first is shown in full (a family name
    shared by many) and each other part by its first letter followed by a star per letter; a name of one part
    (``Pọm``) is shown by its first letter only. Organisations' names are masked the same way until the land
    register tells parties apart.

    Examples
    --------
    >>> mask_name(["Nguyễn Văn An", "Lò  Thị Ngọc Ánh", "Quàng-Thị-Pọm", "Pọm", None]).tolist()
    ['Nguyễn V*** A**', 'Lò T*** N**** Á***', 'Quàng-T***-P***', 'P***', None]
    """
    return _masked(names, _mask_one_name)
