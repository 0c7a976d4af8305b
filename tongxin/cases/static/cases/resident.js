/* Resident submit page: "more categories" select feeds the category radios; location mode toggles map/address. */
(function () {
  "use strict";
  var form = document.getElementById("submit-form");
  if (!form) { return; }
  var more = document.getElementById("more-cats");
  more.addEventListener("change", function () {
    if (!more.value) { return; }
    form.querySelectorAll("input[name=category]").forEach(function (r) { r.checked = false; r.required = false; });
    var hidden = form.querySelector("input[name=category][type=hidden]");
    if (!hidden) { hidden = document.createElement("input"); hidden.type = "hidden"; hidden.name = "category"; form.appendChild(hidden); }
    hidden.value = more.value;
  });
  form.querySelectorAll("input[name=category][type=radio]").forEach(function (r) {
    r.addEventListener("change", function () {
      more.value = "";
      var hidden = form.querySelector("input[name=category][type=hidden]");
      if (hidden) { hidden.remove(); }
    });
  });
  var mapBox = document.getElementById("map-box"), addrBox = document.getElementById("address-box");
  var map = null, marker = null;
  function mode() {
    var checked = form.querySelector("input[name=where]:checked");
    var v = checked ? checked.value : "address";
    mapBox.hidden = v !== "map";
    addrBox.hidden = v === "home";
    if (v === "map" && !map) { withLeaflet(makeMap); }
  }
  function withLeaflet(done) {
    /* Leaflet (150 KB) loads only when the resident chooses to pick a point: most reports use "my home". */
    if (window.L) { done(); return; }
    var css = document.createElement("link");
    css.rel = "stylesheet"; css.href = form.dataset.leafletCss; document.head.appendChild(css);
    var js = document.createElement("script");
    js.src = form.dataset.leafletJs; js.onload = done; document.head.appendChild(js);
  }
  function makeMap() {
    if (map) { return; }
    var centre = (form.dataset.centre || "30.3610,113.4320").split(",").map(Number);
    map = L.map("pick-map", { attributionControl: false }).setView(centre, 16);
    if (form.dataset.tileUrl) { L.tileLayer(form.dataset.tileUrl, { maxZoom: 19 }).addTo(map); }
    map.on("click", function (e) {
      document.getElementById("id_latitude").value = e.latlng.lat.toFixed(6);
      document.getElementById("id_longitude").value = e.latlng.lng.toFixed(6);
      if (marker) { marker.setLatLng(e.latlng); } else { marker = L.circleMarker(e.latlng, { radius: 9, color: "#b3261e" }).addTo(map); }
      document.getElementById("pick-status").textContent = e.latlng.lat.toFixed(5) + ", " + e.latlng.lng.toFixed(5);
    });
  }
  form.querySelectorAll("input[name=where]").forEach(function (r) { r.addEventListener("change", mode); });
  mode();
})();
