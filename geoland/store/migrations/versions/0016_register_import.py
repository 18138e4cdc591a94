"""The land register from registry exports: imports, history of changes, quarantine, plots known only on paper.

- ``register_import``: one row per ``geoland register import`` (file, SHA-256, format, text encoding, what it
  brought), like ``plot_import`` for plot layers.
- ``register_change``: every value a later registry export changed (entity, its id, field, old and new
  value, job, import); ``personal`` marks the name, ID number, birth and address fields, shown masked.
- ``reconcile_difference``: what ``geoland register reconcile`` found between a paper register and the
  database (field, register value, database value), per run (job).
- ``register_quarantine``: a registry row that could not be stored (``--keep-going``), with its sheet, row
  and every reason; its cells are personal data, kept as read.
- ``party.ref`` and ``asset.ref``: the registry's own key of a party without an ID number or tax code and of
  an asset, so that a later export of the same register updates them instead of adding them again.
- ``paper_plot``: a plot a certificate names (commune, sheet, number, area, purpose) that the land database
  has no geometry for ("granted but not yet in the land database"); its certificates
  (``certificate_paper_plot``), assets (``asset_paper_plot``) and rights (``land_right.paper_plot_id``)
  wait on it. A later plot import that brings a plot with the same commune, sheet and number attaches it
  (``plot_id``, job, time): its links and rights move to the plot, the paper plot stays as the record of it.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE geoland.register_import (
    id            bigserial PRIMARY KEY,
    job_id        bigint NOT NULL,
    source        text   NOT NULL,
    source_sha256 text   NOT NULL,
    format        text   NOT NULL CHECK (format IN ('xlsx', 'csv')),
    text_encoding text,
    province_code text,
    field_map     jsonb  NOT NULL DEFAULT '{}',
    counts        jsonb  NOT NULL DEFAULT '{}',
    imported_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE geoland.register_change (
    id                 bigserial PRIMARY KEY,
    job_id             bigint NOT NULL,
    register_import_id bigint REFERENCES geoland.register_import (id),
    entity             text   NOT NULL CHECK (entity IN ('certificate', 'party', 'right', 'asset', 'paper_plot')),
    entity_id          bigint NOT NULL,
    field              text   NOT NULL,
    old_value          text,
    new_value          text,
    personal           boolean NOT NULL DEFAULT false,
    changed_at         timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX register_change_entity_idx ON geoland.register_change (entity, entity_id);

CREATE TABLE geoland.register_quarantine (
    id                 bigserial PRIMARY KEY,
    register_import_id bigint  NOT NULL REFERENCES geoland.register_import (id),
    sheet              text    NOT NULL,
    source_row         integer NOT NULL,
    reasons            text[]  NOT NULL,
    cells              jsonb   NOT NULL DEFAULT '{}'
);

-- What `geoland register reconcile` found between a digitised paper register and the database (one run = one
-- job; nothing in the register is changed by it).
CREATE TABLE geoland.reconcile_difference (
    id             bigserial PRIMARY KEY,
    job_id         bigint  NOT NULL,
    source         text    NOT NULL,
    source_sha256  text    NOT NULL,
    source_row     integer,
    series         text,
    plot_ref       text,
    plot_id        bigint,
    paper_plot_id  bigint,
    field          text    NOT NULL CHECK (field IN ('area', 'purpose', 'holder_name', 'holder_id', 'plot',
                                                     'missing_in_database', 'missing_in_register')),
    register_value text,
    database_value text,
    personal       boolean NOT NULL DEFAULT false
);
CREATE INDEX reconcile_difference_job_idx ON geoland.reconcile_difference (job_id);

-- `codes lookup` / `/api/plots/<code>` by certificate series, written with or without spaces, any case.
CREATE INDEX certificate_series_compact_idx ON geoland.certificate (upper(regexp_replace(series, '\s', '', 'g')));

ALTER TABLE geoland.party ADD COLUMN ref text;
CREATE UNIQUE INDEX party_ref_key ON geoland.party (ref) WHERE ref IS NOT NULL;
CREATE UNIQUE INDEX party_tax_code_key ON geoland.party (tax_code) WHERE tax_code IS NOT NULL;
ALTER TABLE geoland.party DROP CONSTRAINT party_tax_code_check;
ALTER TABLE geoland.party ADD CONSTRAINT party_tax_code_check CHECK (tax_code ~ '^[0-9]+$');
ALTER TABLE geoland.asset ADD COLUMN ref text;
-- Houses against houses (the overlap check) through the index, not every pair.
CREATE INDEX asset_footprint_idx ON geoland.asset USING gist (footprint);
CREATE UNIQUE INDEX asset_ref_key ON geoland.asset (ref) WHERE ref IS NOT NULL;

CREATE TABLE geoland.paper_plot (
    id                 bigserial PRIMARY KEY,
    province_code      text,
    commune_code       text    NOT NULL CHECK (commune_code ~ '^[0-9]{5}$'),
    sheet              integer NOT NULL CHECK (sheet > 0),
    plot_number        integer NOT NULL CHECK (plot_number > 0),
    legal_area_m2      double precision,
    land_use           text,
    register_import_id bigint REFERENCES geoland.register_import (id),
    plot_id            bigint REFERENCES geoland.plot (id) ON DELETE SET NULL,
    attached_job_id    bigint,
    attached_at        timestamptz
);
CREATE UNIQUE INDEX paper_plot_mx_key ON geoland.paper_plot (commune_code, sheet, plot_number) WHERE plot_id IS NULL;
CREATE INDEX paper_plot_plot_idx ON geoland.paper_plot (plot_id) WHERE plot_id IS NOT NULL;
CREATE TABLE geoland.certificate_paper_plot (
    certificate_id bigint NOT NULL REFERENCES geoland.certificate (id) ON DELETE CASCADE,
    paper_plot_id  bigint NOT NULL REFERENCES geoland.paper_plot (id) ON DELETE CASCADE,
    PRIMARY KEY (certificate_id, paper_plot_id)
);
CREATE TABLE geoland.asset_paper_plot (
    asset_id      bigint NOT NULL REFERENCES geoland.asset (id) ON DELETE CASCADE,
    paper_plot_id bigint NOT NULL REFERENCES geoland.paper_plot (id) ON DELETE CASCADE,
    PRIMARY KEY (asset_id, paper_plot_id)
);

-- A right is on a plot, on an asset, or on a paper plot (and keeps it once the plot is attached).
ALTER TABLE geoland.land_right ADD COLUMN paper_plot_id bigint REFERENCES geoland.paper_plot (id) ON DELETE CASCADE;
-- (0015's unnamed CHECKs: land_right_check is share_den >= share_num, land_right_check1 the plot XOR asset)
ALTER TABLE geoland.land_right DROP CONSTRAINT land_right_check1;
ALTER TABLE geoland.land_right ADD CONSTRAINT land_right_object_check
    CHECK (num_nonnulls(plot_id, asset_id) <= 1 AND num_nonnulls(plot_id, asset_id, paper_plot_id) >= 1
           AND (asset_id IS NULL OR paper_plot_id IS NULL));
CREATE INDEX land_right_paper_plot_idx ON geoland.land_right (paper_plot_id) WHERE paper_plot_id IS NOT NULL;
"""

DOWNGRADE = r"""
DELETE FROM geoland.land_right WHERE plot_id IS NULL AND asset_id IS NULL;
DROP INDEX geoland.land_right_paper_plot_idx;
ALTER TABLE geoland.land_right DROP CONSTRAINT land_right_object_check;
ALTER TABLE geoland.land_right DROP COLUMN paper_plot_id;
ALTER TABLE geoland.land_right ADD CONSTRAINT land_right_check1 CHECK ((plot_id IS NULL) <> (asset_id IS NULL));
DROP TABLE geoland.asset_paper_plot;
DROP TABLE geoland.certificate_paper_plot;
DROP TABLE geoland.paper_plot;
DROP INDEX geoland.asset_footprint_idx;
DROP INDEX geoland.asset_ref_key;
ALTER TABLE geoland.asset DROP COLUMN ref;
ALTER TABLE geoland.party DROP CONSTRAINT party_tax_code_check;
UPDATE geoland.party SET tax_code = NULL WHERE tax_code !~ '^[0-9]{10}([0-9]{3})?$';
ALTER TABLE geoland.party ADD CONSTRAINT party_tax_code_check CHECK (tax_code ~ '^[0-9]{10}([0-9]{3})?$');
DROP INDEX geoland.party_tax_code_key;
DROP INDEX geoland.party_ref_key;
ALTER TABLE geoland.party DROP COLUMN ref;
DROP INDEX geoland.certificate_series_compact_idx;
DROP TABLE geoland.reconcile_difference;
DROP TABLE geoland.register_quarantine;
DROP TABLE geoland.register_change;
DROP TABLE geoland.register_import;
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute(DOWNGRADE)
