/* Background layers of geoland's maps (geoland/review/basemaps.py): a blank background first, then the
   office's XYZ, WMS or WMTS layers, each with its attribution. Returns the base layers by name, for the
   caller's layer switcher; the default one (or the blank) is added to the map. */
(function () {
  "use strict";
  window.geolandBasemaps = function (map, list, blankName) {
    var bases = {}, blank = L.layerGroup(), chosen = blank;
    bases[blankName || "—"] = blank;
    (list || []).forEach(function (b) {
      var common = {attribution: b.attribution, maxZoom: 22, maxNativeZoom: b.maxZoom};
      var layer = b.type === "wms"
        ? L.tileLayer.wms(b.url, L.extend({layers: b.layers, format: b.format, transparent: false, version: "1.3.0"}, common))
        : L.tileLayer(b.url, common);
      bases[b.name] = layer;
      if (b["default"]) chosen = layer;
    });
    chosen.addTo(map);
    return bases;
  };
})();
