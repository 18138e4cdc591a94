"""Forgetting an import: what its plots were, their identification codes retired, a new import of the file.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UPGRADE = r"""
-- An import forgotten (`geoland plots forget`, `plots import --replace`) stays listed with the job that
-- forgot it; the same file can then be imported again.
ALTER TABLE geoland.plot_import ADD COLUMN forgotten_by bigint REFERENCES geoland.job (id);
ALTER TABLE geoland.plot_import DROP CONSTRAINT plot_import_source_sha256_layer_name_key;
CREATE UNIQUE INDEX plot_import_source_key ON geoland.plot_import (source_sha256, layer_name)
    WHERE forgotten_by IS NULL;

-- A plot of a forgotten import: its map code, its commune, its identification code (retired: never issued
-- to another plot) and its geometry, without personal data. The same plot imported again (same geometry
-- within 1 cm) gets its code back, recorded here.
CREATE TABLE geoland.forgotten_plot (
    plot_id            bigint  PRIMARY KEY,
    import_id          bigint  NOT NULL REFERENCES geoland.plot_import (id),
    job_id             bigint  NOT NULL REFERENCES geoland.job (id),
    source_row         integer NOT NULL,
    province_code      text,
    mx                 text,
    new_mx             text,
    commune_code       text,
    code               text,
    geom               geometry(MultiPolygon) NOT NULL,
    reinstated_plot_id bigint,
    reinstated_by      bigint REFERENCES geoland.job (id)
);
CREATE INDEX forgotten_plot_code_idx ON geoland.forgotten_plot (code) WHERE code IS NOT NULL;
CREATE INDEX forgotten_plot_import_idx ON geoland.forgotten_plot (import_id);

ALTER TABLE geoland.code_conflict DROP CONSTRAINT code_conflict_kind_check;
ALTER TABLE geoland.code_conflict ADD CONSTRAINT code_conflict_kind_check
    CHECK (kind IN ('duplicate_code', 'cell_outside_plot', 'retired_code'));
"""

DOWNGRADE = r"""
DELETE FROM geoland.code_conflict WHERE kind = 'retired_code';
ALTER TABLE geoland.code_conflict DROP CONSTRAINT code_conflict_kind_check;
ALTER TABLE geoland.code_conflict ADD CONSTRAINT code_conflict_kind_check
    CHECK (kind IN ('duplicate_code', 'cell_outside_plot'));
DROP TABLE geoland.forgotten_plot;
DROP INDEX geoland.plot_import_source_key;
ALTER TABLE geoland.plot_import ADD CONSTRAINT plot_import_source_sha256_layer_name_key
    UNIQUE (source_sha256, layer_name);
ALTER TABLE geoland.plot_import DROP COLUMN forgotten_by;
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute(DOWNGRADE)
