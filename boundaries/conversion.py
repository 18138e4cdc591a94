"""The official conversion table of a reorganisation: which old communes form which new commune.

One row per (new commune, old commune) pair. An old commune split among several new communes
(``Nhập một phần``) appears in several rows, so the table maps old → set of new codes and back.
The ``change`` column is free Vietnamese text with variants and typos; :func:`classify_change` reduces
it to a small set of kinds and the raw text is kept beside.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

import pandas as pd

from identifiers import InvalidCodeError, normalize_unit_code

REQUIRED_COLUMNS = (
    "province_code", "province_name", "commune_code", "commune_name",
    "old_commune_code", "old_commune_name", "change",
)
OPTIONAL_COLUMNS = ("old_district_code", "old_district_name", "old_province_code", "old_province_name")
CODE_COLUMNS = {
    "province_code": "province", "commune_code": "commune", "old_commune_code": "commune",
    "old_district_code": "district", "old_province_code": "province",
}
NAME_COLUMNS = ("province_name", "commune_name", "old_commune_name")
CHANGE_KINDS = ("whole", "partial", "unchanged", "renamed", "retyped", "other")

# First match wins; matched on lower-case text without diacritics, so "Nhâp một  phần" still reads as
# "nhap mot phan". Renaming and retyping come first: "Đổi tên từ một phần Phường 15" is a renaming.
_CHANGE_RULES = (
    ("unchanged", re.compile(r"\bgiu nguyen\b")),
    ("renamed", re.compile(r"\bdoi ten\b")),
    ("retyped", re.compile(r"\bdoi loai hinh\b|\bthanh dac khu\b")),
    ("partial", re.compile(r"\bmot phan\b|\bphan con lai\b")),
    ("whole", re.compile(r"\btoan bo\b")),
)
_MAX_LISTED_PROBLEMS = 5


class ConversionTableError(ValueError):
    """A malformed conversion table; ``problems`` is a list of (line, reason), first problem first."""

    def __init__(self, problems: list[tuple[int, str]]):
        self.problems = problems
        self.line, self.reason = problems[0]
        listed = "; ".join(f"line {line}: {reason}" for line, reason in problems[:_MAX_LISTED_PROBLEMS])
        more = len(problems) - _MAX_LISTED_PROBLEMS
        super().__init__(listed + (f" (and {more} more problems)" if more > 0 else ""))


def fold_vietnamese(text: str) -> str:
    """Lower-case ASCII skeleton of Vietnamese text, whitespace collapsed.

    >>> fold_vietnamese("  Nhâp một  phần Diện tích ")
    'nhap mot phan dien tich'
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(ascii_only.lower().split())


def classify_change(text: str) -> str:
    """The kind of change a ``change`` note describes, one of :data:`CHANGE_KINDS`.

    >>> [classify_change(t) for t in ("Nhập toàn bộ", "Nhâp một phần diện tích", "Giữ nguyên",
    ...                                "Đổi tên từ một phần Phường 15", "Đổi loại hình", "?")]
    ['whole', 'partial', 'unchanged', 'renamed', 'retyped', 'other']
    """
    folded = fold_vietnamese(text)
    for kind, pattern in _CHANGE_RULES:
        if pattern.search(folded):
            return kind
    return "other"


@dataclasses.dataclass(frozen=True)
class ConversionTable:
    """A validated conversion table.

    ``rows`` has the CSV's columns (codes zero-padded, names NFC-normalised), plus ``kind`` (the
    normalised change), ``note`` (the raw change text) and ``line`` (the source line, for messages).
    ``warnings`` lists oddities that do not stop a load (one code written with two names, ...).
    """

    rows: pd.DataFrame
    warnings: tuple[str, ...] = ()
    padded_codes: int = 0

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def new_codes(self) -> list[str]:
        """The new communes' codes, sorted."""
        return sorted(self.rows["commune_code"].unique())

    @property
    def old_codes(self) -> list[str]:
        """The old communes' codes, sorted."""
        return sorted(self.rows["old_commune_code"].unique())

    @property
    def province_codes(self) -> list[str]:
        """The (new) provinces of the table, sorted."""
        return sorted(self.rows["province_code"].unique())

    def new_codes_for(self, old_code: str) -> tuple[str, ...]:
        """New communes that (part of) an old commune went to; several for a partial merge."""
        code = normalize_unit_code(old_code)
        return tuple(sorted(self.rows.loc[self.rows["old_commune_code"] == code, "commune_code"].unique()))

    def old_codes_for(self, new_code: str) -> tuple[str, ...]:
        """Old communes that (in part) formed a new commune."""
        code = normalize_unit_code(new_code)
        return tuple(sorted(self.rows.loc[self.rows["commune_code"] == code, "old_commune_code"].unique()))

    def for_province(self, province_code: str) -> ConversionTable:
        """The rows of one (new) province."""
        code = normalize_unit_code(province_code, "province")
        return dataclasses.replace(self, rows=self.rows[self.rows["province_code"] == code])

    def kind_counts(self) -> dict[str, int]:
        """Rows per change kind (whole, partial, unchanged, renamed, retyped, other)."""
        counts = self.rows["kind"].value_counts()
        return {kind: int(counts.get(kind, 0)) for kind in CHANGE_KINDS}

    def split_old_codes(self) -> list[str]:
        """Old communes divided among several new communes."""
        per_old = self.rows.groupby("old_commune_code")["commune_code"].nunique()
        return sorted(per_old.index[per_old > 1])

    def summary(self) -> dict:
        """The counts a load reports: rows, communes, provinces, kinds, padded codes."""
        return {
            "rows": len(self),
            "new_communes": len(self.new_codes),
            "old_communes": len(self.old_codes),
            "provinces": len(self.province_codes),
            "old_provinces": int(self.rows["old_province_code"].nunique()),
            "split_old_communes": len(self.split_old_codes()),
            "kinds": self.kind_counts(),
            "padded_codes": self.padded_codes,
        }


def parse_conversion_table(frame: pd.DataFrame, lines=None) -> ConversionTable:
    """Validate and normalise a conversion table read as text.

    Parameters
    ----------
    frame : DataFrame
        The CSV's cells as strings (blank for missing), columns named as in the official file.
    lines : sequence of int, optional
        The source line of each row, for messages; default: row i is on line i + 2 (one header line).

    Raises
    ------
    ConversionTableError
        Missing columns, bad codes, blank names, duplicate (new, old) pairs, or a new commune listed
        under two provinces; each problem with its line.

    Examples
    --------
    >>> t = parse_conversion_table(pd.DataFrame({
    ...     "province_code": ["14", "14", "14"], "province_name": ["Tỉnh Sơn La"] * 3,
    ...     "commune_code": ["3646", "03646", "03679"], "commune_name": ["Phường Tô Hiệu"] * 2 + ["Xã B"],
    ...     "old_commune_code": ["03646", "03649", "03649"],
    ...     "old_commune_name": ["Phường Chiềng Lề", "Phường Tô Hiệu", "Phường Tô Hiệu"],
    ...     "change": ["Nhập toàn bộ", "Nhập một phần", "Nhập  một phần"]}))
    >>> t.new_codes_for("03649"), t.old_codes_for("03646"), t.kind_counts()["partial"]
    (('03646', '03679'), ('03646', '03649'), 2)
    """
    _check_columns(frame)
    rows = frame.copy()
    rows["line"] = list(lines) if lines is not None else range(2, len(frame) + 2)
    for column in OPTIONAL_COLUMNS:
        if column not in rows:
            rows[column] = ""
    problems: list[tuple[int, str]] = []
    padded = _normalise_codes(rows, problems)
    _normalise_names(rows, problems)
    if not problems:
        _check_pairs(rows, problems)
    if problems:
        problems.sort()
        raise ConversionTableError(problems)
    rows["note"] = rows["change"].map(lambda t: unicodedata.normalize("NFC", t).strip())
    rows["kind"] = rows["note"].map(classify_change)
    rows = rows.drop(columns=["change"]).reset_index(drop=True)
    return ConversionTable(rows=rows, warnings=tuple(_name_warnings(rows)), padded_codes=padded)


def _check_columns(frame: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ConversionTableError([(1, f"missing column(s) {missing}; the header has {list(frame.columns)}")])


def _normalise_codes(rows: pd.DataFrame, problems: list) -> int:
    padded = 0
    for column, level in CODE_COLUMNS.items():
        values = []
        for line, raw in zip(rows["line"], rows[column]):
            try:
                code = normalize_unit_code(raw, level)
            except InvalidCodeError as exc:
                problems.append((line, f"{column}: {exc}"))
                code = None
            if code is None and column in REQUIRED_COLUMNS and not str(raw).strip():
                problems.append((line, f"{column} is blank"))
            if code is not None and code != str(raw).strip():
                padded += 1
            values.append(code or "")
        rows[column] = values
    return padded


def _normalise_names(rows: pd.DataFrame, problems: list) -> None:
    for column in (*NAME_COLUMNS, "old_district_name", "old_province_name"):
        rows[column] = [" ".join(unicodedata.normalize("NFC", str(v)).split()) for v in rows[column]]
    for column in NAME_COLUMNS:
        for line in rows.loc[rows[column] == "", "line"]:
            problems.append((line, f"{column} is blank"))


def _check_pairs(rows: pd.DataFrame, problems: list) -> None:
    pair = rows[["commune_code", "old_commune_code"]]
    dup = pair.duplicated(keep=False)
    if dup.any():
        first_line = rows[dup].groupby(["commune_code", "old_commune_code"])["line"].transform("min")
        for (new, old), line, first in zip(pair[dup].itertuples(index=False), rows.loc[dup, "line"], first_line):
            if line != first:
                problems.append((line, f"duplicate pair: old commune {old} → new commune {new} "
                                       f"already on line {first}"))
    provinces = rows.groupby("commune_code")["province_code"].nunique()
    for code in provinces.index[provinces > 1]:
        lines = rows.loc[rows["commune_code"] == code, "line"]
        problems.append((int(lines.iloc[-1]), f"new commune {code} is listed under several provinces "
                                              f"{sorted(rows.loc[lines.index, 'province_code'].unique())}"))


def _name_warnings(rows: pd.DataFrame) -> list[str]:
    warnings = []
    for code_col, name_col in (("commune_code", "commune_name"), ("old_commune_code", "old_commune_name")):
        names = rows.groupby(code_col)[name_col].unique()
        for code, variants in names[names.map(len) > 1].items():
            warnings.append(f"{code_col} {code} is written with {len(variants)} names: "
                            + " / ".join(sorted(variants)) + " (the first one is kept)")
    return warnings
