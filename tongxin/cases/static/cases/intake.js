/* Hotline intake: the caller's number fills resident and dwelling, the address completes, the category is
   suggested and duplicates appear while the operator types. All lookups are same-origin GETs. */
(function () {
  "use strict";
  var form = document.getElementById("intake-form");
  if (!form) { return; }
  var $ = function (id) { return document.getElementById(id); };
  var touchedCategory = false;
  function debounce(fn, ms) { var t; return function () { clearTimeout(t); t = setTimeout(fn, ms); }; }
  function get(url, params) {
    var q = new URLSearchParams(params).toString();
    return fetch(url + "?" + q, { credentials: "same-origin" }).then(function (r) { return r.json(); });
  }
  function text(el, s) { el.textContent = s; }

  var lookupCaller = debounce(function () {
    var phone = $("id_phone").value.replace(/\D/g, "");
    if (phone.length < 7) { return; }
    get(form.dataset.caller, { phone: phone }).then(function (d) {
      var r = d.residents[0];
      if (!r) { text($("caller"), form.dataset.noCaller || "—"); $("id_resident").value = ""; return; }
      $("id_resident").value = r.id;
      if (!$("id_contact_name").value) { $("id_contact_name").value = r.name; }
      if (r.dwelling) { $("id_dwelling").value = r.dwelling; $("id_address").value = r.address; text($("address-status"), "✓ " + r.address); }
      text($("caller"), "✓ " + r.name + " " + r.phone + (r.address ? " · " + r.address : ""));
      assist();
    });
  }, 250);
  $("id_phone").addEventListener("input", lookupCaller);

  var completeAddress = debounce(function () {
    var q = $("id_address").value.trim();
    $("id_dwelling").value = "";
    if (q.length < 2) { return; }
    get(form.dataset.address, { q: q }).then(function (d) {
      var list = $("address-list");
      list.innerHTML = "";
      d.matches.forEach(function (m) {
        var o = document.createElement("option"); o.value = m.label; list.appendChild(o);
      });
      var exact = d.matches.filter(function (m) { return m.exact && m.dwelling; })[0];
      if (exact) { $("id_dwelling").value = exact.dwelling; text($("address-status"), "✓ " + exact.label); assist(); }
      else { text($("address-status"), ""); }
    });
  }, 250);
  $("id_address").addEventListener("input", completeAddress);

  function chooseCategory(code) {
    $("id_category").value = code;
    document.querySelectorAll("#suggestions button").forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.code === code ? "true" : "false");
    });
  }
  $("id_category").addEventListener("change", function () { touchedCategory = true; chooseCategory($("id_category").value); });

  var assist = debounce(function () {
    var t = $("id_description").value.trim();
    if (t.length < 2) { return; }
    get(form.dataset.assist, { text: t, dwelling: $("id_dwelling").value }).then(function (d) {
      var box = $("suggestions");
      box.innerHTML = "";
      $("id_suggested").value = d.suggestions.map(function (s) { return s.code; }).join(",");
      d.suggestions.forEach(function (s) {
        var b = document.createElement("button");
        b.type = "button"; b.dataset.code = s.code;
        b.textContent = s.name + " " + Math.round(s.confidence * 100) + "%";
        b.addEventListener("click", function () { touchedCategory = true; chooseCategory(s.code); });
        box.appendChild(b);
      });
      if (!touchedCategory && d.suggestions.length) { chooseCategory(d.suggestions[0].code); }
      var dup = $("duplicates");
      dup.innerHTML = "";
      d.duplicates.forEach(function (x) {
        var p = document.createElement("p"); p.className = "dup small";
        var a = document.createElement("a"); a.href = x.url; a.target = "_blank"; a.textContent = x.number;
        p.appendChild(a); p.appendChild(document.createTextNode(" " + x.description));
        dup.appendChild(p);
      });
      if (!d.duplicates.length) { dup.innerHTML = "<p class='small muted'>—</p>"; }
      form.dataset.assisted = "1";
    });
  }, 300);
  $("id_description").addEventListener("input", assist);
})();
