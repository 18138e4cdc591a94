"""Responses shared by the blueprints: JSON with geoland's encoder, and errors as JSON (API) or a page."""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict

from flask import Response, current_app, g, render_template, request, url_for

from geoland.errors import Busy, TooManyRequests
from geoland.output import json_text

API_PREFIXES = ("/api/", "/ogc")
MAP_ASSETS = "/assets/map"          # the vendored Leaflet and the plot layer script (geoland.review.maps)


def is_api() -> bool:
    return request.path.startswith(API_PREFIXES)


def external_url(endpoint: str, **values) -> str:
    """An absolute link for API answers (``self``, ``next``), never built from the request's ``Host`` header.

    The base is ``GEOLAND_BASE_URL`` when set (the address users reach, e.g. behind a reverse proxy), else the
    address the server listens on; only with ``--trusted-proxy`` does the forwarded host count, and then
    waitress takes it from that proxy alone.
    """
    config = current_app.config
    if config.get("GEOLAND_BASE_URL"):
        return config["GEOLAND_BASE_URL"].rstrip("/") + url_for(endpoint, **values)
    if config.get("GEOLAND_TRUST_PROXY"):
        return url_for(endpoint, _external=True, **values)
    return config["GEOLAND_LISTEN_URL"] + url_for(endpoint, **values)


def json_response(payload, status: int = 200, content_type: str = "application/json") -> Response:
    return Response(json_text(payload), status=status, content_type=f"{content_type}; charset=utf-8")


RETRY_AFTER_S = 10        # told to clients while the database cannot be reached (503) or they wait (429)
HEAVY_PER_USER = 2        # concurrent heavy requests (pages of the items collection) per user
_heavy: dict[str, threading.BoundedSemaphore] = defaultdict(lambda: threading.BoundedSemaphore(HEAVY_PER_USER))
_heavy_lock = threading.Lock()


@contextlib.contextmanager
def heavy_request():
    """Run the block as a heavy request (a page of the items collection), within two caps.

    Per user, at most :data:`HEAVY_PER_USER` at once: one more is refused (429). Server-wide, at most the
    app's ``GEOLAND_HEAVY_REQUESTS`` (half the server's threads under ``geoland serve``): one more is refused
    (503, retry in a second). Refused, not queued: a queued request would hold a thread, and the point look-ups
    and pages must always find one.
    """
    user = (g.get("user") or {}).get("username", "-")
    with _heavy_lock:
        slot = _heavy[user]
    if not slot.acquire(blocking=False):
        raise TooManyRequests(f"at most {HEAVY_PER_USER} such requests at a time per user: wait for one to end")
    try:
        server = current_app.extensions["geoland_heavy"]
        if not server.acquire(blocking=False):
            raise Busy("the server is busy with other large requests: retry in a second")
        try:
            yield
        finally:
            server.release()
    finally:
        slot.release()


def error_response(status: int, message: str, retry_after: int | None = None):
    headers = {"Retry-After": str(retry_after or RETRY_AFTER_S)} if status in (429, 503) else {}
    if is_api():
        response = json_response({"status": status, "message": message}, status)
        response.headers.update(headers)
        return response
    return render_template("error.html", status=status, message=message), status, headers
