/* annotator: the reading experience of an annotated page. One idempotent module, re-run on Material's
   instant navigation (document$), working without it too:
   - notes and code linked both ways (hover and focus), one note highlighted at a time;
   - #L42, #L10-L20, #symbol and #note-id land with the note's start and its first code line in view;
   - the reader / annotator view toggle (states, anchor kinds, checklists);
   - long notes beside short code collapse to a summary with "more";
   - click a name in the code: every use of that binding lights up (scope-aware, computed at build time);
   - copy buttons on code panes;
   - Mermaid loaded only when a diagram is about to be seen, each diagram drawn on its own, wide ones zoomable. */
(function () {
  "use strict";
  var script = document.currentScript;
  var BASE = script && script.src ? script.src.replace(/[^/]*$/, "") : "";
  var VIEW_KEY = "annotator-view";
  var mermaidLoading = null;

  function $$(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function spanOf(note) {
    var span = note.getAttribute("data-ann-span");
    return span ? span.split("-").map(Number) : null;
  }

  function linesBetween(first, last) {
    var out = [];
    for (var n = first; n <= last; n++) {
      var line = document.getElementById("L" + n);
      if (line) out.push(line);
    }
    return out;
  }

  /* -- notes <-> lines ----------------------------------------------------------------------------- */
  var active = null;
  function activate(note) {
    if (active === note) return;
    if (active) {
      active.classList.remove("ann-active");
      $$(".ann-line.ann-hl").forEach(function (l) { l.classList.remove("ann-hl"); });
    }
    active = note;
    if (!note) return;
    note.classList.add("ann-active");
    var span = spanOf(note);
    if (span) linesBetween(span[0], span[1]).forEach(function (l) { l.classList.add("ann-hl"); });
  }

  function noteForLine(rows, number) {
    var best = null, bestLength = Infinity;
    $$(".ann-note[data-ann-span]", rows).forEach(function (note) {
      var b = spanOf(note);
      if (number >= b[0] && number <= b[1] && b[1] - b[0] < bestLength) { best = note; bestLength = b[1] - b[0]; }
    });
    return best;  // the innermost (shortest) note is the one that explains this line
  }

  function linkNotesAndCode(rows) {
    $$(".ann-note[data-ann-span]", rows).forEach(function (note) {
      note.addEventListener("mouseenter", function () { activate(note); });
      note.addEventListener("focus", function () { activate(note); });
    });
    rows.addEventListener("mouseover", function (event) {
      var line = event.target.closest && event.target.closest(".ann-line");
      if (line) activate(noteForLine(rows, Number(line.id.slice(1))));
    });
    rows.addEventListener("mouseleave", function () { activate(null); });
    rows.addEventListener("click", function (event) {  // a click on a line number: its permalink
      var line = event.target.classList && event.target.classList.contains("ann-line") ? event.target : null;
      if (!line) return;
      var gutter = parseFloat(getComputedStyle(line).paddingLeft) || 0;
      if (event.clientX - line.getBoundingClientRect().left <= gutter) history.replaceState(null, "", "#" + line.id), land();
    });
  }

  /* -- landing on a fragment --------------------------------------------------------------------------- */
  function headerOffset() {
    var header = document.querySelector(".md-header");
    return (header ? header.getBoundingClientRect().height : 0) + 8;
  }

  function makeButton(className, text, onClick) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = className;
    button.textContent = text;
    button.addEventListener("click", onClick);
    return button;
  }

  function scrollToTop(element) {
    var top = element.getBoundingClientRect().top + window.scrollY - headerOffset();
    window.scrollTo(0, Math.max(0, top));
  }

  function land() {
    $$(".ann-target").forEach(function (el) { el.classList.remove("ann-target"); });
    var id = decodeURIComponent(location.hash.slice(1));
    if (!id) return;
    var range = /^L(\d+)-L(\d+)$/.exec(id);
    if (range) {
      var lines = linesBetween(Number(range[1]), Number(range[2]));
      lines.forEach(function (l) { l.classList.add("ann-target"); });
      if (lines.length) { openFolds(lines[0]); scrollToTop(lines[0]); }
      return;
    }
    var el = document.getElementById(id);
    if (!el) return;
    openFolds(el);
    if (el.classList.contains("ann-note")) {
      unclamp(el);
      var row = el.closest(".ann-row");
      // the note's start and its first code line together: the row's top when that keeps the note in view
      var offsetInRow = row ? el.getBoundingClientRect().top - row.getBoundingClientRect().top : 0;
      scrollToTop(row && offsetInRow < window.innerHeight * 0.5 ? row : el);
      activate(el);
      return;
    }
    var line = el.closest(".ann-line");
    var anchorRow = !line && el.classList.contains("ann-anchor") ? el.closest(".ann-row") : null;
    if (anchorRow) {
      line = anchorRow.querySelector(".ann-line");
      scrollToTop(anchorRow);
    } else if (line) {
      scrollToTop(line);
    }
    if (line) line.classList.add("ann-target");
  }

  function openFolds(element) {
    var fold = element.closest && element.closest("details.ann-fold");
    if (fold) fold.open = true;
  }

  /* -- reader / annotator view --------------------------------------------------------------------- */
  function setView(view) {
    document.documentElement.setAttribute("data-ann-view", view);
    $$("[data-ann-toggle]").forEach(function (button) {
      button.setAttribute("aria-pressed", view === "annotator" ? "true" : "false");
    });
  }

  function initView() {
    var stored = null;
    try { stored = localStorage.getItem(VIEW_KEY); } catch (e) { /* private mode */ }
    setView(stored || document.documentElement.getAttribute("data-ann-default-view") || "reader");
    $$("[data-ann-toggle]").forEach(function (button) {
      if (button.getAttribute("data-ann-ready")) return;
      button.setAttribute("data-ann-ready", "1");
      button.hidden = false;
      button.addEventListener("click", function () {
        var next = document.documentElement.getAttribute("data-ann-view") === "annotator" ? "reader" : "annotator";
        try { localStorage.setItem(VIEW_KEY, next); } catch (e) { /* private mode */ }
        setView(next);
      });
    });
  }

  /* -- long notes beside short code ------------------------------------------------------------------ */
  function unclamp(note) {
    if (!note.classList.contains("ann-clamped")) return;
    note.classList.remove("ann-clamped");
    var more = note.querySelector(":scope > .ann-more");
    if (more) more.textContent = "less";
  }

  function clampLongNotes(rows) {
    if (window.matchMedia("(max-width: 60em)").matches || window.matchMedia("print").matches) return;
    $$(".ann-row", rows).forEach(function (row) {
      var notes = row.querySelector(".ann-notes"), code = row.querySelector(".ann-code");
      if (!notes || !code || row.querySelector(".ann-about")) return;
      var short = rows.getAttribute("data-ann-language") !== "python";  // recipes: one key, a few sentences
      var budget = Math.max(code.getBoundingClientRect().height * 1.8, short ? 170 : 260);
      if (notes.getBoundingClientRect().height <= budget + 40) return;
      $$(":scope > .ann-note", notes).forEach(function (note) {
        if (note.getAttribute("data-ann-clampable")) return;
        var body = note.querySelector(".ann-note-body");
        if (!body || body.getBoundingClientRect().height < (short ? 170 : 220)) return;
        note.setAttribute("data-ann-clampable", "1");
        note.style.setProperty("--ann-clamp", Math.max(short ? 110 : 150, Math.min(budget, 260)) + "px");
        note.classList.add("ann-clamped");
        var more = makeButton("ann-more", "more", function () {
          var open = note.classList.toggle("ann-clamped");
          more.textContent = open ? "more" : "less";
        });
        note.appendChild(more);
      });
    });
  }

  /* -- uses of a binding --------------------------------------------------------------------------- */
  function linkBindings(rows) {
    rows.addEventListener("click", function (event) {
      var name = event.target.closest && event.target.closest("[data-b]");
      if (!name || event.target.closest("a[href]") && !event.altKey && name.closest("a[href]")) {
        if (!name) clearUses();
        return;
      }
      var binding = name.getAttribute("data-b");
      var already = name.classList.contains("ann-use");
      clearUses();
      if (!already) $$('[data-b="' + binding + '"]', rows).forEach(function (use) { use.classList.add("ann-use"); });
    });
    document.addEventListener("keydown", function (event) { if (event.key === "Escape") clearUses(); });
  }

  function clearUses() { $$(".ann-use").forEach(function (el) { el.classList.remove("ann-use"); }); }

  /* -- copy ---------------------------------------------------------------------------------------------- */
  function addCopyButtons(rows) {
    $$(".ann-copy", rows).forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var bounds = button.getAttribute("data-ann-copy").split("-").map(Number);
        var text = linesBetween(bounds[0], bounds[1]).map(function (l) {
          var src = l.querySelector(".ann-src");
          return src ? src.textContent : "";
        }).join("\n") + "\n";
        var done = function () { button.textContent = "copied"; setTimeout(function () { button.textContent = "copy"; }, 1200); };
        if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, function () {});
      });
    });
  }

  /* -- Mermaid, lazily ------------------------------------------------------------------------------ */
  function loadMermaid() {
    if (window.mermaid) return Promise.resolve(window.mermaid);
    if (!mermaidLoading) {
      mermaidLoading = new Promise(function (resolve, reject) {
        var tag = document.createElement("script");
        tag.src = BASE + "vendor/mermaid.min.js";  // the site's own copy: never a CDN
        tag.onload = function () { resolve(window.mermaid); };
        tag.onerror = function () { reject(new Error("could not load " + tag.src)); };
        document.head.appendChild(tag);
      });
    }
    return mermaidLoading;
  }

  var diagramCount = 0;
  function drawDiagram(box) {
    if (box.getAttribute("data-ann-drawn")) return;
    box.setAttribute("data-ann-drawn", "1");
    var source = box.textContent;
    var trusted = !box.closest(".ann-rows, .ann-note, .ann-about, .ann-page-part");  // hand-written pages only
    var dark = (document.body.getAttribute("data-md-color-scheme") || "") === "slate";
    loadMermaid().then(function (mermaid) {
      mermaid.initialize({ startOnLoad: false, securityLevel: trusted ? "antiscript" : "strict", theme: dark ? "dark" : "default",
                           flowchart: { useMaxWidth: true, htmlLabels: trusted }, fontFamily: "inherit" });
      return mermaid.render("ann-diagram-" + (++diagramCount), source);
    }).then(function (result) {
      var holder = document.createElement("div");
      holder.className = "ann-diagram";
      holder.innerHTML = result.svg;
      if (result.bindFunctions) result.bindFunctions(holder);
      box.replaceWith(holder);
      addZoom(holder);
    }).catch(function (error) {
      box.classList.add("ann-render-error");
      box.setAttribute("title", "this diagram could not be drawn: " + (error && error.message ? error.message : error));
    });  // one broken diagram never stops the others: each is drawn on its own
  }

  function addZoom(holder) {
    var svg = holder.querySelector("svg");
    if (!svg) return;
    var natural = parseFloat((svg.style.maxWidth || "").replace("px", "")) || (svg.viewBox && svg.viewBox.baseVal ? svg.viewBox.baseVal.width : 0);
    var room = holder.getBoundingClientRect().width;
    if (!natural || natural <= room * 1.05) return;
    // a wide diagram keeps readable labels (never below 70% of its size): it scrolls inside its note and opens full size
    if (room / natural < 0.7) {
      svg.style.maxWidth = "none";
      svg.setAttribute("width", String(Math.round(natural * 0.7)));
      holder.classList.add("ann-diagram-wide");
    }
    var button = makeButton("ann-expand", "expand", function () {
      var dialog = document.createElement("dialog");
      dialog.className = "ann-overlay";
      var close = makeButton("ann-overlay-close", "close", function () { dialog.close(); });
      dialog.addEventListener("close", function () { dialog.remove(); });
      dialog.appendChild(close);
      var copy = svg.cloneNode(true);
      copy.style.maxWidth = "none";
      copy.setAttribute("width", String(natural));
      copy.removeAttribute("height");
      dialog.appendChild(copy);
      document.body.appendChild(dialog);
      dialog.showModal();
    });
    holder.appendChild(button);
  }

  function watchDiagrams() {
    var boxes = $$(".ann-mermaid:not([data-ann-drawn])");
    if (!boxes.length) return;
    if (!("IntersectionObserver" in window)) { boxes.forEach(drawDiagram); return; }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) { observer.unobserve(entry.target); drawDiagram(entry.target); }
      });
    }, { rootMargin: "600px 0px" });
    boxes.forEach(function (box) { observer.observe(box); });
  }

  /* -- start --------------------------------------------------------------------------------------- */
  function init() {
    initView();
    watchDiagrams();
    var rows = document.querySelector(".ann-rows");
    if (!rows || rows.getAttribute("data-ann-ready")) { land(); return; }
    rows.setAttribute("data-ann-ready", "1");
    linkNotesAndCode(rows);
    linkBindings(rows);
    addCopyButtons(rows);
    clampLongNotes(rows);
    land();
  }

  window.addEventListener("hashchange", land);
  if (typeof window.document$ !== "undefined" && window.document$.subscribe) {
    window.document$.subscribe(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
