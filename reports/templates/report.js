/* noshortcut HTML report: small progressive enhancements. The report is complete without JS
   (links, highlights and anchors are plain HTML); this adds hover linking of fragments across
   the two sides, scrolling both sides to a fragment, table sorting, a learner filter and print. */
(function () {
  "use strict";

  // Hovering a fragment (code, header or table row) outlines it everywhere it appears.
  var lit = [], litKey = "";
  function light(el) {
    var key = el ? el.getAttribute("data-frag") : "";
    if (key === litKey) { return; }
    lit.forEach(function (e) { e.classList.remove("hl"); });
    litKey = key;
    var scope = el ? (el.closest(".pair-view") || document) : null;  // one pair of a single-file report
    lit = key ? Array.prototype.slice.call(scope.querySelectorAll('[data-frag="' + key + '"]')) : [];
    lit.forEach(function (e) { e.classList.add("hl"); });
  }
  document.addEventListener("mouseover", function (ev) {
    light(ev.target.closest ? ev.target.closest("[data-frag]") : null);
  });

  // Scroll a code box so that `el` is at its top (the page itself stays where it is).
  function scrollInBox(el) {
    var box = el && el.closest(".code");
    if (!box) { return; }
    var seg = el.closest(".seg") || el;
    box.scrollTop = seg.offsetTop - 4;
  }
  // A fragment link in the table shows the fragment on both sides at once.
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest ? ev.target.closest("a.frag-link, a.anchor") : null;
    if (a) {
      var mine = document.getElementById(a.getAttribute("href").slice(1));
      var other = a.hasAttribute("data-pair") ? document.getElementById(a.getAttribute("data-pair").slice(1)) : a;
      window.setTimeout(function () { scrollInBox(mine); scrollInBox(other); }, 0);
    }
    var b = ev.target.closest ? ev.target.closest("[data-action=print]") : null;
    if (b) { window.print(); }
  });

  // Click a header with data-sort to sort its table (numbers by value, text alphabetically).
  function cellValue(row, i, numeric) {
    var text = row.children[i] ? row.children[i].textContent.trim() : "";
    if (!numeric) { return text.toLowerCase(); }
    var v = parseFloat(text.replace(/[^0-9.\-]/g, ""));
    return isNaN(v) ? -Infinity : v;
  }
  document.querySelectorAll("table.sortable th[data-sort]").forEach(function (th) {
    th.addEventListener("click", function () {
      var table = th.closest("table"), body = table.tBodies[0];
      var i = Array.prototype.indexOf.call(th.parentNode.children, th);
      var numeric = th.getAttribute("data-sort") === "num";
      var dir = th.getAttribute("data-dir") === "asc" ? "desc" : "asc";
      th.setAttribute("data-dir", dir);
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (r1, r2) {
        var a = cellValue(r1, i, numeric), b = cellValue(r2, i, numeric);
        var c = a < b ? -1 : a > b ? 1 : 0;
        return dir === "asc" ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });

  // Filter the rows of a table by the text typed.
  document.querySelectorAll("input.filter[data-filter]").forEach(function (input) {
    var table = document.querySelector(input.getAttribute("data-filter"));
    if (!table) { return; }
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        r.style.display = !q || r.textContent.toLowerCase().indexOf(q) >= 0 ? "" : "none";
      });
    });
  });
})();
