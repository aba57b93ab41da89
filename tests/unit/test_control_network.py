"""A helper's `network` answer is checked before the probe signs it into every measurement: sound
answers are taken, broken or hostile ones are refused with a fixed reason that never echoes them, and
the probe's own database still decides first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from probe.control.network import MAX_NAME_CHARS, network_of, parse_network
from probe.identity import AsnDatabase
from probe.identity.identifier import NetworkIdentifier
from probe.identity.model import NetworkIdentity

KT = {"probe_asn": "AS9198", "probe_cc": "KZ", "probe_network_name": "JSC Kazakhtelecom"}
KT_IDENTITY = NetworkIdentity(asn="AS9198", cc="KZ", name="JSC Kazakhtelecom", known=True)
OWN = ["203.0.113.7", "2001:db8::7"]


@pytest.mark.parametrize("answer", [
    KT,
    {**KT, "probe_asn": 9198},
    {**KT, "probe_cc": "kz", "probe_asn": "as9198"},
    {**KT, "probe_network_name": "  JSC Kazakhtelecom "},
    {**KT, "extra": "ignored, never stored"},
])
def test_a_sound_answer_is_taken(answer: dict[str, Any]) -> None:
    assert parse_network(answer, own=OWN) == (KT_IDENTITY, None)


def test_no_network_is_no_problem() -> None:
    assert parse_network(None, own=OWN) == (None, None)  # a helper without a database


@pytest.mark.parametrize(("answer", "reason"), [
    ("AS9198", "network is not an object"),
    ([KT], "network is not an object"),
    ({**KT, "probe_asn": None}, "probe_asn is neither"),
    ({**KT, "probe_asn": True}, "probe_asn is neither"),
    ({**KT, "probe_asn": 9198.0}, "probe_asn is neither"),
    ({**KT, "probe_asn": "AS-9198"}, "probe_asn is neither"),
    ({**KT, "probe_asn": "AS" + "9" * 400}, "probe_asn is neither"),
    ({**KT, "probe_asn": "AS٩١٩٨"}, "probe_asn is neither"),  # Arabic-Indic digits: isdigit() but not ASCII
    ({**KT, "probe_asn": 0}, "outside the range"),
    ({**KT, "probe_asn": -9198}, "outside the range"),
    ({**KT, "probe_asn": 4_294_967_295}, "outside the range"),
    ({**KT, "probe_asn": 2**64}, "outside the range"),
    ({**KT, "probe_asn": "AS23456"}, "outside the range"),
    ({**KT, "probe_cc": "KAZ"}, "two-letter country code"),
    ({**KT, "probe_cc": 7}, "two-letter country code"),
    ({**KT, "probe_cc": "К1"}, "two-letter country code"),
    ({**KT, "probe_cc": "ҚЗ"}, "two-letter country code"),  # letters, but not ISO 3166's
    ({**KT, "probe_network_name": 9198}, "not text"),
    ({**KT, "probe_network_name": "x" * (MAX_NAME_CHARS + 1)}, f"over {MAX_NAME_CHARS} characters"),
    ({**KT, "probe_network_name": "JSC Kazakhtelecom\n[ok] forged line"}, "control"),
    ({**KT, "probe_network_name": "JSC\x1b[31mKazakhtelecom"}, "control"),
    ({**KT, "probe_network_name": "JSC\u202eKazakhtelecom"}, "control"),  # bidi override: a format character
    ({**KT, "probe_network_name": "Kazakhtelecom 203.0.113.7"}, "contains an IP address"),
    ({**KT, "probe_network_name": "Kazakhtelecom 198.51.100.1"}, "contains an IP address"),
    ({**KT, "probe_network_name": "Kazakhtelecom [2001:db8::7]"}, "contains an IP address"),
    ({**KT, "probe_network_name": "Kazakhtelecom 3405803783"}, "the probe's address"),  # 203.0.113.7 as a number
    ({**KT, "probe_network_name": "Kazakhtelecom cb007107"}, "the probe's address"),  # and in hex
    ({**KT, "probe_asn": 3405803783}, "the probe's address as a number"),
])
def test_a_broken_or_hostile_answer_is_refused_without_echoing_it(answer: Any, reason: str) -> None:
    found, problem = parse_network(answer, own=OWN)
    assert found is None and problem is not None and reason in problem
    assert "203.0.113" not in problem and "forged" not in problem and len(problem) < 80


def test_the_helper_sends_what_the_probe_accepts() -> None:
    assert parse_network(network_of(KT_IDENTITY), own=OWN) == (KT_IDENTITY, None)
    assert network_of(NetworkIdentity(asn="AS0", cc="ZZ", name="", known=False)) is None


def _identifier(tmp_path: Path, rows: str | None) -> NetworkIdentifier:
    if rows is None:
        return NetworkIdentifier(database=AsnDatabase.open(None))
    path = tmp_path / "asn.tsv"
    path.write_text(rows, encoding="utf-8")
    return NetworkIdentifier(database=AsnDatabase.open(path))


def test_the_helper_names_the_network_when_the_probe_has_no_database(tmp_path: Path) -> None:
    identify = _identifier(tmp_path, None)
    identify.learn([("https://h/", "203.0.113.7", KT_IDENTITY, None)])
    network = identify("203.0.113.7")
    assert (network.probe_asn, network.probe_cc, network.probe_network_name) == ("AS9198", "KZ", "JSC Kazakhtelecom")
    assert network.network_source == "helper" and network.network_problem is None
    assert identify("203.0.113.99").network_source == "helper"  # a NAT pool's other address: one network known
    assert "203.0.113" not in network.model_dump_json()


def test_the_probes_own_database_overrides_the_helper(tmp_path: Path) -> None:
    identify = _identifier(tmp_path, "203.0.113.0\t203.0.113.255\t64501\tNL\tLOCAL-AS\n")
    identify.learn([("https://h/", "203.0.113.7", KT_IDENTITY, None)])
    network = identify("203.0.113.7")
    assert (network.probe_asn, network.network_source) == ("AS64501", "asn_db")


def test_a_refused_answer_is_recorded_and_the_network_stays_unknown(tmp_path: Path) -> None:
    identify = _identifier(tmp_path, None)
    identify.learn([("https://h/", "203.0.113.7", None, "probe_asn is outside the range of real AS numbers")])
    network = identify("203.0.113.7")
    assert (network.probe_asn, network.probe_cc, network.network_source) == ("AS0", "ZZ", None)
    assert network.network_problem == "probe_asn is outside the range of real AS numbers"
    assert identify.problems == ["https://h/: probe_asn is outside the range of real AS numbers"]
    assert not identify.helper_named_a_network


def test_helpers_that_disagree_name_only_the_addresses_they_saw(tmp_path: Path) -> None:
    other = NetworkIdentity(asn="AS21299", cc="KZ", name="Kar-Tel LLC", known=True)
    identify = _identifier(tmp_path, None)
    identify.learn([("https://h/", "203.0.113.7", KT_IDENTITY, None), ("https://h/", "2001:db8::7", other, None)])
    assert identify("2001:db8::7").probe_asn == "AS21299"
    assert identify("198.51.100.9").network_source is None  # a third address: which of the two? neither


def test_a_measurement_without_its_own_answer_takes_the_network_the_helpers_named_before_the_run(
        tmp_path: Path) -> None:
    identify = _identifier(tmp_path, None)
    assert identify(None).probe_asn == "AS0"  # nothing learned yet: unknown, not a guess
    identify.learn([("https://h/", "203.0.113.7", KT_IDENTITY, None), ("https://h/", "2001:db8::7", KT_IDENTITY, None)])
    network = identify(None)
    assert (network.probe_asn, network.network_source) == ("AS9198", "helper")


def test_no_network_is_guessed_when_the_addresses_seen_before_the_run_disagree(tmp_path: Path) -> None:
    other = NetworkIdentity(asn="AS21299", cc="KZ", name="Kar-Tel LLC", known=True)
    identify = _identifier(tmp_path, None)
    identify.learn([("https://h/", "203.0.113.7", KT_IDENTITY, None), ("https://h/", "2001:db8::7", other, None)])
    assert (identify(None).probe_asn, identify(None).network_source) == ("AS0", None)
    only_db = _identifier(tmp_path, "203.0.113.0\t203.0.113.255\t64501\tNL\tLOCAL-AS\n")
    only_db.learn([("https://h/", "203.0.113.7", None, None)])  # a helper without a database; ours knows it
    assert (only_db(None).probe_asn, only_db(None).network_source) == ("AS64501", "asn_db")
