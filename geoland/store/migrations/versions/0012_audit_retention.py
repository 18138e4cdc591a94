"""Audit retention: events older than the retention period can be purged, and nothing else.

The audit trail stays append-only (UPDATE and TRUNCATE are refused, as is DELETE of any other row). A DELETE
is let through only for an event older than the cut-off that the purge sets for its own transaction
(``SET LOCAL geoland.audit_purge_before``); ``geoland audit purge`` is the only writer of that setting, and
it records the purge itself (cut-off and count) as an audit event.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE FUNCTION geoland.audit_purge_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cutoff timestamptz := nullif(current_setting('geoland.audit_purge_before', true), '')::timestamptz;
BEGIN
    IF TG_OP = 'DELETE' AND cutoff IS NOT NULL AND OLD.at < cutoff THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'geoland.% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $$;
DROP TRIGGER audit_event_append_only ON geoland.audit_event;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON geoland.audit_event
    FOR EACH ROW EXECUTE FUNCTION geoland.audit_purge_only();
"""

DOWNGRADE = r"""
DROP TRIGGER audit_event_append_only ON geoland.audit_event;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON geoland.audit_event
    FOR EACH ROW EXECUTE FUNCTION geoland.refuse_change();
DROP FUNCTION geoland.audit_purge_only();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
