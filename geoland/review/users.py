"""Users of the web app and API: roles, password and token hashes. Nothing here keeps a secret in clear.

Roles, each including the one before: ``viewer`` (pages, maps, API; personal data masked), ``editor``
(cán bộ địa chính xã: + supplement and correct the plots of the user's communes, and only those — see
:mod:`geoland.review.scope`), ``reviewer`` (+ assign, comment, resolve findings; edits province-wide),
``admin`` (+ personal data in clear, each view audited; reverts edits).
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

ROLES = ("viewer", "editor", "reviewer", "admin")
_COMMUNE = re.compile(r"^[0-9]{5}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,39}$")


def role_at_least(role: str | None, needed: str) -> bool:
    """Whether ``role`` includes the rights of ``needed`` (an unknown or missing role includes none)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(conn: Connection, username: str, role: str, password: str, *, with_token: bool = False,
             communes: list[str] | tuple[str, ...] = ()) -> str | None:
    """Create a user, or replace an existing user's role, password and communes.

    Create a user (or replace the role, password and communes of an existing one); returns the new API token
    when asked for (shown once: only its hash is kept). An ``editor`` needs at least one commune (its new,
    2025 code); the other roles work province-wide and take none.
    """
    if not _NAME.match(username or ""):
        raise InvalidInput(f"user name {username!r}: 2–40 lower-case letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} is not one of {list(ROLES)}")
    if len(password or "") < 8:
        raise InvalidInput("the password needs at least 8 characters")
    communes = sorted(set(communes or ()))
    if role == "editor" and not communes:
        raise InvalidInput("an editor works on one or more communes: give --commune CODE (the 2025 code)")
    if role != "editor" and communes:
        raise InvalidInput(f"only editors are bound to communes; a {role} works province-wide")
    bad = [c for c in communes if not _COMMUNE.match(c)]
    if bad:
        raise InvalidInput(f"commune code(s) {', '.join(bad)}: a commune code has 5 digits")
    unknown = sorted(set(communes) - set(conn.execute(sa.text(
        "SELECT code FROM geoland.admin_unit WHERE level = 'commune' AND code = ANY(:c)"), {"c": communes}).scalars()))
    if unknown:
        raise InvalidInput(f"no commune {', '.join(unknown)} in the administrative units (load them first)")
    token = secrets.token_urlsafe(32) if with_token else None
    existed = conn.execute(sa.text("SELECT role FROM geoland.app_user WHERE username = :u"), {"u": username}).scalar()
    conn.execute(sa.text("""
        INSERT INTO geoland.app_user (username, role, password_hash, token_hash) VALUES (:u, :r, :p, :t)
        ON CONFLICT (username) DO UPDATE SET role = EXCLUDED.role, password_hash = EXCLUDED.password_hash,
            token_hash = coalesce(EXCLUDED.token_hash, geoland.app_user.token_hash), disabled = false,
            session_generation = geoland.app_user.session_generation + 1"""),
                 {"u": username, "r": role, "p": generate_password_hash(password),
                  "t": _token_hash(token) if token else None})
    before = conn.execute(sa.text("SELECT array_agg(commune_code ORDER BY commune_code) FROM geoland.app_user_commune "
                                  "WHERE username = :u"), {"u": username}).scalar() or []
    conn.execute(sa.text("DELETE FROM geoland.app_user_commune WHERE username = :u"), {"u": username})
    if communes:
        conn.execute(sa.text("INSERT INTO geoland.app_user_commune (username, commune_code) "
                             "SELECT :u, unnest(CAST(:c AS text[]))"), {"u": username, "c": communes})
    audit(conn, None, "user.updated" if existed else "user.added", entity="user", entity_id=username,
          detail={"role": {"before": existed, "after": role}, "token_issued": bool(token),
                  **({"communes": {"before": before, "after": communes}} if before or communes else {})})
    return token


_WITH_COMMUNES = """SELECT u.username, u.role, u.password_hash, u.session_generation,
    coalesce((SELECT array_agg(c.commune_code ORDER BY c.commune_code) FROM geoland.app_user_commune c
              WHERE c.username = u.username), '{}') AS communes
    FROM geoland.app_user u WHERE NOT u.disabled AND """


def _user(row) -> dict:
    """The user as a request sees it: name, role and (an editor's) communes, read from the database."""
    return {"username": row.username, "role": row.role, "communes": tuple(row.communes)}


def authenticate(conn: Connection, username: str, password: str) -> dict | None:
    """The active user with this name and password (``username``, ``role``, ``generation``), or None."""
    row = conn.execute(sa.text(_WITH_COMMUNES + "u.username = :u"), {"u": username}).first()
    if row is None or not check_password_hash(row.password_hash, password or ""):
        return None
    return _user(row) | {"generation": row.session_generation}


def session_user(conn: Connection, username: str, generation: int) -> dict | None:
    """The user of a web session as the database has it now, or None when the session has ended.

    A session ends when its user is gone or disabled, or when their session generation moved on (logout,
    new password, role change, disabling): the role is read here on every request, never from the cookie.
    """
    row = conn.execute(sa.text(_WITH_COMMUNES + "u.username = :u AND u.session_generation = :g"),
                       {"u": username, "g": generation}).first()
    return _user(row) if row else None


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
    row = conn.execute(sa.text(_WITH_COMMUNES + "u.token_hash = :t"), {"t": _token_hash(token)}).first()
    return _user(row) if row else None


def record_login(conn: Connection, username: str) -> None:
    """The audit event of a successful login to the web app."""
    audit(conn, None, "user.login", entity="user", entity_id=username, actor=username)


def list_users(conn: Connection) -> list[dict]:
    """Every user with role, state and whether an API token exists (never a hash)."""
    return [dict(r._mapping) for r in conn.execute(sa.text(
        "SELECT username, role, (SELECT string_agg(c.commune_code, ' ' ORDER BY c.commune_code) "
        "FROM geoland.app_user_commune c WHERE c.username = u.username) AS communes, disabled, "
        "token_hash IS NOT NULL AS has_token, created_at FROM geoland.app_user u ORDER BY username"))]


def active_user(conn: Connection, username: str) -> dict:
    """An active user as a request sees it (name, role, communes), for commands that act for a user.

    Raises
    ------
    NotFound
        No such user, or disabled.
    """
    row = conn.execute(sa.text(_WITH_COMMUNES + "u.username = :u"), {"u": username}).first()
    if row is None:
        raise NotFound(f"no active user {username!r} (see `geoland users list`)")
    return _user(row)
