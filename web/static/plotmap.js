/* The plot page's map: the plot, its neighbours (a click opens one), its new and old communes, the point
   behind its identification code and where its geometry is broken; vendored Leaflet, background layers only
   when the office configured them. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("plot-map-data").textContent);
  var options = JSON.parse(document.getElementById("plot-map-options").textContent), w = options.words;
  var map = L.map("plot-map", {keyboard: true, maxZoom: 22});
  var plot = L.geoJSON(data.plot.geometry, {style: {color: "#b71c1c", weight: 3, fillColor: "#e53935", fillOpacity: 0.35}});
  map.fitBounds(plot.getBounds().pad(1.5));           // the view first: Leaflet draws vectors into a view
  var bases = window.geolandBasemaps(map, options.basemaps, w.basemap_none), overlays = {};
  function text(s) { var e = document.createElement("span"); e.textContent = s == null ? "" : String(s); return e.innerHTML; }
  function commune(c, style, label) {
    if (!c) return;
    var layer = L.geoJSON(c.geometry, {style: style, interactive: false}).addTo(map);
    overlays[label + " " + text(c.code + " " + (c.name || ""))] = layer;
  }
  commune(data.old_commune, {color: "#5c6bc0", weight: 2, dashArray: "6 4", fill: false}, w.old_commune);
  commune(data.new_commune, {color: "#1a237e", weight: 3, fill: false}, w.new_commune);
  var neighbours = L.geoJSON({type: "FeatureCollection", features: data.neighbours.map(function (n) {
    return {type: "Feature", geometry: n.geometry, properties: {id: n.id, code: n.code}};
  })}, {style: {color: "#546e7a", weight: 1, fillColor: "#b0bec5", fillOpacity: 0.25},
        onEachFeature: function (f, l) {
          l.bindTooltip(text(f.properties.code || ("#" + f.properties.id)));
          l.on("click", function () { window.location.href = "/plots/" + f.properties.id; });
        }}).addTo(map);
  overlays[w.neighbours + " (" + data.neighbours.length + ")"] = neighbours;
  plot.bindTooltip(text(w.plot + " " + (data.plot.code || data.plot.id))).addTo(map);
  overlays[w.plot] = plot;
  if (data.code_point) {
    var point = L.circleMarker([data.code_point[1], data.code_point[0]], {radius: 6, color: "#fff", weight: 2,
      fillColor: "#1b5e20", fillOpacity: 1}).bindTooltip(text(w.code_point + ": " + (data.plot.code || ""))).addTo(map);
    overlays[w.code_point] = point;
  }
  var problems = L.layerGroup(data.problems.map(function (p) {
    return L.circleMarker([p.at[1], p.at[0]], {radius: 9, color: "#e65100", weight: 3, fill: false})
      .bindTooltip(text(w.problem_here + ": " + p.text), {permanent: false});
  })).addTo(map);
  if (data.problems.length) overlays[w.problem_here] = problems;
  L.control.layers(options.basemaps.length ? bases : null, overlays, {collapsed: map.getSize().x < 500}).addTo(map);
  window.geolandPlotMap = {map: map, plot: plot, neighbours: neighbours, problems: problems};
})();
