"""The hub bundle's report from signed records alone: networks, probes, days, techniques, deterministic.

Pure: records made from the sample scenarios (the same ones the lab's probes produce), fed to the
collector as the exporter and `probe verify` feed it; no database, no zip.
"""

from __future__ import annotations

from evidence_samples import sample_set

from probe.hub.bundle_facts import Collector
from probe.hub.bundle_report import HubMeta, ProbeClaim, render_report, verify_text
from probe.models.canonical import canonical_json, sha256_hex
from probe.models.chain import VerdictRecord, record_bytes
from probe.models.verdict import Verdict

A, B = "ed25519:" + "a" * 64, "ed25519:" + "b" * 64
META = HubMeta(created="2026-12-03T10:00:00Z", software_version="test", filters=(),
               claims={A: ProbeClaim("Almaty 3", None), B: ProbeClaim("<b>Astana</b>", "2026-12-01T00:00:00Z")})


def links(asn: str, name: str) -> list[tuple[str, str, str]]:
    """(kind, record, record_sha256) of one probe's chain: each sample measurement, then its verdict."""
    out = []
    for m, _, verdict in sample_set(2):
        m = m.model_copy(update={"network": m.network.model_copy(update={"probe_asn": asn,
                                                                         "probe_network_name": name})})
        text = canonical_json(m.model_dump(mode="json")).decode()
        sha = sha256_hex(text.encode())
        out.append(("measurement", text, sha))
        if verdict is not None:
            record = record_bytes(VerdictRecord(measurement_id=m.measurement_id, measurement_sha256=sha,
                                                verdict=verdict, rules_version="t",
                                                classified_at=m.test_start_time)).decode()
            out.append(("verdict", record, sha256_hex(record.encode())))
    return out


def render(order: tuple[str, ...], extra: dict[str, list[tuple[str, str, str]]] | None = None) -> tuple[str, str]:
    chains = {A: links("AS9198", "JSC Kazakhtelecom"), B: links("AS206026", "Kar-Tel LLC (Beeline)")}
    for key, more in (extra or {}).items():
        chains[key] = chains[key] + more
    collector = Collector()
    for key in order:
        for seq, (kind, record, sha) in enumerate(chains[key], 1):
            collector.add(key_fingerprint=key, kind=kind, seq=seq, record=record, record_sha256=sha)
    facts = collector.finish()
    return render_report(facts, META), verify_text(facts, META)


def test_sentences_count_probes_and_networks_and_techniques_are_per_network() -> None:
    html, text = render((A, B))
    assert ("rferl.org was blocked for 2 probes on 2 networks (AS206026 Kar-Tel LLC (Beeline), AS9198 JSC "
            "Kazakhtelecom) between 26 Nov 2026 and 27 Nov 2026: 4 of 4 measurements found it blocked.") in html
    assert "wikipedia.org: no blocking in 4 measurements by 2 probes on 2 networks." in html
    assert html.count("<td>AS9198 JSC Kazakhtelecom</td><td>Block page</td>") == 1
    assert html.count("<td>AS206026 Kar-Tel LLC (Beeline)</td><td>Block page</td>") == 1
    assert "&lt;b&gt;Astana&lt;/b&gt;" in html and "<b>Astana" not in html  # the hub's words, escaped
    assert "revoked on the hub on 1 Dec 2026" in html and "key revoked on the hub on 1 Dec 2026" in text
    assert "<script" not in html and "src=" not in html


def test_the_report_is_the_same_whatever_order_the_probes_come_in() -> None:
    assert render((A, B)) == render((B, A))


def test_a_later_signed_verdict_wins_and_a_verdict_without_its_measurement_is_an_orphan() -> None:
    first = links("AS9198", "JSC Kazakhtelecom")
    kind, text, sha = first[0]
    assert kind == "measurement"
    ok = Verdict(label="ok", confidence="confirmed", blocking=False, accessible=True, reasons=["reclassified"])
    again = record_bytes(VerdictRecord(measurement_id="x", measurement_sha256=sha, verdict=ok, rules_version="t2",
                                       classified_at="2026-12-01T00:00:00Z")).decode()
    stray = record_bytes(VerdictRecord(measurement_id="y", measurement_sha256="0" * 64, verdict=ok,
                                       rules_version="t2", classified_at="2026-12-01T00:00:00Z")).decode()
    collector = Collector()
    chain = [*first, ("verdict", again, sha256_hex(again.encode())), ("verdict", stray, sha256_hex(stray.encode()))]
    for seq, (k, record, digest) in enumerate(chain, 1):
        collector.add(key_fingerprint=A, kind=k, seq=seq, record=record, record_sha256=digest)
    facts = collector.finish()
    assert facts.labels["ok"] == 3  # wikipedia.org twice, and the reclassified first measurement
    assert facts.orphan_verdicts == [(A, len(chain))]
