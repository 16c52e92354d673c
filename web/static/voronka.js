// Voronka shell behaviour: the "/" search shortcut, Esc to close menus, CSRF header for every HTMX request.
(function () {
  "use strict";
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }
  document.addEventListener("htmx:configRequest", function (evt) {
    evt.detail.headers["X-CSRF-Token"] = csrf();
  });
  document.addEventListener("keydown", function (evt) {
    var target = evt.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    var search = document.getElementById("global-search");
    if (search && !typing && (evt.key === "/" || (evt.key === "k" && (evt.ctrlKey || evt.metaKey)))) {
      evt.preventDefault();
      search.focus();
      search.select();
    }
    if (evt.key === "Escape") {
      var results = document.getElementById("search-results");
      if (results) { results.innerHTML = ""; }
      document.querySelectorAll("details[open]").forEach(function (d) { d.removeAttribute("open"); });
      if (target === search) { search.blur(); }
    }
  });
  document.addEventListener("click", function (evt) {
    document.querySelectorAll("details.user-menu[open]").forEach(function (d) {
      if (!d.contains(evt.target)) { d.removeAttribute("open"); }
    });
  });
})();
