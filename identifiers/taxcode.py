"""Organisations' tax codes (mã số thuế, MST): 10 digits, or 13 for a dependent unit (a branch).

A 10-digit code reads ``PP NNNNNNN C``: two digits of the province where it was issued, seven serial digits
and a check digit ``C`` over the first nine. The check digit follows the modulus-11 rule the tax
administration publishes and that public validators implement alike (python-stdnum's ``vn.mst`` among them):
``C = 10 - (31·d1 + 29·d2 + 23·d3 + 19·d4 + 17·d5 + 13·d6 + 7·d7 + 5·d8 + 3·d9) mod 11``. A remainder of 0
would give 10, which is not a digit: no code is issued with such a prefix, so it is reported as a wrong
check digit. A 13-digit code is the parent's 10 digits (check digit included) and a unit number
001–999. Written ``0100109106-001`` or with spaces or dots, it is compared as digits only.

Individuals' 12-digit codes (the CCCD number used as tax code since 2025) are ID numbers, checked by
:mod:`identifiers.cccd`, not here. No I/O.
"""

from __future__ import annotations

import re

WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)

# Reasons, the first that applies.
OK = ""
NOT_10_OR_13_DIGITS = "tax_code_length"
ZERO_SERIAL = "tax_code_zero_serial"
ZERO_UNIT = "tax_code_zero_unit"
CHECK_DIGIT = "tax_code_check_digit"

_SEPARATORS = re.compile(r"[\s.\-]")


def compact_tax_code(code) -> str | None:
    """The code as digits only (``0100109106-001`` → ``0100109106001``); None for a blank value.

    >>> compact_tax_code(" 0100 109 106-001 "), compact_tax_code("")
    ('0100109106001', None)
    """
    if code is None:
        return None
    text = _SEPARATORS.sub("", str(code))
    return text or None


def check_digit(first_nine: str) -> str | None:
    """The 10th digit the first nine call for; None when the rule gives no digit (remainder 0).

    >>> check_digit("010010910"), check_digit("030144237")
    ('6', '9')
    """
    remainder = sum(w * int(d) for w, d in zip(WEIGHTS, first_nine, strict=True)) % 11
    return None if remainder == 0 else str(10 - remainder)


def check_tax_code(code) -> str | None:
    """Why a tax code is wrong (``""`` when it is fine, None when it is blank).

    >>> [check_tax_code(c) for c in ("0100109106", "0100109106-001", "0100109107", "010010910",
    ...                              "0100000001", "0100109106000", None)]
    ['', '', 'tax_code_check_digit', 'tax_code_length', 'tax_code_zero_serial', 'tax_code_zero_unit', None]
    """
    digits = compact_tax_code(code)
    if digits is None:
        return None
    if not digits.isdigit() or len(digits) not in (10, 13):
        return NOT_10_OR_13_DIGITS
    if digits[2:9] == "0000000":
        return ZERO_SERIAL
    if len(digits) == 13 and digits[10:] == "000":
        return ZERO_UNIT
    if check_digit(digits[:9]) != digits[9]:
        return CHECK_DIGIT
    return OK
