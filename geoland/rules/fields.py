"""Field mapping: which source field holds which plot attribute.

The field names of the software offices use and of the national land database structure work out of the box
(:data:`CATALOGUE`, one row per name with its source), matched without regard to case or underscores, and
also in the 10-character form a Shapefile truncates them to. A field the catalogue does not know but that
looks like one of its names is suggested (:func:`suggest_fields`). A small TOML file overrides the choice or
marks more fields as personal data::

    [fields]
    commune_code = "MA_XA_CU"
    sheet = "TO"
    plot_number = "THUA"

    [personal]
    extra = ["DIACHI_CHU"]     # kept with the land user, never beside the geometry
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from pathlib import Path

from geoland.errors import InputFileError

SOURCES = {
    "national": "the national land database structure (thửa đất: maXa, soHieuToBanDo, soThuTuThua, dienTich, "
                "kyHieuMucDichSuDung), Thông tư 75/2015/TT-BTNMT on the land database",
    "vilis": "ViLIS cadastral software exports (SHBANDO, SHTHUA, KHLOAIDAT, MALOAIDAT, TENCHU, DIACHI, XAID, "
             "MDSD2003, KH2003)",
    "famis": "FAMIS / MicroStation and MapInfo DBF tables of cadastral sheets (MAXA, SOTO, SOTHUA, DIENTICH, "
             "LOAIDAT)",
    "vbdlis": "VBDLIS / ELIS exports (SOPHATHANH, SOGIAYTO, NAMSINH)",
    "offices": "variants met in provincial offices' files (underscored and shortened forms)",
}


@dataclass(frozen=True)
class FieldName:
    """One known source field name: the attribute it holds, its usual spelling and where it comes from."""

    attribute: str
    name: str
    source: str


def _rows(attribute: str, *pairs: tuple[str, str]) -> tuple[FieldName, ...]:
    return tuple(FieldName(attribute, name, source) for name, source in pairs)


# Per attribute, most specific first: the first name present in a layer wins. Legacy land-use fields (the
# 2003 law's purposes) come after the current ones and are used only when no current one is present.
CATALOGUE: tuple[FieldName, ...] = (
    *_rows("commune_code", ("MaXa", "national"), ("MAXA", "famis"), ("MA_XA", "offices"), ("XAID", "vilis"),
           ("MADVHC", "offices"), ("MAXA_CU", "offices")),
    *_rows("sheet", ("SoHieuToBanDo", "national"), ("SHBANDO", "vilis"), ("SOTO", "famis"),
           ("TOBANDO", "offices"), ("SOTOBANDO", "offices"), ("SOTOBD", "offices")),
    *_rows("plot_number", ("SoThuTuThua", "national"), ("SHTHUA", "vilis"), ("SOTHUA", "famis"),
           ("THUA", "offices")),
    *_rows("legal_area", ("DienTich", "national"), ("DIENTICH", "famis"), ("DIENTICHPL", "offices"),
           ("DTPL", "offices"), ("DT", "offices")),
    *_rows("land_use", ("KyHieuMucDichSuDung", "national"), ("KHLOAIDAT", "vilis"), ("MALOAIDAT", "vilis"),
           ("LOAIDAT", "famis"), ("KYHIEUMDSD", "offices"), ("MDSD", "offices"), ("MUCDICHSD", "offices"),
           ("MUCDICH", "offices"), ("MDSD2003", "vilis"), ("KH2003", "vilis")),
    *_rows("certificate_serial", ("SOPHATHANH", "vbdlis"), ("SOSERI", "offices"), ("SERI_GCN", "offices"),
           ("SOSERIGCN", "offices"), ("SOGCN", "offices")),
    *_rows("user_name", ("TENCHU", "vilis"), ("CHUSUDUNG", "offices"), ("TENCHUSD", "offices"),
           ("HOTEN", "offices")),
    *_rows("id_number", ("SOCCCD", "offices"), ("SOGIAYTO", "vbdlis"), ("CCCD", "offices"), ("SOCMND", "offices"),
           ("CMND", "offices")),
    *_rows("birth_year", ("NAMSINH", "vbdlis")),
)
PERSONAL = ("user_name", "id_number", "birth_year")
CANONICAL = tuple(dict.fromkeys(f.attribute for f in CATALOGUE))
SHAPEFILE_NAME_LENGTH = 10


def normalise(name: str) -> str:
    """A field name as compared: capitals, no underscores, spaces or hyphens (``So_Thua`` → ``SOTHUA``)."""
    return "".join(ch for ch in name.upper() if ch not in "_ -")


def _matches(field: str, known: str) -> bool:
    f, k = normalise(field), normalise(known)
    # A Shapefile cuts names to 10 characters (underscores included): compare the cut form too.
    cut = normalise(known[:SHAPEFILE_NAME_LENGTH])
    return f == k or (len(field) == SHAPEFILE_NAME_LENGTH and f == cut)


def resolve_field_map(fields: list[str], override: dict[str, str] | None = None) -> dict[str, str | None]:
    """Canonical attribute → the source field chosen for it (None when the layer has none).

    Parameters
    ----------
    fields : list of str
        The layer's field names.
    override : dict, optional
        Attribute → field name given by the user (``--fields``).

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        A field given in ``override`` is not in the layer (the importer reports it with the file's name).

    >>> m = resolve_field_map(["maxa", "SHBANDO", "So_Thua", "DienTich", "KyHieuMuc", "GHICHU"])
    >>> m["sheet"], m["plot_number"], m["land_use"]
    ('SHBANDO', 'So_Thua', None)
    >>> resolve_field_map(["SoHieuToBa", "SoThuTuThu", "KyHieuMucD"])["land_use"]
    'KyHieuMucD'
    """
    by_upper = {f.upper(): f for f in fields}
    chosen: dict[str, str | None] = {}
    for canonical in CANONICAL:
        if override and canonical in override:
            name = override[canonical]
            if name.upper() not in by_upper:
                raise ValueError(f"field {name!r} given for {canonical} is not in the layer; it has {fields}")
            chosen[canonical] = by_upper[name.upper()]
            continue
        chosen[canonical] = next((field for known in CATALOGUE if known.attribute == canonical
                                  for field in fields if _matches(field, known.name)), None)
    return chosen


def suggest_fields(fields: list[str], field_map: dict[str, str | None]) -> dict[str, str]:
    """Fields the catalogue does not know that look like a name of an attribute still without a field.

    Returns ``{field: attribute}``, for the import summary (give them with ``--fields`` if right).

    >>> suggest_fields(["MAXA", "SO_HIEU_TO", "SOTHUATD", "GHICHU"], resolve_field_map(["MAXA", "SOTHUATD"]))
    {'SO_HIEU_TO': 'sheet', 'SOTHUATD': 'plot_number'}
    """
    used = {v for v in field_map.values() if v}
    open_attributes = [a for a in CANONICAL if not field_map.get(a)]
    out: dict[str, str] = {}
    for field in fields:
        if field in used:
            continue
        best, score = None, 0.0
        for known in CATALOGUE:
            if known.attribute not in open_attributes:
                continue
            ratio = difflib.SequenceMatcher(None, normalise(field), normalise(known.name)).ratio()
            if ratio > score:
                best, score = known.attribute, ratio
        if best and score >= 0.75:
            out[field] = best
    return out


def read_field_file(path: str | Path) -> tuple[dict[str, str], list[str]]:
    """(field overrides, extra personal fields) from a TOML mapping file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(path, "no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"not a valid TOML file: {exc}") from None
    unknown_sections = set(data) - {"fields", "personal"}
    if unknown_sections:
        raise InputFileError(path, f"unknown section(s) {sorted(unknown_sections)}; expected [fields] and [personal]")
    fields = data.get("fields", {})
    bad = sorted(set(fields) - set(CANONICAL))
    if bad:
        raise InputFileError(path, f"unknown attribute(s) {bad} in [fields]; expected some of {list(CANONICAL)}")
    if not all(isinstance(v, str) for v in fields.values()):
        raise InputFileError(path, "[fields] values must be field names (text)")
    extra = data.get("personal", {}).get("extra", [])
    if not isinstance(extra, list) or not all(isinstance(v, str) for v in extra):
        raise InputFileError(path, "[personal] extra must be a list of field names")
    return dict(fields), list(extra)
