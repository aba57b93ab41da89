"""The base class every boundary model shares: frozen, strict about unknown fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Immutable, rejects unknown keys: what we store, export or send must be exactly what we declared."""

    model_config = ConfigDict(frozen=True, extra="forbid")
