"""The JSON API and the OGC API Features-style collection of plots."""

from __future__ import annotations

from flask import Blueprint, g, request

from geoland.errors import InvalidInput, NotFound
from geoland.review.findings import check_filters, commune_counts, commune_findings
from geoland.review.lookup import lookup_code, plots_at
from geoland.review.scope import communes_of, only_visible

from . import params
from .auth import require
from .http import json_response

bp = Blueprint("api", __name__)


@bp.get("/api/plots/<code>")
@require("viewer", scope="filtered")
def plot_by_code(code):
    if len(code) > 64:
        raise InvalidInput("a code is at most 64 characters")
    return json_response(only_visible(g.conn, g.user, lookup_code(g.conn, code, at=params.date("at")),
                                      refuse_empty=True))


@bp.get("/api/plots")
@require("viewer", scope="filtered")
def plots_at_point():
    found = plots_at(g.conn, params.number("lon", -180, 180), params.number("lat", -90, 90))
    return json_response(only_visible(g.conn, g.user, found, refuse_empty=False))


@bp.get("/api/communes")
@require("viewer", scope="filtered")
def communes():
    mine = communes_of(g.user)
    return json_response({"communes": [c for c in commune_counts(g.conn) if mine is None or c["commune_code"] in mine]})


@bp.post("/api/plots/<int:plot_id>/check-values")
@require("editor", scope="plot")
def check_values_typed(plot_id):
    """The edit form's values judged as they are typed: ``problems`` and ``warnings``, in the user's language.

    Nothing is written (no CSRF token needed); the same rules as the save.
    """
    from geoland.review.edits import check_keyed, check_values, current_values
    from geoland.rules.vocab import describe_value

    from .pages import typed_fields

    _, problems, warnings = check_values(typed_fields(), current_values(g.conn, plot_id))
    keyed = {k: v[:200] for k, v in list(request.form.items())[:400] if k.split(":")[0] in ("share", "holder", "asset")}
    more, notes = check_keyed(keyed)
    problems, warnings = problems | more, warnings | notes
    return json_response({"problems": {k: describe_value(v, g.language) for k, v in problems.items()},
                          "warnings": {k: describe_value(v, g.language) for k, v in warnings.items()}})


@bp.get("/api/communes/<code>/findings")
@require("viewer", scope="commune")
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
