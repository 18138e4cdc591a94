"""The pages: province overview, a commune's review page and map, a plot's page, the review form's post."""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from geoland.errors import Forbidden
from geoland.logs import get_logger
from geoland.review.audit import audit_events
from geoland.review.communes import commune_plots
from geoland.review.findings import STATES, check_filters, commune_counts, commune_findings, plot_comments, reviewers
from geoland.review.findings import review_finding as apply_review
from geoland.review.lookup import plot_detail, plot_record, record_personal_view
from geoland.review.maps import build_map
from geoland.review.users import role_at_least

from . import params
from .auth import check_csrf, local_target, require
from .http import MAP_ASSETS

bp = Blueprint("pages", __name__)
log = get_logger(__name__)


def _map_html(code: str, **options) -> tuple[dict, str]:
    review = commune_plots(g.conn, code)
    return review, build_map(review, language=g.language, asset_url=MAP_ASSETS, **options).get_root().render()


@bp.get("/")
@require("viewer")
def overview():
    return render_template("overview.html", communes=commune_counts(g.conn))


@bp.get("/communes/<code>")
@require("viewer")
def commune_page(code):
    if not params.is_commune_code(code):
        abort(404, "a commune code has 5 digits")
    kind, category, state = (request.args.get(k) or None for k in ("type", "category", "state"))
    check_filters(kind, category, state)
    review, html = _map_html(code, plot_url=url_for("pages.plot_page", plot_id=0))
    findings, total = commune_findings(g.conn, code, kind=kind, category=category, state=state)
    counts = commune_counts(g.conn, code)
    return render_template("commune.html", review=review, map_html=html, findings=findings, total=total,
                           counts=counts[0] if counts else None, kind=kind, category=category, state=state,
                           types=sorted(set(review["findings"]["type"])), states=STATES, reviewers=reviewers(g.conn))


@bp.get("/communes/<code>/map")
@require("viewer")
def commune_map(code):
    if not params.is_commune_code(code):
        abort(404, "a commune code has 5 digits")
    return _map_html(code)[1]


@bp.get("/plots/<int:plot_id>")
@require("viewer")
def plot_page(plot_id):
    unmasked = request.args.get("people") == "1"
    if unmasked and not role_at_least(g.user["role"], "admin"):
        raise Forbidden("only an administrator may see personal data")
    detail = plot_detail(g.conn, plot_id, unmasked=unmasked)
    if unmasked:
        log.info("personal data of plot %d shown to %s", plot_id, g.user["username"])
        record_personal_view(g.conn, plot_id, actor=g.user["username"], path=request.path,
                             reason=request.args.get("why", ""))
    return render_template("plot.html", plot=detail, history=plot_record(g.conn, plot_id),
                           comments=plot_comments(g.conn, plot_id), unmasked=unmasked)


@bp.post("/findings/<int:finding_id>/review")
@require("reviewer")
def review_finding(finding_id):
    check_csrf()
    done = apply_review(g.conn, finding_id, request.form.get("action", ""), actor=g.user["username"],
                        note=request.form.get("note") or "", assignee=request.form.get("assignee"))
    target = request.form.get("next") or url_for("pages.plot_page", plot_id=done.plot_id)
    return redirect(local_target(target))


AUDIT_PAGE = 100


@bp.get("/admin/audit")
@require("admin")
def audit_page():
    """The audit trail with the filters of ``geoland audit``, newest first, a page at a time (keyset)."""
    params.only("since", "user", "plot", "action", "before", "lang")
    filters = {"since": params.date("since"), "user": params.optional("user", 64),
               "plot": params.whole("plot", 0, 0, 2**62) or None, "action": params.optional("action", 64)}
    events = audit_events(g.conn, **filters, before=params.whole("before", 0, 0, 2**62) or None,
                          limit=AUDIT_PAGE + 1)
    more = len(events) > AUDIT_PAGE
    events = events.iloc[:AUDIT_PAGE]
    shown = {k: v for k, v in request.args.items() if k != "before" and v}
    older = url_for("pages.audit_page", **shown, before=int(events["id"].iloc[-1])) if more else None
    return render_template("audit.html", events=events.to_dict(orient="records"), filters=filters,
                           older=older, newest=url_for("pages.audit_page", **shown) if request.args.get("before")
                           else None)
