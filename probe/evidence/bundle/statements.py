"""What a bundle may say about itself: sentences computed from what it holds, never a fixed claim.

VERIFY.txt and report.html both state who signed the measurements, how many carry no signature or no
verdict, the time span, OONI's measurements riding along and what retention deleted. A bundle that
holds 7 measurements of which 6 are unsigned must say so, not "every measurement was signed". These
are pure functions over counts (`BundleFacts`); the exporter and `probe verify` (which renders the
report again) fill the counts from the records themselves.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from probe.evidence.explain import human_time


@dataclass(frozen=True)
class BundleFacts:
    measurements: int
    exporting_key: str
    signers: Counter[str] = field(default_factory=Counter)  # key fingerprint -> measurements; "" unsigned
    without_verdict: int = 0  # measurements that carry no signed verdict in the bundle
    first: str = ""  # earliest and latest test_start_time (UTC ISO-8601)
    last: str = ""
    third_party: int = 0  # OONI's measurements in third_party/ooni.jsonl
    pruned_items: int = -1  # raw items retention deleted that these measurements cite; -1: not known here
    pruned_measurements: int = 0


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def signing_sentences(f: BundleFacts) -> list[str]:
    """Who signed the measurements and their verdicts, and what is unsigned."""
    n = f.measurements
    own = f.signers.get(f.exporting_key, 0)
    unsigned = f.signers.get("", 0)
    others = sorted((fp, c) for fp, c in f.signers.items() if fp not in ("", f.exporting_key))
    if own == n:
        out = [f"{'Both' if n == 2 else 'All'} {_n(n, 'measurement')} were signed when they were taken, by this "
               f"bundle's key {f.exporting_key}." if n > 1 else
               f"The measurement was signed when it was taken, by this bundle's key {f.exporting_key}."]
    else:
        parts = [f"{own} of the {_n(n, 'measurement')} were signed when they were taken, by this bundle's key "
                 f"{f.exporting_key}"]
        parts += [f"{c} by another key, {fp}" for fp, c in others]
        if unsigned:
            parts.append(f"{unsigned} {'was' if unsigned == 1 else 'were'} not signed at all (stored before the probe "
                         "had a key: only their place in the hash chain vouches for them)")
        out = ["; ".join(parts) + "."]
    verdicts = n - f.without_verdict
    if f.without_verdict == 0:
        out.append("Every verdict stated here is a signed verdict record (signed when the probe reached it, "
                   "or reached it again with `probe reclassify`).")
    else:
        out.append(f"{verdicts} of the {_n(n, 'measurement')} carry a verdict, each a signed verdict record; "
                   f"{f.without_verdict} carry none here (their verdicts were reached before verdicts were signed; "
                   "`probe reclassify` signs new ones).")
    return out


def span_sentence(f: BundleFacts) -> str:
    if not f.first:
        return ""
    if f.first[:16] == f.last[:16]:
        return f"Taken on {human_time(f.first)}, by the probe computer's clock."
    return f"Taken between {human_time(f.first)} and {human_time(f.last)}, by the probe computer's clock."


def third_party_sentence(f: BundleFacts) -> str:
    if not f.third_party:
        return "It holds no third-party measurements."
    return (f"It also carries {_n(f.third_party, 'measurement')} by OONI (third_party/ooni.jsonl): OONI's, as "
            "OONI published them, not taken or signed by this probe.")


def retention_sentence(f: BundleFacts) -> str:
    if f.pruned_items < 0:
        return ""
    if f.pruned_items == 0:
        return "Retention deleted none of the raw data (pages, certificates, DNS replies) these measurements cite."
    return (f"Retention deleted {_n(f.pruned_items, 'raw item')} (pages, certificates or DNS replies) cited by "
            f"{_n(f.pruned_measurements, 'measurement')} before this export; their SHA-256 hashes remain, so the "
            "records still verify, but those bytes cannot be shown.")


def all_sentences(f: BundleFacts) -> list[str]:
    return [s for s in (*signing_sentences(f), span_sentence(f), third_party_sentence(f), retention_sentence(f)) if s]
