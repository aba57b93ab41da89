"""`probe lab demo --hub`: two probes on two ISPs upload to a hub in the lab's internet; one bundle of both.

The lab is built with its second ISP. Kazakhtelecom (AS9198) censors by DNS tampering and an SNI
reset, Kar-Tel "Beeline" (AS21299) by IP blocking and an injected blockpage, on the same sites.
A hub (PostgreSQL from `TempPostgres`, `probe hub serve` on uvicorn) listens in the inet
namespace on a lab address. Each probe, with a key of its own, measures the same URLs with the real
`probe run`, joins with an invite token (`probe hub join`) and sends its measurements with `probe
upload`, all from its client namespace, as a volunteer would. Then the advocate's side: one bundle
of everything the hub holds, checked offline. The summary is read from that bundle (who signed
what, on which network, with which verdict), not from what the probes printed. Everything
(namespaces, hub, PostgreSQL, the probes' throwaway keys and stores) is removed at the end, also
after Ctrl-C or a failure; only the bundle stays. This module prints through `echo` and returns;
the CLI sets the exit status.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from probe.lab import addressing as A
from probe.lab.lab import Lab
from probe.lab.netns import require_root
from probe.lab.scenario import Censor
from probe.lab.servers import Server, python_module, socket_ready, start_all

URLS = ("https://selftanu.kz/", "https://who.int/", "http://who.int/")
HUB_URL = f"http://{A.HUB_V4}:{A.HUB_PORT}"
STEP_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class LabIsp:
    """One of the lab's two networks, the probe on it, and what that probe must find."""

    tag: str  # "a": the first ISP (namespace client), "b": the second (clientb)
    probe_name: str  # the probe's name on the hub
    asn: str
    network: str
    censors: tuple[Censor, ...]
    expect: dict[str, str]  # URL -> verdict label
    addresses: tuple[str, str]  # the probe's own (v4, v6): never in the bundle


ISPS = (
    LabIsp("a", "Lab Almaty (Kazakhtelecom)", f"AS{A.ISP_A_AS[0]}", A.ISP_A_AS[1],
           (Censor(action="dns_nxdomain", match="selftanu.kz"), Censor(action="tls_sni_reset", match="who.int")),
           {"https://selftanu.kz/": "dns.nxdomain", "https://who.int/": "tls.reset", "http://who.int/": "ok"},
           (A.CLIENT_V4, A.CLIENT_V6)),
    LabIsp("b", "Lab Astana (Beeline)", f"AS{A.ISP_B_AS[0]}", A.ISP_B_AS[1],
           (Censor(action="ip_reset", match="selftanu.kz"),
            Censor(action="http_blockpage", match="who.int", status=403)),
           {"https://selftanu.kz/": "tcp.refused", "https://who.int/": "ok", "http://who.int/": "http.blockpage"},
           (A.B_CLIENT_V4, A.B_CLIENT_V6)),
)


@dataclass
class ProbeSeen:
    """One probe as the bundle shows it."""

    name: str
    key_fingerprint: str
    verified: bool
    networks: set[str] = field(default_factory=set)  # "AS9198 JSC Kazakhtelecom"
    verdicts: dict[str, str] = field(default_factory=dict)  # URL -> label (blocking)
    labels: dict[str, str] = field(default_factory=dict)  # URL -> label


@dataclass
class HubDemoResult:
    bundle: Path
    probes: list[ProbeSeen] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # each mismatch or failure, one line
    hub_links: dict[str, int] = field(default_factory=dict)  # key fingerprint -> links the hub stored

    @property
    def ok(self) -> bool:
        return not self.problems and len(self.probes) == len(ISPS)


def run_hub_demo(lab: Lab, *, bundle: Path, echo: Callable[[str], None]) -> HubDemoResult:
    """Build, measure, enrol, upload, export, verify, summarise; tear everything down whatever happens.

    Steps that wait on other processes overlap (this runs in CI): PostgreSQL's initdb with the lab's
    build; the hub's start and each probe's `probe hub join` with the probes' runs (the store exists
    before either, as `probe init` leaves it, so the two only append to it).
    """
    require_root()
    result = HubDemoResult(bundle=bundle)
    work = Path(tempfile.mkdtemp(prefix="probe-hubdemo-"))
    pool = ThreadPoolExecutor(max_workers=2 * len(ISPS) + 1)  # the joins wait for the hub: room for all
    database: Future[tuple[Any, str]] | None = None
    try:
        echo("Building the lab with two ISPs: Kazakhtelecom (AS9198) and Kar-Tel \"Beeline\" (AS21299)…")
        database = pool.submit(_start_postgres)
        lab.up(None, bulk_hosts=sorted({u.split("/")[2] for u in URLS}), extra_censors=ISPS[0].censors,
               second_isp=ISPS[1].censors)
        dsn = database.result()[1]
        echo(f"Starting the hub (PostgreSQL + `probe hub serve`) in the lab's internet at {HUB_URL}; "
             "each probe measures the same URLs through its own ISP and joins the hub with an invite token…")
        for isp in ISPS:
            _new_volunteer(isp, work)
        hub = pool.submit(_start_hub, lab, dsn=dsn, work=work)
        runs = [pool.submit(_measure, lab, isp, work=work) for isp in ISPS]
        joins = [pool.submit(_join, lab, isp, dsn=dsn, work=work, hub=hub) for isp in ISPS]
        hub.result()
        _note(result, [f.result() for f in runs])
        _note(result, [f.result() for f in joins])
        if not result.problems:
            echo("Each probe uploads (`probe upload`); then one bundle of both from the hub…")
            _note(result, list(pool.map(lambda isp: _upload(lab, isp, work=work), ISPS)))
        if not result.problems:
            _advocate(result, dsn=dsn)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        lab.down()
        if database is not None and not database.cancelled() and database.exception() is None:
            database.result()[0].stop()
        shutil.rmtree(work, ignore_errors=True)
    _report(result, echo)
    return result


def _note(result: HubDemoResult, problems: list[str | None]) -> None:
    for isp, problem in zip(ISPS, problems, strict=True):
        if problem:
            result.problems.append(f"{isp.probe_name}: {problem}")


def _start_postgres() -> tuple[Any, str]:
    """A throwaway cluster with the hub's database: (its TempPostgres, the connection string)."""
    from probe.hub.tempdb import TempPostgres

    pg = TempPostgres()
    try:
        pg.start()
        return pg, pg.create_database("probe_hub")
    except BaseException:
        pg.stop()
        raise


def _start_hub(lab: Lab, *, dsn: str, work: Path) -> None:
    argv = python_module("probe", "hub", "serve", "--database", dsn, "--listen", f"{A.HUB_V4}:{A.HUB_PORT}")
    # Its own (empty) configuration home: a [hub] section of the user's must not change the demo.
    hub = Server("hub", lab.names.inet, ["env", f"XDG_CONFIG_HOME={work / 'hub-config'}", *argv],
                 socket_ready(A.HUB_PORT, A.HUB_V4))
    start_all([hub], logs=lab.state / "log", pids=lab.state / "pids", timeout_s=60.0)


def _probe(isp: LabIsp, work: Path) -> tuple[list[str], Path, Path]:
    """The `probe` command for this ISP's volunteer (a configuration home of its own), key, store."""
    home = work / isp.tag
    return ([*_ENV, f"XDG_CONFIG_HOME={home / 'config'}", sys.executable, "-m", "probe"],
            home / "probe.key", home / "probe.sqlite")


_ENV = ["env", "-u", "PROBE_CONFIG", "-u", "PROBE_KEY"]


def _client_ns(lab: Lab, isp: LabIsp) -> str:
    return lab.names.client if isp.tag == "a" else lab.names.clientb


def _new_volunteer(isp: LabIsp, work: Path) -> None:
    """The volunteer's own key and an empty store, as `probe init` leaves them."""
    from probe.evidence.keys import generate_key
    from probe.store import Store

    _, key, store = _probe(isp, work)
    key.parent.mkdir()
    generate_key(key)
    with Store.open(store):
        pass


def _measure(lab: Lab, isp: LabIsp, *, work: Path) -> str | None:
    """`probe run` of the URLs, signed, from the ISP's client namespace."""
    probe, key, store = _probe(isp, work)
    argv = [*probe, "run", *lab.probe_args(isp_b=isp.tag == "b"), "--store", str(store), "--key", str(key), *URLS]
    failed = _ns_run(_client_ns(lab, isp), argv)
    return f"`probe run` failed: {failed}" if failed else None


def _join(lab: Lab, isp: LabIsp, *, dsn: str, work: Path, hub: Future[None]) -> str | None:
    """Once the hub is up: an invite (as `probe hub invite` on the hub host), then `probe hub join`
    from the ISP's client namespace."""
    import psycopg

    from probe.hub.enrol import create_invite

    hub.result()
    with psycopg.connect(dsn, autocommit=True) as conn:
        token = create_invite(conn, name=isp.probe_name)
    probe, key, store = _probe(isp, work)
    argv = [*probe, "hub", "join", HUB_URL, "--token", token, "--key", str(key), "--store", str(store)]
    failed = _ns_run(_client_ns(lab, isp), argv)
    return f"`probe hub join` failed: {failed}" if failed else None


def _upload(lab: Lab, isp: LabIsp, *, work: Path) -> str | None:
    probe, _, store = _probe(isp, work)
    failed = _ns_run(_client_ns(lab, isp), [*probe, "upload", "--store", str(store)])
    return f"`probe upload` failed: {failed}" if failed else None


def _ns_run(ns: str, argv: list[str]) -> str | None:
    import subprocess

    from probe.lab.netns import ns_argv

    try:
        proc = subprocess.run(ns_argv(ns, argv), capture_output=True, text=True, timeout=STEP_TIMEOUT_S,
                              check=False)
    except subprocess.TimeoutExpired:
        return f"no answer in {STEP_TIMEOUT_S:.0f} s"
    if proc.returncode != 0:
        return " ".join(proc.stderr.strip().splitlines()[-2:]) or f"exit {proc.returncode}"
    return None


def _advocate(result: HubDemoResult, *, dsn: str) -> None:
    """Export one bundle of everything on the hub, verify it offline, read it back."""
    import psycopg

    from probe.hub.enrol import list_probes

    with psycopg.connect(dsn, autocommit=True) as conn:  # `probe hub probes`
        result.hub_links = {row.key_fingerprint: row.links for row in list_probes(conn)}
    for check in export_and_verify(dsn, result.bundle):
        seen = ProbeSeen(name=check.name, key_fingerprint=check.key_fingerprint, verified=not check.failures)
        if check.failures:
            result.problems.append(f"{check.name}: the bundle does not verify: {check.failures[0]}")
        if check.links != result.hub_links.get(check.key_fingerprint):
            result.problems.append(f"{check.name}: the bundle holds {check.links} links, the hub "
                                   f"{result.hub_links.get(check.key_fingerprint)}")
        result.probes.append(seen)
    _read_bundle(result)
    raw = result.bundle.read_bytes()
    for isp in ISPS:
        probe = next((p for p in result.probes if p.name == isp.probe_name), None)
        if probe is None:
            result.problems.append(f"the bundle has no measurement from {isp.probe_name}")
            continue
        if probe.networks != {f"{isp.asn} {isp.network}"}:
            result.problems.append(f"{isp.probe_name}: network {sorted(probe.networks)}, expected {isp.asn}")
        for url, label in isp.expect.items():
            if probe.labels.get(url) != label:
                result.problems.append(f"{isp.probe_name}: {url}: expected {label}, got {probe.labels.get(url)}")
        if _mentions(result.bundle, raw, isp.addresses):
            result.problems.append(f"the bundle holds {isp.probe_name}'s own address")


# How an advocate checks the bundle offline (printed by the CLI, run as printed by the test).
VERIFY_ARGS = ("hub", "verify")


def export_and_verify(dsn: str, out: Path) -> list[Any]:
    """The one place this demo calls the hub's export and offline check (`probe hub export` / `verify`)."""
    import psycopg

    from probe.hub.export import ExportFilter, export_bundle, verify_bundle

    with psycopg.connect(dsn, autocommit=True) as conn:
        export_bundle(conn, out, filt=ExportFilter())
    return list(verify_bundle(out))


def _read_bundle(result: HubDemoResult) -> None:
    """Each probe's networks and verdicts, from the records its links carry."""
    by_fp = {p.key_fingerprint: p for p in result.probes}
    with zipfile.ZipFile(result.bundle) as zf:
        for fp, probe in by_fp.items():
            inputs: dict[str, str] = {}
            with zf.open(f"links/{fp.removeprefix('ed25519:')}.jsonl") as handle:
                for line in handle:
                    link = json.loads(line)
                    record = json.loads(link["record"])
                    if link["kind"] == "measurement":
                        inputs[record["measurement_id"]] = record["input"]
                        net = record.get("network") or {}
                        probe.networks.add(f"{net.get('probe_asn')} {net.get('probe_network_name')}")
                    elif link["kind"] == "verdict" and record.get("measurement_id") in inputs:
                        url, verdict = inputs[record["measurement_id"]], record.get("verdict") or {}
                        probe.labels[url] = label = str(verdict.get("label"))
                        blocking = verdict.get("blocking")
                        probe.verdicts[url] = label + (f"  blocking: {blocking}" if blocking else "")


def _mentions(bundle: Path, raw: bytes, addresses: tuple[str, ...]) -> bool:
    """Whether any of `addresses` is in the bundle, in its stored bytes or any member uncompressed."""
    with zipfile.ZipFile(bundle) as zf:
        texts = [raw, *(zf.read(name) for name in zf.namelist())]
    return any(a.encode() in t for a in addresses for t in texts)


def _report(result: HubDemoResult, echo: Callable[[str], None]) -> None:
    for probe in result.probes:
        isp = next((i for i in ISPS if i.probe_name == probe.name), None)
        state = "verifies" if probe.verified else "DOES NOT VERIFY"
        echo(f"\n■ {probe.name}  key {probe.key_fingerprint}  ({state})")
        echo(f"  network: {', '.join(sorted(probe.networks)) or '(none)'};  "
             f"links on the hub: {result.hub_links.get(probe.key_fingerprint, 0)}")
        for url in URLS:
            mark = "✓" if isp and probe.labels.get(url) == isp.expect.get(url) else "✗"
            echo(f"  {mark} {url:<22} {probe.verdicts.get(url, '(no verdict)')}")
    for problem in result.problems:
        echo(f"✗ {problem}")
    if result.ok:
        echo(f"\nOne bundle from the hub, {result.bundle}, holds both probes' signed measurements and "
             "verifies offline; neither probe's address is in it.")
