"""Data quality: the population database's verification results and the findings of `geoland check`.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UPGRADE = r"""
-- The national population database's answer for a CCCD (personal data: kept apart, like land_user).
-- A later file's answer for the same number replaces the earlier one; the load is a job and audited.
CREATE TABLE geoland.verification (
    id_number  text PRIMARY KEY,
    status     text NOT NULL CHECK (status IN ('authenticated', 'incorrect', 'unverifiable')),
    checked_at date,
    source     text NOT NULL,
    job_id     bigint NOT NULL REFERENCES geoland.job (id)
);

-- One finding of one check on one plot. A check run adds the findings that are new or whose measured
-- value changed and closes (closed_by) those that no longer hold or were replaced; rows are never deleted,
-- so the table is the history and `finding_current` the present. The review state belongs to a finding:
-- a finding a reviewer resolved stays resolved while its measured value stays the same.
CREATE TABLE geoland.finding (
    id           bigserial PRIMARY KEY,
    plot_id      bigint NOT NULL REFERENCES geoland.plot (id) ON DELETE CASCADE,
    type         text   NOT NULL,
    category     text   NOT NULL CHECK (category IN ('missing', 'conflict')),
    severity     text   NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
    value        text,
    tolerance    text,
    related      bigint[] NOT NULL DEFAULT '{}',
    job_id       bigint NOT NULL REFERENCES geoland.job (id),
    closed_by    bigint REFERENCES geoland.job (id),
    review_state text   NOT NULL DEFAULT 'open'
                 CHECK (review_state IN ('open', 'assigned', 'resolved', 'not_a_problem')),
    assigned_to  text,
    review_note  text,
    reviewed_by  text,
    reviewed_at  timestamptz
);
CREATE UNIQUE INDEX finding_open_key ON geoland.finding (plot_id, type, related) WHERE closed_by IS NULL;
CREATE INDEX finding_type_idx ON geoland.finding (type) WHERE closed_by IS NULL;
CREATE VIEW geoland.finding_current AS SELECT * FROM geoland.finding WHERE closed_by IS NULL;
"""

DOWNGRADE = r"""
DROP VIEW geoland.finding_current;
DROP TABLE geoland.finding;
DROP TABLE geoland.verification;
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute(DOWNGRADE)
