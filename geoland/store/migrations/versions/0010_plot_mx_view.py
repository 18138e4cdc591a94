"""One definition of a plot's legacy MX.SB.ST code: the view ``geoland.plot_mx``.

The string ``old_commune_code.sheet.plot_number`` (e.g. ``03646.25.112``) was built in SQL in six places,
two of them with ``?`` for a missing part. ``geoland.plot_mx`` is ``geoland.plot`` with one more column,
``legacy_mx``: the code when all three parts are present, NULL otherwise (a partial code names no plot).
A view over one table is inlined by the planner: reading it costs what reading ``geoland.plot`` costs.
A later migration that adds a column to ``geoland.plot`` recreates this view (``p.*`` is fixed when a view
is created).

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE VIEW geoland.plot_mx AS
    SELECT p.*,
           CASE WHEN p.old_commune_code IS NOT NULL AND p.sheet IS NOT NULL AND p.plot_number IS NOT NULL
                THEN p.old_commune_code || '.' || p.sheet || '.' || p.plot_number END AS legacy_mx
    FROM geoland.plot p;
COMMENT ON VIEW geoland.plot_mx IS
    'geoland.plot with legacy_mx: old_commune_code.sheet.plot_number, NULL when a part is missing';
"""

DOWNGRADE = r"""
DROP VIEW geoland.plot_mx;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
