"""The probe's own addresses, remembered across runs so they are scrubbed even when a run cannot learn them.

A run learns its public address only from the control helper's answer, and its local ones from its
own sockets. A run whose helper is blocked (what censors do), or that has no helper, or that reaches
the helper over IPv6 only, would otherwise store an origin's echo of the volunteer's IPv4 address
as it came. So every own address a run learns is remembered, and every later run and every export
scrubs or refuses it.

What is kept is not the address but a keyed hash of it: HMAC-SHA-256 under a random 32-byte key.
The digests live beside the store (`probe.own-addresses.json`); the key lives apart, beside the
signing key (`~/.config/probe/`, 0600), because volunteers copy and share the results folder and a
digest of an IPv4 address is found by trying them all in minutes when the key is at hand. Both files
are owner-only and never exported. Finding an address in text is then: parse each address literal,
hash it, look the hash up. Writers (a daemon and a `probe run`) merge under an flock on the key file,
which is never replaced, so neither loses the other's addresses.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Iterable
from pathlib import Path

from probe.addresses import IPAddress, parse

_VERSION = 2


def memory_path(store: Path) -> Path:
    return store.with_name(f"{store.stem}.own-addresses.json")


class OwnAddressMemory:
    """Keyed hashes of this probe's own addresses; `knows(ip)` says whether `ip` is one of them."""

    def __init__(self, path: Path | None, key_path: Path | None, key: bytes, digests: Iterable[str] = ()) -> None:
        self.path = path
        self.key_path = key_path
        self._key = key
        self._digests = set(digests)

    @classmethod
    def empty(cls) -> OwnAddressMemory:
        """One that remembers for this process only (nothing is written)."""
        return cls(None, None, secrets.token_bytes(32))

    @classmethod
    def load(cls, path: Path, key_path: Path, *, create: bool = True) -> OwnAddressMemory:
        """The memory in `path` under the key in `key_path` (made when missing, if `create`: a reader
        such as export makes nothing). A missing or damaged digest file starts empty; without a usable
        key it remembers for this process only."""
        if not create and not key_path.exists():
            return cls.empty()
        try:
            key = _load_or_make_key(key_path)
        except (OSError, ValueError):
            return cls.empty()
        return cls(path, key_path, key, _read_digests(path))

    def __len__(self) -> int:
        return len(self._digests)

    def _digest(self, ip: IPAddress) -> str:
        return hmac.new(self._key, ip.packed, hashlib.sha256).hexdigest()

    def knows(self, ip: IPAddress) -> bool:
        return bool(self._digests) and self._digest(ip) in self._digests

    def remember(self, addresses: Iterable[str]) -> bool:
        """Add these addresses (loopback and unparsable ones are ignored); True when something was new.
        OSError when the file cannot be written (this process still knows them)."""
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
        if self.path is None or self.key_path is None:
            return
        with open(self.key_path, "rb") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another writer merges before or after us, never over us
            try:
                self._digests |= _read_digests(self.path)
                payload = json.dumps({"version": _VERSION, "digests": sorted(self._digests)})
                fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
                try:
                    with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600
                        handle.write(payload)
                        handle.flush()
                        os.fsync(handle.fileno())
                    os.replace(tmp, self.path)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    raise
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _read_digests(path: Path) -> set[str]:
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") == _VERSION:
            return {str(d) for d in data["digests"]}
    return set()


def _load_or_make_key(path: Path) -> bytes:
    with contextlib.suppress(FileNotFoundError, ValueError):
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
        if len(key) == 32:
            return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it just now (or it is damaged: then it stays unusable)
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
    return key
