"""The land register's per-plot tables partitioned by province (issue 19).

``land_right``, ``certificate_plot``, ``asset_plot`` and ``party_alias`` — the rows that name a plot — become tables
partitioned by LIST on their plot's province, like the plots (migration 0019): one partition per province that has
plots (``land_right_14``) and ``<table>_none`` for the rows of no province (``''``): a plot without a province, and
the rights that are not on a plot (on an asset, or on a plot known only from a certificate). Each gains
``province_code text NOT NULL``, the plot's province when written, in its keys.

What stays national, and why: ``party`` and ``party_personal`` (a person holds plots in several provinces and is one
party, by ID number), ``certificate`` (one row per series, wherever its plots are), ``asset`` and
``household_member``. They are keyed by their own ids and read by them.

Moves an existing database in place: each table is copied into its partitioned twin (its plot's province found by
the plot's id), then its keys, indexes and the ``land_user`` view are made again; ``downgrade`` copies back.

Revision ID: 0020
Revises: 0019
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TABLES = ("land_right", "certificate_plot", "asset_plot", "party_alias")

_VIEW = r"""
CREATE VIEW geoland.land_user AS
    SELECT r.plot_id,
           CASE WHEN a.party_id IS NULL THEN pp.name ELSE a.name END AS name,
           pp.id_number,
           CASE WHEN a.party_id IS NULL THEN pp.birth_year ELSE a.birth_year END AS birth_year,
           CASE WHEN a.party_id IS NULL THEN pp.extra ELSE a.extra END AS extra,
           r.party_id{province}
    FROM geoland.land_right r
    JOIN geoland.party_personal pp ON pp.party_id = r.party_id
    LEFT JOIN geoland.party_alias a ON a.party_id = r.party_id AND a.plot_id = r.plot_id{alias}
    WHERE r.plot_id IS NOT NULL
      AND NOT EXISTS (SELECT FROM geoland.land_right f WHERE f.plot_id = r.plot_id AND f.id < r.id{first});
"""
# each plot's first holder, with its province: a look-up given the plot's province reads one partition
VIEW = _VIEW.format(province=", r.province_code", alias=" AND a.province_code = r.province_code",
                    first=" AND f.province_code = r.province_code")
PLAIN_VIEW = _VIEW.format(province="", alias="", first="")

KEYS = r"""
ALTER TABLE geoland.land_right ADD PRIMARY KEY (id, province_code);
ALTER TABLE geoland.certificate_plot ADD PRIMARY KEY (certificate_id, plot_id, province_code);
ALTER TABLE geoland.asset_plot ADD PRIMARY KEY (asset_id, plot_id, province_code);
ALTER TABLE geoland.party_alias ADD PRIMARY KEY (party_id, plot_id, province_code);
"""
PLAIN_KEYS = r"""
ALTER TABLE geoland.land_right ADD PRIMARY KEY (id);
ALTER TABLE geoland.certificate_plot ADD PRIMARY KEY (certificate_id, plot_id);
ALTER TABLE geoland.asset_plot ADD PRIMARY KEY (asset_id, plot_id);
ALTER TABLE geoland.party_alias ADD PRIMARY KEY (party_id, plot_id);
"""
# the same on both sides of the migration
INDEXES = r"""
ALTER TABLE geoland.land_right ADD CONSTRAINT land_right_asset_id_fkey
    FOREIGN KEY (asset_id) REFERENCES geoland.asset (id) ON DELETE CASCADE;
ALTER TABLE geoland.land_right ADD CONSTRAINT land_right_certificate_id_fkey
    FOREIGN KEY (certificate_id) REFERENCES geoland.certificate (id);
ALTER TABLE geoland.land_right ADD CONSTRAINT land_right_job_id_fkey FOREIGN KEY (job_id) REFERENCES geoland.job (id);
ALTER TABLE geoland.land_right ADD CONSTRAINT land_right_paper_plot_id_fkey
    FOREIGN KEY (paper_plot_id) REFERENCES geoland.paper_plot (id) ON DELETE CASCADE;
ALTER TABLE geoland.land_right ADD CONSTRAINT land_right_party_id_fkey
    FOREIGN KEY (party_id) REFERENCES geoland.party (id);
CREATE INDEX land_right_asset_idx ON geoland.land_right (asset_id) WHERE asset_id IS NOT NULL;
CREATE INDEX land_right_paper_plot_idx ON geoland.land_right (paper_plot_id) WHERE paper_plot_id IS NOT NULL;
CREATE INDEX land_right_party_idx ON geoland.land_right (party_id);
CREATE INDEX land_right_plot_idx ON geoland.land_right (plot_id, id);
ALTER TABLE geoland.certificate_plot ADD CONSTRAINT certificate_plot_certificate_id_fkey
    FOREIGN KEY (certificate_id) REFERENCES geoland.certificate (id) ON DELETE CASCADE;
CREATE INDEX certificate_plot_plot_idx ON geoland.certificate_plot (plot_id);
ALTER TABLE geoland.asset_plot ADD CONSTRAINT asset_plot_asset_id_fkey
    FOREIGN KEY (asset_id) REFERENCES geoland.asset (id) ON DELETE CASCADE;
CREATE INDEX asset_plot_plot_idx ON geoland.asset_plot (plot_id);
ALTER TABLE geoland.party_alias ADD CONSTRAINT party_alias_job_id_fkey FOREIGN KEY (job_id) REFERENCES geoland.job (id);
ALTER TABLE geoland.party_alias ADD CONSTRAINT party_alias_party_id_fkey
    FOREIGN KEY (party_id) REFERENCES geoland.party (id) ON DELETE CASCADE;
"""

_PARTITIONS = r"""
DO $$ DECLARE code text; t text; BEGIN
  FOREACH t IN ARRAY ARRAY['land_right', 'certificate_plot', 'asset_plot', 'party_alias'] LOOP
    EXECUTE format('CREATE TABLE geoland.%I PARTITION OF geoland.%I FOR VALUES IN (%L)', t || '_none', t, '');
    FOR code IN SELECT substr(c.relname, 6) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'geoland.plot'::regclass AND c.relname <> 'plot_none' LOOP
      EXECUTE format('CREATE TABLE geoland.%I PARTITION OF geoland.%I FOR VALUES IN (%L)', t || '_' || code, t, code);
    END LOOP;
  END LOOP;
END $$;
"""


def _set_aside(table: str) -> str:
    """Rename a table to ``<table>_old`` and free its index and constraint names (but CHECK and NOT NULL)."""
    return f"""
ALTER TABLE geoland.{table} RENAME TO {table}_old;
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT conname FROM pg_constraint WHERE conrelid = 'geoland.{table}_old'::regclass AND contype <> 'c'
           AND contype <> 'n' LOOP
    EXECUTE format('ALTER TABLE geoland.{table}_old DROP CONSTRAINT %I', r.conname);
  END LOOP;
  FOR r IN SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = 'geoland.{table}_old'::regclass LOOP
    EXECUTE format('DROP INDEX %s', r.name);
  END LOOP;
END $$;
"""


def upgrade():
    sql = ["DROP VIEW geoland.land_user;", "ALTER SEQUENCE geoland.land_right_id_seq OWNED BY NONE;"]
    sql += [_set_aside(t) for t in TABLES]
    sql += [f"CREATE TABLE geoland.{t} (LIKE geoland.{t}_old INCLUDING DEFAULTS INCLUDING CONSTRAINTS, "
            f"province_code text NOT NULL) PARTITION BY LIST (province_code);" for t in TABLES]
    sql.append(_PARTITIONS)
    # each row's plot's province (the plot table is partitioned: the join is by id, whatever the province)
    sql += [f"INSERT INTO geoland.{t} SELECT o.*, coalesce(p.province_code, '') FROM geoland.{t}_old o "
            f"LEFT JOIN geoland.plot p ON p.id = o.plot_id;" for t in TABLES]
    sql += [f"DROP TABLE geoland.{t}_old;" for t in TABLES]
    sql.append("ALTER SEQUENCE geoland.land_right_id_seq OWNED BY geoland.land_right.id;")
    sql += [KEYS, INDEXES, VIEW]
    sql += [f"ANALYZE geoland.{t};" for t in TABLES]
    op.execute("\n".join(sql))


def downgrade():
    bind = op.get_bind()
    sql = ["DROP VIEW geoland.land_user;", "ALTER SEQUENCE geoland.land_right_id_seq OWNED BY NONE;"]
    for t in TABLES:
        columns = ", ".join(bind.exec_driver_sql(
            "SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = %(t)s::regclass AND attnum > 0 "
            "AND NOT attisdropped AND attname <> 'province_code' ORDER BY attnum", {"t": f"geoland.{t}"}).scalars())
        sql.append(f"ALTER TABLE geoland.{t} RENAME TO {t}_old;")
        sql.append(f"CREATE TABLE geoland.{t} (LIKE geoland.{t}_old INCLUDING DEFAULTS INCLUDING CONSTRAINTS);")
        sql.append(f"ALTER TABLE geoland.{t} DROP COLUMN province_code;")
        sql.append(f"INSERT INTO geoland.{t} ({columns}) SELECT {columns} FROM geoland.{t}_old;")
        sql.append(f"DROP TABLE geoland.{t}_old CASCADE;")
    sql.append("ALTER SEQUENCE geoland.land_right_id_seq OWNED BY geoland.land_right.id;")
    sql += [PLAIN_KEYS, INDEXES, PLAIN_VIEW]
    op.execute("\n".join(sql))
