"""Login, logout, the language switch, the role guard and the CSRF token of the forms."""

from __future__ import annotations

import functools
import hmac
import secrets
import time
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for

from geoland.errors import Forbidden, Unauthorized
from geoland.review.scope import allow_commune, allow_plot, communes_of
from geoland.review.users import authenticate, end_sessions, record_login, role_at_least, session_user

from .http import is_api

bp = Blueprint("auth", __name__)


def session_owner(conn) -> dict | None:
    """The user of this request's session as the database has them now, or None (and the session cleared).

    The cookie holds the user name, the user's session generation when it was opened, its opening and its
    last-seen time; the role is never taken from it. A session ends after ``GEOLAND_SESSION_IDLE`` seconds
    without a request, ``GEOLAND_SESSION_MAX`` seconds after login, or when the generation moved on.
    """
    name = session.get("user")
    if name is None:
        return None
    now = time.time()
    settings = current_app.config
    fresh = (isinstance(name, str) and now - session.get("born", 0) <= settings["GEOLAND_SESSION_MAX"]
             and now - session.get("seen", 0) <= settings["GEOLAND_SESSION_IDLE"])
    user = session_user(conn, name, session.get("gen", -1)) if fresh else None
    if user is None:
        session.clear()
        return None
    if now - session["seen"] > 60:          # refreshed at most once a minute: the cookie is not rewritten each time
        session["seen"] = now
    return user


def open_session(user: dict) -> None:
    """A new session for a user who just logged in (a new cookie, a new CSRF token)."""
    now = time.time()
    session.clear()
    session.update(user=user["username"], gen=user["generation"], born=now, seen=now)


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    if not session.get("csrf") or not hmac.compare_digest(sent, session["csrf"]):
        abort(400, "the form has expired or did not come from this site (CSRF token): reload the page")


def local_target(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path on this site, else ``default``.

    Browsers drop tabs and line breaks from a URL and read a backslash as ``/``, so a tab or a backslash
    between two slashes would leave the site: any control character or backslash, a scheme, a host or a
    path that does not start with exactly one ``/`` sends the user home instead.
    """
    if not target or any(ord(c) < 32 or c in "\\\x7f" for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


SCOPES = ("plot", "commune", "filtered")


def require(role: str, *, scope: str | None = None):
    """Only users with ``role`` or above; others are sent to the login page (pages) or answered 401/403.

    The one guard of every route, for the user's communes too (:mod:`geoland.review.scope`): an editor may
    use a route only when it says how it is scoped — ``plot`` (the view's ``plot_id`` must be in one of the
    editor's communes), ``commune`` (its ``code`` must be one of them), ``filtered`` (the view cuts what it
    shows with ``communes_of``). Every other route is province-wide and refused to editors (403).
    """
    if scope not in (None, *SCOPES):
        raise ValueError(f"scope {scope!r}")

    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            if g.user is None:
                if is_api():
                    raise Unauthorized("log in or send an API token (Authorization: Bearer …)")
                return redirect(url_for("auth.login", next=request.path))
            if not role_at_least(g.user["role"], role):
                raise Forbidden(f"this needs the {role} role")
            if communes_of(g.user) is not None:
                if scope is None:
                    raise Forbidden("a commune officer's account works on its own communes' pages only")
                if scope == "plot":
                    allow_plot(g.conn, g.user, kwargs["plot_id"])
                elif scope == "commune":
                    allow_commune(g.user, kwargs["code"])
            return view(*args, **kwargs)
        inner.geoland_scope = scope
        return inner
    return wrap


@bp.get("/login")
def login():
    return render_template("login.html", next=request.args.get("next", "/"), error=None)


@bp.post("/login")
def login_post():
    check_csrf()
    user = authenticate(g.conn, request.form.get("username", ""), request.form.get("password", ""))
    target = local_target(request.form.get("next"))
    if user is None:
        return render_template("login.html", next=target, error=True), 401
    open_session(user)
    g.user = {k: user[k] for k in ("username", "role", "communes")}
    record_login(g.conn, user["username"])
    return redirect(target)


@bp.post("/logout")
def logout():
    check_csrf()
    if g.user is not None:               # every session of the user ends, not only this cookie
        end_sessions(g.conn, g.user["username"], reason="logout")
    session.clear()
    return redirect(url_for("auth.login"))


@bp.get("/lang/<language>")
def set_language(language):
    session["lang"] = "en" if language == "en" else "vi"
    return redirect(request.referrer if request.referrer and request.referrer.startswith(request.host_url) else "/")
