"""The probe's own addresses never survive into a stored measurement or its HTTP bodies."""

from __future__ import annotations

import pytest
from address_spellings import OWN_V4, OWN_V6, V4_SPELLINGS, V6_SPELLINGS

from probe.addresses import find, find_bytes
from probe.measure.privacy import scrub, scrub_dumped
from probe.models import (
    Artifact,
    ArtifactRef,
    HTTPHeader,
    HTTPObservation,
    HTTPRequest,
    HTTPResponse,
    Measurement,
    ProbeNetwork,
)

PROBE_IP = "10.77.1.2"


def _measurement(body: Artifact) -> Measurement:
    response = HTTPResponse(code=200, headers=[HTTPHeader(name="X-Your-IP", value=PROBE_IP)],
                            body_length=len(body.data), body_sha256=body.sha256)
    request = HTTPRequest(method="GET", url="http://who.int/", headers=[])
    return Measurement(
        measurement_id="m", input="http://who.int/", test_start_time="2026-11-26T00:00:00Z",
        measurement_runtime_s=0.1, software_version="t", network=ProbeNetwork(),
        requests=[HTTPObservation(ip="198.18.0.10", port=80, scheme="http", request=request, response=response,
                                  t0=0, t=0.1, failure=f"unknown_failure: from {PROBE_IP}:5050")],
        artifacts=[ArtifactRef(sha256=body.sha256, kind="http_body", size=len(body.data))])


def test_headers_bodies_and_errors_are_scrubbed_and_hashes_follow() -> None:
    body = Artifact.of("http_body", f"<p>Your address is {PROBE_IP}. Not 10.77.1.20.</p>".encode())
    cert = Artifact.of("x509_der", PROBE_IP.encode())  # binary evidence is never rewritten
    measurement, artifacts = scrub(_measurement(body), [body, cert], {PROBE_IP})
    text = measurement.model_dump_json()
    assert PROBE_IP + '"' not in text and f"{PROBE_IP}:" not in text and f"{PROBE_IP}." not in text
    new_body = next(a for a in artifacts if a.kind == "http_body")
    assert new_body.data == b"<p>Your address is [scrubbed]. Not 10.77.1.20.</p>"
    assert measurement.requests[0].response and measurement.requests[0].response.body_sha256 == new_body.sha256
    assert [a.sha256 for a in measurement.artifacts] == [new_body.sha256, cert.sha256]
    assert measurement.requests[0].ip == "198.18.0.10"  # the site's address is not ours


def test_nothing_to_scrub_leaves_everything_identical() -> None:
    body = Artifact.of("http_body", b"<p>hello</p>")
    m = _measurement(body)
    assert scrub(m, [body], set()) == (m, [body])


def test_other_forms_of_the_address_are_scrubbed_too() -> None:
    body = Artifact.of("http_body", b"ip%3D10.77.1.2 REMOTE_ADDR_10.77.1.2 v6 FD77:0001:0000:0000:0000:0000:0000:0002 "
                                    b"FD77:1::2 keep 10.77.1.23 and 110.77.1.2")
    measurement, artifacts = scrub(_measurement(body), [body], {PROBE_IP, "fd77:1::2"})
    data = artifacts[0].data
    assert data.count(b"[scrubbed]") == 4, data
    assert b"10.77.1.23" in data and b"110.77.1.2" in data
    response = measurement.requests[0].response
    assert response is not None and response.body_length == len(data)


def test_a_helper_that_sends_no_address_is_not_believed() -> None:
    from probe.models import ControlResponse
    from probe.models.control import ControlDNS

    assert ControlResponse(helper="h", dns=ControlDNS(), client_ip="1.0").client_ip is None
    assert ControlResponse(helper="h", dns=ControlDNS(), client_ip="[fd77:1::2]").client_ip == "fd77:1::2"


def test_a_site_address_reported_as_ours_is_never_scrubbed_from_the_evidence() -> None:
    """A helper that says "you are 198.18.0.10" (buggy, or a censor forging its answer) must not erase
    where the site resolved and which address the probe contacted."""
    body = Artifact.of("http_body", b"<p>served by 198.18.0.10</p>")
    m = _measurement(body)
    measurement, artifacts = scrub(m, [body], {"198.18.0.10", PROBE_IP})
    assert measurement.requests[0].ip == "198.18.0.10" and artifacts[0].data == body.data
    assert "[scrubbed]" in (measurement.requests[0].failure or "")  # the real own address still goes


# Issue 18 #4: an origin echoes the volunteer's address (192.0.2.2) in other spellings, in the body, the
# title, a header and the query of a Location; nothing of it may reach the store.


def _echo(spelling: str) -> tuple[Measurement, list[Artifact]]:
    body = Artifact.of("http_body", f"<html><title>Your IP {spelling}</title><p>{spelling}</p></html>".encode())
    head = Artifact.of("http_headers", f"X-Client: {spelling}\r\nLocation: /next?ip={spelling}\r\n".encode())
    response = HTTPResponse(code=302, headers=[HTTPHeader(name="X-Client", value=spelling),
                                               HTTPHeader(name="Location", value=f"/next?ip={spelling}&x=1")],
                            body_length=len(body.data), body_sha256=body.sha256, title=f"Your IP {spelling}")
    request = HTTPRequest(method="GET", url=f"http://who.int/next?ip={spelling}", headers=[])
    m = Measurement(
        measurement_id="m", input="http://who.int/", test_start_time="2026-11-26T00:00:00Z",
        measurement_runtime_s=0.1, software_version="t", network=ProbeNetwork(),
        requests=[HTTPObservation(ip="198.18.0.10", port=80, scheme="http", request=request, response=response,
                                  t0=0, t=0.1, failure=f"unknown_failure: {spelling}")],
        artifacts=[ArtifactRef(sha256=a.sha256, kind=a.kind, size=len(a.data)) for a in (body, head)])
    return m, [body, head]


@pytest.mark.parametrize("spelling", V4_SPELLINGS + V6_SPELLINGS)
def test_every_spelling_is_scrubbed_from_body_title_header_and_location(spelling: str) -> None:
    own = {OWN_V4, OWN_V6}
    m, artifacts = _echo(spelling)
    measurement, out = scrub(m, artifacts, own)
    text = measurement.model_dump_json()
    assert spelling not in text, text
    assert not find(text, lambda ip: str(ip) in own), text
    for artifact in out:
        assert spelling.encode() not in artifact.data and not find_bytes(artifact.data, lambda ip: str(ip) in own)
    response = measurement.requests[0].response
    assert response is not None and response.title and "[scrubbed]" in response.title
    assert "[scrubbed]" in (response.header("Location") or "") and "[scrubbed]" in (response.header("X-Client") or "")
    assert [a.sha256 for a in measurement.artifacts] == [a.sha256 for a in out]
    assert measurement.requests[0].ip == "198.18.0.10"


def test_a_number_in_the_record_is_never_rewritten() -> None:
    """The record's numbers are data, not text: a body_length that reads as the address stays a number."""
    m, artifacts = _echo("nothing")
    hop = m.requests[0]
    assert hop.response is not None
    odd = m.model_copy(update={"requests": [hop.model_copy(update={
        "response": hop.response.model_copy(update={"body_length": 3221225986})})]})
    measurement, _ = scrub(odd, artifacts, {OWN_V4})
    assert measurement.requests[0].response is not None
    assert measurement.requests[0].response.body_length == 3221225986


def test_a_site_address_in_another_spelling_is_not_scrubbed_either() -> None:
    """The helper says we are 198.18.0.10 (the site's address): "ip-198-18-0-10" in its page stays."""
    body = Artifact.of("http_body", b"<p>served by ip-198-18-0-10</p>")
    m = _measurement(body)
    _, artifacts = scrub(m, [body], {"198.18.0.10", PROBE_IP})
    assert artifacts[0].data == body.data


@pytest.mark.parametrize("own", [set(), {"10.9.9.9"}, {PROBE_IP}])
def test_the_dumped_form_is_the_scrubbed_measurements_own(own: set[str]) -> None:
    # The store keeps this dump instead of dumping again: it must be exactly what dumping would give,
    # whether nothing was looked for, nothing was found, or an address was scrubbed.
    body = Artifact.of("http_body", f"<p>{PROBE_IP}</p>".encode())
    measurement, artifacts = scrub(_measurement(body), [body], own)
    again, again_artifacts, dumped = scrub_dumped(_measurement(body), [body], own)
    assert (again, again_artifacts) == (measurement, artifacts)
    assert dumped == measurement.model_dump(mode="json")
