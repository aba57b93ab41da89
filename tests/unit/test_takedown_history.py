"""Reading registry answers (pure) and the history mark (reachable, then unavailable everywhere)."""

from __future__ import annotations

import pytest

from probe.evidence.history import HistoryPoint, history_marks
from probe.net.registry_text import MAX_STATUSES, parse_rdap, parse_whois

URL = "https://selftanu.kz/"


def _points(*labels: str | None, url: str = URL) -> list[HistoryPoint]:
    return [HistoryPoint(url=url, time=f"2026-02-{10 + i:02d}T08:00:00.000000Z", measurement_id=f"m{i}",
                         label=label) for i, label in enumerate(labels)]


def test_reachable_then_down_everywhere_is_marked_for_review() -> None:
    marks = history_marks(_points("ok", "ok", "down", "inconclusive", "down"))
    mark = marks[URL]
    assert (mark.reachable_id, mark.unavailable_id) == ("m1", "m2")
    assert mark.sentence().startswith("reachable until 2026-02-11 08:00 UTC, unavailable everywhere since "
                                      "2026-02-12 08:00 UTC: for review")
    assert not mark.explained and "Nothing here says which" in mark.sentence()


def test_a_takedown_label_explains_the_mark() -> None:
    mark = history_marks(_points("ok", "down", "dns.takedown"))[URL]
    assert mark.explained and mark.labels == ("down", "dns.takedown")
    assert "dns.takedown" in mark.sentence()


@pytest.mark.parametrize("labels", [
    ("ok", "down", "ok"),  # down for a day, then back: the trap
    ("down", "down"),  # never seen reachable
    ("ok", "tcp.reset", "down"),  # blocked came between: not "unavailable everywhere since"
    ("ok", "ok"),
    ("ok", "inconclusive", None),
])
def test_no_mark(labels: tuple[str | None, ...]) -> None:
    assert history_marks(_points(*labels)) == {}


def test_order_of_points_does_not_matter_and_urls_are_separate() -> None:
    points = _points("ok", "down") + _points("down", url="http://other.kz/")
    assert list(history_marks(reversed(points))) == [URL]


def test_kz_whois_status_block_with_continuation_lines() -> None:
    text = ("Domain Name............: selftanu.kz\n\nDomain status : clientHold - hold\n"
            "                clientTransferProhibited - transfer prohibited\n\nPrimary server.........: ns1\n")
    assert parse_whois(text) == (True, ["clientHold - hold", "clientTransferProhibited - transfer prohibited"])


def test_other_whois_spellings() -> None:
    assert parse_whois("Domain Status: clientHold https://icann.org/epp#clientHold\n")[1] == ["clientHold"]
    assert parse_whois("domain: X.RU\nstate: REGISTERED, NOT DELEGATED, VERIFIED\n")[1] == [
        "REGISTERED", "NOT DELEGATED", "VERIFIED"]
    assert parse_whois("*** Nothing found for this request.\n") == (False, [])
    assert parse_whois("\x00\xff garbage") == (None, [])


def test_hostile_answers_are_bounded() -> None:
    found, statuses = parse_whois("Domain status : " + "x" * 10_000 + "\n" + "   more\n" * 10_000)
    assert found is True and len(statuses) == MAX_STATUSES and max(map(len, statuses)) <= 200
    assert parse_rdap(b'{"status": ["x"]}', status_code=500) == (None, [])
    assert parse_rdap(b"null", status_code=200) == (None, [])
