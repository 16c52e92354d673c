// Voronka shell behaviour: the "/" search shortcut and keyboard walk through results, Esc to close
// whatever is open, the phone menu, and the CSRF header for every HTMX request. No inline scripts (CSP).
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }
  document.addEventListener("htmx:configRequest", function (evt) {
    evt.detail.headers["X-CSRF-Token"] = csrf();
  });

  // --- colours chosen by people (tags): set through the CSSOM, since CSP forbids style attributes ---
  function paint(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("[data-colour]"), function (el) {
      if (/^#[0-9a-fA-F]{6}$/.test(el.getAttribute("data-colour"))) {
        el.style.setProperty("--tag-colour", el.getAttribute("data-colour"));
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { paint(document); });
  document.addEventListener("htmx:afterSwap", function (evt) { paint(evt.target); });

  function byId(id) { return document.getElementById(id); }
  function isTyping(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  // --- the phone menu (the sidebar as a drawer) ---
  function navButton() { return document.querySelector(".nav-button"); }
  function setNav(open) {
    var shell = byId("shell");
    var button = navButton();
    if (!shell || !button) { return; }
    shell.classList.toggle("nav-open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      var first = shell.querySelector(".sidebar a");
      if (first) { first.focus({ preventScroll: true }); }
    }
  }
  function navOpen() {
    var shell = byId("shell");
    return !!shell && shell.classList.contains("nav-open");
  }

  // --- search results ---
  function results() { return byId("search-results"); }
  function closeResults() {
    var box = results();
    if (box) { box.innerHTML = ""; }
  }
  function hitLinks() {
    var box = results();
    return box ? Array.prototype.slice.call(box.querySelectorAll("a")) : [];
  }
  function moveInHits(step) {
    var links = hitLinks();
    var search = byId("global-search");
    if (!links.length) { return false; }
    var index = links.indexOf(document.activeElement);
    var next = index + step;
    if (next < 0) { if (search) { search.focus(); } return true; }
    if (next >= links.length) { next = links.length - 1; }
    links[next].focus();
    return true;
  }

  document.addEventListener("keydown", function (evt) {
    var target = evt.target;
    var search = byId("global-search");
    if (search && !isTyping(target) && !evt.altKey &&
        ((evt.key === "/" && !evt.ctrlKey && !evt.metaKey) || (evt.key === "k" && (evt.ctrlKey || evt.metaKey)))) {
      evt.preventDefault();
      if (navOpen()) { setNav(false); }
      search.focus();
      search.select();
      return;
    }
    var inSearch = target === search || (results() && results().contains(target));
    if (inSearch && (evt.key === "ArrowDown" || evt.key === "ArrowUp")) {
      if (moveInHits(evt.key === "ArrowDown" ? 1 : -1)) { evt.preventDefault(); }
      return;
    }
    if (evt.key === "Escape") {
      if (navOpen()) {
        setNav(false);
        var button = navButton();
        if (button) { button.focus(); }
        return;
      }
      var hadResults = hitLinks().length > 0 || (results() && results().children.length > 0);
      closeResults();
      document.querySelectorAll("details[open]").forEach(function (d) {
        d.removeAttribute("open");
        var summary = d.querySelector("summary");
        if (summary && d.contains(target)) { summary.focus(); }
      });
      if (inSearch && search) {
        if (!hadResults || target === search) { search.blur(); } else { search.focus(); }
      }
    }
  });

  document.addEventListener("click", function (evt) {
    var target = evt.target;
    if (target.closest && target.closest(".nav-button")) {
      setNav(!navOpen());
      return;
    }
    if (target.closest && target.closest("[data-nav-close]")) {
      setNav(false);
      return;
    }
    document.querySelectorAll("details.user-menu[open]").forEach(function (d) {
      if (!d.contains(target)) { d.removeAttribute("open"); }
    });
    var form = document.querySelector(".topbar .search");
    if (form && !form.contains(target)) { closeResults(); }
  });

  // Clearing the box (or the browser's clear button) closes the results at once.
  document.addEventListener("input", function (evt) {
    if (evt.target && evt.target.id === "global-search" && !evt.target.value.trim()) { closeResults(); }
  });

  // Leaving the search box for somewhere other than its results closes them.
  document.addEventListener("focusout", function (evt) {
    var form = document.querySelector(".topbar .search");
    if (form && form.contains(evt.target) && evt.relatedTarget && !form.contains(evt.relatedTarget)) {
      closeResults();
    }
  });
})();
