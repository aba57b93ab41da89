"""report.html: one self-contained page for advocates and journalists, not engineers.

What was measured, from which networks (ASN and name, never an address), when; a per-website
timeline; the techniques seen, with counts; for every blocked website the key evidence in plain
words; and which raw data retention deleted, and when (the measurements and hashes remain). Inline
CSS and SVG only, and a Content-Security-Policy that forbids every fetch, so opening it
reveals nothing to anyone and it looks the same offline, years later. No script.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from probe.evidence.explain import TECHNIQUES, host_of, human_time, key_evidence, short
from probe.evidence.history import history_marks
from probe.evidence.report_data import (
    NOT_CLASSIFIED,
    ArtifactBytes,
    ArtifactInfo,
    Pruning,
    ReportData,
    TargetRow,
    collect,
    status_class,
)
from probe.evidence.report_style import CSS
from probe.evidence.report_svg import bar_chart, outage_timeline, timeline
from probe.evidence.statements import BundleFacts, signing_sentences, span_sentence
from probe.evidence.takedown import render_marks, render_takedowns
from probe.models import Measurement, Verdict

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'"
# What each artifact kind is, in words (one, many).
_KIND_WORDS = {"http_body": ("downloaded page", "downloaded pages"),
               "x509_der": ("certificate", "certificates"),
               "dns_wire": ("DNS reply", "DNS replies"),
               "http_headers": ("set of HTTP headers", "sets of HTTP headers")}
_LEGEND = (("blocked", "blocked"), ("ok", "reachable"), ("slowed", "slowed down"),
           ("notcensorship", "site down or refusing (not censorship)"),
           ("takedown", "taken down for everyone (host or registry)"), ("unknown", "inconclusive"))


@dataclass(frozen=True)
class ReportMeta:
    generated_at: str
    software_version: str
    key_fingerprint: str | None = None
    filters: tuple[tuple[str, str], ...] = ()
    in_bundle: bool = False  # the page sits in a bundle beside manifest.json and VERIFY.txt


def render_report(pairs: Iterable[tuple[Measurement, Verdict | None]], meta: ReportMeta, *,
                  artifact_info: ArtifactInfo | None = None, artifact_bytes: ArtifactBytes | None = None) -> str:
    """The page; pass the store's `artifact_info` so it can say which cited raw data was pruned, and
    `artifact` so it can quote registries' raw answers."""
    return render(collect(pairs, artifact_info=artifact_info, artifact_bytes=artifact_bytes), meta)


def render(data: ReportData, meta: ReportMeta) -> str:
    marks = history_marks(data.history).values()
    body = "".join((_header(data), _networks(data), _findings(data), _evidence(data),
                    render_takedowns(data.takedowns.values()), render_marks(marks), _all_targets(data),
                    _pruned(data.pruning), _how_to_check(meta, data), _footer(meta)))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(_title(data))}</title><style>{CSS}</style></head>"
            f"<body><main>{body}</main></body></html>\n")


def _title(data: ReportData) -> str:
    countries = sorted({n.cc for n in data.networks.values()})
    return f"Internet censorship measurements{' in ' + ', '.join(countries) if countries else ''}"


def _period(data: ReportData) -> str:
    if not data.count:
        return "no measurements"
    return f"{human_time(data.first)} to {human_time(data.last)}"


def _header(data: ReportData) -> str:
    blocked = len(data.blocked_targets)
    nets = ", ".join(f"{n.name or 'unnamed network'} ({n.asn})" for n in data.networks.values())
    cards = (("measurements", data.count), ("websites tested", len(data.targets)),
             ("websites found blocked", blocked), ("networks", len(data.networks)))
    card_html = "".join(f'<div class="card"><span class="n">{n}</span><span class="what">{w}</span></div>'
                        for w, n in cards)
    return (f"<header><h1>{escape(_title(data))}</h1>"
            f'<p class="lead">{data.count} measurements of {len(data.targets)} websites from '
            f"{escape(nets or 'no network')}, {escape(_period(data))}.</p>"
            f'<div class="cards">{card_html}</div>'
            '<p>Each measurement is one attempt to reach one website, step by step (name lookup, connection, '
            "secure handshake, page download), compared with the same attempt made at the same time from an "
            "uncensored place (the <em>control</em>). A website is called blocked only when the probe's "
            "network fails in a way the control does not.</p></header>")


def _networks(data: ReportData) -> str:
    rows = "".join(f"<tr><td>{escape(n.asn)}</td><td>{escape(n.name or '—')}</td><td>{escape(n.cc)}</td>"
                   f'<td class="num">{n.count}</td><td>{escape(human_time(n.first))}</td>'
                   f"<td>{escape(human_time(n.last))}</td></tr>" for n in data.networks.values())
    return ("<section><h2>Where and when</h2><p>Networks are named by their operator and autonomous system "
            "number (ASN). The volunteer's own internet address is never recorded.</p>"
            "<table><thead><tr><th>ASN</th><th>Network</th><th>Country</th><th class=\"num\">Measurements"
            f"</th><th>From</th><th>To</th></tr></thead><tbody>{rows}</tbody></table>{_unknown_network_note(data)}"
            f"{_outages(data)}</section>")


def _outages(data: ReportData) -> str:
    """Per network, the periods when the probe's runs found nothing answering (internet shutdowns)."""
    blocks = []
    for n in data.networks.values():
        periods = n.outages()
        if not periods:
            continue
        items = "".join(f"<li>{escape(human_time(a))} to {escape(human_time(b))}: {k} measurement(s), all "
                        "inconclusive</li>" for a, b, k in periods)
        blocks.append(f"<h3>{escape(n.name or 'unnamed network')} ({escape(n.asn)})</h3>"
                      f"{outage_timeline(n.checks, periods, start=data.first, end=data.last)}<ul>{items}</ul>")
    if not blocks:
        return ""
    return ("<h3>Network down</h3><p>Runs that started with nothing answering: no control helper, no well-known "
            "address (an internet shutdown, or the volunteer's own connection). The band on each strip covers the "
            "measurements that found the network down; the outage began after the last working run before it "
            "and ended before the next one. Failures in those runs are not counted as blocking.</p>"
            + "".join(blocks))


def _unknown_network_note(data: ReportData) -> str:
    """AS0 / ZZ: the probe had no IP-to-ASN database, or no control told it its public address."""
    unknown = sum(n.count for n in data.networks.values() if n.asn in ("AS0", "") or n.cc in ("ZZ", ""))
    if not unknown:
        return ""
    return (f"<p class=\"note\">{unknown} measurement(s) show network AS0 / country ZZ: the network was not "
            "identified, either because the probe had no IP-to-ASN database (<code>--asn-db</code>) or because "
            "no control helper answered to tell it which public address it used (a blocked helper does "
            "this). Their results stand; only the network they were taken from is not named.</p>")


def _legend() -> str:
    items = "".join(f'<span><i class="{css}"></i>{escape(text)}</span>' for css, text in _LEGEND)
    return f'<div class="legend">{items}</div>'


def _findings(data: ReportData) -> str:
    bars = [(short(label), n, status_class(label)) for label, n in data.labels.most_common()]
    techniques = sorted(data.techniques.values(), key=lambda r: (-len(r.targets), r.family))
    rows = "".join(f"<tr><td>{escape(r.family)}</td><td>{escape(r.description)}</td>"
                   f"<td>{escape(r.detail) or '—'}</td><td class=\"num\">{len(r.targets)}</td>"
                   f'<td class="num">{r.measurements}</td></tr>' for r in techniques)
    table = ("<table><thead><tr><th>Technique</th><th>What the network does</th><th>Detail</th>"
             '<th class="num">Websites</th><th class="num">Measurements</th></tr></thead>'
             f"<tbody>{rows}</tbody></table>") if rows else "<p>No blocking was found.</p>"
    return ("<section><h2>What was found</h2><h3>Results of all measurements</h3>"
            f"{bar_chart(bars, title='Number of measurements by result')}{_legend()}"
            f"<h3>Blocking techniques</h3>{table}</section>")


def _evidence(data: ReportData) -> str:
    targets = data.blocked_targets
    if not targets:
        return ""
    blocks = "".join(_evidence_block(t, data) for t in targets)
    return ("<section><h2>Blocked websites: the evidence</h2><p>For each website, what the measurements "
            "show, in plain words, followed by the probe's own reasons.</p>" + blocks + "</section>")


def _evidence_block(target: TargetRow, data: ReportData) -> str:
    attempts = len(target.attempts)
    paragraphs = "".join(f"<p>{escape(key_evidence(t, target.url, attempts))}</p>"
                         for t in sorted(target.tallies.values(), key=lambda t: -t.count))
    reasons = [r for t in target.tallies.values() for r, _ in t.reasons.most_common(4)]
    reason_list = "".join(f"<li>{escape(r)}</li>" for r in dict.fromkeys(reasons))
    labels = ", ".join(f"{TECHNIQUES.get(label, ('', label))[1]} ({t.count}×)"
                       for label, t in target.tallies.items())
    return (f'<article class="evidence"><h3>{escape(host_of(target.url))}</h3>'
            f'<div class="meta"><span class="mono">{escape(target.url)}</span>'
            f"{' · category ' + escape(target.category) if target.category else ''} · blocked in "
            f"{target.blocked_count} of {attempts} measurements: {escape(labels)}</div>"
            f"{paragraphs}"
            f"{timeline(target.attempts, start=data.first, end=data.last)}"
            f"<ul>{reason_list}</ul></article>")


def _all_targets(data: ReportData) -> str:
    rows = []
    for t in sorted(data.targets.values(), key=lambda t: (-t.blocked_count, t.url)):
        latest = t.latest
        rows.append(f'<tr><td class="site"><span class="mono">{escape(t.url)}</span></td><td>{escape(t.category)}</td>'
                    f'<td class="num">{t.blocked_count} / {len(t.attempts)}</td>'
                    f'<td class="tl">{timeline(t.attempts, start=data.first, end=data.last, width=300)}</td>'
                    f'<td><span class="badge {status_class(latest)}" title="{escape(latest)}">'
                    f"{escape(short(latest))}</span></td></tr>")
    return ("<section><h2>Every website, over time</h2>"
            f"<p>Each mark is one measurement, placed in time from {escape(_period(data))}.</p>{_legend()}"
            "<table><thead><tr><th>Website</th><th>Category</th><th class=\"num\">Blocked</th>"
            f"<th>Timeline</th><th>Latest result</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            "</section>")


def _pruned(p: Pruning) -> str:
    if not p.count:
        return ""
    kinds = ", ".join(f"{n} {_KIND_WORDS.get(kind, ('other item', 'other items'))[n != 1]}"
                      for kind, n in sorted(p.kinds.items(), key=lambda kv: (-kv[1], kv[0])))
    items = "item" if p.count == 1 else "items"
    measurements = "measurement" if p.measurements == 1 else "measurements"
    return ("<section><h2>Raw data deleted to save space</h2><div class=\"note\">"
            "<p>This probe was set to keep the raw data behind its measurements (downloaded pages, "
            f"certificates, DNS replies) only for a limited time, so it deleted {p.count} such {items} that "
            f"these measurements refer to ({escape(kinds)}), {escape(_between(p.pruned_first, p.pruned_last))}. "
            f"They came from {p.measurements} {measurements} taken "
            f"{escape(_between(p.measured_first, p.measured_last))}.</p>"
            "<p>Retention deletes nothing else. Those measurements, their results and the SHA-256 hash of "
            "every deleted item (a fingerprint that identifies it exactly) remain, so it can still be checked "
            "that no measurement was changed, added or removed. Only the deleted data itself can no longer "
            "be shown.</p></div></section>")


def _between(first: str, last: str) -> str:
    """'on 3 Dec 2026' or 'between 3 Dec 2026 and 10 Dec 2026' (dates only, UTC)."""
    a, b = _day(first), _day(last)
    return f"on {a}" if a == b else f"between {a} and {b}"


def _day(iso: str) -> str:
    return " ".join(human_time(iso).split()[:3])


def _how_to_check(meta: ReportMeta, data: ReportData) -> str:
    key = ""
    if meta.key_fingerprint and data.count and sum(data.signers.values()) == data.count:
        facts = BundleFacts(measurements=data.count, exporting_key=meta.key_fingerprint, signers=data.signers,
                            without_verdict=data.labels[NOT_CLASSIFIED], first=data.first, last=data.last)
        said = " ".join((*signing_sentences(facts), span_sentence(facts)))
        key = (f"<p>{escape(said)} Compare the key with the fingerprint the probe's operator published.</p>")
    where = ("The files next to this page (<span class=\"mono\">manifest.json</span>, its signature, "
             "and <span class=\"mono\">VERIFY.txt</span>) let anyone check")
    how = (f"<p>{where} that no measurement was changed, added or removed since it was recorded: run "
           "<span class=\"mono\">probe verify bundle.zip</span>, or follow VERIFY.txt by hand.</p>"
           if meta.in_bundle else "<p>Export the measurements with <span class=\"mono\">probe export"
           "</span> to get a signed bundle that anyone can verify.</p>")
    filters = ", ".join(f"{k}={v}" for k, v in meta.filters)
    chosen = f"<p>Selection: {escape(filters)}.</p>" if filters else ""
    return f'<section><h2>How to check this evidence</h2><div class="note">{key}{how}{chosen}</div></section>'


def _footer(meta: ReportMeta) -> str:
    made = escape(human_time(meta.generated_at))
    return f"<footer>Made by probe {escape(meta.software_version)} on {made}. All times are UTC.</footer>"
