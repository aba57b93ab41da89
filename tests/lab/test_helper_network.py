"""A volunteer needs only the helper's URL: the lab's helper has the lab's IP-to-ASN database and names
the probe's network, so a run without --asn-db records the lab ISP's ASN, country and name (never the
address), says the helper named it, and no longer warns about a missing database."""

from __future__ import annotations

import json
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import pytest

from probe.lab import addressing as A
from probe.lab.lab import Lab

pytestmark = pytest.mark.lab


def _without_asn_db(args: list[str]) -> list[str]:
    at = args.index("--asn-db")
    return args[:at] + args[at + 2:]


def test_a_run_without_a_database_records_the_network_the_helper_names(lab: Lab, tmp_path: Path) -> None:
    lab.up(bulk_hosts=["selftanu.kz", "who.int"])
    store = tmp_path / "s.sqlite"
    args = _without_asn_db(lab.probe_args())
    assert "--asn-db" not in args
    proc = lab.client_exec([sys.executable, "-m", "probe", "run", *args, "--store", str(store),
                            "https://selftanu.kz/", "http://who.int/"], timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "IP-to-ASN" not in proc.stderr and "refused" not in proc.stderr, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == 2
    for line in lines:
        network = line["measurement"]["network"]
        assert (network["probe_asn"], network["probe_cc"], network["probe_network_name"]) == (
            "AS9198", "KZ", "JSC Kazakhtelecom")
        assert network["network_source"] == "helper" and network["network_problem"] is None
    with closing(sqlite3.connect(store)) as stored:
        records = [str(row[0]) for row in stored.execute("SELECT record FROM measurements")]
    assert len(records) == 2 and all('"probe_asn":"AS9198"' in r for r in records)
    assert not any(address in r for r in records for address in (A.CLIENT_V4, A.CLIENT_V6))
