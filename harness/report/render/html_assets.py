"""The style sheet and script inlined into the HTML report (no network resources: the file
opens the same offline, attached to a CI run or mailed)."""

from __future__ import annotations

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
  color: #1b1f24; background: #fff; }
main { max-width: 1200px; margin: 0 auto; padding: 0 1.5rem 3rem; }
nav { position: sticky; top: 0; background: #f6f8fa; border-bottom: 1px solid #d0d7de;
  padding: .4rem 1.5rem; font-size: 12px; z-index: 1; }
nav a { margin-right: .9rem; color: #0969da; text-decoration: none; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; border-bottom: 1px solid #d0d7de;
  padding-bottom: .2rem; margin-top: 2rem; } h3 { font-size: 1rem; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; background: #f6f8fa;
  padding: 0 .2rem; border-radius: 3px; }
ul { padding-left: 1.4rem; } li { margin: .15rem 0; }
.table-wrap { overflow-x: auto; margin: .6rem 0; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #d0d7de; padding: .2rem .45rem; text-align: left;
  vertical-align: top; white-space: nowrap; }
th { background: #f6f8fa; cursor: pointer; user-select: none; }
th[aria-sort="ascending"]::after { content: " \\25B2"; }
th[aria-sort="descending"]::after { content: " \\25BC"; }
tbody tr:nth-child(even) { background: #fbfcfd; }
figure { margin: .8rem 0; } figcaption { font-size: 12px; color: #57606a; }
figure img { max-width: 100%; cursor: zoom-in; border: 1px solid #eaeef2; }
figure img.zoom { max-width: none; cursor: zoom-out; }
.missing { color: #cf222e; }
"""

# Sorting reads each cell's leading number: percents as numbers, x-fold ratios as the
# percent change they stand for, sizes in bytes; cells without a number sort after the
# numbers, as text. `#sort=T:C:asc|desc` in the address sorts table T by column C on load.
# Once every image decoded, <body data-images="ok"> (else "broken", and a console error).
JS = """
"use strict";
(function () {
  var errors = 0;
  window.addEventListener("error", function () {
    errors += 1;
    document.body.setAttribute("data-errors", String(errors));
  });
  var BYTES = { B: 1, KiB: 1024, MiB: 1048576, GiB: 1073741824 };
  var NUMBER = /^(\\u00d7)?([-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:e[-+]?\\d+)?)\\s*(%|B|KiB|MiB|GiB)?/i;
  function sortKey(text) {
    var t = text.trim(), m = NUMBER.exec(t);
    if (!m) { return { num: null, text: t }; }
    var v = parseFloat(m[2]);
    if (m[1]) { v = (v - 1) * 100; }
    if (m[3] && BYTES[m[3]]) { v *= BYTES[m[3]]; }
    return { num: v, text: t };
  }
  function compare(a, b) {
    if (a.num !== null && b.num !== null) { return a.num - b.num; }
    if (a.num !== null) { return -1; }
    if (b.num !== null) { return 1; }
    return a.text.localeCompare(b.text);
  }
  function sortTable(table, col, dir) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
      var cell = row.cells[col];
      return { row: row, i: i, key: sortKey(cell ? cell.textContent : "") };
    });
    rows.sort(function (a, b) {
      var c = compare(a.key, b.key);
      return c !== 0 ? (dir === "desc" ? -c : c) : a.i - b.i;
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
    var heads = table.tHead.rows[0].cells;
    for (var k = 0; k < heads.length; k++) {
      if (k === col) {
        heads[k].setAttribute("aria-sort", dir === "desc" ? "descending" : "ascending");
      } else {
        heads[k].removeAttribute("aria-sort");
      }
    }
    table.setAttribute("data-sorted", col + ":" + dir);
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      function toggle() {
        var up = th.getAttribute("aria-sort") === "ascending";
        sortTable(table, col, up ? "desc" : "asc");
      }
      th.addEventListener("click", toggle);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { toggle(); } });
    });
  });
  var wanted = /^#sort=(\\d+):(\\d+):(asc|desc)$/.exec(window.location.hash);
  if (wanted && tables[+wanted[1]]) { sortTable(tables[+wanted[1]], +wanted[2], wanted[3]); }
  Array.prototype.forEach.call(document.images, function (img) {
    img.addEventListener("click", function () { img.classList.toggle("zoom"); });
  });
  window.addEventListener("load", function () {
    var broken = Array.prototype.filter.call(document.images, function (img) {
      return !(img.complete && img.naturalWidth > 0);
    });
    document.body.setAttribute("data-images", broken.length ? "broken" : "ok");
    document.body.setAttribute("data-image-count", String(document.images.length));
    if (broken.length) {
      console.error("figures that did not decode: " +
        broken.map(function (img) { return img.alt; }).join(", "));
    }
  });
})();
"""
