"""The probe's Ed25519 signing key: where it lives, how it is made, how it signs and is checked.

The private key is a PKCS#8 PEM file, mode 0600, in the user's config folder (never under `results/`,
so sharing a results folder never shares the key). Its public half is identified by a fingerprint,
"ed25519:" + SHA-256 of the 32 raw public-key bytes (hex); that is what an operator publishes.
What is signed is always ASCII/UTF-8 bytes: a chain hash (64 hex characters) or a bundle manifest.
This module does not decide *what* to sign; the store and the bundle writer do.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from probe.errors import EvidenceError
from probe.i18n import _
from probe.models.canonical import sha256_hex
from probe.store.own_addresses import OwnAddressMemory, memory_path
from probe.store.store import Signer

KEY_FILE_NAME = "probe_ed25519.key"
FINGERPRINT_PREFIX = "ed25519:"


def default_key_path() -> Path:
    """$PROBE_KEY if set (tests, several probes on one machine), else $XDG_CONFIG_HOME/probe/…"""
    explicit = os.environ.get("PROBE_KEY")
    if explicit:
        return Path(explicit).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config).expanduser() / "probe" / KEY_FILE_NAME


def own_address_key_path() -> Path:
    """The key of the own-address memory (probe.store.own_addresses): beside the signing key, not the
    store, since the results folder is what volunteers share."""
    return default_key_path().with_name("own-addresses.key")


def own_address_memory(store_path: Path, *, create: bool = True) -> OwnAddressMemory:
    """The own-address memory of the store at `store_path`: the one place that pairs the digest file
    beside the store with its key beside the signing key. A reader (`create=False`) makes nothing."""
    return OwnAddressMemory.load(memory_path(store_path), own_address_key_path(), create=create)


def fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return FINGERPRINT_PREFIX + sha256_hex(raw)


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def generate_key(path: Path | None = None) -> Ed25519PrivateKey:
    """Make a new key at `path` (default: `default_key_path()`), mode 0600; never overwrite one."""
    path = path or default_key_path()
    if path.exists():
        raise EvidenceError(_("a key already exists at {path}; it was not replaced").format(path=path),
                            hint=_("`probe key show` prints its fingerprint"))
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # O_EXCL: a key made concurrently by another process is never clobbered; 0600 from the start
        # so the private key is never readable by others, not even for an instant.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise EvidenceError(_("a key already exists at {path}; it was not replaced").format(path=path)) from exc
    except OSError as exc:
        raise EvidenceError(_("cannot create the key file {path}: {problem}").format(path=path, problem=exc.strerror),
                            hint=_("set PROBE_KEY=/path/to/key or XDG_CONFIG_HOME")) from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def load_private_key(path: Path | None = None) -> Ed25519PrivateKey:
    path = path or default_key_path()
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise EvidenceError(_("no signing key at {path}").format(path=path), hint=_("run `probe init` first")) from exc
    except OSError as exc:
        raise EvidenceError(_("cannot read the key file {path}: {problem}").format(path=path,
                                                                                   problem=exc.strerror)) from exc
    if b"PRIVATE KEY-----" not in data[:4096]:
        # Said before the permission check, whose hint (chmod 600) would be harmful for a file such
        # as /etc/passwd given here by mistake.
        raise EvidenceError(_("the key file {path} is not a readable private key (no PEM private key in it)").format(
            path=path), hint=_("give the file `probe init` made, e.g. probe_ed25519.key"))
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        # Like ssh: a private key others can read may have been copied, so signatures prove nothing.
        raise EvidenceError(_("the key file {path} is readable by other users").format(path=path),
                            hint=f"chmod 600 {path}")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise EvidenceError(_("the key file {path} is not a readable private key").format(path=path)) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise EvidenceError(_("the key file {path} is not an Ed25519 key").format(path=path))
    return key


def load_signer(key_path: Path | None = None) -> Signer | None:
    """A signer for the store, or None when no key has been made yet (`probe init` makes one).

    None only for the default place (`default_key_path()`, which $PROBE_KEY may set): a key path
    given explicitly (`--key`, a daemon config's `key =`) that does not exist is a mistake, and
    EvidenceError says so rather than storing every measurement unsigned.
    """
    if key_path is not None and not key_path.exists():
        raise missing_key_error(key_path)
    path = key_path or default_key_path()
    if not path.exists():
        return None
    key = load_private_key(path)
    key_fp = fingerprint(key.public_key())

    def sign(chain_hash_hex: str) -> tuple[str, str]:
        return key.sign(chain_hash_hex.encode("ascii")).hex(), key_fp

    return sign


def missing_key_error(path: Path) -> EvidenceError:
    """An explicitly named key file that is not there."""
    return EvidenceError(_("no signing key at {path}").format(path=path),
                         hint=_("run `probe init --key {path}` or leave --key out").format(path=path))


def load_public_key_pem(data: bytes) -> Ed25519PublicKey:
    """Parse a public key shipped in a bundle; EvidenceError if it is not an Ed25519 key."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise EvidenceError("the public key is not a readable PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise EvidenceError("the public key is not an Ed25519 key")
    return key


def signature_valid(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def signature_hex_valid(public_key: Ed25519PublicKey, signature_hex: str, message: bytes) -> bool:
    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError:
        return False
    return signature_valid(public_key, signature, message)
