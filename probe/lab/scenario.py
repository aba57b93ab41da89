"""Scenario files (schema version 1): load, validate and describe one lab scenario.

A scenario is one TOML file: the URL the probe measures, what the real site does (`[origin]`), what
the ISP does (`[[censor]]`), the network conditions (`[network]`), the probe's timeouts where they
differ from its production defaults (`[timeouts]`) and the expected verdict (`[expect]`). Unknown
keys, unknown actions, keys an action does not take and addresses outside the lab are errors that
name the file and the key. This module does not build anything: see `lab.py`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from probe.errors import ConfigError
from probe.lab.addressing import is_allowed_target, is_lab_address
from probe.models.verdict import VerdictLabel

Action = Literal[
    "dns_nxdomain", "dns_servfail", "dns_refused", "dns_drop", "dns_redirect", "dns_inject",
    "ip_drop", "ip_reset", "ip_reject", "tls_sni_drop", "tls_sni_reset", "tls_sni_eof", "tls_mitm",
    "tls_throttle", "http_host_reset", "http_host_drop", "http_host_eof", "http_blockpage", "http_redirect",
    "http_throttle", "block_control", "shutdown", "tls_reset_midstream",
]
# The optional keys each action takes (besides `action` and `match`).
ACTION_KEYS: dict[str, frozenset[str]] = {
    "dns_redirect": frozenset({"address"}),
    "dns_inject": frozenset({"address"}),
    "tls_mitm": frozenset({"issuer"}),
    "tls_throttle": frozenset({"delay_ms", "rate_kbit"}),
    "http_throttle": frozenset({"delay_ms", "rate_kbit"}),
    "http_blockpage": frozenset({"status", "page"}),
    "http_redirect": frozenset({"location"}),
    "shutdown": frozenset({"dns_answers"}),
}
ADDRESS_WORDS = ("blockpage", "origin_other")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Origin(_Strict):
    """The real site as the uncensored world sees it."""

    http: bool = True
    https: bool = True
    status: int = Field(default=200, ge=100, le=599)
    title: str = ""  # empty: the host name
    body_bytes: int = Field(default=2000, ge=0, le=64 * 1024 * 1024)
    redirect_to: str = ""
    delay_ms: int = Field(default=0, ge=0, le=60_000)
    cert: Literal["valid", "expired", "wrong_host", "self_signed"] = "valid"
    exists: bool = True
    up: bool = True
    addresses: int = Field(default=1, ge=0, le=16)
    ipv6: bool = False
    geo: bool = False
    probe_page: Literal["same", "captcha", "geoblock"] = "same"
    echo_client_ip: bool = False  # put the requester's IP in a header and in the body
    resolves_to: str = ""  # the site's own DNS points here (e.g. "127.0.0.1": misconfigured)
    takedown_page: bool = False  # the host serves everyone (the control too) its suspension page
    # What the lab registry lists for the site's registered name (["serverHold"]); empty: it has no
    # such name (expired and deleted, or never registered). Asked only when the name resolves nowhere.
    registry_status: list[str] = Field(default=[], max_length=8)

    @field_validator("resolves_to")
    @classmethod
    def _resolves_to_lab(cls, value: str) -> str:
        if value and not is_allowed_target(value):
            raise ValueError("must be a loopback, unspecified or lab address")
        return value

    @property
    def special(self) -> bool:
        """Needs the lab's own origin server (nginx alone serves only plain static pages)."""
        return bool(self.status != 200 or self.redirect_to or self.delay_ms or self.echo_client_ip
                    or self.probe_page != "same" or self.takedown_page)


class Censor(_Strict):
    """One ISP action. `match` defaults to the URL's host (filled in by `Scenario`)."""

    action: Action
    match: str = ""
    address: str = "blockpage"
    status: int = Field(default=200, ge=100, le=599)
    page: str = ""
    location: str = ""
    issuer: str = "Qaznet Trust Network"
    delay_ms: int = Field(default=1500, ge=0, le=60_000)
    rate_kbit: int = Field(default=16, ge=1, le=1_000_000)
    dns_answers: bool = False  # shutdown: the ISP resolver still resolves (a partial shutdown)

    @model_validator(mode="before")
    @classmethod
    def _keys_fit_action(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("action"), str):
            allowed = ACTION_KEYS.get(data["action"], frozenset()) | {"action", "match"}
            for key in data:
                if key in cls.model_fields and key not in allowed:
                    raise ValueError(f"key {key!r} is not used by action {data['action']!r}")
        return data

    @field_validator("address")
    @classmethod
    def _address_in_lab(cls, value: str) -> str:
        if value not in ADDRESS_WORDS and not is_allowed_target(value):
            raise ValueError("must be 'blockpage', 'origin_other', or a loopback/unspecified/lab IP")
        return value

    @field_validator("location")
    @classmethod
    def _location_in_lab(cls, value: str) -> str:
        if value:
            _check_lab_url(value)
        return value

    @field_validator("match")
    @classmethod
    def _match_lower(cls, value: str) -> str:
        return value.strip().lower()


class Network(_Strict):
    rtt_ms: int = Field(default=0, ge=0, le=2000)  # half of it each way, both directions
    loss_pct: float = Field(default=0, ge=0, le=50)
    nat: bool = False  # the client sits behind NAT: the world (and the control) sees the ISP's address
    ipv6_resolver: bool = False  # the probe asks the ISP resolver over IPv6 (fd77:1::1)


class ScenarioTimeouts(_Strict):
    """Per-step timeouts for this scenario's `probe run`; unset steps keep the probe's own defaults
    (the production ones volunteers run). Set them only where a scenario waits out a timeout whose
    length proves nothing (a drop), so the shipped set stays quick."""

    dns_s: float | None = Field(default=None, gt=0, le=120)
    tcp_s: float | None = Field(default=None, gt=0, le=120)
    tls_s: float | None = Field(default=None, gt=0, le=120)
    http_s: float | None = Field(default=None, gt=0, le=300)

    def flags(self) -> dict[str, float]:
        """{"tls": 3.0, ...}: the steps this scenario overrides, by `probe run --timeout-<step>` name."""
        return {k.removesuffix("_s"): v for k, v in self.model_dump().items() if v is not None}


class Expect(_Strict):
    verdict: VerdictLabel
    blocking: Literal["dns", "tcp_ip", "http-failure", "http-diff", False] | None = None
    reason: str = ""  # words the verdict's reasons must contain (e.g. why it is inconclusive)
    # After every phase and the final run: does `probe results` mark the URL "reachable until ...,
    # unavailable everywhere since ..."? None: not checked. Only for scenarios with phases.
    history: Literal["mark", "none"] | None = None


class Phase(_Strict):
    """An earlier moment of the scenario: measured first, in order, into the scenario's own store."""

    description: str = ""
    origin: dict[str, Any] = {}  # [origin] keys that differ at this moment (checked like [origin])
    expect: Expect


class Scenario(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=64)
    description: str = ""
    url: str
    origin: Origin = Origin()
    censor: list[Censor] = []
    network: Network = Network()
    timeouts: ScenarioTimeouts = ScenarioTimeouts()
    expect: Expect
    phase: list[Phase] = Field(default=[], max_length=8)  # measured before the final state, in order
    path: str = Field(default="", exclude=True)  # where it was loaded from (not a file key)

    @model_validator(mode="after")
    def _phases_fit(self) -> Scenario:
        for i, ph in enumerate(self.phase):
            try:
                Origin.model_validate({**self.origin.model_dump(), **ph.origin})
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(str(p) for p in err["loc"])
                raise ValueError(f"phase[{i}].origin.{where}: {err['msg']}") from None
            if ph.expect.history is not None:
                raise ValueError(f"phase[{i}].expect.history: only the final [expect] checks the history")
        if self.expect.history is not None and not self.phase:
            raise ValueError("expect.history needs at least one [[phase]] before the final state")
        return self

    def at_phase(self, index: int) -> Scenario:
        """The scenario as it was in phase `index`: that origin, that expectation, no phases."""
        ph = self.phase[index]
        origin = Origin.model_validate({**self.origin.model_dump(), **ph.origin})
        return self.model_copy(update={"origin": origin, "expect": ph.expect, "phase": [],
                                       "description": ph.description or self.description})

    @field_validator("url")
    @classmethod
    def _url_ok(cls, value: str) -> str:
        _check_lab_url(value)
        return value

    @property
    def host(self) -> str:
        return url_host(self.url)

    def censors(self) -> list[Censor]:
        """The actions with `match` filled in (default: the URL's host)."""
        return [c if c.match else c.model_copy(update={"match": self.host}) for c in self.censor]

    def actions(self) -> set[str]:
        return {c.action for c in self.censor}


def url_host(url: str) -> str:
    """The URL's host in DNS form: lower-case, IDNA-encoded (what SNI, Host and DNS carry)."""
    host = urlsplit(url).hostname or ""
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return host.lower()


def _check_lab_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    host = parts.hostname or ""
    if not host:
        return  # a broken URL on purpose (a server bug scenario); it cannot reach anything
    if (host[0].isdigit() or ":" in host) and not is_lab_address(host) and not is_allowed_target(host):
        raise ValueError(f"address {host} is outside the lab's ranges")


def load_scenario(path: Path) -> Scenario:
    """Read and validate one file; errors name the file and the key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    if "path" in data:
        raise ConfigError(f"{path}: path: unknown key", hint="see docs/scenarios.md for the schema")
    try:
        return Scenario.model_validate({**data, "path": str(path)})
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in err["loc"])
        key = key.replace(".[", "[") or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] in ("literal_error", "enum"):
            msg = f"{msg} (got {err['input']!r})"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"{path}: {key}: {msg}{more}",
                          hint="see docs/scenarios.md for the schema") from exc


def load_scenarios(paths: list[Path]) -> list[Scenario]:
    """Files and folders (every *.toml inside, sorted); names must be unique."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(p.glob("*.toml")))
        elif p.exists():
            files.append(p)
        else:
            raise ConfigError(f"{p}: no such scenario file or folder")
    scenarios = [load_scenario(f) for f in files]
    seen: dict[str, str] = {}
    for s in scenarios:
        if s.name in seen:
            raise ConfigError(f"{s.path}: name: {s.name!r} is also used by {seen[s.name]}")
        seen[s.name] = s.path
    return scenarios


def default_scenario_dir() -> Path:
    """The shipped set: tests/lab/scenarios/ in the source tree."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "tests" / "lab" / "scenarios"
        if candidate.is_dir():
            return candidate
    raise ConfigError("cannot find the shipped scenarios (tests/lab/scenarios/)",
                      hint="give scenario files or folders as arguments")
