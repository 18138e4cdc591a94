"""Plot assignments to the new communes: one row per plot and job where the answer changed (history).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE = r"""
-- Written by `geoland reassign`: a row only when a plot's answer for that date is new or changed, with the
-- job that decided it; earlier rows are never updated. The current answer is the latest job's row.
-- No foreign keys: rows are bulk-loaded by the job that read the plots in the same transaction.
CREATE TABLE geoland.plot_assignment (
    job_id         bigint  NOT NULL,
    plot_id        bigint  NOT NULL,
    effective      date    NOT NULL,
    commune_code   text,
    overlap_share  double precision NOT NULL,
    status         text    NOT NULL CHECK (status IN ('inside', 'straddling', 'outside')),
    second_code    text,
    second_share   double precision NOT NULL,
    legal_mismatch boolean,
    CONSTRAINT plot_assignment_pkey PRIMARY KEY (plot_id, effective, job_id)
);

CREATE VIEW geoland.plot_assignment_current AS
    SELECT DISTINCT ON (plot_id, effective) *
    FROM geoland.plot_assignment
    ORDER BY plot_id, effective, job_id DESC;
"""

DOWNGRADE = r"""
DROP VIEW geoland.plot_assignment_current;
DROP TABLE geoland.plot_assignment;
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute(DOWNGRADE)
