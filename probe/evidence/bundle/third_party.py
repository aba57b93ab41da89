"""OONI's measurements in a bundle, its report and its verification: beside ours, never mixed in.

A bundle carries the selected imported OONI measurements in their own member, `third_party/ooni.jsonl`:
one line each, with OONI's measurement exactly as OONI published it, OONI's own `blocking` and
`accessible`, our verdict on what OONI's probe saw, and where it came from (measurement_uid,
report_id, probe network, OONI Explorer link). They are not in `measurements.jsonl`, not in the
manifest's chain links and never signed by our key: the manifest's signature only says this bundle
carried them unchanged. The report shows them in their own section, labelled as OONI's; `probe
verify` checks them in its own section (each line readable, each measurement matching its hash).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from probe.evidence.bundle import manifest as mf
from probe.evidence.verify.result import VerifyResult
from probe.models import Verdict
from probe.models.canonical import canonical_json, sha256_hex
from probe.store import EntryFilter
from probe.store.third_party import ThirdPartyFilter, ThirdPartyStore

MEMBER = mf.THIRD_PARTY_OONI
WHAT = "OONI's measurement: what OONI's probe saw, published by OONI; not measured or signed by this probe"
SECTION = "third-party (OONI)"
REPORT_ROWS = 500  # the newest shown in the report; the member holds them all


@dataclass(frozen=True)
class Shown:
    """What the report shows of one OONI measurement."""

    time: str
    network: str
    input: str
    ooni: str
    ours: str
    link: str | None


def third_party_filter(filt: EntryFilter) -> ThirdPartyFilter | None:
    """The same selection over OONI's measurements; None when it cannot apply (a category or a run:
    OONI's measurements have neither)."""
    if filt.category or filt.run_id:
        return None
    return ThirdPartyFilter(source="ooni", url=filt.url, host=filt.host, since=filt.since, until=filt.until,
                            verdict=filt.verdict, asn=filt.asn)


def write_third_party(root: Path | None, store_path: Path, filt: EntryFilter) -> list[Shown]:
    """Write the member under `root` (only when there is something to put in it; `root` None writes
    nothing, for a report without a bundle); returns what the report shows."""
    tfilt = third_party_filter(filt)
    if tfilt is None or not store_path.exists():
        return []
    shown: list[Shown] = []
    with ThirdPartyStore.open(store_path, create=False) as store:
        if not store.count(tfilt):
            return []
        if root is not None:
            (root / MEMBER).parent.mkdir(parents=True, exist_ok=True)
        with open(root / MEMBER if root is not None else os.devnull, "wb") as out:
            for row in store.entries(tfilt):
                out.write(canonical_json({
                    "source": row.source, "what": WHAT, "measurement_uid": row.measurement_uid,
                    "report_id": row.report_id, "link": row.link, "input": row.input,
                    "test_start_time": row.test_start_time, "test_version": row.test_version,
                    "probe_cc": row.probe_cc, "probe_asn": row.probe_asn,
                    "probe_network_name": row.probe_network_name, "software": row.software,
                    "ooni_blocking": row.source_blocking, "ooni_accessible": row.source_accessible,
                    "our_verdict": row.verdict.model_dump(mode="json"), "measurement_sha256": row.raw_sha256,
                    "measurement": json.loads(row.raw)}) + b"\n")
                shown.append(Shown(time=row.test_start_time, network=f"{row.probe_network_name} "
                                   f"({row.probe_cc}, {row.probe_asn})".strip(), input=row.input,
                                   ooni=_ooni_text(row.source_blocking, row.source_accessible),
                                   ours=f"{row.verdict.label} ({row.verdict.confidence})", link=row.link))
    return shown


def _ooni_text(blocking: object, accessible: object) -> str:
    return f"blocking={json.dumps(blocking)}, accessible={json.dumps(accessible)}".replace('"', "")


def report_section(shown: list[Shown], *, in_bundle: bool = True) -> str:
    """The report's section for OONI's measurements ("" when there are none)."""
    where = "the bundle's file third_party/ooni.jsonl" if in_bundle else "the store (`probe results --source ooni`)"
    if not shown:
        return ""
    more = max(len(shown) - REPORT_ROWS, 0)
    rows = "".join(
        f"<tr><td>{escape(s.time.replace('T', ' ').removesuffix('Z'))}</td><td>{escape(s.network)}</td>"
        f"<td>{escape(s.input)}</td>"
        f"<td>{escape(s.ooni)}</td><td>{escape(s.ours)}</td><td>"
        + (f'<a href="{escape(s.link)}">OONI Explorer</a>' if s.link else "not published by OONI")
        + "</td></tr>" for s in shown[more:])
    return ("<section id=\"ooni\"><h2>OONI's measurements (third-party evidence)</h2><div class=\"note\">"
            f"{len(shown)} measurement{'s' if len(shown) != 1 else ''} made by OONI Probe and published by OONI: "
            "what OONI's probe saw, from OONI's volunteers' networks. They are not this probe's measurements, "
            "not in its hash chain and not signed by its key; "
            f"{where} holds each as OONI published it. \"OONI says\" is OONI's own reading; "
            "\"our rules say\" is this probe's classification of OONI's observations.</div>"
            "<table><thead><tr><th>time (UTC)</th><th>network</th>"
            "<th>URL</th><th>OONI says</th><th>our rules say</th><th>source</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            + (f"<p>Showing the newest {REPORT_ROWS}; {more} older ones are in {where}.</p>"
               if more else "") + "</section>")


_BEFORE = "<section><h2>How to check this evidence</h2>"


def add_section(html: str, section: str) -> str:
    """The report with the section placed after our own findings (before "How to check")."""
    if not section:
        return html
    marker = _BEFORE if _BEFORE in html else "</main>"
    return html.replace(marker, section + marker, 1) if marker in html else html


def verify_third_party(lines: Iterable[bytes] | None, r: VerifyResult) -> list[Shown]:
    """Check the OONI member: each line readable and labelled as OONI's, each measurement matching its
    hash. Says plainly that these are not ours: the checks prove the bundle carried them unchanged.
    Returns what the report shows of them, so verify can render the report again and compare."""
    shown: list[Shown] = []
    if lines is None:
        return shown
    count = 0
    for number, line in enumerate(lines, start=1):
        where = f"{MEMBER} line {number}"
        try:
            item = json.loads(line)
            Verdict.model_validate(item["our_verdict"])
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            r.fail(where, f"is not a readable OONI entry ({type(exc).__name__})")
            continue
        if not isinstance(item, dict) or item.get("source") != "ooni":
            r.fail(where, "is not labelled as OONI's measurement")
            continue
        if sha256_hex(canonical_json(item.get("measurement"))) != item.get("measurement_sha256"):
            r.fail(where, "OONI's measurement does not match its SHA-256: it was changed")
            continue
        count += 1
        r.checked[f"{SECTION} measurements"] += 1
        shown.append(_shown_of(item))
    if count:
        r.note(MEMBER, f"{count} OONI measurement{'s' if count != 1 else ''}: third-party evidence, published "
                       "by OONI and classified by our rules; not this probe's, not in its chain and not signed "
                       "by its key (the manifest's signature only shows the bundle carried them unchanged)")
    return shown


def _shown_of(item: dict[str, Any]) -> Shown:
    """What the report shows of one line of the member (the same fields write_third_party used)."""
    verdict = Verdict.model_validate(item["our_verdict"])
    network = f"{item.get('probe_network_name') or ''} ({item.get('probe_cc')}, {item.get('probe_asn')})"
    return Shown(time=str(item.get("test_start_time")), network=network.strip(), input=str(item.get("input")),
                 ooni=_ooni_text(item.get("ooni_blocking"), item.get("ooni_accessible")),
                 ours=f"{verdict.label} ({verdict.confidence})", link=item.get("link"))
