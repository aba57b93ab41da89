"""What classification depends on besides the measurement: bogon ranges, fingerprints, thresholds.

`ClassifyContext` is built once per run (`make_context`, which reads the fingerprint files) and passed
to every `classify` call, which then does no I/O. The thresholds are named here, with why they have
the values they have; `RULES_VERSION` changes whenever a decision rule changes, so a stored verdict
says which rules (and, through the fingerprint digest, which fingerprints) produced it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from probe.classify.fingerprints import Fingerprints, load_fingerprints
from probe.models.settings import MeasureSettings

# .1: site.takedown and dns.takedown (issue 16); .2: throttling of the page (hold, rate) against the
# decoy GET and the control (issue 14)
RULES_VERSION = "2026.12.2"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# IANA special-purpose and reserved ranges (RFC 6890 and successors): an answer in one of them is
# never a public web server. NAT64 (64:ff9b::/96, 64:ff9b:1::/48) and 6to4 (2002::/16) are left out
# on purpose: IPv6-only mobile networks synthesise NAT64 answers for every public name.
DEFAULT_BOGONS: tuple[str, ...] = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "100::/64", "2001:db8::/32", "3fff::/20", "fc00::/7",
    "fe80::/10", "fec0::/10", "ff00::/8",
)

# --- thresholds -------------------------------------------------------------------------------------
# The engine runs the decoy handshake only when the real one took longer than 1 s, so slower than
# that is the least a throttling claim can rest on.
THROTTLE_MIN_HANDSHAKE_S = 1.0
# Same address, same path, same moment: only the SNI differs. Jitter and server-side session setup
# explain a factor of 2-3, not 5; SNI throttling (Russia 2021, the lab's tbf) shows 10x and more.
THROTTLE_RATIO = 5.0
# ... and by at least this much in absolute terms, so a 0.05 s vs 0.25 s pair on a fast path is noise.
THROTTLE_MIN_EXTRA_S = 0.5
# A body smaller than this arrives in a few TCP windows: its time says more about the RTT than about
# a rate, so no rate is computed from it (the lab's 16-32 kbit/s pacing shows on 16 KiB in 4-8 s).
THROTTLE_RATE_MIN_BYTES = 16 * 1024
# OONI's web_connectivity calls two bodies the same length when the shorter is >= 70% of the longer;
# dynamic pages (ads, timestamps, CSRF tokens) vary by far less than 30%, blockpages by far more.
BODY_LENGTH_PROPORTION_MIN = 0.7
# Estimated Jaccard similarity of visible-text 4-shingles. Two fetches of a news front page seconds
# apart share well over 0.6; a blockpage and the page it replaces share ~0. 0.4 leaves room for
# per-visitor content (greetings, recommendations) without calling a different page the same.
SIMILARITY_MIN = 0.4
# Upstream's `confidence_no_fp` is a self-assessment from 0 to 10 of how unlikely a row is to match
# an innocent page: specific blockpage markup gets 10, vague words ("Access Denied") 5. A match calls
# a blockpage `confirmed` from this value up, `likely` below it (vague-word rows, scope vbw, always).
FINGERPRINT_CONFIRMED_MIN = 8
# Suspension, seizure and parking pages are short templates (a cPanel suspended page is ~1 KB, seizure
# banners a few KB plus an image). A takedown phrase inside anything longer is an article or a forum
# thread quoting it, so matches count only up to this size.
TAKEDOWN_PAGE_MAX_BYTES = 64 * 1024
# Takedown wording also turns up in short news items ("the domain has been seized", "the site was
# blocked"). A suspension template says a sentence or two (cPanel's ~30 visible words, seizure banners
# ~200); a news page says far more. So takedown rows count only on pages with at most this many
# visible words.
TAKEDOWN_MAX_WORDS = 300
# A takedown fingerprint below FINGERPRINT_CONFIRMED_MIN says `likely` from this value up (generic
# suspension wording), `possible` below it (parking pages: a takedown or a name that lapsed and was resold).
TAKEDOWN_LIKELY_MIN = 5
# Word-set overlap of two titles: equal titles give 1.0, a title with a changing date or counter
# still > 0.5, "Access denied" vs "Example News - Home" gives 0.
TITLE_SIMILARITY_MIN = 0.5


@dataclass(frozen=True)
class Thresholds:
    throttle_min_handshake_s: float = THROTTLE_MIN_HANDSHAKE_S
    throttle_ratio: float = THROTTLE_RATIO
    throttle_min_extra_s: float = THROTTLE_MIN_EXTRA_S
    throttle_rate_min_bytes: int = THROTTLE_RATE_MIN_BYTES
    body_length_proportion_min: float = BODY_LENGTH_PROPORTION_MIN
    similarity_min: float = SIMILARITY_MIN
    title_similarity_min: float = TITLE_SIMILARITY_MIN
    fingerprint_confirmed_min: int = FINGERPRINT_CONFIRMED_MIN
    takedown_page_max_bytes: int = TAKEDOWN_PAGE_MAX_BYTES
    takedown_likely_min: int = TAKEDOWN_LIKELY_MIN
    takedown_max_words: int = TAKEDOWN_MAX_WORDS


def parse_networks(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDR strings as networks; ValueError naming the bad one."""
    networks: list[IPNetwork] = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not an IP network: {cidr!r} ({exc})") from exc
    return tuple(networks)


@dataclass(frozen=True)
class ClassifyContext:
    bogons: tuple[IPNetwork, ...] = field(default_factory=lambda: parse_networks(DEFAULT_BOGONS))
    not_bogon: tuple[IPNetwork, ...] = ()  # ranges that count as public here (the lab's own)
    fingerprints: Fingerprints = field(default_factory=Fingerprints)
    thresholds: Thresholds = field(default_factory=Thresholds)
    rules_version: str = RULES_VERSION

    # Asked for every answer, endpoint and hop of every measurement (the same few addresses each
    # time), ~25 network tests each: the answers are kept, per context (its ranges decide them).
    _bogon_memo: dict[str, bool] = field(default_factory=dict, init=False, compare=False, repr=False)

    def is_bogon(self, ip: str) -> bool:
        known = self._bogon_memo.get(ip)
        if known is None:
            if len(self._bogon_memo) >= _BOGON_MEMO_SIZE:
                self._bogon_memo.clear()  # a long run's addresses: start over rather than grow
            known = self._bogon_memo[ip] = _is_bogon(ip, self.bogons, self.not_bogon)
        return known


_BOGON_MEMO_SIZE = 8192


def _is_bogon(ip: str, bogons: tuple[IPNetwork, ...], not_bogon: tuple[IPNetwork, ...]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped  # ::ffff:a.b.c.d is a.b.c.d: judge the IPv4 address it carries
    if any(addr in net for net in not_bogon if net.version == addr.version):
        return False
    return any(addr in net for net in bogons if net.version == addr.version)


def build_context(*, fingerprints: Fingerprints, not_bogon: Iterable[str] = (),
                  thresholds: Thresholds | None = None) -> ClassifyContext:
    """A context with the default bogons minus `not_bogon`; rules_version names the fingerprint set."""
    version = RULES_VERSION + (f"+fp.{fingerprints.digest[:12]}" if fingerprints.digest else "")
    return ClassifyContext(not_bogon=parse_networks(not_bogon), fingerprints=fingerprints,
                           thresholds=thresholds or Thresholds(), rules_version=version)


def make_context(settings: MeasureSettings) -> ClassifyContext:
    """The context for a run: reads the fingerprint files (`settings.fingerprints_dir`, or the shipped ones).

    Raises ValueError for a bad `not_bogon` CIDR or fingerprint file, FileNotFoundError for a missing folder.
    """
    return build_context(fingerprints=load_fingerprints(settings.fingerprints_dir),
                         not_bogon=settings.not_bogon)
