"""`Lab`: build, drive and tear down one censorship lab (namespaces + servers + censor), by prefix.

    lab = Lab(prefix="plab")
    lab.up(scenario)                  # a clean lab for this scenario (tears down leftovers first)
    lab.client_exec(["python", ...])  # run something as the censored client
    lab.probe_args()                  # the `probe run` flags that point the probe at this lab
    lab.down()                        # nothing left: namespaces, /etc/netns dirs, processes, state

State lives in /run/probe-lab/<prefix>/ (configs, certificates, logs, pids); `down` needs none of it
(it finds namespaces by prefix), so it also cleans up after a SIGKILLed run. Needs root.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from probe.errors import LabError
from probe.lab import addressing as A
from probe.lab import censor, dns, pki, registry, second_isp, topology, web
from probe.lab.netns import delete_namespace as _delete_namespace
from probe.lab.netns import (
    iptables_restore,
    kill_pids,
    list_namespaces,
    namespace_pids,
    ns_argv,
    processes_naming,
    require_root,
)
from probe.lab.scenario import Censor, Network, Scenario
from probe.lab.servers import Server, file_ready, python_module, socket_ready, start_all
from probe.lab.sites import DECOY_HOST, SitePlan, plan_for

STATE_ROOT = Path("/run/probe-lab")
BUILD_LOCK_WAIT_S = 120.0  # a big benchmark lab takes about a minute to build
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,9}$")


@dataclass(frozen=True)
class LabStatus:
    prefix: str
    namespaces: list[str]
    processes: dict[str, int]  # namespace -> number of processes in it
    scenario: str | None

    @property
    def up(self) -> bool:
        return bool(self.namespaces)


class Lab:
    def __init__(self, *, prefix: str | None = None, state_root: Path = STATE_ROOT) -> None:
        self.prefix = prefix or os.environ.get("PROBE_LAB_PREFIX", "plab")
        if not _PREFIX_RE.match(self.prefix):
            raise LabError(f"lab prefix {self.prefix!r} is not valid",
                           hint="1-10 lower-case letters and digits, starting with a letter")
        self.names = topology.Names(self.prefix)
        self.state = state_root / self.prefix
        self.plan = SitePlan()
        self._lock_handle: Any = None  # the build lock while this instance holds it

    # -- paths and flags the probe needs -------------------------------------------------------

    @property
    def ca_path(self) -> Path:
        return self.state / "ca" / "labca.pem"

    @property
    def asn_db_path(self) -> Path:
        return self.state / "asn.tsv"

    @property
    def control_url(self) -> str:
        return f"https://{A.CONTROL_V4}/"

    @property
    def decoy_sni(self) -> str:
        return DECOY_HOST

    def probe_args(self, *, timeouts: Mapping[str, float] | None = None, ipv6_resolver: bool = False,
                   isp_b: bool = False) -> list[str]:
        """`probe run` flags for this lab: everything except the URLs and --store.

        The probe keeps its own (production) timeouts unless `timeouts` overrides steps by name
        ({"tls": 3.0}): what the lab proves must hold for the settings volunteers run. `isp_b`: for a
        probe in the second ISP's client namespace (its own resolver).
        """
        if isp_b:
            resolver = A.B_ISP_IN_V6 if ipv6_resolver else A.B_ISP_IN_V4
        else:
            resolver = A.ISP_IN_V6 if ipv6_resolver else A.ISP_IN_V4
        args = ["--json", "--no-progress", "--resolver", resolver, "--control", self.control_url,
                "--ca-bundle", str(self.ca_path), "--asn-db", str(self.asn_db_path)]
        for net in A.not_bogon_ranges():
            args += ["--not-bogon", net]
        for address in (f"{A.PUBLIC_RESOLVER_V4}:53", f"{A.site_v4(0)}:443"):  # the lab's "well-known" set
            args += ["--well-known", address]
        for step, seconds in (timeouts or {}).items():
            args += [f"--timeout-{step}", f"{seconds:g}"]
        return args + ["--decoy-sni", self.decoy_sni] + registry.registry_args()

    # -- running things inside ---------------------------------------------------------------

    def client_argv(self, argv: Sequence[str]) -> list[str]:
        return ns_argv(self.names.client, argv)

    def client_exec(self, argv: Sequence[str], *, timeout: float | None = None,
                    input_text: str | None = None, env: dict[str, str] | None = None
                    ) -> subprocess.CompletedProcess[str]:
        """Run `argv` as the censored client (inside the client namespace); never raises on exit status."""
        return subprocess.run(self.client_argv(argv), input=input_text, capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, **(env or {})}, check=False)

    def client_popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[str]:
        return subprocess.Popen(self.client_argv(argv), text=True, **kwargs)

    # -- lifecycle ----------------------------------------------------------------------------

    def up(self, scenario: Scenario | None = None, *, bulk_hosts: Sequence[str] = (),
           extra_censors: Sequence[Censor] = (), network: Network | None = None,
           nginx_workers: int = 1, second_isp: Sequence[Censor] | None = None) -> None:
        """Build a clean lab for `scenario` (or just the decoy and `bulk_hosts`).

        `extra_censors` (e.g. tls_sni_drop / ip_drop for some bulk hosts) add to the scenario's.
        `second_isp` (its censors, maybe none) also builds the second ISP (`second_isp.py`).
        """
        require_root()
        with self._build_lock():
            self._up(scenario, bulk_hosts=bulk_hosts, extra_censors=extra_censors, network=network,
                     nginx_workers=nginx_workers, censors_b=None if second_isp is None else list(second_isp))

    def _up(self, scenario: Scenario | None, *, bulk_hosts: Sequence[str], extra_censors: Sequence[Censor],
            network: Network | None, nginx_workers: int, censors_b: list[Censor] | None) -> None:
        self.down()
        for sub in ("log", "pids", "ca", "certs", "www", "nsd", "unbound", "dnsmasq", "nginx/tmp",
                    "middlebox"):
            (self.state / sub).mkdir(parents=True, exist_ok=True)
        self.plan = plan_for(scenario)
        self.plan.add_bulk([h for h in bulk_hosts if h])
        censors = (scenario.censors() if scenario else []) + list(extra_censors)
        net = network or (scenario.network if scenario else Network())
        try:
            rogue = self._write_pki(censors + (censors_b or []))
            self._write_configs(censors, net, rogue)
            resolver = A.ISP_IN_V6 if net.ipv6_resolver else A.ISP_IN_V4
            topology.build(self.names, resolv_conf=topology.client_resolv_conf(resolver=resolver))
            self._apply_netfilter(censors, net)
            servers = self._servers(nginx_workers)
            if censors_b is not None:
                self.asn_db_path.write_text(A.asn_tsv(second_isp=True), encoding="utf-8")
                second_isp.write_configs(self.state, self.plan, censors_b, rogue)
                topology.build_second_isp(self.names, resolv_conf=topology.client_resolv_conf(
                    resolver=A.B_ISP_IN_V6 if net.ipv6_resolver else A.B_ISP_IN_V4))
                second_isp.apply_netfilter(self.names, self.plan, censors_b)
                servers += second_isp.servers(self.state, self.names)
            # nginx parses every site's certificate before it listens: ~1 s per 1,000 sites here.
            start_all(servers, logs=self.state / "log", pids=self.state / "pids",
                      timeout_s=10.0 + len(self.plan.sites) / 200)
        except BaseException:
            self.down()
            raise
        meta = {"prefix": self.prefix, "scenario": scenario.name if scenario else None,
                "sites": len(self.plan.sites)}
        (self.state / "state.json").write_text(json.dumps(meta), encoding="utf-8")

    def down(self) -> None:
        """Remove everything of this prefix: namespaces (with veths, rules, processes), dirs."""
        require_root()
        with self._build_lock():
            self._teardown()

    @contextlib.contextmanager
    def _build_lock(self) -> Iterator[None]:
        """Hold this prefix's build lock (re-entrant within this instance). The lock file lives as
        long as the lab: the last holder removes it when no lab state is left (after `down`, or an
        `up` that failed), so nothing stays behind.

        A builder killed by SIGKILL drops the lock at once, but a child it had forked and not yet
        exec'd still holds it; once exec'd, the child is an `ip …` naming our namespaces, which
        teardown finds and kills. Without the lock, such a child could create a namespace right
        after teardown listed them. Since the file may be removed by its holder, a lock taken on a
        file that is no longer at the path is worthless: retry on the new one.
        """
        if self._lock_handle is not None:
            yield
            return
        path = self.state.parent / f".{self.prefix}.lock"
        deadline = time.monotonic() + BUILD_LOCK_WAIT_S
        while True:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = path.open("a+", encoding="utf-8")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                if time.monotonic() > deadline:
                    raise LabError(f"another process is building or removing the lab {self.prefix!r}",
                                   hint="wait for it, or stop it and run `probe lab down`") from None
                time.sleep(0.02)
                continue
            with contextlib.suppress(FileNotFoundError):
                if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                    break
            handle.close()  # the holder before us removed it: lock the file now at the path
        self._lock_handle = handle
        try:
            yield
        finally:
            self._lock_handle = None
            if not self.state.exists():
                path.unlink(missing_ok=True)  # while still locked: a waiter then retries on a new file
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def _teardown(self) -> None:
        # Whatever a killed `lab up` left running outside the namespaces (an `ip netns add` in
        # flight, `ip netns exec` wrappers) goes first, or a namespace can appear after the listing.
        # Passes repeat until one finds nothing: a child exec'd during the first is caught by the next.
        for _ in range(5):
            orphans = processes_naming([*self.names.all(), str(self.state)])
            present = [ns for ns in list_namespaces(self.prefix) if ns in self.names.all()]
            if not orphans and not present:
                break
            if orphans:
                kill_pids(orphans)
            for ns in present:
                _delete_namespace(ns)
        for ns in self.names.all():  # /etc/netns leftovers whose namespace is already gone
            shutil.rmtree(Path("/etc/netns") / ns, ignore_errors=True)
        shutil.rmtree(self.state, ignore_errors=True)

    def status(self) -> LabStatus:
        present = [ns for ns in list_namespaces(self.prefix) if ns in self.names.all()]
        meta: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            meta = json.loads((self.state / "state.json").read_text(encoding="utf-8"))
        return LabStatus(prefix=self.prefix, namespaces=present,
                         processes={ns: len(namespace_pids(ns)) for ns in present},
                         scenario=meta.get("scenario"))

    # -- building blocks ----------------------------------------------------------------------

    def _write_pki(self, censors: list[Censor]) -> dict[str, Path]:
        ca = pki.make_ca("Probe Lab Root CA", org="Probe Lab")
        pki.write_pem(self.ca_path, ca.cert_pem(), private=False)
        key = pki.new_key()
        web.write_site_files(self.state, self.plan, ca=ca, bulk_key=key)
        (self.state / "certs" / "_registry.pem").write_bytes(
            pki.chain_pem(pki.make_leaf([A.REGISTRY_V4], issuer=ca, key=key)) + pki.key_pem(key))
        rogue: dict[str, Path] = {}
        for c in censors:
            if c.action == "tls_mitm" and c.issuer not in rogue:
                chain = pki.RogueChain.make(c.issuer)
                slug = re.sub(r"[^a-z0-9]+", "-", c.issuer.lower()).strip("-") or "rogue"
                pki.write_pem(self.state / "middlebox" / f"{slug}-root.pem", chain.root.cert_pem(),
                              private=False)
                rogue[c.issuer] = pki.write_pem(self.state / "middlebox" / f"{slug}-chain.pem",
                                                chain.to_pem())
        return rogue

    def _write_configs(self, censors: list[Censor], net: Network, rogue: dict[str, Path]) -> None:
        s = self.state
        (s / "nsd" / "root.zone").write_text(dns.root_zone(self.plan), encoding="utf-8")
        (s / "nsd" / "nsd.conf").write_text(dns.nsd_conf(s), encoding="utf-8")
        (s / "unbound" / "unbound.conf").write_text(dns.unbound_conf(s), encoding="utf-8")
        (s / "unbound" / "root.hints").write_text(dns.root_hints(), encoding="utf-8")
        (s / "dnsmasq" / "dnsmasq.conf").write_text(dns.dnsmasq_conf(s, self.plan, censors), encoding="utf-8")
        (s / "nginx" / "nginx.conf").write_text(web.nginx_conf(s, self.plan), encoding="utf-8")
        (s / "origin_app.json").write_text(web.origin_app_config(self.plan), encoding="utf-8")
        censor.write_middlebox_config(s / "middlebox.json",
                                      censor.middlebox_config(s, censors, net, rogue_chains=rogue))
        self.asn_db_path.write_text(A.asn_tsv(), encoding="utf-8")
        (s / "registry.json").write_text(registry.server_config(s, self.plan), encoding="utf-8")

    def _apply_netfilter(self, censors: list[Censor], net: Network) -> None:
        for version in (4, 6):
            iptables_restore(self.names.isp, censor.ruleset(version, self.plan, censors, net),
                             ipv6=version == 6)
            iptables_restore(self.names.inet, origin_ruleset(version, self.plan), ipv6=version == 6)

    def _servers(self, nginx_workers: int) -> list[Server]:
        s, n = self.state, self.names
        (s / "nginx" / "nginx.conf").write_text(web.nginx_conf(s, self.plan, workers=nginx_workers),
                                                encoding="utf-8")
        servers = [
            Server("nsd", n.inet, ["nsd", "-d", "-c", str(s / "nsd" / "nsd.conf")],
                   socket_ready(53, A.AUTH_DNS_V4, udp=True)),
            Server("unbound", n.inet, ["unbound", "-d", "-c", str(s / "unbound" / "unbound.conf")],
                   socket_ready(53, A.PUBLIC_RESOLVER_V4, udp=True)),
            Server("dnsmasq", n.isp, ["dnsmasq", "-k", "-C", str(s / "dnsmasq" / "dnsmasq.conf")],
                   socket_ready(53, A.ISP_IN_V4, udp=True)),
            Server("nginx", n.inet, ["nginx", "-c", str(s / "nginx" / "nginx.conf"),
                                     "-e", str(s / "log" / "nginx.log")], socket_ready(443)),
            Server("middlebox", n.isp, python_module("probe.lab.middlebox", str(s / "middlebox.json")),
                   file_ready(s / "middlebox" / "middlebox.ready")),
        ]
        if self.plan.special:
            servers.append(Server("origin_app", n.inet,
                                  python_module("probe.lab.origin_app", str(s / "origin_app.json")),
                                  socket_ready(web.ORIGIN_APP_PORT, "127.0.0.1")))
        servers.append(Server("registry", n.inet, python_module("probe.lab.registry_server", str(s / "registry.json")),
                              socket_ready(A.REGISTRY_RDAP_PORT, A.REGISTRY_V4)))
        servers.append(Server("control", n.ctl, self._control_argv(), socket_ready(443, A.CONTROL_V4)))
        return servers

    def _control_argv(self) -> list[str]:
        s = self.state
        argv = python_module("probe", "control", "serve",
                             "--listen", f"{A.CONTROL_V4}:443", "--listen", f"[{A.CONTROL_V6}]:443",
                             "--cert", str(s / "certs" / "_control.pem"),
                             "--key", str(s / "certs" / "_control.pem"),
                             "--ca-bundle", str(self.ca_path), "--resolver", A.PUBLIC_RESOLVER_V4,
                             "--asn-db", str(self.asn_db_path))  # it names the probe's network, as a real one can
        for net in A.LAB_RANGES:
            argv += ["--allow", str(net)]
        return argv + registry.registry_args()


def origin_ruleset(version: int, plan: SitePlan) -> str:
    """The inet namespace's rules: sites that are down, or do not serve http:// or https://."""
    rules: list[str] = []
    for site in plan.sites.values():
        o = site.origin
        ports = [p for p, on in ((80, o.http and o.up), (443, o.https and o.up)) if not on]
        for addr in site.addresses:
            if (":" in addr) != (version == 6):
                continue
            rules.extend(f"-A INPUT -d {addr} -p tcp --dport {p} -j REJECT --reject-with tcp-reset"
                         for p in ports)
    return "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" + \
        "\n".join(rules) + ("\n" if rules else "") + "COMMIT\n"
