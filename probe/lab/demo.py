"""`probe lab demo`: Selftanu.kz and who.int under the main Kazakh techniques, measured by the real probe.

Each case is a scenario (defined here, so the demo works from an installed package too), measured
in a clean lab and kept in the store; the output says what the censor did and what the probe found.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from probe.lab.lab import Lab
from probe.lab.netns import require_root
from probe.lab.runner import run_scenario
from probe.lab.scenario import Scenario

_CASES: list[dict[str, Any]] = [
    {"name": "demo_unblocked", "url": "https://www.gov.kz/",
     "description": "No censorship: a site the ISP leaves alone",
     "origin": {"title": "eGov Kazakhstan"}, "expect": {"verdict": "ok"}},
    {"name": "demo_sni_drop", "url": "https://selftanu.kz/",
     "description": "DPI drops the TLS flow after a ClientHello with SNI selftanu.kz (2023-24)",
     "origin": {"title": "Selftanu"}, "censor": [{"action": "tls_sni_drop"}],
     "expect": {"verdict": "tls.timeout"}},
    {"name": "demo_mitm", "url": "https://who.int/",
     "description": "TLS interception with a national root, 'Qaznet Trust Network' (2019)",
     "origin": {"title": "World Health Organization"},
     "censor": [{"action": "tls_mitm", "issuer": "Qaznet Trust Network"}],
     "expect": {"verdict": "tls.mitm"}},
    {"name": "demo_throttle", "url": "https://who.int/",
     "description": "Throttling by SNI: each handshake held 1.5 s, transfer at 64 kbit/s",
     "origin": {"title": "World Health Organization", "body_bytes": 30000},
     "censor": [{"action": "tls_throttle", "delay_ms": 1500, "rate_kbit": 64}],
     "expect": {"verdict": "tls.throttled"}},
    {"name": "demo_dns", "url": "https://selftanu.kz/",
     "description": "The ISP's resolver says selftanu.kz does not exist",
     "origin": {"title": "Selftanu"}, "censor": [{"action": "dns_nxdomain"}],
     "expect": {"verdict": "dns.nxdomain"}},
    {"name": "demo_blockpage", "url": "http://who.int/",
     "description": "An injected blockpage for plain-HTTP requests with Host who.int",
     "origin": {"title": "World Health Organization"},
     "censor": [{"action": "http_blockpage", "status": 403}], "expect": {"verdict": "http.blockpage"}},
]


def demo_scenarios() -> list[Scenario]:
    return [Scenario.model_validate(c) for c in _CASES]


def run_demo(lab: Lab, *, store: Path, echo: Callable[[str], None], key: Path | None = None) -> int:
    """Run every case (signing with `key` when given); returns how many verdicts matched what the lab did."""
    require_root()
    store.parent.mkdir(parents=True, exist_ok=True)
    matched = 0
    try:
        for scenario in demo_scenarios():
            echo(f"\n■ {scenario.url}  —  {scenario.description}")
            result = run_scenario(lab, scenario, store=store, key=key)
            if result.error:
                echo(f"  could not measure: {result.error}")
                continue
            extra = ""
            if result.mitm_issuer:
                extra += f", forged chain issued by {result.mitm_issuer!r}"
            if result.fingerprint:
                extra += f", fingerprint {result.fingerprint}"
            echo(f"  found: {result.got} ({result.confidence}{extra})  measurement {result.measurement_id}")
            for reason in result.reasons[:4]:
                echo(f"    · {reason}")
            matched += result.ok
    finally:
        lab.down()
    echo(f"\n{matched}/{len(_CASES)} verdicts name what the lab's censor did. "
         f"Results are in {store} (see `probe results --store {store}`).")
    return matched
