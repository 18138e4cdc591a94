/* geoland review map: a commune's plots drawn on canvases, one per toggle, from a compact data block
   (see web/maps.py). No Leaflet layer per plot: each layer draws the plots of its subset that are in view,
   and a click finds the plot under the pointer through a grid of bounding boxes. */
(function () {
  "use strict";

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  /* Vertices in zoom-0 pixels (Web Mercator), per ring; plot bounding boxes. */
  function decode(data) {
    var crs = L.CRS.EPSG3857, n = data.coords.length / 2, xs = new Float64Array(n), ys = new Float64Array(n);
    var offsets = data.ringOffsets, r, i, x = 0, y = 0;
    for (r = 0; r + 1 < offsets.length; r++) {
      for (i = offsets[r]; i < offsets[r + 1]; i++) {
        if (i === offsets[r]) { x = data.coords[2 * i]; y = data.coords[2 * i + 1]; }
        else { x += data.coords[2 * i]; y += data.coords[2 * i + 1]; }
        var p = crs.latLngToPoint(L.latLng(y / data.scale, x / data.scale), 0);
        xs[i] = p.x; ys[i] = p.y;
      }
    }
    var plots = data.plotRings.length - 1, box = new Float64Array(4 * plots);
    for (var k = 0; k < plots; k++) {
      var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (r = data.plotRings[k]; r < data.plotRings[k + 1]; r++) {
        for (i = offsets[r]; i < offsets[r + 1]; i++) {
          if (xs[i] < x0) x0 = xs[i]; if (xs[i] > x1) x1 = xs[i];
          if (ys[i] < y0) y0 = ys[i]; if (ys[i] > y1) y1 = ys[i];
        }
      }
      box[4 * k] = x0; box[4 * k + 1] = y0; box[4 * k + 2] = x1; box[4 * k + 3] = y1;
    }
    return {xs: xs, ys: ys, box: box, plots: plots};
  }

  /* A uniform grid over the plots' boxes, for clicks. */
  function grid(geo) {
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, k;
    for (k = 0; k < geo.plots; k++) {
      x0 = Math.min(x0, geo.box[4 * k]); y0 = Math.min(y0, geo.box[4 * k + 1]);
      x1 = Math.max(x1, geo.box[4 * k + 2]); y1 = Math.max(y1, geo.box[4 * k + 3]);
    }
    var side = Math.max(1, Math.ceil(Math.sqrt(geo.plots / 4)));
    var w = (x1 - x0) / side || 1e-9, h = (y1 - y0) / side || 1e-9, cells = {};
    for (k = 0; k < geo.plots; k++) {
      var a = Math.floor((geo.box[4 * k] - x0) / w), b = Math.floor((geo.box[4 * k + 2] - x0) / w);
      var c = Math.floor((geo.box[4 * k + 1] - y0) / h), d = Math.floor((geo.box[4 * k + 3] - y0) / h);
      for (var i = a; i <= b; i++) for (var j = c; j <= d; j++) (cells[i + "," + j] = cells[i + "," + j] || []).push(k);
    }
    return function (x, y) {
      return cells[Math.floor((x - x0) / w) + "," + Math.floor((y - y0) / h)] || [];
    };
  }

  var PlotCanvas = L.Layer.extend({
    initialize: function (name, members, style, shared) {
      this.name = name; this.members = members; this.style = style; this.shared = shared; this.drawn = 0;
      this.contains = new Uint8Array(shared.geo.plots);
      for (var i = 0; i < members.length; i++) this.contains[members[i]] = 1;
    },
    onAdd: function (map) {
      this._canvas = L.DomUtil.create("canvas", "geoland-plots leaflet-zoom-hide");
      this._canvas.dataset.layer = this.name;
      map.getPanes().overlayPane.appendChild(this._canvas);
      map.on("moveend resize viewreset", this._schedule, this);
      this._redraw();
    },
    /* Several events come with one change of view (zoomend, moveend …): draw once, at the next frame. */
    _schedule: function () {
      if (this._frame) return;
      this._frame = L.Util.requestAnimFrame(function () { this._frame = null; if (this._map) this._redraw(); }, this);
    },
    onRemove: function (map) {
      map.off("moveend resize viewreset", this._schedule, this);
      if (this._frame) { L.Util.cancelAnimFrame(this._frame); this._frame = null; }
      L.DomUtil.remove(this._canvas);
      this.drawn = 0;
    },
    _redraw: function () {
      var map = this._map, size = map.getSize(), canvas = this._canvas, geo = this.shared.geo;
      var ratio = window.devicePixelRatio || 1;
      canvas.width = size.x * ratio; canvas.height = size.y * ratio;
      canvas.style.width = size.x + "px"; canvas.style.height = size.y + "px";
      L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([0, 0]));
      var ctx = canvas.getContext("2d"), f = Math.pow(2, map.getZoom()), min = map.getPixelBounds().min;
      var vx1 = (min.x + size.x) / f, vy1 = (min.y + size.y) / f, vx0 = min.x / f, vy0 = min.y / f;
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.fillStyle = this.style.fillColor; ctx.strokeStyle = this.style.color; ctx.lineWidth = this.style.weight;
      ctx.globalAlpha = this.style.fillOpacity;
      var data = this.shared.data, offsets = data.ringOffsets, drawn = 0, dots = 0;
      ctx.beginPath();
      for (var m = 0; m < this.members.length; m++) {
        var k = this.members[m], b = geo.box;
        if (b[4 * k + 2] < vx0 || b[4 * k] > vx1 || b[4 * k + 3] < vy0 || b[4 * k + 1] > vy1) continue;
        drawn++;
        var w = (b[4 * k + 2] - b[4 * k]) * f, h = (b[4 * k + 3] - b[4 * k + 1]) * f;
        if (w < 2 && h < 2) {           /* a plot under two pixels is its box, filled at once: same picture, a fraction of the work */
          ctx.fillRect(b[4 * k] * f - min.x, b[4 * k + 1] * f - min.y, Math.max(w, 1), Math.max(h, 1));
          dots++;
          continue;
        }
        for (var r = data.plotRings[k]; r < data.plotRings[k + 1]; r++) {
          for (var i = offsets[r]; i < offsets[r + 1]; i++) {
            var x = geo.xs[i] * f - min.x, y = geo.ys[i] * f - min.y;
            if (i === offsets[r]) ctx.moveTo(x, y); else ctx.lineTo(x, y);
          }
          ctx.closePath();
        }
      }
      ctx.fill("evenodd");
      /* Outlines only where most plots are big enough to show them (stroking 30,000 specks took 1.6 s). */
      if (dots * 2 < drawn) { ctx.globalAlpha = this.style.opacity; ctx.stroke(); }
      this.drawn = drawn;
    }
  });

  function inside(shared, k, x, y) {
    var data = shared.data, geo = shared.geo, offsets = data.ringOffsets, odd = false;
    for (var r = data.plotRings[k]; r < data.plotRings[k + 1]; r++) {
      for (var i = offsets[r], j = offsets[r + 1] - 1; i < offsets[r + 1]; j = i++) {
        if ((geo.ys[i] > y) !== (geo.ys[j] > y) &&
            x < (geo.xs[j] - geo.xs[i]) * (y - geo.ys[i]) / (geo.ys[j] - geo.ys[i]) + geo.xs[i]) odd = !odd;
      }
    }
    return odd;
  }

  /* The popup's attributes of plot k: from the data block, or (lazy, the web app) from the card read on click. */
  function card(d, k) {
    return {code: d.code[k], mx: d.mx[k], legacy_mx: d.legacy[k], legal_area_m2: d.legal[k], area_m2: d.area[k],
            land_use: d.use[k], user_name: d.user[k], id_number: d.cccd[k], certificates: d.cert ? d.cert[k] : null,
            holders: d.holders ? d.holders[k] : 0, assets: d.assets ? d.assets[k] : 0};
  }

  function popup(shared, k, c) {
    var d = shared.data, w = shared.words, v = function (x) { return x === null || x === undefined ? "—" : escapeHtml(x); };
    c = c || (d.lazy ? {code: d.code[k]} : card(d, k));
    var rows = d.lazy && c.mx === undefined ? [[w.code, "<b>" + v(c.code) + "</b>"], ["", "…"]] : [
      [w.code, "<b>" + v(c.code) + "</b>"], [w.mx, v(c.mx)], [w.legacy, v(c.legacy_mx)],
      [w.area, v(c.legal_area_m2) + " / " + v(c.area_m2) + " m²"], [w.use, v(c.land_use)],
      [w.user, v(c.user_name) + (c.holders > 1 ? " (+" + (c.holders - 1) + ")" : "")],
      [w.cccd, v(c.id_number)], [w.certificate, v(c.certificates)], [w.assets, String(c.assets || 0)]
    ];
    var html = '<div class="geoland-popup" data-plot="' + d.id[k] + '"><table>';
    rows.forEach(function (r) { html += "<tr><th>" + r[0] + "</th><td>" + r[1] + "</td></tr>"; });
    html += "</table><b>" + w.findings + ":</b> ";
    if (!d.findings[k].length) html += w.none;
    else {
      html += "<ul>";
      d.findings[k].forEach(function (f) {
        var t = d.types[f[0]];
        html += '<li class="' + t.category + '">' + escapeHtml(t.label) + (f[1] ? ": " + escapeHtml(f[1]) : "") + "</li>";
      });
      html += "</ul>";
    }
    if (shared.options.plotUrl) html += '<a href="' + shared.options.plotUrl.replace(/0$/, String(d.id[k])) + '">' + w.plot + " " + d.id[k] + "</a>";
    return html + "</div>";
  }

  window.geolandReview = function (map, data, options) {
    var t0 = performance.now();
    var shared = {data: data, geo: decode(data), words: options.words, options: options};
    var t1 = performance.now();
    var lookup = grid(shared.geo), layers = {}, overlays = {}, c = options.colours, i;
    var t2 = performance.now();
    var groups = {clean: [], missing: [], conflict: []}, byType = data.types.map(function () { return []; });
    for (i = 0; i < shared.geo.plots; i++) {
      groups[["clean", "missing", "conflict"][data.category[i]]].push(i);
      data.findings[i].forEach(function (f) { if (byType[f[0]][byType[f[0]].length - 1] !== i) byType[f[0]].push(i); });
    }
    function swatch(colour) { return '<span class="geoland-swatch" style="background:' + colour + '"></span>'; }
    layers.clean = new PlotCanvas("clean", groups.clean, {fillColor: c.clean, color: c.clean, fillOpacity: 0.08, opacity: 0.35, weight: 0.5}, shared);
    layers.missing = new PlotCanvas("missing", groups.missing, {fillColor: c.missing, color: "#8d6e00", fillOpacity: 0.45, opacity: 0.8, weight: 0.7}, shared);
    layers.conflict = new PlotCanvas("conflict", groups.conflict, {fillColor: c.conflict, color: "#7f0000", fillOpacity: 0.5, opacity: 0.9, weight: 0.8}, shared);
    var order = ["clean", "missing", "conflict"];
    order.forEach(function (key) {
      layers[key].addTo(map);
      overlays[swatch(c[key]) + escapeHtml(options.words[key]) + " (" + groups[key].length + ")"] = layers[key];
    });
    data.types.forEach(function (t, j) {
      var key = "type:" + t.type, colour = t.category === "conflict" ? c.conflict : c.missing;
      layers[key] = new PlotCanvas(key, byType[j], {fillColor: colour, color: "#000", fillOpacity: 0.6, opacity: 1, weight: 1.2}, shared);
      overlays["&nbsp;&nbsp;· " + escapeHtml(t.label) + " (" + byType[j].length + ")"] = layers[key];
    });
    var named = {};
    if (options.layers.boundary) named[escapeHtml(options.words.boundary)] = window[options.layers.boundary];
    if (options.layers.old) named[escapeHtml(options.words.old)] = window[options.layers.old];
    Object.keys(named).forEach(function (k) { overlays[k] = named[k]; });
    var bases = window.geolandBasemaps && options.basemaps && options.basemaps.length
      ? window.geolandBasemaps(map, options.basemaps, options.words.basemap_none) : null;
    L.control.layers(bases, overlays, {collapsed: map.getSize().x < 900}).addTo(map);

    var legend = L.control({position: "bottomright"});
    legend.onAdd = function () {
      var div = L.DomUtil.create("div", "geoland-legend");
      div.innerHTML = "<b>" + escapeHtml(options.words.legend) + "</b><br>" + escapeHtml(options.title) + "<br>" +
        ["conflict", "missing", "clean"].map(function (k) { return swatch(c[k]) + escapeHtml(options.words[k]); }).join("<br>") +
        '<br><span class="geoland-swatch" style="border:2px solid #1a237e"></span>' + escapeHtml(options.words.boundary) +
        '<br><span class="geoland-swatch" style="border:1px dashed #5c6bc0"></span>' + escapeHtml(options.words.old);
      return div;
    };
    legend.addTo(map);
    var style = document.createElement("style");
    style.textContent = ".geoland-swatch{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}" +
      ".geoland-legend{background:#fff;padding:6px 8px;font:12px sans-serif;border-radius:4px;box-shadow:0 1px 4px #0004}" +
      ".geoland-popup th{text-align:left;padding-right:8px;font-weight:normal;color:#555}.geoland-popup li.conflict{color:#b71c1c}";
    document.head.appendChild(style);

    map.on("click", function (e) {
      var p = L.CRS.EPSG3857.latLngToPoint(e.latlng, 0), candidates = lookup(p.x, p.y);
      var priority = Object.keys(layers).filter(function (k) { return k.indexOf("type:") === 0; }).concat(["conflict", "missing", "clean"]);
      for (var q = 0; q < priority.length; q++) {
        var layer = layers[priority[q]];
        if (!map.hasLayer(layer)) continue;
        for (var m = 0; m < candidates.length; m++) {
          var k = candidates[m];
          if (layer.contains[k] && inside(shared, k, p.x, p.y)) {
            var opened = L.popup({maxWidth: 360}).setLatLng(e.latlng).setContent(popup(shared, k)).openOn(map);
            if (data.lazy && options.cardUrl) {
              fetch(options.cardUrl.replace("{id}", String(data.id[k])), {credentials: "same-origin"})
                .then(function (r) { return r.ok ? r.json() : null; })
                .then(function (c) { if (c && map.hasLayer(opened)) opened.setContent(popup(shared, k, c)); });
            }
            return;
          }
        }
      }
    });
    var index = {}, outline = null, outlineRenderer = L.svg({padding: 0.5});
    data.id.forEach(function (id, k) { index[id] = k; });
    /* Outline one plot (a finding's row hovered or clicked in the page around the map); pan to it on click. */
    function highlight(id, pan) {
      var k = index[id], geo = shared.geo, rings = [], r, j;
      if (outline) { map.removeLayer(outline); outline = null; }
      if (k === undefined) return false;
      for (r = data.plotRings[k]; r < data.plotRings[k + 1]; r++) {
        var ring = [];
        for (j = data.ringOffsets[r]; j < data.ringOffsets[r + 1]; j++) ring.push(L.CRS.EPSG3857.pointToLatLng(L.point(geo.xs[j], geo.ys[j]), 0));
        rings.push(ring);
      }
      outline = L.polygon(rings, {color: "#0d47a1", weight: 4, fill: false, interactive: false,
                                 className: "geoland-highlight", renderer: outlineRenderer}).addTo(map);
      if (pan) map.fitBounds(outline.getBounds(), {maxZoom: 19, padding: [40, 40]});
      return true;
    }
    window.geolandMap = {map: map, layers: layers, data: data, highlight: highlight,
      highlighted: function () { return outline ? outline.getLatLngs() : null; },
      timing: {start: t0, decode: t1 - t0, grid: t2 - t1, layers: performance.now() - t2},
      drawn: function () { var out = {}; Object.keys(layers).forEach(function (k) { out[k] = map.hasLayer(layers[k]) ? layers[k].drawn : 0; }); return out; }};
  };
})();
