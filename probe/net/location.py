"""Redirect targets, resolved as a browser would: see `probe.models.location` (shared with classify)."""

from probe.models.location import browser_location

__all__ = ["browser_location"]
