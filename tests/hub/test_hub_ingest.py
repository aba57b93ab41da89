"""The ingest's paths through one batch (probe.hub.ingest): a batch that only extends the chain goes in
with one COPY; one that overlaps what is stored, repeats a link or forks falls back to sorting it out
link by link — and either way every link is stored once, gaps are found and forks refused."""

from __future__ import annotations

from typing import Any

from tests.hub.conftest import Volunteer
from tests.hub.test_hub_enrol_upload import batch_of, post
from tests.hub.test_hub_faults import enrol


def test_a_batch_overlapping_the_stored_chain_stores_only_its_new_links(make_hub: Any, volunteer: Volunteer) -> None:
    hub = make_hub()
    volunteer.measure(2)
    enrol(hub, volunteer)
    links = batch_of(volunteer)
    assert post(hub, links[:4]).json() == {"accepted": 4, "duplicates": 0, "gaps": 0, "clock_ahead": 0}
    answer = post(hub, links[2:])  # a retry that resends two stored links before the new ones
    assert answer.json() == {"accepted": len(links) - 4, "duplicates": 2, "gaps": 0, "clock_ahead": 0}
    repeated = post(hub, [*links, links[-1]])  # everything again, one link twice
    assert repeated.json() == {"accepted": 0, "duplicates": len(links) + 1, "gaps": 0, "clock_ahead": 0}
    rows = hub.sql("SELECT seq FROM links ORDER BY seq")
    assert [r[0] for r in rows] == [link.seq for link in links]
    assert hub.sql("SELECT count(*) FROM chain_events") == [(0,)]


def test_a_batch_that_extends_the_chain_across_a_gap_records_the_gap_once(make_hub: Any,
                                                                            volunteer: Volunteer) -> None:
    hub = make_hub()
    volunteer.measure(2)
    enrol(hub, volunteer)
    links = batch_of(volunteer)
    assert post(hub, links[:2]).json()["gaps"] == 0
    assert post(hub, links[4:]).json() == {"accepted": len(links) - 4, "duplicates": 0, "gaps": 1, "clock_ahead": 0}
    assert post(hub, links[4:]).json()["gaps"] == 0  # a replay of it: all duplicates, no second gap
    assert post(hub, links[2:4]).json() == {"accepted": 2, "duplicates": 0, "gaps": 0, "clock_ahead": 0}
    assert hub.sql("SELECT kind, resolved_at IS NOT NULL FROM chain_events") == [("gap", True)]
    latest = hub.sql("SELECT count(*) FROM latest")[0][0]
    assert latest >= 1
