/* Sensors: reading charts (canvas[data-readings-url]) and device markers on the grid map (#sensor-markers).
   chart.js and Leaflet come from node_modules; no outside network. */
(function () {
  "use strict";

  function fmt(ms) {
    var d = new Date(ms);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + two(d.getHours()) + ":" + two(d.getMinutes());
  }

  function level(value, points, label, colour) {
    var first = points.length ? points[0].x : 0;
    var last = points.length ? points[points.length - 1].x : 0;
    return {
      label: label + " " + value, data: [{ x: first, y: value }, { x: last, y: value }],
      borderColor: colour, borderDash: [6, 4], borderWidth: 1, pointRadius: 0
    };
  }

  function drawChart(canvas) {
    if (canvas.dataset.ready || typeof Chart === "undefined") { return; }
    canvas.dataset.ready = "loading";
    fetch(canvas.dataset.readingsUrl, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (d) {
        var points = d.t.map(function (t, i) { return { x: Date.parse(t), y: d.v[i] }; });
        var sets = [{
          label: d.device + (d.unit ? " (" + d.unit + ")" : ""), data: points,
          borderColor: "#0b57d0", borderWidth: 1.5, pointRadius: points.length > 200 ? 0 : 2
        }];
        if (d.low !== null && d.low !== undefined) { sets.push(level(d.low, points, canvas.dataset.lowLabel, "#b3261e")); }
        if (d.high !== null && d.high !== undefined) { sets.push(level(d.high, points, canvas.dataset.highLabel, "#d97706")); }
        new Chart(canvas, {
          type: "line",
          data: { datasets: sets },
          options: {
            parsing: false, animation: false, maintainAspectRatio: false,
            scales: { x: { type: "linear", ticks: { maxTicksLimit: 6, callback: fmt } } },
            plugins: { tooltip: { callbacks: { title: function (items) { return items.length ? fmt(items[0].parsed.x) : ""; } } } }
          }
        });
        canvas.dataset.ready = "1";
        canvas.dataset.points = String(points.length);
      })
      .catch(function () { canvas.dataset.ready = "error"; });
  }

  function addMarkers(map) {
    var el = document.getElementById("sensor-markers");
    if (!el || !map || el.dataset.ready) { return; }
    el.dataset.ready = "loading";
    var colours = { ok: "#2da44e", offline: "#6e7781", alert: "#b3261e" };
    fetch(el.dataset.url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (d) {
        var seen = {}, where = [];
        d.markers.forEach(function (m) {
          // devices at the same spot (an estate's pump room and its meters) are fanned out a little
          var key = m.lat.toFixed(5) + "," + m.lng.toFixed(5);
          var n = seen[key] = (seen[key] || 0) + 1;
          var angle = n * 2.4, r = n > 1 ? 0.00006 * Math.sqrt(n) : 0;
          var marker = L.circleMarker([m.lat + r * Math.sin(angle), m.lng + r * Math.cos(angle)], {
            radius: 5, color: "#1f2328", weight: 1, fillColor: colours[m.status] || "#0b57d0", fillOpacity: 1
          }).addTo(map);
          var a = document.createElement("a");
          a.href = m.url;
          a.textContent = m.name + " · " + (el.dataset["label" + m.status.charAt(0).toUpperCase() + m.status.slice(1)] || m.status) +
            (m.value !== null ? " · " + m.value + (m.unit || "") : "");
          marker.bindPopup(a);
          where.push([m.lat, m.lng]);
          marker.getElement && marker.getElement() && marker.getElement().setAttribute("data-sensor", m.status);
        });
        // a map with nothing else to show (no grid polygons) is brought to the devices
        if (where.length) {
          var mine = L.latLngBounds(where);
          var shown = null;
          try { shown = map.getBounds(); } catch (e) { shown = null; }
          if (!shown || !shown.isValid() || !shown.intersects(mine)) { map.fitBounds(mine, { maxZoom: 17, padding: [30, 30] }); }
        }
        el.dataset.ready = "1";
        el.dataset.count = String(d.markers.length);
      })
      .catch(function () { el.dataset.ready = "error"; });
  }

  function start() {
    document.querySelectorAll("canvas[data-readings-url]").forEach(drawChart);
    if (window.tongxinGridMap) { addMarkers(window.tongxinGridMap); }
  }
  document.addEventListener("tongxin:map-ready", function (ev) { addMarkers(ev.detail); });
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
