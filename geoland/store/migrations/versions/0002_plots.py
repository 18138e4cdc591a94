"""Plots: imports, plots in their VN-2000 TM-3 zone, land users apart from geometry, quarantine.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = r"""
-- One imported file (or layer): where it came from, how it was read, what became of its rows.
CREATE TABLE geoland.plot_import (
    id               bigserial PRIMARY KEY,
    job_id           bigint  NOT NULL REFERENCES geoland.job (id),
    source           text    NOT NULL,
    source_sha256    text    NOT NULL,
    layer_name       text,
    driver           text    NOT NULL,
    source_crs       text,
    srid             integer NOT NULL,
    province_code    text,
    field_map        jsonb   NOT NULL,
    text_encoding    text    NOT NULL,
    rows_read        integer NOT NULL,
    rows_imported    integer NOT NULL,
    rows_quarantined integer NOT NULL,
    rows_repaired    integer NOT NULL,
    UNIQUE (source_sha256, layer_name)
);

-- A land plot (thửa đất) as imported: geometry in the TM-3 zone of its map (the row's SRID), the
-- legacy MX.SB.ST parts, the recorded (legal) and computed areas. Personal data is not here.
CREATE TABLE geoland.plot (
    id                 bigserial PRIMARY KEY,
    import_id          bigint  NOT NULL REFERENCES geoland.plot_import (id),
    source_row         integer NOT NULL,
    province_code      text,
    old_commune_code   text CHECK (old_commune_code ~ '^[0-9]{5}$'),
    sheet              integer CHECK (sheet > 0),
    plot_number        integer CHECK (plot_number > 0),
    legal_area_m2      double precision,
    land_use           text,
    certificate_serial text,
    area_m2            double precision NOT NULL,
    geom               geometry(MultiPolygon) NOT NULL,
    repaired           boolean NOT NULL DEFAULT false,
    repair_note        text,
    attributes         jsonb   NOT NULL DEFAULT '{}',
    UNIQUE (import_id, source_row)
);
CREATE INDEX plot_geom_idx ON geoland.plot USING gist (geom);
CREATE INDEX plot_mx_idx ON geoland.plot (old_commune_code, sheet, plot_number);

-- Land users (người sử dụng đất): personal data, linked to the plot, never stored beside geometry.
CREATE TABLE geoland.land_user (
    plot_id    bigint  NOT NULL REFERENCES geoland.plot (id) ON DELETE CASCADE,
    name       text,
    id_number  text,
    birth_year integer,
    extra      jsonb   NOT NULL DEFAULT '{}',
    PRIMARY KEY (plot_id)
);
CREATE INDEX land_user_id_number_idx ON geoland.land_user (id_number);

-- Rows that could not be stored as they are: kept with their reason, never dropped.
CREATE TABLE geoland.plot_quarantine (
    id          bigserial PRIMARY KEY,
    import_id   bigint  NOT NULL REFERENCES geoland.plot_import (id),
    source      text    NOT NULL,
    source_row  integer NOT NULL,
    reason      text    NOT NULL,
    geometry    text,
    attributes  jsonb   NOT NULL DEFAULT '{}',
    personal    jsonb   NOT NULL DEFAULT '{}',
    UNIQUE (import_id, source_row)
);
"""

DOWNGRADE = r"""
DROP TABLE geoland.plot_quarantine;
DROP TABLE geoland.land_user;
DROP TABLE geoland.plot;
DROP TABLE geoland.plot_import;
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute(DOWNGRADE)
