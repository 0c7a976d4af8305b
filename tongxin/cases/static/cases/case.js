// The case page: 到场 records where the phone is, if the handler asks (the browser asks for permission).
(function () {
  var button = document.getElementById("use-location");
  if (!button || !navigator.geolocation) {
    if (button) { button.hidden = true; }
    return;
  }
  button.addEventListener("click", function () {
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        document.getElementById("on-site-lat").value = pos.coords.latitude.toFixed(6);
        document.getElementById("on-site-lng").value = pos.coords.longitude.toFixed(6);
        button.textContent = button.dataset.done;
        button.disabled = true;
      },
      function () { button.textContent = button.dataset.failed; },
      { enableHighAccuracy: true, timeout: 10000 }
    );
  });
})();
