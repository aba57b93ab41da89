"""The report's stylesheet, inlined into report.html (a Python string so it ships with the code).

System fonts only (nothing to download), colours that survive greyscale printing thanks to the
labels next to them, and print rules: A4 margins, no split evidence blocks, links spelled out.
"""

CSS = """
:root { --ink:#1d2430; --muted:#5b6575; --line:#d8dde5; --bg:#ffffff; --soft:#f4f6f9;
  --blocked:#c62828; --ok:#2e7d32; --slowed:#ef6c00; --notcensorship:#78909c; --unknown:#f9a825;
  --takedown:#6a1b9a; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif;
  color: var(--ink); background: var(--bg); margin: 0; line-height: 1.5; font-size: 16px; }
main { max-width: 62rem; margin: 0 auto; padding: 2rem 1.5rem 4rem; }
h1 { font-size: 1.9rem; margin: 0 0 .3rem; line-height: 1.2; }
h2 { font-size: 1.35rem; margin: 2.4rem 0 .8rem; padding-bottom: .3rem;
  border-bottom: 2px solid var(--line); }
h3 { font-size: 1.1rem; margin: 0 0 .4rem; }
p.lead { font-size: 1.1rem; color: var(--muted); margin-top: .2rem; }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; margin: 1.4rem 0; }
.card { flex: 1 1 10rem; background: var(--soft); border: 1px solid var(--line); border-radius: 8px;
  padding: .8rem 1rem; }
.card .n { display: block; font-size: 1.8rem; font-weight: 700; }
.card .what { color: var(--muted); font-size: .9rem; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0 1rem; font-size: .95rem; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.tl { width: 34%; min-width: 10rem; }
td.site { min-width: 14rem; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .82rem;
  font-weight: 600; color: #fff; white-space: nowrap; }
.badge.blocked { background: var(--blocked); } .badge.ok { background: var(--ok); }
.badge.slowed { background: var(--slowed); } .badge.notcensorship { background: var(--notcensorship); }
.badge.unknown { background: var(--unknown); color: var(--ink); }
.badge.takedown { background: var(--takedown); }
svg.chart rect.blocked { fill: var(--blocked); } svg.chart rect.ok { fill: var(--ok); }
svg.chart rect.slowed { fill: var(--slowed); } svg.chart rect.notcensorship { fill: var(--notcensorship); }
svg.chart rect.unknown { fill: var(--unknown); } svg.chart rect.takedown { fill: var(--takedown); }
svg.chart text { font-size: 13px; fill: var(--ink); font-family: inherit; }
svg.chart text.value { font-weight: 600; }
svg.chart line.baseline { stroke: var(--line); stroke-width: 2; }
svg.timeline { height: 22px; display: block; }
svg.outages rect.outage { fill: #37474f; opacity: .35; } svg.outages rect.down { fill: #263238; }
svg.outages rect.up { fill: var(--ok); }
.evidence { border: 1px solid var(--line); border-left: 6px solid var(--blocked); border-radius: 6px;
  padding: 1rem 1.2rem; margin: 1rem 0; break-inside: avoid; page-break-inside: avoid; }
.evidence .meta { color: var(--muted); font-size: .9rem; margin-bottom: .5rem; }
.evidence p { margin: .4rem 0; }
.evidence ul { margin: .4rem 0 .2rem; padding-left: 1.2rem; color: var(--muted); font-size: .92rem; }
.legend { display: flex; flex-wrap: wrap; gap: 1rem; font-size: .9rem; color: var(--muted); margin: .4rem 0; }
.legend i { display: inline-block; width: .9rem; height: .9rem; border-radius: 2px; margin-right: .3rem;
  vertical-align: -2px; }
.legend i.blocked { background: var(--blocked); } .legend i.ok { background: var(--ok); }
.legend i.slowed { background: var(--slowed); } .legend i.notcensorship { background: var(--notcensorship); }
.legend i.unknown { background: var(--unknown); } .legend i.takedown { background: var(--takedown); }
.evidence.takedown { border-left-color: var(--takedown); }
.evidence pre { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 18rem; overflow: auto;
  background: var(--soft); padding: .5rem; font-size: .8rem; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .88rem;
  overflow-wrap: anywhere; }
.note { background: var(--soft); border-radius: 6px; padding: .8rem 1rem; font-size: .95rem; }
footer { color: var(--muted); font-size: .85rem; margin-top: 3rem; border-top: 1px solid var(--line);
  padding-top: .8rem; }
@media print {
  @page { size: A4; margin: 16mm 14mm; }
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  tr, .card, svg { break-inside: avoid; page-break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""
