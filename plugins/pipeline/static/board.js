// The board: drag a card onto a column or a won/lost zone (HTML5 drag events, posted with htmx), the lost
// dialog, Esc to leave a quick edit or a quick create, focus kept on a card moved from the keyboard.
// Moving without a mouse goes through each card's "Move to…" form, which works without this file too.
// No inline scripts (CSP) and no third-party code.
(function () {
  "use strict";

  var dragged = null;
  var focusAfter = null;

  function moveUrl() {
    var root = document.querySelector(".board[data-move-url]");
    return root ? root.getAttribute("data-move-url") : null;
  }
  function dropZone(el) {
    return el && el.closest ? el.closest("[data-drop-stage]") : null;
  }
  function clearTargets() {
    document.querySelectorAll(".is-drop-target").forEach(function (el) { el.classList.remove("is-drop-target"); });
  }

  // --- drag and drop ---
  document.addEventListener("dragstart", function (evt) {
    var card = evt.target.closest && evt.target.closest(".deal-card[draggable=true]");
    if (!card) { return; }
    dragged = card;
    card.classList.add("is-dragging");
    evt.dataTransfer.effectAllowed = "move";
    evt.dataTransfer.setData("text/plain", card.getAttribute("data-deal"));
  });
  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("is-dragging"); }
    dragged = null;
    clearTargets();
  });
  document.addEventListener("dragover", function (evt) {
    var zone = dropZone(evt.target);
    if (!zone || !dragged) { return; }
    evt.preventDefault();
    evt.dataTransfer.dropEffect = "move";
    if (!zone.classList.contains("is-drop-target")) {
      clearTargets();
      zone.classList.add("is-drop-target");
    }
  });
  document.addEventListener("dragleave", function (evt) {
    var zone = dropZone(evt.target);
    if (zone && !zone.contains(evt.relatedTarget)) { zone.classList.remove("is-drop-target"); }
  });
  document.addEventListener("drop", function (evt) {
    var zone = dropZone(evt.target);
    var card = dragged;
    if (!zone || !card) { return; }
    evt.preventDefault();
    clearTargets();
    var stage = zone.getAttribute("data-drop-stage");
    var url = moveUrl();
    if (stage === card.getAttribute("data-stage") || !url || !window.htmx) { return; }
    card.classList.add("is-moving");
    window.htmx.ajax("POST", url, {
      source: card, target: card, swap: "outerHTML",
      values: {
        deal: card.getAttribute("data-deal"), stage: stage,
        version: card.getAttribute("data-version"), from: card.getAttribute("data-stage")
      }
    });
  });

  // --- answers ---
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    // a deal that is gone (404): the answer removes its card and says why
    if (evt.detail.xhr.status === 404 && target && target.classList && target.classList.contains("deal-card")) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var form = evt.detail.elt;
    if (form && form.classList && form.classList.contains("deal-move-form")) {
      var dialog = form.closest("dialog");
      if (dialog && dialog.open) { dialog.close(); }
    }
  });

  // --- "Move to…": one shared dialog, filled in for the card it was opened from ---
  function openMove(card) {
    var dialog = document.getElementById("board-move");
    if (!dialog || typeof dialog.showModal !== "function") { return; }
    var form = dialog.querySelector("form");
    var id = card.getAttribute("data-deal");
    var stage = card.getAttribute("data-stage");
    form.elements.deal.value = id;
    form.elements.version.value = card.getAttribute("data-version");
    form.elements.from.value = stage;
    form.setAttribute("hx-target", "#deal-" + id);
    var name = card.querySelector(".deal-name");
    dialog.querySelector(".board-move-deal").textContent = name ? name.textContent : "";
    var first = null;
    dialog.querySelectorAll("button[name=stage]").forEach(function (button) {
      var here = button.value === stage;
      button.disabled = here;
      button.setAttribute("aria-current", here ? "true" : "false");
      if (!here && !first) { first = button; }
    });
    // after the move: the card where it landed, else its neighbour, else its column's + button
    var next = card.nextElementSibling || card.previousElementSibling;
    focusAfter = [id, next && next.classList.contains("deal-card") ? next.getAttribute("data-deal") : null,
      card.parentElement ? card.parentElement.id.replace("cards-", "") : null];
    dialog.showModal();
    if (first) { first.focus(); }
  }
  function openEdit(card) {
    var root = document.querySelector(".board[data-card-url]");
    if (!root || !window.htmx) { return; }
    var url = root.getAttribute("data-card-url").replace("{id}", card.getAttribute("data-deal"));
    window.htmx.ajax("GET", url, { source: card, target: card, swap: "outerHTML" });
  }
  document.addEventListener("htmx:afterSettle", function () {
    openDialog();
    if (focusAfter) {
      var link = document.getElementById("deal-name-" + focusAfter[0]) ||
        (focusAfter[1] && document.getElementById("deal-name-" + focusAfter[1])) ||
        document.querySelector("#col-head-" + focusAfter[2] + " .board-add");
      if (link) { link.focus(); }
      focusAfter = null;
    }
    document.querySelectorAll(".deal-card.is-moving").forEach(function (el) { el.classList.remove("is-moving"); });
  });
  document.addEventListener("htmx:responseError", function () {
    document.querySelectorAll(".deal-card.is-moving").forEach(function (el) { el.classList.remove("is-moving"); });
  });

  // --- the lost dialog: shown modal once it arrives, Cancel and Esc leave it ---
  function openDialog() {
    var dialog = document.querySelector("dialog[data-board-dialog]");
    if (!dialog || dialog.getAttribute("data-modal") || typeof dialog.showModal !== "function") { return; }
    dialog.setAttribute("data-modal", "1");
    if (dialog.open) { dialog.close(); }
    dialog.showModal();
    var first = dialog.querySelector("[autofocus]") || dialog.querySelector("input:not([type=hidden])");
    if (first) { first.focus(); }
  }
  function closeDialog() {
    var holder = document.getElementById("board-dialog");
    var dialog = holder && holder.querySelector("dialog");
    if (dialog && dialog.open) { dialog.close(); }
    if (holder) { holder.innerHTML = ""; }
  }
  document.addEventListener("DOMContentLoaded", openDialog);
  document.addEventListener("cancel", function (evt) {
    if (evt.target.matches && evt.target.matches("dialog[data-board-dialog]")) {
      evt.preventDefault();
      closeDialog();
    }
  }, true);

  document.addEventListener("click", function (evt) {
    var card = evt.target.closest && evt.target.closest(".deal-card");
    if (card && evt.target.closest("[data-move]")) { openMove(card); return; }
    if (card && evt.target.closest("[data-edit]")) { openEdit(card); return; }
    var close = evt.target.closest && evt.target.closest("[data-dialog-close]");
    if (close) {
      evt.preventDefault();
      var dialog = close.closest("dialog");
      if (dialog && dialog.id === "board-move") {
        dialog.close();
        focusAfter = null;
      } else {
        closeDialog();
      }
      return;
    }
    var cancelNew = evt.target.closest && evt.target.closest("[data-new-cancel]");
    if (cancelNew && cancelNew.closest(".board-new")) {
      evt.preventDefault();
      cancelNew.closest(".board-new").innerHTML = "";
    }
  });

  // --- Esc leaves a quick edit (the card comes back) or a quick create ---
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") { return; }
    var editing = evt.target.closest && evt.target.closest(".deal-card.is-editing");
    if (editing) {
      var cancel = editing.querySelector("[data-cancel]");
      if (cancel) { cancel.click(); }
      return;
    }
    var creating = evt.target.closest && evt.target.closest(".board-new");
    if (creating) {
      creating.innerHTML = "";
      var add = document.querySelector("#col-head-" + creating.id.replace("new-", "") + " .board-add");
      if (add) { add.focus(); }
    }
  });
})();
