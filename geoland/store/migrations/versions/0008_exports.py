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
-- Its rows' digests (plot, code, digest of the row), for later --since deltas, are kept as one Parquet
-- document rather than a million rows.
CREATE TABLE geoland.export (
    export_id  text PRIMARY KEY,
    province   text,
    commune    text,
    job_id     bigint NOT NULL REFERENCES geoland.job (id),
    manifest   jsonb  NOT NULL,
    row_digests bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""

DOWNGRADE = r"""
DROP TABLE geoland.export;
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute(DOWNGRADE)
