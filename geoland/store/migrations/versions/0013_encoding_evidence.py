"""The evidence behind an import's text encoding: how many values were judged, the share of Vietnamese
words under each reading (UTF-8, TCVN3, VNI, Windows-1258, Latin-1), one value before and after, and whether
the user gave the encoding.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE geoland.plot_import ADD COLUMN encoding_evidence jsonb NOT NULL DEFAULT '{}'")


def downgrade() -> None:
    op.execute("ALTER TABLE geoland.plot_import DROP COLUMN encoding_evidence")
