"""Exports for the national digital address platform: each export and its rows' digests (for deltas).

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UPGRADE = r"""
-- An export is identified by a digest of its content: the same data exported twice is one export.
CREATE TABLE geoland.export (
    export_id  text PRIMARY KEY,
    province   text,
    commune    text,
    job_id     bigint NOT NULL REFERENCES geoland.job (id),
    manifest   jsonb  NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE geoland.export_row (
    export_id           text   NOT NULL REFERENCES geoland.export (export_id),
    plot_id             bigint NOT NULL,
    identification_code text   NOT NULL,
    row_hash            text   NOT NULL,
    PRIMARY KEY (export_id, plot_id)
);
"""

DOWNGRADE = r"""
DROP TABLE geoland.export_row;
DROP TABLE geoland.export;
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute(DOWNGRADE)
