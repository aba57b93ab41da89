"""The configuration file's [hub] section: where the hub listens, its database, its limits (probe.hub).

Checked from the text alone (like the rest of probe.config.model); `probe hub check` also connects to
the database. Nothing here opens a socket.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from probe.config.durations import Duration
from probe.models.base import Frozen


class HubSettings(Frozen):
    database: str = "dbname=probe_hub"  # libpq connection string or postgresql:// URL
    listen: str = "127.0.0.1:8480"  # IP:PORT; put TLS in front (nginx, caddy) on a public address
    workers: int = Field(default=1, ge=1, le=64)  # processes (signature checks are CPU-bound: one per core)
    pool_size: int = Field(default=8, ge=1, le=200)  # per worker
    max_concurrency: int = Field(default=32, ge=1, le=4096)  # requests at once; more get 503 + Retry-After
    max_body: int = Field(default=16 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)  # bytes of one request
    body_timeout: Duration = Field(default="30s", validate_default=True)  # reading one request body
    retry_after: int = Field(default=5, ge=1, le=3600)  # seconds, in 503 answers
    clock_tolerance: Duration = Field(default="10m", validate_default=True)  # records dated later are flagged

    @field_validator("listen")
    @classmethod
    def _ip_port(cls, value: str) -> str:
        split_listen(value)
        return value


def split_listen(text: str) -> tuple[str, int]:
    """'127.0.0.1:8480' or '[::1]:8480' → (host, port); ValueError otherwise."""
    import ipaddress

    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        number = -1
    if not sep or not 0 <= number <= 65535:
        raise ValueError(f"{text!r} is not IP:PORT (e.g. \"127.0.0.1:8480\")")
    return host, number
