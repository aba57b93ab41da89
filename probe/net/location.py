"""Redirect targets, resolved as a browser would: see `probe.web.location` (shared with classify)."""

from probe.web.location import browser_location

__all__ = ["browser_location"]
