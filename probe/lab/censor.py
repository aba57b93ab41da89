"""The ISP's censorship, rendered: iptables rulesets for the isp namespace and the middlebox config.

Netfilter does what it can (iptables syntax; the nft backend here has no string match):

    dns_drop          raw PREROUTING: queries carrying the name (wire format) are dropped
    dns_inject        raw PREROUTING: those queries go to NFQUEUE (the middlebox forges a reply)
    ip_drop/reset/reject   filter: to the site's addresses: DROP / RST to the SYN / ICMP admin-prohibited
    tls_sni_drop/reset     filter: client packets to :443 carrying the name (the ClientHello's SNI)
    http_host_drop/reset   filter: client packets to :80 carrying the name (the Host header)
    block_control     filter: everything to the control helper's addresses is dropped
    shutdown          filter: every client packet past the ISP is dropped, and (unless `dns_answers`)
                      the ISP resolver's queries upstream too: nothing beyond the ISP answers
    tls_mitm/throttle/sni_eof/reset_midstream, http_blockpage/redirect/host_eof   nat: REDIRECT client flows to the
                      middlebox (the *_eof actions need a FIN from the box: a REJECT can only reset)
    network.rtt_ms    mangle: packets from and to the client to NFQUEUE (the middlebox's delayer holds
                      each half the RTT, so every round trip from the client takes `rtt_ms` more)
    network.nat       nat: MASQUERADE of the client's flows leaving the ISP (the home router and the
                      carrier-grade NAT most volunteers sit behind): the world sees the ISP's address
    network.loss_pct  mangle: `statistic` random drop, both directions

dns_nxdomain/servfail/refused/redirect are the ISP resolver's lies (`dns.py`). Filter rules match
conntrack's original tuple, so they also hold for flows the nat table redirected to the middlebox.
This module renders text only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from probe.lab import addressing as A
from probe.lab.dns import RCODE_STUB_PORTS, redirect_target
from probe.lab.scenario import Censor, Network
from probe.lab.sites import SitePlan
from probe.lab.topology import ISP_CLIENT_IF, ISP_INET_IF

INJECT_QUEUE, DELAY_QUEUE = 10, 20
HTTP_BOX_PORT, TLS_BOX_PORT = 8081, 8443
_REJECT = {"ip_drop": "DROP", "ip_reset": "REJECT --reject-with tcp-reset"}
_REJECT_ADMIN = {4: "REJECT --reject-with icmp-admin-prohibited", 6: "REJECT --reject-with adm-prohibited"}


def dns_wire_name(name: str) -> str:
    """`selftanu.kz` → `|08|selftanu|02|kz|00|` (iptables hex-string of the name's wire format)."""
    labels = [lab for lab in name.strip(".").split(".") if lab]
    return "".join(f"|{len(lab):02x}|{lab}" for lab in labels) + "|00|"


def ruleset(version: int, plan: SitePlan, censors: list[Censor], network: Network) -> str:
    """An iptables-restore ruleset (v4 or v6) for the isp namespace."""
    filter_rules, user_chains = _filter(version, plan, censors)
    tables = {"raw": _raw(censors), "mangle": _mangle(network),
              "nat": _nat(censors, version) + _masquerade(network, version),
              "filter": filter_rules}
    chains = {"raw": ("PREROUTING", "OUTPUT"), "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT",
                                                          "POSTROUTING"),
              "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
              "filter": ("INPUT", "FORWARD", "OUTPUT")}
    out: list[str] = []
    for table, rules in tables.items():
        out.append(f"*{table}")
        out.extend(f":{c} ACCEPT [0:0]" for c in chains[table])
        if table == "filter":
            out.extend(f":{c} - [0:0]" for c in user_chains)
        out.extend(rules)
        out.append("COMMIT")
    return "\n".join(out) + "\n"


def _raw(censors: list[Censor]) -> list[str]:
    rules = []
    for c in censors:
        if c.action not in ("dns_drop", "dns_inject"):
            continue
        target = "DROP" if c.action == "dns_drop" else f"NFQUEUE --queue-num {INJECT_QUEUE} --queue-bypass"
        for proto in ("udp", "tcp"):
            if proto == "tcp" and c.action == "dns_inject":
                continue  # on-path injection races UDP answers only
            rules.append(f"-A PREROUTING -i {ISP_CLIENT_IF} -p {proto} --dport 53 -m string --algo bm "
                         f"--icase --hex-string \"{dns_wire_name(c.match)}\" -j {target}")
    return rules


def _mangle(network: Network) -> list[str]:
    rules = []
    if network.loss_pct > 0:
        p = network.loss_pct / 100
        for iface in (ISP_CLIENT_IF, ISP_INET_IF):
            rules.append(f"-A PREROUTING -i {iface} -m statistic --mode random --probability {p:.4f} -j DROP")
    if network.rtt_ms > 0:
        rules.append(f"-A PREROUTING -i {ISP_CLIENT_IF} -j NFQUEUE --queue-num {DELAY_QUEUE} --queue-bypass")
        rules.append(f"-A POSTROUTING -o {ISP_CLIENT_IF} -j NFQUEUE --queue-num {DELAY_QUEUE} --queue-bypass")
    return rules


def _nat(censors: list[Censor], version: int) -> list[str]:
    actions = {c.action for c in censors}
    control = A.CONTROL_V4 if version == 4 else A.CONTROL_V6
    rules = []
    if actions & {"http_blockpage", "http_redirect", "http_host_eof", "http_throttle"}:
        rules.append(f"-A PREROUTING -i {ISP_CLIENT_IF} -p tcp --dport 80 ! -d {control} "
                     f"-j REDIRECT --to-ports {HTTP_BOX_PORT}")
    if actions & {"tls_mitm", "tls_throttle", "tls_sni_eof", "tls_reset_midstream"}:
        rules.append(f"-A PREROUTING -i {ISP_CLIENT_IF} -p tcp --dport 443 ! -d {control} "
                     f"-j REDIRECT --to-ports {TLS_BOX_PORT}")
    return rules


def _masquerade(network: Network, version: int) -> list[str]:
    if not network.nat:
        return []
    client = A.CLIENT_V4 if version == 4 else A.CLIENT_V6
    return [f"-A POSTROUTING -s {client} -o {ISP_INET_IF} -j MASQUERADE"]


# Packets that carry at least 4 bytes of TCP payload (u32 fails a read past the packet's end). Only
# they can hold a name, so a run of name-matching rules sits behind one such test: every other client
# packet (most are bare ACKs) skips the run instead of being searched for each censored name, which
# with hundreds of censored hosts cost the isp namespace more CPU than forwarding the packet. IPv6
# with an extension header (TCP not right after the fixed header) always enters the run.
_PAYLOAD_U32 = {4: ['--u32 "0>>22&0x3C@12>>26&0x3C@0>>24=0:255"'],
                6: ['--u32 "4>>8&0xFF=6 && 52>>26&0x3C@40>>24=0:255"', '! --u32 "4>>8&0xFF=6"']}
_STRING_ACTIONS = frozenset({"tls_sni_drop", "tls_sni_reset", "http_host_drop", "http_host_reset"})
_MIN_GUARDED_NAME = 4  # the u32 test reads 4 bytes: a shorter name could hide in a shorter payload


def _filter(version: int, plan: SitePlan, censors: list[Censor]) -> tuple[list[str], list[str]]:
    """The filter table's rules, and the user chains they jump to (in the censors' order, so the
    first rule that matches a packet is the same one as without the payload test)."""
    rules: list[str] = []
    chains: list[str] = []
    for chain in ("FORWARD", "INPUT"):  # INPUT: flows the nat table sent to the middlebox
        run: list[Censor] = []
        for c in [*censors, None]:
            if c is not None and c.action in _STRING_ACTIONS:
                run.append(c)
                continue
            rules.extend(_name_rules(chain, version, plan, run, chains))
            run = []
            if c is not None:
                rules.extend(_filter_rules(chain, version, plan, c))
    return rules, chains


def _name_rules(chain: str, version: int, plan: SitePlan, run: list[Censor], chains: list[str]) -> list[str]:
    """A run of name-matching censors: behind the payload test, in a chain of their own (added to
    `chains`), unless a name is too short for the test."""
    if not run or min(len(c.match) for c in run) < _MIN_GUARDED_NAME:
        return [rule for c in run for rule in _filter_rules(chain, version, plan, c)]
    sub = f"{chain}_NAMES{len(chains)}"
    chains.append(sub)
    return ([f"-A {chain} -i {ISP_CLIENT_IF} -p tcp -m u32 {test} -j {sub}" for test in _PAYLOAD_U32[version]]
            + [rule for c in run for rule in _filter_rules(sub, version, plan, c)])


def _filter_rules(chain: str, version: int, plan: SitePlan, c: Censor) -> list[str]:
    head = f"-A {chain} -i {ISP_CLIENT_IF}"
    if c.action in ("ip_drop", "ip_reset", "ip_reject"):
        target = _REJECT_ADMIN[version] if c.action == "ip_reject" else _REJECT[c.action]
        proto = "-p tcp " if c.action == "ip_reset" else ""
        addrs = [a for a in plan.addresses_of(c.match) if (":" in a) == (version == 6)]
        return [f"{head} {proto}-m conntrack --ctorigdst {a} -j {target}" for a in addrs]
    port = {"tls_sni_drop": 443, "tls_sni_reset": 443, "http_host_drop": 80, "http_host_reset": 80}
    if c.action in port:
        target = "DROP" if c.action.endswith("_drop") else "REJECT --reject-with tcp-reset"
        return [f"{head} -p tcp -m conntrack --ctorigdstport {port[c.action]} -m string --algo bm "
                f"--icase --string \"{c.match}\" -j {target}"]
    if c.action == "shutdown":
        if chain != "FORWARD":
            return []  # the ISP's own resolver and blockpage server stay reachable: they are the ISP's
        rules = [f"{head} -j DROP"]
        if not c.dns_answers:
            rules += [f"-A OUTPUT -o {ISP_INET_IF} -p {proto} --dport 53 -j DROP" for proto in ("udp", "tcp")]
        return rules
    if c.action == "block_control":
        control = A.CONTROL_V4 if version == 4 else A.CONTROL_V6
        return [f"{head} -m conntrack --ctorigdst {control} -j DROP"]
    return []


def middlebox_config(state: Path, censors: list[Censor], network: Network, *,
                     rogue_chains: dict[str, Path],
                     blockpage: tuple[str, str] = (A.BLOCKPAGE_V4, A.BLOCKPAGE_V6)) -> dict[str, Any]:
    """What the middlebox process runs (written as JSON to the state dir); `blockpage` is the ISP's
    blockpage server's (v4, v6) (the second ISP has its own)."""
    http_rules: list[dict[str, Any]] = []
    tls_rules: list[dict[str, Any]] = []
    inject_rules: list[dict[str, Any]] = []
    for c in censors:
        if c.action == "http_blockpage":
            rule: dict[str, Any] = {"match": c.match, "kind": "blockpage", "status": c.status}
            if c.page:
                rule["page"] = c.page
            http_rules.append(rule)
        elif c.action == "http_redirect":
            http_rules.append({"match": c.match, "kind": "redirect",
                               "location": c.location or f"http://{blockpage[0]}/blocked"})
        elif c.action == "http_host_eof":
            http_rules.append({"match": c.match, "kind": "eof"})
        elif c.action == "http_throttle":
            http_rules.append({"match": c.match, "kind": "throttle", "delay_ms": c.delay_ms,
                               "rate_kbit": c.rate_kbit})
        elif c.action == "tls_mitm":
            tls_rules.append({"match": c.match, "kind": "mitm", "issuer": c.issuer,
                              "chain": str(rogue_chains[c.issuer])})
        elif c.action == "tls_throttle":
            tls_rules.append({"match": c.match, "kind": "throttle", "delay_ms": c.delay_ms,
                              "rate_kbit": c.rate_kbit})
        elif c.action == "tls_sni_eof":
            tls_rules.append({"match": c.match, "kind": "eof"})
        elif c.action == "tls_reset_midstream":
            tls_rules.append({"match": c.match, "kind": "midstream_reset"})
        elif c.action == "dns_inject":
            v4, v6 = redirect_target(c.address)
            inject_rules.append({"match": c.match, "v4": v4, "v6": v6})
    return {
        "workdir": str(state / "middlebox"),
        "stub_ports": RCODE_STUB_PORTS,
        "blockpage_addresses": list(blockpage),
        "http_port": HTTP_BOX_PORT, "tls_port": TLS_BOX_PORT,
        "http_rules": http_rules, "tls_rules": tls_rules,
        "inject_rules": inject_rules, "inject_queue": INJECT_QUEUE,
        "delay_ms": network.rtt_ms / 2, "delay_queue": DELAY_QUEUE,  # each way: half the RTT
    }


def write_middlebox_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(json.dumps(config, indent=1), encoding="utf-8")
    return path
