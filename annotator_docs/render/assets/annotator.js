/* annotator: link notes and code both ways (hover and focus), and follow #L42 / #symbol links.
   Idempotent and re-run on Material's instant navigation (document$). */
(function () {
  "use strict";

  function linesOf(note) {
    var span = note.getAttribute("data-ann-span");
    if (!span) return [];
    var bounds = span.split("-").map(Number);
    var out = [];
    for (var n = bounds[0]; n <= bounds[1]; n++) {
      var line = document.getElementById("L" + n);
      if (line) out.push(line);
    }
    return out;
  }

  function setActive(note, on) {
    note.classList.toggle("ann-active", on);
    linesOf(note).forEach(function (line) { line.classList.toggle("ann-hl", on); });
  }

  function notesForLine(rows, number) {
    var found = [];
    rows.querySelectorAll(".ann-note[data-ann-span]").forEach(function (note) {
      var b = note.getAttribute("data-ann-span").split("-").map(Number);
      if (number >= b[0] && number <= b[1]) found.push(note);
    });
    // the innermost (shortest) note is the one that explains this line
    found.sort(function (a, b) { return linesOf(a).length - linesOf(b).length; });
    return found.slice(0, 1);
  }

  function init() {
    var rows = document.querySelector(".ann-rows");
    if (!rows || rows.getAttribute("data-ann-ready")) return;
    rows.setAttribute("data-ann-ready", "1");
    rows.querySelectorAll(".ann-note[data-ann-span]").forEach(function (note) {
      ["mouseenter", "focus"].forEach(function (e) { note.addEventListener(e, function () { setActive(note, true); }); });
      ["mouseleave", "blur"].forEach(function (e) { note.addEventListener(e, function () { setActive(note, false); }); });
    });
    var current = [];
    rows.addEventListener("mouseover", function (event) {
      var line = event.target.closest && event.target.closest(".ann-line");
      if (!line) return;
      var notes = notesForLine(rows, Number(line.id.slice(1)));
      current.forEach(function (n) { if (notes.indexOf(n) < 0) setActive(n, false); });
      notes.forEach(function (n) { setActive(n, true); });
      current = notes;
    });
    rows.addEventListener("mouseleave", function () {
      current.forEach(function (n) { setActive(n, false); });
      current = [];
    });
    markTarget();
  }

  function markTarget() {
    document.querySelectorAll(".ann-target").forEach(function (el) { el.classList.remove("ann-target"); });
    var id = decodeURIComponent(location.hash.slice(1));
    if (!id) return;
    var el = document.getElementById(id);
    if (!el) return;
    var row = el.classList.contains("ann-anchor") && el.parentElement.classList.contains("ann-row") ? el.parentElement : null;
    var line = el.closest(".ann-line") || (row && row.querySelector(".ann-line")) || el;
    line.classList.add("ann-target");
  }

  window.addEventListener("hashchange", markTarget);
  if (typeof document$ !== "undefined" && document$.subscribe) {
    document$.subscribe(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
