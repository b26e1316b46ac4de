// The GIS shop's area drawing: progressive enhancement of the GeoJSON field (the page works
// without this file: the text field and the file upload stay).
// The map shows ETRS-TM35FIN (EPSG:3067) in the JHS 180 tile matrix of the national WMTS
// services; the outline is written to the form in the product's own system (data-epsg, e.g.
// ETRS-GK23 = EPSG:3877), the one the cart measures it in, with the live price computed by the
// cart's rules (services/cart/domain/pricing.py). The cart's price stays authoritative.
(function () {
  "use strict";
  if (!window.L || !window.proj4 || !L.Proj) { return; }

  var TOWGS = " +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs";
  proj4.defs("EPSG:3067", "+proj=utm +zone=35" + TOWGS);
  for (var zone = 19; zone <= 31; zone++) {  // ETRS-GK19..31 = EPSG:3873..3885
    proj4.defs("EPSG:" + (3873 + zone - 19), "+proj=tmerc +lat_0=0 +lon_0=" + zone +
      " +k=1 +x_0=" + (zone * 1000000 + 500000) + " +y_0=0" + TOWGS);
  }
  var RESOLUTIONS = [];
  for (var z = 0; z < 16; z++) { RESOLUTIONS.push(8192 / Math.pow(2, z)); }
  var TM35FIN = new L.Proj.CRS("EPSG:3067", "+proj=utm +zone=35" + TOWGS, {
    origin: [-548576, 8388608],
    resolutions: RESOLUTIONS,
    bounds: L.bounds([-548576, 6291456], [1548576, 8388608])
  });
  var TURKU = [60.4518, 22.2666];

  // The cart's rules in integer arithmetic: area_price_cents and the licence factor.
  function hectaresToM2(ha) { return Math.round(ha * 10000); }
  function areaPrice(p, m2) {
    var charged = Math.max(m2, hectaresToM2(p.minimum));
    var remaining = charged, lower = 0, numerator = 0;
    for (var i = 0; i < p.tiers.length; i++) {
      var upper = p.tiers[i][0] === null ? null : hectaresToM2(p.tiers[i][0]);
      var span = upper === null ? remaining : Math.min(remaining, upper - lower);
      if (span <= 0) { break; }
      numerator += span * p.tiers[i][1];
      remaining -= span;
      if (upper !== null) { lower = upper; }
    }
    return {cents: p.base + Math.floor((2 * numerator + 10000) / 20000), charged: charged};
  }
  function shoelace(ring) {  // square metres, rounded half up as the cart does
    var twice = 0;
    for (var i = 0; i < ring.length - 1; i++) {
      twice += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
    }
    return Math.floor(Math.abs(twice) / 2 + 0.5);
  }
  function crosses(a, b, c, d) {  // do segments ab and cd cross (touching counts)?
    function side(p, q, r) { return Math.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])); }
    return side(a, b, c) * side(a, b, d) <= 0 && side(c, d, a) * side(c, d, b) <= 0;
  }
  function selfCrossing(ring) {  // ring closed: last == first
    var n = ring.length - 1;
    for (var i = 0; i < n; i++) {
      for (var j = i + 2; j < n; j++) {
        if (i === 0 && j === n - 1) { continue; }  // neighbours through the closing corner
        if (crosses(ring[i], ring[i + 1], ring[j], ring[j + 1])) { return true; }
      }
    }
    return false;
  }
  function money(cents, lang) {
    var euros = Math.floor(Math.abs(cents) / 100), rest = String(Math.abs(cents) % 100).padStart(2, "0");
    var sign = cents < 0 ? "-" : "";
    if (lang === "en") { return sign + "€" + euros.toLocaleString("en-GB") + "." + rest; }
    return sign + String(euros).replace(/\B(?=(\d{3})+(?!\d))/g, "\u00a0") + "," + rest + "\u00a0€";
  }
  function hectares(m2, lang) {
    var text = (m2 / 10000).toFixed(2);
    return lang === "en" ? text : text.replace(".", ",");
  }

  function setUp(box) {
    var form = box.closest("form");
    var lang = document.documentElement.lang || "fi";
    var epsg = box.getAttribute("data-epsg");
    var pricing = JSON.parse(box.getAttribute("data-pricing"));
    var text = form.querySelector("textarea[name='area']");
    var crsSelect = form.querySelector("select[name='area_crs']");
    var systemSelect = form.querySelector("select[name='coordinate_system']");
    var licence = form.querySelector("select[name='licence_type']");
    var live = box.querySelector("[data-live-price]");
    var other = form.querySelector("details.area-other");
    var corners = [];  // L.LatLng
    var owned = false;  // the text field holds what was drawn (not typed by hand)
    var layer = L.layerGroup();

    box.hidden = false;
    if (other && !other.querySelector(".field-error")) { other.open = false; }  // errors stay in view
    var map = L.map(box.querySelector(".area-map"), {
      crs: TM35FIN, center: TURKU, zoom: 10, minZoom: 3, maxZoom: 15, zoomControl: false
    });
    L.control.zoom({
      zoomInTitle: box.getAttribute("data-zoom-in"), zoomOutTitle: box.getAttribute("data-zoom-out")
    }).addTo(map);
    L.control.scale({imperial: false}).addTo(map);
    var tiles = box.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, {
        attribution: box.getAttribute("data-attribution") || "", maxZoom: 15, minZoom: 3
      }).addTo(map);
    }
    layer.addTo(map);

    function system() {
      if (!systemSelect) { return epsg; }
      return systemSelect.selectedOptions[0].getAttribute("data-epsg") || epsg;
    }
    function factor() {
      var chosen = licence && licence.selectedOptions[0];
      return chosen ? parseInt(chosen.getAttribute("data-factor") || "100", 10) : 100;
    }
    function ring() {  // the outline in the product's system, centimetres, closed
      var target = system();
      var points = corners.map(function (c) {
        var xy = proj4("EPSG:4326", target, [c.lng, c.lat]);
        return [Math.round(xy[0] * 100) / 100, Math.round(xy[1] * 100) / 100];
      });
      points.push(points[0]);
      return points;
    }
    function draw() {
      layer.clearLayers();
      corners.forEach(function (c) {
        L.circleMarker(c, {radius: 6, interactive: false, className: "area-corner"}).addTo(layer);
      });
      if (corners.length === 2) { L.polyline(corners, {interactive: false}).addTo(layer); }
      if (corners.length >= 3) { L.polygon(corners, {interactive: false, className: "area-shape"}).addTo(layer); }
    }
    function update() {
      draw();
      if (corners.length < 3) {
        live.textContent = box.getAttribute("data-empty");
        live.removeAttribute("data-cents");
        if (owned) { text.value = ""; }
        return;
      }
      var outline = ring();
      owned = true;
      text.value = JSON.stringify({type: "Polygon", coordinates: [outline]});
      var crsOption = Array.prototype.find.call(crsSelect.options, function (o) { return o.value === system(); });
      if (!crsOption) { crsOption = new Option(system(), system()); crsSelect.add(crsOption); }
      crsSelect.value = system();
      if (selfCrossing(outline)) {
        live.textContent = box.getAttribute("data-crosses");
        live.removeAttribute("data-cents");
        return;
      }
      var m2 = shoelace(outline);
      var price = areaPrice(pricing, m2);
      var cents = Math.floor(price.cents * factor() / 100);
      var said = box.getAttribute("data-live").replace("{area}", hectares(m2, lang)).replace("{price}", money(cents, lang));
      if (price.charged > m2) { said += " " + box.getAttribute("data-minimum").replace("{ha}", hectares(price.charged, lang)); }
      live.textContent = said;
      live.setAttribute("data-cents", String(cents));
      live.setAttribute("data-m2", String(m2));
    }
    function load() {  // a kept or pasted polygon in a known system is shown on the map
      try {
        var area = JSON.parse(text.value);
        var source = crsSelect.value;
        if (area.type !== "Polygon" || !proj4.defs(source) && source !== "EPSG:4326") { return false; }
        var outer = area.coordinates[0].slice(0, -1);
        if (outer.length < 3 || outer.length > 500) { return false; }
        corners = outer.map(function (xy) {
          var ll = source === "EPSG:4326" ? xy : proj4(source, "EPSG:4326", xy);
          return L.latLng(ll[1], ll[0]);
        });
        map.fitBounds(L.latLngBounds(corners), {maxZoom: 13});
        update();
        return true;
      } catch (e) { return false; }
    }

    map.on("click", function (e) { corners.push(e.latlng); update(); });
    box.querySelector("[data-action='centre']").addEventListener("click", function () {
      corners.push(map.getCenter()); update();
    });
    box.querySelector("[data-action='undo']").addEventListener("click", function () {
      corners.pop(); update();
    });
    box.querySelector("[data-action='clear']").addEventListener("click", function () {
      corners = []; update();
    });
    if (licence) { licence.addEventListener("change", function () { if (corners.length >= 3) { update(); } }); }
    if (systemSelect) { systemSelect.addEventListener("change", function () { if (corners.length >= 3) { update(); } }); }
    text.addEventListener("change", function () {  // typed or pasted by hand: shown when it can be
      owned = false;
      if (!load()) { corners = []; layer.clearLayers(); live.textContent = box.getAttribute("data-empty"); }
    });
    if (!(text.value && load())) { live.textContent = box.getAttribute("data-empty"); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".area-draw[data-epsg]").forEach(setUp);
  });
})();
