"""``geoland serve``: the review web app and the JSON API (Flask).

Pages (session login): province overview, commune review (map + findings with filters and review
actions), plot page. API (session or ``Authorization: Bearer TOKEN``): ``/api/plots/<code>``,
``/api/plots?lon=&lat=``, ``/api/communes``, ``/api/communes/<code>/findings`` and the OGC API
Features-style ``/collections/plots/items``. Every error of the API is JSON ``{"status", "message"}``,
never a traceback. Roles: viewer < reviewer (review actions) < admin (personal data in clear, audited).
Forms carry a CSRF token bound to the session.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import json
import math
import os
import secrets

import sqlalchemy as sa
from flask import Flask, Response, abort, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from geoland import config
from geoland.errors import DatabaseError, GeolandError
from geoland.pipeline.assignments import latest_effective
from geoland.review.communes import commune_plots
from geoland.review.lookup import lookup_code, plot_record
from geoland.review.users import authenticate, role_at_least, user_for_token
from geoland.rules.checks import FINDING_TYPES
from geoland.store.db import make_engine
from identifiers.cccd import mask_cccd, mask_name

from .maps import build_map

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
STATES = ("open", "assigned", "resolved", "not_a_problem")
API_PREFIXES = ("/api/", "/collections")


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


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


def create_app(database_url: str | None = None, *, secret_key: str | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secret_key or _secret_key(), SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", JSON_AS_ASCII=False, MAX_CONTENT_LENGTH=64 * 1024)
    engine = make_engine(database_url)
    app.extensions["geoland_engine"] = engine

    @app.before_request
    def _open():
        g.conn = engine.connect()
        g.user = None
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            g.user = user_for_token(g.conn, auth[7:].strip())
            if g.user is None:
                raise ApiError(401, "invalid API token")
        elif session.get("user"):
            g.user = session["user"]
        g.language = request.args.get("lang") or session.get("lang") or "vi"
        if g.language not in ("vi", "en"):
            g.language = "vi"

    @app.teardown_request
    def _close(exc):
        conn = g.pop("conn", None)
        if conn is not None:
            if exc is None and conn.in_transaction():
                conn.commit()
            conn.close()

    def is_api() -> bool:
        return request.path.startswith(API_PREFIXES)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return _json({"status": exc.status, "message": exc.message}, exc.status)

    @app.errorhandler(GeolandError)
    def _geoland_error(exc: GeolandError):
        status = 503 if isinstance(exc, DatabaseError) else 404     # the database is down or not migrated
        if is_api():
            return _json({"status": status, "message": exc.message}, status)
        return render_template("error.html", status=status, message=exc.message), status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if is_api():
            return _json({"status": exc.code, "message": exc.description or exc.name}, exc.code)
        return render_template("error.html", status=exc.code, message=exc.description or exc.name), exc.code

    @app.errorhandler(Exception)
    def _internal(exc: Exception):
        app.logger.error("internal error on %s: %s", request.path, type(exc).__name__)
        if is_api():
            return _json({"status": 500, "message": "internal error"}, 500)
        return render_template("error.html", status=500, message="internal error"), 500

    @app.context_processor
    def _globals():
        return {"user": g.get("user"), "csrf_token": _csrf_token, "lang": g.get("language", "vi"),
                "labels": {t: v[2 if g.get("language", "vi") == "vi" else 3] for t, v in FINDING_TYPES.items()},
                "T": _words(g.get("language", "vi"))}

    _register(app)
    return app


def _json(payload, status: int = 200, content_type: str = "application/json") -> Response:
    return Response(json.dumps(payload, ensure_ascii=False, default=_default), status=status,
                    content_type=f"{content_type}; charset=utf-8")


def _default(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def _check_csrf():
    sent = request.form.get("csrf_token", "")
    if not session.get("csrf") or not hmac.compare_digest(sent, session["csrf"]):
        abort(400, "the form has expired or did not come from this site (CSRF token): reload the page")


def require(role: str, *, api: bool = False):
    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            if g.user is None:
                if api or request.path.startswith(API_PREFIXES):
                    raise ApiError(401, "log in or send an API token (Authorization: Bearer …)")
                return redirect(url_for("login", next=request.path))
            if not role_at_least(g.user["role"], role):
                if api or request.path.startswith(API_PREFIXES):
                    raise ApiError(403, f"this needs the {role} role")
                abort(403, f"this needs the {role} role")
            return view(*args, **kwargs)
        return inner
    return wrap


def _words(language: str) -> dict:
    vi = {"overview": "Tổng quan tỉnh", "commune": "Xã/phường", "plots": "Số thửa", "missing": "Thiếu thông tin",
          "conflict": "Xung đột", "clean": "Không có lỗi", "open": "Chưa xử lý", "assigned": "Đã giao",
          "resolved": "Đã xử lý", "not_a_problem": "Không phải lỗi", "login": "Đăng nhập", "logout": "Đăng xuất",
          "user": "Tên đăng nhập", "password": "Mật khẩu", "findings": "Lỗi", "type": "Loại lỗi",
          "value": "Giá trị", "state": "Trạng thái", "all": "Tất cả", "filter": "Lọc", "assign": "Giao cho",
          "comment": "Ghi chú", "resolve": "Đã xử lý", "not_problem": "Không phải lỗi", "reopen": "Mở lại",
          "plot": "Thửa đất", "codes": "Mã", "history": "Lịch sử", "land_user": "Người sử dụng đất",
          "show_people": "Xem thông tin cá nhân (ghi nhật ký)", "area": "Diện tích", "land_use": "Loại đất",
          "map": "Bản đồ", "category": "Nhóm"}
    en = {"overview": "Province overview", "commune": "Commune", "plots": "Plots", "missing": "Missing data",
          "conflict": "Conflict", "clean": "No finding", "open": "Open", "assigned": "Assigned",
          "resolved": "Resolved", "not_a_problem": "Not a problem", "login": "Log in", "logout": "Log out",
          "user": "User name", "password": "Password", "findings": "Findings", "type": "Type", "value": "Value",
          "state": "State", "all": "All", "filter": "Filter", "assign": "Assign to", "comment": "Comment",
          "resolve": "Resolved", "not_problem": "Not a problem", "reopen": "Reopen", "plot": "Plot",
          "codes": "Codes", "history": "History", "land_user": "Land user",
          "show_people": "Show personal data (audited)", "area": "Area", "land_use": "Land use", "map": "Map",
          "category": "Category"}
    return vi if language == "vi" else en


# --- queries -----------------------------------------------------------------------------------------

def commune_counts(conn, commune: str | None = None) -> list[dict]:
    """Per new commune: plots, plots with missing data, in conflict, open findings."""
    effective = latest_effective(conn)
    if effective is None:
        return []
    rows = conn.execute(sa.text("""
        WITH a AS (SELECT plot_id, commune_code FROM geoland.plot_assignment_current
                   WHERE effective = :e AND commune_code IS NOT NULL
                     AND (CAST(:c AS text) IS NULL OR commune_code = :c)),
             f AS (SELECT f.plot_id, bool_or(f.category = 'missing') AS missing, bool_or(f.category = 'conflict') AS conflict,
                          count(*) FILTER (WHERE f.review_state IN ('open', 'assigned')) AS open
                   FROM geoland.finding_current f JOIN a USING (plot_id) GROUP BY f.plot_id)
        SELECT a.commune_code, count(*) AS plots, count(*) FILTER (WHERE f.missing) AS missing,
               count(*) FILTER (WHERE f.conflict) AS conflict, coalesce(sum(f.open), 0) AS open_findings,
               (SELECT u.name FROM geoland.admin_unit u WHERE u.level = 'commune' AND u.code = a.commune_code
                  AND coalesce(u.valid_from, '-infinity') <= :e AND coalesce(u.valid_to, 'infinity') > :e LIMIT 1) AS name
        FROM a LEFT JOIN f USING (plot_id) GROUP BY a.commune_code ORDER BY a.commune_code"""),
        {"e": effective, "c": commune}).mappings().all()
    return [dict(r) | {"open_findings": int(r["open_findings"])} for r in rows]


def commune_findings(conn, commune: str, *, kind: str | None = None, category: str | None = None,
                     state: str | None = None, limit: int = 500, offset: int = 0) -> tuple[list[dict], int]:
    effective = latest_effective(conn)
    params = {"e": effective, "c": commune, "t": kind, "k": category, "s": state, "n": limit, "o": offset}
    where = """FROM geoland.finding_current f JOIN geoland.plot_assignment_current a USING (plot_id)
               LEFT JOIN geoland.plot_code pc ON pc.plot_id = f.plot_id
               WHERE a.effective = :e AND a.commune_code = :c AND (CAST(:t AS text) IS NULL OR f.type = :t)
                 AND (CAST(:k AS text) IS NULL OR f.category = :k) AND (CAST(:s AS text) IS NULL OR f.review_state = :s)"""
    total = conn.execute(sa.text(f"SELECT count(*) {where}"), params).scalar()
    rows = conn.execute(sa.text(f"""
        SELECT f.id, f.plot_id, pc.code, f.type, f.category, f.severity, f.value, f.tolerance, f.review_state,
               f.assigned_to, f.reviewed_by, f.reviewed_at,
               (SELECT count(*) FROM geoland.finding_comment m WHERE m.finding_id = f.id) AS comments
        {where} ORDER BY f.category, f.type, f.plot_id, f.id LIMIT :n OFFSET :o"""), params).mappings().all()
    return [dict(r) for r in rows], int(total)


def plot_detail(conn, plot_id: int, *, unmasked: bool) -> dict:
    row = conn.execute(sa.text("""
        SELECT p.id, p.province_code, p.old_commune_code, p.sheet, p.plot_number, p.area_m2, p.legal_area_m2,
               p.land_use, p.certificate_serial, p.repaired, p.repair_note, c.code, u.name, u.id_number, u.birth_year,
               a.commune_code, a.status, v.status AS verification
        FROM geoland.plot p LEFT JOIN geoland.plot_code c ON c.plot_id = p.id
        LEFT JOIN geoland.land_user u ON u.plot_id = p.id
        LEFT JOIN geoland.verification v ON v.id_number = u.id_number
        LEFT JOIN LATERAL (SELECT commune_code, status FROM geoland.plot_assignment_current x
                           WHERE x.plot_id = p.id ORDER BY effective DESC LIMIT 1) a ON true
        WHERE p.id = :i"""), {"i": plot_id}).mappings().first()
    if row is None:
        raise GeolandError(f"no plot {plot_id}")
    out = dict(row)
    if not unmasked:
        out["name"] = mask_name([row["name"]])[0]
        out["id_number"] = mask_cccd([row["id_number"]])[0]
        out["birth_year"] = None
    out["findings"] = [dict(r) for r in conn.execute(sa.text("""
        SELECT id, type, category, severity, value, tolerance, review_state, assigned_to, reviewed_by, reviewed_at
        FROM geoland.finding_current WHERE plot_id = :i ORDER BY type, id"""), {"i": plot_id}).mappings()]
    return out


def plots_at(conn, lon: float, lat: float) -> dict:
    """The plots containing a WGS 84 point (each in its own TM-3 zone, through the GiST index) and the
    current commune there.
    """
    srids = conn.execute(sa.text("SELECT DISTINCT srid FROM geoland.plot_import")).scalars().all()
    plots = []
    for srid in sorted(set(srids)):
        plots += [dict(r) for r in conn.execute(sa.text("""
            SELECT p.id AS plot_id, c.code AS identification_code, p.area_m2, p.land_use,
                   p.old_commune_code || '.' || p.sheet || '.' || p.plot_number AS legacy_mx
            FROM geoland.plot p LEFT JOIN geoland.plot_code c ON c.plot_id = p.id
            WHERE p.geom && ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), 4326), :srid)
              AND ST_SRID(p.geom) = :srid
              AND ST_Intersects(p.geom, ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), 4326), ST_SRID(p.geom)))
            ORDER BY p.id"""), {"x": lon, "y": lat, "srid": srid}).mappings()]
    commune = conn.execute(sa.text("""
        SELECT b.code, b.name FROM geoland.unit_boundary b JOIN geoland.boundary_layer l ON l.id = b.layer_id
        WHERE l.superseded_by IS NULL AND l.effective = (SELECT max(effective) FROM geoland.boundary_layer
                                                           WHERE superseded_by IS NULL)
          AND ST_Intersects(b.geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326)) ORDER BY b.code LIMIT 1"""),
        {"x": lon, "y": lat}).mappings().first()
    return {"lon": lon, "lat": lat, "commune": dict(commune) if commune else None, "plots": plots}


# --- parameters ----------------------------------------------------------------------------------------

def _number(name: str, low: float, high: float) -> float:
    raw = request.args.get(name)
    if raw is None or raw == "":
        raise ApiError(400, f"parameter {name} is required")
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, f"parameter {name} must be a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ApiError(400, f"parameter {name} must be between {low:g} and {high:g}")
    return value


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise ApiError(400, f"parameter {name} must be a whole number")
    value = int(raw)
    if not low <= value <= high:
        raise ApiError(400, f"parameter {name} must be between {low} and {high}")
    return value


def _choice(name: str, allowed) -> str | None:
    raw = request.args.get(name) or None
    if raw is not None and raw not in allowed:
        raise ApiError(400, f"parameter {name} must be one of {sorted(allowed)}")
    return raw


def _commune_code(code: str) -> str:
    if not (code.isdigit() and len(code) == 5):
        raise ApiError(400, "a commune code has 5 digits")
    return code


def _bbox() -> tuple[float, float, float, float] | None:
    raw = request.args.get("bbox")
    if raw is None:
        return None
    parts = raw.split(",")
    if len(parts) != 4:
        raise ApiError(400, "bbox must be minlon,minlat,maxlon,maxlat")
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError:
        raise ApiError(400, "bbox must be four numbers") from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise ApiError(400, "bbox out of range: -180 ≤ minlon ≤ maxlon ≤ 180, -90 ≤ minlat ≤ maxlat ≤ 90")
    return x0, y0, x1, y1


# --- routes --------------------------------------------------------------------------------------------

def _register(app: Flask) -> None:
    @app.get("/login")
    def login():
        return render_template("login.html", next=request.args.get("next", "/"), error=None)

    @app.post("/login")
    def login_post():
        _check_csrf()
        user = authenticate(g.conn, request.form.get("username", ""), request.form.get("password", ""))
        target = request.form.get("next") or "/"
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        if user is None:
            return render_template("login.html", next=target, error=True), 401
        session.clear()
        session["user"] = user
        g.user = user
        _audit("user.login", "user", user["username"], {})
        return redirect(target)

    @app.post("/logout")
    def logout():
        _check_csrf()
        session.clear()
        return redirect(url_for("login"))

    @app.get("/lang/<language>")
    def set_language(language):
        session["lang"] = "en" if language == "en" else "vi"
        return redirect(request.referrer if request.referrer and request.referrer.startswith(request.host_url)
                        else "/")

    @app.get("/")
    @require("viewer")
    def overview():
        return render_template("overview.html", communes=commune_counts(g.conn))

    @app.get("/communes/<code>")
    @require("viewer")
    def commune_page(code):
        if not (code.isdigit() and len(code) == 5):
            abort(404, "a commune code has 5 digits")
        kind = request.args.get("type") or None
        category = request.args.get("category") or None
        state = request.args.get("state") or None
        if kind not in (None, *FINDING_TYPES) or category not in (None, "missing", "conflict") or \
                state not in (None, *STATES):
            abort(400, "unknown filter")
        review = commune_plots(g.conn, code)
        html = build_map(review, language=g.language, asset_url="/static",
                         plot_url=url_for("plot_page", plot_id=0)).get_root().render()
        findings, total = commune_findings(g.conn, code, kind=kind, category=category, state=state)
        counts = commune_counts(g.conn, code)
        return render_template("commune.html", review=review, map_html=html, findings=findings, total=total,
                               counts=counts[0] if counts else None, kind=kind, category=category, state=state,
                               types=sorted(set(review["findings"]["type"])), states=STATES,
                               reviewers=[r[0] for r in g.conn.execute(sa.text(
                                   "SELECT username FROM geoland.app_user WHERE role IN ('reviewer', 'admin') "
                                   "AND NOT disabled ORDER BY 1"))])

    @app.get("/communes/<code>/map")
    @require("viewer")
    def commune_map(code):
        review = commune_plots(g.conn, code)
        m = build_map(review, language=g.language, asset_url="/static")
        return m.get_root().render()

    @app.get("/plots/<int:plot_id>")
    @require("viewer")
    def plot_page(plot_id):
        unmasked = request.args.get("people") == "1"
        if unmasked and not role_at_least(g.user["role"], "admin"):
            abort(403, "only an administrator may see personal data")
        detail = plot_detail(g.conn, plot_id, unmasked=unmasked)
        if unmasked:
            _audit_people(plot_id)
        history = plot_record(g.conn, plot_id)
        comments = [dict(r) for r in g.conn.execute(sa.text("""
            SELECT m.finding_id, m.author, m.at, m.body FROM geoland.finding_comment m
            JOIN geoland.finding f ON f.id = m.finding_id WHERE f.plot_id = :i ORDER BY m.at"""),
            {"i": plot_id}).mappings()]
        return render_template("plot.html", plot=detail, history=history, comments=comments, unmasked=unmasked)

    @app.post("/findings/<int:finding_id>/review")
    @require("reviewer")
    def review_finding(finding_id):
        _check_csrf()
        action = request.form.get("action", "")
        before = g.conn.execute(sa.text("SELECT plot_id, review_state, assigned_to, review_note FROM "
                                        "geoland.finding_current WHERE id = :i FOR UPDATE"), {"i": finding_id}).mappings().first()
        if before is None:
            abort(404, f"no open finding {finding_id}")
        note = (request.form.get("note") or "").strip()[:4000]
        changes: dict = {}
        if action == "assign":
            who = (request.form.get("assignee") or "").strip()
            if not g.conn.execute(sa.text("SELECT 1 FROM geoland.app_user WHERE username = :u AND NOT disabled"),
                                  {"u": who}).first():
                abort(400, f"no user {who!r}")
            changes = {"review_state": "assigned", "assigned_to": who}
        elif action in ("resolved", "not_a_problem"):
            changes = {"review_state": action}
        elif action == "reopen":
            changes = {"review_state": "open"}
        elif action != "comment":
            abort(400, "unknown action")
        if action == "comment" and not note:
            abort(400, "a comment cannot be empty")
        if changes:
            changes |= {"review_note": note or before["review_note"]}
            sets = ", ".join(f"{k} = :{k}" for k in changes)
            g.conn.execute(sa.text(f"UPDATE geoland.finding SET {sets}, reviewed_by = :by, "
                                   "reviewed_at = clock_timestamp() WHERE id = :i"),
                           {**changes, "by": g.user["username"], "i": finding_id})
        if note:
            g.conn.execute(sa.text("INSERT INTO geoland.finding_comment (finding_id, author, body) "
                                   "VALUES (:i, :a, :b)"), {"i": finding_id, "a": g.user["username"], "b": note})
        _audit(f"finding.{action}", "finding", finding_id,
               {"before": {k: before[k] for k in ("review_state", "assigned_to")},
                "after": {k: changes.get(k, before[k]) for k in ("review_state", "assigned_to")},
                "comment": bool(note), "plot_id": before["plot_id"]})
        target = request.form.get("next") or url_for("plot_page", plot_id=before["plot_id"])
        return redirect(target if target.startswith("/") and not target.startswith("//") else "/")

    # --- JSON API ---

    @app.get("/api/plots/<code>")
    @require("viewer", api=True)
    def api_plot_by_code(code):
        if len(code) > 64:
            raise ApiError(400, "a code is at most 64 characters")
        at = request.args.get("at")
        try:
            day = dt.date.fromisoformat(at) if at else None
        except ValueError:
            raise ApiError(400, "parameter at must be a date YYYY-MM-DD") from None
        try:
            found = lookup_code(g.conn, code, at=day)
        except GeolandError as exc:
            status = 400 if "neither" in exc.message else 404
            raise ApiError(status, exc.message) from None
        return _json(found)

    @app.get("/api/plots")
    @require("viewer", api=True)
    def api_plots_at():
        lon = _number("lon", -180, 180)
        lat = _number("lat", -90, 90)
        return _json(plots_at(g.conn, lon, lat))

    @app.get("/api/communes")
    @require("viewer", api=True)
    def api_communes():
        return _json({"communes": commune_counts(g.conn)})

    @app.get("/api/communes/<code>/findings")
    @require("viewer", api=True)
    def api_commune_findings(code):
        code = _commune_code(code)
        kind = _choice("type", set(FINDING_TYPES))
        category = _choice("category", {"missing", "conflict"})
        state = _choice("state", set(STATES))
        limit = _int("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _int("offset", 0, 0, 10**9)
        if not commune_counts(g.conn, code):
            raise ApiError(404, f"no plots assigned to commune {code}")
        rows, total = commune_findings(g.conn, code, kind=kind, category=category, state=state, limit=limit,
                                       offset=offset)
        return _json({"commune": code, "total": total, "limit": limit, "offset": offset, "findings": rows})

    @app.get("/collections")
    @require("viewer", api=True)
    def collections():
        return _json({"collections": [{"id": "plots", "title": "Land plots (thửa đất)", "itemType": "feature",
                                       "links": [{"rel": "items", "href": url_for("plot_items", _external=True),
                                                  "type": "application/geo+json"}]}]})

    @app.get("/collections/plots/items")
    @require("viewer", api=True)
    def plot_items():
        bbox = _bbox()
        limit = _int("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _int("offset", 0, 0, 10**9)
        unknown = set(request.args) - {"bbox", "limit", "offset", "f"}
        if unknown:
            raise ApiError(400, f"unknown parameter(s): {sorted(unknown)}")
        params = {"n": limit, "o": offset, "b": bool(bbox), "x0": bbox[0] if bbox else 0, "y0": bbox[1] if bbox else 0,
                  "x1": bbox[2] if bbox else 0, "y1": bbox[3] if bbox else 0}
        where = ("WHERE NOT CAST(:b AS boolean) OR ST_Intersects(ST_Transform(p.geom, 4326), "
                 "ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))")
        matched = g.conn.execute(sa.text(f"SELECT count(*) FROM geoland.plot p {where}"), params).scalar()
        rows = g.conn.execute(sa.text(f"""
            SELECT p.id, c.code, a.commune_code, p.old_commune_code || '.' || p.sheet || '.' || p.plot_number AS legacy_mx,
                   round(p.area_m2::numeric, 1) AS area_m2, p.land_use,
                   ST_AsGeoJSON(ST_Transform(p.geom, 4326), 7) AS geometry
            FROM geoland.plot p LEFT JOIN geoland.plot_code c ON c.plot_id = p.id
            LEFT JOIN LATERAL (SELECT commune_code FROM geoland.plot_assignment_current x WHERE x.plot_id = p.id
                               ORDER BY effective DESC LIMIT 1) a ON true
            {where} ORDER BY p.id LIMIT :n OFFSET :o"""), params).mappings().all()
        features = [{"type": "Feature", "id": r["id"], "geometry": json.loads(r["geometry"]),
                     "properties": {"identification_code": r["code"], "commune_code": r["commune_code"],
                                    "legacy_mx": r["legacy_mx"], "area_m2": float(r["area_m2"]),
                                    "land_use": r["land_use"]}} for r in rows]
        base = {k: v for k, v in request.args.items() if k != "offset"}
        links = [{"rel": "self", "type": "application/geo+json", "href": url_for("plot_items", _external=True,
                                                                                 **base, offset=offset)}]
        if offset + len(features) < matched:
            links.append({"rel": "next", "type": "application/geo+json",
                          "href": url_for("plot_items", _external=True, **base, offset=offset + limit)})
        if offset > 0:
            links.append({"rel": "prev", "type": "application/geo+json",
                          "href": url_for("plot_items", _external=True, **base, offset=max(0, offset - limit))})
        return _json({"type": "FeatureCollection", "numberMatched": matched, "numberReturned": len(features),
                      "features": features, "links": links}, content_type="application/geo+json")

    @app.route("/api/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    def api_unknown(rest):
        raise ApiError(404, f"no such API route: /api/{rest}")


def _audit(action: str, entity: str, entity_id, detail: dict) -> None:
    g.conn.execute(sa.text("INSERT INTO geoland.audit_event (actor, action, entity, entity_id, job_id, detail) "
                           "VALUES (:a, :act, :e, :i, NULL, CAST(:d AS jsonb))"),
                   {"a": g.user["username"] if g.get("user") else "anonymous", "act": action, "e": entity,
                    "i": str(entity_id), "d": json.dumps(detail, ensure_ascii=False, default=str)})


def _audit_people(plot_id: int) -> None:
    _audit("personal_data.viewed", "plot", plot_id, {"path": request.path, "reason": request.args.get("why", "")})


def serve(host: str = "127.0.0.1", port: int = 8000, database_url: str | None = None) -> None:
    app = create_app(database_url)
    app.run(host=host, port=port, threaded=True, use_reloader=False)

