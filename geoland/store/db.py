"""Connections to the PostGIS store, migrations, and bulk loading with COPY."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from geoland import config
from geoland.errors import DatabaseError

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlalchemy_url(url: str) -> str:
    """Use the psycopg 3 driver whatever scheme the user wrote."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql+psycopg://", url)


# Session settings for geoland's queries: JIT compilation off (its second of compiling per large query
# never paid back on these joins and scans of a million rows; measured on the check's read); temporary
# tables of a million rows (the check's plots, the register import's staged sheets) kept in memory rather
# than spilled from the default 8 MB (the register's checks at 1 M plots: 21 s → 17 s). A ceiling: a
# session that makes no temporary table uses none of it.
SESSION_OPTIONS = "-c jit=off -c temp_buffers=256MB -c enable_partitionwise_join=on"


@contextlib.contextmanager
def without_parallel_workers():
    """Plan this process's queries without parallel workers within the block.

    Within the block, plan the queries of this process (and of those it forks) without parallel
    workers: for runs that already keep every core busy with steps side by side (the demo), where workers
    only add CPU time — each builds its own copy of a join's hash table (the export's read at 1 M plots:
    8.3 s of server CPU in three processes against 6.9 s in one).
    """
    global SESSION_OPTIONS
    before = SESSION_OPTIONS
    SESSION_OPTIONS = before + " -c max_parallel_workers_per_gather=0"
    try:
        yield
    finally:
        SESSION_OPTIONS = before


def make_engine(url: str | None = None, *, pool_size: int = 5) -> Engine:
    """A SQLAlchemy engine on geoland's database (the embedded cluster unless ``url``).

    ``pool_size`` connections are kept (a server gives one per thread), as many again opened at need.
    """
    return sa.create_engine(sqlalchemy_url(config.database_url(url)), pool_pre_ping=True, pool_size=pool_size,
                            max_overflow=pool_size,
                            connect_args={"application_name": "geoland", "options": SESSION_OPTIONS})


@contextlib.contextmanager
def connect(url: str | None = None, *, migrated: bool = True) -> Iterator[Connection]:
    """A connection in one transaction, committed when the block ends.

    A connection in one transaction: committed when the block ends, rolled back on any error, so a
    failed command leaves the database as it was.
    """
    engine = make_engine(url)
    try:
        with unreachable_as_error(), engine.begin() as conn:
            if migrated:
                require_migrated(conn)
            yield conn
    finally:
        engine.dispose()


def warm_pool(engine: Engine, connections: int) -> int:
    """Open ``connections`` pooled connections and ready each for the first request.

    Each gets PostGIS loaded and the coordinate transformations of the zones in use built: a fresh backend
    spends tens of milliseconds on them, which the first look-ups of a just-started server would wait for.

    Returns how many were warmed; none when the database cannot be reached yet (the server starts anyway
    and answers 503 until it can).
    """
    opened: list[Connection] = []
    try:
        for _ in range(connections):
            conn = engine.connect()
            opened.append(conn)
            conn.execute(sa.text("""
                SELECT count(ST_Transform(ST_Transform(ST_SetSRID(ST_MakePoint(105, 16), 4326), srid), 4326))
                FROM (SELECT DISTINCT srid FROM geoland.plot_import) z"""))
            conn.rollback()
    except sa.exc.SQLAlchemyError:
        return 0
    finally:
        for conn in opened:
            conn.close()
    return len(opened)


def request_settings(conn: Connection, seconds: float) -> None:
    """Set the web request's transaction: a statement timeout, no parallel workers, no JIT.

    The server cancels any query that runs longer than ``seconds``; no query takes parallel workers (many
    small requests share the cores, and one must not take them all); no query is compiled by the JIT: a page's
    queries read thousands of rows, not millions, and compiling them cost more than running them (the largest
    commune's map query at 1 M plots: 0.77 s of JIT for 0.63 s of work; ``benchmarks/pages.py``); and index
    reads are costed as on the SSDs servers have (``random_page_cost`` 1.1 instead of the spinning disks' 4), or
    a commune's 34,000 plots are found by reading all million rows of two tables (1.44 s instead of 0.80 s).
    """
    conn.execute(sa.text("SELECT set_config('statement_timeout', :ms, true), "
                         "set_config('max_parallel_workers_per_gather', '0', true), set_config('jit', 'off', true), "
                         "set_config('random_page_cost', '1.1', true)"),
                 {"ms": str(int(seconds * 1000))})


@contextlib.contextmanager
def unreachable_as_error():
    """Turn a lost or refused connection into a :class:`DatabaseError` within the block.

    One clear line for the CLI, 503 for the web app, instead of an internal error.
    """
    try:
        yield
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        raise DatabaseError(f"cannot use the database: {_first_line(exc.orig or exc)} "
                            "(is it running? `geoland db start`)") from exc


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
    """The schema revision this version of geoland needs."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(conn: Connection) -> str | None:
    """The database's schema revision, or None before the first migration."""
    exists = conn.execute(sa.text("SELECT to_regclass('geoland.alembic_version')")).scalar()
    if exists is None:
        return None
    return conn.execute(sa.text("SELECT version_num FROM geoland.alembic_version")).scalar()


def require_migrated(conn: Connection) -> None:
    """Refuse (:class:`DatabaseError`) a database whose schema is not this version's."""
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


def csv_bytes(columns, *, header: bool = False) -> bytes:
    """Columns as CSV bytes, for COPY or for a file.

    Columns (a pyarrow Table, or name → array, pandas Series or pyarrow array) as CSV: for ``COPY …
    (FORMAT csv)`` (NULL as an unquoted empty field, text quoted) or, with ``header``, as a file.
    pyarrow's writer: no Python loop per row.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = columns if isinstance(columns, pa.Table) else pa.table(
        {k: v if isinstance(v, pa.Array) else pa.array(v, from_pandas=True) for k, v in columns.items()})
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=header, quoting_style="needed"))
    return sink.getvalue().to_pybytes()


def copy_csv(conn: Connection, target: str, chunks: Iterable[bytes]) -> None:
    """COPY CSV chunks (from :func:`csv_bytes`) into ``target`` (``table (col, ...)``).

    ``chunks`` may be a generator: each is made when the one before it is sent, so that a large write holds one
    chunk at a time. No COPY when there is nothing to write.
    """
    chunks = (c for c in chunks if c)
    first = next(chunks, None)
    if first is None:
        return
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN (FORMAT csv)") as copy:
        copy.write(first)
        for chunk in chunks:
            copy.write(chunk)


# PostgreSQL type OIDs → how their CSV text is read: whole numbers, floating point, booleans, dates,
# bytea (``\\x`` hex), arrays of bigint; anything else stays text.
_INTEGERS = {20, 21, 23, 26}
_FLOATS = {700, 701, 1700}
_BOOLEAN, _DATE, _BYTEA, _BIGINT_ARRAYS = 16, 1082, 17, {1016, 1007}


def _copy_out(conn: Connection, sql: str, params: dict | None, *, header: bool, describe: bool = False, bar=None,
              sink=None):
    """``COPY (sql) TO STDOUT`` as CSV into memory, or into ``sink``.

    ``COPY (sql) TO STDOUT`` as CSV into memory (or into ``sink``, a binary file, for a result too large to
    hold), with ``describe`` the type OIDs of its columns, and the number of rows (the header not counted);
    the parameters are bound on the client (psycopg). The COPY rows are taken straight from libpq: the server
    sends one message per row, and psycopg's generator costs 5 µs each, half the time of a large read.
    """
    import io

    import psycopg
    from psycopg import pq

    raw = conn.connection.driver_connection
    query = psycopg.ClientCursor(raw).mogrify(sql, params) if params else sql
    oids = None
    if describe:
        with raw.cursor() as cur:
            cur.execute(f"SELECT * FROM ({query}) AS q LIMIT 0")
            oids = [(d.name, d.type_code) for d in cur.description]
    buffer = io.BytesIO() if sink is None else sink
    pgconn = raw.pgconn
    pgconn.send_query(f"COPY ({query}) TO STDOUT (FORMAT csv{', HEADER' if header else ''})".encode())
    result = pgconn.get_result()
    if result.status != pq.ExecStatus.COPY_OUT:
        while pgconn.get_result() is not None:
            pass
        raise psycopg.errors.error_from_result(result, encoding=raw.info.encoding)
    rows = 0
    while True:
        size, data = pgconn.get_copy_data(0)
        if size < 0:
            break
        buffer.write(data)
        rows += 1
        if bar is not None and rows % 65536 == 0:
            bar.update(65536)
    final, failed = pgconn.get_result(), None
    if final is not None and final.status != pq.ExecStatus.COMMAND_OK:
        failed = final
    while pgconn.get_result() is not None:
        pass
    if failed is not None:
        raise psycopg.errors.error_from_result(failed, encoding=raw.info.encoding)
    if bar is not None:
        bar.update(rows % 65536)
    if sink is None:
        buffer.seek(0)
    return buffer, oids, rows - (1 if header and rows else 0)


def read_columns(conn: Connection, sql: str, params: dict | None = None, columns: list[str] | None = None, *,
                 label: str | None = None, total: int | None = None, progress: bool = False):
    """The rows of a query as a DataFrame, read through COPY.

    The rows of ``sql`` (psycopg ``%(name)s`` parameters) as a DataFrame of ``columns`` holding Python
    values (``None`` for NULL; floats as float64 with NaN): the same values a cursor would give, but read
    through ``COPY … TO STDOUT`` and pyarrow's CSV reader — no Python object per value on the way, ten
    times faster than a cursor at a million rows. bytea arrives as ``bytes``, bigint[] as tuples. Without
    ``columns`` the query's own column names are used.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from geoland.progress import progress_bar

    with progress_bar(total or 0, label or "rows", enabled=progress and bool(total)) as bar:
        buffer, described, _ = _copy_out(conn, sql, params, header=False, describe=True, bar=bar)
    columns = columns or [name for name, _ in described]
    oids = [oid for _, oid in described]
    if len(oids) != len(columns):
        raise ValueError(f"the query gives {len(oids)} columns, {len(columns)} names were given")
    types = {}
    for name, oid in zip(columns, oids):
        types[name] = (pa.int64() if oid in _INTEGERS else pa.float64() if oid in _FLOATS
                       else pa.bool_() if oid == _BOOLEAN else pa.date32() if oid == _DATE else pa.string())
    if buffer.getbuffer().nbytes == 0:
        return pd.DataFrame({name: pd.Series([], dtype=object if types[name] != pa.float64() else float)
                             for name in columns})
    table = pacsv.read_csv(buffer, read_options=pacsv.ReadOptions(column_names=columns, block_size=1 << 26),
                           convert_options=pacsv.ConvertOptions(
                               column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False,
                               null_values=[""], true_values=["t"], false_values=["f"]))
    frame = {}
    for name, oid in zip(columns, oids):
        column = table.column(name)
        if oid in _FLOATS:
            frame[name] = column.to_pandas()
            continue
        shared = None if oid in (_DATE, _BYTEA, _BOOLEAN) or oid in _BIGINT_ARRAYS else _shared_values(column)
        if shared is not None:
            values = shared
        elif oid in _INTEGERS and column.null_count:
            values = column.to_pandas(integer_object_nulls=True).to_numpy(dtype=object)
        elif oid == _DATE:
            values = np.array(column.to_pylist(), dtype=object)
        else:
            values = column.to_numpy(zero_copy_only=False).astype(object)
        if oid == _BYTEA:
            values = _from_hex(values)
        elif oid in _BIGINT_ARRAYS:
            values = _bigint_arrays(values)
        frame[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(frame)


def _shared_values(column):
    """A column's values as Python objects, one object for all equal values, when values repeat.

    A column of text or integers in which at least half the values repeat (commune and province codes, land use,
    sheet numbers) as an object array whose equal values are the same Python object: 8 bytes a row instead of
    a string or integer object each (about 60 bytes) — a province's plots read for its check hold 0.4 GB less at
    1 M plots. None where the column is short or its values mostly distinct (the caller converts it as usual).
    """
    import numpy as np
    import pyarrow.compute as pc

    array = column.combine_chunks()
    if len(array) < 1024:
        return None
    encoded = pc.dictionary_encode(array)
    if len(encoded.dictionary) * 2 > len(array):
        return None
    words = np.empty(len(encoded.dictionary) + 1, dtype=object)           # the last one: NULL
    words[:-1] = encoded.dictionary.to_numpy(zero_copy_only=False).astype(object)
    return words[encoded.indices.fill_null(len(encoded.dictionary)).to_numpy()]


def _from_hex(values):
    r"""Bytea as COPY writes it (``\x0103…``) → bytes."""
    import numpy as np

    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = None if v is None else bytes.fromhex(v[2:])
    return out


def _bigint_arrays(values):
    """``{1,2}`` → (1, 2); each distinct text is parsed once (most are ``{}``)."""
    import numpy as np

    parsed = {}
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if v is None:
            out[i] = None
            continue
        got = parsed.get(v)
        if got is None:
            got = parsed[v] = tuple(int(x) for x in v.strip("{}").split(",") if x)
        out[i] = got
    return out


def read_csv_table(conn: Connection, sql: str, params: dict | None = None):
    """The rows of a query as a pyarrow Table, read through COPY.

    The rows of ``sql`` as a pyarrow Table, through ``COPY (…) TO STDOUT`` and pyarrow's CSV reader: no
    Python object per value, for exports of a million rows. Text columns stay text (no type guessing);
    ``column_types`` of the reader may be passed as ``params['_types']``.
    """
    import pyarrow.csv as pacsv

    params = dict(params or {})
    types = params.pop("_types", {})
    buffer, _, _ = _copy_out(conn, sql, params, header=True)
    return pacsv.read_csv(buffer, convert_options=_copy_convert_options(types))


def spool_csv(conn: Connection, sql: str, params: dict | None, path) -> int:
    """Write the rows of a query, through COPY, to the CSV file ``path`` (with a header); returns their number.

    For results too large to hold: read them back block by block with :func:`read_csv_batches`.
    """
    with open(path, "wb") as sink:
        return _copy_out(conn, sql, params, header=True, sink=sink)[2]


def read_csv_batches(path, types: dict, block_bytes: int):
    """A CSV file written by :func:`spool_csv` or :func:`csv_bytes`, as a stream of pyarrow RecordBatches.

    Read ``block_bytes`` at a time, with the conversions of :func:`read_csv_table` (``types``: pyarrow types by
    column; give every column one, or a block's values decide it). Its ``schema`` is known before the first
    batch, also when the file holds its header only.
    """
    import pyarrow.csv as pacsv

    return pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=block_bytes),
                          convert_options=_copy_convert_options(types))


def _copy_convert_options(types: dict):
    """How a CSV written by COPY (or :func:`csv_bytes`) reads back: NULL is the unquoted empty field, "" is text."""
    import pyarrow.csv as pacsv

    return pacsv.ConvertOptions(column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False,
                                null_values=[""], auto_dict_encode=False)
