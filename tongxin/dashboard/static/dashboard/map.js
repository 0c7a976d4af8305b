/* Grid map (一图): grid polygons coloured by open/overdue cases, case points, a side panel per grid.
   Works on a blank base (no tile server) so it runs on an intranet with no outside network. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("map-data").textContent);
  var el = document.getElementById("grid-map");
  var map = L.map(el, { zoomSnap: 0.25, attributionControl: !!data.tile_url });
  if (data.tile_url) {
    L.tileLayer(data.tile_url, { maxZoom: 19, attribution: data.tile_attribution || "" }).addTo(map);
  }
  var panel = document.getElementById("grid-panel");
  function openPanel(url) {
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) { panel.innerHTML = html; panel.focus({ preventScroll: true }); });
  }
  panel.setAttribute("tabindex", "-1");
  var bounds = L.latLngBounds([]);
  data.grids.forEach(function (g) {
    if (!g.polygon) { return; }
    var layer = L.geoJSON(g.polygon, {
      style: { color: "#1f2328", weight: 2, fillColor: g.colour, fillOpacity: 0.55 }
    }).addTo(map);
    layer.bindTooltip(g.community + " · " + g.name + " — " + g.open + " / " + g.overdue, { sticky: true });
    layer.on("click", function () { openPanel(g.detail); });
    bounds.extend(layer.getBounds());
    var c = layer.getBounds().getCenter();
    L.marker(c, { icon: L.divIcon({ className: "grid-label", html: g.name, iconSize: null }), keyboard: false }).addTo(map);
  });
  data.points.forEach(function (p) {
    var m = L.circleMarker([p.lat, p.lng], {
      radius: 6, color: "#fff", weight: 1.5, fillColor: p.overdue ? "#b3261e" : "#0b57d0", fillOpacity: 1
    }).addTo(map);
    var a = document.createElement("a");
    a.href = p.url; a.textContent = p.number + " " + p.title;
    m.bindPopup(a);
    bounds.extend([p.lat, p.lng]);
  });
  if (bounds.isValid()) { map.fitBounds(bounds, { padding: [20, 20] }); } else { map.setView([30.36, 113.45], 14); }
  document.querySelectorAll("a.grid-link").forEach(function (a) {
    a.addEventListener("click", function (ev) { ev.preventDefault(); openPanel(a.getAttribute("href")); });
  });
  el.dataset.ready = "1";
  // other apps' layers (e.g. sensors' device markers) add themselves to this map
  window.tongxinGridMap = map;
  document.dispatchEvent(new CustomEvent("tongxin:map-ready", { detail: map }));
})();
