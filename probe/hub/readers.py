"""Read tokens: what lets an advocate download bundles from the hub (GET /api/v1/bundle).

A read token is 32 random bytes shown once (`probe hub invite --read`); only its SHA-256 is kept, so
a copy of the database reads nothing. Each has a short public id (`read:` and 12 hex digits of the
hash) that `probe hub revoke` names. Read tokens and probe invites live in separate tables: an invite
(or an enrolled key) never grants reading, and a read token never enrols a probe or uploads.
This module does not serve anything; probe.hub.app asks `read_token_name` on each request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from probe.errors import HubError
from probe.hub.enrol import token_hash

ID_PREFIX = "read:"


@dataclass(frozen=True)
class ReadToken:
    token_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def token_id(token: str) -> str:
    return ID_PREFIX + token_hash(token)[:12]


def create_read_token(conn: psycopg.Connection[Any], *, name: str) -> tuple[str, str]:
    """A new read token for `name` (an advocates' organisation): (token, its public id)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise HubError("a reader's name is 1 to 100 characters", hint='e.g. --name "KZ advocates"')
    token = secrets.token_urlsafe(32)
    with conn.transaction():
        conn.execute("INSERT INTO read_tokens(token_sha256, token_id, name) VALUES (%s, %s, %s)",
                     (token_hash(token), token_id(token), name))
    return token, token_id(token)


def revoke_read_token(conn: psycopg.Connection[Any], *, ident: str) -> str:
    """Refuse this read token from now on; returns the reader's name."""
    with conn.transaction():
        row = conn.execute("UPDATE read_tokens SET revoked_at = coalesce(revoked_at, now()) "
                           "WHERE token_id = %s RETURNING name", (ident,)).fetchone()
    if row is None:
        raise HubError(f"no read token {ident} on this hub", hint="`probe hub probes` lists the read tokens")
    return str(row[0])


def list_read_tokens(conn: psycopg.Connection[Any]) -> list[ReadToken]:
    rows = conn.execute("SELECT token_id, name, created_at, revoked_at, last_used_at FROM read_tokens "
                        "ORDER BY created_at").fetchall()
    return [ReadToken(str(r[0]), str(r[1]), r[2], r[3], r[4]) for r in rows]


async def read_token_name(conn: psycopg.AsyncConnection[Any], *, token: str) -> str | None:
    """The reader's name if `token` is a valid, unrevoked read token (its use is recorded), else None."""
    if not token or len(token) > 200:
        return None
    cur = await conn.execute("UPDATE read_tokens SET last_used_at = now() "
                             "WHERE token_sha256 = %s AND revoked_at IS NULL RETURNING name", (token_hash(token),))
    row = await cur.fetchone()
    return str(row[0]) if row else None
