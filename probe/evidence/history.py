"""The history mark: a site that was reachable and then became unavailable everywhere (issue 16).

From outside, a takedown at the host or the registry looks exactly like this: `ok`, then `down` for
everyone, the control included. Given each URL's verdicts in time order, `history_marks` finds the
URLs whose latest verdicts are all "unavailable everywhere" (`down`, `site.takedown`, `dns.takedown`)
and that were `ok` before that, and says when: reachable until the last `ok`, unavailable since the
first verdict of that run, with both measurements' ids. `inconclusive` and unclassified measurements
say nothing either way and are skipped. A site that came back (`ok` again) has no mark: down for a day
is not a takedown. The mark is for review: it never claims censorship, and only a takedown label
(a fingerprint, a registry status) says why. Pure: no store, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from probe.i18n import _, using

UNAVAILABLE_EVERYWHERE = frozenset({"down", "site.takedown", "dns.takedown"})
_SILENT = frozenset({"inconclusive", None})


@dataclass(frozen=True)
class HistoryPoint:
    url: str
    time: str  # test_start_time, UTC ISO-8601
    measurement_id: str
    label: str | None  # None: not classified


@dataclass(frozen=True)
class HistoryMark:
    url: str
    reachable_until: str
    reachable_id: str
    unavailable_since: str
    unavailable_id: str
    labels: tuple[str, ...]  # the distinct labels of the unavailable run, in order of first appearance

    @property
    def explained(self) -> bool:
        """A takedown label (a fingerprint or a registry status) says why; otherwise nothing does."""
        return any(label != "down" for label in self.labels)

    def sentence(self) -> str:
        """The mark in words, in the current language (the report's); `to_json` keeps it English."""
        head = _("reachable until {until}, unavailable everywhere since {since}").format(
            until=_day(self.reachable_until), since=_day(self.unavailable_since))
        if self.explained:
            why = ", ".join(label for label in self.labels if label != "down")
            return _("{mark} ({labels}: see that verdict's fingerprint or registry status)").format(mark=head,
                                                                                                   labels=why)
        return _("{mark}: for review. The control fails too, so this is no blocking by the network; it is what a "
                 "takedown at the host or registry looks like, and also what a site that is simply down looks "
                 "like. Nothing here says which.").format(mark=head)

    def to_json(self) -> dict[str, object]:
        with using("en"):  # data, read by programs: the same words whatever language the CLI speaks
            note = self.sentence()
        return {"reachable_until": self.reachable_until, "reachable_measurement": self.reachable_id,
                "unavailable_since": self.unavailable_since, "unavailable_measurement": self.unavailable_id,
                "labels": list(self.labels), "explained": self.explained, "note": note}


def _day(iso: str) -> str:
    """"2026-11-26T23:20:05.123456Z" -> "2026-11-26 23:20 UTC" (a mark is read by people)."""
    return f"{iso[:10]} {iso[11:16]} UTC" if len(iso) >= 16 else iso


def history_marks(points: Iterable[HistoryPoint]) -> dict[str, HistoryMark]:
    """URL -> its mark, for the URLs that have one (points may come in any order)."""
    by_url: dict[str, list[HistoryPoint]] = {}
    for p in points:
        if p.label not in _SILENT:
            by_url.setdefault(p.url, []).append(p)
    marks: dict[str, HistoryMark] = {}
    for url, seq in by_url.items():
        seq.sort(key=lambda p: p.time)
        i = len(seq)
        while i > 0 and seq[i - 1].label in UNAVAILABLE_EVERYWHERE:
            i -= 1
        if i == len(seq) or i == 0 or seq[i - 1].label != "ok":
            continue  # still reachable, never seen reachable, or something else (blocked) came between
        run = seq[i:]
        labels = tuple(dict.fromkeys(str(p.label) for p in run))
        marks[url] = HistoryMark(url=url, reachable_until=seq[i - 1].time, reachable_id=seq[i - 1].measurement_id,
                                 unavailable_since=run[0].time, unavailable_id=run[0].measurement_id, labels=labels)
    return marks
