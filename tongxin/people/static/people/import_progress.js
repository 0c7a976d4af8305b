// Polls the import job's status and reloads the page when it has finished (no framework needed).
(function () {
  var box = document.getElementById("import-job");
  if (!box || box.dataset.active !== "1") return;
  var bar = document.getElementById("import-progress");
  var rows = document.getElementById("import-rows");
  var status = document.getElementById("import-status");
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        bar.max = j.total_rows || 1;
        bar.value = j.processed_rows;
        rows.textContent = j.processed_rows + " / " + j.total_rows;
        status.textContent = j.status_label;
        if (j.status === "pending" || j.status === "running") setTimeout(poll, 1500);
        else window.location.reload();
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
