// Progressive enhancement of the gobus operations page: refreshes the
// live part of a page and asks before deleting. Every action works
// without it.
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-confirm]");
    if (b && !window.confirm(b.getAttribute("data-confirm"))) {
      e.preventDefault();
    }
  });
  var every = Number(document.body.getAttribute("data-refresh")) * 1000;
  var live = document.getElementById("live");
  if (!live || !every) {
    return;
  }
  function busy() {
    // Do not replace a table the operator is choosing rows in.
    return live.hasAttribute("data-keep-selection") &&
      live.querySelector("input[type=checkbox]:checked") !== null;
  }
  function refresh() {
    if (busy() || document.hidden) {
      return setTimeout(refresh, every);
    }
    fetch(location.href, { credentials: "same-origin", headers: { "X-Gobus-Refresh": "1" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        if (next && !busy()) {
          live.innerHTML = next.innerHTML;
        }
      })
      .catch(function () {})
      .then(function () { setTimeout(refresh, every); });
  }
  setTimeout(refresh, every);
})();
