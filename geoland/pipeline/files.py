"""Reading users' files: text tables with exact line numbers, vector layers through pyogrio, checksums."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pandas as pd

from geoland.errors import InputFileError

# Files that travel with a Shapefile and change what it means.
_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def read_csv_text(path: str | Path) -> tuple[pd.DataFrame, list[int]]:
    """All cells as stripped strings (blank for empty) and the line each row starts on.

    UTF-8 with or without BOM. Errors name the file and line: not UTF-8, a row with the wrong number of
    cells, no header.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file")
    rows, lines = [], []
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header or not any(h.strip() for h in header):
                raise InputFileError(path, "empty file: expected a header line", line=1)
            header = [h.strip() for h in header]
            line = reader.line_num + 1
            for record in reader:
                if not any(cell.strip() for cell in record):
                    line = reader.line_num + 1
                    continue
                if len(record) != len(header):
                    raise InputFileError(path, f"{len(record)} cells where the header has {len(header)}",
                                         line=line)
                rows.append([cell.strip() for cell in record])
                lines.append(line)
                line = reader.line_num + 1
    except UnicodeDecodeError as exc:
        raise InputFileError(path, f"not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    except csv.Error as exc:
        raise InputFileError(path, f"not a valid CSV file ({exc})") from None
    return pd.DataFrame(rows, columns=header, dtype=object), lines


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, a Shapefile with its sidecars, or a folder.

    SHA-256 of a file; for a Shapefile, of its .shp/.shx/.dbf/.prj/.cpg together; for a folder
    (FileGDB), of every file in it in name order.
    """
    path = Path(path)
    if path.is_dir():
        parts = sorted(p for p in path.rglob("*") if p.is_file())
    elif path.suffix.lower() == ".shp":
        parts = [p for ext in _SIDECARS for p in (path.with_suffix(ext),) if p.exists()]
    else:
        parts = [path]
    digest = hashlib.sha256()
    for part in parts:
        with open(part, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def read_vector(path: str | Path, *, layer: str | None = None, crs: str | None = None):
    """A vector layer (GeoJSON, GeoPackage, Shapefile, ...) as a GeoDataFrame, via pyogrio.

    ``crs`` assigns a CRS to a layer that has none, or overrides a wrong one.

    Parameters
    ----------
    path : str or Path
        The file or folder (FileGDB).
    layer : str, optional
        The layer to read.
    crs : str, optional
        The CRS to assume when the file has none or a wrong one.

    Returns
    -------
    GeoDataFrame

    Raises
    ------
    InputFileError
        The file does not exist or cannot be read.
    """
    import geopandas as gpd
    import pyogrio.errors

    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "no such file")
    try:
        frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
            pyogrio.errors.GeometryError, pyogrio.errors.FieldError) as exc:
        raise InputFileError(path, f"cannot read the layer: {str(exc).splitlines()[0]}") from None
    if crs:
        frame = frame.set_crs(crs, allow_override=True)
    return frame


def write_private_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """A CSV of personal data: UTF-8 with a BOM (Excel reads it), created readable by its owner only (0600)."""
    import os

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
        frame.to_csv(fh, index=False)
    return path
