"""Importing registry exports into the land register (``geoland register import``).

A registry export is a workbook (XLSX) or a folder of CSV files with sheets of certificates, the plots they
cover, parties, rights and assets (see :mod:`geoland.rules.registry` for the names recognised). The import:

1. reads every sheet (openpyxl, read-only) with its rows' numbers as the office sees them, converts TCVN3 or
   VNI text to Unicode (judged on the workbook's text, recorded on the import), restores the leading zero
   Excel drops from ID numbers and commune codes typed as numbers;
2. checks every row and collects *every* reason of every bad row (sheet, row, reason): unknown coded values,
   bad ID numbers and tax codes, shares over the whole, references to a plot, party, asset or certificate
   that neither the file nor the database holds. Plots are found by identification code or by MX.SB.ST of
   any date (the code of the map, or a recoded one through the crosswalk); a plot a certificate names
   (``plots`` sheet) that the database has no geometry for becomes a *paper plot*, waiting for its
   geometry. With a bad row nothing is written and the error lists them all; with ``keep_going`` the good
   rows are imported and the bad ones (and the rows that refer to them) kept in ``register_quarantine``;
3. merges into the register in one transaction, set-based: a certificate by its series, a party by its ID
   number, else its tax code, else the registry's own key, an asset by its key, a right by its party, object
   and certificate. What is new is added; a value a later export gives differently is changed and the
   change recorded in ``register_change`` (old, new, job, import); a value left blank changes nothing.
   Importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geoland.errors import ConfigError, InputFileError
from geoland.pipeline.files import file_sha256
from geoland.pipeline.plots import REGISTER_TABLES, drop_for_bulk, restore_after_bulk
from geoland.pipeline.register_cells import (
    ID_LENGTHS,
    Cells,
    Problems,
    Sheet,
    coded,
    digits,
    frame,
    integer,
    plot_refs,
    positive,
    read_csv_folder,
    read_workbook,
    ref_columns,
    sheet_frame,
    text,
)
from geoland.progress import progress_bar
from geoland.results import RegisterImport, returns
from geoland.rules import registry as vocab
from geoland.rules import vntext
from geoland.store.db import copy_csv, csv_bytes
from geoland.store.jobs import audit, finish_job, start_job
from identifiers.mx import InvalidMXError, format_mx
from identifiers.taxcode import compact_tax_code

BULK_ROWS = 50_000          # rights in a file from which the import may go to bulk mode
SHOWN_ERRORS = 20           # bad rows listed in the error message (all of them with keep_going / in --json)


# --- reading -------------------------------------------------------------------------------------------------

def read_register(path: Path, overrides: dict[str, dict[str, str]] | None = None) -> tuple[dict[str, Sheet], str]:
    """The sheets of a registry export (workbook or folder of CSVs) and its format (``xlsx`` or ``csv``).

    Raises
    ------
    InputFileError
        Not a readable workbook or folder; a sheet (or CSV file) with data that is not a register sheet; no
        register sheet at all; a sheet twice; a required column missing.
    """
    overrides = overrides or {}
    if path.is_dir():
        raw, fmt = read_csv_folder(path), "csv"
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        raw, fmt = read_workbook(path), "xlsx"
    else:
        raise InputFileError(path, "not a registry export: expected an .xlsx workbook or a folder of .csv files")
    sheets: dict[str, Sheet] = {}
    strangers = []
    for name, (header, columns, numbers) in raw.items():
        kind = vocab.sheet_kind(name)
        if kind is None:
            if numbers:
                strangers.append(name)
            continue
        if kind in sheets:
            raise InputFileError(path, f"sheets {sheets[kind].name!r} and {name!r} are both the "
                                       f"{vocab.SHEET_LABELS[kind]} sheet: keep one")
        found, unknown = vocab.column_map(kind, header, overrides.get(kind))
        missing = [a for a in vocab.REQUIRED[kind] if a not in found]
        if kind in ("rights", "assets") and "plot" not in found and "asset" not in found and numbers:
            missing.append("plot")
        if kind == "plots" and "plot" not in found and not {"commune", "sheet", "number"} <= set(found):
            missing.append("plot")
        if missing and numbers:
            names = "; ".join(f"{a}: {' / '.join(vocab.COLUMNS[kind][a][:3])}" for a in missing)
            raise InputFileError(path, f"sheet {name!r}: no column for {names} (header: "
                                       f"{', '.join(str(h) for h in header if h is not None)})")
        sheets[kind] = Sheet(kind, name, sheet_frame(columns, found, len(numbers)),
                             np.asarray(numbers, dtype=np.int64), unknown)
    if strangers:
        expected = "; ".join(f"{vocab.SHEET_LABELS[k]} ({', '.join(v[-2:])})" for k, v in vocab.SHEETS.items())
        raise InputFileError(path, f"sheet(s) {', '.join(repr(s) for s in strangers)} hold rows but are not register "
                                   f"sheets; rename them: {expected}")
    if not sheets:
        raise InputFileError(path, "no register sheet found (sheets: " + ", ".join(repr(n) for n in raw)
                                   + "); expected " + ", ".join(vocab.SHEET_LABELS.values()))
    return sheets, fmt


def read_register_fields(path) -> dict[str, dict[str, str]]:
    """The ``--fields`` TOML of a registry export: ``[sheet] attribute = "column"``.

    Raises
    ------
    ConfigError
        Not TOML, an unknown sheet or attribute.
    """
    import tomllib

    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable TOML file ({exc})") from None
    out = {}
    for sheet, mapping in data.items():
        if sheet not in vocab.COLUMNS or not isinstance(mapping, dict):
            raise ConfigError(f"{path}: [{sheet}] is not a register sheet: one of {', '.join(vocab.COLUMNS)}")
        for attribute, column in mapping.items():
            if attribute not in vocab.COLUMNS[sheet] or not isinstance(column, str):
                raise ConfigError(f"{path}: [{sheet}] {attribute} is not an attribute of that sheet: one of "
                                  f"{', '.join(vocab.COLUMNS[sheet])}")
        out[sheet] = dict(mapping)
    return out


def _legacy_cells(column: pd.Series) -> tuple[np.ndarray, bool]:
    """Which cells a legacy font could have typed, and whether any cell is Unicode beyond Latin-1.

    A legacy cell is text beyond ASCII within Latin-1: pyarrow's string kernels on a text column, a Python
    test on a mixed one.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pa.array(column.to_numpy(dtype=object), pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        legacy = column.map(lambda v: isinstance(v, str) and not v.isascii() and max(map(ord, v)) <= 0xFF)
        wide = column.map(lambda v: isinstance(v, str) and max(map(ord, v), default=0) > 0xFF)
        return legacy.to_numpy(dtype=bool), bool(wide.any())
    non_ascii = pc.fill_null(pc.invert(pc.string_is_ascii(text)), False)
    wide = pc.fill_null(pc.match_substring_regex(text, "[^\\x{00}-\\x{ff}]"), False)
    legacy = pc.and_(non_ascii, pc.invert(wide))
    return legacy.to_numpy(zero_copy_only=False), bool(pc.any(wide).as_py())


def _convert_text(sheets: dict[str, Sheet], forced: str | None) -> tuple[str, dict, int]:
    """TCVN3/VNI text cells to Unicode, judged on the whole file's text that a legacy font could have typed."""
    masks = {(k, c): _legacy_cells(s.frame[c]) for k, s in sheets.items() for c in s.frame}
    legacy_range = [v for (k, c), (legacy, _) in masks.items() for v in sheets[k].frame[c][legacy][:5000]]
    encoding, evidence = vntext.judge_encoding(legacy_range, forced=forced)
    if encoding not in ("tcvn3", "vni"):
        unicode = any(legacy.any() or wide for legacy, wide in masks.values())
        return ("unicode" if unicode else "ascii"), evidence, 0
    converted = 0
    for (k, c), (legacy, _) in masks.items():
        if legacy.any():
            frame = sheets[k].frame
            before = frame.loc[legacy, c]
            after = before.map(lambda v: _reading(v, encoding))
            frame.loc[legacy, c] = after
            converted += int((after != before).sum())
    return encoding, evidence, converted


def _reading(value: str, encoding: str) -> str:
    """A cell of a legacy workbook as Unicode: converted, unless it reads as Vietnamese already.

    A workbook mixes cells typed in a .VnTime font with Unicode ones, and "Cá nhân" is Latin-1 too.
    """
    if vntext.vietnamese_share([value])[0] == 1.0:
        return value
    return vntext.to_unicode(value, encoding)


# --- the import ----------------------------------------------------------------------------------------------

@returns(RegisterImport)
def import_register(conn: Connection, path, *, province: str | None = None, fields_file=None,
                    encoding: str | None = None, keep_going: bool = False, progress: bool = True,
                    bulk: bool | None = None) -> dict:
    """Import a registry export (see the module docstring) in the caller's transaction.

    Parameters
    ----------
    conn : Connection
        An open connection: the whole import is this one transaction.
    path : str or Path
        An ``.xlsx`` workbook or a folder of ``.csv`` files (one per sheet, named like the sheets).
    province : str, optional
        Only plots of this province may be referred to (a plot of another one is a bad row).
    fields_file : str or Path, optional
        TOML naming the column of an attribute per sheet (``[rights] share = "TY_LE"``).
    encoding : str, optional
        ``tcvn3`` or ``vni`` when the text cannot be told (default: judged).
    keep_going : bool
        Import the good rows and quarantine the bad ones instead of stopping.
    progress : bool
        Draw the progress bar.
    bulk : bool, optional
        Drop the register's indexes and keys for the merge and build them again after it (locks the register's
        tables until commit). Default: when the file's rights are at least half of the register's, and
        :data:`BULK_ROWS` or more.

    Raises
    ------
    InputFileError
        The file cannot be read, or (without ``keep_going``) has bad rows: every one is named, nothing is written.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "no such file or folder")
    if encoding is not None and encoding not in vntext.LEGACY:
        raise ConfigError(f"unknown text encoding {encoding!r}: one of {', '.join(vntext.LEGACY)}")
    overrides = read_register_fields(fields_file) if fields_file else None
    sheets, fmt = read_register(path, overrides)
    sha = file_sha256(path)
    total = sum(len(s.frame) for s in sheets.values())
    problems = Problems()
    with progress_bar(total * 2, "rows", enabled=progress, desc="register") as bar:
        text_encoding, evidence, converted = _convert_text(sheets, encoding)
        if text_encoding == "unsure":
            raise InputFileError(path, "cannot tell whether the text is TCVN3 or VNI: give --encoding tcvn3 or vni")
        tables = _validate(sheets, problems)
        bar.update(total)
        _resolve(conn, tables, problems, province)
        listed = problems.listed()
        if listed and not keep_going:
            shown = "\n".join(f"  sheet {p['sheet']!r}, row {p['row']}: {'; '.join(p['reasons'])}"
                              for p in listed[:SHOWN_ERRORS])
            more = f"\n  … and {len(listed) - SHOWN_ERRORS} more rows" if len(listed) > SHOWN_ERRORS else ""
            raise InputFileError(path, f"{len(listed)} bad row(s); nothing was imported (fix them, or import the "
                                       f"good rows with --keep-going):\n{shown}{more}")
        quarantined = _drop_bad(tables, sheets, problems) if listed else {}
        listed = problems.listed()                  # with the rows that referred to a bad one
        job = start_job(conn, "register.import", {"file": str(path), "sha256": sha, "province": province,
                                                  "fields_file": str(fields_file) if fields_file else None,
                                                  "encoding": encoding, "keep_going": keep_going})
        import_id = conn.execute(sa.text("""
            INSERT INTO geoland.register_import (job_id, source, source_sha256, format, text_encoding, province_code,
                                                 field_map)
            VALUES (:job, :source, :sha, :fmt, :enc, :province, CAST(:map AS jsonb)) RETURNING id"""),
            {"job": job.id, "source": str(path), "sha": sha, "fmt": fmt, "enc": text_encoding, "province": province,
             "map": json.dumps({s.kind: {"sheet": s.name, "columns": list(s.frame.columns)}
                                for s in sheets.values()}, ensure_ascii=False)}).scalar_one()
        if listed:
            _quarantine(conn, import_id, sheets, problems)
        # A registry export as large as the register (a province's first one, completing what its plot layer
        # brought): the register's indexes and keys are dropped and built again once, as the plot import does
        # (updating a million rows through five indexes costs ten times more than one build of each)
        rights = len(tables.get("rights", ()))
        if bulk is None:
            bulk = rights >= BULK_ROWS and rights * 2 >= conn.execute(sa.text(
                "SELECT count(*) FROM (SELECT FROM geoland.land_right LIMIT :n) r"), {"n": rights * 2}).scalar()
        dropped = drop_for_bulk(conn, REGISTER_TABLES, outside_keys=False) if bulk else None
        counts = _merge(conn, tables, job.id, import_id)
        if dropped:
            restore_after_bulk(conn, dropped)
        # Statistics for what reads the register next (the checks' joins: a house-overlap join planned without
        # them compared every pair of footprints at a million plots, a minute instead of 0.3 s)
        conn.execute(sa.text("ANALYZE geoland.certificate, geoland.certificate_plot, geoland.paper_plot, "
                             "geoland.party, geoland.party_personal, geoland.household_member, geoland.asset, "
                             "geoland.asset_plot, geoland.land_right"))
        bar.update(total)
    rows = {vocab.SHEET_LABELS[k]: len(s.frame) for k, s in sheets.items()}
    result = {"file": str(path), "sha256": sha, "format": fmt, "import_id": import_id, "job_id": job.id,
              "text_encoding": text_encoding, "cells_converted": converted, "rows": rows,
              "quarantined": len(listed), "quarantined_by_sheet": quarantined or None,
              "problems": listed[:1000] or None, "counts": counts,
              "unknown_columns": {s.name: s.unknown_columns for s in sheets.values() if s.unknown_columns} or None}
    earlier = conn.execute(sa.text("SELECT min(id) FROM geoland.register_import WHERE source_sha256 = :sha "
                                   "AND id <> :i"), {"sha": sha, "i": import_id}).scalar()
    if earlier is not None and not listed and not any(counts.values()):
        # the same file again, and nothing differs: no import to list (the job says it ran)
        conn.execute(sa.text("DELETE FROM geoland.register_import WHERE id = :i"), {"i": import_id})
        finish_job(conn, job, {"unchanged": True, "import_id": earlier})
        return result | {"import_id": earlier, "unchanged": True}
    conn.execute(sa.text("UPDATE geoland.register_import SET counts = CAST(:c AS jsonb) WHERE id = :i"),
                 {"c": json.dumps({"rows": rows, "quarantined": len(listed), **counts}, ensure_ascii=False),
                  "i": import_id})
    if text_encoding in ("tcvn3", "vni"):
        audit(conn, job, "register.text_converted", entity="register_import", entity_id=str(import_id),
              detail={"from": text_encoding, "to": "unicode NFC", "cells": converted,    # no example value:
                      "evidence": {k: v for k, v in evidence.items() if k != "example"}})  # it may be a name
    finish_job(conn, job, {"rows": rows, "quarantined": len(listed), **counts})
    return result


# --- checking rows -------------------------------------------------------------------------------------------

_PASSPORT = r"^[A-Z0-9]{6,12}$"


def _validate(sheets: dict[str, Sheet], problems: Problems) -> dict[str, pd.DataFrame]:
    """Typed tables of the sheets' rows; every bad cell noted in ``problems``."""
    tables = {}
    this_year = dt.date.today().year
    if "certificates" in sheets:
        c = Cells(sheets["certificates"], problems)
        t = frame({"row": c.sheet.rows, "series": c.text("series"),
                          "book_number": c.text("book_number"),
                          "issued_on": c.column("issued_on", vocab.parse_date),
                          "authority": c.text("authority"),
                          "form": c.column("form", lambda v: coded("form", v, "form")),
                          "status": c.column("status", lambda v: coded("status", v, "status")),
                          "replaced_series": c.text("replaced_by")})
        for i, (status, replaced) in enumerate(zip(t["status"], t["replaced_series"], strict=True)):
            if replaced and status in (None, "replaced"):
                t.at[i, "status"] = "replaced"
            elif replaced:
                c.bad(i, f"status {status} but replaced by {replaced}: a replaced certificate has status 'Đã cấp đổi'")
            elif status == "replaced":
                c.bad(i, "status 'replaced' needs the series that replaced it (Thay thế bởi)")
        _required(c, t, "series", "series (Số phát hành)")
        _unique(c, t, "series", "series")
        tables["certificates"] = t
    if "plots" in sheets:
        c = Cells(sheets["plots"], problems)
        refs = c.plots("plot")
        if "plot" not in c.sheet.frame:
            communes = c.column("commune", lambda v: digits(v, {4: 5, 3: 5, 2: 5, 1: 5}))
            sheets_ = c.column("sheet", lambda v: integer(v, "sheet", 1, 100_000))
            numbers = c.column("number", lambda v: integer(v, "plot number", 1, 10_000_000))
            codes = []
            for commune, s, n in zip(communes, sheets_, numbers, strict=True):
                try:
                    codes.append(format_mx(commune, s, n) if commune and s and n else None)
                except (InvalidMXError, ValueError):
                    codes.append(None)
            refs = plot_refs(codes)[0]
        t = frame({"row": c.sheet.rows, "series": c.text("series"), "ref": refs,
                          "legal_area": c.column("legal_area", lambda v: positive(v, "area")),
                          "land_use": c.column("land_use", lambda v: (text(v) or "").upper() or None)})
        _required(c, t, "series", "series (Số phát hành)")
        _required(c, t, "ref", "plot (MX.SB.ST, identification code, or commune + sheet + number)")
        tables["plots"] = t
    if "parties" in sheets:
        c = Cells(sheets["parties"], problems)
        t = frame({"row": c.sheet.rows, "ref": c.text("ref"),
                          "kind": c.column("kind", lambda v: coded("kind", v, "party kind", "individual")),
                          "name": c.text("name"),
                          "id_number": c.digits("id_number", ID_LENGTHS),
                          "id_kind": c.column("id_kind", lambda v: coded("id_kind", v, "ID kind")),
                          "birth_date": c.column("birth_date", vocab.parse_date),
                          "birth_year": c.column("birth_year", lambda v: integer(v, "birth year", 1880, this_year)),
                          "gender": c.column("gender", lambda v: coded("gender", v, "gender")),
                          "address": c.text("address"),
                          "tax_code": c.column("tax_code", compact_tax_code),
                          "household_ref": c.text("household"), "relation": c.text("relation")})
        _required(c, t, "ref", "party key (Mã chủ)")
        _unique(c, t, "ref", "party key")
        _check_parties(c, t)
        tables["parties"] = t
    if "assets" in sheets:
        c = Cells(sheets["assets"], problems)
        t = frame({"row": c.sheet.rows, "ref": c.text("ref"),
                          "kind": c.column("kind", lambda v: coded("asset_kind", v, "asset kind")),
                          "plot": c.plots("plot"), "building": c.text("building"),
                          "floor_area": c.column("floor_area", lambda v: positive(v, "floor area")),
                          "floors": c.column("floors", lambda v: integer(v, "floors", 1, 200)),
                          "year_built": c.column("year_built", lambda v: integer(v, "year built", 1800, this_year)),
                          "structure": c.text("structure"),
                          "footprint": c.column("footprint", _footprint)})
        _required(c, t, "ref", "asset key (Mã tài sản)")
        _required(c, t, "kind", "asset kind (Loại tài sản)")
        _required(c, t, "plot", "plot (Thửa đất)")
        tables["assets"] = t
    if "rights" in sheets:
        c = Cells(sheets["rights"], problems)
        terms = c.column("term", vocab.parse_term)
        t = frame({"row": c.sheet.rows, "party_ref": c.text("party"),
                          "plot": c.plots("plot"), "asset_ref": c.text("asset"),
                          "role": c.column("role", lambda v: coded("role", v, "role")),
                          "share": c.column("share", vocab.parse_share), "purpose": c.text("purpose"),
                          "term_end": [x[1] if x else None for x in terms], "origin": c.text("origin"),
                          "since": c.column("since", vocab.parse_date), "series": c.text("series")})
        _required(c, t, "party_ref", "party key (Mã chủ)")
        for i, (plot, asset) in enumerate(zip(t["plot"], t["asset_ref"], strict=True)):
            if (plot is None) == (asset is None):
                c.bad(i, "a right is on a plot or on an asset: give one of them")
        t["role"] = [r or ("owner" if a else "user") for r, a in zip(t["role"], t["asset_ref"], strict=True)]
        t["share"] = [s or Fraction(1) for s in t["share"]]
        tables["rights"] = t
    return tables


def _required(c: Cells, t: pd.DataFrame, column: str, what: str) -> None:
    for i in np.flatnonzero(t[column].isna().to_numpy()):
        c.bad(int(i), f"no {what}")


def _unique(c: Cells, t: pd.DataFrame, column: str, what: str) -> None:
    first: dict = {}
    for i, v in enumerate(t[column]):
        if v is None:
            continue
        if v in first:
            c.bad(i, f"{what} {v} is also on row {t['row'].iat[first[v]]}")
        else:
            first[v] = i


def _check_parties(c: Cells, t: pd.DataFrame) -> None:
    """Each party's identifiers and birth against its kind; the ID number's kind and the birth year filled."""
    import re

    id_numbers, id_kinds, years = t["id_number"].tolist(), t["id_kind"].tolist(), t["birth_year"].tolist()
    for i, (number, kind, id_kind, date, year, tax) in enumerate(zip(
            id_numbers, t["kind"], id_kinds, t["birth_date"], years, t["tax_code"], strict=True)):
        if number is not None:
            id_kind = id_kind or ("passport" if kind == "foreign" else None)
            if id_kind in (None, "cccd", "cmnd"):
                if not number.isdigit() or len(number) not in (9, 12):
                    c.bad(i, "ID number is not 12 digits (CCCD) or 9 digits (CMND)")
                else:
                    id_kinds[i] = "cccd" if len(number) == 12 else "cmnd"
            elif id_kind == "passport":
                if not re.match(_PASSPORT, number.upper()):
                    c.bad(i, "passport number is not 6 to 12 letters and digits")
                id_numbers[i], id_kinds[i] = number.upper(), "passport"
        if date is not None:
            if year is not None and year != date.year:
                c.bad(i, f"birth year {year} is not the year of the birth date")
            years[i] = date.year
        if tax is not None and not tax.isdigit():
            c.bad(i, "tax code has characters other than digits")
        if kind in ("organisation", "community", "household") and (date or year):
            c.bad(i, f"a {kind} has no birth date")
        if kind == "organisation" and number is not None:
            c.bad(i, "an organisation is identified by its tax code (Mã số thuế), not an ID number")
    t["id_number"] = pd.Series(id_numbers, dtype=object, index=t.index)
    t["id_kind"] = pd.Series(id_kinds, dtype=object, index=t.index)
    t["birth_year"] = pd.Series(years, dtype=object, index=t.index)


def _footprint(v):
    wkt = text(v)
    if wkt is None:
        return None
    try:
        geom = shapely.from_wkt(wkt)
    except shapely.errors.GEOSException:
        raise ValueError("footprint is not WKT (POLYGON ((x y, …)))") from None
    if geom.geom_type == "MultiPolygon" and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    if geom.geom_type != "Polygon" or geom.is_empty:
        raise ValueError(f"footprint is a {geom.geom_type}, not a polygon")
    if not geom.is_valid:
        raise ValueError("footprint is not a valid polygon (it crosses itself)")
    x, y = geom.centroid.x, geom.centroid.y
    if not (100_000 < x < 900_000 and 800_000 < y < 2_750_000):
        raise ValueError("footprint is not in VN-2000 TM-3 metres (the plot's zone)")
    return geom.wkt


# --- what the rows refer to ----------------------------------------------------------------------------------

def _resolve(conn: Connection, tables: dict[str, pd.DataFrame], problems: Problems, province: str | None) -> None:
    """Find the plots, paper plots, parties, assets and certificates the rows name; note what is not found."""
    refs = {}
    for name, column in (("plots", "ref"), ("rights", "plot"), ("assets", "plot")):
        if name in tables:
            refs.update((r[1], r) for r in tables[name][column] if r is not None)
    plots, paper = _find_plots(conn, refs)
    known_communes = set(conn.execute(sa.text(
        "SELECT DISTINCT code FROM geoland.admin_unit WHERE level = 'commune'")).scalars())
    new_paper: dict[tuple, int] = {}      # paper key → the plots-sheet row index that names it first
    for name, column in (("plots", "ref"), ("rights", "plot"), ("assets", "plot")):
        if name not in tables:
            continue
        t = tables[name]
        found = _plots_named(t[column], plots, paper, province)
        rows, cells = t["row"].to_numpy(), t[column].to_numpy(dtype=object)
        for i in np.flatnonzero(found["many"]):
            problems.add(name, int(rows[i]), f"plot {cells[i][1]} names {found['many'][i]} plots (a code of before and "
                                             "one of after the reorganisation): give its identification code")
        for i in np.flatnonzero(found["elsewhere"]):
            problems.add(name, int(rows[i]), f"plot {cells[i][1]} is in province {found['province'][i]}, "
                                             f"not {province}")
        paper_keys = np.full(len(t), None, dtype=object)
        for i in np.flatnonzero(found["paper"]):
            paper_keys[i] = _paper_key(cells[i])
        for i in np.flatnonzero(found["none"]):
            ref, key = cells[i], _paper_key(cells[i])
            if name == "plots":
                if ref[0] == "code":
                    problems.add(name, int(rows[i]), f"no plot has identification code {ref[1]}")
                elif key[0] not in known_communes:
                    problems.add(name, int(rows[i]), f"plot {ref[1]}: commune {key[0]} is not a known commune code "
                                                     "(load the units first)")
                else:
                    paper_keys[i] = key
                    new_paper.setdefault(key, i)
            elif key in new_paper:
                paper_keys[i] = key
            else:
                problems.add(name, int(rows[i]), f"unknown plot {ref[1]}: not in the database, nor on the "
                                                 f"{vocab.SHEET_LABELS['plots']} sheet of a certificate")
        t["plot_id"] = pd.Series(found["plot_id"], index=t.index, dtype=object)
        t["paper_key"] = pd.Series(paper_keys, index=t.index, dtype=object)
    _resolve_keys(conn, tables, problems)
    _check_shares(tables, problems)


def _paper_key(ref: tuple) -> tuple[str, int, int]:
    _, _, commune, sheet, number, prefix = ref
    return (prefix or commune, sheet, number)


def _find_plots(conn: Connection, refs: dict[str, tuple]) -> tuple[pd.DataFrame, pd.Index]:
    """What each reference names: its plots (ref → how many, the first's id and province).

    And the references that name a paper plot still waiting for its geometry.
    """
    _stage(conn, "_ref", {"ref": "text", "kind": "text", "code": "text", "commune": "text", "sheet": "integer",
                          "number": "integer", "prefix": "text"}, pd.DataFrame(ref_columns(list(refs.values()))))
    found = pd.DataFrame.from_records(conn.execute(sa.text("""
        SELECT ref, count(*) AS n, min(id) AS plot_id, min(province_code) AS province FROM (
            SELECT r.ref, p.id, p.province_code FROM _ref r
            JOIN geoland.plot_code c ON c.code = r.code JOIN geoland.plot p ON p.id = c.plot_id WHERE r.kind = 'code'
            UNION SELECT r.ref, p.id, p.province_code FROM _ref r JOIN geoland.mx_crosswalk x ON x.new_code = r.ref
            JOIN geoland.plot p ON p.id = x.plot_id WHERE r.kind = 'mx'
            UNION SELECT r.ref, p.id, p.province_code FROM _ref r JOIN geoland.plot p
            ON p.old_commune_code = r.commune AND p.sheet = r.sheet AND p.plot_number = r.number
            WHERE r.kind = 'mx' AND r.prefix IS NULL) f GROUP BY ref""")).cursor.fetchall(),
        columns=["ref", "n", "plot_id", "province"]).set_index("ref")
    paper = pd.Index(conn.execute(sa.text("""
        SELECT DISTINCT r.ref FROM _ref r JOIN geoland.paper_plot pp ON pp.commune_code = coalesce(r.prefix, r.commune)
        AND pp.sheet = r.sheet AND pp.plot_number = r.number WHERE r.kind = 'mx' AND pp.plot_id IS NULL""")).scalars()
        .all(), dtype=object)
    conn.execute(sa.text("DROP TABLE _ref"))
    return found, paper


def _plots_named(cells: pd.Series, plots: pd.DataFrame, paper: pd.Index, province: str | None) -> dict:
    """Per row: the plot id it names (or None), and what else it names.

    Masks of the rows naming several plots (``many``: how many), a plot of another province, a waiting paper
    plot, or nothing known.
    """
    keys = pd.Index([r[1] if r is not None else None for r in cells], dtype=object)
    at = plots.index.get_indexer(keys)
    hit = at >= 0
    n = np.where(hit, plots["n"].to_numpy()[np.where(hit, at, 0)], 0)
    prov = np.where(hit, plots["province"].to_numpy(dtype=object)[np.where(hit, at, 0)], None)
    elsewhere = (n == 1) & (prov != province) if province else np.zeros(len(keys), dtype=bool)
    one = (n == 1) & ~elsewhere
    plot_id = np.full(len(keys), None, dtype=object)
    plot_id[one] = plots["plot_id"].to_numpy()[at[one]].astype(object)
    on_paper = ~hit & (paper.get_indexer(keys) >= 0) if len(paper) else np.zeros(len(keys), dtype=bool)
    given = np.asarray(cells.notna(), dtype=bool)
    return {"plot_id": plot_id, "many": np.where(n > 1, n, 0), "elsewhere": elsewhere, "province": prov,
            "paper": on_paper, "none": given & ~hit & ~on_paper}


def _lookup(conn: Connection, sql: str, keys) -> dict:
    keys = sorted({k for k in keys if k is not None})
    return dict(conn.execute(sa.text(sql), {"k": keys}).all()) if keys else {}


def _resolve_keys(conn: Connection, tables: dict[str, pd.DataFrame], problems: Problems) -> None:
    """Parties, assets and certificates named by key: in the file, or already in the database."""
    empty = pd.DataFrame(columns=["row", "ref", "kind", "series", "household_ref", "replaced_series", "party_ref",
                                  "asset_ref"])
    parties, assets = tables.get("parties", empty), tables.get("assets", empty)
    certificates = tables.get("certificates", empty)
    rights, plots = tables.get("rights", empty), tables.get("plots", empty)

    def keys(*columns) -> pd.Index:
        return pd.Index(pd.concat([c.dropna() for c in columns]).unique(), dtype=object)

    in_file = {"party": keys(parties["ref"]), "asset": keys(assets["ref"]), "certificate": keys(certificates["series"])}
    named = {"party": keys(rights["party_ref"], parties["household_ref"]), "asset": keys(rights["asset_ref"]),
             "certificate": keys(rights["series"], plots["series"], certificates["replaced_series"])}
    sql = {"party": "SELECT ref, kind FROM geoland.party WHERE ref = ANY(:k)",
           "asset": "SELECT ref, id FROM geoland.asset WHERE ref = ANY(:k)",
           "certificate": "SELECT series, id FROM geoland.certificate WHERE series = ANY(:k)"}
    stored = {w: _lookup(conn, sql[w], named[w].difference(in_file[w])) for w in sql}   # what the file lacks
    known = {w: in_file[w].append(pd.Index(list(stored[w]), dtype=object)) for w in sql}
    households = keys(parties.loc[parties["kind"] == "household", "ref"]).append(
        pd.Index([r for r, kind in stored["party"].items() if kind == "household"], dtype=object))
    words = {"party": "party (Mã chủ)", "asset": "asset (Mã tài sản)", "certificate": "certificate series"}
    for sheet, column, what in (("rights", "party_ref", "party"), ("rights", "asset_ref", "asset"),
                                ("rights", "series", "certificate"), ("plots", "series", "certificate"),
                                ("certificates", "replaced_series", "certificate")):
        if sheet not in tables:
            continue
        t = tables[sheet]
        for row, key in t.loc[t[column].notna() & ~t[column].isin(known[what]), ["row", column]].itertuples(
                index=False):
            problems.add(sheet, int(row), f"unknown {words[what]} {key}: not in the file nor in the register")
    if "parties" in tables:
        for row, key in parties.loc[parties["household_ref"].notna() & ~parties["household_ref"].isin(households),
                                    ["row", "household_ref"]].itertuples(index=False):
            problems.add("parties", int(row), f"household {key} is not a household party (Hộ gia đình) of the "
                                              "file or the register")


def _check_shares(tables: dict[str, pd.DataFrame], problems: Problems) -> None:
    """Co-holders' shares of one object on one certificate may not add up to more than the whole."""
    if "rights" not in tables:
        return
    t = tables["rights"]
    columns = ["plot_id", "paper_key", "asset_ref", "series"]
    shared = t[columns].duplicated(keep=False).to_numpy()   # one holder: its share is at most the whole (read so)
    rows: dict[tuple, list[int]] = defaultdict(list)
    arrays = [t[c].to_numpy(dtype=object) for c in columns]
    for i in np.flatnonzero(shared):
        key = tuple(a[i] for a in arrays)
        if key[:3] != (None, None, None):
            rows[key].append(i)
    shares, numbers = t["share"].tolist(), t["row"].tolist()
    for key, members in rows.items():
        whole = sum((shares[i] for i in members), Fraction(0))
        if whole > 1:
            listed = ", ".join(str(numbers[i]) for i in members)
            for i in members:
                problems.add("rights", numbers[i], f"the shares of this object's holders on certificate "
                                                   f"{key[3] or '(none)'} add up to {whole} (rows {listed}), more "
                                                   "than 1")


# --- keeping going past bad rows -----------------------------------------------------------------------------

def _drop_bad(tables: dict[str, pd.DataFrame], sheets: dict[str, Sheet], problems: Problems) -> dict[str, int]:
    """Take the bad rows out, and the rows that refer to a row taken out (noted with why), until none is left."""
    refers = (("rights", "party_ref", "parties", "ref"), ("parties", "household_ref", "parties", "ref"),
              ("rights", "asset_ref", "assets", "ref"), ("rights", "series", "certificates", "series"),
              ("plots", "series", "certificates", "series"), ("rights", "paper_key", "plots", "paper_key"),
              ("assets", "paper_key", "plots", "paper_key"))
    while True:
        gone: dict[tuple[str, str], dict] = {}
        bad = {}
        for sheet, t in tables.items():
            bad[sheet] = t["row"].isin(problems.rows(sheet)).to_numpy()
            for column in ("ref", "series", "paper_key"):
                if column in t:
                    kept = set(t.loc[~bad[sheet], column].dropna())
                    gone[(sheet, column)] = {k: int(r) for k, r in zip(t.loc[bad[sheet], column],
                                                                       t.loc[bad[sheet], "row"], strict=True)
                                             if k is not None and k not in kept}
        more = False
        for sheet, column, target, key in refers:
            if sheet not in tables or not gone.get((target, key)):
                continue
            t, lost = tables[sheet], gone[(target, key)]
            for i, (row, value) in enumerate(zip(t["row"], t[column], strict=True)):
                if value is not None and value in lost:      # a bad row gets this reason too: every reason
                    shown = "-".join(map(str, value)) if isinstance(value, tuple) else value
                    problems.add(sheet, int(row), f"refers to {vocab.SHEET_LABELS[target]} {shown}, quarantined "
                                                  f"(row {lost[value]})")
                    more = more or not bad[sheet][i]
        if not more:
            for sheet, t in tables.items():
                tables[sheet] = t.loc[~t["row"].isin(problems.rows(sheet)).to_numpy()].reset_index(drop=True)
            return {vocab.SHEET_LABELS[s]: len(problems.rows(s)) for s in sheets if problems.rows(s)}


def _quarantine(conn: Connection, import_id: int, sheets: dict[str, Sheet], problems: Problems) -> None:
    """The bad rows, with their sheet, row, every reason and their cells as read."""
    records = []
    for kind, sheet in sheets.items():
        position = {int(r): i for i, r in enumerate(sheet.rows)}
        for row in sorted(problems.rows(kind)):
            cells = {a: _json_value(sheet.frame[a].iat[position[row]]) for a in sheet.frame}
            records.append((import_id, sheet.name, row, problems.by_row[(kind, row)],
                            json.dumps(cells, ensure_ascii=False)))
    conn.execute(sa.text("""INSERT INTO geoland.register_quarantine (register_import_id, sheet, source_row, reasons,
        cells) VALUES (:i, :s, :r, :reasons, CAST(:cells AS jsonb))"""),
        [{"i": i, "s": s, "r": r, "reasons": reasons, "cells": cells} for i, s, r, reasons, cells in records])


def _json_value(v):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    return v if isinstance(v, int | float | str | bool) else str(v)


# --- merging into the register -------------------------------------------------------------------------------

def _stage(conn: Connection, name: str, columns: dict[str, str], frame: pd.DataFrame) -> None:
    """A temporary table ``name`` (``columns``: name → SQL type) filled from ``frame`` by COPY.

    ``columns`` may name columns the frame lacks: they stay empty.
    """
    conn.execute(sa.text(f"CREATE TEMP TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns.items())}) "
                         "ON COMMIT DROP"))
    if len(frame):
        data = {}
        for c, t in columns.items():
            if c not in frame:
                continue
            v = frame[c]
            if t in ("integer", "bigint"):
                v = pd.Series(v, dtype=object).astype("Int64")
            elif t == "date":
                v = pd.Series([x.isoformat() if x is not None else None for x in v], dtype=object)
            data[c] = v
        copy_csv(conn, f"{name} ({', '.join(data)})", [csv_bytes(data)])
    conn.execute(sa.text(f"ANALYZE {name}"))


def _history(conn: Connection, params: dict, *, entity: str, staging: str, table: str, key: str,
             fields: tuple[str, ...], personal: tuple[str, ...] = (), where: str = "true",
             also: tuple[str, str, str] | None = None) -> tuple[int, int]:
    """Store every value given that differs from the stored one; returns (values changed, records updated).

    A value that replaces another is recorded in ``register_change`` (old, new); a value that fills a blank
    is not one row per value (an export completing a plot layer's register fills millions): the records
    updated are counted, and the import's job is their source. One pass: the rows that differ are found
    once, then updated and their replaced values recorded. ``also``: one more assignment, the condition
    under which it changes the row, and the staged columns it reads (not recorded: a key, not a value).
    """
    values = ", ".join(f"('{f}', d.old_{f}::text, d.{f}::text, {'true' if f in personal else 'false'})"
                       for f in fields)
    differs = " OR ".join(f"(s.{f} IS NOT NULL AND s.{f} IS DISTINCT FROM t.{f})" for f in fields)
    replaced = " OR ".join(f"d.{f} <> d.old_{f}" for f in fields)     # typed, before any value is made text
    assign = ", ".join(f"{f} = coalesce(d.{f}, t.{f})" for f in fields)
    carried = ", ".join(f"s.{f}" for f in ("target", *fields))
    if also:
        differs, assign, carried = f"{differs} OR ({also[1]})", f"{assign}, {also[0]}", f"{carried}, {also[2]}"
    changed, updated = conn.execute(sa.text(f"""
        WITH d AS MATERIALIZED (
            SELECT {carried}, {', '.join(f't.{f} AS old_{f}' for f in fields)} FROM {staging} s
            JOIN {table} t ON t.{key} = s.target WHERE {where} AND ({differs})),
        u AS (UPDATE {table} t SET {assign} FROM d WHERE t.{key} = d.target RETURNING 1),
        c AS (INSERT INTO geoland.register_change (job_id, register_import_id, entity, entity_id, field,
                                                   old_value, new_value, personal)
              SELECT :job, :import, '{entity}', d.target, v.field, v.old, v.new, v.personal
              FROM d CROSS JOIN LATERAL (VALUES {values}) v(field, old, new, personal)
              WHERE ({replaced}) AND v.new IS NOT NULL AND v.old IS NOT NULL AND v.new <> v.old RETURNING 1)
        SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM u)"""), params).one()
    return int(changed), int(updated)


def _merge(conn: Connection, tables: dict[str, pd.DataFrame], job_id: int, import_id: int) -> dict[str, int]:
    """Certificates, paper plots and their links, parties, households, assets, rights: added or changed."""
    p = {"job": job_id, "import": import_id}
    counts: dict[str, int] = {}
    empty = pd.DataFrame()
    x = conn.execute

    # Certificates: by series; the one replacing another is set once both exist.
    certs = tables.get("certificates", empty)
    _stage(conn, "_c_in", {"series": "text", "book_number": "text", "issued_on": "date", "authority": "text",
                           "form": "text", "status": "text", "replaced_series": "text"}, certs)
    x(sa.text("""CREATE TEMP TABLE _c ON COMMIT DROP AS
        SELECT s.*, CASE WHEN c.id IS NULL THEN nextval('geoland.certificate_id_seq') ELSE c.id END AS target,
               c.id IS NULL AS new
        FROM _c_in s LEFT JOIN geoland.certificate c ON c.series = s.series"""))
    x(sa.text("ANALYZE _c"))
    counts["certificates_added"] = x(sa.text("""
        INSERT INTO geoland.certificate (id, series, book_number, issued_on, authority, form, status, job_id)
        SELECT target, series, book_number, issued_on, authority, form,
               CASE WHEN status IN ('valid', 'cancelled') THEN status ELSE 'valid' END, :job FROM _c WHERE new"""),
        p).rowcount
    changes, updated = _history(conn, p, entity="certificate", staging="_c", table="geoland.certificate", key="id",
                       fields=("book_number", "issued_on", "authority", "form"), where="NOT s.new")
    changes += x(sa.text("""
        INSERT INTO geoland.register_change (job_id, register_import_id, entity, entity_id, field, old_value, new_value)
        SELECT :job, :import, 'certificate', c.id, v.field, v.old, v.new
        FROM _c s JOIN geoland.certificate c ON c.id = s.target LEFT JOIN geoland.certificate r ON r.id = c.replaced_by
        CROSS JOIN LATERAL (VALUES ('status', c.status, s.status),
                                   ('replaced_by', r.series, s.replaced_series)) v(field, old, new)
        WHERE NOT s.new AND v.new IS NOT NULL AND v.new IS DISTINCT FROM v.old"""), p).rowcount
    x(sa.text("""
        UPDATE geoland.certificate c SET status = s.status, replaced_by = r.id
        FROM _c s LEFT JOIN geoland.certificate r ON r.series = s.replaced_series
        WHERE c.id = s.target AND s.status IS NOT NULL
          AND (c.status, c.replaced_by) IS DISTINCT FROM (s.status, r.id)"""))

    # Paper plots: a certificate's plot the database has no geometry for.
    plots = tables.get("plots", pd.DataFrame(columns=["row", "series", "ref", "legal_area", "land_use", "plot_id",
                                                      "paper_key"]))
    paper = plots[plots["paper_key"].notna()].drop_duplicates("paper_key")
    _stage(conn, "_pp", {"commune": "text", "sheet": "integer", "number": "integer", "legal_area": "double precision",
                         "land_use": "text"},
           pd.DataFrame({"commune": [k[0] for k in paper["paper_key"]], "sheet": [k[1] for k in paper["paper_key"]],
                         "number": [k[2] for k in paper["paper_key"]], "legal_area": paper["legal_area"].to_numpy(),
                         "land_use": paper["land_use"].to_numpy()}))
    counts["paper_plots_added"] = x(sa.text("""
        INSERT INTO geoland.paper_plot (province_code, commune_code, sheet, plot_number, legal_area_m2, land_use,
                                        register_import_id)
        SELECT (SELECT province_code FROM geoland.admin_unit u WHERE u.level = 'commune' AND u.code = s.commune
                ORDER BY u.valid_to NULLS LAST LIMIT 1), s.commune, s.sheet, s.number, s.legal_area, s.land_use, :import
        FROM _pp s WHERE NOT EXISTS (SELECT FROM geoland.paper_plot pp WHERE pp.plot_id IS NULL
            AND (pp.commune_code, pp.sheet, pp.plot_number) = (s.commune, s.sheet, s.number))"""), p).rowcount
    paper_ids = {(c, s, n): i for i, c, s, n in x(sa.text("""
        SELECT pp.id, pp.commune_code, pp.sheet, pp.plot_number FROM geoland.paper_plot pp JOIN _pp s
        ON (pp.commune_code, pp.sheet, pp.plot_number) = (s.commune, s.sheet, s.number) WHERE pp.plot_id IS NULL"""))}
    for name in ("rights", "assets"):
        t = tables.get(name)
        if t is not None:
            extra = {k for k in t["paper_key"].dropna() if k not in paper_ids}
            if extra:
                paper_ids |= _existing_paper(conn, extra)
    links = plots.assign(paper_id=[paper_ids.get(k) if k is not None else None for k in plots["paper_key"]])
    _stage(conn, "_cp", {"series": "text", "plot_id": "bigint", "paper_id": "bigint"}, links)
    counts["certificate_links_added"] = x(sa.text("""
        INSERT INTO geoland.certificate_plot (certificate_id, plot_id, province_code)
        SELECT DISTINCT c.id, s.plot_id, coalesce(p.province_code, '') FROM _cp s
        JOIN geoland.certificate c ON c.series = s.series JOIN geoland.plot p ON p.id = s.plot_id
        WHERE s.plot_id IS NOT NULL AND NOT EXISTS (SELECT FROM geoland.certificate_plot l
                                                    WHERE l.certificate_id = c.id AND l.plot_id = s.plot_id)
        ON CONFLICT DO NOTHING""")).rowcount + x(sa.text("""
        INSERT INTO geoland.certificate_paper_plot (certificate_id, paper_plot_id)
        SELECT DISTINCT c.id, s.paper_id FROM _cp s JOIN geoland.certificate c ON c.series = s.series
        WHERE s.paper_id IS NOT NULL AND NOT EXISTS (SELECT FROM geoland.certificate_paper_plot l
                                                     WHERE l.certificate_id = c.id AND l.paper_plot_id = s.paper_id)
        ON CONFLICT DO NOTHING""")).rowcount

    counts |= _merge_parties(conn, tables.get("parties"), p)
    changes += counts.pop("changes")
    updated += counts.pop("updated")
    counts |= _merge_assets(conn, tables.get("assets"), paper_ids, p)
    changes += counts.pop("changes")
    updated += counts.pop("updated")
    counts |= _merge_rights(conn, tables.get("rights"), paper_ids, p)
    changes += counts.pop("changes")
    updated += counts.pop("updated")
    counts["changes"] = changes
    counts["records_completed"] = updated
    x(sa.text("DROP TABLE _c_in, _c, _pp, _cp, _party_in, _party, _asset, _right_in, _right_ids, _right"))
    return counts


def _existing_paper(conn: Connection, keys) -> dict:
    rows = conn.execute(sa.text("""SELECT id, commune_code, sheet, plot_number FROM geoland.paper_plot
        WHERE plot_id IS NULL AND (commune_code, sheet, plot_number) IN (SELECT * FROM unnest(:c, :s, :n))"""),
        {"c": [k[0] for k in keys], "s": [k[1] for k in keys], "n": [k[2] for k in keys]}).all()
    return {(c, s, n): i for i, c, s, n in rows}


_PERSONAL = ("name", "id_number", "birth_date", "birth_year", "address")


def _merge_parties(conn: Connection, t: pd.DataFrame | None, p: dict) -> dict[str, int]:
    """One party per ID number, else tax code, else the registry's key; its first row's values are its own."""
    x = conn.execute
    columns = {"row": "integer", "ref": "text", "kind": "text", "name": "text", "id_number": "text", "id_kind": "text",
               "birth_date": "date", "birth_year": "integer", "gender": "text", "address": "text", "tax_code": "text",
               "household_ref": "text", "relation": "text", "person": "text"}
    if t is None:
        t = pd.DataFrame(columns=list(columns))
    else:
        t = t.assign(person=["n" + n if n else "t" + c if c else "r" + r
                             for n, c, r in zip(t["id_number"], t["tax_code"], t["ref"], strict=True)])
    _stage(conn, "_party_in", columns, t)
    # the party a row is: by ID number, else tax code, else (with neither) the registry's key; else a new one
    # per person of the file; its first row (canonical) gives its values
    x(sa.text("""CREATE TEMP TABLE _party ON COMMIT DROP AS
        WITH m AS (SELECT s.*, coalesce(pp.party_id, y.id, z.id) AS found,
                          NOT EXISTS (SELECT FROM geoland.party f WHERE f.ref = s.ref) AS free_ref FROM _party_in s
                   LEFT JOIN geoland.party_personal pp ON pp.id_number = s.id_number
                   LEFT JOIN geoland.party y ON y.tax_code = s.tax_code
                   LEFT JOIN geoland.party z ON z.ref = s.ref AND s.id_number IS NULL AND s.tax_code IS NULL),
             k AS (SELECT person, nextval('geoland.party_id_seq') AS id
                   FROM (SELECT DISTINCT person FROM m WHERE found IS NULL) d),
             o AS (SELECT m.*, coalesce(m.found, k.id) AS target, m.found IS NULL AS new
                   FROM m LEFT JOIN k ON m.found IS NULL AND k.person = m.person)
        SELECT o.*, o.row = min(o.row) OVER (PARTITION BY o.target) AS canonical FROM o"""))
    x(sa.text("ANALYZE _party"))
    out = {"parties_added": x(sa.text("""
        INSERT INTO geoland.party (id, kind, tax_code, ref, job_id)
        SELECT target, kind, tax_code, ref, :job FROM _party WHERE new AND canonical"""), p).rowcount}
    x(sa.text("""INSERT INTO geoland.party_personal (party_id, name, id_number, id_kind, birth_date, birth_year, gender,
                                                      address)
                 SELECT target, name, id_number, id_kind, birth_date, birth_year, gender, address
                 FROM _party WHERE new AND canonical"""))
    changes, updated = _history(  # and the registry's key, where the party has none yet and no other has it
        conn, p, entity="party", staging="_party", table="geoland.party", key="id", fields=("kind", "tax_code"),
        where="NOT s.new AND s.canonical",
        also=("ref = CASE WHEN t.ref IS NULL AND d.free_ref THEN d.ref ELSE t.ref END", "t.ref IS NULL AND s.free_ref",
              "s.ref, s.free_ref"))
    more, also = _history(conn, p, entity="party", staging="_party", table="geoland.party_personal", key="party_id",
                          fields=("name", "id_number", "id_kind", "birth_date", "birth_year", "gender", "address"),
                          personal=_PERSONAL, where="NOT s.new AND s.canonical")
    out["household_members_added"] = x(sa.text("""
        INSERT INTO geoland.household_member (household_id, member_id, role)
        SELECT DISTINCT ON (h.id, s.target) h.id, s.target, s.relation FROM _party s
        JOIN (SELECT ref, target AS id FROM _party UNION ALL SELECT ref, id FROM geoland.party WHERE ref IS NOT NULL) h
          ON h.ref = s.household_ref
        WHERE s.household_ref IS NOT NULL AND NOT EXISTS (SELECT FROM geoland.household_member m
                                                          WHERE m.household_id = h.id AND m.member_id = s.target)
        ORDER BY h.id, s.target ON CONFLICT DO NOTHING""")).rowcount
    out["changes"], out["updated"] = changes + more, updated + also
    return out


def _merge_assets(conn: Connection, t: pd.DataFrame | None, paper_ids: dict, p: dict) -> dict[str, int]:
    """Assets by the registry's key; linked to their plots or paper plots; footprints in the plot's zone."""
    x = conn.execute
    columns = {"ref": "text", "kind": "text", "plot_id": "bigint", "paper_id": "bigint", "building": "text",
               "floor_area": "double precision", "floors": "integer", "year_built": "integer", "structure": "text",
               "footprint": "text", "target": "bigint", "new": "boolean", "first": "boolean", "srid": "integer"}
    if t is None:
        t = pd.DataFrame(columns=list(columns))
    else:
        t = t.assign(paper_id=[paper_ids.get(k) if k is not None else None for k in t["paper_key"]],
                     first=~t["ref"].duplicated().to_numpy())
    _stage(conn, "_asset", columns, t)
    x(sa.text("UPDATE _asset s SET target = a.id, new = false FROM geoland.asset a WHERE a.ref = s.ref"))
    x(sa.text("""UPDATE _asset s SET target = k.id, new = true
                 FROM (SELECT ref, nextval('geoland.asset_id_seq') AS id
                       FROM (SELECT DISTINCT ref FROM _asset WHERE target IS NULL) d) k
                 WHERE s.target IS NULL AND s.ref = k.ref"""))
    x(sa.text("UPDATE _asset s SET srid = ST_SRID(g.geom) FROM geoland.plot g WHERE g.id = s.plot_id"))
    _paper_srids(conn)
    x(sa.text("ALTER TABLE _asset ADD COLUMN shape geometry"))
    x(sa.text("UPDATE _asset SET shape = ST_GeomFromText(footprint, coalesce(srid, 0)) WHERE footprint IS NOT NULL"))
    out = {"assets_added": x(sa.text("""
        INSERT INTO geoland.asset (id, ref, kind, building, floor_area, floors, year_built, structure, footprint,
                                   job_id)
        SELECT target, ref, kind, building, floor_area, floors, year_built, structure, shape, :job
        FROM _asset WHERE new AND first"""), p).rowcount}
    x(sa.text("ALTER TABLE _asset RENAME COLUMN shape TO footprint_geom"))
    changes, updated = _history(conn, p, entity="asset", staging="_asset", table="geoland.asset", key="id",
                                fields=("kind", "building", "floor_area", "floors", "year_built", "structure"),
                                where="NOT s.new AND s.first")
    footprints = x(sa.text("""
        WITH d AS (UPDATE geoland.asset a SET footprint = s.footprint_geom FROM _asset s
                   WHERE a.id = s.target AND NOT s.new AND s.first AND s.footprint_geom IS NOT NULL
                     AND (a.footprint IS NULL OR NOT ST_Equals(a.footprint, s.footprint_geom))
                   RETURNING a.id, s.footprint)
        INSERT INTO geoland.register_change (job_id, register_import_id, entity, entity_id, field, new_value)
        SELECT :job, :import, 'asset', id, 'footprint', footprint FROM d"""), p).rowcount
    changes, updated = changes + footprints, updated + footprints
    out["asset_links_added"] = x(sa.text("""
        INSERT INTO geoland.asset_plot (asset_id, plot_id, province_code)
        SELECT DISTINCT s.target, s.plot_id, coalesce(p.province_code, '') FROM _asset s
        JOIN geoland.plot p ON p.id = s.plot_id ON CONFLICT DO NOTHING""")).rowcount + x(sa.text("""
        INSERT INTO geoland.asset_paper_plot (asset_id, paper_plot_id) SELECT DISTINCT target, paper_id FROM _asset
        WHERE paper_id IS NOT NULL ON CONFLICT DO NOTHING""")).rowcount
    out["changes"], out["updated"] = changes, updated
    return out


def _paper_srids(conn: Connection) -> None:
    """A paper plot's asset footprint is in its province's official TM-3 zone."""
    from identifiers.vn2000 import province_zone

    rows = conn.execute(sa.text("""SELECT DISTINCT pp.province_code FROM _asset s
        JOIN geoland.paper_plot pp ON pp.id = s.paper_id WHERE s.srid IS NULL""")).scalars().all()
    for province in rows:
        conn.execute(sa.text("""UPDATE _asset s SET srid = :srid FROM geoland.paper_plot pp
            WHERE pp.id = s.paper_id AND s.srid IS NULL AND pp.province_code = :p"""),
            {"srid": province_zone(province) if province else None, "p": province})


def _merge_rights(conn: Connection, t: pd.DataFrame | None, paper_ids: dict, p: dict) -> dict[str, int]:
    """A right by its party, object and certificate (or a right with no certificate yet, which gets this one)."""
    x = conn.execute
    columns = {"row": "integer", "party_ref": "text", "plot_id": "bigint", "paper_id": "bigint", "asset_ref": "text",
               "role": "text", "share_num": "integer", "share_den": "integer", "purpose": "text", "term_end": "date",
               "origin": "text", "since": "date", "series": "text"}
    if t is None:
        t = pd.DataFrame(columns=list(columns))
    else:
        t = t.assign(paper_id=[paper_ids.get(k) if k is not None else None for k in t["paper_key"]],
                     share_num=[s.numerator for s in t["share"]], share_den=[s.denominator for s in t["share"]])
    _stage(conn, "_right_in", columns, t)
    # what the row names (a party of the file, else of the register), and the right it is: the same party,
    # object and certificate, else a right of that party and object with no certificate yet (it gets this one)
    same = [f"""SELECT s.row, r.id FROM {{s}} s JOIN geoland.land_right r ON r.party_id = s.party_id AND {on}
                AND {{certificate}} {{where}}""" for on in (
        "r.plot_id = s.plot_id", "r.asset_id = s.asset_id",
        "r.paper_plot_id = s.paper_id AND s.plot_id IS NULL AND s.asset_id IS NULL")]
    first = " UNION ALL ".join(same).format(s="s", certificate="r.certificate_id IS NOT DISTINCT FROM s.certificate_id",
                                            where="")
    second = " UNION ALL ".join(same).format(s="_right_ids", certificate="r.certificate_id IS NULL",
                                             where="AND s.found IS NULL AND s.certificate_id IS NOT NULL")
    x(sa.text(f"""CREATE TEMP TABLE _right_ids ON COMMIT DROP AS
        WITH s AS (SELECT i.*, coalesce(o.target, y.id) AS party_id, a.id AS asset_id, c.id AS certificate_id
                   FROM _right_in i LEFT JOIN _party o ON o.ref = i.party_ref
                   LEFT JOIN geoland.party y ON y.ref = i.party_ref
                   LEFT JOIN geoland.asset a ON a.ref = i.asset_ref
                   LEFT JOIN geoland.certificate c ON c.series = i.series)
        SELECT s.*, m.id AS found FROM s LEFT JOIN (SELECT row, min(id) AS id FROM ({first}) f GROUP BY row) m
        ON m.row = s.row"""))
    x(sa.text("ANALYZE _right_ids"))     # planned without it, the second look-up may loop over the rights
    x(sa.text(f"""UPDATE _right_ids t SET found = m.id FROM (SELECT row, min(id) AS id FROM ({second}) f GROUP BY row) m
                  WHERE m.row = t.row"""))
    x(sa.text("""CREATE TEMP TABLE _right ON COMMIT DROP AS
        SELECT s.*, coalesce(s.found, k.id) AS target, s.found IS NULL AS new FROM _right_ids s
        LEFT JOIN (SELECT row, nextval('geoland.land_right_id_seq') AS id       -- in the rows' order
                   FROM (SELECT row FROM _right_ids WHERE found IS NULL ORDER BY row) o) k ON k.row = s.row"""))
    x(sa.text("ANALYZE _right"))
    out = {"rights_added": x(sa.text("""
        INSERT INTO geoland.land_right (id, party_id, plot_id, asset_id, paper_plot_id, role, share_num, share_den,
                                        purpose, term_end, origin, since, certificate_id, job_id, province_code)
        SELECT s.target, s.party_id, s.plot_id, s.asset_id, CASE WHEN s.asset_id IS NULL THEN s.paper_id END, s.role,
               s.share_num, s.share_den, s.purpose, s.term_end, s.origin, s.since, s.certificate_id, :job,
               coalesce(p.province_code, '')
        FROM _right s LEFT JOIN geoland.plot p ON p.id = s.plot_id WHERE s.new ORDER BY s.row"""),
        p).rowcount}
    out["changes"], out["updated"] = _history(
        conn, p, entity="right", staging="_right", table="geoland.land_right", key="id",
        fields=("role", "share_num", "share_den", "purpose", "term_end", "origin", "since", "certificate_id"),
        where="NOT s.new")
    # A person written otherwise on another row of the parties sheet: that spelling kept for the plots of its rights.
    out["aliases_added"] = x(sa.text("""
        INSERT INTO geoland.party_alias (party_id, name, birth_year, plot_id, job_id, province_code)
        SELECT DISTINCT ON (o.target, r.plot_id) o.target, o.name, o.birth_year, r.plot_id, :job,
               coalesce(pl.province_code, '')
        FROM _party o JOIN _right r ON r.party_ref = o.ref JOIN geoland.party_personal pp ON pp.party_id = o.target
        JOIN geoland.plot pl ON pl.id = r.plot_id
        WHERE NOT o.canonical AND r.plot_id IS NOT NULL
          AND (o.name, o.birth_year) IS DISTINCT FROM (pp.name, pp.birth_year)
          AND NOT EXISTS (SELECT FROM geoland.party_alias a WHERE a.party_id = o.target AND a.plot_id = r.plot_id)
        ORDER BY o.target, r.plot_id, o.row ON CONFLICT DO NOTHING"""), p).rowcount
    return out
