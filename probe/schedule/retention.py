"""Retention: drop artifact bytes (bodies, certificates, DNS wire data) no measurement stored in N days.

An artifact is aged by the last measurement that produced it, so a certificate chain or blockpage
that today's measurements still see is kept for them. Measurements, their hashes and the artifacts'
own hashes stay, so the chain still verifies and a report can say which artifacts were pruned and
when. The store does the pruning; this module only turns "N days" into the cut-off time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from probe.store import Store


def cutoff_iso(days: float, *, now: datetime | None = None) -> str:
    """UTC ISO-8601 time `days` before now, in the store's timestamp format."""
    moment = (now or datetime.now(UTC)) - timedelta(days=days)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def prune_older_than(store: Store, *, days: float, now: datetime | None = None) -> int:
    """Prune artifacts last stored more than `days` ago; returns how many were pruned now."""
    return store.prune_artifacts(older_than=cutoff_iso(days, now=now))
