"""`probe control serve` as a user runs it: a real process, a real certificate, one log line per request."""

from __future__ import annotations

import importlib.util
import re
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from click.testing import CliRunner

from probe.cli.main import cli
from probe.errors import ConfigError, InputError


def _fixtures() -> ModuleType:
    # The throwaway CA lives with the unit tests; load it by path (test folders are not packages).
    path = Path(__file__).resolve().parents[1] / "unit" / "test_control_fixtures.py"
    spec = importlib.util.spec_from_file_location("control_fixtures_for_cli", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    ca = _fixtures().TestCA(tmp_path_factory.mktemp("control-cli"))
    issued = ca.issue("helper", ips=("127.0.0.1",))
    return ca.bundle, issued.cert, issued.key


def _start(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "probe", "control", "serve", *args],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = re.search(r"listening on (https?://127\.0\.0\.1:\d+/)", line)
    if match is None:
        proc.kill()
        pytest.fail(f"helper did not start: {line}{proc.stderr.read()}")
    return proc, match.group(1)


def test_serve_answers_logs_one_line_per_request_and_never_the_client(pki: tuple[Path, Path, Path]) -> None:
    bundle, cert, key = pki
    proc, url = _start("--listen", "127.0.0.1:0", "--cert", str(cert), "--key", str(key), "--budget", "5")
    try:
        with httpx.Client(verify=ssl.create_default_context(cafile=bundle), timeout=10) as http:
            assert http.get(url + "api/v1/health").json()["status"] == "ok"
            answer = http.post(url + "api/v1/control", json={"url": "http://10.9.9.9:9/", "addresses": ["::1"]})
            assert http.post(url + "api/v1/control", content=b"nope").status_code == 400
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr
    assert answer.status_code == 200
    body = answer.json()
    assert body["client_ip"] == "127.0.0.1"
    assert {e["ip"]: e["tcp_failure"] for e in body["endpoints"]} == {
        "10.9.9.9": "unknown_failure: address not allowed", "::1": "unknown_failure: address not allowed"}
    lines = stderr.strip().splitlines()
    requests = [line for line in lines if " /api/v1/" in line]
    assert len(requests) == 3 and re.search(r"POST /api/v1/control 200 \d+\.\d\ds 10\.9\.9\.9$", requests[1])
    assert not any("127.0.0.1" in line or "client=" in line for line in requests)
    assert lines[-1] == "control helper stopped"


@pytest.mark.parametrize("trusted", [True, False])
def test_behind_a_proxy_the_forwarded_address_is_believed_from_the_proxy_only(trusted: bool) -> None:
    """--plain-http for a TLS reverse proxy in front: X-Forwarded-For counts from --trust-proxy alone."""
    proc, url = _start("--listen", "127.0.0.1:0", "--plain-http", "--budget", "5",
                       *(["--trust-proxy", "127.0.0.1"] if trusted else []))
    try:
        assert url.startswith("http://")
        with httpx.Client(timeout=10) as http:
            health = http.get(url + "api/v1/health", headers={"X-Forwarded-For": "203.0.113.9"}).json()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr
    assert health["client_ip"] == ("203.0.113.9" if trusted else "127.0.0.1")
    assert "203.0.113.9" not in stderr


def test_errors_are_one_line(pki: tuple[Path, Path, Path]) -> None:
    _, cert, key = pki
    out = subprocess.run([sys.executable, "-m", "probe", "control", "serve", "--listen", "127.0.0.1:0",
                          "--cert", str(cert), "--key", str(key), "--allow", "10.0.0.0/33"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: not a CIDR: '10.0.0.0/33'") and "hint:" in lines[0]


@pytest.mark.parametrize(("extra", "error", "words"), [
    (["--listen", "localhost:443"], InputError, "--listen needs IP:PORT"),
    (["--listen", "127.0.0.1:99999"], InputError, "--listen needs IP:PORT"),
    (["--listen", "127.0.0.1:0", "--resolver", "dns.example"], InputError, "--resolver needs IP[:PORT]"),
    (["--listen", "127.0.0.1:0", "--swap-key"], ConfigError, "cannot load the helper's certificate"),
    (["--listen", "127.0.0.1:{busy}"], InputError, "cannot listen on 127.0.0.1:"),
    (["--listen", "127.0.0.1:0", "--plain-http"], InputError, "or --plain-http"),
    (["--listen", "127.0.0.1:0", "--trust-proxy", "proxy.example"], InputError, "--trust-proxy needs an IP"),
])
def test_bad_options_are_probe_errors(pki: tuple[Path, Path, Path], extra: list[str], error: type[Exception],
                                      words: str) -> None:
    bundle, cert, key = pki
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        args = [a.replace("{busy}", str(busy.getsockname()[1])) for a in extra if a != "--swap-key"]
        key_file = bundle if "--swap-key" in extra else key  # a certificate is not a private key
        result = CliRunner().invoke(cli, ["control", "serve", "--cert", str(cert), "--key", str(key_file), *args])
    assert isinstance(result.exception, error), result.output
    assert words in str(result.exception)
