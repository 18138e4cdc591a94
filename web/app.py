"""The review web app and the JSON API (Flask).

The review web app and the JSON API (Flask): set-up, one connection and one transaction per request,
and errors mapped by their type.

Pages (session login, :mod:`web.pages`): province overview, commune review (map + findings with filters and
review actions), plot page. API (session or ``Authorization: Bearer TOKEN``, :mod:`web.api`):
``/api/plots/<code>``, ``/api/plots?lon=&lat=``, ``/api/communes``, ``/api/communes/<code>/findings``, and
OGC API – Features at ``/ogc`` (:mod:`web.ogc`). Every error of the API is JSON ``{"status", "message"}``,
never a traceback. Roles: viewer < reviewer (review actions) < admin (personal data in clear, audited).
Forms carry a CSRF token bound to the session (:mod:`web.auth`).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time

import psycopg
import sqlalchemy as sa
from flask import Blueprint, Flask, g, request, session
from werkzeug.exceptions import HTTPException

from geoland import config
from geoland.errors import GeolandError, Unauthorized
from geoland.logs import get_logger
from geoland.review.maps import ASSETS, CommuneMaps
from geoland.review.users import user_for_token
from geoland.rules import vocab
from geoland.store.db import make_engine, request_settings, unreachable_as_error, warm_pool

from . import api, auth, ogc, pages
from .disconnect import ENVIRON_KEY, DisconnectWatch
from .http import MAP_ASSETS, error_response

log = get_logger(__name__)
access = get_logger("web.access")
HEAVY_REQUESTS = 4


def _secret_key() -> str:
    """``GEOLAND_SECRET_KEY``, or a random key kept in the state folder (mode 600) across restarts."""
    if os.environ.get("GEOLAND_SECRET_KEY"):
        return os.environ["GEOLAND_SECRET_KEY"]
    path = config.home() / "web-secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(database_url: str | None = None, *, secret_key: str | None = None,
               https: bool | None = None, heavy_requests: int | None = None, threads: int = 8) -> Flask:
    """The web app on ``database_url``.

    Settings from the environment: ``GEOLAND_SECRET_KEY``; ``GEOLAND_HTTPS=1`` when served behind HTTPS (the
    session cookie is then ``Secure``; ``https`` overrides it); ``GEOLAND_SESSION_IDLE_MINUTES`` (default 30)
    and ``GEOLAND_SESSION_MAX_HOURS`` (default 12), the idle and absolute lifetimes of a login.
    ``heavy_requests``: how many heavy requests (pages of items) may run at once, server-wide (default
    :data:`HEAVY_REQUESTS`; ``serve`` gives half its threads); ``threads``: the server's, one pooled database
    connection each.
    """
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secret_key or _secret_key(), SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", JSON_AS_ASCII=False, MAX_CONTENT_LENGTH=64 * 1024,
                      SESSION_COOKIE_SECURE=https if https is not None else config.flag("GEOLAND_HTTPS"),
                      GEOLAND_SESSION_IDLE=config.seconds("GEOLAND_SESSION_IDLE_MINUTES", 30, 60),
                      GEOLAND_SESSION_MAX=config.seconds("GEOLAND_SESSION_MAX_HOURS", 12, 3600),
                      GEOLAND_BASE_URL=os.environ.get("GEOLAND_BASE_URL") or None,
                      GEOLAND_LISTEN_URL="http://localhost", GEOLAND_TRUST_PROXY=False,
                      GEOLAND_STATEMENT_TIMEOUT=config.seconds("GEOLAND_STATEMENT_TIMEOUT_S", 10, 1))
    app.extensions["geoland_heavy"] = threading.BoundedSemaphore(heavy_requests or HEAVY_REQUESTS)
    engine = make_engine(database_url, pool_size=threads)
    app.extensions["geoland_engine"] = engine
    app.extensions["geoland_maps"] = CommuneMaps(
        engine, settings=lambda conn: request_settings(conn, app.config["GEOLAND_STATEMENT_TIMEOUT"]))
    watch = DisconnectWatch()

    @app.before_request
    def _open():
        with unreachable_as_error():          # the pool checks each connection first: a restarted server is found
            g.conn = engine.connect()
            # Every query of the request is cancelled by the server past this time, and none runs in parallel
            # (the transaction's own settings: they end with the request).
            request_settings(g.conn, app.config["GEOLAND_STATEMENT_TIMEOUT"])
        if ENVIRON_KEY in request.environ:     # waitress sees the socket: a client that leaves cancels the query
            g.client_left = watch.watch(id(g.conn), request.environ[ENVIRON_KEY], g.conn.connection.dbapi_connection)
        g.user = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            g.user = user_for_token(g.conn, header[7:].strip())
            if g.user is None:
                raise Unauthorized("invalid API token")
        else:
            g.user = auth.session_owner(g.conn)
        g.language = vocab.language_or_default(request.args.get("lang") or session.get("lang"))

    @app.before_request
    def _clock():
        g.started = time.perf_counter()

    @app.after_request
    def _access_log(response):
        # One line per request: the route's pattern, never the path or the query (they can hold what a user
        # typed), the account, the status and the time.
        access.info("%s %s %d %.0f ms %s", request.method, _route(), response.status_code,
                    (time.perf_counter() - g.get("started", time.perf_counter())) * 1000,
                    (g.get("user") or {}).get("username", "-"))
        return response

    @app.after_request
    def _commit(response):
        # One transaction per request, committed only when the answer is a success (or a redirect after
        # one): a request that fails anywhere, even after its writes, leaves the database as it was.
        conn = g.get("conn")
        if conn is not None and conn.in_transaction():
            if response.status_code < 400:
                conn.commit()
            else:
                conn.rollback()
        return response

    @app.teardown_request
    def _close(exc):
        conn = g.pop("conn", None)
        if conn is not None:
            watch.forget(id(conn))            # before the connection can serve another request
            conn.close()                      # anything not committed by _commit is rolled back here

    def _route() -> str:
        """The route's pattern (``/api/plots/<code>``), not the path: a path can hold what a user typed."""
        return request.url_rule.rule if request.url_rule else "(no route)"

    @app.errorhandler(GeolandError)
    def _geoland_error(exc: GeolandError):
        log.log(logging.ERROR if exc.status >= 500 else logging.INFO, "%s %s → %d %s", request.method, _route(),
                exc.status, type(exc).__name__)
        return error_response(exc.status, exc.message, exc.retry_after)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return error_response(exc.code, exc.description or exc.name)

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    def _database_lost(exc):
        if isinstance(getattr(exc, "orig", None), psycopg.errors.QueryCanceled) and g.get("client_left") \
                and g.client_left.is_set():
            log.warning("%s %s: the client went away, its query was cancelled", request.method, _route())
            return error_response(503, "the client closed the connection")
        if isinstance(getattr(exc, "orig", None), psycopg.errors.QueryCanceled):
            log.warning("%s %s → 503: cancelled by the statement timeout", request.method, _route())
            return error_response(503, f"the request took longer than {app.config['GEOLAND_STATEMENT_TIMEOUT']:g} s "
                                       "and was cancelled: ask for less (a smaller bbox or limit)")
        log.error("%s %s → 503: the database connection was lost", request.method, _route())
        return error_response(503, "the database cannot be reached: try again in a moment")

    @app.errorhandler(Exception)
    def _internal(exc: Exception):
        # The type only: an exception's text can quote a row (a database error's DETAIL), personal data included.
        log.error("internal error on %s %s: %s", request.method, _route(), type(exc).__name__)
        return error_response(500, "internal error")

    @app.context_processor
    def _globals():
        language = g.get("language", "vi")
        return {"user": g.get("user"), "csrf_token": auth.csrf_token, "lang": language,
                "labels": vocab.labels(language), "T": vocab.words("page", language),
                "describe": lambda value: vocab.describe_value(value, language)}

    app.register_blueprint(Blueprint("map_assets", __name__, static_folder=str(ASSETS),
                                     static_url_path=MAP_ASSETS))
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(ogc.bp)
    return app


def serve(host: str = "127.0.0.1", port: int = 8000, database_url: str | None = None, *,
          threads: int | None = None, trusted_proxy: str | None = None) -> None:
    """Serve the app with waitress, a maintained production WSGI server (see ``web/cli.py`` for why).

    Parameters
    ----------
    host, port : str, int
        Where to listen.
    database_url : str, optional
        The database (default: the embedded cluster).
    threads : int, optional
        Request threads; default four per core, at most 32 (requests wait on PostgreSQL, not on Python).
    trusted_proxy : str, optional
        The reverse proxy's address: only its ``X-Forwarded-*`` headers are believed.
    """
    from waitress import serve as waitress_serve

    threads = threads or min(32, 4 * (os.cpu_count() or 1))
    # Heavy requests get at most half the threads and half the cores: the rest always answers look-ups and
    # pages at once (measured in benchmarks/api.py: with every core busy paging, look-ups wait for the CPU).
    heavy = max(1, min(threads // 2, (os.cpu_count() or 2) // 2))
    app = create_app(database_url, heavy_requests=heavy, threads=threads)
    access.setLevel(logging.INFO)                     # the access log is on when serving (stderr, one line each)
    warm_pool(app.extensions["geoland_engine"], threads)
    app.config["GEOLAND_LISTEN_URL"] = f"http://{socket.getfqdn() if host in ('0.0.0.0', '::') else host}:{port}"
    app.config["GEOLAND_TRUST_PROXY"] = bool(trusted_proxy)
    proxy = {"trusted_proxy": trusted_proxy, "trusted_proxy_count": 1, "clear_untrusted_proxy_headers": True,
             "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
                                       "x-forwarded-port"}} if trusted_proxy else {}
    waitress_serve(app, host=host, port=port, threads=threads,
                   max_request_body_size=pages.WORKBOOK_MAX, max_request_header_size=64 * 1024,
                   channel_timeout=60, ident="geoland", channel_request_lookahead=1, **proxy)
