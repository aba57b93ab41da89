"""report.html and VERIFY.txt of a hub bundle: many probes, per site × network × day.

Rendered from `HubFacts` (the bundle's signed links, probe.hub.bundle_facts) and `HubMeta` (what the
manifest and probes.json say: creation time, filters, the names the hub gives the keys). Pure and
deterministic, so `probe verify` renders both again and compares them byte for byte. It reuses the
probe bundle's stylesheet, colour classes and wording of techniques (probe.evidence.report.style,
report_data.status_class, explain) rather than being a second style. Inline CSS and SVG, a CSP that
forbids every fetch, no script. It does not read files or check signatures.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from probe.evidence.explain import human_time, short
from probe.evidence.report.style import CSS
from probe.hub.bundle_facts import Cell, HubFacts, Site

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LEGEND = (("blocked", "blocked"), ("takedown", "taken down for everyone"), ("slowed", "slowed down"),
           ("unknown", "inconclusive or not classified"), ("notcensorship", "site down or refusing (not censorship)"),
           ("ok", "reachable"))
_EXTRA_CSS = ("svg.grid { max-width: 100%; height: auto; display: block; } "
              "svg.grid text { font-size: 11px; fill: var(--ink); font-family: inherit; } "
              "svg.grid rect.none { fill: var(--soft); } .claim { color: var(--muted); font-style: italic; }")


@dataclass(frozen=True)
class ProbeClaim:
    """What the hub says about a key (probes.json): not signed by anyone, shown as the hub's claim."""

    name: str
    revoked_at: str | None


@dataclass(frozen=True)
class HubMeta:
    created: str
    software_version: str
    filters: tuple[tuple[str, str], ...]
    claims: dict[str, ProbeClaim]


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _day(iso: str) -> str:
    try:
        return f"{int(iso[8:10])} {_MONTHS[int(iso[5:7]) - 1]} {iso[0:4]}"
    except (ValueError, IndexError):
        return iso[:10]


def _between(first: str, last: str) -> str:
    a, b = _day(first), _day(last)
    return f"on {a}" if a == b else f"between {a} and {b}"


def _network(facts: HubFacts, asn: str) -> str:
    name = facts.networks.get(asn, ("", ""))[0]
    return f"{asn} {name}".strip()


def _name(meta: HubMeta, key: str) -> str:
    claim = meta.claims.get(key)
    return claim.name if claim else "(not named by the hub)"


def site_sentence(host: str, site: Site, facts: HubFacts) -> str:
    """'who.int was blocked for 7 probes on 2 networks (…) between 1 Mar 2026 and 3 May 2026 (…).'"""
    if site.blocked:
        nets = ", ".join(_network(facts, a) for a in sorted(site.blocked_networks))
        return (f"{host} was blocked for {_n(len(site.blocked_probes), 'probe')} on "
                f"{_n(len(site.blocked_networks), 'network')} ({nets}) "
                f"{_between(site.first_blocked, site.last_blocked)}: {site.blocked} of "
                f"{_n(site.measurements, 'measurement')} found it blocked.")
    return (f"{host}: no blocking in {_n(site.measurements, 'measurement')} by {_n(len(site.probes), 'probe')} "
            f"on {_n(len(site.networks), 'network')}.")


def render_report(facts: HubFacts, meta: HubMeta) -> str:
    body = "".join((_header(facts), _probes(facts, meta), _sites(facts), _techniques(facts),
                    _how_to_check(meta), _footer(meta)))
    countries = sorted({cc for _, cc in facts.networks.values() if cc})
    title = "Internet censorship measurements by several probes" + (f" in {', '.join(countries)}" if countries else "")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{CSS}{_EXTRA_CSS}</style></head>"
            f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>\n")


def _header(facts: HubFacts) -> str:
    blocked = sum(1 for s in facts.sites.values() if s.blocked)
    cards = (("measurements", facts.count), ("probes", len(facts.probes)), ("networks", len(facts.networks)),
             ("websites tested", len(facts.sites)), ("websites found blocked", blocked))
    card_html = "".join(f'<div class="card"><span class="n">{n}</span><span class="what">{w}</span></div>'
                        for w, n in cards)
    period = f"{human_time(facts.first)} to {human_time(facts.last)}" if facts.count else "no measurements"
    lead = (f"{_n(facts.count, 'measurement')} of {_n(len(facts.sites), 'website')} by "
            f"{_n(len(facts.probes), 'probe')} on {_n(len(facts.networks), 'network')}, {period}.")
    return (f'<header><p class="lead">{escape(lead)}</p><div class="cards">{card_html}</div>'
            "<p>Every figure on this page is computed from the signed chain links in this bundle: each measurement "
            "was signed by the probe that took it, and each result is that probe's signed verdict record for it "
            "(a measurement without one counts as not classified). A probe is named by its key fingerprint; "
            "the names beside the fingerprints are what the hub says, not something the probes signed.</p>"
            "</header>")


def _probes(facts: HubFacts, meta: HubMeta) -> str:
    rows = []
    for key in sorted(facts.probes):
        p, claim = facts.probes[key], meta.claims.get(key)
        state = (f"revoked on the hub on {escape(_day(claim.revoked_at))} (links before stay valid)"
                 if claim and claim.revoked_at else "enrolled")
        nets = ", ".join(escape(_network(facts, a)) for a in sorted(p.networks))
        rows.append(f'<tr><td class="mono">{escape(key)}</td><td class="claim">{escape(_name(meta, key))}</td>'
                    f"<td>{state}</td><td>{nets}</td><td class=\"num\">{p.measurements}</td>"
                    f'<td class="num">{p.verdicts}</td><td>{escape(human_time(p.first))}</td>'
                    f"<td>{escape(human_time(p.last))}</td></tr>")
    return ("<section><h2>Probes</h2><table><thead><tr><th>Key fingerprint</th><th>Name (the hub's claim)</th>"
            "<th>On the hub</th><th>Networks</th><th class=\"num\">Measurements</th>"
            "<th class=\"num\">Signed verdicts</th><th>From</th><th>To</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>")


def _legend() -> str:
    items = "".join(f'<span><i class="{css}"></i>{escape(text)}</span>' for css, text in _LEGEND)
    return f'<div class="legend">{items}</div>'


def _sites(facts: HubFacts) -> str:
    order = sorted(facts.sites.items(), key=lambda kv: (-len(kv[1].blocked_probes), -kv[1].blocked, kv[0]))
    blocks = "".join(f"<article><h3>{escape(host)}</h3><p>{escape(site_sentence(host, site, facts))}</p>"
                     f"{grid(host, site, facts)}</article>" for host, site in order)
    return ("<section><h2>Websites, per network and day</h2><p>One row per network, one column per UTC day "
            f"{_between(facts.first, facts.last) if facts.count else ''}; a cell takes the colour of the most "
            "serious result of that day's measurements (one blocked measurement makes a blocked day); its "
            f"tooltip gives the counts.</p>{_legend()}{blocks}</section>")


def grid(host: str, site: Site, facts: HubFacts) -> str:
    """Inline SVG: networks × days, a rect per day with measurements, each with a <title>."""
    days, nets = facts.days, sorted(site.networks)
    label_w, row_h = 230, 20
    cell_w = max(4.0, min(40.0, 560 / max(len(days), 1)))
    width, height = max(label_w + cell_w * len(days) + 4, label_w + 220), row_h * len(nets) + 18
    # Drawn at its own size (never stretched: a few days would make giant cells), shrunk on narrow screens.
    parts = [f'<svg class="chart grid" role="img" viewBox="0 0 {width:.0f} {height}" width="{width:.0f}" '
             f'height="{height}" xmlns="http://www.w3.org/2000/svg">'
             f"<title>{escape(host)}: results per network and day</title>"]
    for i, asn in enumerate(nets):
        y = i * row_h
        label = escape(_network(facts, asn)[:34])
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{label}</text>')
        for j, day in enumerate(days):
            cell = facts.cells.get((host, asn, day))
            css = cell.status if cell else "none"
            parts.append(f'<rect x="{label_w + j * cell_w:.1f}" y="{y + 2}" width="{max(cell_w - 1, 2):.1f}" '
                         f'height="{row_h - 4}" class="{css}"><title>{escape(_cell_title(day, asn, cell))}'
                         "</title></rect>")
    span = (_day(days[0]) + (f" to {_day(days[-1])}" if len(days) > 1 else "")) if days else ""
    parts.append(f'<text x="{label_w}" y="{height - 3}">{escape(span)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _cell_title(day: str, asn: str, cell: Cell | None) -> str:
    if cell is None:
        return f"{_day(day)}, {asn}: no measurement"
    ranked = sorted(cell.labels.items(), key=lambda kv: (-kv[1], kv[0]))
    results = ", ".join(f"{short(label)} {n}" for label, n in ranked)
    return (f"{_day(day)}, {asn}: {_n(sum(cell.labels.values()), 'measurement')} by "
            f"{_n(len(cell.probes), 'probe')}: {results}")


def _techniques(facts: HubFacts) -> str:
    if not facts.techniques:
        return "<section><h2>Blocking techniques per network</h2><p>No blocking was found.</p></section>"
    rows = "".join(
        f"<tr><td>{escape(_network(facts, asn))}</td><td>{escape(family)}</td><td>{escape(words)}</td>"
        f'<td>{escape(", ".join(sorted(t.sites)))}</td><td class="num">{t.measurements}</td>'
        f'<td class="num">{len(t.probes)}</td></tr>'
        for (asn, family, words), t in sorted(facts.techniques.items(), key=lambda kv: (kv[0][0], -kv[1].measurements,
                                                                                       kv[0][1], kv[0][2])))
    return ("<section><h2>Blocking techniques per network</h2><p>How each network blocked, from the probes' "
            "signed verdicts.</p><table><thead><tr><th>Network</th><th>Technique</th><th>What the network does</th>"
            "<th>Websites</th><th class=\"num\">Measurements</th><th class=\"num\">Probes</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></section>")


def _how_to_check(meta: HubMeta) -> str:
    chosen = ", ".join(f"{k}={v}" for k, v in meta.filters)
    return ("<section><h2>How to check this evidence</h2><div class=\"note\"><p>Run <span class=\"mono\">probe "
            "verify bundle.zip</span>: it checks every link's hashes and its probe's signature, and renders this "
            "page again from the links, failing if it says anything else. VERIFY.txt says how to check a link by "
            "hand. Compare each key fingerprint with the one the probe's volunteer published: the hub's names "
            "prove nothing.</p>"
            + (f"<p>Selection: {escape(chosen)}. A selection takes some links of each probe's chain, so the "
               "chains have gaps; a gap is never a changed link.</p>" if chosen else "")
            + "</div></section>")


def _footer(meta: HubMeta) -> str:
    return (f"<footer>Made by probe {escape(meta.software_version)} on the hub, {escape(human_time(meta.created))}. "
            "All times are UTC.</footer>")


def verify_text(facts: HubFacts, meta: HubMeta) -> str:
    """VERIFY.txt: what the bundle holds and how to check it, with each probe's key and counts."""
    lines = ["How to verify this bundle of measurements from several probes",
             "", "With probe installed:  probe verify THIS-FILE.zip", "",
             "It checks, for each probe (links/<fingerprint>.jsonl), every link's record hash, chain hash and",
             "the probe's Ed25519 signature, then computes report.html again from the links and compares it.",
             "README.txt says how to check one link by hand with sha256sum.", "",
             f"This bundle holds {_n(facts.count, 'measurement')} by {_n(len(facts.probes), 'probe')}"
             + (f", {_between(facts.first, facts.last)}." if facts.count else "."),
             "Probes (key fingerprint; the name is the hub's claim, not signed):"]
    for key in sorted(facts.probes):
        p, claim = facts.probes[key], meta.claims.get(key)
        revoked = f"; key revoked on the hub on {_day(claim.revoked_at)}" if claim and claim.revoked_at else ""
        lines.append(f"  {key}  \"{_name(meta, key)}\"  {_n(p.measurements, 'measurement')}, "
                     f"{p.verdicts} with a signed verdict{revoked}")
    if meta.filters:
        lines += ["", "Selection: " + ", ".join(f"{k}={v}" for k, v in meta.filters)
                  + " (so each probe's chain has gaps where links were not selected)."]
    lines += ["", "Compare each fingerprint with the one the probe's volunteer published."]
    return "\n".join(lines) + "\n"
