"""`probe lab demo --hub` end to end: two probes on two ISPs of the lab upload to a hub in its internet.

Real everything: the lab's namespaces, both censors, PostgreSQL (initdb as nobody), `probe hub serve`
on uvicorn, `probe hub join` / `run` / `upload` in each client namespace, the hub's export. The
expected verdicts are written out here, from each ISP's policy, not taken from the demo module.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from labhelpers import lab_prefix, skip_unless_lab_possible

from probe.lab.hubdemo import VERIFY_ARGS, run_hub_demo
from probe.lab.lab import Lab
from probe.lab.netns import list_namespaces

# Kazakhtelecom: DNS tampering + SNI reset; Beeline: IP blocking + an injected blockpage.
EXPECTED = {
    ("AS9198", "JSC Kazakhtelecom"): {"https://selftanu.kz/": "dns.nxdomain", "https://who.int/": "tls.reset",
                                      "http://who.int/": "ok"},
    ("AS21299", "Kar-Tel LLC"): {"https://selftanu.kz/": "tcp.refused", "https://who.int/": "ok",
                                 "http://who.int/": "http.blockpage"},
}
PROBE_ADDRESSES = ("10.77.1.2", "fd77:1::2", "10.77.17.2", "fd77:5::2")


def test_two_probes_on_two_isps_one_bundle_that_verifies(tmp_path: Path) -> None:
    skip_unless_lab_possible()
    prefix = lab_prefix("h")
    bundle = tmp_path / "both.zip"
    lines: list[str] = []
    result = run_hub_demo(Lab(prefix=prefix), bundle=bundle, echo=lines.append)
    output = "\n".join(lines)
    assert result.ok, output
    assert list_namespaces(prefix) == [], "the demo left namespaces behind"

    # The bundle, read here on its own: per probe, its network and its verdict per URL.
    seen: dict[str, tuple[set[tuple[str, str]], dict[str, str]]] = {}
    with zipfile.ZipFile(bundle) as zf:
        probes = json.loads(zf.read("probes.json"))
        for probe in probes:
            networks: set[tuple[str, str]] = set()
            inputs: dict[str, str] = {}
            labels: dict[str, str] = {}
            for line in zf.read(f"links/{probe['key_fingerprint'].removeprefix('ed25519:')}.jsonl").splitlines():
                link = json.loads(line)
                record = json.loads(link["record"])
                if link["kind"] == "measurement":
                    networks.add((record["network"]["probe_asn"], record["network"]["probe_network_name"]))
                    inputs[record["measurement_id"]] = record["input"]
                elif link["kind"] == "verdict":
                    labels[inputs[record["measurement_id"]]] = record["verdict"]["label"]
            seen[probe["key_fingerprint"]] = (networks, labels)
        everything = [zf.read(name) for name in zf.namelist()]
    assert len(seen) == 2
    by_network = {next(iter(nets)): labels for nets, labels in seen.values() if len(nets) == 1}
    assert by_network == EXPECTED

    # The hub held both probes' measurements: every link it stored is in the bundle.
    assert set(result.hub_links) == set(seen)
    assert all(n >= 2 * len(EXPECTED[("AS9198", "JSC Kazakhtelecom")]) for n in result.hub_links.values())

    # Neither probe's own address is in the bundle (raw or any member, uncompressed).
    for address in PROBE_ADDRESSES:
        assert address.encode() not in bundle.read_bytes()
        assert not any(address.encode() in blob for blob in everything), address

    # The advocate's offline check, as the demo prints it: names both probes by fingerprint.
    verify = subprocess.run([sys.executable, "-m", "probe", *VERIFY_ARGS, str(bundle)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    for fp, links in result.hub_links.items():
        assert f"{fp}: {links} links verified" in verify.stdout
        assert fp in output
    assert "AS21299 Kar-Tel LLC" in output and "AS9198 JSC Kazakhtelecom" in output
