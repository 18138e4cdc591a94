"""The land register's holders as plot layers bring them: parties, certificates and rights (issue 16).

A plot layer names one land user per plot (name, ID number, birth year) and the plot's certificate serial;
a row with none of them has no holder (the checks say what is missing).
:func:`register_holders` turns the rows of an import into the register, set-based in the import's
transaction: one party per ID number across every import (a number already known is the same person; a
name or birth year written differently for it is kept as an alias on that plot), a party of its own for a
row without a number, one certificate per serial (a serial on several plots is one certificate covering
them), and a right of role ``user``, share 1, recorded on the plot's certificate. No step relies on an
index or a key of the register's tables: a large import drops them and builds them again at its end.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

STAGING = "_holders_in"
STAGING_COLUMNS = "plot_id, name, id_number, birth_year, extra"

_STEPS = (     # (what a step's rowcount counts, or None; SQL), run in this order
    # Each row's person: its ID number, or the row itself without one; a known number's party, else a new one.
    (None, f"""CREATE TEMP TABLE _holder ON COMMIT DROP AS
        SELECT h.*, CASE WHEN h.id_number IS NULL THEN 'p' || h.plot_id ELSE 'n' || h.id_number END AS person,
               coalesce(p.province_code, '') AS province_code        -- the register's partition key
        FROM {STAGING} h JOIN geoland.plot p ON p.id = h.plot_id AND p.import_id = :import
        WHERE h.name IS NOT NULL OR h.id_number IS NOT NULL OR h.birth_year IS NOT NULL OR h.extra <> '{{}}'"""),
    (None, """CREATE TEMP TABLE _person ON COMMIT DROP AS
        SELECT d.person, d.first_plot, d.known IS NULL AS new,
               coalesce(d.known, nextval('geoland.party_id_seq')) AS party_id
        FROM (SELECT h.person, min(h.plot_id) AS first_plot, min(pp.party_id) AS known FROM _holder h
              LEFT JOIN geoland.party_personal pp ON pp.id_number = h.id_number GROUP BY h.person) d"""),
    (None, "ANALYZE _holder"),
    (None, "ANALYZE _person"),
    ("parties", """INSERT INTO geoland.party (id, kind, job_id)
        SELECT party_id, 'individual', CAST(:job AS bigint) FROM _person WHERE new"""),
    (None, """INSERT INTO geoland.party_personal (party_id, name, id_number, id_kind, birth_year, extra)
        SELECT p.party_id, h.name, h.id_number,
               CASE WHEN h.id_number ~ '^[0-9]{12}$' THEN 'cccd' WHEN h.id_number ~ '^[0-9]{9}$' THEN 'cmnd'
                    WHEN h.id_number IS NOT NULL THEN 'other' END, h.birth_year, h.extra
        FROM _person p JOIN _holder h ON h.person = p.person AND h.plot_id = p.first_plot WHERE p.new"""),
    # A name, birth year or other personal field written otherwise than the party's: kept for that plot.
    ("aliases", """INSERT INTO geoland.party_alias (party_id, name, birth_year, extra, plot_id, job_id, province_code)
        SELECT p.party_id, h.name, h.birth_year, h.extra, h.plot_id, :job, h.province_code
        FROM _holder h JOIN _person p ON p.person = h.person JOIN geoland.party_personal pp ON pp.party_id = p.party_id
        WHERE (h.plot_id <> p.first_plot OR NOT p.new)          -- a new person's first row is its personal data
          AND (h.name, h.birth_year, h.extra) IS DISTINCT FROM (pp.name, pp.birth_year, pp.extra)"""),
    ("certificates", """INSERT INTO geoland.certificate (series, job_id)
        SELECT DISTINCT p.certificate_serial, CAST(:job AS bigint) FROM geoland.plot p
        WHERE p.import_id = :import AND p.certificate_serial IS NOT NULL
          AND NOT EXISTS (SELECT FROM geoland.certificate c WHERE c.series = p.certificate_serial)"""),
    ("certificate_links", """INSERT INTO geoland.certificate_plot (certificate_id, plot_id, province_code)
        SELECT c.id, p.id, coalesce(p.province_code, '') FROM geoland.plot p
        JOIN geoland.certificate c ON c.series = p.certificate_serial WHERE p.import_id = :import"""),
    ("rights", """INSERT INTO geoland.land_right (party_id, plot_id, role, certificate_id, job_id, province_code)
        SELECT p.party_id, h.plot_id, 'user', cp.certificate_id, :job, h.province_code FROM _holder h
        JOIN _person p ON p.person = h.person
        LEFT JOIN geoland.certificate_plot cp ON cp.plot_id = h.plot_id AND cp.province_code = h.province_code"""),
    (None, "DROP TABLE _holder, _person"),
)


def create_staging(conn: Connection) -> None:
    """The temporary table an import COPYs its rows' holders into (dropped at commit)."""
    conn.execute(sa.text(f"CREATE TEMP TABLE {STAGING} (plot_id bigint, name text, id_number text, "
                         "birth_year integer, extra jsonb NOT NULL DEFAULT '{}') ON COMMIT DROP"))


def register_holders(conn: Connection, import_id: int, job_id: int) -> dict:
    """Parties, certificates and rights of an import's plots from its staged holders.

    Returns the rows added: ``parties`` (new persons), ``aliases``, ``certificates`` (new serials),
    ``certificate_links`` and ``rights``.
    """
    counts = {}
    for what, sql in _STEPS:
        n = conn.execute(sa.text(sql), {"job": job_id, "import": import_id}).rowcount
        if what:
            counts[what] = n
    conn.execute(sa.text(f"DROP TABLE {STAGING}"))
    return counts


def attach_paper_plots(conn: Connection, import_id: int, job_id: int) -> int:
    """Give the plots known only from certificates their geometry (never a second plot).

    The plots of this import with a paper plot's commune, sheet and number take over its certificates, assets
    and rights; the paper plot records which plot, job and time.

    Returns how many paper plots were attached.
    """
    conn.execute(sa.text("""CREATE TEMP TABLE _attach ON COMMIT DROP AS
        SELECT pp.id AS paper_id, min(p.id) AS plot_id,
               (array_agg(coalesce(p.province_code, '') ORDER BY p.id))[1] AS province_code
        FROM geoland.paper_plot pp JOIN geoland.plot p
          ON p.old_commune_code = pp.commune_code AND p.sheet = pp.sheet AND p.plot_number = pp.plot_number
        WHERE p.import_id = :import AND pp.plot_id IS NULL GROUP BY pp.id"""), {"import": import_id})
    n = conn.execute(sa.text("""UPDATE geoland.paper_plot pp SET plot_id = a.plot_id, attached_job_id = :job,
        attached_at = clock_timestamp() FROM _attach a WHERE pp.id = a.paper_id"""), {"job": job_id}).rowcount
    if n:
        conn.execute(sa.text("""INSERT INTO geoland.certificate_plot (certificate_id, plot_id, province_code)
            SELECT c.certificate_id, a.plot_id, a.province_code FROM geoland.certificate_paper_plot c JOIN _attach a
            ON a.paper_id = c.paper_plot_id ON CONFLICT DO NOTHING"""))
        conn.execute(sa.text("""INSERT INTO geoland.asset_plot (asset_id, plot_id, province_code)
            SELECT x.asset_id, a.plot_id, a.province_code FROM geoland.asset_paper_plot x JOIN _attach a
            ON a.paper_id = x.paper_plot_id ON CONFLICT DO NOTHING"""))
        conn.execute(sa.text("""UPDATE geoland.land_right r SET plot_id = a.plot_id, province_code = a.province_code
            FROM _attach a
            WHERE r.paper_plot_id = a.paper_id AND r.plot_id IS NULL AND r.asset_id IS NULL"""))
    conn.execute(sa.text("DROP TABLE _attach"))
    return n
