"""The PostGIS store: connections, COPY, migrations, job records and the embedded cluster."""
