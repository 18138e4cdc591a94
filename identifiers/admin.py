"""Administrative unit codes: province, district, commune.

Administrative unit codes: 2-digit province, 3-digit district, 5-digit commune (nationwide unique at
one date, but reused over time: a code names a unit only together with a date).
"""

from __future__ import annotations

import math

WIDTHS = {"province": 2, "district": 3, "commune": 5}


class InvalidCodeError(ValueError):
    """A value that cannot be an administrative unit code."""


def normalize_unit_code(value, level: str = "commune") -> str | None:
    """Return the zero-padded code of ``level``, or None for a blank value.

    Spreadsheets drop leading zeros and DBF files store codes as numbers, so ``3646`` and ``3646.0``
    are read as ``03646``; anything that is not a whole number of at most the level's width is refused.

    Parameters
    ----------
    value : str, int, float or None
        The code as read (text, or a number from a DBF or a spreadsheet).
    level : {"commune", "district", "province"}
        Its level: 5, 3 or 2 digits.

    Returns
    -------
    str or None

    Raises
    ------
    InvalidCodeError
        Not a whole number of at most the level's width.

    Examples
    --------
    >>> normalize_unit_code("3646")
    '03646'
    >>> normalize_unit_code(14.0, "province")
    '14'
    >>> normalize_unit_code("  ") is None
    True
    >>> normalize_unit_code("0364A")
    Traceback (most recent call last):
    ...
    identifiers.admin.InvalidCodeError: '0364A' is not a commune code (digits only, at most 5)
    """
    if level not in WIDTHS:
        raise ValueError(f"`level` was {level!r} but is expected to be in {sorted(WIDTHS)}")
    width = WIDTHS[level]
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if not value.is_integer():
            raise InvalidCodeError(f"{value!r} is not a {level} code (digits only, at most {width})")
        value = int(value)
    text = str(value).strip()
    if text == "":
        return None
    if not text.isascii() or not text.isdigit() or len(text) > width:
        raise InvalidCodeError(f"{text!r} is not a {level} code (digits only, at most {width})")
    return text.zfill(width)
