"""The JSON API and the OGC API Features-style collection of plots."""

from __future__ import annotations

from flask import Blueprint, g

from geoland.errors import InvalidInput, NotFound
from geoland.review.findings import check_filters, commune_counts, commune_findings
from geoland.review.lookup import lookup_code, plots_at

from . import params
from .auth import require
from .http import json_response

bp = Blueprint("api", __name__)


@bp.get("/api/plots/<code>")
@require("viewer")
def plot_by_code(code):
    if len(code) > 64:
        raise InvalidInput("a code is at most 64 characters")
    return json_response(lookup_code(g.conn, code, at=params.date("at")))


@bp.get("/api/plots")
@require("viewer")
def plots_at_point():
    return json_response(plots_at(g.conn, params.number("lon", -180, 180), params.number("lat", -90, 90)))


@bp.get("/api/communes")
@require("viewer")
def communes():
    return json_response({"communes": commune_counts(g.conn)})


@bp.get("/api/communes/<code>/findings")
@require("viewer")
def commune_findings_page(code):
    code = params.commune_code(code)
    kind, category, state = (params.optional(k) for k in ("type", "category", "state"))
    check_filters(kind, category, state)
    limit, offset = params.page()
    if not commune_counts(g.conn, code):
        raise NotFound(f"no plots assigned to commune {code}")
    rows, total = commune_findings(g.conn, code, kind=kind, category=category, state=state, limit=limit,
                                   offset=offset)
    return json_response({"commune": code, "total": total, "limit": limit, "offset": offset, "findings": rows})


@bp.route("/api/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
def unknown(rest):
    raise NotFound(f"no such API route: /api/{rest}")
