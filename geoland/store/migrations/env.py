"""Alembic environment: geoland passes its own connection (see geoland.store.db.migrate)."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table_schema="geoland", transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
