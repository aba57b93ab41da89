"""Tell systemd how the daemon is doing (sd_notify): READY=1 once the jobs run, STATUS= on each change.

With `Type=notify` in the unit, `systemctl status probe` shows the STATUS line ("measuring kz",
"kz: failing since …: disk full …"), so a volunteer who never reads the journal still sees a daemon
that is up but cannot store. Without $NOTIFY_SOCKET (a terminal, a test, another init) every call is a
no-op. The protocol is one datagram on a Unix socket; no library needed. This module does not decide
what to say: the daemon does.
"""

from __future__ import annotations

import os
import socket

MAX_STATUS = 400  # systemctl shows one line; keep the datagram small


class Notifier:
    def __init__(self, address: str | None = None) -> None:
        address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        # "@name" is the abstract namespace (a leading NUL byte), as sd_notify(3) describes.
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._last = ""
        self._ready = False  # systemd reads READY=1 first; earlier STATUS lines would be noise

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def ready(self, status: str) -> None:
        self._ready = True
        self._send(f"READY=1\nSTATUS={_one_line(status)}")

    def status(self, status: str) -> None:
        line = _one_line(status)
        if self._ready and line != self._last:  # the daemon rewrites its state often; systemd needs only changes
            self._send(f"STATUS={line}")

    def stopping(self) -> None:
        self._send("STOPPING=1\nSTATUS=stopping")

    def _send(self, message: str) -> None:
        if not self._address:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self._address)
                sock.sendall(message.encode("utf-8"))
        except OSError:
            return  # systemd gone or the socket wrong: measuring goes on without it
        for part in message.split("\n"):
            if part.startswith("STATUS="):
                self._last = part[len("STATUS="):]


def _one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_STATUS]
