"""The report says what retention deleted: how many raw items of which kinds, when, and what remains.

Real stores in tmp_path; the dates retention ran are set with plain SQL, as two daily runs would
have left them.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta
from pathlib import Path

from evidence_samples import START, blockpage, dns_nxdomain, mitm, tcp_timeout

from probe.evidence.report.page import ReportMeta, render_report
from probe.store import EntryFilter, Store

META = ReportMeta(generated_at="2026-12-12T10:00:00Z", software_version="0.1.0")
SECTION = "Raw data deleted to save space"


def _store(path: Path) -> None:
    """Blockpage (26 Nov), MITM (27 Nov), NXDOMAIN (28 Nov), the same blockpage (1 Dec), a timeout (2 Dec)."""
    makers = (blockpage, mitm, dns_nxdomain, blockpage, tcp_timeout)
    offsets = (0, 1, 2, 5, 6)
    with Store.open(path) as store:
        for i, (make, days) in enumerate(zip(makers, offsets, strict=True)):
            m, arts, v = make(i, START + timedelta(days=days))
            store.append(m, arts, v)


def _prune_on_two_days(path: Path) -> None:
    with Store.open(path) as store:
        assert store.prune_artifacts(older_than="9999-01-01") == 4
    conn = sqlite3.connect(path)
    conn.execute("UPDATE artifacts SET pruned_at='2026-12-03T04:00:00.000000Z' WHERE kind='x509_der'")
    conn.execute("UPDATE artifacts SET pruned_at='2026-12-10T04:00:00.000000Z' WHERE kind!='x509_der'")
    conn.commit()
    conn.close()


def _report(path: Path, filt: EntryFilter | None = None, *, lookup: bool = True) -> str:
    with Store.open(path, create=False) as store:
        pairs = ((e.measurement(), e.verdict) for e in store.entries(filt))
        html = render_report(pairs, META, artifact_info=store.artifact_info if lookup else None)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))  # the words a reader sees


def test_the_report_says_what_was_deleted_when_and_what_remains(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    _store(path)
    _prune_on_two_days(path)
    text = _report(path)
    assert SECTION in text
    assert ("deleted 4 such items that these measurements refer to (2 certificates, 1 DNS reply, "
            "1 downloaded page), between 3 Dec 2026 and 10 Dec 2026") in text
    assert "They came from 4 measurements taken between 26 Nov 2026 and 1 Dec 2026" in text
    assert "Those measurements, their results and the SHA-256 hash of every deleted item" in text
    assert "remain" in text and "no measurement was changed, added or removed" in text


def test_a_selection_counts_only_what_its_measurements_cite(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    _store(path)
    _prune_on_two_days(path)
    text = _report(path, EntryFilter(host="mail.kz"))
    assert "deleted 2 such items that these measurements refer to (2 certificates), on 3 Dec 2026" in text
    assert "They came from 1 measurement taken on 27 Nov 2026" in text


def test_bytes_stored_again_are_no_longer_reported_as_deleted(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    _store(path)
    _prune_on_two_days(path)
    with Store.open(path) as store:
        m, arts, v = blockpage(9, START + timedelta(days=8))
        store.append(m, arts, v)  # the same blockpage bytes: back in the store
    text = _report(path)
    assert "deleted 3 such items that these measurements refer to (2 certificates, 1 DNS reply)" in text
    assert "They came from 2 measurements taken between 27 Nov 2026 and 28 Nov 2026" in text


def test_nothing_is_said_when_nothing_was_deleted_or_nobody_asked(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    _store(path)
    assert SECTION not in _report(path)
    _prune_on_two_days(path)
    assert SECTION not in _report(path, lookup=False)  # a caller that passes no lookup: as before
    assert SECTION not in _report(path, EntryFilter(host="vpn.example.kz"))  # the timeout cites nothing
