"""Citizen identity numbers (CCCD, 12 digits; the legacy CMND, 9 digits): validation and masking.

A CCCD reads ``PPP G YY NNNNNN``: the birth-province code ``PPP`` of the 63-province scheme (001–096 as
issued, Circular 59/2021/TT-BCA), a gender/century digit ``G`` (0/1 male/female born 1900–1999, 2/3
2000–2099, 4/5 2100s, 6/7 2200s, 8/9 2300s), the last two digits of the birth year ``YY`` and six
serial digits. There is no public check digit. A 9-digit CMND is accepted as legacy and flagged.

Vectorised over arrays of strings (None for missing); no I/O.
"""

from __future__ import annotations

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


def mask_cccd(numbers) -> np.ndarray:
    """``014******123``: the birth province and the last three digits, the rest starred (any length).

    >>> mask_cccd(["014090001234", "123456789", None]).tolist()
    ['014******234', '123***789', None]
    """
    out = np.empty(len(numbers), dtype=object)
    for i, v in enumerate(_strings(numbers)):
        if not v:
            out[i] = v or None
        elif len(v) <= 6:
            out[i] = "*" * len(v)
        else:
            out[i] = v[:3] + "*" * (len(v) - 6) + v[-3:]
    return out


def mask_name(names) -> np.ndarray:
    """``Nguyễn V*** A**``: the family name in full, each other word by its first letter and a star a letter.

    >>> mask_name(["Nguyễn Văn An", "Lò Thị Ngọc Ánh", None]).tolist()
    ['Nguyễn V*** A**', 'Lò T*** N**** Á***', None]
    """
    out = np.empty(len(names), dtype=object)
    for i, v in enumerate(_strings(names)):
        if not v:
            out[i] = v or None
            continue
        words = v.split()
        out[i] = " ".join([words[0], *(w[0] + "*" * len(w) for w in words[1:])])
    return out
