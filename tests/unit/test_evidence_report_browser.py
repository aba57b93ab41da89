"""report.html in a real browser: headless Chromium renders it with no console error, no request
beyond the file itself, visible charts and tables, a screenshot, and a PDF (it must print).

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: fd 3 in, fd 4
out, NUL-terminated JSON), so no websocket library and no port are needed. Skipped when the
`chromium` Debian package is not installed (CI installs it).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from evidence_samples import sample_set

from probe.evidence.report.page import ReportMeta, render_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs headless Chromium (apt-get install chromium)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps",
         "--mute-audio", "--remote-debugging-pipe"]


class DevTools:
    """A minimal DevTools-protocol client over Chromium's pipe."""

    def __init__(self, user_data_dir: Path) -> None:
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_fds() -> None:  # in the child, before exec: the pipe ends become fds 3 and 4
            # Move both out of the way first: either may already *be* fd 3 or 4 (close-on-exec).
            high_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)  # inheritable by default
            os.dup2(high_w, 4)

        assert CHROMIUM is not None
        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     close_fds=False, preexec_fn=wire_fds)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, session: str | None = None, timeout: float = 30.0, **params: Any) -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                assert "error" not in reply, reply
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(self._receive(deadline))

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_child], [], [], max(remaining, 0))
            if not ready:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise ConnectionError("Chromium closed the pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(raw))

    def close(self) -> None:
        with contextlib.suppress(TimeoutError, ConnectionError, OSError, AssertionError):
            self.call("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_child)
        os.close(self._from_child)


def _render(tmp_path: Path) -> Path:
    meta = ReportMeta(generated_at="2026-11-27T10:00:00Z", software_version="0.1.0",
                      key_fingerprint="ed25519:" + "ab" * 32, filters=(("since", "2026-11-26"),), in_bundle=True)
    page = tmp_path / "report.html"
    page.write_text(render_report(((m, v) for m, _, v in sample_set(4)), meta), encoding="utf-8")
    return page


def _open(devtools: DevTools, url: str) -> str:
    target = devtools.call("Target.createTarget", url="about:blank")["targetId"]
    session = str(devtools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"])
    for domain in ("Page", "Network", "Runtime", "Log"):
        devtools.call(f"{domain}.enable", session)
    devtools.call("Emulation.setDeviceMetricsOverride", session, width=1200, height=900, deviceScaleFactor=1,
                  mobile=False)
    devtools.call("Page.navigate", session, url=url)
    devtools.wait_for("Page.loadEventFired")
    return session


def _problems(events: list[dict[str, Any]], page_url: str) -> tuple[list[str], list[str]]:
    requests, errors = [], []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent" and params["request"]["url"] != page_url:
            requests.append(params["request"]["url"])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
            errors.append(json.dumps(params.get("args")))
        elif method == "Runtime.exceptionThrown":
            errors.append(json.dumps(params.get("exceptionDetails")))
        elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
            errors.append(params["entry"].get("text", ""))
    return requests, errors


@pytest.mark.timeout(120)
def test_report_renders_in_chromium_without_errors_or_requests(tmp_path: Path) -> None:
    page = _render(tmp_path)
    url = page.as_uri()
    devtools = DevTools(tmp_path / "profile")
    try:
        session = _open(devtools, url)
        counts = devtools.call("Runtime.evaluate", session, returnByValue=True, expression=(
            "({svgs: document.querySelectorAll('svg.chart').length,"
            " marks: document.querySelectorAll('svg.timeline rect').length,"
            " bars: document.querySelectorAll('svg.bars rect').length,"
            " tables: document.querySelectorAll('table').length,"
            " evidence: document.querySelectorAll('article.evidence').length,"
            " chartHeight: document.querySelector('svg.bars').getBoundingClientRect().height,"
            " text: document.body.innerText})"))["result"]["value"]
        shot = devtools.call("Page.captureScreenshot", session, format="png", captureBeyondViewport=True)
        pdf = devtools.call("Page.printToPDF", session, printBackground=True, timeout=60)
        time.sleep(0.2)  # let late console/network events arrive before judging
        devtools.call("Runtime.evaluate", session, expression="1")
    finally:
        devtools.close()
    requests, errors = _problems(devtools.events, url)
    assert requests == [], f"the report fetched something: {requests}"
    assert errors == [], f"console errors: {errors}"
    assert counts["bars"] == 6 and counts["chartHeight"] > 50
    assert counts["marks"] == 24 + 20  # every measurement in the table, the 20 blocked ones in evidence too
    assert counts["tables"] >= 3 and counts["evidence"] == 5
    assert "12 of 12" not in counts["text"] and "4 of 4 attempts" in counts["text"]
    png = base64.b64decode(shot["data"])
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    (tmp_path / "report.png").write_bytes(png)
    assert base64.b64decode(pdf["data"]).startswith(b"%PDF")
