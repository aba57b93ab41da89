"""Registry rules: what a registry's answer says about a name that resolves nowhere (`dns.takedown`).

Input: the probe's and the control's `RegistryObservation`s (statuses as the registry wrote them).
A hold (EPP `serverHold` / `clientHold`, RDAP "server hold" / "client hold", RFC 5731 and RFC 8056)
or a registry's own blocking wording withdraws the name from the DNS while it stays registered: the
verdict is `dns.takedown`, the status quoted. A hold beside an expiry status (`redemptionPeriod`,
`pendingDelete`, ...) is what registrars do to names nobody renewed: that stays `down`, as do names
the registry does not know (expired and deleted, or never registered). This module does not decide
when to ask a registry (`probe.measure.registry`, `probe.control.server.registry`) and never sees the raw bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from probe.classify.findings import Finding, finding
from probe.models.registry import RegistryObservation

# Compared without case, spaces, dashes or underscores: "serverHold", "server hold", "SERVER_HOLD".
_SERVER_HOLD = "serverhold"
_CLIENT_HOLD = "clienthold"
# A registry's own words for a name it withdrew (English, Russian, Kazakh stems): .kz's WHOIS and others
# write free text rather than EPP codes. Stems, so "blocked", "заблокирован", "бұғатталған" all match.
_BLOCK_WORDS = re.compile(r"block|suspend|seiz|заблокир|блокир|приостан|бұғат", re.IGNORECASE)
# EPP / RDAP statuses of a name in its expiry life cycle (RFC 3915, RFC 8056): a hold beside one of
# these is a registrar parking an unpaid name, not a takedown.
_EXPIRY = frozenset({"redemptionperiod", "pendingdelete", "pendingrestore", "autorenewperiod", "expired"})


def _key(status: str) -> str:
    return re.sub(r"[\s_\-]+", "", status.split(" - ")[0].split("(")[0]).lower()


@dataclass(frozen=True)
class RegistryReading:
    holds: tuple[str, ...]  # the statuses that withdraw the name, as written
    expiry: tuple[str, ...]  # expiry life-cycle statuses, as written
    server_side: bool  # a registry (not a registrar) hold, or the registry's own blocking words


def read_statuses(statuses: Sequence[str]) -> RegistryReading:
    holds: list[str] = []
    expiry: list[str] = []
    server = False
    for status in statuses:
        key = _key(status)
        if key == _SERVER_HOLD or (key != _CLIENT_HOLD and _BLOCK_WORDS.search(status)
                                   and "prohibited" not in key):
            holds.append(status)
            server = True
        elif key == _CLIENT_HOLD:
            holds.append(status)
        elif key in _EXPIRY:
            expiry.append(status)
    return RegistryReading(tuple(holds), tuple(expiry), server)


def _who(obs: RegistryObservation, control: bool) -> str:
    where = "the control" if control else "the probe"
    what = f"RDAP at {obs.server}" if obs.protocol == "rdap" else f"WHOIS at {obs.server}"
    return f"The registry ({what}, asked by {where}) for {obs.domain}"


def _quoted(items: Sequence[str]) -> str:
    return ", ".join(f"“{s}”" for s in items)


def registry_finding(probe: Sequence[RegistryObservation], control: RegistryObservation | None,
                     *, said: str) -> Finding | None:
    """The verdict for a name no resolver could resolve, from what the registry said; None: it said nothing."""
    asked = [(o, False) for o in probe] + ([(control, True)] if control is not None else [])
    answered = [(o, c) for o, c in asked if o.failure is None]
    for obs, ctrl in answered:
        reading = read_statuses(obs.statuses)
        if not reading.holds:
            continue
        answer = f"{_who(obs, ctrl)} lists the status {_quoted(obs.statuses)}."
        if reading.expiry:
            return finding("down", "likely", said, answer, f"{_quoted(reading.holds)} beside "
                           f"{_quoted(reading.expiry)} is a name that lapsed: registrars hold unpaid names "
                           "until they are deleted. It is not called a takedown.")
        why = ("The registry itself withdrew the name from the DNS while it stays registered" if reading.server_side
               else "The registrar withdrew the name from the DNS while it stays registered (registrars also do "
               "this for unpaid or unverified names, so this is not certain)")
        return finding("dns.takedown", "confirmed" if reading.server_side else "likely", said, answer,
                       f"{why}: that is why it resolves nowhere. This says the name was taken down, not who "
                       "ordered it.")
    if not answered:
        failed = "; ".join(f"{o.protocol} at {o.server}: {o.failure}" for o, _ in asked)
        return finding("down", "likely", said, f"The registry could not be asked ({failed}).") if asked else None
    obs, ctrl = answered[0]
    if obs.found is False:
        return finding("down", "likely", said, f"{_who(obs, ctrl)} has no such name: it expired and was "
                       "deleted, or never existed.")
    listed = f" lists {_quoted(obs.statuses)}" if obs.statuses else " lists no status"
    return finding("down", "likely", said, f"{_who(obs, ctrl)}{listed}, none of which withdraws the name: "
                   "its own name servers fail to answer for it.")
