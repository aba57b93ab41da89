"""Reading the store: a limit keeps the newest matches (in chain order); count() counts what matches."""

from __future__ import annotations

from pathlib import Path

from probe.models import Measurement, ProbeNetwork, Verdict
from probe.store import EntryFilter, Store

BLOCKED = Verdict(label="tls.timeout", confidence="likely", blocking="http-failure", accessible=False, reasons=["r"])


def _measurement(i: int) -> Measurement:
    return Measurement(measurement_id=f"00000000-0000-4000-8000-{i:012d}", input="https://selftanu.kz/",
                       test_start_time=f"2026-11-{1 + i:02d}T10:00:00.000000Z", measurement_runtime_s=0.1,
                       software_version="test", network=ProbeNetwork(probe_asn="AS9198", probe_cc="KZ"))


def test_a_limit_keeps_the_newest_matches_in_chain_order(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        for i in range(7):
            store.append(_measurement(i), verdict=BLOCKED if i % 2 == 0 else None)
        def numbers(filt: EntryFilter) -> list[int]:
            entries = list(store.entries(filt))
            assert [e.seq for e in entries] == sorted(e.seq for e in entries)  # chain order
            return [int(e.measurement_id[-12:]) for e in entries]

        assert numbers(EntryFilter(limit=3)) == [4, 5, 6]
        blocked = list(store.entries(EntryFilter(verdict="blocked", limit=2)))
        assert [int(e.measurement_id[-12:]) for e in blocked] == [4, 6] and all(e.verdict == BLOCKED for e in blocked)
        assert numbers(EntryFilter(limit=100)) == list(range(7))
        assert store.count() == 7
        assert store.count(EntryFilter(verdict="blocked", limit=2)) == 4  # the limit does not cut the count
        assert store.count(EntryFilter(since="2026-11-06")) == 2
