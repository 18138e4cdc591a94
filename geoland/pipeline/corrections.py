"""Commune workbooks instead of USB files (issue 17): a template of a commune's plots to supplement, applied back.

``geoland corrections template`` writes one sheet of a commune's plots with open findings (all, or those
missing data, or those in conflict): key columns locked, one column per field to supplement (the fields of
:mod:`geoland.rules.edits`), the findings in words, drop-down lists for coded values, a hidden version stamp
per row. Personal values already stored are written masked (``014******234``): a masked cell left as it is
means "unchanged", a typed number replaces it.

``geoland corrections apply`` reads it back: every cell is checked by the same rules as the web form, every
row is compared with the plot as stored now, and all rows are applied in one transaction, or none: a bad
cell is reported by sheet, row, column and reason; a row whose plot changed since the template was written
(its version moved on) and whose cells differ from what is stored now is a conflict, reported with both
values. A row whose cells equal what is stored changes nothing, whatever its version: applying the same file
twice changes nothing. Every change is recorded with the workbook's SHA-256 as its source; the changed plots
and their partners are re-checked at once.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geoland.errors import InputFileError, InvalidInput, NotFound
from geoland.pipeline.files import file_sha256
from geoland.review.edits import EditRefused, apply_plot_values, changes, check_values, save_edits, values_of
from geoland.review.scope import visible
from geoland.rules import vocab
from geoland.rules.edits import FIELDS, as_text
from geoland.rules.registry import FORMS
from geoland.store.jobs import audit, current_actor, finish_job, start_job
from identifiers import normalize_unit_code
from identifiers.cccd import mask_cccd, mask_name
from identifiers.landuse import CURRENT

SHEET = "Bo sung thua dat"
LISTS = "Danh muc"
ONLY = ("all", "missing", "conflict")
KEYS = ("plot_id", "version", "code", "legacy_mx", "area_m2", "findings")
EDITABLE = ("land_use", "legal_area_m2", "sheet", "plot_number", "certificate_series", "certificate_book",
            "certificate_issued_on", "certificate_form", "holder_name", "id_number", "birth_year", "disputed",
            "disputed_since", "dispute_note")
TITLES = {"plot_id": ("Mã thửa trong CSDL", "Plot id"), "version": ("Phiên bản", "Version"),
          "code": ("Mã định danh", "Identification code"), "legacy_mx": ("Mã thửa (xã.tờ.thửa)", "MX.SB.ST"),
          "area_m2": ("Diện tích tính toán (m²)", "Computed area (m²)"), "findings": ("Lỗi cần xử lý", "Findings")}
MAX_ROWS = 100_000
YES = "có"


def _title(key: str) -> str:
    return TITLES[key][0] if key in TITLES else vocab.words("page")[key]


TEMPLATE_SQL = """
SELECT p.id, p.version, c.code, m.legacy_mx, round(p.area_m2::numeric, 1) AS area_m2, p.land_use, p.legal_area_m2,
       p.sheet, p.plot_number, vc.series AS certificate_series, vc.book_number AS certificate_book,
       vc.issued_on AS certificate_issued_on, vc.form AS certificate_form, u.name AS holder_name, u.id_number,
       u.birth_year,
       p.disputed, p.disputed_since, p.dispute_note, f.types
FROM (SELECT f.plot_id, array_agg(DISTINCT f.type ORDER BY f.type) AS types
      FROM geoland.finding_current f JOIN geoland.plot_assignment_current a USING (plot_id)
      WHERE a.commune_code = :commune AND a.effective = (SELECT max(effective) FROM geoland.plot_assignment_current)
        AND (:only = 'all' OR f.category = :only)
      GROUP BY f.plot_id) f
JOIN geoland.plot p ON p.id = f.plot_id
JOIN geoland.plot_mx m ON m.id = p.id
LEFT JOIN geoland.plot_code c ON c.plot_id = p.id
LEFT JOIN geoland.land_user u ON u.plot_id = p.id
LEFT JOIN LATERAL (SELECT c.series, c.book_number, c.issued_on, c.form FROM geoland.certificate_plot cp
                   JOIN geoland.certificate c ON c.id = cp.certificate_id
                   WHERE cp.plot_id = p.id AND c.status = 'valid' ORDER BY c.series LIMIT 1) vc ON true
ORDER BY p.sheet, p.plot_number, p.id
"""


def write_template(conn: Connection, commune: str, out, *, only: str = "all") -> dict:
    """Write the commune's workbook (see the module docstring); returns ``rows``, ``file``, ``commune``.

    Written by XlsxWriter, row by row (``constant_memory``): 25,000 plots in about a quarter of openpyxl's time.

    Raises
    ------
    InvalidInput
        ``only`` is not one of :data:`ONLY`.
    NotFound
        The commune has no plot with an open finding of that kind (nothing to supplement).
    """
    import xlsxwriter

    commune = normalize_unit_code(commune, "commune")
    if only not in ONLY:
        raise InvalidInput(f"--only {only!r}: one of {', '.join(ONLY)}")
    rows = conn.execute(sa.text(TEMPLATE_SQL), {"commune": commune, "only": only}).all()
    if not rows:
        raise NotFound(f"commune {commune} has no plot with open findings ({only}): nothing to supplement "
                       "(run `geoland check` first?)")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    labels = vocab.labels("vi")
    columns = (*KEYS, *EDITABLE)
    book = xlsxwriter.Workbook(str(out), {"constant_memory": True, "strings_to_numbers": False,
                                          "strings_to_formulas": False, "strings_to_urls": False})
    sheet, lists = book.add_worksheet(SHEET), book.add_worksheet(LISTS)
    header = book.add_format({"bold": True, "locked": True, "text_wrap": True})
    locked = book.add_format({"bg_color": "#DDDDDD", "locked": True})
    unlocked = book.add_format({"locked": False})
    uses, forms = sorted(CURRENT), list(FORMS)
    for i in range(max(len(uses), len(columns))):      # A: land-use codes; B: the columns' names, read back;
        lists.write_row(i, 0, [uses[i] if i < len(uses) else None,  # C: certificate forms
                               columns[i] if i < len(columns) else None, forms[i] if i < len(forms) else None])
    lists.hide()
    widths = {"findings": 48, "holder_name": 26, "dispute_note": 30, "code": 15, "legacy_mx": 16}
    for i, key in enumerate(columns):
        sheet.set_column(i, i, widths.get(key, 13), None, {"hidden": key == "version"})
    sheet.freeze_panes(1, 2)
    sheet.protect("", {"format_columns": True, "autofilter": True})     # keys locked; the columns to fill not
    n, first = len(rows), len(KEYS)
    position = {k: i for i, k in enumerate(columns)}
    sheet.data_validation(1, position["land_use"], n, position["land_use"],
                          {"validate": "list", "source": f"='{LISTS}'!$A$1:$A${len(uses)}",
                           "show_error": False})          # legacy and combined codes may still be typed
    sheet.data_validation(1, position["disputed"], n, position["disputed"], {"validate": "list", "source": [YES]})
    sheet.data_validation(1, position["certificate_form"], n, position["certificate_form"],
                          {"validate": "list", "source": f"='{LISTS}'!$C$1:$C${len(forms)}", "show_error": False})
    sheet.write_row(0, 0, [_title(k) for k in columns], header)
    names = mask_name([r.holder_name for r in rows])
    numbers = mask_cccd([r.id_number for r in rows])
    for i, (r, name, number) in enumerate(zip(rows, names, numbers, strict=True), start=1):
        sheet.write_row(i, 0, [r.id, r.version, r.code, r.legacy_mx,
                               float(r.area_m2) if r.area_m2 is not None else None,
                               "; ".join(labels.get(t, t) for t in r.types)], locked)
        sheet.write_row(i, first, [r.land_use, r.legal_area_m2, r.sheet, r.plot_number, r.certificate_series,
                                   r.certificate_book,
                                   r.certificate_issued_on.isoformat() if r.certificate_issued_on else None,
                                   r.certificate_form, name, number,
                                   "…" if r.birth_year is not None else None, YES if r.disputed else None,
                                   r.disputed_since.isoformat() if r.disputed_since else None, r.dispute_note],
                        unlocked)
    book.close()
    audit(conn, None, "corrections.template", entity="commune", entity_id=commune,
          detail={"rows": n, "only": only, "file": out.name})
    return {"file": str(out), "commune": commune, "only": only, "rows": n}


def _letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i + 1)


def _cell_text(value) -> str:
    """A cell as the form would have it typed: numbers without a spurious ``.0``, dates ISO, blanks ''."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


MAX_UNPACKED = 512 * 1024 * 1024     # bytes a workbook may unpack to (100,000 rows are ≈ 60 MB): no zip bomb


def _read(path: Path) -> tuple[list[str], list[tuple[int, dict]]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(path) as packed:
            unpacked = sum(i.file_size for i in packed.infolist())
    except (zipfile.BadZipFile, OSError):
        raise InputFileError(path, "not a readable .xlsx workbook (not a zip package)") from None
    if unpacked > MAX_UNPACKED:
        raise InputFileError(path, f"unpacks to {unpacked / 2**20:,.0f} MB, more than a commune workbook can "
                                   f"hold ({MAX_UNPACKED / 2**20:,.0f} MB): not applied")

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:                 # a broken or foreign file: openpyxl raises many types
        raise InputFileError(path, f"not a readable .xlsx workbook ({type(e).__name__})") from None
    try:
        if SHEET not in book.sheetnames or LISTS not in book.sheetnames:
            raise InputFileError(path, f"no sheets {SHEET!r} and {LISTS!r} (sheets: {', '.join(book.sheetnames)}): "
                                       "write the workbook with `geoland corrections template`")
        keys = [str(r[1]).strip() for r in book[LISTS].iter_rows(min_col=1, max_col=2, values_only=True)
                if len(r) > 1 and r[1] is not None]
        if keys[:2] != ["plot_id", "version"]:
            raise InputFileError(path, f"sheet {LISTS!r} does not name the columns (plot_id, version, …): write "
                                       "the workbook with `geoland corrections template`")
        rows = book[SHEET].iter_rows(values_only=True)
        next(rows, None)
        out = []
        for number, values in enumerate(rows, start=2):
            if number - 1 > MAX_ROWS:
                raise InputFileError(path, f"more than {MAX_ROWS:,} rows: split the workbook")
            if values is None or all(v is None for v in values):
                continue
            out.append((number, {k: v for k, v in zip(keys, values, strict=False) if k}))
        return keys, out
    finally:
        book.close()


def apply_workbook(conn: Connection, path, *, user: dict | None = None, dry_run: bool = False) -> dict:
    """Apply a commune workbook in the caller's transaction (see the module docstring).

    Parameters
    ----------
    user : dict, optional
        The user applying it (``username``, ``role``, ``communes``): an editor only on their communes' plots.
        Default: the acting OS user, province-wide (a command run by the office).
    dry_run : bool
        Check and report; the caller rolls back (the CLI does).

    Returns
    -------
    dict
        ``rows`` read, ``changed`` rows, ``values`` changed, ``unchanged`` rows, ``recheck`` counts, ``job_id``.

    Raises
    ------
    InputFileError
        Bad cells or conflicts (all of them listed with sheet, row, column and reason; ``problems`` on the
        error), or not a template workbook. Nothing is applied.
    """
    from geoland.pipeline.quality import recheck

    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "no such file")
    sha = file_sha256(path)
    keys, rows = _read(path)
    columns = {k: _letter(i) for i, k in enumerate(keys) if k}
    actor = user["username"] if user else current_actor()
    problems: list[dict] = []

    def problem(row, key, reason, **extra):
        problems.append({"sheet": SHEET, "row": row, "column": columns.get(key, ""), "field": key,
                         "reason": reason, **extra})

    plans, seen = [], {}
    for number, values in rows:
        plot, version = _cell_text(values.get("plot_id")), _cell_text(values.get("version"))
        if not plot.isdigit() or not version.isdigit():
            problem(number, "plot_id" if not plot.isdigit() else "version", "key_changed")
            continue
        if seen.setdefault(int(plot), number) != number:
            problem(number, "plot_id", "duplicate_row", by=f"row {seen[int(plot)]}")
            continue
        typed = {k: _cell_text(values.get(k)) for k in EDITABLE if k in values}
        if "disputed" in typed:
            typed["disputed"] = "on" if typed["disputed"].lower() in (YES, "co", "x", "1", "yes", "true") else ""
        plans.append((number, int(plot), int(version), typed))
    stored = values_of(conn, [p for _, p, _, _ in plans], lock=True)
    allowed = visible(conn, user, list(stored)) if user is not None else None     # an editor's communes only
    job = None if dry_run else start_job(conn, "corrections.apply", {"file": str(path), "sha256": sha,
                                                                      "actor": actor})
    changed_plots, values_changed, unchanged = [], 0, 0
    plot_rows: dict[int, dict] = {}
    for number, plot, version, typed in plans:
        current = stored.get(plot)
        if current is None:
            problem(number, "plot_id", "unknown_plot")
            continue
        if allowed is not None and plot not in allowed:
            problem(number, "plot_id", "not_your_commune")
            continue
        typed = _unmask(typed, current, lambda key, n=number: problem(n, key, "masked_value_changed"))
        if typed is None:
            continue
        parsed, refused, _ = check_values(typed, current)
        for key, reason in refused.items():
            problem(number, key, reason)
        if refused:
            continue
        differs = {k: v for k, v in parsed.items() if as_text(v) != as_text(current.get(k))}
        if not differs:
            unchanged += 1
            continue
        if version != current["version"]:
            since = changes(conn, plot, after=version)
            for key in differs:
                problem(number, key, "changed_since", yours=typed.get(key),
                        current=_shown(key, current.get(key)),
                        by=", ".join(sorted({c["actor"] for c in since if c["field"] == key})) or None)
            continue
        changed_plots.append(plot)
        if dry_run:
            values_changed += len(differs)
        elif any(FIELDS[k].entity in ("holder", "certificate") for k in differs):   # a party or certificate to
            # find or make: one row at a time
            try:
                done = save_edits(conn, plot, version, {k: typed[k] for k in differs}, actor=actor,
                                  source="workbook", source_ref=sha, recheck=False, job_id=job.id)
            except EditRefused as refused_late:                    # a number another holder has
                for key, reason in refused_late.problems.items():
                    problem(number, key, reason)
                continue
            values_changed += len(done["changed"])
        else:
            plot_rows[plot] = differs
    if problems:
        raise _refused(path, problems)
    if plot_rows:                                       # the plots' own fields, every row at once
        values_changed += apply_plot_values(conn, plot_rows, stored, job_id=job.id, actor=actor, source="workbook",
                                            source_ref=sha)
    checked = recheck(conn, changed_plots, job_id=job.id) if changed_plots and not dry_run else None
    result = {"file": str(path), "sha256": sha, "rows": len(rows), "changed": len(changed_plots),
              "values": values_changed, "unchanged": unchanged, "recheck": checked,
              "job_id": job.id if job else None, "dry_run": dry_run}
    if job:
        audit(conn, job, "corrections.applied", entity="workbook", entity_id=sha, actor=actor,
              detail={k: result[k] for k in ("rows", "changed", "values", "unchanged")})
        finish_job(conn, job, {k: result[k] for k in ("rows", "changed", "values", "unchanged")})
    return result


def _unmask(typed: dict, current: dict, report) -> dict | None:
    """Masked personal cells left as written mean "unchanged" (dropped); a masked cell edited is an error."""
    masks = {"holder_name": mask_name([current.get("holder_name")])[0],
             "id_number": mask_cccd([current.get("id_number")])[0],
             "birth_year": "…" if current.get("birth_year") is not None else ""}
    out, bad = {}, False
    for key, value in typed.items():
        if key in masks and ("*" in value or value == "…"):
            if value != (masks[key] or ""):
                report(key)
                bad = True
            continue
        out[key] = value
    return None if bad else out


def _shown(key: str, value):
    if FIELDS[key].personal:
        return {"holder_name": mask_name, "id_number": mask_cccd}.get(key, lambda v: ["…"])([value])[0] \
            if value is not None else None
    return as_text(value)


def _refused(path: Path, problems: list[dict]) -> InputFileError:
    words = vocab.reason_words("en")
    lines = [f"  sheet {p['sheet']!r}, row {p['row']}, column {p['column']} ({p['field']}): "
             f"{words.get(p['reason'], p['reason'])}"
             + (f" — yours {p['yours']!r}, now {p['current']!r}" + (f" (changed by {p['by']})" if p.get("by") else "")
                if p["reason"] == "changed_since" and not FIELDS[p["field"]].personal else "")
             + (f" ({p['by']})" if p["reason"] == "duplicate_row" else "")
             for p in problems[:30]]
    more = f"\n  … and {len(problems) - 30} more" if len(problems) > 30 else ""
    error = InputFileError(path, f"{len(problems)} problem(s); nothing was applied:\n" + "\n".join(lines) + more)
    error.problems = problems
    return error

