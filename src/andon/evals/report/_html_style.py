"""The HTML report's inline stylesheet and its tiny filter script (nothing is loaded from elsewhere)."""

CSS = """
:root { --fg:#1f2937; --muted:#6b7280; --line:#e5e7eb; --bg:#ffffff; --soft:#f8fafc;
  --ok:#137333; --ok-bg:#e6f4ea; --bad:#c5221f; --bad-bg:#fce8e6; --warn:#a05a00; --warn-bg:#fef3d7; }
* { box-sizing: border-box; }
html { font-size: 14px; }
body { margin: 0; color: var(--fg); background: var(--bg); line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", "Apple SD Gothic Neo", "Malgun Gothic", "Noto Sans KR",
    "Nanum Gothic", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 60px; }
h1 { font-size: 1.7rem; margin: 0 0 4px; }
h2 { font-size: 1.3rem; margin: 0 0 12px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 18px 0 8px; }
section { margin: 30px 0; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "D2Coding", "Nanum Gothic Coding",
  monospace; font-size: 0.88em; }
pre { white-space: pre-wrap; word-break: break-word; margin: 4px 0; }
.muted { color: var(--muted); }
.small { font-size: 0.86em; }
header .meta { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 6px 24px;
  margin: 14px 0 0; padding: 12px 16px; background: var(--soft); border: 1px solid var(--line); border-radius: 8px; }
header .meta div { min-width: 0; overflow-wrap: anywhere; }
header .meta dt { color: var(--muted); font-size: 0.8em; text-transform: uppercase; letter-spacing: .03em; }
header .meta dd { margin: 0; }
nav { margin: 14px 0 0; font-size: 0.93em; }
nav a { color: #1d4ed8; text-decoration: none; margin-right: 14px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; }
th, td { text-align: left; vertical-align: top; padding: 6px 9px; border-bottom: 1px solid var(--line); }
th { background: var(--soft); font-weight: 600; font-size: 0.9em; }
tbody th { background: transparent; }
table.kv { width: auto; min-width: 55%; }
table.kv td, table.kv th { padding: 6px 16px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.iv { color: var(--muted); font-size: 0.85em; white-space: nowrap; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 0.82em; font-weight: 600;
  white-space: nowrap; border: 1px solid transparent; }
.b-pass { color: var(--ok); background: var(--ok-bg); border-color: #b7dfc3; }
.b-fail { color: var(--bad); background: var(--bad-bg); border-color: #f4c1bc; }
.b-error { color: var(--warn); background: var(--warn-bg); border-color: #f1d79a; }
.b-info { color: #374151; background: #eef2f7; border-color: #d8dee8; }
.gate { font-size: 1rem; padding: 4px 14px; margin-left: 10px; vertical-align: middle; }
.verdict { font-size: 1.1rem; font-weight: 700; padding: 12px 16px; border-radius: 8px; margin: 8px 0 14px;
  border-left: 6px solid var(--muted); background: var(--soft); }
.v-better { border-left-color: var(--ok); background: var(--ok-bg); }
.v-worse { border-left-color: var(--bad); background: var(--bad-bg); }
.cards { display: flex; flex-wrap: wrap; gap: 14px; }
.chart { max-width: 100%; height: auto; }
.chart .ct { font-size: 13px; font-weight: 600; fill: #1f2937; }
.chart .tick { font-size: 11px; fill: #4b5563; }
.chart .lbl { font-size: 12px; fill: #1f2937; }
.chart .val { font-weight: 600; }
.chart .mk { fill: #111827; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; }
table.cm { width: auto; margin-right: 22px; }
table.cm td { text-align: center; min-width: 64px; font-variant-numeric: tabular-nums; }
table.cm th.corner { font-weight: 400; color: var(--muted); font-size: 0.8em; }
.cm-wrap { display: flex; flex-wrap: wrap; gap: 10px 26px; }
.good { color: var(--ok); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
.tag { display: inline-block; background: #eef2f7; color: #374151; border-radius: 4px; padding: 0 6px;
  margin: 2px 3px 0 0; font-size: 0.8em; }
.filter { display: flex; gap: 10px; align-items: center; margin: 6px 0 10px; }
.filter input { padding: 5px 9px; border: 1px solid #cbd5e1; border-radius: 6px; min-width: 260px; font: inherit; }
.filter select { padding: 4px 6px; border: 1px solid #cbd5e1; border-radius: 6px; font: inherit; }
.scroll { overflow-x: auto; }
/* The case table takes the window's width (not the text column's), lays its columns out from the colgroup
   so no long path or id can push a version off screen, and scrolls inside a box whose scrollbars stay in
   view when many versions need more room than the window has. */
#cases { --wide: min(calc(100vw - 72px), 2600px); width: var(--wide); margin-left: calc((100% - var(--wide)) / 2); }
.cases-box { overflow: auto; max-height: 85vh; border: 1px solid var(--line); border-radius: 6px; }
table.cases { table-layout: fixed; margin: 0; }
table.cases col.c-status { width: 84px; }
table.cases col.c-case { width: 150px; }
table.cases col.c-inputs { width: 190px; }
table.cases col.c-expected { width: 120px; }
table.cases thead th { position: sticky; top: 0; z-index: 1; }
table.cases > tbody > tr > td { border-bottom: 2px solid #d1d5db; }
table.cases td { padding: 6px 6px; overflow-wrap: anywhere; }
ul.tally { margin: 4px 0 6px; }
.errors { margin: 8px 0; padding: 6px 10px; border-left: 4px solid #e0a100; background: var(--warn-bg); }
tr.st-failed > td:first-child { box-shadow: inset 4px 0 0 var(--bad); }
tr.st-error > td:first-child { box-shadow: inset 4px 0 0 #e0a100; }
tr.st-passed > td:first-child { box-shadow: inset 4px 0 0 #7cc49a; }
.thumb { display: block; max-width: 120px; max-height: 120px; border-radius: 4px; border: 1px solid var(--line);
  margin-bottom: 4px; }
.noimg { display: inline-block; width: 110px; padding: 18px 6px; text-align: center; background: #f3f4f6;
  color: var(--muted); border: 1px dashed #cbd5e1; border-radius: 4px; font-size: 0.8em; margin-bottom: 4px; }
.vars { margin: 0; font-size: 0.88em; }
.vars dt { color: var(--muted); }
.vars dd { margin: 0 0 4px; overflow-wrap: anywhere; }
.rep { border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; margin-bottom: 8px; background: #fff; }
.rep.r-failed { border-color: #f4c1bc; }
.rep.r-error { border-color: #f1d79a; background: #fffdf5; }
.rep .head { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; font-size: 0.86em; }
.output { max-height: 200px; overflow: auto; background: var(--soft); border-radius: 4px; padding: 4px 6px; }
.err { color: var(--warn); }
ul.grades { list-style: none; margin: 4px 0 0; padding: 0; font-size: 0.86em; }
ul.grades li { margin: 2px 0; }
details { margin-top: 4px; }
details > summary { cursor: pointer; color: #1d4ed8; font-size: 0.85em; }
.prov { font-size: 0.85em; background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
  padding: 8px 10px; margin-top: 4px; }
.prov dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0 0 6px; }
.prov dt { color: var(--muted); }
.prov dd { margin: 0; overflow-wrap: anywhere; }
.msg { border-left: 3px solid #cbd5e1; padding-left: 8px; margin: 6px 0; }
.msg .role { font-weight: 600; font-size: 0.85em; text-transform: uppercase; color: #475569; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
footer { margin-top: 40px; color: var(--muted); font-size: 0.85em; border-top: 1px solid var(--line);
  padding-top: 10px; }
@media print {
  html { font-size: 11px; }
  main { max-width: none; padding: 0; }
  nav, .filter { display: none; }
  section { break-inside: auto; }
  tr, .rep, svg { break-inside: avoid; }
  .output { max-height: none; overflow: visible; }
  .scroll, .cases-box { overflow: visible; max-height: none; border: 0; }
  #cases { width: auto; margin-left: 0; }
  table.cases thead th { position: static; }
  a { color: inherit; text-decoration: none; }
  .badge, .verdict, table.cm td, .rep, tr[class^="st-"] > td:first-child {
    -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

# Filters the case table by free text and status; the report reads fully without it.
SCRIPT = """
(function () {
  var q = document.getElementById('case-q'), s = document.getElementById('case-s');
  if (!q || !s) return;
  function apply() {
    var text = q.value.toLowerCase(), status = s.value;
    document.querySelectorAll('table.cases > tbody > tr').forEach(function (row) {
      var show = (!status || row.dataset.status === status) &&
        (!text || row.textContent.toLowerCase().indexOf(text) >= 0);
      row.style.display = show ? '' : 'none';
    });
  }
  q.addEventListener('input', apply);
  s.addEventListener('change', apply);
})();
"""
