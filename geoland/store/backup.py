"""``geoland db backup`` and ``geoland db restore``: PostgreSQL's own dump and restore of schema ``geoland``.

A backup is one ``pg_dump --format=custom`` file of the schema ``geoland`` (every table, view, index and
the append-only audit), whose ``alembic_version`` row is its schema version. A restore recreates the
extensions, restores the schema with ``pg_restore`` and migrates it when the file is older than this geoland.
It refuses a database that already holds geoland data unless ``replace`` is asked; the old schema is then
set aside and dropped only once the restore has succeeded (put back if it fails).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from geoland import config
from geoland.errors import ConfigError, Conflict, DatabaseError, InputFileError
from geoland.logs import get_logger
from geoland.store.db import head_revision, make_engine, migrate

log = get_logger(__name__)


def _tool(name: str) -> str:
    """``pg_dump`` or ``pg_restore``: the embedded cluster's version first, else the one on PATH."""
    from geoland.store.embedded import find_bindir

    try:
        path = os.path.join(find_bindir(), name)
        if os.path.exists(path):
            return path
    except ConfigError:                    # no Debian server binaries: try PATH
        pass
    found = shutil.which(name)
    if not found:
        raise DatabaseError(f"{name} not found: install the Debian package postgresql-client")
    return found


def _libpq(url: str) -> tuple[list[str], dict]:
    parts = make_url(url)
    args = ["-h", parts.host or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres",
            "-d", parts.database or "postgres"]
    return args, {**os.environ, "PGPASSWORD": parts.password or ""}


def backup(url: str | None, path: str | Path) -> dict:
    """Write schema ``geoland`` of the database to ``path`` (pg_dump, custom format).

    Returns
    -------
    dict
        The file, its size and the schema version it holds.
    """
    url = config.database_url(url)
    path = Path(path)
    args, env = _libpq(url)
    with make_engine(url).connect() as conn:
        version = conn.execute(sa.text("SELECT version_num FROM geoland.alembic_version")).scalar()
    tmp = path.with_name(path.name + ".partial")
    done = subprocess.run([_tool("pg_dump"), *args, "--format=custom", "--schema=geoland", "--no-owner",
                           f"--file={tmp}"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise DatabaseError(f"pg_dump failed: {done.stderr.strip().splitlines()[-1] if done.stderr else ''}")
    tmp.replace(path)
    log.info("backup of schema version %s written to %s", version, path)
    return {"file": str(path), "bytes": path.stat().st_size, "schema_version": version}


def backup_version(path: str | Path) -> str:
    """The schema version a backup file holds (its ``alembic_version`` row)."""
    done = subprocess.run([_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise InputFileError(path, "not a geoland backup (pg_restore cannot read it)")
    lines = done.stdout.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("COPY ") and "alembic_version" in line)
    except StopIteration:
        raise InputFileError(path, "not a geoland backup (no schema version in it)") from None
    return lines[start + 1].strip()


def restore(url: str | None, path: str | Path, *, replace: bool = False) -> dict:
    """Restore a backup into the database, then migrate it to this geoland's schema.

    Raises
    ------
    InputFileError
        The file is not a geoland backup.
    Conflict
        The database holds geoland data and ``replace`` is false; or the backup is newer than this geoland.
    """
    url = config.database_url(url)
    version = backup_version(path)
    if version > head_revision():
        raise Conflict(f"{path}: the backup is of schema {version}, newer than this geoland ({head_revision()})")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            present = conn.execute(sa.text("SELECT to_regclass('geoland.job')")).scalar()
            used = present and conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM geoland.job)")).scalar()
            if used and not replace:
                raise Conflict("the database already holds geoland data: restore into an empty one, or pass "
                               "--replace to drop it first")
            conn.execute(sa.text("DROP SCHEMA IF EXISTS geoland_replaced CASCADE"))
            if present:
                conn.execute(sa.text("ALTER SCHEMA geoland RENAME TO geoland_replaced"))
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public"))
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public"))
        args, env = _libpq(url)
        done = subprocess.run([_tool("pg_restore"), *args, "--no-owner", "--single-transaction",
                               "--exit-on-error", str(path)], env=env, capture_output=True, text=True)
        with engine.begin() as conn:
            if done.returncode != 0:
                if present:
                    conn.execute(sa.text("ALTER SCHEMA geoland_replaced RENAME TO geoland"))
                raise DatabaseError(f"pg_restore failed, the database is as it was: "
                                    f"{done.stderr.strip().splitlines()[-1] if done.stderr else ''}")
            conn.execute(sa.text("DROP SCHEMA IF EXISTS geoland_replaced CASCADE"))
    finally:
        engine.dispose()
    _, after = migrate(url)
    log.info("restored %s (schema %s), migrated to %s", path, version, after)
    return {"file": str(path), "schema_version": version, "migrated_to": after}
