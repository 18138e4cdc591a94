"""Connections to the PostGIS store, migrations, and bulk loading with COPY."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import config
from .errors import DatabaseError

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlalchemy_url(url: str) -> str:
    """Use the psycopg 3 driver whatever scheme the user wrote."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql+psycopg://", url)


def make_engine(url: str | None = None) -> Engine:
    return sa.create_engine(sqlalchemy_url(config.database_url(url)), pool_pre_ping=True,
                            connect_args={"application_name": "geoland"})


@contextlib.contextmanager
def connect(url: str | None = None, *, migrated: bool = True) -> Iterator[Connection]:
    """A connection in one transaction: committed when the block ends, rolled back on any error, so a
    failed command leaves the database as it was."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            if migrated:
                require_migrated(conn)
            yield conn
    except sa.exc.OperationalError as exc:
        raise DatabaseError(f"cannot use the database: {_first_line(exc.orig or exc)}") from exc
    finally:
        engine.dispose()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _alembic_config(conn: Connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(conn: Connection) -> str | None:
    exists = conn.execute(sa.text("SELECT to_regclass('geoland.alembic_version')")).scalar()
    if exists is None:
        return None
    return conn.execute(sa.text("SELECT version_num FROM geoland.alembic_version")).scalar()


def require_migrated(conn: Connection) -> None:
    current, head = current_revision(conn), head_revision()
    if current != head:
        raise DatabaseError(
            f"the database schema is at revision {current or 'none'}, geoland needs {head}: "
            "run `geoland db migrate`"
        )


def migrate(url: str | None = None) -> tuple[str | None, str]:
    """Apply the Alembic migrations; returns (revision before, revision after)."""
    from alembic import command

    with connect(url, migrated=False) as conn:
        conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS geoland"))
        before = current_revision(conn)
        command.upgrade(_alembic_config(conn), "head")
        return before, current_revision(conn)


def server_versions(conn: Connection) -> dict[str, str]:
    """PostgreSQL, PostGIS, GEOS and PROJ versions of the server, for reports and test headers."""
    row = conn.execute(sa.text(
        "SELECT current_setting('server_version'), postgis_lib_version(), "
        "postgis_geos_version(), postgis_proj_version()"
    )).one()
    return dict(zip(("postgresql", "postgis", "geos", "proj"), row))


def csv_bytes(columns: dict) -> bytes:
    """Columns (name → array, pandas Series or pyarrow array) as PostgreSQL CSV for ``COPY … (FORMAT csv)``:
    NULL as an unquoted empty field, quotes only where needed. pyarrow's writer: no Python loop per row."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.table({k: v if isinstance(v, pa.Array) else pa.array(v, from_pandas=True)
                      for k, v in columns.items()})
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return sink.getvalue().to_pybytes()


def copy_csv(conn: Connection, target: str, chunks: Iterable[bytes]) -> None:
    """COPY CSV chunks (from :func:`csv_bytes`) into ``target`` (``table (col, ...)``)."""
    chunks = [c for c in chunks if c]
    if not chunks:
        return
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN (FORMAT csv)") as copy:
        for chunk in chunks:
            copy.write(chunk)


def read_columns(conn: Connection, sql: str, params: dict, columns: list[str], *, label: str | None = None,
                 total: int | None = None, progress: bool = False, fetch: int = 100_000):
    """The rows of ``sql`` (psycopg ``%(name)s`` parameters) as a DataFrame of ``columns``, streamed from a
    server-side cursor in binary (WKB arrives as bytes, no hex), with a progress bar when ``total`` is given."""
    import pandas as pd

    from .progress import progress_bar

    raw = conn.connection.driver_connection
    values: list[list] = [[] for _ in columns]
    with progress_bar(total or 0, label or "rows", enabled=progress and bool(total)) as bar, \
            raw.cursor(name="geoland_read") as cur:
        cur.execute(sql, params, binary=True)
        while rows := cur.fetchmany(fetch):
            for column, got in zip(values, zip(*rows)):
                column.extend(got)
            bar.update(len(rows))
    return pd.DataFrame({name: pd.Series(v, dtype=object) for name, v in zip(columns, values)})


def read_csv_table(conn: Connection, sql: str, params: dict | None = None):
    """The rows of ``sql`` as a pyarrow Table, through ``COPY (…) TO STDOUT`` and pyarrow's CSV reader: no
    Python object per value, for exports of a million rows. Text columns stay text (no type guessing);
    ``column_types`` of the reader may be passed as ``params['_types']``."""
    import io

    import pyarrow.csv as pacsv

    params = dict(params or {})
    types = params.pop("_types", {})
    import psycopg

    raw = conn.connection.driver_connection
    buffer = io.BytesIO()
    query = psycopg.ClientCursor(raw).mogrify(sql, params) if params else sql
    with raw.cursor() as cur:
        with cur.copy(f"COPY ({query}) TO STDOUT (FORMAT csv, HEADER)") as copy:
            for block in copy:
                buffer.write(block)
    buffer.seek(0)
    return pacsv.read_csv(buffer, convert_options=pacsv.ConvertOptions(
        column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False,
        null_values=[""], auto_dict_encode=False))
