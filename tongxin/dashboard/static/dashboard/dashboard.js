/* Dashboard charts (chart.js from npm). Colours from the AA palette of tongxin.css. */
(function () {
  "use strict";
  var d = JSON.parse(document.getElementById("chart-data").textContent);
  var palette = ["#0b57d0", "#1a7f37", "#9a6700", "#b3261e", "#6639ba", "#57606a", "#0a6b74"];
  Chart.defaults.animation = false;
  var i = 0, sets = [];
  Object.keys(d.trend.series).forEach(function (name) {
    sets.push({ label: name, data: d.trend.series[name], borderColor: palette[i % palette.length], spanGaps: true, tension: 0.2 });
    i += 1;
  });
  new Chart(document.getElementById("chart-trend"), {
    type: "line", data: { labels: d.trend.labels, datasets: sets },
    options: { scales: { y: { min: 0, max: 100 } } }
  });
  new Chart(document.getElementById("chart-channels"), {
    type: "bar", data: { labels: d.channels.labels, datasets: [{ label: "", data: d.channels.values, backgroundColor: "#b3261e" }] },
    options: { plugins: { legend: { display: false } } }
  });
  new Chart(document.getElementById("chart-categories"), {
    type: "bar", data: { labels: d.categories.labels, datasets: [{ label: "", data: d.categories.values, backgroundColor: "#0b57d0" }] },
    options: { indexAxis: "y", plugins: { legend: { display: false } } }
  });
  document.body.dataset.chartsReady = "1";
})();
