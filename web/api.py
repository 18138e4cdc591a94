"""The JSON API and the OGC API Features-style collection of plots."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from geoland.errors import InvalidInput, NotFound
from geoland.output import json_text
from geoland.review.findings import check_filters, commune_counts, commune_findings
from geoland.review.lookup import lookup_code, plot_features, plots_at

from . import params
from .auth import require
from .http import external_url, heavy_request, json_response

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


@bp.get("/collections")
@require("viewer")
def collections():
    return json_response({"collections": [{
        "id": "plots", "title": "Land plots (thửa đất)", "itemType": "feature",
        "links": [{"rel": "items", "href": external_url("api.plot_items"),
                   "type": "application/geo+json"}]}]})


@bp.get("/collections/plots/items")
@require("viewer")
def plot_items():
    box = params.bbox()
    limit = params.whole("limit", params.DEFAULT_LIMIT, 1, params.MAX_LIMIT)
    after = params.whole("after", 0, 0, 2**62)
    params.only("bbox", "limit", "after", "f")
    with heavy_request():
        features, count, following = plot_features(g.conn, bbox=box, limit=limit, after=after)
    base = {k: v for k, v in request.args.items() if k != "after"}

    def link(rel, **cursor):
        return {"rel": rel, "type": "application/geo+json",
                "href": external_url("api.plot_items", **base, **cursor)}

    links = [link("self", **({"after": after} if after else {}))]
    if following is not None:
        links.append(link("next", after=following))
    # The features come as JSON text from the database: wrapped, not parsed and written again.
    body = (f'{{"type": "FeatureCollection", "numberReturned": {count}, "features": [{features}], '
            f'"links": {json_text(links)}}}')
    return Response(body, content_type="application/geo+json; charset=utf-8")


@bp.route("/api/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
def unknown(rest):
    raise NotFound(f"no such API route: /api/{rest}")
