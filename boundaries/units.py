"""Administrative unit vocabulary: the unit type written at the start of a unit's name."""

from __future__ import annotations

# Longest first, so "Thị trấn" is not read as a "Thị xã" or the reverse.
UNIT_TYPES = ("Thành phố", "Thị trấn", "Thị xã", "Đặc khu", "Phường", "Huyện", "Quận", "Tỉnh", "Xã")


def unit_type_of(name: str | None) -> str | None:
    """The type word(s) a unit's name starts with, or None.

    >>> unit_type_of("Phường Tô Hiệu"), unit_type_of("Thị trấn Phù Yên"), unit_type_of("Bản Mòng")
    ('Phường', 'Thị trấn', None)
    """
    if not name:
        return None
    for unit_type in UNIT_TYPES:
        if name == unit_type or name.startswith(unit_type + " "):
            return unit_type
    return None
