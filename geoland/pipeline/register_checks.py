"""The checks of the land register (issue 16): certificates, holders, shares, assets, references.

Each check is one set-based query over the register's tables for the plots in the temporary table
``check_plots`` (the plots being checked); it returns findings in the frame of :mod:`geoland.rules.checks`
(``plot_id``, ``type``, ``value``, ``tolerance``, ``related``), never with personal data in them, and
:func:`geoland.pipeline.quality.check` stores them with the plot checks' findings (same history rules).

====================== ======================================================================================
type                   when
====================== ======================================================================================
certificate_format     a certificate of the plot has a series (số phát hành) or registry-book number (số vào
                       sổ) not written as the forms write it: series 1–2 capital letters, a space or not,
                       6–8 digits (``CS 123456``); book number capital letters, a dash or space or not, digits,
                       an optional ``/`` part (``CH00123``, ``CS-01234``), or digits only. A format rule only:
                       no check digit is published.
certificate_duplicate  the plot is on more than one valid certificate, or its certificate's book number is also
                       another certificate's
certificate_communes   a certificate of the plot covers plots of different communes: the communes of the map
                       (a certificate is issued from one commune's register; two old communes merged into one
                       new commune in 2025 still were two registers)
share_sum              the co-holders' shares of the plot (per certificate) or of an asset on it do not add up to
                       1; the value is the sum as a fraction
party_conflict         a holder of the plot, one party by ID number, is written with another name or birth year
                       on another plot (folded: case, diacritics and spaces do not count)
tax_code_invalid       an organisation holding the plot, or an asset on it, has a tax code the modulus-11 rule
                       rejects (:mod:`identifiers.taxcode`); the value is the reason
unidentified_holder    a holder of the plot is not identified: a person without an ID number, an organisation
                       without a tax code, a household none of whose members has an ID number
rights_without_certificate  the plot has holders but no valid certificate
dangling_right         a right on the plot is recorded on a certificate that does not cover the plot (or the
                       asset's plot)
house_outside_plot     a house's or construction's footprint lies more than 1 m² outside its plot(s)
house_overlap          two houses' footprints overlap by more than 1 m² (related: the other house's plot)
house_not_allowed      a house or apartment stands on a plot whose land use is not residential (ONT, ODT;
                       combinations such as ONT+CLN count as residential)
====================== ======================================================================================
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geoland.rules.registry import BOOK_FORMAT, SERIES_FORMAT
from geoland.store.partitions import in_provinces
from identifiers.taxcode import check_tax_code

log = logging.getLogger(__name__)
MIN_AREA_M2 = 1.0
RESIDENTIAL = ("ONT", "ODT")
_COLUMNS = ["plot_id", "type", "value", "tolerance", "related"]

def _IN(alias: str) -> str:
    """The register's rows of the provinces checked (parameter ``provinces``; None: all), by partition."""
    return in_provinces(alias, style="named")


# What most checks start from, joined once per run: the certificates of the plots checked (check_certificates)
# and the rights on them, a right on an asset once per plot the asset stands on (check_rights).
_SHARED = (
    """CREATE TEMP TABLE check_certificates ON COMMIT DROP AS
       SELECT cp.plot_id, cp.certificate_id, c.status, c.series, c.book_number
       FROM check_plots s JOIN geoland.certificate_plot cp ON cp.plot_id = s.plot_id""" + _IN("cp") + """
       JOIN geoland.certificate c ON c.id = cp.certificate_id""",
    # (two branches, each joined by an index: a join on coalesce(…) read every right even for a few plots)
    """CREATE TEMP TABLE check_rights ON COMMIT DROP AS
       SELECT r.id, r.party_id, r.plot_id, r.asset_id, r.plot_id AS object_plot, r.certificate_id, r.share_num,
              r.share_den
       FROM check_plots s JOIN geoland.land_right r ON r.plot_id = s.plot_id""" + _IN("r") + """
       UNION ALL
       SELECT r.id, r.party_id, r.plot_id, r.asset_id, ap.plot_id, r.certificate_id, r.share_num, r.share_den
       FROM check_plots s JOIN geoland.asset_plot ap ON ap.plot_id = s.plot_id""" + _IN("ap") + """
       JOIN geoland.land_right r ON r.asset_id = ap.asset_id AND r.province_code = '' -- not on a plot
       WHERE r.plot_id IS NULL""",
    "CREATE INDEX ON check_certificates (plot_id)",
    "ANALYZE check_certificates, check_rights",
)

# (type, SQL returning plot_id, value, related) over temp table check_plots (plot_id) and the two above
_QUERIES = (
    ("certificate_format", f"""
        SELECT cp.plot_id, string_agg(DISTINCT CASE WHEN c.series !~ '{SERIES_FORMAT}' THEN 'series ' || c.series
                                               ELSE 'book ' || c.book_number END, '; ') AS value, NULL::bigint[]
        FROM check_plots s JOIN geoland.certificate_plot cp ON cp.plot_id = s.plot_id
        JOIN geoland.certificate c ON c.id = cp.certificate_id
        WHERE c.series !~ '{SERIES_FORMAT}' OR c.book_number !~ '{BOOK_FORMAT}'
        GROUP BY cp.plot_id"""),
    ("certificate_duplicate", """
        SELECT plot_id, string_agg(DISTINCT value, '; '), NULL::bigint[] FROM (
            SELECT plot_id, count(*) || ' valid certificates' AS value FROM check_certificates WHERE status = 'valid'
            GROUP BY plot_id HAVING count(*) > 1
            UNION ALL
            SELECT c.plot_id, 'book number ' || c.book_number FROM check_certificates c
            WHERE c.book_number IS NOT NULL AND EXISTS (SELECT FROM geoland.certificate o
                WHERE o.book_number = c.book_number AND o.id <> c.certificate_id)
        ) d GROUP BY plot_id"""),
    ("certificate_communes", """
        WITH multi AS (   -- a certificate of one plot is of one commune
            SELECT cp.certificate_id FROM geoland.certificate_plot cp
            WHERE cp.certificate_id IN (SELECT certificate_id FROM check_certificates)
            GROUP BY cp.certificate_id HAVING count(*) > 1),
        commune AS (
            SELECT cp.certificate_id, cp.plot_id, p.old_commune_code AS code
            FROM multi m JOIN geoland.certificate_plot cp USING (certificate_id)
            JOIN geoland.plot p ON p.id = cp.plot_id),
        mixed AS (SELECT certificate_id, string_agg(DISTINCT code, ',' ORDER BY code) AS codes FROM commune
                  GROUP BY certificate_id HAVING count(DISTINCT code) > 1)
        SELECT c.plot_id, string_agg(DISTINCT m.codes, '; '),
               array_agg(DISTINCT o.plot_id ORDER BY o.plot_id) FILTER (WHERE o.plot_id <> c.plot_id)
        FROM commune c JOIN mixed m USING (certificate_id) JOIN commune o ON o.certificate_id = c.certificate_id
        WHERE EXISTS (SELECT FROM check_plots s WHERE s.plot_id = c.plot_id)
        GROUP BY c.plot_id"""),
    ("share_sum", """
        WITH shares AS MATERIALIZED (   -- per right once: on a plot, or on an asset (whatever plots it stands on)
            SELECT id, coalesce(plot_id, -1) AS object_plot, coalesce(asset_id, -1) AS asset_id,
                   coalesce(certificate_id, -1) AS certificate_id, share_num, share_den
            FROM check_rights WHERE asset_id IS NULL
            UNION ALL
            SELECT DISTINCT id, -1, asset_id, coalesce(certificate_id, -1), share_num, share_den
            FROM check_rights WHERE asset_id IS NOT NULL),
        bad AS (SELECT object_plot, asset_id, certificate_id FROM shares GROUP BY object_plot, asset_id, certificate_id
                HAVING count(*) > 1 AND abs(sum(share_num::float8 / share_den) - 1) > 1e-9
                    OR count(*) = 1 AND min(share_num) <> min(share_den)),
        sums AS (SELECT s.object_plot, s.asset_id, array_agg(s.share_num || '/' || s.share_den ORDER BY s.id) AS parts
                 FROM shares s JOIN bad b USING (object_plot, asset_id, certificate_id)
                 GROUP BY s.object_plot, s.asset_id, s.certificate_id)
        SELECT coalesce(nullif(s.object_plot, -1), ap.plot_id), string_agg(array_to_string(s.parts, '+'), '; '),
               NULL::bigint[]
        FROM sums s LEFT JOIN geoland.asset_plot ap ON ap.asset_id = s.asset_id
        WHERE coalesce(nullif(s.object_plot, -1), ap.plot_id) IN (SELECT plot_id FROM check_plots)
        GROUP BY 1"""),
    ("party_conflict", """
        WITH conflicted AS (
            SELECT DISTINCT a.party_id FROM (SELECT DISTINCT party_id FROM check_rights) h
            JOIN geoland.party_alias a USING (party_id) JOIN geoland.party_personal pp USING (party_id)
            WHERE pp.id_number IS NOT NULL
              AND (geoland_fold(a.name) IS DISTINCT FROM geoland_fold(pp.name)
                   OR (a.birth_year IS NOT NULL AND pp.birth_year IS NOT NULL AND a.birth_year <> pp.birth_year)))
        SELECT r.plot_id, count(DISTINCT r.party_id) || ' holder(s)', NULL::bigint[]
        FROM check_rights r JOIN conflicted c USING (party_id) WHERE r.plot_id IS NOT NULL
        GROUP BY r.plot_id"""),
    ("unidentified_holder", """
        SELECT r.plot_id, count(DISTINCT r.party_id) || ' holder(s)', NULL::bigint[]
        FROM check_rights r JOIN geoland.party y ON y.id = r.party_id
        LEFT JOIN geoland.party_personal pp ON pp.party_id = y.id
        WHERE r.plot_id IS NOT NULL
          AND CASE y.kind WHEN 'organisation' THEN y.tax_code IS NULL
                          WHEN 'household' THEN NOT EXISTS (
                              SELECT FROM geoland.household_member m JOIN geoland.party_personal mp
                              ON mp.party_id = m.member_id WHERE m.household_id = y.id AND mp.id_number IS NOT NULL)
                          WHEN 'community' THEN false
                          ELSE pp.id_number IS NULL END
        GROUP BY r.plot_id"""),
    ("rights_without_certificate", """
        SELECT DISTINCT r.plot_id, NULL, NULL::bigint[] FROM check_rights r
        WHERE r.plot_id IS NOT NULL
          AND NOT EXISTS (SELECT FROM check_certificates c WHERE c.plot_id = r.plot_id AND c.status = 'valid')"""),
    ("dangling_right", """
        SELECT r.object_plot, string_agg(DISTINCT c.series, '; '), NULL::bigint[]
        FROM check_rights r JOIN geoland.certificate c ON c.id = r.certificate_id
        WHERE NOT EXISTS (SELECT FROM check_certificates x WHERE x.certificate_id = r.certificate_id
                          AND x.plot_id = r.object_plot)
        GROUP BY 1"""),
    ("house_outside_plot", f"""
        SELECT ap.plot_id, round(ST_Area(ST_Difference(a.footprint, g.geom))::numeric, 1)::text, NULL::bigint[]
        FROM geoland.asset a JOIN geoland.asset_plot ap ON ap.asset_id = a.id
        JOIN check_plots s ON s.plot_id = ap.plot_id
        JOIN LATERAL (SELECT ST_Union(p.geom) AS geom FROM geoland.asset_plot o JOIN geoland.plot p ON p.id = o.plot_id
                      WHERE o.asset_id = a.id AND ST_SRID(p.geom) = ST_SRID(a.footprint)) g ON true
        WHERE a.kind IN ('house', 'construction') AND a.footprint IS NOT NULL
          AND ST_Area(ST_Difference(a.footprint, g.geom)) > {MIN_AREA_M2}"""),
    ("house_overlap", f"""
        SELECT ap.plot_id, round(max(ST_Area(ST_Intersection(a.footprint, b.footprint)))::numeric, 1)::text,
               array_agg(DISTINCT bp.plot_id ORDER BY bp.plot_id)
        FROM geoland.asset a JOIN geoland.asset_plot ap ON ap.asset_id = a.id
        JOIN check_plots s ON s.plot_id = ap.plot_id
        JOIN geoland.asset b ON b.id <> a.id AND b.footprint && a.footprint
             AND ST_SRID(b.footprint) = ST_SRID(a.footprint) AND b.kind IN ('house', 'construction')
        JOIN geoland.asset_plot bp ON bp.asset_id = b.id
        WHERE a.kind IN ('house', 'construction')
          AND ST_Area(ST_Intersection(a.footprint, b.footprint)) > {MIN_AREA_M2}
        GROUP BY ap.plot_id"""),
    ("house_not_allowed", f"""
        SELECT ap.plot_id, coalesce(p.land_use, '(none)'), NULL::bigint[]
        FROM geoland.asset a JOIN geoland.asset_plot ap ON ap.asset_id = a.id
        JOIN check_plots s ON s.plot_id = ap.plot_id JOIN geoland.plot p ON p.id = ap.plot_id
        WHERE a.kind IN ('house', 'apartment')
          AND NOT coalesce(string_to_array(regexp_replace(upper(p.land_use), '\\s', '', 'g'), '+')
                           && ARRAY{list(RESIDENTIAL)}::text[], false)
        GROUP BY ap.plot_id, p.land_use"""),
)

# Names compared as people read them: lower case, no diacritics (đ → d), no spaces or punctuation.
FOLD_FUNCTION = r"""
CREATE OR REPLACE FUNCTION pg_temp.geoland_fold(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(translate(lower($1),
        'àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ',
        'aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd'), '[^a-z0-9]', '', 'g')
$$"""


def register_findings(conn: Connection, provinces: list[str] | None = None) -> pd.DataFrame:
    """The register's findings for the plots in temp table ``check_plots`` (see the module docstring).

    ``provinces``: the provinces of those plots (their register's partitions), or None (any).
    """
    conn.execute(sa.text(FOLD_FUNCTION))
    started = time.perf_counter()
    for sql in _SHARED:
        conn.execute(sa.text(sql), {"provinces": provinces})
    log.debug("register checks' shared joins in %.1f s", time.perf_counter() - started)
    parts = []
    for kind, sql in _QUERIES:
        started = time.perf_counter()
        rows = conn.execute(sa.text(sql.replace("geoland_fold(", "pg_temp.geoland_fold("))).all()
        log.debug("register check %s: %d plots in %.1f s", kind, len(rows), time.perf_counter() - started)
        if rows:
            parts.append(pd.DataFrame({"plot_id": np.array([r[0] for r in rows], dtype=np.int64), "type": kind,
                                       "value": pd.Series([r[1] for r in rows], dtype=object).to_numpy(),
                                       "tolerance": None, "related": [tuple(r[2] or ()) for r in rows]}))
    parts.append(_tax_codes(conn))
    conn.execute(sa.text("DROP TABLE check_certificates, check_rights"))
    found = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_COLUMNS)
    return found[_COLUMNS]


def _tax_codes(conn: Connection) -> pd.DataFrame:
    rows = conn.execute(sa.text("""
        SELECT r.object_plot, y.tax_code FROM check_rights r JOIN geoland.party y ON y.id = r.party_id
        WHERE y.kind = 'organisation' AND y.tax_code IS NOT NULL""")).all()
    bad: dict[int, set] = {}
    for plot_id, code in rows:
        reason = check_tax_code(code)
        if reason:
            bad.setdefault(plot_id, set()).add(reason)
    return pd.DataFrame({"plot_id": np.array(list(bad), dtype=np.int64), "type": "tax_code_invalid",
                         "value": pd.Series(["; ".join(sorted(v)) for v in bad.values()], dtype=object).to_numpy(),
                         "tolerance": None, "related": [()] * len(bad)})
