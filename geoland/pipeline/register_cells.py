"""Reading registry sheets: workbooks and CSV folders, their cells, and the plots they name.

What ``register import`` and ``register reconcile`` share. A sheet is read as columns (a million rows of a
CSV through pyarrow in a second or two); a cell is read into its value by vectorised kernels where the
column is large and free text (series, keys, names, ID numbers, plot references), and value by value
(each distinct value once) where it is a coded word, a number or a date. Every bad cell gives its row a
reason; no cell's value is ever dropped without one.
"""

from __future__ import annotations

import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geoland.errors import InputFileError
from geoland.pipeline.files import read_csv_text
from geoland.rules import registry as vocab
from identifiers.cccd import mask_id_numbers_in_text
from identifiers.geohash import ALPHABET
from identifiers.mx import MX_PATTERN

ID_LENGTHS = {10: 12, 11: 12, 8: 9}   # a CCCD (birth province 001–096) or CMND typed as a number lost its zeros


@dataclass
class Sheet:
    """One sheet as read: its name in the file, the attribute of each column, rows and their numbers."""

    kind: str
    name: str
    frame: pd.DataFrame                   # one column per attribute found, values as read (str, number, date)
    rows: np.ndarray                      # the row (XLSX) or line (CSV) number of each row
    unknown_columns: list[str] = field(default_factory=list)


class Problems:
    """Every reason of every bad row: ``(sheet, row) → [reasons]``, in the order found."""

    def __init__(self):
        self.by_row: dict[tuple[str, int], list[str]] = defaultdict(list)

    def add(self, sheet: str, row: int, reason: str) -> None:
        """Note a reason of a row (once)."""
        if reason not in self.by_row[(sheet, row)]:
            self.by_row[(sheet, row)].append(reason)

    def rows(self, sheet: str) -> set[int]:
        """The bad rows of a sheet."""
        return {r for (s, r) in self.by_row if s == sheet}

    def listed(self) -> list[dict]:
        """Every bad row with its reasons, by sheet and row."""
        order = [*vocab.SHEETS, "paper"]
        return [{"sheet": vocab.SHEET_LABELS.get(s, s), "row": r, "reasons": reasons}
                for (s, r), reasons in sorted(self.by_row.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1]))]


# --- files -----------------------------------------------------------------------------------------------------

Raw = tuple[list, list, list]         # header, columns (one list or array of cells per header position), row numbers


def sheet_frame(columns: list, found: dict[str, int], n: int) -> pd.DataFrame:
    """The attributes' columns of a raw sheet (a column the rows are too short for is blank)."""
    return pd.DataFrame({a: pd.Series(columns[i] if i < len(columns) else [None] * n, dtype=object)
                         for a, i in found.items()}, index=pd.RangeIndex(n))


def read_workbook(path: Path) -> dict[str, Raw]:
    """Every sheet of an XLSX workbook (openpyxl, read-only): header, columns, row numbers; blank rows skipped."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if not path.is_file():
        raise InputFileError(path, "no such file")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise InputFileError(path, f"not a readable XLSX workbook ({type(exc).__name__}: {exc}); save it again as "
                                   "Excel Workbook (.xlsx)") from None
    out = {}
    try:
        for ws in book.worksheets:
            header, rows, numbers = None, [], []
            for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
                values = [v.strip() if isinstance(v, str) else v for v in values]
                if not any(v not in (None, "") for v in values):
                    continue
                if header is None:
                    header = [v if v not in ("",) else None for v in values]
                    continue
                rows.append([None if v == "" else v for v in values])
                numbers.append(number)
            width = max((len(r) for r in rows), default=0)
            columns = [[r[i] if i < len(r) else None for r in rows] for i in range(width)]
            out[ws.title] = (header or [], columns, numbers)
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InputFileError(path, f"the workbook is damaged ({type(exc).__name__}: {exc})") from None
    finally:
        book.close()
    return out


def read_csv_folder(path: Path) -> dict[str, Raw]:
    """Every ``.csv`` of a folder, by its name without the suffix."""
    files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv")
    if not files:
        raise InputFileError(path, "no .csv file in this folder")
    return {p.stem: read_csv(p) for p in files}


def read_csv(path: Path) -> Raw:
    """Header, columns (cells trimmed, blank cells None) and line numbers of a UTF-8 CSV.

    pyarrow's reader when every row is one line, else the line-exact reader of :mod:`geoland.pipeline.files`.
    """
    import csv

    import pyarrow.csv as pacsv

    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            names = next(csv.reader(fh), [])
    except (UnicodeDecodeError, csv.Error):
        names = []
    try:                               # every column as text: "014…" keeps its zero, "1943" stays as written
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(use_threads=True),
                               convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                                    strings_can_be_null=True,
                                                                    null_values=[""], check_utf8=True,
                                                                    auto_dict_encode=False),
                               parse_options=pacsv.ParseOptions(newlines_in_values=False))
        table = table.cast(pa.schema([(f.name, pa.string()) for f in table.schema]))
    except (pa.ArrowInvalid, UnicodeDecodeError):
        table = None
    if table is not None:              # a blank line or a cell over two lines: the numbers would shift
        data = path.read_bytes()
        lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        if table.num_rows != lines - 1:
            table = None
    if table is None:
        frame, lines = read_csv_text(path)
        return (list(frame.columns), [[None if v == "" else v for v in frame.iloc[:, i]]
                                      for i in range(frame.shape[1])], lines)
    header = [name.strip().lstrip("\ufeff") for name in table.column_names]
    columns = []
    for column in table.columns:
        trimmed = pc.utf8_trim_whitespace(column)
        columns.append(pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
                       .to_numpy(zero_copy_only=False))
    return header, columns, list(range(2, table.num_rows + 2))


# --- cell values -------------------------------------------------------------------------------------------------

def text(v) -> str | None:
    """A cell as text: spaces collapsed, a whole number typed as a number without its ``.0``; blank → None."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    out = " ".join(str(v).split())
    return out or None


def texts(values) -> np.ndarray:
    """:func:`text` of every cell: text cells by pyarrow's kernels, the others (a workbook's numbers) one by one."""
    cells = np.asarray(values, dtype=object)
    try:                           # a CSV's column: text and blanks only, read in one pass
        return _words(pa.array(cells, pa.string(), from_pandas=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    out = np.full(len(cells), None, dtype=object)
    is_text = np.fromiter((type(v) is str for v in cells), dtype=bool, count=len(cells))
    if is_text.any():
        out[is_text] = _words(pa.array(cells[is_text], pa.string()))
    for i in np.flatnonzero(~is_text & ~pd.isna(cells)):
        out[i] = text(cells[i])
    return out


def _words(given: pa.Array) -> np.ndarray:
    """Text cells with their runs of spaces made one and the ends trimmed; blank → None."""
    words = pc.binary_join(pc.utf8_split_whitespace(pc.utf8_trim_whitespace(given)), " ")
    return pc.if_else(pc.equal(words, ""), pa.scalar(None, pa.string()), words).to_numpy(zero_copy_only=False)


def digits(v, lengths: dict[int, int], *, text_too: bool = True) -> str | None:
    """An identifier Excel took for a number gets back the leading zeros it dropped (11 → 12 digits …).

    In a workbook cell typed as a number, and (``text_too``) in a CSV that Excel saved (its cells are text by
    then): a string of digits only, of a length that only a dropped zero explains.
    """
    out = text(v)
    if out is None:
        return None
    out = out.replace(" ", "")
    if len(out) in lengths and out.isdigit() and (text_too or isinstance(v, int | float)):
        out = out.zfill(lengths[len(out)])
    return out


def integer(v, what: str, low: int, high: int) -> int | None:
    """A whole number from ``low`` to ``high`` (``what`` names it in the error)."""
    t = text(v)
    if t is None:
        return None
    try:
        n = int(float(t.replace(",", ".")))
    except ValueError:
        raise ValueError(f"{what} {t!r} is not a number") from None
    if not low <= n <= high or float(t.replace(",", ".")) != n:
        raise ValueError(f"{what} {t} is not a whole number from {low} to {high}")
    return n


def positive(v, what: str) -> float | None:
    """A number above 0, decimal comma or point."""
    t = text(v)
    if t is None:
        return None
    try:
        x = float(t.replace(",", ".")) if isinstance(v, str) else float(v)
    except ValueError:
        raise ValueError(f"{what} {t!r} is not a number") from None
    if not x > 0:
        raise ValueError(f"{what} {t} is not more than 0")
    return x


def coded(vocabulary: str, v, what: str, default: str | None = None) -> str | None:
    """The code of a coded word of :mod:`geoland.rules.registry` (``default`` for a blank cell)."""
    t = text(v)
    if t is None:
        return default
    value = vocab.coded(vocabulary, t)
    if value is None:
        raise ValueError(f"{what} {t!r} is not one of: {vocab.accepted(vocabulary)}")
    return value


# --- plot references ---------------------------------------------------------------------------------------------

_GEOHASH_12 = f"^[{ALPHABET}]{{12}}$"


def plot_refs(values) -> tuple[list, dict[int, str]]:
    """Each cell's plot reference, and the reason of each cell that is none.

    A reference is ``("code", code)`` (a 12-character identification code, any case) or
    ``("mx", text, commune, sheet, number, prefix)`` (MX.SB.ST, with the old commune in front when given);
    a blank cell is None.
    """
    cells = texts(values)
    refs: list = [None] * len(cells)
    present = np.flatnonzero(pd.notna(cells))
    if not len(present):
        return refs, {}
    given = pa.array(cells[present], pa.string())
    lower = pc.utf8_lower(given)
    is_code = pc.match_substring_regex(lower, _GEOHASH_12).to_numpy(zero_copy_only=False)
    mx = pc.extract_regex(given, MX_PATTERN)            # RE2: \d is an ASCII digit
    is_mx = mx.is_valid().to_numpy(zero_copy_only=False)
    parts = {k: pc.struct_field(mx, k).to_pylist() for k in "cpsn"}
    bad = {}
    for i, ref, low, code_ok, mx_ok, c, p, s, n in zip(
            present, cells[present], lower.to_pylist(), is_code, is_mx,
            parts["c"], parts["p"], parts["s"], parts["n"], strict=True):
        if code_ok:
            refs[i] = ("code", low)
        elif mx_ok:
            refs[i] = ("mx", ref, c, int(s), int(n), p or None)
        else:
            bad[int(i)] = (f"plot {ref!r} is neither an identification code (12 characters) nor an MX.SB.ST code "
                           "(e.g. 03646.25.112)")
    return refs, bad


def ref_columns(refs: list) -> dict:
    """Plot references (:func:`plot_refs`) as a staging table's columns.

    ``ref``, ``kind``, ``code``, ``commune``, ``sheet``, ``number``, ``prefix``.
    """
    mx = [r[0] == "mx" for r in refs]
    return {"ref": [r[1] for r in refs], "kind": [r[0] for r in refs],
            "code": [None if m else r[1] for r, m in zip(refs, mx, strict=True)],
            "commune": [r[2] if m else None for r, m in zip(refs, mx, strict=True)],
            "sheet": pd.array([r[3] if m else None for r, m in zip(refs, mx, strict=True)], dtype="Int64"),
            "number": pd.array([r[4] if m else None for r, m in zip(refs, mx, strict=True)], dtype="Int64"),
            "prefix": [r[5] if m else None for r, m in zip(refs, mx, strict=True)]}


# --- a sheet's cells -----------------------------------------------------------------------------------------------

class Cells:
    """Reads one sheet's cells into typed columns, noting each bad cell's reason on its row."""

    def __init__(self, sheet: Sheet, problems: Problems):
        self.sheet, self.problems = sheet, problems
        self.n = len(sheet.frame)

    def column(self, attribute: str, parse) -> list:
        """``parse`` of every cell of a column, each distinct value parsed once.

        Registers repeat words, dates and codes. A value ``parse`` rejects is None, and the reason goes to
        every row holding it.
        """
        if attribute not in self.sheet.frame:
            return [None] * self.n
        codes, uniques = pd.factorize(self.sheet.frame[attribute], use_na_sentinel=True)
        parsed = np.empty(len(uniques) + 1, dtype=object)       # the last one: a blank cell
        failed: dict[int, str] = {}
        for k, v in enumerate(uniques):
            try:
                parsed[k] = parse(v)
            except ValueError as exc:
                failed[k] = mask_id_numbers_in_text(str(exc))
        parsed[-1] = parse(None)
        codes = np.where(codes < 0, len(uniques), codes)
        if failed:
            for i in np.flatnonzero(np.isin(codes, list(failed))):
                self.problems.add(self.sheet.kind, int(self.sheet.rows[i]), failed[int(codes[i])])
        return parsed[codes].tolist()

    def text(self, attribute: str) -> list:
        """The column as text (:func:`texts`)."""
        if attribute not in self.sheet.frame:
            return [None] * self.n
        return texts(self.sheet.frame[attribute].to_numpy(dtype=object)).tolist()

    def digits(self, attribute: str, lengths: dict[int, int], *, text_too: bool = True) -> list:
        """:func:`digits` of every cell, text cells vectorised."""
        if attribute not in self.sheet.frame:
            return [None] * self.n
        cells = self.sheet.frame[attribute].to_numpy(dtype=object)
        out = pd.Series(texts(cells), dtype=object)
        given = out.notna().to_numpy()
        if not given.any():
            return out.tolist()
        packed = out[given].str.replace(" ", "", regex=False)
        size, only_digits = packed.str.len(), packed.str.isdigit().astype(bool)
        if not text_too:
            only_digits &= np.fromiter((isinstance(v, int | float) and not isinstance(v, bool)
                                        for v in cells[given]), dtype=bool, count=int(given.sum()))
        for length, full in lengths.items():
            short = (size == length) & only_digits
            packed[short] = packed[short].str.zfill(full)
        out[given] = packed.to_numpy()
        return out.tolist()

    def plots(self, attribute: str) -> list:
        """The plot reference of every cell (:func:`plot_refs`)."""
        if attribute not in self.sheet.frame:
            return [None] * self.n
        refs, bad = plot_refs(self.sheet.frame[attribute].to_numpy(dtype=object))
        for i, reason in bad.items():
            self.bad(i, reason)
        return refs

    def bad(self, index: int, reason: str) -> None:
        """Note a reason of the row at ``index``."""
        self.problems.add(self.sheet.kind, int(self.sheet.rows[index]), reason)


def frame(columns: dict) -> pd.DataFrame:
    """Columns as objects: None stays None (pandas would make a column of numbers and None floats and NaN)."""
    return pd.DataFrame({k: v if k == "row" else pd.Series(list(v), dtype=object) for k, v in columns.items()})
