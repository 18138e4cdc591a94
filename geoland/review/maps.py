"""Review maps of a commune's plots: Folium, offline, compact.

Review maps of a commune's plots: Folium, offline, compact, one implementation for ``geoland map`` and
the web app.

- Offline: Leaflet is vendored in ``geoland/review/static/vendor/leaflet`` (npm package ``leaflet``; no plugin is
  used) and folium's CDN defaults (Leaflet, jQuery, Bootstrap, Font Awesome …) are replaced by it:
  inlined into a standalone file, or served by the web app from the URL it passes as ``asset_url``. No
  background unless the office configured its layers (:mod:`geoland.review.basemaps`); no fonts.
- Compact: plots are not GeoJSON features but one data block: coordinates in micro-degrees (≈ 0.1 m,
  fit for display), delta-encoded per ring; attributes as parallel arrays; findings as indexes.
- Fast: one canvas per layer draws its plots (no Leaflet layer per plot); a click finds the plot under the
  pointer (bounding-box grid, then point in polygon) and opens its popup.
- Layers: the new commune's boundary, the old communes it came from (faint, with their codes), plots with
  missing data, plots in conflict, one layer per finding type (off at first), and plots without findings
  (faint grey) — each a toggle in one layer control — and a legend.
- Vietnamese labels by default, English with ``language="en"``.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path

import folium
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from branca.element import Element, MacroElement
from jinja2 import Template

from geoland.results import MapFile, returns
from geoland.rules.vocab import FINDING_TYPES, describe_value, words

ASSETS = Path(__file__).parent / "static"      # served by the web app at the URL it passes as asset_url
VENDOR = ASSETS / "vendor" / "leaflet"
SCRIPT = ASSETS / "plotlayer.js"
BASEMAPS_SCRIPT = ASSETS / "basemaps.js"
SCALE = 1_000_000          # micro-degrees: ≈ 0.11 m in latitude, ≈ 0.10 m in longitude at 21° N

COLOURS = {"conflict": "#d32f2f", "missing": "#f9a825", "clean": "#9e9e9e"}


def encode_rings(geoms: np.ndarray) -> tuple[list[int], list[int], list[int]]:
    """Polygons as delta-encoded integer micro-degrees.

    Polygons (lon/lat) as integer micro-degrees: the first vertex of each ring absolute, the others as
    differences; ``ring_offsets`` (vertex index of each ring's start, and the end) and ``plot_rings`` (ring
    index of each plot's first ring, and the end). Rings are written without their closing vertex.
    """
    parts = shapely.get_parts(geoms, return_index=True)
    polygons, owner = parts
    rings, ring_poly = shapely.get_rings(polygons, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    # Drop each ring's closing vertex.
    last = np.r_[ring_of[1:] != ring_of[:-1], True]
    coords, ring_of = coords[~last], ring_of[~last]
    q = np.round(coords * SCALE).astype(np.int64)
    delta = q.copy()
    start = np.r_[True, ring_of[1:] != ring_of[:-1]]
    delta[~start] = q[~start] - q[np.flatnonzero(~start) - 1]
    ring_offsets = np.r_[0, np.cumsum(np.bincount(ring_of, minlength=len(rings)))]
    plot_of_ring = owner[ring_poly]
    plot_rings = np.r_[0, np.cumsum(np.bincount(plot_of_ring, minlength=len(geoms)))]
    return delta.ravel().tolist(), ring_offsets.tolist(), plot_rings.tolist()


def map_data(review: dict, language: str = "vi") -> dict:
    """The compact data block the page's script draws."""
    plots, findings = review["plots"], review["findings"]
    coords, ring_offsets, plot_rings = encode_rings(review["geometry"])
    present = set(findings["type"])
    types = [t for t in FINDING_TYPES if t in present]
    index = {t: i for i, t in enumerate(types)}
    position = pd.Series(np.arange(len(plots)), index=plots["plot_id"].to_numpy())
    ours = findings[findings["plot_id"].isin(position.index)]
    at = position.loc[ours["plot_id"].to_numpy()].to_numpy()
    words = {v: describe_value(v, language) or "" for v in ours["value"].dropna().unique()}   # once per value
    texts = ours["value"].map(words).fillna("").tolist()
    per_plot: list[list] = [[] for _ in range(len(plots))]
    for k, kind, text_ in zip(at.tolist(), ours["type"].map(index).tolist(), texts):
        per_plot[k].append([kind, text_])
    group = ours["type"].map({t: FINDING_TYPES[t].group for t in types}).to_numpy()
    category = np.zeros(len(plots), dtype=np.int64)
    category[at[group == "missing"]] = 1
    category[at[group == "conflict"]] = 2
    category = category.tolist()

    def text(column):
        return [None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v if isinstance(v, str)
                else str(v) for v in plots[column].astype(object).tolist()]

    def number(column):
        return [None if v != v else v for v in plots[column].astype(float).round(1).tolist()]   # NaN → null

    common = {"scale": SCALE, "coords": coords, "ringOffsets": ring_offsets, "plotRings": plot_rings,
              "id": plots["plot_id"].tolist(), "code": text("code"), "category": category, "findings": per_plot,
              "types": [{"type": t, "label": FINDING_TYPES[t].label(language), "category": FINDING_TYPES[t].group}
                        for t in types]}
    if "mx" not in plots:                # lite (the web app): the popup reads the rest when a plot is clicked
        return common | {"lazy": True}
    return {
        "scale": SCALE, "coords": coords, "ringOffsets": ring_offsets, "plotRings": plot_rings,
        "id": plots["plot_id"].tolist(), "code": text("code"), "mx": text("mx"), "legacy": text("legacy_mx"),
        "area": number("area_m2"), "legal": number("legal_area_m2"), "use": text("land_use"),
        "user": text("user_name"), "cccd": text("id_number"), "category": category, "findings": per_plot,
        "cert": text("certificates") if "certificates" in plots else [None] * len(plots),
        "holders": [int(v) for v in plots["holders"]] if "holders" in plots else [0] * len(plots),
        "assets": [int(v) for v in plots["assets"]] if "assets" in plots else [0] * len(plots),
        "types": [{"type": t, "label": FINDING_TYPES[t].label(language), "category": FINDING_TYPES[t].group}
                  for t in types],
    }


DATA_TOKEN = "geolandPlotData__"


def render_page(m: folium.Map) -> str:
    """The map's HTML page, its plots' data put in (see :class:`_PlotLayers`)."""
    page = m.get_root().render()
    for child in m._children.values():
        if isinstance(child, _PlotLayers):
            page = page.replace(DATA_TOKEN, child.data_json, 1)
    return page


class _PlotLayers(MacroElement):
    _template = Template("""
{% macro script(this, kwargs) %}
geolandReview({{ this._parent.get_name() }},
              JSON.parse(document.getElementById("geoland-plot-data").textContent), {{ this.options }});
{% endmacro %}
""")

    def __init__(self, data: dict, options: dict):
        super().__init__()
        self._name = "GeolandPlots"
        # folium makes a Jinja template of each rendered script: megabytes of plots would be parsed as one.
        # The page holds a token; render_page() puts the data in after folium has rendered.
        self.data_json = script_json(data)
        self.options = script_json(options)


def script_json(value) -> str:
    """JSON (a value, or JSON text) safe inside a <script> element.

    Imported text such as ``</script><script>…`` cannot end the element.
    """
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _offline(m: folium.Map, asset_url: str | None) -> None:
    """Only the vendored Leaflet: inlined later (standalone file) or from ``asset_url`` (web app)."""
    base = asset_url or "geoland-vendor:"
    m.default_js = [("leaflet", f"{base}/vendor/leaflet/leaflet.js"), ("basemaps", f"{base}/basemaps.js"),
                    ("plotlayer", f"{base}/plotlayer.js")]
    m.default_css = [("leaflet_css", f"{base}/vendor/leaflet/leaflet.css")]


def build_map(review: dict, *, language: str = "vi", asset_url: str | None = None,
              basemaps: list[dict] | None = None, plot_url: str | None = None, data: dict | None = None,
              card_url: str | None = None) -> folium.Map:
    """The Folium map of a commune review.

    The folium map of a commune review (:func:`geoland.review.communes.commune_plots`); ``data`` is its
    :func:`map_data` when the caller has it already; ``basemaps`` the background layers (default: the
    configured ones, :func:`geoland.review.basemaps.configured`).
    """
    from geoland.review.basemaps import configured

    terms = words("map", language)
    bounds = shapely.total_bounds(review["geometry"]) if len(review["geometry"]) else None
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=True, zoom_control=True)
    _offline(m, asset_url)
    layers = {}
    if len(review["old_communes"]):
        old = folium.GeoJson(review["old_communes"].to_json(drop_id=True), name=terms["old"],
                             style_function=lambda f: {"color": "#5c6bc0", "weight": 1, "dashArray": "4 4",
                                                       "fill": False, "opacity": 0.6},
                             tooltip=folium.GeoJsonTooltip(["code", "name"], labels=False))
        old.add_to(m)
        layers["old"] = old.get_name()
    if len(review["boundary"]):
        boundary = folium.GeoJson(review["boundary"].to_json(drop_id=True), name=terms["boundary"],
                                  style_function=lambda f: {"color": "#1a237e", "weight": 3, "fill": False})
        boundary.add_to(m)
        layers["boundary"] = boundary.get_name()
    options = {"words": terms, "colours": COLOURS, "layers": layers, "language": language,
               "title": f"{review['commune']} {review.get('name') or ''}".strip(), "plotUrl": plot_url,
               "cardUrl": card_url,
               "basemaps": configured() if basemaps is None else basemaps}
    if bounds is not None:       # the view first, so that the plots are drawn once
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    _PlotLayers(data if data is not None else map_data(review, language), options).add_to(m)
    # The plots as JSON text, parsed by JSON.parse: for megabytes, twice as fast as the same as a script literal.
    m.get_root().html.add_child(Element(f'<script type="application/json" id="geoland-plot-data">{DATA_TOKEN}'
                                        "</script>"))
    m.get_root().header.add_child(Element(
        f"<title>{options['title']} — geoland</title>"))
    return m


def standalone_html(m: folium.Map) -> str:
    """The map as one HTML file that needs nothing else: the vendored scripts and style inlined."""
    page = render_page(m)
    for url, path in (("geoland-vendor:/vendor/leaflet/leaflet.js", VENDOR / "leaflet.js"),
                      ("geoland-vendor:/basemaps.js", BASEMAPS_SCRIPT), ("geoland-vendor:/plotlayer.js", SCRIPT)):
        page = page.replace(f'<script src="{url}"></script>', f"<script>{path.read_text(encoding='utf-8')}</script>")
    css = _css_with_inline_images()
    page = page.replace('<link rel="stylesheet" href="geoland-vendor:/vendor/leaflet/leaflet.css"/>',
                        f"<style>{css}</style>")
    if "geoland-vendor:" in page:
        raise RuntimeError("an asset of the map was not inlined")
    return page


def _css_with_inline_images() -> str:
    """Leaflet's stylesheet with its images inlined as data URIs.

    Leaflet's stylesheet with its images (layer control icon, markers) as data URIs: a standalone page
    must not ask for ``images/…`` beside itself.
    """
    import base64
    import re

    css = (VENDOR / "leaflet.css").read_text(encoding="utf-8")

    def inline(match):
        data = base64.b64encode((VENDOR / match.group(1)).read_bytes()).decode()
        return f"url(data:image/png;base64,{data})"

    return re.sub(r"url\((images/[a-z0-9-]+\.png)\)", inline, css)


@returns(MapFile)
def write_map(review: dict, out: Path, *, language: str = "vi") -> MapFile:
    """``geoland map``: the standalone map file; returns what it shows."""
    data = map_data(review, language)
    html = standalone_html(build_map(review, language=language, data=data))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    counts = {"clean": 0, "missing": 0, "conflict": 0}
    for c in data["category"]:
        counts[("clean", "missing", "conflict")[c]] += 1
    return {"commune": review["commune"], "name": review.get("name"), "file": str(out), "bytes": out.stat().st_size,
            "plots": len(review["plots"]), **counts}


class CommuneMaps:
    """The web app's map pages of communes, rendered once per state of the data and kept (the last few).

    The state is the database and its newest job: every change a map shows (an import, a reassignment, codes, a
    check, a plot's correction, a workbook) is a job, so a new job makes a new page and an unchanged province
    is served from memory. Review actions (assign, resolve) are not on the map. Only masked pages are built.
    With ``card_url`` (``/plots/{id}/card``, the plot's id put for ``{id}``) a page carries the plots' shapes,
    codes and findings only, and a click reads the plot's other attributes from there (34,300 plots: 1 s less to
    build). :meth:`prefetch` starts a page's build while the commune page around it is still being made, so that
    the map's own request finds it built or being built (one build per page, whoever asks first).
    """

    def __init__(self, engine, size: int = 6, settings=None):
        from concurrent.futures import ThreadPoolExecutor

        self.engine, self.size, self.settings = engine, size, settings
        self.pages: OrderedDict = OrderedDict()        # a 34,000-plot commune's page is about 4 MB
        self.building: dict = {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="geoland-map")

    def _key(self, conn, commune: str, options: dict) -> tuple:
        from geoland.review.basemaps import configured

        basemaps = configured()
        state = conn.execute(sa.text("SELECT current_database(), (SELECT max(id) FROM geoland.job)")).one()
        return (tuple(state), commune, json.dumps(options, sort_keys=True), json.dumps(basemaps, sort_keys=True)), \
            basemaps

    def _build(self, conn, commune: str, options: dict, basemaps: list) -> str:
        from geoland.review.communes import commune_plots

        return render_page(build_map(commune_plots(conn, commune, lite=options.get("card_url") is not None),
                                     basemaps=basemaps, **options))

    def _keep(self, key, html: str) -> None:
        with self.lock:
            self.pages[key] = html
            self.building.pop(key, None)
            while len(self.pages) > self.size:
                self.pages.popitem(last=False)

    def prefetch(self, conn, commune: str, **options) -> None:
        """Start building the page in the background (own connection) unless it is kept or being built."""
        key, basemaps = self._key(conn, commune, options)
        with self.lock:
            if key in self.pages or key in self.building:
                return

            def run():
                with self.engine.connect() as own:
                    if self.settings:
                        self.settings(own)
                    html = self._build(own, commune, options, basemaps)
                    own.rollback()
                self._keep(key, html)
                return html

            self.building[key] = self.pool.submit(run)

    def html(self, conn, commune: str, **options) -> str:
        """The page: kept, or the build under way awaited, or built now in the caller's transaction."""
        key, basemaps = self._key(conn, commune, options)
        with self.lock:
            if key in self.pages:
                self.pages.move_to_end(key)
                return self.pages[key]
            future = self.building.get(key)
        if future is not None:
            try:
                return future.result(timeout=60)
            except Exception:
                with self.lock:
                    self.building.pop(key, None)
        html = self._build(conn, commune, options, basemaps)
        self._keep(key, html)
        return html
