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

from probe.evidence.bundle.statements import BundleFacts, signing_sentences, span_sentence
from probe.evidence.explain import TECHNIQUES, host_of, human_time, key_evidence, short
from probe.evidence.history import history_marks
from probe.evidence.report.data import (
    NOT_CLASSIFIED,
    ArtifactBytes,
    ArtifactInfo,
    Pruning,
    ReportData,
    TargetRow,
    collect,
    status_class,
)
from probe.evidence.report.style import CSS
from probe.evidence.report.svg import bar_chart, outage_timeline, timeline
from probe.evidence.report.takedown import render_marks, render_takedowns
from probe.i18n import N_, _, current_language, using
from probe.models import Measurement, Verdict

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'"
# What each artifact kind is, in words (one, many): the English plural chooses a word; a translation says
# "{things}: {count}" with the plural noun, which reads right in Russian and Kazakh for any number.
_KIND_WORDS = {"http_body": ("downloaded page", N_("downloaded pages")),
               "x509_der": ("certificate", N_("certificates")),
               "dns_wire": ("DNS reply", N_("DNS replies")),
               "http_headers": ("set of HTTP headers", N_("sets of HTTP headers"))}
_LEGEND = (("blocked", N_("blocked")), ("ok", N_("reachable")), ("slowed", N_("slowed down")),
           ("notcensorship", N_("site down or refusing (not censorship)")),
           ("takedown", "taken down for everyone (host or registry)"), ("unknown", N_("inconclusive")))


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


def render(data: ReportData, meta: ReportMeta, *, lang: str = "en") -> str:
    """The page in `lang` (en, ru, kk): verdict labels, URLs and figures are the same in each."""
    marks = history_marks(data.history).values()
    with using(lang):
        body = "".join((_header(data), _networks(data), _findings(data), _evidence(data),
                        render_takedowns(data.takedowns.values()), render_marks(marks), _all_targets(data),
                        _pruned(data.pruning), _how_to_check(meta, data), _footer(meta)))
        title = _title(data)
    return (f"<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head>"
            f"<body><main>{body}</main></body></html>\n")


def _title(data: ReportData) -> str:
    countries = sorted({n.cc for n in data.networks.values()})
    if countries:
        return _("Internet censorship measurements in {countries}").format(countries=", ".join(countries))
    return _("Internet censorship measurements")


def _period(data: ReportData) -> str:
    if not data.count:
        return _("no measurements")
    return _("{first} to {last}").format(first=human_time(data.first), last=human_time(data.last))


def _header(data: ReportData) -> str:
    blocked = len(data.blocked_targets)
    nets = ", ".join(f"{n.name or _('unnamed network')} ({n.asn})" for n in data.networks.values())
    cards = ((_("measurements"), data.count), (_("websites tested"), len(data.targets)),
             (_("websites found blocked"), blocked), (_("networks"), len(data.networks)))
    card_html = "".join(f'<div class="card"><span class="n">{n}</span><span class="what">{escape(w)}</span></div>'
                        for w, n in cards)
    lead = _("{count} measurements of {targets} websites from {networks}, {period}.").format(
        count=data.count, targets=len(data.targets), networks=nets or _("no network"), period=_period(data))
    return (f"<header><h1>{escape(_title(data))}</h1>"
            f'<p class="lead">{escape(lead)}</p>'
            f'<div class="cards">{card_html}</div>'
            "<p>" + _("Each measurement is one attempt to reach one website, step by step (name lookup, connection, "
                      "secure handshake, page download), compared with the same attempt made at the same time from "
                      "an uncensored place (the <em>control</em>). A website is called blocked only when the "
                      "probe's network fails in a way the control does not.") + "</p></header>")


def _networks(data: ReportData) -> str:
    rows = "".join(f"<tr><td>{escape(n.asn)}</td><td>{escape(n.name or '—')}</td><td>{escape(n.cc)}</td>"
                   f'<td class="num">{n.count}</td><td>{escape(human_time(n.first))}</td>'
                   f"<td>{escape(human_time(n.last))}</td></tr>" for n in data.networks.values())
    return (f"<section><h2>{_('Where and when')}</h2><p>"
            + _("Networks are named by their operator and autonomous system number (ASN). The volunteer's own "
                "internet address is never recorded.")
            + f"</p><table><thead><tr><th>ASN</th><th>{_('Network')}</th><th>{_('Country')}</th>"
            f"<th class=\"num\">{_('Measurements')}</th><th>{_('From')}</th><th>{_('To')}</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{_unknown_network_note(data)}{_outages(data)}</section>")


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
    return ("<p class=\"note\">" + _(
        "{count} measurement(s) show network AS0 / country ZZ: the network was not identified, either because "
        "the probe had no IP-to-ASN database (<code>--asn-db</code>) or because no control helper answered to "
        "tell it which public address it used (a blocked helper does this). Their results stand; only the "
        "network they were taken from is not named.").format(count=unknown) + "</p>")


def _legend() -> str:
    items = "".join(f'<span><i class="{css}"></i>{escape(_(text))}</span>' for css, text in _LEGEND)
    return f'<div class="legend">{items}</div>'


def _findings(data: ReportData) -> str:
    bars = [(_(short(label)), n, status_class(label)) for label, n in data.labels.most_common()]
    techniques = sorted(data.techniques.values(), key=lambda r: (-len(r.targets), r.family))
    rows = "".join(f"<tr><td>{escape(_(r.family))}</td><td>{escape(_(r.description))}</td>"
                   f"<td>{escape(r.detail) or '—'}</td><td class=\"num\">{len(r.targets)}</td>"
                   f'<td class="num">{r.measurements}</td></tr>' for r in techniques)
    table = (f"<table><thead><tr><th>{_('Technique')}</th><th>{_('What the network does')}</th>"
             f"<th>{_('Detail')}</th><th class=\"num\">{_('Websites')}</th>"
             f"<th class=\"num\">{_('Measurements')}</th></tr></thead>"
             f"<tbody>{rows}</tbody></table>") if rows else f"<p>{_('No blocking was found.')}</p>"
    return (f"<section><h2>{_('What was found')}</h2><h3>{_('Results of all measurements')}</h3>"
            f"{bar_chart(bars, title=_('Number of measurements by result'))}{_legend()}"
            f"<h3>{_('Blocking techniques')}</h3>{table}</section>")


def _evidence(data: ReportData) -> str:
    targets = data.blocked_targets
    if not targets:
        return ""
    blocks = "".join(_evidence_block(t, data) for t in targets)
    return (f"<section><h2>{_('Blocked websites: the evidence')}</h2><p>"
            + _("For each website, what the measurements show, in plain words, followed by the probe's own "
                "reasons.") + "</p>" + blocks + "</section>")


def _evidence_block(target: TargetRow, data: ReportData) -> str:
    attempts = len(target.attempts)
    paragraphs = "".join(f"<p>{escape(key_evidence(t, target.url, attempts))}</p>"
                         for t in sorted(target.tallies.values(), key=lambda t: -t.count))
    reasons = [r for t in target.tallies.values() for r, _ in t.reasons.most_common(4)]
    reason_list = "".join(f"<li>{escape(r)}</li>" for r in dict.fromkeys(reasons))
    labels = ", ".join(f"{_(TECHNIQUES[label][1]) if label in TECHNIQUES else label} ({t.count}×)"
                       for label, t in target.tallies.items())
    category = (" · " + _("category {code}").format(code=escape(target.category))) if target.category else ""
    blocked = _("blocked in {blocked} of {attempts} measurements: {labels}").format(
        blocked=target.blocked_count, attempts=attempts, labels=escape(labels))
    return (f'<article class="evidence"><h3>{escape(host_of(target.url))}</h3>'
            f'<div class="meta"><span class="mono">{escape(target.url)}</span>'
            f"{category} · {blocked}</div>"
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
                    f"{escape(_(short(latest)))}</span></td></tr>")
    marks = _("Each mark is one measurement, placed in time from {period}.").format(period=_period(data))
    return (f"<section><h2>{_('Every website, over time')}</h2>"
            f"<p>{escape(marks)}</p>{_legend()}"
            f"<table><thead><tr><th>{_('Website')}</th><th>{_('Category')}</th><th class=\"num\">{_('Blocked')}"
            f"</th><th>{_('Timeline')}</th><th>{_('Latest result')}</th></tr></thead><tbody>{''.join(rows)}</tbody>"
            "</table></section>")


def _pruned(p: Pruning) -> str:
    if not p.count:
        return ""
    kinds = ", ".join(_count(n, *_KIND_WORDS.get(kind, ("other item", N_("other items"))))
                      for kind, n in sorted(p.kinds.items(), key=lambda kv: (-kv[1], kv[0])))
    # {items} and {measurement_word} are the English singular or plural; a translation may leave them out.
    first = _("This probe was set to keep the raw data behind its measurements (downloaded pages, certificates, "
              "DNS replies) only for a limited time, so it deleted {count} such {items} that these measurements "
              "refer to ({kinds}), {when}. They came from {measurements} {measurement_word} taken "
              "{measured}.").format(
        count=p.count, items="item" if p.count == 1 else "items", kinds=kinds,
        when=_between(p.pruned_first, p.pruned_last), measurements=p.measurements,
        measurement_word="measurement" if p.measurements == 1 else "measurements",
        measured=_between(p.measured_first, p.measured_last))
    return (f"<section><h2>{_('Raw data deleted to save space')}</h2><div class=\"note\">"
            f"<p>{escape(first)}</p><p>"
            + _("Retention deletes nothing else. Those measurements, their results and the SHA-256 hash of every "
                "deleted item (a fingerprint that identifies it exactly) remain, so it can still be checked that "
                "no measurement was changed, added or removed. Only the deleted data itself can no longer be "
                "shown.") + "</p></div></section>")


def _count(n: int, one: str, many: str) -> str:
    """'1 certificate' / '2 certificates' in English; '<plural noun>: 2' in a translation."""
    if current_language() == "en":
        return f"{n} {one if n == 1 else many}"
    return _("{things}: {count}").format(things=_(many), count=n)


def _between(first: str, last: str) -> str:
    """'on 3 Dec 2026' or 'between 3 Dec 2026 and 10 Dec 2026' (dates only, UTC)."""
    a, b = _day(first), _day(last)
    return _("on {day}").format(day=a) if a == b else _("between {first} and {last}").format(first=a, last=b)


def _day(iso: str) -> str:
    return " ".join(human_time(iso).split()[:3])


def _how_to_check(meta: ReportMeta, data: ReportData) -> str:
    key = ""
    if meta.key_fingerprint and data.count and sum(data.signers.values()) == data.count:
        facts = BundleFacts(measurements=data.count, exporting_key=meta.key_fingerprint, signers=data.signers,
                            without_verdict=data.labels[NOT_CLASSIFIED], first=data.first, last=data.last)
        # The signing statements are shared with VERIFY.txt (probe.evidence.bundle.statements) and stay English for now.
        said = " ".join((*signing_sentences(facts), span_sentence(facts)))
        compare = _("Compare the key with the fingerprint the probe's operator published.")
        key = f"<p>{escape(said)} {escape(compare)}</p>"
    how = ("<p>" + _("The files next to this page ({manifest}, its signature, and {verify}) let anyone check that "
                     "no measurement was changed, added or removed since it was recorded: run {command}, or "
                     "follow VERIFY.txt by hand.").format(
        manifest='<span class="mono">manifest.json</span>', verify='<span class="mono">VERIFY.txt</span>',
        command='<span class="mono">probe verify bundle.zip</span>') + "</p>"
           if meta.in_bundle else "<p>" + _("Export the measurements with {command} to get a signed bundle that "
                                            "anyone can verify.").format(
        command='<span class="mono">probe export</span>') + "</p>")
    filters = ", ".join(f"{k}={v}" for k, v in meta.filters)
    chosen = f"<p>{escape(_('Selection: {filters}.').format(filters=filters))}</p>" if filters else ""
    return (f"<section><h2>{_('How to check this evidence')}</h2>"
            f'<div class="note">{key}{how}{chosen}</div></section>')


def _footer(meta: ReportMeta) -> str:
    made = _("Made by probe {version} on {time}. All times are UTC.").format(
        version=meta.software_version, time=human_time(meta.generated_at))
    return f"<footer>{escape(made)}</footer>"
