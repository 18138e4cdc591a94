/* The province dashboard's map: the new communes coloured by their share of plots missing data or in conflict
   (switchable), a legend, a tooltip, a click opens the commune's page. Vendored Leaflet, no tiles unless the
   office configured background layers (geolandBasemaps). */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("communes-data").textContent);
  var options = JSON.parse(document.getElementById("map-options").textContent);
  var words = options.words, select = document.getElementById("colour-by");
  var BREAKS = [0.1, 0.25, 0.5, 0.75];
  var RAMPS = {missing: ["#fff8e1", "#ffe082", "#ffca28", "#ff8f00", "#e65100"],
               conflict: ["#fdecea", "#f4a29b", "#e57373", "#d32f2f", "#7f0000"]};
  var map = L.map("province-map", {zoomControl: true, preferCanvas: false, keyboard: true});
  function share(p, key) { return p.plots ? p[key] / p.plots : 0; }
  function colour(value, key) {
    for (var i = 0; i < BREAKS.length; i++) if (value < BREAKS[i]) return RAMPS[key][i];
    return RAMPS[key][BREAKS.length];
  }
  function style(feature) {
    return {color: "#37474f", weight: 1, fillOpacity: 0.75, fillColor: colour(share(feature.properties, select.value), select.value)};
  }
  function percent(x) { return (100 * x).toFixed(1).replace(".", options.language === "vi" ? "," : ".") + " %"; }
  var layer = L.geoJSON(data, {
    style: style,
    onEachFeature: function (feature, shape) {
      var p = feature.properties;
      shape.bindTooltip(function () {
        var esc = document.createElement("span");
        esc.textContent = p.code + " " + (p.name || "");
        return "<b>" + esc.innerHTML + "</b><br>" + words.share_missing + ": " + percent(share(p, "missing")) +
          "<br>" + words.share_conflict + ": " + percent(share(p, "conflict")) + "<br>" + words.plots + ": " + p.plots;
      }, {sticky: true});
      shape.on("click", function () { window.location.href = "/communes/" + encodeURIComponent(p.code); });
    }
  });
  if (data.features.length) map.fitBounds(layer.getBounds(), {padding: [8, 8]});   // the view first
  else map.setView([21.3, 103.9], 8);
  if (options.basemaps.length) L.control.layers(window.geolandBasemaps(map, options.basemaps, words.basemap_none)).addTo(map);
  layer.addTo(map);
  var legend = L.control({position: "bottomright"});
  legend.onAdd = function () { this._div = L.DomUtil.create("div", "map-legend"); this.update(); return this._div; };
  legend.update = function () {
    var key = select.value, labels = ["< 10 %", "10–25 %", "25–50 %", "50–75 %", "≥ 75 %"];
    var title = document.createElement("b");
    title.textContent = key === "missing" ? words.share_missing : words.share_conflict;
    this._div.innerHTML = title.outerHTML + "<br>" + labels.map(function (t, i) {
      return '<i style="background:' + RAMPS[key][i] + '"></i>' + t;
    }).join("<br>");
  };
  legend.addTo(map);
  select.addEventListener("change", function () { layer.setStyle(style); legend.update(); });
  window.geolandDashboard = {map: map, layer: layer, drawn: function () {
    var n = 0; layer.eachLayer(function (l) { if (l._path && l._path.getAttribute("d")) n++; }); return n;
  }};
})();
