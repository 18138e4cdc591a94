"""OGC API – Features (Part 1: core, GeoJSON, HTML, OpenAPI 3.0) at ``/ogc``.

What GDAL's OAPIF driver, QGIS and OWSLib read. The data comes from :mod:`geoland.review.ogc` and
:mod:`geoland.review.lookup`.
"""

from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, Response, g, render_template, request

from geoland.errors import InvalidInput, NotFound
from geoland.output import json_text
from geoland.review import ogc
from geoland.review.lookup import plot_feature, plot_features

from . import params
from .auth import require
from .http import external_url, heavy_request, json_response

bp = Blueprint("ogc", __name__, url_prefix="/ogc")
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"


def _format() -> str:
    """``f=json|html``, else what the client accepts (browsers get HTML, everything else JSON)."""
    f = request.args.get("f")
    if f in ("json", "html"):
        return f
    if f:
        raise InvalidInput("f must be json or html")
    accept = request.accept_mimetypes
    return "html" if accept.best_match(["application/json", "text/html"]) == "text/html" else "json"


def _answer(document: dict, title: str, media: str = "application/json"):
    if _format() == "html":
        return render_template("ogc.html", title=title, doc=document)
    return json_response(document, content_type=media)


def _links(endpoint: str, media: str, title: str, **values) -> list[dict]:
    return [{"rel": "self", "type": media, "title": title, "href": external_url(endpoint, **values, f="json")},
            {"rel": "alternate", "type": "text/html", "title": title + " (HTML)",
             "href": external_url(endpoint, **values, f="html")}]


@bp.get("/")                 # OWSLib asks for the landing page with a trailing slash
@bp.get("")
@require("viewer")
def landing():
    params.only("f")
    return _answer({"title": "geoland", "description": "Land plots and commune boundaries (OGC API – Features).",
                    "links": [*_links("ogc.landing", "application/json", "This document"),
                              {"rel": "service-desc", "type": OPENAPI, "title": "OpenAPI 3.0",
                               "href": external_url("ogc.api")},
                              {"rel": "conformance", "type": "application/json", "title": "Conformance",
                               "href": external_url("ogc.conformance")},
                              {"rel": "data", "type": "application/json", "title": "Collections",
                               "href": external_url("ogc.collections")}]}, "geoland")


@bp.get("/conformance")
@require("viewer")
def conformance():
    params.only("f")
    return _answer({"conformsTo": ogc.CONFORMANCE}, "Conformance")


@bp.get("/api")
@require("viewer")
def api():
    params.only("f")
    return json_response(ogc.openapi(external_url("ogc.landing"), params.MAX_LIMIT), content_type=OPENAPI)


def _collection(cid: str, extents: dict) -> dict:
    title, description = ogc.COLLECTIONS[cid]
    return {"id": cid, "title": title, "description": description, "itemType": "feature",
            "crs": [ogc.CRS84], "extent": extents[cid],
            "links": [*_links("ogc.collection", "application/json", title, cid=cid),
                      {"rel": "items", "type": GEOJSON, "title": title, "href": external_url("ogc.items", cid=cid)},
                      {"rel": "items", "type": "text/html", "title": title + " (HTML)",
                       "href": external_url("ogc.items", cid=cid, f="html")}]}


@bp.get("/collections")
@require("viewer")
def collections():
    params.only("f")
    extents = ogc.extents(g.conn)
    return _answer({"links": _links("ogc.collections", "application/json", "Collections"),
                    "collections": [_collection(cid, extents) for cid in ogc.COLLECTIONS]}, "Collections")


def _known(cid: str) -> None:
    if cid not in ogc.COLLECTIONS:
        raise NotFound(f"no collection {cid[:40]!r}: {', '.join(ogc.COLLECTIONS)}")


@bp.get("/collections/<cid>")
@require("viewer")
def collection(cid):
    _known(cid)
    params.only("f")
    return _answer(_collection(cid, ogc.extents(g.conn)), ogc.COLLECTIONS[cid][0])


@bp.get("/collections/<cid>/items")
@require("viewer")
def items(cid):
    _known(cid)
    params.only("bbox", "limit", "after", "datetime", "f")
    fmt = _format()
    box = params.bbox()
    top = params.MAX_LIMIT if cid == "plots" else ogc.COMMUNE_PAGE_MAX
    # Above the maximum is not an error in OGC API Features: the maximum is used.
    limit = min(params.whole("limit", min(params.DEFAULT_LIMIT, top), 1, 10**9), top)
    after = params.whole("after", 0, 0, 2**62)
    period = ogc.parse_datetime(params.optional("datetime", 100))
    with heavy_request():
        if cid == "plots":
            features, count, following = plot_features(g.conn, bbox=box, limit=limit, after=after,
                                                       imports=ogc.imports_between(g.conn, period))
        else:
            features, count, following = ogc.commune_features(g.conn, bbox=box, limit=limit, after=after,
                                                              period=period)
    base = {k: v for k, v in request.args.items() if k not in ("after", "f")}

    def link(rel, media="json", **cursor):
        return {"rel": rel, "type": GEOJSON if media == "json" else "text/html",
                "href": external_url("ogc.items", cid=cid, **base, **cursor, f=media)}

    here = {"after": after} if after else {}
    links = [link("self", **here), link("alternate", "html", **here),
             {"rel": "collection", "type": "application/json", "href": external_url("ogc.collection", cid=cid)}]
    if following is not None:
        links.append(link("next", after=following))
    if fmt == "html":
        document = {"links": links, "features": json.loads(f"[{features}]")}
        return render_template("ogc.html", title=ogc.COLLECTIONS[cid][0], doc=document)
    # numberMatched on the first page of an unfiltered collection (one count; later pages and boxes would pay a
    # count of what they skip: they leave it out, as OGC API Features allows).
    matched = (f'"numberMatched": {ogc.count(g.conn, cid)}, ' if not after and box is None and period is None
               else "")
    # The features come as JSON text from the database: wrapped, not parsed and written again.
    body = (f'{{"type": "FeatureCollection", {matched}"numberReturned": {count}, "timeStamp": "{_now()}", '
            f'"features": [{features}], "links": {json_text(links)}}}')
    return Response(body, content_type=f"{GEOJSON}; charset=utf-8")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@bp.get("/collections/<cid>/items/<int:fid>")
@require("viewer")
def item(cid, fid):
    _known(cid)
    params.only("f")
    fmt = _format()
    text = plot_feature(g.conn, fid) if cid == "plots" else ogc.commune_feature(g.conn, fid)
    links = [{"rel": "self", "type": GEOJSON, "href": external_url("ogc.item", cid=cid, fid=fid, f="json")},
             {"rel": "alternate", "type": "text/html", "href": external_url("ogc.item", cid=cid, fid=fid, f="html")},
             {"rel": "collection", "type": "application/json", "href": external_url("ogc.collection", cid=cid)}]
    if fmt == "html":
        return render_template("ogc.html", title=f"{ogc.COLLECTIONS[cid][0]} {fid}",
                               doc={"links": links, "features": [json.loads(text)]})
    return Response(text[:-1] + f', "links": {json_text(links)}}}', content_type=f"{GEOJSON}; charset=utf-8")
