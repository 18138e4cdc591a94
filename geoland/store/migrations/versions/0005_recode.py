"""Recoding of legacy MX.SB.ST codes after a reorganisation: the crosswalk, which is also the history.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UPGRADE = r"""
-- One row per plot and reorganisation: its code before (from the map: MAXA.SB.ST) and after, the policy,
-- the job and why. Rows are only added; any past code still finds its plot.
CREATE TABLE geoland.mx_crosswalk (
    plot_id     bigint NOT NULL,
    effective   date   NOT NULL,
    old_code    text   NOT NULL,
    new_code    text   NOT NULL,
    new_commune text   NOT NULL,
    policy      text   NOT NULL CHECK (policy IN ('prefix', 'renumber')),
    reason      text   NOT NULL,
    job_id      bigint NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (plot_id, effective)
);
CREATE INDEX mx_crosswalk_old_idx ON geoland.mx_crosswalk (old_code);
CREATE INDEX mx_crosswalk_new_idx ON geoland.mx_crosswalk (new_code);
CREATE INDEX mx_crosswalk_commune_idx ON geoland.mx_crosswalk (new_commune, effective);
"""

DOWNGRADE = r"""
DROP TABLE geoland.mx_crosswalk;
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute(DOWNGRADE)
