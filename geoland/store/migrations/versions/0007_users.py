"""Users of the web app and API (roles viewer / reviewer / admin), and reviewers' comments on findings.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UPGRADE = r"""
-- Passwords and API tokens are stored as hashes only (werkzeug's scrypt / sha256 of the token).
CREATE TABLE geoland.app_user (
    username      text PRIMARY KEY CHECK (username ~ '^[a-z0-9][a-z0-9_.-]{1,39}$'),
    role          text NOT NULL CHECK (role IN ('viewer', 'reviewer', 'admin')),
    password_hash text NOT NULL,
    token_hash    text UNIQUE,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- What reviewers said about a finding; the actions themselves are in the audit trail.
CREATE TABLE geoland.finding_comment (
    id         bigserial PRIMARY KEY,
    finding_id bigint NOT NULL REFERENCES geoland.finding (id),
    author     text   NOT NULL,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    body       text   NOT NULL CHECK (length(body) BETWEEN 1 AND 4000)
);
CREATE INDEX finding_comment_finding_idx ON geoland.finding_comment (finding_id);
CREATE INDEX plot_assignment_commune_idx ON geoland.plot_assignment (commune_code, effective);
CREATE INDEX finding_plot_idx ON geoland.finding (plot_id) WHERE closed_by IS NULL;
"""

DOWNGRADE = r"""
DROP INDEX geoland.finding_plot_idx;
DROP INDEX geoland.plot_assignment_commune_idx;
DROP TABLE geoland.finding_comment;
DROP TABLE geoland.app_user;
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute(DOWNGRADE)
