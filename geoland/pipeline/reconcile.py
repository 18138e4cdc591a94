"""Reconciling a digitised paper register with the database (``geoland register reconcile``).

The campaign names "discrepancies between paper records and digital data". A paper register (sổ địa chính /
sổ cấp giấy chứng nhận), digitised as a workbook or CSV with one row per certificate and plot (series, plot by
MX.SB.ST of any date or identification code, area, land-use purpose, holder's name and ID number), is compared
with what the database holds for that certificate; each difference is recorded in ``reconcile_difference`` with
the register's and the database's value, under one job. Nothing in the register or the plots is changed.

========================  ==============================================================================
field                     when
========================  ==============================================================================
``missing_in_database``   the database has no certificate of that series
``plot``                  the certificate does not cover that plot (by the codes it had or has)
``area``                  the legal area differs by more than 0.05 m²
``purpose``               the land-use purpose differs (compared as codes, in capitals)
``holder_name``           no holder of the plot is written with that name (any of its spellings; case,
                          diacritics and spaces do not count)
``holder_id``             no holder of the plot has that ID number
``missing_in_register``   a valid certificate of the database, on a plot of a commune the register covers,
                          is not in the register
========================  ==============================================================================

A value the register leaves blank is not compared. An ID number is compared as written (a number cell gets
back the zeros Excel dropped; text is the book's: an 11-digit number stays one, to be found). Names and ID
numbers are personal data: stored for the officers who follow the differences up, shown masked.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geoland.errors import InputFileError
from geoland.pipeline.files import file_sha256
from geoland.pipeline.register_cells import (
    ID_LENGTHS,
    Cells,
    Problems,
    Sheet,
    frame,
    positive,
    read_csv,
    read_csv_folder,
    read_workbook,
    ref_columns,
    sheet_frame,
    text,
)
from geoland.pipeline.register_checks import FOLD_FUNCTION
from geoland.progress import progress_bar
from geoland.results import Reconcile, returns
from geoland.rules import registry as vocab
from geoland.store.db import copy_csv, csv_bytes
from geoland.store.jobs import audit, finish_job, start_job
from identifiers.cccd import mask_cccd, mask_name

FIELDS = ("missing_in_database", "plot", "area", "purpose", "holder_name", "holder_id", "missing_in_register")
AREA_TOLERANCE_M2 = 0.05


def read_paper_register(path: Path) -> Sheet:
    """The paper register's rows: the one sheet (or CSV file) with a series and a plot column."""
    if path.is_dir():
        raw = read_csv_folder(path)
    elif path.suffix.lower() == ".csv":
        raw = {path.stem: read_csv(path)}
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        raw = read_workbook(path)
    else:
        raise InputFileError(path, "not a paper register: expected an .xlsx workbook or a .csv file")
    found = []
    for name, (header, columns, numbers) in raw.items():
        attributes, unknown = vocab.column_map("paper", header)
        if {"series", "plot"} <= set(attributes) and numbers:
            found.append(Sheet("paper", name, sheet_frame(columns, attributes, len(numbers)),
                               pd.Series(numbers).to_numpy(), unknown))
    if len(found) != 1:
        raise InputFileError(path, ("no sheet has" if not found else f"{len(found)} sheets have")
                             + " the columns of a paper register (Số phát hành, Thửa đất; and any of Diện tích, "
                               "Mục đích sử dụng, Họ tên, Số CCCD): keep one")
    return found[0]


@returns(Reconcile)
def reconcile(conn: Connection, path, *, progress: bool = True) -> dict:
    """Compare a paper register with the database and record the differences (see the module docstring).

    Raises
    ------
    InputFileError
        The file cannot be read, or a row's plot or area cannot be read (every such row is named).
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "no such file or folder")
    sheet = read_paper_register(path)
    problems = Problems()
    c = Cells(sheet, problems)
    t = frame({"row": sheet.rows, "series": c.text("series"), "ref": c.plots("plot"),
               "area": c.column("legal_area", lambda v: positive(v, "area")),
               "purpose": c.column("land_use", lambda v: (text(v) or "").upper().replace(" ", "") or None),
               "name": c.text("name"), "id_number": c.digits("id_number", ID_LENGTHS, text_too=False)})
    for i in range(len(t)):
        if t["series"].iat[i] is None or t["ref"].iat[i] is None:
            c.bad(i, "no certificate series or no plot")
    if problems.by_row:
        listed = problems.listed()
        shown = "\n".join(f"  row {p['row']}: {'; '.join(p['reasons'])}" for p in listed[:20])
        raise InputFileError(path, f"{len(listed)} row(s) cannot be compared; nothing was recorded:\n{shown}")
    sha = file_sha256(path)
    with progress_bar(len(t), "rows", enabled=progress, desc="reconcile") as bar:
        job = start_job(conn, "register.reconcile", {"file": str(path), "sha256": sha})
        counts, recorded_by = _compare(conn, t, job.id, str(path), sha)
        bar.update(len(t))
    audit(conn, job, "register.reconciled", entity="file", entity_id=str(path),
          detail={"counts": counts, "recorded_by": recorded_by})
    finish_job(conn, job, {"rows": len(t), **counts, "recorded_by": recorded_by})
    examples = conn.execute(sa.text("""SELECT source_row, series, plot_ref, field, register_value, database_value,
        personal FROM geoland.reconcile_difference WHERE job_id = :j ORDER BY source_row NULLS LAST, id LIMIT 20"""),
        {"j": recorded_by}).mappings().all()
    return {"file": str(path), "sha256": sha, "job_id": recorded_by, "rows": len(t), "differences": counts,
            "unchanged": recorded_by != job.id, "examples": [_masked(dict(e)) for e in examples]}


def _masked(row: dict) -> dict:
    if row.pop("personal"):
        mask = mask_name if row["field"] == "holder_name" else mask_cccd
        row["register_value"] = mask([row["register_value"]])[0]
        row["database_value"] = "; ".join(str(v) for v in mask((row["database_value"] or "").split("; "))
                                          if v) or None
    return row


def _compare(conn: Connection, t: pd.DataFrame, job_id: int, source: str, sha: str) -> dict:
    x = conn.execute
    conn.execute(sa.text(FOLD_FUNCTION))
    x(sa.text("""CREATE TEMP TABLE _paper (row integer, series text, ref text, kind text, code text, commune text,
        sheet integer, number integer, prefix text, area double precision, purpose text, name text,
        id_number text) ON COMMIT DROP"""))
    staged = pd.DataFrame({"row": t["row"], "series": t["series"], **ref_columns(t["ref"].tolist()),
                           "area": t["area"].astype(float), "purpose": t["purpose"], "name": t["name"],
                           "id_number": t["id_number"]})
    copy_csv(conn, f"_paper ({', '.join(staged.columns)})", [csv_bytes({k: staged[k] for k in staged})])
    x(sa.text("ALTER TABLE _paper ADD COLUMN certificate_id bigint, ADD COLUMN plot_id bigint, "
              "ADD COLUMN paper_plot_id bigint"))
    x(sa.text("ANALYZE _paper"))
    x(sa.text("UPDATE _paper s SET certificate_id = c.id FROM geoland.certificate c WHERE c.series = s.series"))
    # the plot the row names, among those its certificate covers: by code, by the map's code, by a recoded one
    x(sa.text("""UPDATE _paper s SET plot_id = m.plot_id FROM (
        SELECT s.row, min(cp.plot_id) AS plot_id FROM _paper s
        JOIN geoland.certificate_plot cp ON cp.certificate_id = s.certificate_id
        JOIN geoland.plot p ON p.id = cp.plot_id LEFT JOIN geoland.plot_code pc ON pc.plot_id = p.id
        WHERE (s.kind = 'code' AND pc.code = s.code)
           OR (s.kind = 'mx' AND s.prefix IS NULL AND p.old_commune_code = s.commune AND p.sheet = s.sheet
               AND p.plot_number = s.number)
           OR (s.kind = 'mx' AND EXISTS (SELECT FROM geoland.mx_crosswalk w WHERE w.plot_id = p.id
                                         AND w.new_code = s.ref))
        GROUP BY s.row) m WHERE m.row = s.row"""))
    x(sa.text("""UPDATE _paper s SET paper_plot_id = pp.id FROM geoland.certificate_paper_plot cpp
        JOIN geoland.paper_plot pp ON pp.id = cpp.paper_plot_id
        WHERE s.plot_id IS NULL AND cpp.certificate_id = s.certificate_id AND s.kind = 'mx'
          AND pp.commune_code = coalesce(s.prefix, s.commune) AND pp.sheet = s.sheet AND pp.plot_number = s.number"""))
    # statistics of what the rows found (analysed before, every row's plot looked empty: the joins below
    # were planned for a handful of rows and ran for minutes at a million)
    x(sa.text("ANALYZE _paper"))
    p = {"job": job_id, "source": source, "sha": sha}
    x(sa.text("CREATE TEMP TABLE _diff ON COMMIT DROP AS SELECT * FROM geoland.reconcile_difference WITH NO DATA"))
    insert = """INSERT INTO _diff (job_id, source, source_sha256, source_row, series, plot_ref,
                plot_id, paper_plot_id, field, register_value, database_value, personal)"""
    x(sa.text(f"""{insert} SELECT :job, :source, :sha, row, series, ref, NULL, NULL, 'missing_in_database', series,
        NULL, false FROM _paper WHERE certificate_id IS NULL"""), p)
    x(sa.text(f"""{insert} SELECT :job, :source, :sha, s.row, s.series, s.ref, NULL, NULL, 'plot', s.ref,
        (SELECT string_agg(coalesce(m.legacy_mx, m.id::text), '; ' ORDER BY m.id) FROM geoland.certificate_plot cp
         JOIN geoland.plot_mx m ON m.id = cp.plot_id WHERE cp.certificate_id = s.certificate_id), false
        FROM _paper s WHERE s.certificate_id IS NOT NULL AND s.plot_id IS NULL AND s.paper_plot_id IS NULL"""), p)
    x(sa.text("""CREATE TEMP TABLE _db ON COMMIT DROP AS
        SELECT s.row, coalesce(p.legal_area_m2, pp.legal_area_m2) AS area,
               upper(replace(coalesce(p.land_use, pp.land_use), ' ', '')) AS purpose
        FROM _paper s LEFT JOIN geoland.plot p ON p.id = s.plot_id LEFT JOIN geoland.paper_plot pp
        ON pp.id = s.paper_plot_id WHERE s.plot_id IS NOT NULL OR s.paper_plot_id IS NOT NULL"""))
    x(sa.text(f"""{insert} SELECT :job, :source, :sha, s.row, s.series, s.ref, s.plot_id, s.paper_plot_id, 'area',
        s.area::text, d.area::text, false FROM _paper s JOIN _db d USING (row)
        WHERE s.area IS NOT NULL AND (d.area IS NULL OR abs(s.area - d.area) > {AREA_TOLERANCE_M2})"""), p)
    x(sa.text(f"""{insert} SELECT :job, :source, :sha, s.row, s.series, s.ref, s.plot_id, s.paper_plot_id, 'purpose',
        s.purpose, d.purpose, false FROM _paper s JOIN _db d USING (row)
        WHERE s.purpose IS NOT NULL AND s.purpose IS DISTINCT FROM d.purpose"""), p)
    # the holders of each row's plot (or plot on paper), their names folded once
    fold = "pg_temp.geoland_fold"
    x(sa.text(f"""CREATE TEMP TABLE _holders ON COMMIT DROP AS
        SELECT s.row, pp.name, a.name AS alias, pp.id_number, {fold}(pp.name) AS folded, {fold}(a.name) AS folded_alias
        FROM _paper s JOIN geoland.land_right r ON r.plot_id = s.plot_id
        JOIN geoland.party_personal pp ON pp.party_id = r.party_id
        LEFT JOIN geoland.party_alias a ON a.party_id = r.party_id AND a.plot_id = r.plot_id
        UNION ALL
        SELECT s.row, pp.name, a.name, pp.id_number, {fold}(pp.name), {fold}(a.name)
        FROM _paper s JOIN geoland.land_right r ON r.paper_plot_id = s.paper_plot_id
        JOIN geoland.party_personal pp ON pp.party_id = r.party_id
        LEFT JOIN geoland.party_alias a ON a.party_id = r.party_id AND a.plot_id = r.plot_id"""))
    x(sa.text("CREATE INDEX ON _holders (row)"))
    x(sa.text("ANALYZE _holders"))
    x(sa.text(f"""{insert} SELECT :job, :source, :sha, s.row, s.series, s.ref, s.plot_id, s.paper_plot_id,
        'holder_name', s.name, (SELECT string_agg(DISTINCT coalesce(h.alias, h.name), '; ') FROM _holders h
                                WHERE h.row = s.row), true
        FROM _paper s WHERE s.name IS NOT NULL AND (s.plot_id IS NOT NULL OR s.paper_plot_id IS NOT NULL)
          AND NOT EXISTS (SELECT FROM _holders h WHERE h.row = s.row
                          AND {fold}(s.name) IN (h.folded, h.folded_alias))"""), p)
    x(sa.text(f"""{insert} SELECT :job, :source, :sha, s.row, s.series, s.ref, s.plot_id, s.paper_plot_id,
        'holder_id', s.id_number, (SELECT string_agg(DISTINCT h.id_number, '; ') FROM _holders h
                                   WHERE h.row = s.row), true
        FROM _paper s WHERE s.id_number IS NOT NULL AND (s.plot_id IS NOT NULL OR s.paper_plot_id IS NOT NULL)
          AND NOT EXISTS (SELECT FROM _holders h WHERE h.row = s.row AND h.id_number = s.id_number)"""), p)
    # the database's valid certificates on the register's communes that the register does not list
    x(sa.text(f"""{insert} SELECT :job, :source, :sha, NULL, c.series, min(o.mx), min(o.plot_id), min(o.paper_id),
        'missing_in_register', NULL, c.series, false FROM geoland.certificate c JOIN (
            SELECT cp.certificate_id, p.legacy_mx AS mx, p.id AS plot_id, NULL::bigint AS paper_id, p.old_commune_code
            AS commune FROM geoland.certificate_plot cp JOIN geoland.plot_mx p ON p.id = cp.plot_id
            UNION ALL
            SELECT cpp.certificate_id, pp.commune_code || '.' || pp.sheet || '.' || pp.plot_number, NULL, pp.id,
                   pp.commune_code FROM geoland.certificate_paper_plot cpp
            JOIN geoland.paper_plot pp ON pp.id = cpp.paper_plot_id WHERE pp.plot_id IS NULL) o
          ON o.certificate_id = c.id
        WHERE c.status = 'valid' AND o.commune IN (SELECT DISTINCT coalesce(prefix, commune) FROM _paper)
          AND NOT EXISTS (SELECT FROM _paper s WHERE s.series = c.series)
        GROUP BY c.id, c.series"""), p)
    x(sa.text("DROP TABLE _paper, _db, _holders"))
    counts = dict(x(sa.text("SELECT field, count(*) FROM _diff GROUP BY 1")).all())
    # The same file, the same differences as its last run: nothing new to record (that run's job stands).
    last = x(sa.text("SELECT max(job_id) FROM geoland.reconcile_difference WHERE source_sha256 = :sha"), p).scalar()
    columns = "source_row, series, plot_ref, plot_id, paper_plot_id, field, register_value, database_value"
    if last is not None and not x(sa.text(f"""
            (SELECT {columns} FROM _diff EXCEPT ALL
             SELECT {columns} FROM geoland.reconcile_difference WHERE job_id = :last)
            UNION ALL
            (SELECT {columns} FROM geoland.reconcile_difference WHERE job_id = :last EXCEPT ALL
             SELECT {columns} FROM _diff) LIMIT 1"""), {"last": last}).first():
        x(sa.text("DROP TABLE _diff"))
        return {f: int(counts.get(f, 0)) for f in FIELDS}, last
    stored = f"job_id, source, source_sha256, personal, {columns}"
    x(sa.text(f"INSERT INTO geoland.reconcile_difference ({stored}) SELECT {stored} FROM _diff ORDER BY "
              "source_row NULLS LAST, series, field"))
    x(sa.text("DROP TABLE _diff"))
    return {f: int(counts.get(f, 0)) for f in FIELDS}, job_id


def differences(conn: Connection, job_id: int) -> list[dict]:
    """A run's differences, personal values masked (for ``--out``)."""
    rows = conn.execute(sa.text("""SELECT source_row, series, plot_ref, field, register_value, database_value,
        personal FROM geoland.reconcile_difference WHERE job_id = :j ORDER BY source_row NULLS LAST, id"""),
        {"j": job_id}).mappings().all()
    return [_masked(dict(r)) for r in rows]

