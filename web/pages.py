"""The pages: overview, a commune's review page and map, a plot's page with its edit form, the forms' posts.

The review form (findings), the edit form (a plot's values, issue 17) and an admin's revert of a change.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, send_file, url_for

from geoland import config
from geoland.errors import Forbidden, InputFileError
from geoland.logs import get_logger
from geoland.review.audit import audit_events
from geoland.review.basemaps import configured
from geoland.review.edits import (
    EditConflict,
    EditRefused,
    changes,
    current_values,
    holders_of,
    masked,
    revert_edit,
    save_edits,
)
from geoland.review.findings import (
    BULK_MAX,
    SORTS,
    STATES,
    check_filters,
    commune_findings,
    commune_summary,
    plot_comments,
    reviewers,
)
from geoland.review.findings import review_finding as apply_review
from geoland.review.lookup import plot_detail, plot_record, record_personal_view
from geoland.review.maps import script_json
from geoland.review.plotmap import plot_feature, plot_map
from geoland.review.scope import communes_of, may_edit, may_see_personal
from geoland.rules import vocab
from geoland.rules.edits import FIELDS
from geoland.rules.vocab import describe_value

from . import params
from .auth import check_csrf, local_target, require
from .http import MAP_ASSETS, heavy_request

bp = Blueprint("pages", __name__)
log = get_logger(__name__)


@bp.get("/")
@require("viewer", scope="filtered")
def overview():
    """The province dashboard: the communes' map coloured by their shares, the campaign's categories per commune."""
    import datetime as dt

    from geoland.review.dashboard import CATEGORIES, province_dashboard

    board = province_dashboard(g.conn, communes_of(g.user))
    report = config.report_dir() if communes_of(g.user) is None else None
    terms = vocab.words("page", g.language)
    options = {"words": {k: terms[k] for k in ("share_missing", "share_conflict", "plots", "basemap_none")},
               "basemaps": configured(), "language": g.language}
    stamp = dt.datetime.fromtimestamp((report / "index.html").stat().st_mtime).strftime("%d/%m/%Y %H:%M") \
        if report else None
    return render_template("overview.html", board=board, categories=CATEGORIES, report=stamp,
                           geojson=script_json(board["geojson"]), options=script_json(options))


REPORT_FILES = ("index.html", "communes.csv", "findings.csv", "disputed.csv")


@bp.get("/report/")
@bp.get("/report/<name>")
@require("viewer")
def report_file(name="index.html"):
    """The latest data-quality report (``geoland report``; :func:`geoland.config.report_dir`), province-wide."""
    folder = config.report_dir()
    if name not in REPORT_FILES or folder is None or not (folder / name).exists():
        abort(404, "no report yet: `geoland report --out DIR` with GEOLAND_REPORT_DIR=DIR" if folder is None
              else f"the report has no file {name[:40]}")
    return send_file(folder / name, mimetype="text/html" if name.endswith(".html") else "text/csv",
                     max_age=0)


@bp.get("/search")
@require("viewer", scope="filtered")
def search_page():
    """The header's search: one answer opens its page, several are listed, none says so (and why)."""
    from geoland.review.search import search

    params.only("q", "lang")
    found = search(g.conn, request.args.get("q", ""), g.user)
    if len(found["results"]) == 1:
        return redirect(found["results"][0]["url"])
    return render_template("search.html", found=found), 200 if found["results"] else 404


@bp.get("/communes/<code>")
@require("viewer", scope="commune")
def commune_page(code):
    if not params.is_commune_code(code):
        abort(404, "a commune code has 5 digits")
    params.only("type", "category", "state", "sort", "dir", "page", "per", "lang", "saved")
    kind, category, state = (request.args.get(k) or None for k in ("type", "category", "state"))
    check_filters(kind, category, state)
    sort, descending = request.args.get("sort") or "category", request.args.get("dir") == "desc"
    per = params.whole("per", FINDINGS_PAGE, 10, BULK_MAX)
    number = params.whole("page", 1, 1, 10**6)
    summary = commune_summary(g.conn, code)
    current_app.extensions["geoland_maps"].prefetch(g.conn, code, **_map_options())    # built while this page is
    findings, total = commune_findings(g.conn, code, kind=kind, category=category, state=state, sort=sort,
                                       descending=descending, limit=per, offset=(number - 1) * per)
    pages = max(1, -(-total // per))
    if number > pages:                                   # past the end (the list shrank): the last page
        return redirect(_findings_url(code, page=pages))
    return render_template("commune.html", review=summary, findings=findings, total=total, counts=summary,
                           kind=kind, category=category, state=state, types=summary["types"], states=STATES,
                           reviewers=reviewers(g.conn),
                           sort=sort, descending=descending, page=number, pages=pages, per=per, sorts=SORTS,
                           first=(number - 1) * per + 1, url=lambda **kw: _findings_url(code, **kw))


FINDINGS_PAGE = 100


def _findings_url(code: str, **changes) -> str:
    """The commune page's URL with its filters, sort and page, ``changes`` applied (None drops a key)."""
    kept = {k: v for k, v in request.args.items() if k in ("type", "category", "state", "sort", "dir", "page", "per")
            and v}
    kept.update(changes)
    return url_for("pages.commune_page", code=code, **{k: v for k, v in kept.items() if v is not None})


@bp.post("/communes/<code>/findings/review")
@require("reviewer")
def review_selection(code):
    """A bulk action on the findings ticked on the commune page: all of them change, or none."""
    from geoland.review.findings import review_findings

    check_csrf()
    if not params.is_commune_code(code):
        abort(404, "a commune code has 5 digits")
    raw = request.form.getlist("ids")
    if len(raw) > BULK_MAX or not all(params.ascii_digits(v) and len(v) < 19 for v in raw):
        abort(400, f"ids: at most {BULK_MAX} finding ids (whole numbers)")
    done = review_findings(g.conn, code, [int(v) for v in raw], request.form.get("action", ""),
                           actor=g.user["username"], note=request.form.get("note") or "",
                           assignee=request.form.get("assignee"))
    log.info("%d findings of %s: %s by %s", len(done), code, done[0].action, g.user["username"])
    return redirect(local_target(request.form.get("next") or url_for("pages.commune_page", code=code)))


@bp.get("/communes/<code>/map")
@require("viewer", scope="commune")
def commune_map(code):
    if not params.is_commune_code(code):
        abort(404, "a commune code has 5 digits")
    return current_app.extensions["geoland_maps"].html(g.conn, code, **_map_options())


def _map_options() -> dict:
    """How the commune page's map is made for this request (language, where its scripts, plots and cards are)."""
    return {"language": g.language, "asset_url": MAP_ASSETS, "plot_url": url_for("pages.plot_page", plot_id=0),
            "card_url": url_for("pages.plot_card_json", plot_id=0).replace("/0/", "/{id}/")}


@bp.get("/plots/<int:plot_id>/card")
@require("viewer", scope="plot")
def plot_card_json(plot_id):
    """What the review map's popup shows of a plot (its land user masked), read when the plot is clicked."""
    from flask import jsonify

    from geoland.review.communes import plot_card

    return jsonify(plot_card(g.conn, plot_id))


@bp.get("/plots/<int:plot_id>")
@require("viewer", scope="plot")
def plot_page(plot_id):
    return _plot_page(plot_id, unmasked=request.args.get("people") == "1")


def _plot_page(plot_id: int, *, unmasked: bool, typed: dict | None = None, problems: dict | None = None,
               status: int = 200):
    """The plot page; after a refused save, with what was typed and the reason of each refused field."""
    if unmasked and not may_see_personal(g.user):
        raise Forbidden("only an administrator, or the commune's officer, may see personal data")
    detail = plot_detail(g.conn, plot_id, unmasked=unmasked)
    if unmasked:
        log.info("personal data of plot %d shown to %s", plot_id, g.user["username"])
        record_personal_view(g.conn, plot_id, actor=g.user["username"], path=request.path,
                             reason=request.args.get("why", ""))
    form, holders = None, []
    if may_edit(g.user):
        values = current_values(g.conn, plot_id)
        form = (values if unmasked else masked(values)) | {"masked": not unmasked}
        holders = [h if unmasked else masked(h) for h in holders_of(g.conn, plot_id).values()]
    messages = {k: describe_value(v, g.language) for k, v in (problems or {}).items()}
    terms = vocab.words("page", g.language)
    shown = plot_map(g.conn, plot_id, g.language)
    options = {"words": {k: terms[k] for k in ("plot", "neighbours", "code_point", "new_commune", "old_commune",
                                               "problem_here", "basemap_none")}, "basemaps": configured()}
    return render_template("plot.html", plot=detail, map_data=script_json(shown), map_options=script_json(options),
                           history=plot_record(g.conn, plot_id),
                           comments=plot_comments(g.conn, plot_id), unmasked=unmasked, form=form,
                           typed=typed or {}, problems=messages, fields=FIELDS,
                           edits=changes(g.conn, plot_id, unmasked=unmasked),
                           share_errors=any(k.startswith("share:") for k in messages),
                           asset_errors=any(k.startswith("asset:") for k in messages),
                           holders=holders, holder_errors=any(k.startswith("holder:") for k in messages),
                           saved=request.args.get("saved") == "1"), status


@bp.get("/plots/<int:plot_id>.geojson")
@require("viewer", scope="plot")
def plot_geojson(plot_id):
    """The plot as a GeoJSON Feature for download (WGS 84; codes, commune, areas, land use; nothing personal)."""
    import json

    from flask import Response

    body = json.dumps(plot_feature(g.conn, plot_id), ensure_ascii=False)
    return Response(body, mimetype="application/geo+json",
                    headers={"Content-Disposition": f'attachment; filename="thua-{plot_id}.geojson"'})


def typed_fields() -> dict[str, str]:
    """The edit form's fields as typed.

    Personal fields shown masked and left blank mean "unchanged"; the dispute checkbox is sent only when ticked.
    """
    typed = {k: request.form[k] for k in FIELDS if k in request.form and k != "disputed"}
    if "disputed_since" in request.form:                        # the form has its dispute part
        typed["disputed"] = "on" if request.form.get("disputed") else ""
    if request.form.get("masked") == "1":
        typed = {k: v for k, v in typed.items() if not (FIELDS[k].personal and not v.strip())}
    too_long = [k for k, v in typed.items() if len(v) > 2000]
    if too_long:
        abort(400, f"form field {too_long[0]} is longer than 2000 characters")
    return typed


@bp.post("/plots/<int:plot_id>/edit")
@require("editor", scope="plot")
def edit_plot(plot_id):
    """Save the edit form: refused fields shown on the page (422), a stale form on the conflict page (409)."""
    check_csrf()
    version = params.whole("version", None, 1, 2**31 - 1, form=True)
    typed = typed_fields()
    try:
        done = save_edits(g.conn, plot_id, version, typed, actor=g.user["username"], source="form")
    except EditRefused as refused:
        return _plot_page(plot_id, unmasked=False, typed=typed, problems=refused.problems, status=422)
    except EditConflict as stale:
        rows = [{"field": k, "yours": v, "current": masked(stale.current).get(k) if FIELDS[k].personal
                 else stale.current.get(k)} for k, v in typed.items() if k in FIELDS]
        return render_template("conflict.html", plot_id=plot_id, stale=stale, rows=rows), 409
    log.info("plot %d edited by %s: %s", plot_id, g.user["username"], ", ".join(done["changed"]) or "nothing")
    return redirect(url_for("pages.plot_page", plot_id=plot_id, saved=1 if done["changed"] else 0))


@bp.get("/progress")
@require("viewer", scope="filtered")
def progress_page():
    """The campaign's progress over time: a chart of the shares per check, the checks, the corrections."""
    from geoland.pipeline.progress import progress_chart, read_progress

    params.only("province", "since", "lang")
    found = read_progress(g.conn, province=params.optional("province", 2), since=params.date("since"),
                          communes=communes_of(g.user))
    runs = found["runs"]
    latest = found["communes"][found["communes"]["job_id"] == runs["job_id"].max()] if len(runs) else None
    return render_template("progress.html", runs=runs.to_dict(orient="records"),
                           chart=progress_chart(runs, vocab.words("page", g.language)),
                           corrections=found["corrections"].to_dict(orient="records"),
                           communes=latest.to_dict(orient="records") if latest is not None else [])


def _register_part(plot_id: int, prefix: str, fields: tuple[str, ...] | None, save):
    """Save one register part of the plot page: keys ``PREFIX:ID`` (``fields`` None) or ``PREFIX:ID:FIELD``.

    Refused values are shown on the page (422), a stale form gets the conflict page (409); a part shown masked
    (``masked=1``) and left blank means "unchanged".
    """
    check_csrf()
    version = params.whole("version", None, 1, 2**31 - 1, form=True)
    posted = {k: v for k, v in request.form.items() if k.startswith(prefix + ":")}
    typed: dict = {}
    for key, value in posted.items():
        _, ident, field = [*key.split(":"), "", ""][:3]
        if not params.ascii_digits(ident) or (field not in fields if fields else field) or len(value) > 200 \
                or len(typed) > 100:
            abort(400, f"form field {key[:40]}: {prefix}:ID{':FIELD' if fields else ''}, at most 200 characters, "
                       "100 of them")
        if request.form.get("masked") == "1" and not value.strip():
            continue                                            # shown masked, left blank: unchanged
        if fields:
            typed.setdefault(int(ident), {})[field] = value
        else:
            typed[int(ident)] = value
    try:
        done = save(g.conn, plot_id, version, typed, actor=g.user["username"])
    except EditRefused as refused:
        return _plot_page(plot_id, unmasked=False, typed=posted, problems=refused.problems, status=422)
    except EditConflict as stale:                          # the values typed are the user's own; no stored one shown
        rows = [{"field": k.split(":")[2] if fields else prefix, "yours": "…" if prefix == "holder" else v,
                 "current": None} for k, v in posted.items()]
        return render_template("conflict.html", plot_id=plot_id, stale=stale, rows=rows), 409
    log.info("plot %d: %s edited by %s (%d values)", plot_id, prefix, g.user["username"], len(done["changed"]))
    return redirect(url_for("pages.plot_page", plot_id=plot_id, saved=1 if done["changed"] else 0))


@bp.post("/plots/<int:plot_id>/shares")
@require("editor", scope="plot")
def edit_shares(plot_id):
    """The co-holders' shares, one per right on the plot (``share:RIGHT``)."""
    from geoland.review.edits import save_shares

    return _register_part(plot_id, "share", None, save_shares)


@bp.post("/plots/<int:plot_id>/holders")
@require("editor", scope="plot")
def edit_holders(plot_id):
    """The holders' names, ID numbers and birth years (``holder:PARTY:FIELD``)."""
    from geoland.review.edits import save_holders

    return _register_part(plot_id, "holder", ("holder_name", "id_number", "birth_year"), save_holders)


@bp.post("/plots/<int:plot_id>/assets")
@require("editor", scope="plot")
def edit_assets(plot_id):
    """The values of the plot's assets (``asset:ID:FIELD``)."""
    from geoland.review.edits import save_assets
    from geoland.rules.edits import ASSET_FIELDS

    return _register_part(plot_id, "asset", tuple(ASSET_FIELDS), save_assets)


WORKBOOK_MAX = 20 * 1024 * 1024      # a commune workbook of 100,000 rows is about 6 MB


@bp.get("/communes/<code>/corrections.xlsx")
@require("editor", scope="commune")
def corrections_template(code):
    """The commune's workbook (``geoland corrections template``), for the plots with open findings."""
    from geoland.pipeline.corrections import ONLY, write_template

    if not params.is_commune_code(code):
        abort(404, "a commune code has 5 digits")
    only = request.args.get("only") or "all"
    if only not in ONLY:
        abort(400, f"only: one of {', '.join(ONLY)}")
    with heavy_request(), tempfile.TemporaryDirectory(prefix="geoland-template-") as folder:
        path = Path(folder) / f"so-bo-sung-{code}-{only}.xlsx"
        write_template(g.conn, code, path, only=only)
        data = path.read_bytes()
    from io import BytesIO

    return send_file(BytesIO(data), as_attachment=True, download_name=path.name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.post("/communes/<code>/corrections")
@require("editor", scope="commune")
def corrections_upload(code):
    """A filled commune workbook applied (``geoland corrections apply``): its report, or every problem in words."""
    from geoland.pipeline.corrections import apply_workbook

    request.max_content_length = WORKBOOK_MAX          # this route only; every other form stays under 64 KB
    check_csrf()
    upload = request.files.get("workbook")
    if upload is None or not upload.filename:
        abort(400, "choose the commune's workbook (.xlsx) to upload")
    dry_run = request.form.get("dry_run") == "1"
    with heavy_request(), tempfile.TemporaryDirectory(prefix="geoland-upload-") as folder:
        path = Path(folder) / "workbook.xlsx"
        upload.save(path)
        try:
            result = apply_workbook(g.conn, path, user=g.user, dry_run=dry_run)
        except InputFileError as refused:
            problems = getattr(refused, "problems", None)
            if problems is None:                        # not a template workbook at all: said in words
                return render_template("corrections.html", code=code, result=None, problems=[],
                                       message=refused.message.split(": ", 1)[-1]), 422
            return render_template("corrections.html", code=code, result=None, problems=problems,
                                   message=None), 422
    log.info("commune workbook applied to %s by %s: %d plots changed%s", code, g.user["username"],
             result["changed"], " (dry run)" if dry_run else "")
    return render_template("corrections.html", code=code, result=result, problems=[], message=None)


@bp.post("/edits/<int:edit_id>/revert")
@require("admin")
def revert(edit_id):
    check_csrf()
    done = revert_edit(g.conn, edit_id, actor=g.user["username"])
    return redirect(url_for("pages.plot_page", plot_id=done["plot_id"], saved=1))


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
