"""Fixtures: a real PostGIS (the embedded cluster, or GEOLAND_DATABASE_URL), one freshly migrated database
per test cloned from a template, the public sample data (tests skip with a reason without it), and a way
to run the CLI in-process with its exit code and output."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from geoland import config
from geoland.store.db import migrate, sqlalchemy_url

SAMPLE_REASON = ("sample data not found: put the public data in ../shared/data beside the checkout or set "
                 "GEOLAND_SAMPLE_DATA (see ../shared/data/README.md)")


DB_FIXTURES = {"server_url", "db_url", "module_db", "template_db", "module_cli"}
DB_MODULES = {"test_embedded.py", "test_db.py"}       # they start clusters or connect on their own (tests/store)


def pytest_collection_modifyitems(config, items):
    """Mark the tests by what they need, from the fixtures they use: ``db`` (PostgreSQL/PostGIS) and
    ``browser`` (Chromium); ``pytest -m "not db"`` then runs without a database."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & DB_FIXTURES or item.path.name in DB_MODULES:
            item.add_marker(pytest.mark.db)
        if "browser" in names or "page" in names:
            item.add_marker(pytest.mark.browser)


def pytest_report_header(config):
    import geopandas
    import pyproj
    import shapely

    lines = [f"geoland: shapely {shapely.__version__} (GEOS {shapely.geos_version_string}), "
             f"pyproj {pyproj.__version__} (PROJ {pyproj.proj_version_str}), geopandas {geopandas.__version__}"]
    try:
        url = _server_url()
        engine = sa.create_engine(sqlalchemy_url(url))
        with engine.connect() as conn:
            pg = conn.execute(sa.text("SHOW server_version")).scalar()
            postgis = conn.execute(sa.text(
                "SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'")).scalar()
        engine.dispose()
        lines.append(f"geoland: PostgreSQL {pg}, PostGIS {postgis} available")
    except Exception as exc:
        lines.append(f"geoland: no database yet ({type(exc).__name__})")
    return lines


def _server_url() -> str:
    url = os.environ.get("GEOLAND_DATABASE_URL")
    if url:
        return url
    from geoland.store.embedded import EmbeddedCluster

    cluster = EmbeddedCluster(config.default_data_dir())
    cluster.start()
    return cluster.url()


def _with_database(url: str, name: str) -> str:
    return sa.engine.make_url(sqlalchemy_url(url)).set(database=name).render_as_string(hide_password=False)


def _admin(url: str):
    return sa.create_engine(_with_database(url, "postgres"), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def server_url():
    return _server_url()


@pytest.fixture(scope="session")
def template_db(server_url):
    """A migrated database used as the template of each test's database."""
    name = f"geoland_test_tpl_{os.getpid()}"
    admin = _admin(server_url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    migrate(_with_database(server_url, name))
    yield name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _clone(server_url, template_db) -> tuple[str, str]:
    name = f"geoland_test_{uuid.uuid4().hex[:10]}"
    admin = _admin(server_url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'))
    admin.dispose()
    return name, _with_database(server_url, name)


def _drop(server_url, name):
    admin = _admin(server_url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db_url(server_url, template_db, monkeypatch):
    """URL of a fresh, migrated, empty database for one test; also set as GEOLAND_DATABASE_URL."""
    name, url = _clone(server_url, template_db)
    monkeypatch.setenv("GEOLAND_DATABASE_URL", url)
    yield url
    _drop(server_url, name)


@pytest.fixture
def other_db(server_url, template_db):
    """A second fresh database for one test (not set as GEOLAND_DATABASE_URL): the same work done two ways."""
    name, url = _clone(server_url, template_db)
    yield url
    _drop(server_url, name)


@pytest.fixture(scope="module")
def module_db(server_url, template_db):
    """A fresh database shared by the tests of one module (for data that is slow to load)."""
    name, url = _clone(server_url, template_db)
    yield url
    _drop(server_url, name)


@pytest.fixture(scope="session")
def sample_data() -> Path:
    found = config.sample_data_dir()
    if found is None or not (found / "admin_units_2025_conversion.csv").is_file():
        pytest.skip(SAMPLE_REASON)
    return found


def _run_cli(args, read_output):
    from geoland.cli import main

    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return (code, *read_output())


@pytest.fixture
def geoland_cli(capsys, monkeypatch, tmp_path):
    """Run ``geoland ARGS`` in-process; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("GEOLAND_HOME", str(tmp_path / "home"))

    def run(*args):
        capsys.readouterr()
        return _run_cli(args, lambda: tuple(capsys.readouterr()))

    return run


@pytest.fixture(scope="module")
def module_cli(module_db, tmp_path_factory):
    """``geoland ARGS`` in-process on the module's database (for data that the tests of a module share);
    returns (exit code, stdout, stderr) like :func:`geoland_cli`."""
    import contextlib
    import io

    home = tmp_path_factory.mktemp("home")

    def run(*args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return _run_cli(args, lambda: (out.getvalue(), err.getvalue()))

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GEOLAND_HOME", str(home))
        patch.setenv("GEOLAND_DATABASE_URL", module_db)
        yield run


def snapshot(url: str) -> dict:
    """Every row of every geoland table, as a digest per table: equal snapshots = unchanged database."""
    engine = sa.create_engine(sqlalchemy_url(url))
    with engine.connect() as conn:
        tables = conn.execute(sa.text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'geoland' "
            "AND table_type = 'BASE TABLE' ORDER BY 1")).scalars().all()
        out = {t: tuple(conn.execute(sa.text(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM geoland.{t} t"
        )).one()) for t in tables}
    engine.dispose()
    return out


def query(url: str, sql: str, **params):
    """Run one statement in its own committed transaction; returns its rows."""
    engine = sa.create_engine(sqlalchemy_url(url))
    with engine.begin() as conn:
        rows = conn.execute(sa.text(sql), params).all()
    engine.dispose()
    return rows


@pytest.fixture
def db_snapshot():
    return snapshot


@pytest.fixture
def db_query():
    return query


def write_and_load_province(run, folder: Path, province="99", first_code=90001, origin=(485_000.0, 2_345_000.0),
                            n_plots=2000, seed=0, n_old=24):
    """Write a synthetic province's files into ``folder`` and load them with the CLI runner ``run`` the way
    a user would: its conversion table, its 2025 communes, and ``n_plots`` synthetic plots on its old
    communes. Returns (the reorganisation, the synthetic plots with their truth)."""
    from geoland.sample.national import write_province

    folder.mkdir()
    reorg, plots = write_province(folder, province=province, first_code=first_code, origin=origin, n_plots=n_plots,
                                  seed=seed, n_old=n_old)
    for args in (("units", "load-conversion", folder / "conversion.csv"),
                 ("units", "load-boundaries", folder / "new.geojson", "--effective", "2025-07-01"),
                 ("plots", "import", folder / "plots.gpkg", "--province", province)):
        code, _, err = run(*args)
        assert code == 0, err
    return reorg, plots


@contextlib.contextmanager
def served(database_url: str, folder: Path, *options: str, **env: str):
    """``geoland serve`` (waitress) in a subprocess on a free loopback port, as a user runs it: yields
    (base URL, its log file open for reading); stopped after."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(folder / "server.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "geoland.cli", "serve", "--port", str(port), *options],
                            env={**os.environ, "GEOLAND_DATABASE_URL": database_url, "GEOLAND_SECRET_KEY": "x",
                                 "GEOLAND_HOME": str(folder), **env}, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}", log
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def log_in(browser, url: str, name: str, password: str, viewport=(1366, 768)):
    """A new browser page logged in to the web app at ``url``; it records page errors (``page.errors``) and every
    request that leaves the machine (``page.outside``)."""
    page = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}).new_page()
    page.errors, page.outside = [], []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("request", lambda r: page.outside.append(r.url) if not r.url.startswith(
        ("http://127.0.0.1", "data:", "about:", "blob:")) else None)
    page.goto(f"{url}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")
    return page


@pytest.fixture(scope="session")
def helpers():
    """The plain functions behind the fixtures, for module-scoped fixtures: ``query``, ``snapshot``,
    ``write_and_load_province``, ``served``, ``log_in``."""
    from types import SimpleNamespace

    return SimpleNamespace(query=query, snapshot=snapshot, write_and_load_province=write_and_load_province,
                           served=served, log_in=log_in)


@pytest.fixture
def load_province(tmp_path, geoland_cli):
    """Load a synthetic province into the test database (see :func:`write_and_load_province`)."""
    def load(province="99", **options):
        return write_and_load_province(geoland_cli, tmp_path / f"province-{province}", province, **options)

    return load


@pytest.fixture
def checked_province(db_url, load_province, geoland_cli):
    """A synthetic province loaded, reassigned, coded and checked, as a user brings one to review: a function
    taking the number of plots (default 800); returns the database URL."""
    def load(n_plots: int = 800) -> str:
        load_province("99", n_plots=n_plots)
        for args in (("reassign",), ("codes", "issue"), ("check",)):
            code, _, err = geoland_cli(*args)
            assert code == 0, err
        return db_url

    return load


@pytest.fixture
def kill_and_resume(db_url, server_url):
    """Run a geoland command on the test database, SIGKILL it once ``progress_sql`` (a count) passes
    ``threshold``, run it again to the end; meanwhile run it uninterrupted on a copy of the database made
    beforehand. Returns (partial count at the kill, URL of the copy) for the caller to compare."""
    import contextlib
    import os
    import signal
    import subprocess
    import sys
    import time

    name = db_url.rsplit("/", 1)[1]
    copy = f"{name}_copy"
    admin = _admin(server_url)

    def run(args, progress_sql, threshold):
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"'))
        copy_url = db_url.rsplit("/", 1)[0] + "/" + copy
        command = [sys.executable, "-m", "geoland.cli", *args]
        proc = subprocess.Popen(command, env={**os.environ, "GEOLAND_DATABASE_URL": db_url},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if query(db_url, progress_sql)[0][0] >= threshold:
                break
            time.sleep(0.02)
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        partial = query(db_url, progress_sql)[0][0]
        time.sleep(0.5)                          # the server drops the dead session, its transaction and lock
        for url in (db_url, copy_url):
            done = subprocess.run(command, env={**os.environ, "GEOLAND_DATABASE_URL": url}, capture_output=True,
                                  text=True)
            assert done.returncode == 0, done.stderr
        return partial, copy_url

    yield run
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
    admin.dispose()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "out" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright (never `playwright install`)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh page that records every request leaving the machine or failing."""
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.failed_requests = []
    page.errors = []
    page.on("requestfailed", lambda r: page.failed_requests.append(r.url))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    context.close()


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return take


@pytest.fixture
def running_job(db_url):
    """A job of ``kind`` on province ``scope`` marked running by ``actor`` in another session that holds
    its advisory lock for the block (as a job in progress does); then the session dies."""
    import contextlib

    from geoland.store.jobs import lock_key

    @contextlib.contextmanager
    def hold(kind, scope, actor):
        engine = sa.create_engine(sqlalchemy_url(db_url))
        with engine.connect() as holder:
            holder.execute(sa.text("INSERT INTO geoland.job (kind, params, state, actor) VALUES (:k, "
                                   "CAST(:p AS jsonb), 'running', :a)"),
                           {"k": kind, "p": f'{{"scope": "{scope}"}}', "a": actor})
            holder.commit()
            holder.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": lock_key(kind, scope)})
            try:
                yield
            finally:
                holder.execute(sa.text("SELECT pg_advisory_unlock_all()"))
                holder.commit()
        engine.dispose()

    return hold


@pytest.fixture(scope="module")
def tile_server():
    """A background layer's server run by the test (XYZ, WMS or WMTS alike): a light-green 256 px PNG for every
    request; yields its URL and the paths asked for."""
    import http.server
    import struct
    import threading
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 256, 256, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress((b"\x00" + bytes((200, 230, 201)) * 256) * 256)) + chunk(b"IEND", b"")
    asked: list[str] = []

    class Tiles(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", asked
    server.shutdown()
