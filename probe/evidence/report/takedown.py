"""The evidence behind a takedown verdict, for the report: the matched fingerprint, or what the
registry said (its statuses and its raw answer, as far as the bytes are still stored).

`takedown_evidence` reads one measurement and its verdict (and the raw registry answer through an
injected lookup); `render_takedowns` / `render_marks` are the report's two sections about sites that
are gone for everyone. Nothing here claims censorship by the network (docs/verdicts.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html import escape

from probe.evidence.history import HistoryMark
from probe.models import Measurement, Verdict
from probe.models.registry import RegistryObservation

RAW_SHOWN_BYTES = 4096  # of a registry's answer, in the report (the bundle has all of it)


@dataclass(frozen=True)
class RegistrySeen:
    who: str  # "the probe" or "the control"
    protocol: str
    server: str
    domain: str
    statuses: tuple[str, ...]
    raw_sha256: str | None
    raw_text: str | None  # the first RAW_SHOWN_BYTES, decoded; None when the bytes are not at hand
    raw_length: int


@dataclass(frozen=True)
class TakedownEvidence:
    url: str
    time: str
    measurement_id: str
    label: str
    confidence: str
    fingerprint: str | None
    reasons: tuple[str, ...]
    registry: tuple[RegistrySeen, ...]


def _seen(who: str, obs: RegistryObservation, read: Callable[[str], bytes | None] | None) -> RegistrySeen:
    raw = read(obs.raw_sha256) if read is not None and obs.raw_sha256 else None
    return RegistrySeen(who=who, protocol=obs.protocol, server=obs.server, domain=obs.domain,
                        statuses=tuple(obs.statuses), raw_sha256=obs.raw_sha256,
                        raw_text=raw[:RAW_SHOWN_BYTES].decode("utf-8", errors="replace") if raw else None,
                        raw_length=obs.raw_length)


def takedown_evidence(m: Measurement, v: Verdict, read: Callable[[str], bytes | None] | None) -> TakedownEvidence:
    seen = [_seen("the probe", o, read) for o in m.registry if o.failure is None]
    if m.control is not None and m.control.registry is not None and m.control.registry.observation.failure is None:
        seen.append(_seen("the control", m.control.registry.observation, read))
    return TakedownEvidence(url=m.input, time=m.test_start_time, measurement_id=m.measurement_id, label=v.label,
                            confidence=v.confidence, fingerprint=v.fingerprint, reasons=tuple(v.reasons),
                            registry=tuple(seen))


def _registry_block(r: RegistrySeen) -> str:
    statuses = ", ".join(f"“{s}”" for s in r.statuses) or "no status"
    raw = (f"<pre>{escape(r.raw_text)}</pre>" if r.raw_text is not None else
           f"<p>The raw answer ({r.raw_length} bytes, sha256 {escape(r.raw_sha256 or '—')}) is not in this store "
           "any more (retention); the statuses above were read from it when it was.</p>")
    cut = f" (the first {RAW_SHOWN_BYTES} of {r.raw_length} bytes)" if r.raw_length > RAW_SHOWN_BYTES else ""
    return (f"<p>The registry ({escape(r.protocol.upper())} at <span class=\"mono\">{escape(r.server)}</span>), "
            f"asked by {r.who} about <span class=\"mono\">{escape(r.domain)}</span>, lists {escape(statuses)}. "
            f"Its raw answer{cut}, sha256 <span class=\"mono\">{escape(r.raw_sha256 or '—')}</span>:</p>{raw}")


def render_takedowns(items: Iterable[TakedownEvidence]) -> str:
    blocks = []
    for t in sorted(items, key=lambda t: t.url):
        what = (f"The page everyone gets matches the takedown fingerprint <span class=\"mono\">"
                f"{escape(t.fingerprint)}</span>." if t.label == "site.takedown" and t.fingerprint else "")
        registry = "".join(_registry_block(r) for r in t.registry)
        reasons = "".join(f"<li>{escape(r)}</li>" for r in t.reasons)
        blocks.append(f'<article class="evidence takedown"><h3 class="mono">{escape(t.url)}</h3>'
                      f'<div class="meta">{escape(t.label)} ({escape(t.confidence)}) · measurement '
                      f'<span class="mono">{escape(t.measurement_id)}</span> · {escape(t.time)}</div>'
                      f"<p>{what}</p>{registry}<ul>{reasons}</ul></article>")
    if not blocks:
        return ""
    return ("<section><h2>Taken down for everyone</h2><p>These sites are unavailable for everyone, the control "
            "included, and a hosting provider's page or the registry says why. This is not blocking by the "
            "network measured here; who ordered it is not something a measurement can show.</p>"
            + "".join(blocks) + "</section>")


def render_marks(marks: Iterable[HistoryMark]) -> str:
    rows = "".join(f'<tr><td class="site"><span class="mono">{escape(m.url)}</span></td>'
                   f"<td>{escape(m.sentence())}</td>"
                   f'<td class="mono">{escape(m.reachable_id)}</td><td class="mono">{escape(m.unavailable_id)}</td>'
                   "</tr>" for m in sorted(marks, key=lambda m: m.url))
    if not rows:
        return ""
    return ("<section><h2>Reachable, then unavailable everywhere (for review)</h2><p>Each site below was "
            "reachable, and every measurement since has found it unavailable for everyone, the control too. "
            "That is what a takedown looks like from outside, and also what a site that is simply down looks "
            "like: a reviewer should check. Both measurements are in this report's data "
            "(<code>probe show ID</code>).</p><table><thead><tr><th>Website</th><th>History</th>"
            "<th>Last reachable (measurement)</th><th>First unavailable (measurement)</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></section>")
