"""The namespaces and the links between them: client ── isp (router) ── inet ── ctl.

On request a second ISP hangs off inet too (clientb ── ispb ── inet): another network, with its own
router, resolver and censor, for two probes measuring the same sites (`build_second_isp`).

The control helper gets a namespace of its own (ctl), hanging off the lab's internet: it is the
uncensored vantage point, and nginx's wildcard listeners in inet would otherwise hold its port.

Builds links, addresses, routes and forwarding; no servers and no censorship (see `lab.py` and
`censor.py`). Routes only cover lab ranges, so a program in the client namespace that tries any
other address gets "network unreachable" and nothing is ever sent: there is no default route, and
the namespaces have no link to the host.
"""

from __future__ import annotations

from dataclasses import dataclass

from probe.lab import addressing as A
from probe.lab.netns import NETNS_ETC, add_namespace, ip_batch, sysctl


@dataclass(frozen=True)
class Names:
    """Namespace names for one lab; the prefix lets two labs coexist."""

    prefix: str

    @property
    def client(self) -> str:
        return f"{self.prefix}-client"

    @property
    def isp(self) -> str:
        return f"{self.prefix}-isp"

    @property
    def inet(self) -> str:
        return f"{self.prefix}-inet"

    @property
    def ctl(self) -> str:
        return f"{self.prefix}-ctl"

    @property
    def clientb(self) -> str:
        return f"{self.prefix}-clientb"

    @property
    def ispb(self) -> str:
        return f"{self.prefix}-ispb"

    def core(self) -> tuple[str, str, str, str]:
        """The namespaces every lab has."""
        return (self.client, self.isp, self.inet, self.ctl)

    def all(self) -> tuple[str, ...]:
        """Every namespace a lab of this prefix may have (what teardown looks for)."""
        return (*self.core(), self.clientb, self.ispb)


# The veth ends, named the same in every lab (they live inside the lab's namespaces).
CLIENT_IF, ISP_CLIENT_IF, ISP_INET_IF, INET_IF = "c0", "i0", "i1", "n0"
INET_CTL_IF, CTL_IF = "n1", "k0"
INET_ISPB_IF = "n2"  # inet's end of the second ISP's link; inside clientb/ispb the names are c0, i0, i1

_NO_DAD = "nodad"  # ULA addresses are ours alone: skip duplicate address detection (saves ~1 s)


def build(names: Names, *, resolv_conf: str) -> None:
    """Create the namespaces, links, addresses and routes (about 50 ms)."""
    for ns in names.core():
        add_namespace(ns)
    for ns in names.core():
        sysctl(ns, {"net.ipv6.conf.all.accept_dad": "0", "net.ipv6.conf.default.accept_dad": "0"})
    sysctl(names.isp, {"net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1"})
    # Servers bind single addresses of the AnyIP ranges, which are routes, not interface addresses.
    # inet also routes between the isp and the ctl namespace.
    sysctl(names.inet, {"net.ipv4.ip_nonlocal_bind": "1", "net.ipv6.ip_nonlocal_bind": "1",
                        "net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1"})
    ip_batch(None, [
        f"link add {CLIENT_IF} netns {names.client} type veth peer name {ISP_CLIENT_IF} netns {names.isp}",
        f"link add {ISP_INET_IF} netns {names.isp} type veth peer name {INET_IF} netns {names.inet}",
        f"link add {INET_CTL_IF} netns {names.inet} type veth peer name {CTL_IF} netns {names.ctl}",
    ])
    ip_batch(names.client, _client_commands())
    ip_batch(names.isp, _isp_commands())
    ip_batch(names.inet, _inet_commands())
    ip_batch(names.ctl, _ctl_commands())
    _client_etc(names.client, resolv_conf)


def build_second_isp(names: Names, *, resolv_conf: str) -> None:
    """Add clientb ── ispb ── inet to a lab `build` made (about 20 ms). The veths inside clientb and
    ispb have the first ISP's names, so the censor's rules render the same for either ISP."""
    for ns in (names.clientb, names.ispb):
        add_namespace(ns)
        sysctl(ns, {"net.ipv6.conf.all.accept_dad": "0", "net.ipv6.conf.default.accept_dad": "0"})
    sysctl(names.ispb, {"net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1"})
    ip_batch(None, [
        f"link add {CLIENT_IF} netns {names.clientb} type veth peer name {ISP_CLIENT_IF} netns {names.ispb}",
        f"link add {ISP_INET_IF} netns {names.ispb} type veth peer name {INET_ISPB_IF} netns {names.inet}",
    ])
    ip_batch(names.clientb, [
        f"addr add {A.B_CLIENT_V4}/24 dev {CLIENT_IF}",
        f"addr add {A.B_CLIENT_V6}/64 dev {CLIENT_IF} {_NO_DAD}",
        f"link set {CLIENT_IF} up",
        f"route add 10.77.0.0/16 via {A.B_ISP_IN_V4}",
        f"route add 198.18.0.0/15 via {A.B_ISP_IN_V4}",
        f"route add fd77::/16 via {A.B_ISP_IN_V6}",
    ])
    ip_batch(names.ispb, [
        f"addr add {A.B_ISP_IN_V4}/24 dev {ISP_CLIENT_IF}",
        f"addr add {A.B_ISP_IN_V6}/64 dev {ISP_CLIENT_IF} {_NO_DAD}",
        f"addr add {A.B_ISP_OUT_V4}/24 dev {ISP_INET_IF}",
        f"addr add {A.B_ISP_OUT_V6}/64 dev {ISP_INET_IF} {_NO_DAD}",
        f"addr add {A.B_BLOCKPAGE_V4}/32 dev lo",
        f"addr add {A.B_BLOCKPAGE_V6}/128 dev lo {_NO_DAD}",
        f"link set {ISP_CLIENT_IF} up",
        f"link set {ISP_INET_IF} up",
        f"route add 198.18.0.0/15 via {A.B_INET_V4}",
        f"route add fd77:18::/45 via {A.B_INET_V6}",
        f"route add blackhole {A.LAB_BOGON_NET}",
    ])
    ip_batch(names.inet, [  # more specific than the first ISP's 10.77.0.0/16 and fd77::/30
        f"addr add {A.B_INET_V4}/24 dev {INET_ISPB_IF}",
        f"addr add {A.B_INET_V6}/64 dev {INET_ISPB_IF} {_NO_DAD}",
        f"link set {INET_ISPB_IF} up",
        f"route add {A.B_NET_V4} via {A.B_ISP_OUT_V4}",
        f"route add {A.B_NET_V6} via {A.B_ISP_OUT_V6}",
    ])
    _client_etc(names.clientb, resolv_conf)


def _client_etc(ns: str, resolv_conf: str) -> None:
    etc = NETNS_ETC / ns
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "resolv.conf").write_text(resolv_conf, encoding="ascii")
    # getaddrinfo would otherwise read the host's /etc/hosts; the lab's names come from DNS only.
    (etc / "hosts").write_text("127.0.0.1 localhost\n::1 localhost\n", encoding="ascii")


def client_resolv_conf(timeout_s: int = 2, *, resolver: str = A.ISP_IN_V4) -> str:
    """The client's resolver: the ISP's (over IPv4, or IPv6), one try each, so a dropped query fails in seconds."""
    return f"nameserver {resolver}\noptions timeout:{timeout_s} attempts:1\n"


def _client_commands() -> list[str]:
    return [
        f"addr add {A.CLIENT_V4}/24 dev {CLIENT_IF}",
        f"addr add {A.CLIENT_V6}/64 dev {CLIENT_IF} {_NO_DAD}",
        f"link set {CLIENT_IF} up",
        f"route add 10.77.0.0/16 via {A.ISP_IN_V4}",
        f"route add 198.18.0.0/15 via {A.ISP_IN_V4}",
        f"route add fd77::/16 via {A.ISP_IN_V6}",
    ]


def _isp_commands() -> list[str]:
    return [
        f"addr add {A.ISP_IN_V4}/24 dev {ISP_CLIENT_IF}",
        f"addr add {A.ISP_IN_V6}/64 dev {ISP_CLIENT_IF} {_NO_DAD}",
        f"addr add {A.ISP_OUT_V4}/24 dev {ISP_INET_IF}",
        f"addr add {A.ISP_OUT_V6}/64 dev {ISP_INET_IF} {_NO_DAD}",
        f"addr add {A.BLOCKPAGE_V4}/32 dev lo",
        f"addr add {A.BLOCKPAGE_V6}/128 dev lo {_NO_DAD}",
        f"link set {ISP_CLIENT_IF} up",
        f"link set {ISP_INET_IF} up",
        f"route add 198.18.0.0/15 via {A.INET_V4}",
        f"route add fd77:18::/45 via {A.INET_V6}",
        # The lab's bogon net has no host: packets vanish, as they do towards a private address.
        f"route add blackhole {A.LAB_BOGON_NET}",
    ]


def _inet_commands() -> list[str]:
    return [
        f"addr add {A.INET_V4}/24 dev {INET_IF}",
        f"addr add {A.INET_V6}/64 dev {INET_IF} {_NO_DAD}",
        f"link set {INET_IF} up",
        f"route add 10.77.0.0/16 via {A.ISP_OUT_V4}",
        f"route add fd77::/30 via {A.ISP_OUT_V6}",
        # AnyIP: every address of these ranges is local, so sites need no per-address setup. In the
        # main table (not `local`), so the control's /32 below wins by longest prefix.
        f"route add local {A.SITES_V4} dev lo table main",
        f"route add local {A.OTHER_V4} dev lo table main",
        f"route add local {A.SITES_V6} dev lo table main",
        f"route add local {A.OTHER_V6} dev lo table main",
        f"addr add {A.INET_CTL_V4}/32 dev {INET_CTL_IF}",
        f"addr add {A.INET_CTL_V6}/128 dev {INET_CTL_IF} {_NO_DAD}",
        f"link set {INET_CTL_IF} up",
        f"route add {A.CONTROL_V4}/32 dev {INET_CTL_IF}",
        f"route add {A.CONTROL_V6}/128 dev {INET_CTL_IF}",
    ]


def _ctl_commands() -> list[str]:
    return [
        f"addr add {A.CONTROL_V4}/32 dev {CTL_IF}",
        f"addr add {A.CONTROL_V6}/128 dev {CTL_IF} {_NO_DAD}",
        f"link set {CTL_IF} up",
        f"route add {A.INET_CTL_V4}/32 dev {CTL_IF}",
        f"route add {A.INET_CTL_V6}/128 dev {CTL_IF}",
        f"route add 10.77.0.0/16 via {A.INET_CTL_V4} dev {CTL_IF}",
        f"route add 198.18.0.0/15 via {A.INET_CTL_V4} dev {CTL_IF}",
        f"route add fd77::/16 via {A.INET_CTL_V6} dev {CTL_IF}",
    ]
