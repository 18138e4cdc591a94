"""Users of the web app and API: roles, password and token hashes. Nothing here keeps a secret in clear.

Roles, each including the one before: ``viewer`` (pages, maps, API; personal data masked), ``reviewer``
(+ assign, comment, resolve findings), ``admin`` (+ personal data in clear, each view audited).
"""

from __future__ import annotations

import hashlib
import re
import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from werkzeug.security import check_password_hash, generate_password_hash

from geoland.errors import InvalidInput, NotFound
from geoland.store.jobs import audit

ROLES = ("viewer", "reviewer", "admin")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,39}$")


def role_at_least(role: str | None, needed: str) -> bool:
    """Whether ``role`` includes the rights of ``needed`` (an unknown or missing role includes none)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(conn: Connection, username: str, role: str, password: str, *, with_token: bool = False) -> str | None:
    """Create a user, or replace an existing user's role and password.

    Create a user (or replace the role and password of an existing one); returns the new API token
    when asked for (shown once: only its hash is kept).
    """
    if not _NAME.match(username or ""):
        raise InvalidInput(f"user name {username!r}: 2–40 lower-case letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} is not one of {list(ROLES)}")
    if len(password or "") < 8:
        raise InvalidInput("the password needs at least 8 characters")
    token = secrets.token_urlsafe(32) if with_token else None
    existed = conn.execute(sa.text("SELECT role FROM geoland.app_user WHERE username = :u"), {"u": username}).scalar()
    conn.execute(sa.text("""
        INSERT INTO geoland.app_user (username, role, password_hash, token_hash) VALUES (:u, :r, :p, :t)
        ON CONFLICT (username) DO UPDATE SET role = EXCLUDED.role, password_hash = EXCLUDED.password_hash,
            token_hash = coalesce(EXCLUDED.token_hash, geoland.app_user.token_hash), disabled = false,
            session_generation = geoland.app_user.session_generation + 1"""),
                 {"u": username, "r": role, "p": generate_password_hash(password),
                  "t": _token_hash(token) if token else None})
    audit(conn, None, "user.updated" if existed else "user.added", entity="user", entity_id=username,
          detail={"role": {"before": existed, "after": role}, "token_issued": bool(token)})
    return token


def authenticate(conn: Connection, username: str, password: str) -> dict | None:
    """The active user with this name and password (``username``, ``role``, ``generation``), or None."""
    row = conn.execute(sa.text("SELECT username, role, password_hash, session_generation FROM geoland.app_user "
                               "WHERE username = :u AND NOT disabled"), {"u": username}).first()
    if row is None or not check_password_hash(row.password_hash, password or ""):
        return None
    return {"username": row.username, "role": row.role, "generation": row.session_generation}


def session_user(conn: Connection, username: str, generation: int) -> dict | None:
    """The user of a web session as the database has it now, or None when the session has ended.

    A session ends when its user is gone or disabled, or when their session generation moved on (logout,
    new password, role change, disabling): the role is read here on every request, never from the cookie.
    """
    row = conn.execute(sa.text("SELECT username, role FROM geoland.app_user WHERE username = :u "
                               "AND NOT disabled AND session_generation = :g"),
                       {"u": username, "g": generation}).first()
    return {"username": row.username, "role": row.role} if row else None


def end_sessions(conn: Connection, username: str, *, reason: str) -> None:
    """End every web session of a user (logout everywhere), audited with the reason."""
    conn.execute(sa.text("UPDATE geoland.app_user SET session_generation = session_generation + 1 "
                         "WHERE username = :u"), {"u": username})
    audit(conn, None, "user.sessions_ended", entity="user", entity_id=username, actor=username,
          detail={"reason": reason})


def disable_user(conn: Connection, username: str) -> None:
    """Disable a user: no login, no API token, and every open session ended.

    Raises
    ------
    NotFound
        No such user.
    """
    done = conn.execute(sa.text("UPDATE geoland.app_user SET disabled = true, "
                                "session_generation = session_generation + 1 WHERE username = :u"),
                        {"u": username}).rowcount
    if not done:
        raise NotFound(f"no user {username!r}")
    audit(conn, None, "user.disabled", entity="user", entity_id=username)


def user_for_token(conn: Connection, token: str) -> dict | None:
    """The active user holding this API token, or None."""
    row = conn.execute(sa.text("SELECT username, role FROM geoland.app_user WHERE token_hash = :t AND NOT disabled"),
                       {"t": _token_hash(token)}).first()
    return {"username": row.username, "role": row.role} if row else None


def record_login(conn: Connection, username: str) -> None:
    """The audit event of a successful login to the web app."""
    audit(conn, None, "user.login", entity="user", entity_id=username, actor=username)


def list_users(conn: Connection) -> list[dict]:
    """Every user with role, state and whether an API token exists (never a hash)."""
    return [dict(r._mapping) for r in conn.execute(sa.text(
        "SELECT username, role, disabled, token_hash IS NOT NULL AS has_token, created_at FROM geoland.app_user "
        "ORDER BY username"))]
