"""Supplementing and correcting a plot: the form's values, saving with a version check, history and revert.

A save names the plot version its values were read at. It locks the plot, refuses a save over a newer
version (:class:`EditConflict`, with the values now stored and the changes made since), checks every typed
value by the rules of :mod:`geoland.rules.edits` (:class:`EditRefused` with a reason per field: nothing is
written), writes what differs, records each changed value in ``plot_edit`` (old, new, version, job, who,
when, source), raises the plot's version by one and re-checks the plot with its neighbours at once
(:func:`geoland.pipeline.quality.recheck`): its findings close or open in the same transaction.

The holder fields change the plot's first holder (the party of ``land_user``): a name or birth year written
for this plot only (an alias) is changed there, else the party's own; an ID number is the party's (one party
per person: the number changes on every plot of that person). A number that another party already has is
refused (``id_number_taken``): joining two parties is the registry's work. A plot with no holder gets one
(a new individual party with a right of role ``user``, share 1) when a name or number is typed.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geoland.errors import Conflict, InvalidInput, NotFound
from geoland.rules.edits import FIELDS, Problem, as_text, parse
from geoland.store.jobs import audit, finish_job, start_job
from geoland.store.partitions import PLOT_PROVINCE
from identifiers.cccd import mask_cccd, mask_name

SOURCES = ("form", "workbook", "command", "revert")
_PLOT_COLUMNS = ("land_use", "legal_area_m2", "sheet", "plot_number", "disputed", "disputed_since", "dispute_note")


class EditConflict(Conflict):
    """The plot changed since the form (or workbook row) was read: nothing was saved."""

    def __init__(self, plot_id: int, yours: int, now: int, current: dict, typed: dict, since: list[dict]):
        super().__init__(f"plot {plot_id} is at version {now}, the values were read at version {yours}: "
                         "nothing was saved; read the plot again")
        self.plot_id, self.yours, self.now, self.current, self.typed, self.since = \
            plot_id, yours, now, current, typed, since


class EditRefused(InvalidInput):
    """One or more typed values break a rule: ``problems`` maps each field to its reason code."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("not saved: " + "; ".join(f"{f}: {r}" for f, r in problems.items()))
        self.problems = problems


def current_values(conn: Connection, plot_id: int, *, lock: bool = False) -> dict:
    """The editable values of a plot as stored (personal ones in clear: the caller masks), and its version.

    Raises
    ------
    NotFound
        No such plot.
    """
    found = values_of(conn, [plot_id], lock=lock)
    if plot_id not in found:
        raise NotFound(f"no plot {plot_id}")
    return found[plot_id]


def values_of(conn: Connection, plot_ids, *, lock: bool = False) -> dict[int, dict]:
    """:func:`current_values` of many plots at once (plot id → values); plots that do not exist are left out."""
    rows = conn.execute(sa.text(f"""
        SELECT p.id, p.version, p.land_use, p.legal_area_m2, p.sheet, p.plot_number, p.disputed, p.disputed_since,
               p.dispute_note, u.party_id, u.name AS holder_name, u.id_number, u.birth_year,
               EXISTS (SELECT FROM geoland.party_alias a WHERE a.party_id = u.party_id AND a.plot_id = p.id) AS alias,
               vc.series AS certificate_series, vc.id AS certificate_id, vc.book_number AS certificate_book,
               vc.issued_on AS certificate_issued_on, vc.authority AS certificate_authority,
               vc.form AS certificate_form
        FROM geoland.plot p LEFT JOIN geoland.land_user u ON u.plot_id = p.id
        LEFT JOIN LATERAL (SELECT c.id, c.series, c.book_number, c.issued_on, c.authority, c.form
                           FROM geoland.certificate_plot cp
                           JOIN geoland.certificate c ON c.id = cp.certificate_id
                           WHERE cp.plot_id = p.id AND c.status = 'valid' ORDER BY c.series LIMIT 1) vc ON true
        WHERE p.id = ANY(:ids) ORDER BY p.id {'FOR UPDATE OF p' if lock else ''}"""),
        {"ids": [int(i) for i in plot_ids]}).mappings().all()
    return {r["id"]: dict(r) for r in rows}


_SQL_TYPES = {"land_use": "text", "legal_area_m2": "double precision", "sheet": "integer", "plot_number": "integer",
              "disputed": "boolean", "disputed_since": "date", "dispute_note": "text"}


def apply_plot_values(conn: Connection, changes_by_plot: dict[int, dict], current: dict[int, dict], *, job_id: int,
                      actor: str, source: str, source_ref: str | None) -> int:
    """Write many plots' plot and dispute fields at once (a workbook's rows), with their history and versions.

    ``changes_by_plot``: plot id → {field: value read by the rules}, only values that differ from ``current``
    and only fields of the plot itself (entity ``plot`` or ``dispute``; holder fields go through
    :func:`save_edits`). The plots must be locked by the caller (:func:`values_of` with ``lock``). Returns the
    values written.
    """
    from geoland.store.db import copy_csv, csv_bytes

    rows = [(p, k, as_text(current[p].get(k)), as_text(v)) for p, fields in changes_by_plot.items()
            for k, v in fields.items()]
    if not rows:
        return 0
    bad = {k for _, k, _, _ in rows if FIELDS[k].entity not in ("plot", "dispute")}
    if bad:
        raise ValueError(f"not plot fields: {sorted(bad)}")
    conn.execute(sa.text("CREATE TEMP TABLE _edit (plot_id bigint, field text, old text, new text) ON COMMIT DROP"))
    copy_csv(conn, "_edit (plot_id, field, old, new)", [csv_bytes({
        "plot_id": [r[0] for r in rows], "field": [r[1] for r in rows], "old": [r[2] for r in rows],
        "new": [r[3] for r in rows]})])
    for field in sorted({r[1] for r in rows}):
        column = FIELDS[field].column
        conn.execute(sa.text(f"UPDATE geoland.plot p SET {column} = CAST(e.new AS {_SQL_TYPES[column]}) FROM _edit e "
                             "WHERE e.plot_id = p.id AND e.field = :f"), {"f": field})
    conn.execute(sa.text("""
        WITH v AS (UPDATE geoland.plot p SET version = version + 1 WHERE p.id IN (SELECT plot_id FROM _edit)
                   RETURNING p.id, p.version)
        INSERT INTO geoland.plot_edit (job_id, plot_id, version, entity, entity_id, field, old_value, new_value,
                                       personal, actor, source, source_ref)
        SELECT :job, e.plot_id, v.version, CASE WHEN e.field LIKE 'disput%' THEN 'dispute' ELSE 'plot' END,
               e.plot_id, e.field, e.old, e.new, false, :actor, :source, :ref
        FROM _edit e JOIN v ON v.id = e.plot_id ORDER BY e.plot_id, e.field"""),
        {"job": job_id, "actor": actor, "source": source, "ref": source_ref})
    conn.execute(sa.text("DROP TABLE _edit"))
    return len(rows)


def masked(values: dict) -> dict:
    """The same values with the holder's name and ID number masked and the birth year hidden."""
    return values | {"holder_name": mask_name([values.get("holder_name")])[0],
                     "id_number": mask_cccd([values.get("id_number")])[0], "birth_year": None}


def check_values(typed: dict[str, str], current: dict) -> tuple[dict, dict[str, str], dict[str, str]]:
    """Typed values read by the rules: (values, problems, warnings), each by field name.

    Only the fields present in ``typed`` are read; an ID number is judged with the typed birth year, else the
    stored one. Used by the save and by the as-you-type check of the form.
    """
    values, problems, warnings = {}, {}, {}
    year = typed.get("birth_year", current.get("birth_year"))
    try:
        year = int(year) if year not in (None, "") else None
    except (TypeError, ValueError):
        year = None
    for name, raw in typed.items():
        if name not in FIELDS:
            continue
        try:
            values[name], warning = parse(name, raw, birth_year=year)
        except Problem as p:
            problems[name] = p.reason
            continue
        if warning:
            warnings[name] = warning
    return values, problems, warnings


def _read_share(key: str, text):
    """A typed share as a fraction (``1/2``, ``0,5``, ``50%``); blank or unreadable is :class:`Problem`."""
    from geoland.rules.registry import parse_share

    if not str(text or "").strip():
        raise Problem(key, "share_format")
    try:
        return parse_share(text)
    except ValueError:
        raise Problem(key, "share_format") from None


def check_keyed(typed: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The as-you-type check of the register's parts of the form: (problems, warnings) by key.

    ``share:RIGHT``, ``holder:PARTY:FIELD``, ``asset:ASSET:FIELD`` judged by the same readers as their saves (a
    share alone: the sum is judged on save).
    """
    from geoland.rules.edits import ASSET_FIELDS

    problems, warnings = {}, {}
    for key, raw in typed.items():
        kind, _, rest = key.partition(":")
        name = rest.partition(":")[2]
        try:
            if kind == "share":
                _read_share(key, raw)
            elif kind == "holder" and name in ("holder_name", "id_number", "birth_year"):
                year = typed.get(f"holder:{rest.partition(':')[0]}:birth_year")
                _, warning = parse(name, raw, birth_year=int(year) if str(year or "").isdigit() else None)
                if warning:
                    warnings[key] = warning
            elif kind == "asset" and name in ASSET_FIELDS:
                parse(name, raw)
        except Problem as p:
            problems[key] = p.reason
    return problems, warnings


def _at_version(conn: Connection, plot_id: int, version: int, typed: dict | None = None) -> dict:
    """The plot's values, locked; :class:`EditConflict` when it is no longer at ``version``."""
    current = current_values(conn, plot_id, lock=True)
    if int(version) != current["version"]:
        raise EditConflict(plot_id, int(version), current["version"], current, typed or {},
                           changes(conn, plot_id, after=int(version)))
    return current


def _unchanged(current: dict, **extra) -> dict:
    return {"plot_id": current["id"], "version": current["version"], "changed": [], "recheck": None,
            "job_id": None, **extra}


def _start(conn: Connection, plot_id: int, fields, *, actor: str, source: str, job_id: int | None = None):
    """The job of a save: its own (returned, to finish), or the given one of a workbook's apply (None returned)."""
    if job_id is not None:
        return None, job_id
    job = start_job(conn, "edit", {"plot_id": plot_id, "fields": sorted(set(fields)), "source": source,
                                   "actor": actor})
    return job, job.id


def _record(conn: Connection, plot_id: int, rows: list[tuple], *, job, job_id: int, actor: str, source: str,
            source_ref: str | None = None, recheck: bool = True, names: list[str], detail: dict | None = None) -> dict:
    """What every save does after its writes: the plot's next version, the history, the re-check, the audit.

    One ``plot_edit`` row per changed value; the audit event names the fields, never their values; the job
    ends when it is the save's own.

    ``rows``: (entity, entity id, field, old text, new text, personal, the change it reverts or None); a revert's
    source reference is the change it undid.
    """
    from geoland.pipeline.quality import recheck as recheck_plots

    version = conn.execute(sa.text("UPDATE geoland.plot SET version = version + 1 WHERE id = :id RETURNING version"),
                           {"id": plot_id}).scalar_one()
    columns = list(zip(*rows, strict=True))
    conn.execute(sa.text("""
        INSERT INTO geoland.plot_edit (job_id, plot_id, version, entity, entity_id, field, old_value, new_value,
                                       personal, actor, source, source_ref, reverts)
        SELECT :job, :plot, :version, e.entity, e.entity_id, e.field, e.old, e.new, e.personal, :actor, :source,
               coalesce(:ref, e.reverts::text), e.reverts
        FROM unnest(CAST(:entities AS text[]), CAST(:ids AS bigint[]), CAST(:fields AS text[]), CAST(:olds AS text[]),
                    CAST(:news AS text[]), CAST(:personal AS boolean[]), CAST(:reverts AS bigint[]))
             e(entity, entity_id, field, old, new, personal, reverts)"""),
        {"job": job_id, "plot": plot_id, "version": version, "actor": actor, "source": source, "ref": source_ref,
         **{k: list(v) for k, v in zip(("entities", "ids", "fields", "olds", "news", "personal", "reverts"), columns,
                                        strict=True)}})
    checked = recheck_plots(conn, [plot_id], job_id=job_id) if recheck else None
    fields = sorted({r[2] for r in rows})
    audit(conn, job, "plot.edited", entity="plot", entity_id=str(plot_id), actor=actor,
          detail={"fields": fields, "version": version, "source": source, **(detail or {})})
    if job is not None:
        finish_job(conn, job, {"plot_id": plot_id, "fields": len(rows), "version": version})
    return {"plot_id": plot_id, "version": version, "changed": names, "recheck": checked, "job_id": job_id}


def save_edits(conn: Connection, plot_id: int, version: int, typed: dict[str, str], *, actor: str,
               source: str = "form", source_ref: str | None = None, recheck: bool = True,
               job_id: int | None = None) -> dict:
    """Save the typed values of one plot (see the module docstring); returns what changed.

    Parameters
    ----------
    typed : dict
        Field name → text as typed (blank empties the field). Fields not given are left as they are.
    version : int
        The plot version the values were read at.
    source, source_ref : str
        Where the values come from (``form``, ``workbook`` with its SHA-256, ``command``).
    job_id : int, optional
        The job the change belongs to (a workbook's apply); default a job of its own.

    Returns
    -------
    dict
        ``plot_id``, ``version`` (now), ``changed`` (field names), ``warnings``, ``recheck`` (its counts).

    Raises
    ------
    EditConflict
        The plot is at another version.
    EditRefused
        A value breaks a rule.
    """
    if source not in SOURCES:
        raise InvalidInput(f"source {source!r}: one of {', '.join(SOURCES)}")
    current = _at_version(conn, plot_id, version, typed)
    values, problems, warnings = check_values(typed, current)
    if problems:
        raise EditRefused(problems)
    diff = {k: v for k, v in values.items() if as_text(v) != as_text(current.get(k))}
    if not diff:
        return _unchanged(current, warnings=warnings)
    return _apply(conn, plot_id, current, diff, actor=actor, source=source, source_ref=source_ref, recheck=recheck,
                  job_id=job_id) | {"warnings": warnings}


def _apply(conn: Connection, plot_id: int, current: dict, diff: dict, *, actor: str, source: str,
           source_ref: str | None, recheck: bool, job_id: int | None, reverts: int | None = None) -> dict:
    job, job_id = _start(conn, plot_id, diff, actor=actor, source=source, job_id=job_id)
    party_id = _write_holder(conn, plot_id, current, {k: v for k, v in diff.items() if FIELDS[k].entity == "holder"},
                             job_id)
    certificate_id = _write_certificate(conn, plot_id, current, diff["certificate_series"], job_id) \
        if "certificate_series" in diff else current.get("certificate_id")
    details = {FIELDS[k].column: v for k, v in diff.items() if FIELDS[k].entity == "certificate"
               and k != "certificate_series"}
    if details:                      # the certificate's other values: the plot's (or the one just given) only
        if certificate_id is None:
            raise EditRefused({k: "no_certificate" for k in diff if FIELDS[k].entity == "certificate"})
        conn.execute(sa.text(f"UPDATE geoland.certificate SET {', '.join(f'{c} = :{c}' for c in details)} "
                             "WHERE id = :c"), details | {"c": certificate_id})
    plot = {FIELDS[k].column: v for k, v in diff.items() if FIELDS[k].entity in ("plot", "dispute")}
    if plot:
        conn.execute(sa.text(f"UPDATE geoland.plot SET {', '.join(f'{c} = :{c}' for c in plot)} WHERE id = :id"),
                     plot | {"id": plot_id})
    ids = {"holder": party_id, "certificate": certificate_id}
    rows = [(FIELDS[k].entity, ids.get(FIELDS[k].entity, plot_id), k, as_text(current.get(k)), as_text(v),
             FIELDS[k].personal, reverts) for k, v in diff.items()]
    return _record(conn, plot_id, rows, job=job, job_id=job_id, actor=actor, source=source, source_ref=source_ref,
                   recheck=recheck, names=sorted(diff), detail={"reverts": reverts})


def _write_holder(conn: Connection, plot_id: int, current: dict, diff: dict, job_id: int) -> int | None:
    """Write the holder fields; returns the holder's party (a new one when the plot had none)."""
    party = current.get("party_id")
    if not diff:
        return party
    if "id_number" in diff and diff["id_number"] is not None:
        other = conn.execute(sa.text("SELECT party_id FROM geoland.party_personal WHERE id_number = :n "
                                     "AND party_id IS DISTINCT FROM :p"), {"n": diff["id_number"], "p": party}).scalar()
        if other is not None:
            raise EditRefused({"id_number": "id_number_taken"})
    if party is None:
        if diff.get("holder_name") is None and diff.get("id_number") is None:
            raise EditRefused({"holder_name": "no_holder"})
        party = conn.execute(sa.text("INSERT INTO geoland.party (kind, job_id) VALUES ('individual', :job) "
                                     "RETURNING id"), {"job": job_id}).scalar_one()
        conn.execute(sa.text("INSERT INTO geoland.party_personal (party_id) VALUES (:p)"), {"p": party})
        conn.execute(sa.text("""
            INSERT INTO geoland.land_right (party_id, plot_id, role, certificate_id, job_id, province_code)
            SELECT :p, :plot, 'user', (SELECT min(certificate_id) FROM geoland.certificate_plot WHERE plot_id = :plot),
                   :job, """ + PLOT_PROVINCE), {"p": party, "plot": plot_id, "job": job_id})
    personal = {}
    if "id_number" in diff:
        n = diff["id_number"]
        personal["id_number"] = n
        personal["id_kind"] = None if n is None else "cccd" if len(n) == 12 else "cmnd" if len(n) == 9 else "other"
    names = {FIELDS[k].column: v for k, v in diff.items() if k in ("holder_name", "birth_year")}
    if names and current.get("alias"):          # written for this plot only: changed there
        conn.execute(sa.text(f"UPDATE geoland.party_alias SET {', '.join(f'{c} = :{c}' for c in names)} "
                             "WHERE party_id = :p AND plot_id = :plot"), names | {"p": party, "plot": plot_id})
    else:
        personal |= names
    if personal:
        conn.execute(sa.text(f"UPDATE geoland.party_personal SET {', '.join(f'{c} = :{c}' for c in personal)} "
                             "WHERE party_id = :p"), personal | {"p": party})
    return party


def _write_certificate(conn: Connection, plot_id: int, current: dict, series: str | None, job_id: int) -> int:
    """The plot's valid certificate gets this series; returns its id.

    A plot without one: the certificate of that series (made when the register has none) covers it from now
    on, and its holders' rights with no certificate are recorded on it. A plot with one: a corrected series
    of the same certificate (on every plot it covers). A series another certificate has is refused, as is
    removing the certificate (the registry's work: cancel it there).
    """
    if series is None:
        raise EditRefused({"certificate_series": "cannot_empty"})
    other = conn.execute(sa.text("SELECT id FROM geoland.certificate WHERE series = :s"), {"s": series}).scalar()
    mine = current.get("certificate_id")
    if mine is not None:
        if other is not None and other != mine:
            raise EditRefused({"certificate_series": "series_taken"})
        conn.execute(sa.text("UPDATE geoland.certificate SET series = :s WHERE id = :c"), {"s": series, "c": mine})
        certificate = mine
    else:
        certificate = other if other is not None else conn.execute(sa.text(
            "INSERT INTO geoland.certificate (series, status, job_id) VALUES (:s, 'valid', :job) RETURNING id"),
            {"s": series, "job": job_id}).scalar_one()
        conn.execute(sa.text("INSERT INTO geoland.certificate_plot (certificate_id, plot_id, province_code) "
                             "SELECT :c, :p, " + PLOT_PROVINCE.replace(":plot", ":p") + " ON CONFLICT DO NOTHING"),
                     {"c": certificate, "p": plot_id})
        conn.execute(sa.text("UPDATE geoland.land_right SET certificate_id = :c WHERE plot_id = :p "
                             "AND certificate_id IS NULL"), {"c": certificate, "p": plot_id})
    # the plot layer's own serial field, which the identifier export carries, follows the register
    conn.execute(sa.text("UPDATE geoland.plot SET certificate_serial = :s WHERE id = :p"), {"s": series, "p": plot_id})
    return certificate


def save_shares(conn: Connection, plot_id: int, version: int, typed: dict[int, str], *, actor: str,
                source: str = "form", reverts: dict[int, int] | None = None) -> dict:
    """Save the shares of the rights on a plot (co-holders: ``1/2``, ``0,5``, ``50%``), checked per certificate.

    ``typed``: right id → share as typed. The shares of one certificate's rights on the plot must add up to the
    whole, as the ``share_sum`` check wants (``shares_sum`` on each of them otherwise); a right not on this plot
    is refused. Same version check, history (entity ``right``), job and re-check as :func:`save_edits`.
    """
    from fractions import Fraction

    current = _at_version(conn, plot_id, version)
    rights = {r.id: r for r in conn.execute(sa.text(
        "SELECT id, share_num, share_den, certificate_id FROM geoland.land_right WHERE plot_id = :p ORDER BY id"),
        {"p": plot_id})}
    problems, shares = {}, {}
    for right, text in typed.items():
        if right not in rights:
            raise InvalidInput(f"right {right} is not a right on plot {plot_id}")
        try:
            shares[right] = _read_share(f"share:{right}", text)
        except Problem as p:
            problems[p.field] = p.reason
    if problems:
        raise EditRefused(problems)
    groups: dict = {}
    for r in rights.values():
        groups.setdefault(r.certificate_id, []).append(shares.get(r.id, Fraction(r.share_num, r.share_den)))
    for right in shares:
        if sum(groups[rights[right].certificate_id]) != 1 and not reverts:     # a revert puts back what was
            problems[f"share:{right}"] = "shares_sum"
    if problems:
        raise EditRefused(problems)
    diff = {r: v for r, v in shares.items() if v != Fraction(rights[r].share_num, rights[r].share_den)}
    if not diff:
        return _unchanged(current)
    job, job_id = _start(conn, plot_id, ["share"], actor=actor, source=source)
    for right, share in diff.items():
        conn.execute(sa.text("UPDATE geoland.land_right SET share_num = :n, share_den = :d WHERE id = :r"),
                     {"n": share.numerator, "d": share.denominator, "r": right})
    rows = [("right", r, "share", f"{rights[r].share_num}/{rights[r].share_den}",
             f"{v.numerator}/{v.denominator}", False, (reverts or {}).get(r)) for r, v in diff.items()]
    return _record(conn, plot_id, rows, job=job, job_id=job_id, actor=actor, source=source,
                   names=[f"share:{r}" for r in sorted(diff)], detail={"rights": sorted(diff)})


def holders_of(conn: Connection, plot_id: int) -> dict[int, dict]:
    """Every person holding a right on the plot or on an asset on it, by party id.

    Their name, ID number and birth year as written for this plot, and whether that is an alias: the
    co-holders' part of the form.
    """
    rows = conn.execute(sa.text("""
        SELECT DISTINCT pp.party_id, coalesce(a.name, pp.name) AS holder_name, pp.id_number,
               coalesce(a.birth_year, pp.birth_year) AS birth_year, a.party_id IS NOT NULL AS alias
        FROM geoland.land_right r JOIN geoland.party_personal pp ON pp.party_id = r.party_id
        LEFT JOIN geoland.party_alias a ON a.party_id = r.party_id AND a.plot_id = :p
        WHERE r.plot_id = :p OR r.asset_id IN (SELECT asset_id FROM geoland.asset_plot WHERE plot_id = :p)
        ORDER BY pp.party_id"""), {"p": plot_id}).mappings().all()
    return {r["party_id"]: dict(r) for r in rows}


def save_holders(conn: Connection, plot_id: int, version: int, typed: dict[int, dict[str, str]], *, actor: str,
                 source: str = "form", reverts: int | None = None) -> dict:
    """Save the name, ID number and birth year of the plot's holders (co-users, co-owners, house owners).

    ``typed``: party id → {``holder_name``, ``id_number``, ``birth_year``: text}; only persons holding a right
    on the plot or on its assets. The rules, the version check, the history (entity ``holder``, personal), the
    job and the re-check of :func:`save_edits`; an ID number another party has is refused.
    """
    current = _at_version(conn, plot_id, version)
    holders = holders_of(conn, plot_id)
    problems, diffs = {}, {}
    for party, values in typed.items():
        if party not in holders:
            raise InvalidInput(f"party {party} holds no right on plot {plot_id} or its assets")
        fields = {k: v for k, v in values.items() if k in ("holder_name", "id_number", "birth_year")}
        parsed, refused, _ = check_values(fields, holders[party])
        problems |= {f"holder:{party}:{k}": r for k, r in refused.items()}
        diff = {k: v for k, v in parsed.items() if as_text(v) != as_text(holders[party].get(k))}
        if diff:
            diffs[party] = diff
    if problems:
        raise EditRefused(problems)
    if not diffs:
        return _unchanged(current)
    job, job_id = _start(conn, plot_id, [k for d in diffs.values() for k in d], actor=actor, source=source)
    for party, diff in diffs.items():
        try:
            _write_holder(conn, plot_id, holders[party], diff, job_id)
        except EditRefused as refused:
            raise EditRefused({f"holder:{party}:{k}": r for k, r in refused.problems.items()}) from None
    rows = [("holder", p, k, as_text(holders[p].get(k)), as_text(v), True, reverts)
            for p, d in sorted(diffs.items()) for k, v in d.items()]
    return _record(conn, plot_id, rows, job=job, job_id=job_id, actor=actor, source=source,
                   names=[f"holder:{p}:{k}" for _, p, k, *_ in rows], detail={"parties": sorted(diffs)})


def save_assets(conn: Connection, plot_id: int, version: int, typed: dict[int, dict[str, str]], *, actor: str,
                source: str = "form", reverts: int | None = None) -> dict:
    """Save the values of the assets on a plot (floor area, floors, year built, structure), by asset id.

    Same rules as the plot's fields (:data:`geoland.rules.edits.ASSET_FIELDS`), the same version check, history
    (entity ``asset``, its id), job and re-check; an asset not on this plot is refused.
    """
    from geoland.rules.edits import ASSET_FIELDS

    current = _at_version(conn, plot_id, version)
    assets = {r["id"]: dict(r) for r in conn.execute(sa.text("""
        SELECT a.id, a.floor_area, a.floors, a.year_built, a.structure FROM geoland.asset a
        JOIN geoland.asset_plot ap ON ap.asset_id = a.id WHERE ap.plot_id = :p ORDER BY a.id"""),
        {"p": plot_id}).mappings()}
    problems, diff = {}, []
    for asset, values in typed.items():
        if asset not in assets:
            raise InvalidInput(f"asset {asset} is not on plot {plot_id}")
        for name, text in values.items():
            if name not in ASSET_FIELDS:
                raise InvalidInput(f"{name!r} is not a value of an asset")
            try:
                value, _ = parse(name, text)
            except Problem as p:
                problems[f"asset:{asset}:{name}"] = p.reason
                continue
            if as_text(value) != as_text(assets[asset][name]):
                diff.append((asset, name, value))
    if problems:
        raise EditRefused(problems)
    if not diff:
        return _unchanged(current)
    job, job_id = _start(conn, plot_id, [n for _, n, _ in diff], actor=actor, source=source)
    for asset, name, value in diff:
        conn.execute(sa.text(f"UPDATE geoland.asset SET {ASSET_FIELDS[name].column} = :v WHERE id = :a"),
                     {"v": value, "a": asset})
    rows = [("asset", a, n, as_text(assets[a][n]), as_text(v), False, reverts) for a, n, v in diff]
    return _record(conn, plot_id, rows, job=job, job_id=job_id, actor=actor, source=source,
                   names=[f"asset:{a}:{n}" for a, n, _ in diff], detail={"assets": sorted({a for a, _, _ in diff})})


def changes(conn: Connection, plot_id: int, *, after: int = 0, unmasked: bool = False) -> list[dict]:
    """A plot's recorded changes, oldest first (those that made a version above ``after``).

    Personal values are masked unless ``unmasked`` (the caller checks the role and audits).
    """
    rows = [dict(r) for r in conn.execute(sa.text("""
        SELECT e.id, e.job_id, e.version, e.entity, e.field, e.old_value, e.new_value, e.personal, e.actor, e.source,
               e.source_ref, e.reverts, e.at, r.id AS reverted_by
        FROM geoland.plot_edit e LEFT JOIN geoland.plot_edit r ON r.reverts = e.id
        WHERE e.plot_id = :p AND e.version > :after ORDER BY e.id"""), {"p": plot_id, "after": after}).mappings()]
    if not unmasked:
        for r in rows:
            if r["personal"]:
                mask = mask_cccd if r["field"] == "id_number" else mask_name if r["field"] == "holder_name" \
                    else (lambda v: [None if v[0] is None else "…"])
                r["old_value"], r["new_value"] = mask([r["old_value"]])[0], mask([r["new_value"]])[0]
    return rows


def _typed_back(field: str, text: str | None):
    """A value from the history back to its type (a revert writes what was stored, checked or not)."""
    if text is None:
        return None
    kind = FIELDS[field].kind
    if kind == "flag":
        return text == "true"
    if kind == "area":
        return float(text)
    if kind in ("count", "year"):
        return int(text)
    if kind == "date":
        return dt.date.fromisoformat(text)
    return text


def revert_edit(conn: Connection, edit_id: int, *, actor: str) -> dict:
    """Put back the value an edit replaced, as a new recorded change (source ``revert``); the plot re-checked.

    Raises
    ------
    NotFound
        No such change.
    Conflict
        Already reverted, or the field changed again since (revert the later change first).
    """
    edit = conn.execute(sa.text("SELECT e.*, EXISTS (SELECT FROM geoland.plot_edit r WHERE r.reverts = e.id) AS done "
                                "FROM geoland.plot_edit e WHERE e.id = :i"), {"i": edit_id}).mappings().first()
    if edit is None:
        raise NotFound(f"no change {edit_id}")
    if edit["done"]:
        raise Conflict(f"change {edit_id} was reverted already")
    later = conn.execute(sa.text("SELECT id FROM geoland.plot_edit WHERE plot_id = :p AND field = :f AND id > :i "
                                 "AND job_id <> :j ORDER BY id DESC LIMIT 1"),       # not the same save's
                         {"p": edit["plot_id"], "f": edit["field"], "i": edit_id, "j": edit["job_id"]}).scalar()
    if later is not None:
        raise Conflict(f"{edit['field']} of plot {edit['plot_id']} changed again since (change {later}): "
                       "revert that one first")
    current = current_values(conn, edit["plot_id"], lock=True)
    if edit["field"] == "share":       # the shares changed together (one save) go back together: their sum held
        together = conn.execute(sa.text("""SELECT e.id, e.entity_id, e.old_value FROM geoland.plot_edit e
            WHERE e.job_id = :j AND e.plot_id = :p AND e.field = 'share'
              AND NOT EXISTS (SELECT FROM geoland.plot_edit r WHERE r.reverts = e.id)"""),
            {"j": edit["job_id"], "p": edit["plot_id"]}).all()
        return save_shares(conn, edit["plot_id"], current["version"], {r.entity_id: r.old_value for r in together},
                           actor=actor, source="revert", reverts={r.entity_id: r.id for r in together})
    if edit["entity"] == "holder" and edit["entity_id"] != current.get("party_id"):     # a co-holder's value
        return save_holders(conn, edit["plot_id"], current["version"],
                            {edit["entity_id"]: {edit["field"]: edit["old_value"] or ""}}, actor=actor,
                            source="revert", reverts=edit_id)
    if edit["entity"] == "asset":
        return save_assets(conn, edit["plot_id"], current["version"],
                           {edit["entity_id"]: {edit["field"]: edit["old_value"] or ""}}, actor=actor,
                           source="revert", reverts=edit_id)
    value = _typed_back(edit["field"], edit["old_value"])
    return _apply(conn, edit["plot_id"], current, {edit["field"]: value}, actor=actor, source="revert",
                  source_ref=str(edit_id), recheck=True, job_id=None, reverts=edit_id)
