"""Classification: pure functions from a Measurement to a Verdict (DESIGN.md section 4).

    classify(measurement, bodies=..., context=...) -> Verdict     the whole decision (verdict.py)
    make_context(settings) -> ClassifyContext                     reads the fingerprint files once
    load_fingerprints(dir | None) -> Fingerprints                 OONI-format CSVs (None: shipped)
    body_minhash(body) / similarity(a, b) / extract_title(body)   page comparison without the page

Layer rules live in dns.py, tcp_tls.py and http.py; `view.py` turns the flat observation lists into
redirect hops; `findings.py` maps labels to OONI's `blocking`. Imports: probe.models and the stdlib.
"""

from probe.classify.context import (
    RULES_VERSION,
    ClassifyContext,
    Thresholds,
    build_context,
    make_context,
)
from probe.classify.fingerprints import Fingerprint, Fingerprints, load_fingerprints, parse_fingerprints
from probe.classify.similarity import body_minhash, extract_title, similarity
from probe.classify.verdict import classify

__all__ = [
    "RULES_VERSION", "ClassifyContext", "Fingerprint", "Fingerprints", "Thresholds", "body_minhash",
    "build_context", "classify", "extract_title", "load_fingerprints", "make_context",
    "parse_fingerprints", "similarity",
]
