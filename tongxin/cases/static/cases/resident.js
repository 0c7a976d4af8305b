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
  var status = document.getElementById("pick-status");
  function pick(latlng, note) {
    document.getElementById("id_latitude").value = latlng.lat.toFixed(6);
    document.getElementById("id_longitude").value = latlng.lng.toFixed(6);
    if (map) {
      if (marker) { marker.setLatLng(latlng); } else { marker = L.circleMarker(latlng, { radius: 9, color: "#b3261e" }).addTo(map); }
    }
    status.textContent = (note ? note + " " : "") + latlng.lat.toFixed(5) + ", " + latlng.lng.toFixed(5);
  }
  function makeMap() {
    if (map) { return; }
    var centre = (form.dataset.centre || "30.3610,113.4320").split(",").map(Number);
    map = L.map("pick-map", { attributionControl: false }).setView(centre, 16);
    if (form.dataset.tileUrl) { L.tileLayer(form.dataset.tileUrl, { maxZoom: 19 }).addTo(map); }
    /* Without a tile server the grid outlines of the community show where one is. */
    var outlines = JSON.parse((document.getElementById("grid-outlines") || {}).textContent || "[]");
    var drawn = [];
    outlines.forEach(function (o) {
      try { drawn.push(L.geoJSON(o.polygon, { style: { color: "#0969da", weight: 2, fillOpacity: 0.05 } }).bindTooltip(o.name).addTo(map)); } catch (err) { /* a bad outline is skipped */ }
    });
    if (drawn.length && !form.dataset.centre) { map.fitBounds(L.featureGroup(drawn).getBounds()); }
    map.on("click", function (e) { pick(e.latlng); });
    var lat = parseFloat(document.getElementById("id_latitude").value), lng = parseFloat(document.getElementById("id_longitude").value);
    if (!isNaN(lat) && !isNaN(lng)) { pick(L.latLng(lat, lng)); map.setView([lat, lng], 17); }
  }
  /* 定位: the phone's own position (the browser asks the resident first). */
  document.getElementById("locate-me").addEventListener("click", function () {
    if (!navigator.geolocation) { status.textContent = form.dataset.locateFailed; return; }
    status.textContent = form.dataset.locating;
    navigator.geolocation.getCurrentPosition(function (pos) {
      var here = { lat: pos.coords.latitude, lng: pos.coords.longitude };
      withLeaflet(function () {
        makeMap();
        var ll = L.latLng(here.lat, here.lng);
        map.setView(ll, 17);
        pick(ll, form.dataset.located + "（" + form.dataset.accuracy.replace("%s", Math.round(pos.coords.accuracy || 0)) + "）");
      });
    }, function () { status.textContent = form.dataset.locateFailed; }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  });
  /* Photos: say how many are chosen; more than the limit are dropped by the server, so say that too. */
  var photos = document.getElementById("id_photos"), count = document.getElementById("photo-count");
  photos.addEventListener("change", function () {
    var n = photos.files.length, max = parseInt(photos.dataset.max, 10);
    count.textContent = n > max ? form.dataset.tooMany.replace("%s", max) : (n ? form.dataset.chosen.replace("%s", n) : "");
  });
  form.querySelectorAll("input[name=where]").forEach(function (r) { r.addEventListener("change", mode); });
  mode();
})();
