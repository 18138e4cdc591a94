"""Sessions that can be ended: a per-user session generation.

A web session records the generation of its user when it is opened. Logging out, a new password, a role
change and disabling the user add one to it, which ends every session of that user at its next request
(the session cookie is signed, not stored: the generation is what the server can change).

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE geoland.app_user ADD COLUMN session_generation integer NOT NULL DEFAULT 0;
"""

DOWNGRADE = r"""
ALTER TABLE geoland.app_user DROP COLUMN session_generation;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
