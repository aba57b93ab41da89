"""The probe, unchanged, inside the lab's client namespace: every step observed where the censor acts,
and evidence that verifies and never contains the volunteer's address (an origin echoes it back)."""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labhelpers import lab_prefix, skip_unless_lab_possible

from probe.lab import addressing as A
from probe.lab.lab import Lab
from probe.lab.scenario import Censor, Expect, Origin, Scenario
from probe.store.own_addresses import OwnAddressMemory, memory_path

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    skip_unless_lab_possible()
    the_lab = Lab(prefix=lab_prefix("p"))
    try:
        yield the_lab
    finally:
        the_lab.down()


def _run(lab: Lab, store: Path, urls: list[str], env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    proc = lab.client_exec([sys.executable, "-m", "probe", "run", *lab.probe_args(), "--store", str(store), *urls],
                           timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_probe_run_json_observes_every_step_and_names_the_censors_failures(lab: Lab, tmp_path: Path) -> None:
    lab.up(bulk_hosts=["selftanu.kz", "who.int"],
           extra_censors=[Censor(action="tls_sni_drop", match="selftanu.kz"),
                          Censor(action="http_host_reset", match="who.int")])
    lines = {line["input"]: line for line in _run(lab, tmp_path / "s.sqlite", ["https://selftanu.kz/", "http://who.int/"])}
    selftanu = lines["https://selftanu.kz/"]["measurement"]
    assert {q["engine"] for q in selftanu["queries"]} == {"getaddrinfo", "udp"}
    assert all(q["failure"] is None for q in selftanu["queries"] if q["query_type"] in ("A", "ANY"))
    assert selftanu["tcp_connect"] and all(c["failure"] is None for c in selftanu["tcp_connect"])
    real = [h for h in selftanu["tls_handshakes"] if not h["is_decoy"]]
    decoy = [h for h in selftanu["tls_handshakes"] if h["is_decoy"]]
    assert real[0]["failure"] == "generic_timeout_error" and decoy and decoy[0]["failure"] is None
    assert selftanu["failed_operation"] == "tls_handshake" and selftanu["control"] is not None
    assert lines["https://selftanu.kz/"]["verdict"]["label"] == "tls.timeout"

    who = lines["http://who.int/"]["measurement"]
    assert who["queries"] and who["tcp_connect"][0]["failure"] is None
    assert who["requests"][0]["failure"] == "connection_reset"
    assert lines["http://who.int/"]["verdict"]["label"] == "http.reset"


def test_exported_evidence_verifies_and_never_contains_the_probe_address(lab: Lab, tmp_path: Path) -> None:
    echo = Scenario(name="echo_client_ip", url="http://who.int/", origin=Origin(echo_client_ip=True),
                    expect=Expect(verdict="ok"))
    lab.up(echo)
    store, key, bundle = tmp_path / "s.sqlite", tmp_path / "probe.key", tmp_path / "bundle.zip"
    env = {**os.environ, "PROBE_KEY": str(key)}
    init = lab.client_exec([sys.executable, "-m", "probe", "init", "--yes"], env=env, timeout=60)
    assert init.returncode == 0, init.stderr
    [line] = _run(lab, store, ["http://who.int/"], env=env)
    response = line["measurement"]["requests"][0]["response"]
    echoed = [h["value"] for h in response["headers"] if "scrubbed" in h["value"]]
    assert echoed, "the origin should have echoed the client address (now scrubbed)"
    # Remembered for later runs (whose control may be blocked), as keyed hashes only.
    memory = OwnAddressMemory.load(memory_path(store), key.with_name("own-addresses.key"))
    assert memory.knows(ipaddress.ip_address(A.CLIENT_V4))
    assert A.CLIENT_V4 not in memory_path(store).read_text(encoding="utf-8")
    assert "key" not in json.loads(memory_path(store).read_text(encoding="utf-8"))  # the key lives apart
    export = lab.client_exec([sys.executable, "-m", "probe", "export", "--store", str(store), "--out", str(bundle),
                              "--scrub-ip", A.CLIENT_V4, "--scrub-ip", A.CLIENT_V6], env=env, timeout=60)
    assert export.returncode == 0, export.stderr
    verify = lab.client_exec([sys.executable, "-m", "probe", "verify", str(bundle)], env=env, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    for address in (A.CLIENT_V4, A.CLIENT_V6):
        packed = ipaddress.ip_address(address).packed
        with zipfile.ZipFile(bundle) as zf:
            for name in zf.namelist():
                data = zf.read(name)
                assert address.encode() not in data, f"{address} in {name}"
                if name.endswith(".bin"):
                    assert packed not in data, f"{address} (packed) in {name}"
