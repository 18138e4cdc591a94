"""Field mapping: which source field holds which plot attribute.

The names used by the cadastral systems in use (ViLIS, ELIS/MPLIS, VBDLIS, FAMIS) work out of the box,
matched without regard to case, including the 10-character names a Shapefile truncates them to. A small
TOML file overrides the choice or marks more fields as personal data::

    [fields]
    commune_code = "MA_XA_CU"
    sheet = "TO"
    plot_number = "THUA"

    [personal]
    extra = ["DIACHI_CHU"]     # kept with the land user, never beside the geometry
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from geoland.errors import InputFileError

# Canonical attribute → source names, most common first.
DEFAULT_ALIASES = {
    "commune_code": ("MAXA", "MA_XA", "MADVHC", "MAXA_CU", "MAXACU"),
    "sheet": ("SOHIEUTOBANDO", "SOHIEUTOBA", "SHBANDO", "SOTO", "SO_TO", "TOBANDO", "SOTOBANDO", "SOTOBD"),
    "plot_number": ("SOTHUTUTHUA", "SOTHUTUTHU", "SOTHUA", "SO_THUA", "THUA"),
    "legal_area": ("DIENTICH", "DIEN_TICH", "DIENTICHPL", "DTPL", "DT"),
    "land_use": ("LOAIDAT", "MDSD", "KYHIEUMDSD", "LOAI_DAT", "MUCDICHSD", "MUCDICH"),
    "certificate_serial": ("SOPHATHANH", "SOPHATHAN", "SOSERI", "SERI_GCN", "SOSERIGCN", "SOGCN"),
    "user_name": ("TENCHU", "TEN_CHU", "CHUSUDUNG", "TENCHUSD", "HOTEN"),
    "id_number": ("SOCCCD", "SOGIAYTO", "SO_CCCD", "CCCD", "SOCMND", "CMND"),
    "birth_year": ("NAMSINH", "NAM_SINH"),
}
PERSONAL = ("user_name", "id_number", "birth_year")
CANONICAL = tuple(DEFAULT_ALIASES)


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

    >>> resolve_field_map(["maxa", "SHBANDO", "SoThua", "DienTich", "GHICHU"])["sheet"]
    'SHBANDO'
    """
    by_upper = {f.upper(): f for f in fields}
    chosen: dict[str, str | None] = {}
    for canonical, aliases in DEFAULT_ALIASES.items():
        if override and canonical in override:
            name = override[canonical]
            if name.upper() not in by_upper:
                raise ValueError(f"field {name!r} given for {canonical} is not in the layer; it has {fields}")
            chosen[canonical] = by_upper[name.upper()]
        else:
            chosen[canonical] = next((by_upper[a] for a in aliases if a in by_upper), None)
    return chosen


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
