"""Throttling: the real name's traffic far slower than the decoy name's to the same address.

Two measurements make the claim, each against the decoy (same address, same path, moments apart;
only the name differs):

* the TLS handshake: the real one took >= 1 s, >= 5x and >= 0.5 s longer than the decoy SNI's
  (a ClientHello held by the censor);
* the page (http:// by Host, https:// by SNI): after a completed GET, a hold before the response
  head >= 1 s longer and >= 5x the decoy GET's, or a body transfer rate (kbit/s, over >= 16 KiB)
  >= 5x below the decoy's (or, when the decoy's page is too small to time, the control's).

The control's own timing of the same page rules out a site that is slow for everyone: a hold the
control waited out too, or a rate the control got too, is the site's. With that reference the claim
is `likely`; without it (no helper, or one that does not time) the page rule says `possible`, the
handshake rule (which needs no page) stays `likely`. Every reason states the rates, the hold and the
ratio to the decoy. `http.throttled` for http://, `tls.throttled` for https://; neither is a block
(the page arrives). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from probe.classify.context import ClassifyContext, Thresholds
from probe.classify.findings import Finding, finding
from probe.classify.view import Hop, View, endpoint_text, handshake_completed, seconds
from probe.models.control import ControlHTTP
from probe.models.observations import HTTPObservation
from probe.models.verdict import VerdictLabel

# Transfers shorter than this are not timed finer: the rate is then stated as "over" its floor.
_TIMER_FLOOR_S = 0.01


@dataclass(frozen=True)
class Pace:
    """How one response arrived: the hold before its head, then its body's size and time."""

    hold_s: float
    transfer_s: float
    body_bytes: int

    def kbit_s(self, th: Thresholds) -> float | None:
        """The body's rate; None when the body is too small for its time to be a rate (RTT, not pace)."""
        if self.body_bytes < th.throttle_rate_min_bytes:
            return None
        return self.body_bytes * 8 / 1000 / max(self.transfer_s, _TIMER_FLOOR_S)

    def text(self, th: Thresholds) -> str:
        rate = self.kbit_s(th)
        over = "over " if self.transfer_s < _TIMER_FLOOR_S else ""
        speed = f" ({over}{kbit(rate)})" if rate is not None else ""
        took = f"under {seconds(_TIMER_FLOOR_S)}" if over else seconds(self.transfer_s)
        return f"a {seconds(self.hold_s)} hold, then {self.body_bytes:,} bytes in {took}{speed}"


def kbit(rate: float) -> str:
    return f"{rate:,.0f} kbit/s" if rate >= 10 else f"{rate:.1f} kbit/s"


def pace_of(obs: HTTPObservation | None) -> Pace | None:
    """The pace of a GET that got a response head (its body may have stopped short)."""
    if obs is None or obs.response is None or obs.t_response is None:
        return None
    return Pace(hold_s=max(obs.t_response - obs.t0, 0.0), transfer_s=max(obs.t - obs.t_response, 0.0),
                body_bytes=obs.response.body_length)


def control_pace(ctrl: ControlHTTP | None) -> Pace | None:
    if ctrl is None or ctrl.failure is not None or ctrl.hold_s is None or ctrl.transfer_s is None:
        return None
    return Pace(hold_s=ctrl.hold_s, transfer_s=ctrl.transfer_s, body_bytes=ctrl.body_length or 0)


def analyze_throttle(view: View, ctx: ClassifyContext) -> Finding | None:
    """Throttling on any hop: the handshake rule first (it needs no page), else the page rule."""
    for hop in view.hops:
        if (f := _handshake(view, hop, ctx)) is not None:
            return f
    for hop in view.hops:
        if (f := _page(view, hop, ctx)) is not None:
            return f
    return None


def _handshake(view: View, hop: Hop, ctx: ClassifyContext) -> Finding | None:
    th = ctx.thresholds
    for h in hop.tls:
        decoy = hop.decoy_for(h.ip)
        if h.failure is not None or decoy is None or not handshake_completed(decoy):
            continue
        real_s, decoy_s = h.t - h.t0, decoy.t - decoy.t0
        if (real_s >= th.throttle_min_handshake_s and real_s - decoy_s >= th.throttle_min_extra_s
                and real_s >= th.throttle_ratio * max(decoy_s, 1e-3)):
            said = (f"The TLS handshake with SNI {h.server_name} to {endpoint_text(h.ip, h.port)} took "
                    f"{seconds(real_s)}; a handshake to the same address with SNI {decoy.server_name} took "
                    f"{seconds(decoy_s)} ({real_s / max(decoy_s, 1e-3):,.0f}x faster): the ClientHello was "
                    f"held {seconds(real_s - decoy_s)}, traffic for that name is slowed down.")
            return finding("tls.throttled", "likely", said, _transfer_text(view, hop, ctx))
    return None


def _transfer_text(view: View, hop: Hop, ctx: ClassifyContext) -> str:
    """The page's rates beside the handshake claim (when the page came and was timed)."""
    real = pace_of(hop.request)
    if real is None or hop.request is None:
        return ""
    th = ctx.thresholds
    decoy = pace_of(hop.decoy_request_for(hop.request.ip))
    text = f"The page then came with {real.text(th)}"
    if decoy is not None:
        text += f"; the decoy's page with {decoy.text(th)}{_ratio(real, decoy, th)}"
    ctrl = control_pace(view.control_http)
    if ctrl is not None:
        text += f"; the control's with {ctrl.text(th)}"
    return text + "."


def _ratio(real: Pace, other: Pace, th: Thresholds) -> str:
    r, o = real.kbit_s(th), other.kbit_s(th)
    if r is not None and o is not None:
        over = "over " if other.transfer_s < _TIMER_FLOOR_S else ""
        return f" ({over}{o / max(r, 1e-6):,.0f}x the page's rate)"
    if real.hold_s > other.hold_s:
        return f" (its hold {real.hold_s / max(other.hold_s, 1e-3):,.0f}x shorter)"
    return ""


def _page(view: View, hop: Hop, ctx: ClassifyContext) -> Finding | None:
    th = ctx.thresholds
    request = hop.request
    real = pace_of(request)
    if request is None or real is None or request.response is None:
        return None
    decoy_obs = hop.decoy_request_for(request.ip)
    decoy = pace_of(decoy_obs)
    if decoy_obs is None or decoy is None:
        return None
    ctrl = control_pace(view.control_http)
    held = (real.hold_s - decoy.hold_s >= th.throttle_min_handshake_s
            and real.hold_s >= th.throttle_ratio * max(decoy.hold_s, 1e-3)
            and (ctrl is None or real.hold_s - ctrl.hold_s >= th.throttle_min_handshake_s))
    paced = _paced(real, decoy, ctrl, th)
    if not (held or paced):
        return None
    name = request.request.url
    host_header = next((h.value for h in request.request.headers if h.name.lower() == "host"), hop.host)
    decoy_name = next((h.value for h in decoy_obs.request.headers if h.name.lower() == "host"), "the decoy")
    by = "Host" if hop.scheme == "http" else "SNI and Host"
    said = (f"The page {name} from {endpoint_text(request.ip, request.port)} came with {real.text(th)}; "
            f"GET / with {by} {decoy_name} to the same address right after came with {decoy.text(th)}"
            f"{_ratio(real, decoy, th)}: traffic for {host_header} is slowed down"
            f"{' (held)' if held and not paced else ' (paced)' if paced and not held else ' (held and paced)'}.")
    if ctrl is None:
        why = view.measurement.control_failure
        return finding(_label(hop), "possible", said, "The control did not time the page" +
                       (f" ({why})" if why else "") + ", so a site slow for everyone is not ruled out.")
    return finding(_label(hop), "likely", said, f"The control got the same page with {ctrl.text(th)}: "
                   "the site itself is not that slow.")


def _paced(real: Pace, decoy: Pace, ctrl: Pace | None, th: Thresholds) -> bool:
    rate = real.kbit_s(th)
    if rate is None or real.transfer_s < th.throttle_min_extra_s:
        return False
    reference = decoy.kbit_s(th)
    control = ctrl.kbit_s(th) if ctrl is not None else None
    if reference is None:
        reference = control  # a decoy page too small to time: the control's transfer stands in
    if reference is None or rate * th.throttle_ratio > reference:
        return False
    # The control got it no faster than twice the probe's rate: the site sends it slowly to everyone.
    return control is None or control > 2 * rate


def _label(hop: Hop) -> VerdictLabel:
    return "http.throttled" if hop.scheme == "http" else "tls.throttled"
