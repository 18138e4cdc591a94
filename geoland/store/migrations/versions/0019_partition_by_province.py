"""The per-plot tables partitioned by province (issue 19).

``plot``, ``plot_assignment``, ``plot_code``, ``finding`` and ``mx_crosswalk`` become tables partitioned by LIST
on the plot's province: one partition per province that has plots, named ``<table>_<code>`` (``plot_14``), made
by the importer when a province's first plots arrive (:mod:`geoland.store.partitions`), and ``<table>_none``
for the plots whose province is not known. A command given a province reads one partition of each table;
the national run's workers, one province each, no longer read each other's rows.

- ``plot`` keeps its ``province_code`` (NULL: not known) as the key; ``plot_none`` holds the NULLs.
- The four others gain ``province_code NOT NULL``: their plot's province, ``''`` when it has none (or when the
  plot is gone: a finding outlives its plot), so that their keys can hold it: ``plot_code (plot_id,
  province_code)``, ``plot_assignment (plot_id, effective, job_id, province_code)``, ``mx_crosswalk (plot_id,
  effective, province_code)``, ``finding (id, province_code)``. ``plot``'s identity is ``UNIQUE NULLS NOT
  DISTINCT (id, province_code)``: PostgreSQL keys a partitioned table only with its partition key, and the
  sequence gives every plot its own id.
- The views reading the latest assignment and crosswalk row compare the province too, so that with
  ``enable_partitionwise_join`` (set by geoland's connections) a province's rows meet only their partition.
- The foreign keys that pointed at ``plot (id)`` (rights, certificate and asset links, paper plots, edits) and
  at ``finding (id)`` (comments) are dropped: a key to a partitioned table must name its partition key. The one
  place plots are deleted (``geoland forget``) deletes or unlinks those rows itself, as the keys' ON DELETE
  did.

Moves an existing database in place: each table is copied into its partitioned twin (a million plots and their
findings: 28 s), then its indexes and views are made again. ``downgrade`` copies back into plain tables.

Revision ID: 0019
Revises: 0018
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

CHILDREN = ("plot_assignment", "plot_code", "finding", "mx_crosswalk")

VIEWS = r"""
CREATE VIEW geoland.plot_mx AS
    SELECT p.*,
           CASE WHEN p.old_commune_code IS NOT NULL AND p.sheet IS NOT NULL AND p.plot_number IS NOT NULL
                THEN p.old_commune_code || '.' || p.sheet || '.' || p.plot_number END AS legacy_mx
    FROM geoland.plot p;
COMMENT ON VIEW geoland.plot_mx IS
    'geoland.plot with legacy_mx: old_commune_code.sheet.plot_number, NULL when a part is missing';
CREATE VIEW geoland.finding_current AS
    SELECT * FROM geoland.finding WHERE closed_by IS NULL;
CREATE VIEW geoland.plot_assignment_current AS
    SELECT a.* FROM geoland.plot_assignment a
    WHERE NOT EXISTS (SELECT 1 FROM geoland.plot_assignment later
                      WHERE later.province_code = a.province_code AND later.plot_id = a.plot_id
                        AND later.effective = a.effective AND later.job_id > a.job_id);
CREATE VIEW geoland.mx_crosswalk_current AS
    SELECT x.* FROM geoland.mx_crosswalk x
    WHERE NOT EXISTS (SELECT 1 FROM geoland.mx_crosswalk later
                      WHERE later.province_code = x.province_code AND later.plot_id = x.plot_id
                        AND later.effective > x.effective);
"""

DROP_VIEWS = """
DROP VIEW geoland.plot_mx;
DROP VIEW geoland.finding_current;
DROP VIEW geoland.plot_assignment_current;
DROP VIEW geoland.mx_crosswalk_current;
"""

FOREIGN_KEYS = (  # (table, constraint, definition) of the keys to plot and finding
    ("asset_plot", "asset_plot_plot_id_fkey", "FOREIGN KEY (plot_id) REFERENCES geoland.plot (id) ON DELETE CASCADE"),
    ("certificate_plot", "certificate_plot_plot_id_fkey",
     "FOREIGN KEY (plot_id) REFERENCES geoland.plot (id) ON DELETE CASCADE"),
    ("land_right", "land_right_plot_id_fkey", "FOREIGN KEY (plot_id) REFERENCES geoland.plot (id) ON DELETE CASCADE"),
    ("paper_plot", "paper_plot_plot_id_fkey", "FOREIGN KEY (plot_id) REFERENCES geoland.plot (id) ON DELETE SET NULL"),
    ("plot_edit", "plot_edit_plot_id_fkey", "FOREIGN KEY (plot_id) REFERENCES geoland.plot (id) ON DELETE CASCADE"),
    ("finding_comment", "finding_comment_finding_id_fkey", "FOREIGN KEY (finding_id) REFERENCES geoland.finding (id)"),
)

# indexes and keys of the partitioned tables (made after the copy: one pass each)
PARTITIONED_INDEXES = r"""
ALTER TABLE geoland.plot ADD CONSTRAINT plot_id_key UNIQUE NULLS NOT DISTINCT (id, province_code);
ALTER TABLE geoland.plot ADD CONSTRAINT plot_import_id_source_row_key
    UNIQUE NULLS NOT DISTINCT (import_id, source_row, province_code);
ALTER TABLE geoland.plot ADD CONSTRAINT plot_import_id_fkey FOREIGN KEY (import_id) REFERENCES geoland.plot_import (id);
CREATE INDEX plot_geom_idx ON geoland.plot USING gist (geom);
CREATE INDEX plot_mx_idx ON geoland.plot (old_commune_code, sheet, plot_number);
ALTER TABLE geoland.plot_assignment ADD PRIMARY KEY (plot_id, effective, job_id, province_code);
CREATE INDEX plot_assignment_commune_idx ON geoland.plot_assignment (commune_code, effective);
CREATE INDEX plot_assignment_effective_idx ON geoland.plot_assignment (effective);
ALTER TABLE geoland.plot_code ADD PRIMARY KEY (plot_id, province_code);
CREATE INDEX plot_code_code_idx ON geoland.plot_code (code);
ALTER TABLE geoland.finding ADD PRIMARY KEY (id, province_code);
CREATE UNIQUE INDEX finding_open_key ON geoland.finding (plot_id, type, related, province_code)
    WHERE closed_by IS NULL;
ALTER TABLE geoland.mx_crosswalk ADD PRIMARY KEY (plot_id, effective, province_code);
CREATE INDEX mx_crosswalk_commune_idx ON geoland.mx_crosswalk (new_commune, effective);
CREATE INDEX mx_crosswalk_new_idx ON geoland.mx_crosswalk (new_code);
CREATE INDEX mx_crosswalk_old_idx ON geoland.mx_crosswalk (old_code);
"""

PLAIN_INDEXES = r"""
ALTER TABLE geoland.plot ADD PRIMARY KEY (id);
ALTER TABLE geoland.plot ADD CONSTRAINT plot_import_id_source_row_key UNIQUE (import_id, source_row);
ALTER TABLE geoland.plot ADD CONSTRAINT plot_import_id_fkey FOREIGN KEY (import_id) REFERENCES geoland.plot_import (id);
CREATE INDEX plot_geom_idx ON geoland.plot USING gist (geom);
CREATE INDEX plot_mx_idx ON geoland.plot (old_commune_code, sheet, plot_number);
ALTER TABLE geoland.plot_assignment ADD PRIMARY KEY (plot_id, effective, job_id);
CREATE INDEX plot_assignment_commune_idx ON geoland.plot_assignment (commune_code, effective);
CREATE INDEX plot_assignment_effective_idx ON geoland.plot_assignment (effective);
ALTER TABLE geoland.plot_code ADD PRIMARY KEY (plot_id);
CREATE INDEX plot_code_code_idx ON geoland.plot_code (code);
ALTER TABLE geoland.finding ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX finding_open_key ON geoland.finding (plot_id, type, related) WHERE closed_by IS NULL;
ALTER TABLE geoland.mx_crosswalk ADD PRIMARY KEY (plot_id, effective);
CREATE INDEX mx_crosswalk_commune_idx ON geoland.mx_crosswalk (new_commune, effective);
CREATE INDEX mx_crosswalk_new_idx ON geoland.mx_crosswalk (new_code);
CREATE INDEX mx_crosswalk_old_idx ON geoland.mx_crosswalk (old_code);
"""

_SEQUENCES = (("plot", "plot_id_seq"), ("finding", "finding_id_seq"))


def _set_aside(table: str) -> str:
    """Rename a table to ``<table>_old`` and free its index and constraint names."""
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


_PARTITIONS = r"""
DO $$ DECLARE code text; t text; BEGIN
  FOREACH t IN ARRAY ARRAY['plot', 'plot_assignment', 'plot_code', 'finding', 'mx_crosswalk'] LOOP
    EXECUTE format('CREATE TABLE geoland.%I PARTITION OF geoland.%I FOR VALUES IN (%s)', t || '_none', t,
                   CASE WHEN t = 'plot' THEN 'NULL' ELSE '''''' END);
    FOR code IN SELECT DISTINCT province_code FROM geoland.plot_old WHERE province_code IS NOT NULL
                UNION SELECT DISTINCT province_code FROM geoland.plot_import WHERE province_code IS NOT NULL LOOP
      IF code !~ '^[0-9]{2}$' THEN
        RAISE EXCEPTION 'province code % of the stored plots is not two digits', code;
      END IF;
      EXECUTE format('CREATE TABLE geoland.%I PARTITION OF geoland.%I FOR VALUES IN (%L)', t || '_' || code, t, code);
    END LOOP;
  END LOOP;
END $$;
"""


def upgrade():
    sql = [DROP_VIEWS]
    sql += [f"ALTER TABLE geoland.{t} DROP CONSTRAINT {name};" for t, name, _ in FOREIGN_KEYS]
    sql += [f"ALTER SEQUENCE geoland.{seq} OWNED BY NONE;" for _, seq in _SEQUENCES]
    sql += [_set_aside(t) for t in ("plot", *CHILDREN)]
    sql.append("CREATE TABLE geoland.plot (LIKE geoland.plot_old INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
               "PARTITION BY LIST (province_code);")
    sql += [f"CREATE TABLE geoland.{t} (LIKE geoland.{t}_old INCLUDING DEFAULTS INCLUDING CONSTRAINTS, "
            f"province_code text NOT NULL) PARTITION BY LIST (province_code);" for t in CHILDREN]
    sql.append(_PARTITIONS)
    sql.append("INSERT INTO geoland.plot SELECT * FROM geoland.plot_old;")
    sql += [f"INSERT INTO geoland.{t} SELECT o.*, coalesce(p.province_code, '') FROM geoland.{t}_old o "
            f"LEFT JOIN geoland.plot_old p ON p.id = o.plot_id;" for t in CHILDREN]
    sql += [f"DROP TABLE geoland.{t}_old;" for t in ("plot", *CHILDREN)]
    sql += [f"ALTER SEQUENCE geoland.{seq} OWNED BY geoland.{t}.id;" for t, seq in _SEQUENCES]
    sql += [PARTITIONED_INDEXES, VIEWS]
    sql += [f"ANALYZE geoland.{t};" for t in ("plot", *CHILDREN)]
    op.execute("\n".join(sql))


def downgrade():
    bind = op.get_bind()
    sql = [DROP_VIEWS]
    sql += [f"ALTER SEQUENCE geoland.{seq} OWNED BY NONE;" for _, seq in _SEQUENCES]
    for t in ("plot", *CHILDREN):
        columns = ", ".join(c for c in bind.exec_driver_sql(
            "SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = %(t)s::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum", {"t": f"geoland.{t}"}).scalars()
            if t == "plot" or c != "province_code")
        sql.append(f"ALTER TABLE geoland.{t} RENAME TO {t}_old;")
        sql.append(f"CREATE TABLE geoland.{t} (LIKE geoland.{t}_old INCLUDING DEFAULTS INCLUDING CONSTRAINTS);")
        if t != "plot":
            sql.append(f"ALTER TABLE geoland.{t} DROP COLUMN province_code;")
        sql.append(f"INSERT INTO geoland.{t} ({columns}) SELECT {columns} FROM geoland.{t}_old;")
        sql.append(f"DROP TABLE geoland.{t}_old CASCADE;")
    sql += [f"ALTER SEQUENCE geoland.{seq} OWNED BY geoland.{t}.id;" for t, seq in _SEQUENCES]
    sql.append(PLAIN_INDEXES)
    sql.append(VIEWS.replace("later.province_code = a.province_code AND ", "")
               .replace("later.province_code = x.province_code AND ", ""))
    sql += [f"ALTER TABLE geoland.{t} ADD CONSTRAINT {name} {definition};" for t, name, definition in FOREIGN_KEYS]
    op.execute("\n".join(sql))
