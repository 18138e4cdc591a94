"""The campaign's progress over time: each check run's counts per commune.

``campaign_progress``: one row per commune (new, 2025 code; ``—`` for plots not yet assigned) per check job:
the campaign's categories (plots, full data, authenticated, incorrect, unverifiable, not yet checked,
missing ≥ 1 field) and the plots with missing data or in conflict, as ``geoland check`` counted them. The
corrections made between two runs are in ``plot_edit`` (who, when, from where).

``plot_mx`` is made again: a view's ``p.*`` is the column list of its creation, and the plot's columns of
0017 (version, dispute) are read through it (the export's disputed plots).

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

VIEW = r"""
DROP VIEW geoland.plot_mx;
CREATE VIEW geoland.plot_mx AS
    SELECT p.*,
           CASE WHEN p.old_commune_code IS NOT NULL AND p.sheet IS NOT NULL AND p.plot_number IS NOT NULL
                THEN p.old_commune_code || '.' || p.sheet || '.' || p.plot_number END AS legacy_mx
    FROM geoland.plot p;
COMMENT ON VIEW geoland.plot_mx IS
    'geoland.plot with legacy_mx: old_commune_code.sheet.plot_number, NULL when a part is missing';
"""

UPGRADE = VIEW + r"""
CREATE TABLE geoland.campaign_progress (
    job_id           bigint  NOT NULL REFERENCES geoland.job (id),
    recorded_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    province_code    text,
    commune_code     text    NOT NULL,
    plots            integer NOT NULL,
    full_data        integer NOT NULL,
    authenticated    integer NOT NULL,
    incorrect        integer NOT NULL,
    unverifiable     integer NOT NULL,
    not_checked      integer NOT NULL,
    missing_1_plus   integer NOT NULL,
    missing          integer NOT NULL,
    conflict         integer NOT NULL,
    PRIMARY KEY (job_id, commune_code)
);
CREATE INDEX campaign_progress_at_idx ON geoland.campaign_progress (recorded_at);

-- An edit may correct the plot's certificate, its co-holders' shares (a right) and its assets too.
ALTER TABLE geoland.plot_edit DROP CONSTRAINT plot_edit_entity_check;
ALTER TABLE geoland.plot_edit ADD CONSTRAINT plot_edit_entity_check
    CHECK (entity IN ('plot', 'holder', 'certificate', 'right', 'asset', 'dispute'));
"""

DOWNGRADE = r"""
DELETE FROM geoland.plot_edit WHERE entity IN ('certificate', 'right', 'asset');
ALTER TABLE geoland.plot_edit DROP CONSTRAINT plot_edit_entity_check;
ALTER TABLE geoland.plot_edit ADD CONSTRAINT plot_edit_entity_check CHECK (entity IN ('plot', 'holder', 'dispute'));
DROP TABLE geoland.campaign_progress;
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute(DOWNGRADE)
