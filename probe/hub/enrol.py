"""Enrolment on the hub's database: one-time invite tokens (stored hashed), joining, revoking.

Synchronous functions for the `probe hub` commands on the hub host, and `join` for the app. A token
is 32 random bytes shown once; only its SHA-256 is kept, so a copy of the database enrols no one.
Revoking a key refuses its new uploads; the links it sent before stay, shown as from a revoked key.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from probe.errors import HubError


@dataclass(frozen=True)
class ProbeRow:
    key_fingerprint: str
    name: str
    enrolled_at: datetime
    revoked_at: datetime | None
    last_upload_at: datetime | None
    links: int


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_invite(conn: psycopg.Connection[Any], *, name: str) -> str:
    """A new one-time token for a probe called `name`; printed once, stored only as its hash."""
    name = name.strip()
    if not name or len(name) > 100:
        raise HubError("a probe's name is 1 to 100 characters", hint='e.g. --name "Almaty 3"')
    token = secrets.token_urlsafe(32)
    with conn.transaction():
        conn.execute("INSERT INTO invites(token_sha256, name) VALUES (%s, %s)", (token_hash(token), name))
    return token


def revoke(conn: psycopg.Connection[Any], *, key_fingerprint: str) -> str:
    """Refuse new uploads from this key; returns the probe's name. Earlier links are kept."""
    with conn.transaction():
        row = conn.execute("UPDATE probes SET revoked_at = coalesce(revoked_at, now()) "
                           "WHERE key_fingerprint = %s RETURNING name", (key_fingerprint,)).fetchone()
    if row is None:
        raise HubError(f"no probe with key {key_fingerprint} is enrolled on this hub",
                       hint="`probe hub probes` lists the enrolled keys")
    return str(row[0])


def list_probes(conn: psycopg.Connection[Any]) -> list[ProbeRow]:
    rows = conn.execute(
        "SELECT p.key_fingerprint, p.name, p.enrolled_at, p.revoked_at, p.last_upload_at, "
        "(SELECT count(*) FROM links l WHERE l.key_fingerprint = p.key_fingerprint) "
        "FROM probes p ORDER BY p.enrolled_at").fetchall()
    return [ProbeRow(str(r[0]), str(r[1]), r[2], r[3], r[4], int(r[5])) for r in rows]


class JoinRefused(Exception):
    """The token is unknown or used, or the key was revoked: answered 403."""


async def join(conn: psycopg.AsyncConnection[Any], *, token: str, key_fingerprint: str,
               public_key_pem: str) -> str:
    """Use a one-time token to enrol a key; returns the name the invite gave the probe."""
    async with conn.transaction():
        cur = await conn.execute("SELECT name FROM invites WHERE token_sha256 = %s AND used_at IS NULL FOR UPDATE",
                                 (token_hash(token),))
        invite = await cur.fetchone()
        if invite is None:
            raise JoinRefused("the token is unknown or was already used: ask the hub's operator for a new one")
        cur = await conn.execute("SELECT revoked_at FROM probes WHERE key_fingerprint = %s", (key_fingerprint,))
        known = await cur.fetchone()
        if known is not None and known[0] is not None:
            raise JoinRefused("this key was revoked on the hub: make a new key to join again")
        await conn.execute("INSERT INTO probes(key_fingerprint, name, public_key_pem) VALUES (%s, %s, %s) "
                           "ON CONFLICT (key_fingerprint) DO UPDATE SET name = excluded.name",
                           (key_fingerprint, invite[0], public_key_pem))
        await conn.execute("UPDATE invites SET used_at = now(), used_by = %s WHERE token_sha256 = %s",
                           (key_fingerprint, token_hash(token)))
    return str(invite[0])
