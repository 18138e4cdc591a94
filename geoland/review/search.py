"""The search box of the web app: communes, plots and, for the roles that may see them, land users.

What a query can be, tried in this order:

- a 5-digit code: the new commune of that code, or the old commune and the new one it went into;
- a plot's identification code (12 characters), an MX.SB.ST code of any date (the map's code before the
  reorganisation, or a recoded one) or a certificate series (``CS 000123``): :func:`lookup_code`;
- words: communes whose name contains them, compared without diacritics, case or spaces
  (``muong la`` finds *Xã Mường La*);
- for an administrator or a commune's editor only (:func:`~geoland.review.scope.may_see_personal`): a land
  user's ID number (9 or 12 digits) or name, without diacritics too. Such a search is audited
  (``personal_data.searched``, the ID number masked, a name only by its length) and shows the holders masked;
  the plot page shows them in clear, audited, as before.

An editor finds only the plots and communes that are theirs. Every answer is at most :data:`LIMIT` of each kind.
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from boundaries.conversion import fold_vietnamese
from geoland.errors import GeolandError, InvalidInput
from geoland.pipeline.assignments import latest_effective
from geoland.review.lookup import lookup_code
from geoland.review.scope import communes_of, may_see_personal, visible
from geoland.rules.registry import fold
from geoland.store.jobs import audit
from identifiers.cccd import mask_cccd, mask_name

LIMIT = 50
MAX_QUERY = 100
_LETTERS = "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
# PostgreSQL's translate() folds a name as :func:`fold` does, whatever the database's locale.
_FROM = _LETTERS + _LETTERS.upper()
_TO = "".join(fold_vietnamese(c) for c in _LETTERS) * 2
FOLDED = "regexp_replace(lower(translate({col}, '" + _FROM + "', '" + _TO + "')), '[^a-z0-9]', '', 'g')"


def search(conn: Connection, query: str, user: dict) -> dict:
    """What ``query`` names, as links.

    Parameters
    ----------
    conn : Connection
        The request's transaction (the audit event of a search of land users lands with it).
    query : str
        What was typed.
    user : dict
        The signed-in user: what they may see and whether land users are searched.

    Returns
    -------
    dict
        ``query``, ``results`` (each ``kind`` commune/plot/paper_plot/holder, ``label``, ``detail``, ``url``),
        ``people`` (whether land users were searched) and ``note`` (why not, when they were not).

    Raises
    ------
    InvalidInput
        Empty or longer than :data:`MAX_QUERY` characters.
    """
    query = unicodedata.normalize("NFC", (query or "").strip())
    if not query:
        raise InvalidInput("type what to search for: a commune, a plot's code, an MX.SB.ST code, a certificate")
    if len(query) > MAX_QUERY:
        raise InvalidInput(f"the search is longer than {MAX_QUERY} characters")
    mine = communes_of(user)
    effective = latest_effective(conn)
    results = _communes(conn, query, effective, mine) + _plots(conn, query, user)
    people, note = False, None
    compact = "".join(query.split())
    personal = (compact.isdigit() and len(compact) in (9, 12)) or any(c.isalpha() for c in query)
    if not results and personal:                      # nothing else answered: a land user, for who may see them
        if may_see_personal(user):
            people = True
            results = _holders(conn, query, user, effective)
        else:
            note = "people"
    return {"query": query, "results": results, "people": people, "note": note}


def _communes(conn: Connection, query: str, effective, mine) -> list[dict]:
    """New communes by code or name; old communes by code or name, with the new commune they went into."""
    if effective is None:
        return []
    key = fold(query)
    if not key:
        return []
    rows = conn.execute(sa.text(f"""
        SELECT u.code, u.name, u.valid_from, u.valid_to,
               (SELECT string_agg(DISTINCT n.code, ',') FROM geoland.unit_change x
                JOIN geoland.admin_unit n ON n.id = x.new_unit_id
                WHERE x.old_unit_id = u.id AND n.level = 'commune') AS into
        FROM geoland.admin_unit u
        WHERE u.level = 'commune' AND u.province_code IN (SELECT province_code FROM geoland.plot_import)
          AND (u.code = :q OR {FOLDED.format(col="u.name")} LIKE '%' || :k || '%')
        ORDER BY u.code <> :q, u.valid_to IS NOT NULL, u.name, u.code LIMIT :n"""),
        {"q": query, "k": key, "n": LIMIT * 2}).mappings().all()
    out = []
    for r in rows:
        current = (r["valid_from"] is None or r["valid_from"] <= effective) and \
            (r["valid_to"] is None or r["valid_to"] > effective)
        target = r["code"] if current else (r["into"] or "").split(",")[0] or None
        if target is None or (mine is not None and target not in mine):
            continue
        out.append({"kind": "commune", "label": f"{r['code']} {r['name'] or ''}".strip(),
                    "detail": None if current else f"→ {r['into']}", "url": f"/communes/{target}",
                    "current": current})
    return out[:LIMIT]


def _plots(conn: Connection, query: str, user: dict) -> list[dict]:
    """The plots (and plots on paper only) an identification code, MX.SB.ST or certificate series names."""
    try:
        found = lookup_code(conn, query)
    except GeolandError:                              # not a code, or no plot has it: the other kinds answer
        return []
    shown = visible(conn, user, [p["plot_id"] for p in found["plots"]])
    mine = communes_of(user)
    out = [{"kind": "plot", "label": p["identification_code"] or f"#{p['plot_id']}",
            "detail": f"{p['current_mx'] or ''} · {p['matched_as']}", "url": f"/plots/{p['plot_id']}"}
           for p in found["plots"] if p["plot_id"] in shown]
    out += [{"kind": "paper_plot", "label": f"{p['commune_code']} · {p['sheet']}.{p['plot_number']}",
             "detail": p["matched_as"], "url": f"/communes/{p['commune_code']}"}
            for p in found.get("paper_plots", []) if mine is None or p.get("commune_code") in mine]
    return out[:LIMIT]


def _holders(conn: Connection, query: str, user: dict, effective) -> list[dict]:
    """Plots whose land user or register holder has this ID number or a name containing the words."""
    compact = "".join(query.split())
    by_number = compact.isdigit()
    mine = communes_of(user)
    where = "p.id_number = :q" if by_number else f"{FOLDED.format(col='p.name')} LIKE '%' || :k || '%'"
    rows = conn.execute(sa.text(f"""
        WITH holders AS (
            SELECT u.plot_id, u.name, u.id_number FROM geoland.land_user u
            WHERE {where.replace('p.', 'u.')}
            UNION
            SELECT r.plot_id, p.name, p.id_number FROM geoland.party_personal p
            JOIN geoland.land_right r ON r.party_id = p.party_id AND r.plot_id IS NOT NULL
            WHERE {where})
        SELECT h.plot_id, h.name, h.id_number, c.code, a.commune_code FROM holders h
        LEFT JOIN geoland.plot_code c ON c.plot_id = h.plot_id
        LEFT JOIN geoland.plot_assignment_current a ON a.plot_id = h.plot_id AND a.effective = :e
        WHERE CAST(:mine AS text[]) IS NULL OR a.commune_code = ANY(:mine)
        ORDER BY h.plot_id LIMIT :n"""),
        {"q": compact, "k": fold(query), "e": effective, "mine": list(mine) if mine is not None else None,
         "n": LIMIT}).mappings().all()
    audit(conn, None, "personal_data.searched", entity="search", actor=user["username"],
          detail={"by": "id_number" if by_number else "name",
                  "query": mask_cccd([compact])[0] if by_number else f"{len(query)} characters",
                  "results": len(rows)})
    names, numbers = mask_name([r["name"] for r in rows]), mask_cccd([r["id_number"] for r in rows])
    return [{"kind": "holder", "label": f"{name or '—'} · {number or '—'}",
             "detail": f"{r['code'] or '#' + str(r['plot_id'])} · {r['commune_code'] or ''}",
             "url": f"/plots/{r['plot_id']}"} for r, name, number in zip(rows, names, numbers)]
