"""Plot identification codes (issued once) and code conflicts.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UPGRADE = r"""
-- One code per plot, issued once by a job and never recomputed (DESIGN §4).
CREATE TABLE geoland.plot_code (
    plot_id   bigint PRIMARY KEY,
    code      text   NOT NULL CHECK (code ~ '^[0-9b-hjkmnp-z]{12}$'),
    job_id    bigint NOT NULL,
    tolerance double precision NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX plot_code_code_idx ON geoland.plot_code (code);

-- Two plots with one code, or a stored code whose cell is no longer inside its plot: for review.
CREATE TABLE geoland.code_conflict (
    id       bigserial PRIMARY KEY,
    kind     text     NOT NULL CHECK (kind IN ('duplicate_code', 'cell_outside_plot')),
    code     text     NOT NULL,
    plot_ids bigint[] NOT NULL,
    job_id   bigint   NOT NULL,
    found_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (kind, code, plot_ids)
);
"""

DOWNGRADE = r"""
DROP TABLE geoland.code_conflict;
DROP TABLE geoland.plot_code;
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute(DOWNGRADE)
