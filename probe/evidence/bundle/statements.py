"""What a bundle may say about itself: sentences computed from what it holds, never a fixed claim.

VERIFY.txt and report.html both state who signed the measurements, how many carry no signature or no
verdict, the time span, OONI's measurements riding along and what retention deleted. A bundle that
holds 7 measurements of which 6 are unsigned must say so, not "every measurement was signed". These
are pure functions over counts (`BundleFacts`); the exporter and `probe verify` (which renders the
report again) fill the counts from the records themselves. The sentences are in the current language
(probe.i18n); figures, keys and file names read the same in each.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from probe.evidence.explain import human_time
from probe.i18n import _, using


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


def _word(count: int) -> str:
    """The English noun after a count: a translation may leave {measurement_word} out (its grammar differs)."""
    return "measurement" if count == 1 else "measurements"


def signing_sentences(f: BundleFacts) -> list[str]:
    """Who signed the measurements and their verdicts, and what is unsigned (in the current language)."""
    n = f.measurements
    own = f.signers.get(f.exporting_key, 0)
    unsigned = f.signers.get("", 0)
    others = sorted((fp, c) for fp, c in f.signers.items() if fp not in ("", f.exporting_key))
    key = f.exporting_key
    if own == n:
        if n == 2:
            said = _("Both {count} measurements were signed when they were taken, by this bundle's key {key}.")
        elif n > 1:
            said = _("All {count} measurements were signed when they were taken, by this bundle's key {key}.")
        else:
            said = _("The measurement was signed when it was taken, by this bundle's key {key}.")
        out = [said.format(count=n, key=key)]
    else:
        parts = [_("{signed} of the {count} {measurement_word} were signed when they were taken, by this bundle's "
                   "key {key}").format(signed=own, count=n, measurement_word=_word(n), key=key)]
        parts += [_("{count} by another key, {key}").format(count=c, key=fp) for fp, c in others]
        if unsigned:
            parts.append((_("{count} was not signed at all (stored before the probe had a key: only their place in "
                            "the hash chain vouches for them)") if unsigned == 1 else
                          _("{count} were not signed at all (stored before the probe had a key: only their place in "
                            "the hash chain vouches for them)")).format(count=unsigned))
        out = ["; ".join(parts) + "."]
    verdicts = n - f.without_verdict
    if f.without_verdict == 0:
        out.append(_("Every verdict stated here is a signed verdict record (signed when the probe reached it, "
                     "or reached it again with `probe reclassify`)."))
    else:
        out.append(_("{verdicts} of the {count} {measurement_word} carry a verdict, each a signed verdict record; "
                     "{without} carry none here (their verdicts were reached before verdicts were signed; "
                     "`probe reclassify` signs new ones).").format(
            verdicts=verdicts, count=n, measurement_word=_word(n), without=f.without_verdict))
    return out


def span_sentence(f: BundleFacts) -> str:
    if not f.first:
        return ""
    if f.first[:16] == f.last[:16]:
        return _("Taken on {time}, by the probe computer's clock.").format(time=human_time(f.first))
    return _("Taken between {first} and {last}, by the probe computer's clock.").format(
        first=human_time(f.first), last=human_time(f.last))


def third_party_sentence(f: BundleFacts) -> str:
    if not f.third_party:
        return _("It holds no third-party measurements.")
    return _("It also carries {count} {measurement_word} by OONI (third_party/ooni.jsonl): OONI's, as OONI "
             "published them, not taken or signed by this probe.").format(
        count=f.third_party, measurement_word=_word(f.third_party))


def retention_sentence(f: BundleFacts) -> str:
    if f.pruned_items < 0:
        return ""
    if f.pruned_items == 0:
        return _("Retention deleted none of the raw data (pages, certificates, DNS replies) these measurements cite.")
    return _("Retention deleted {count} {items} (pages, certificates or DNS replies) cited by {measurements} "
             "{measurement_word} before this export; their SHA-256 hashes remain, so the records still verify, "
             "but those bytes cannot be shown.").format(
        count=f.pruned_items, items="raw item" if f.pruned_items == 1 else "raw items",
        measurements=f.pruned_measurements, measurement_word=_word(f.pruned_measurements))


def all_sentences(f: BundleFacts, *, lang: str = "en") -> list[str]:
    """Every statement, in `lang` (VERIFY.txt in each language of the bundle)."""
    with using(lang):
        said = (*signing_sentences(f), span_sentence(f), third_party_sentence(f), retention_sentence(f))
    return [s for s in said if s]
