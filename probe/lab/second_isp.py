"""The lab's second ISP (clientb ── ispb ── inet): its resolver, censor rules and middlebox.

Another network with another AS number (Kar-Tel "Beeline", AS21299, in the lab's IP-to-ASN data)
and a censor policy of its own, so two probes measure the same sites and see different techniques.
Built only when `Lab.up(second_isp=…)` asks for it; the one-ISP lab is unchanged. Its files live in
`<state>/ispb/`. Its network conditions are the defaults (no NAT, delay or loss), and a DNS lie
pointing at "blockpage" names the first ISP's blockpage server. This module renders configuration
and lists servers; `topology.build_second_isp` makes the namespaces and links, and `Lab` starts
and removes everything.
"""

from __future__ import annotations

from pathlib import Path

from probe.lab import addressing as A
from probe.lab import censor, dns
from probe.lab.netns import iptables_restore
from probe.lab.scenario import Censor, Network
from probe.lab.servers import Server, file_ready, python_module, socket_ready
from probe.lab.sites import SitePlan
from probe.lab.topology import Names


def state_dir(state: Path) -> Path:
    return state / "ispb"


def write_configs(state: Path, plan: SitePlan, censors: list[Censor], rogue: dict[str, Path]) -> None:
    s = state_dir(state)
    for sub in ("log", "dnsmasq", "middlebox"):
        (s / sub).mkdir(parents=True, exist_ok=True)
    (s / "dnsmasq" / "dnsmasq.conf").write_text(
        dns.dnsmasq_conf(s, plan, censors, listen=(A.B_ISP_IN_V4, A.B_ISP_IN_V6)), encoding="utf-8")
    censor.write_middlebox_config(s / "middlebox.json", censor.middlebox_config(
        s, censors, Network(), rogue_chains=rogue, blockpage=(A.B_BLOCKPAGE_V4, A.B_BLOCKPAGE_V6)))


def apply_netfilter(names: Names, plan: SitePlan, censors: list[Censor]) -> None:
    for version in (4, 6):
        iptables_restore(names.ispb, censor.ruleset(version, plan, censors, Network()), ipv6=version == 6)


def servers(state: Path, names: Names) -> list[Server]:
    """The second ISP's resolver and middlebox (its blockpages, DNS stubs, TLS and HTTP boxes)."""
    s = state_dir(state)
    return [
        Server("dnsmasq-b", names.ispb, ["dnsmasq", "-k", "-C", str(s / "dnsmasq" / "dnsmasq.conf")],
               socket_ready(53, A.B_ISP_IN_V4, udp=True)),
        Server("middlebox-b", names.ispb, python_module("probe.lab.middlebox", str(s / "middlebox.json")),
               file_ready(s / "middlebox" / "middlebox.ready")),
    ]
