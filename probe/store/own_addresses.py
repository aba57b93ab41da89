"""The probe's own addresses, remembered across runs so they are scrubbed even when a run cannot learn them.

A run learns its public address only from the control helper's answer, and its local ones from its
own sockets. A run whose helper is blocked (what censors do), or that has no helper, or that reaches
the helper over IPv6 only, would otherwise store an origin's echo of the volunteer's IPv4 address
as it came. So every own address a run learns is remembered, and every later run and every export
scrubs or refuses it.

What is kept is not the address but a keyed hash of it: HMAC-SHA-256 with a random 32-byte key, in
a file readable by the owner only (0600), beside the store and never inside an export. Finding an
address in text is then: parse each address literal, hash it, look the hash up.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from probe.addresses import IPAddress, parse

_VERSION = 1


def memory_path(store: Path) -> Path:
    return store.with_name(f"{store.stem}.own-addresses.json")


class OwnAddressMemory:
    """Keyed hashes of this probe's own addresses; `knows(ip)` says whether `ip` is one of them."""

    def __init__(self, path: Path | None, key: bytes, digests: Iterable[str] = ()) -> None:
        self.path = path
        self._key = key
        self._digests = set(digests)

    @classmethod
    def empty(cls) -> OwnAddressMemory:
        """One that remembers for this process only (nothing is written)."""
        return cls(None, secrets.token_bytes(32))

    @classmethod
    def load(cls, path: Path) -> OwnAddressMemory:
        """The memory in `path`; a missing or unreadable file starts a new one (it is only a safety net)."""
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") == _VERSION:
                return cls(path, bytes.fromhex(data["key"]), [str(d) for d in data["digests"]])
        return cls(path, secrets.token_bytes(32))

    def __len__(self) -> int:
        return len(self._digests)

    def _digest(self, ip: IPAddress) -> str:
        return hmac.new(self._key, ip.packed, hashlib.sha256).hexdigest()

    def knows(self, ip: IPAddress) -> bool:
        return bool(self._digests) and self._digest(ip) in self._digests

    def remember(self, addresses: Iterable[str]) -> bool:
        """Add these addresses (loopback and unparsable ones are ignored); True when something was new."""
        new = set()
        for text in addresses:
            ip = parse(text)
            if ip is not None and not ip.is_loopback:
                new.add(self._digest(ip))
        new -= self._digests
        if not new:
            return False
        self._digests |= new
        self._save()
        return True

    def _save(self) -> None:
        if self.path is None:
            return
        payload = json.dumps({"version": _VERSION, "key": self._key.hex(), "digests": sorted(self._digests)})
        tmp = self.path.with_name(self.path.name + ".tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
