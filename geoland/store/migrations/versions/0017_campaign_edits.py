"""The campaign loop: commune officers (editors) bound to communes, plot versions, edits with history, disputes.

- ``app_user.role`` gains ``editor`` (cán bộ địa chính xã), between viewer and reviewer; an editor's
  communes are in ``app_user_commune`` (an editor with none sees nothing).
- ``plot.version``: 1 at import, one more with every saved edit (forms, workbooks, commands): a form or a
  workbook row carries the version it was written from, and a save over a newer one is refused.
- ``plot.disputed``, ``disputed_since``, ``dispute_note``: the dispute flag (tranh chấp).
- ``plot_edit``: every value an edit changed, old and new, with the plot version it made, the job, who,
  when and from where (``form``, ``workbook``, ``command``, ``revert``; ``source_ref``: the workbook's
  SHA-256). ``personal`` marks a holder's name, ID number and birth year: shown masked like the register's.
  A revert is an edit of its own that names the edit it undid (``reverts``).

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE geoland.app_user DROP CONSTRAINT app_user_role_check;
ALTER TABLE geoland.app_user ADD CONSTRAINT app_user_role_check
    CHECK (role IN ('viewer', 'editor', 'reviewer', 'admin'));
CREATE TABLE geoland.app_user_commune (
    username     text NOT NULL REFERENCES geoland.app_user (username) ON DELETE CASCADE,
    commune_code text NOT NULL CHECK (commune_code ~ '^[0-9]{5}$'),
    PRIMARY KEY (username, commune_code)
);

-- Constant defaults: PostgreSQL adds these columns without rewriting the plots.
ALTER TABLE geoland.plot ADD COLUMN version integer NOT NULL DEFAULT 1,
                         ADD COLUMN disputed boolean NOT NULL DEFAULT false,
                         ADD COLUMN disputed_since date,
                         ADD COLUMN dispute_note text CHECK (length(dispute_note) <= 2000);

CREATE TABLE geoland.plot_edit (
    id         bigserial PRIMARY KEY,
    job_id     bigint  NOT NULL REFERENCES geoland.job (id),
    plot_id    bigint  NOT NULL REFERENCES geoland.plot (id) ON DELETE CASCADE,
    version    integer NOT NULL,
    entity     text    NOT NULL CHECK (entity IN ('plot', 'holder', 'dispute')),
    entity_id  bigint,
    field      text    NOT NULL,
    old_value  text,
    new_value  text,
    personal   boolean NOT NULL DEFAULT false,
    actor      text    NOT NULL,
    source     text    NOT NULL CHECK (source IN ('form', 'workbook', 'command', 'revert')),
    source_ref text,
    reverts    bigint REFERENCES geoland.plot_edit (id),
    at         timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX plot_edit_plot_idx ON geoland.plot_edit (plot_id, id);
CREATE INDEX plot_edit_at_idx ON geoland.plot_edit (at);
CREATE INDEX plot_edit_job_idx ON geoland.plot_edit (job_id);
CREATE UNIQUE INDEX plot_edit_reverts_key ON geoland.plot_edit (reverts);
-- The latest reorganisation with assignments, read by every quick re-check (a scan of a million rows without it).
CREATE INDEX plot_assignment_effective_idx ON geoland.plot_assignment (effective);
-- A certificate's book number shared with another one (the re-check of a few plots looks it up).
CREATE INDEX certificate_book_number_idx ON geoland.certificate (book_number) WHERE book_number IS NOT NULL;
"""

DOWNGRADE = r"""
DROP INDEX geoland.certificate_book_number_idx;
DROP INDEX geoland.plot_assignment_effective_idx;
DROP TABLE geoland.plot_edit;
DROP VIEW geoland.plot_mx;                -- made again by 0018 with the columns below: made again without them
ALTER TABLE geoland.plot DROP COLUMN dispute_note, DROP COLUMN disputed_since, DROP COLUMN disputed,
                         DROP COLUMN version;
CREATE VIEW geoland.plot_mx AS
    SELECT p.*,
           CASE WHEN p.old_commune_code IS NOT NULL AND p.sheet IS NOT NULL AND p.plot_number IS NOT NULL
                THEN p.old_commune_code || '.' || p.sheet || '.' || p.plot_number END AS legacy_mx
    FROM geoland.plot p;
COMMENT ON VIEW geoland.plot_mx IS
    'geoland.plot with legacy_mx: old_commune_code.sheet.plot_number, NULL when a part is missing';

DROP TABLE geoland.app_user_commune;
DELETE FROM geoland.app_user WHERE role = 'editor';
ALTER TABLE geoland.app_user DROP CONSTRAINT app_user_role_check;
ALTER TABLE geoland.app_user ADD CONSTRAINT app_user_role_check CHECK (role IN ('viewer', 'reviewer', 'admin'));
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute(DOWNGRADE)
