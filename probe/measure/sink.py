"""What the runner hands its results to, and what it asks about the probe's own addresses.

measure/ measures; it does not know how evidence is kept. The runner opens a run on a `RunSink`,
hands it each finished (scrubbed, classified) measurement and closes the run; the store side
implements it (`probe.store.sink.StoreSink`: chain, signatures, the runs table). Likewise
`AddressMemory` is the own-address memory as the scrubber sees it; `probe.store.own_addresses`
implements it. These are Protocols only: nothing here stores or remembers anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from probe.addresses import IPAddress
from probe.errors import StoreError
from probe.models import Artifact, Measurement, Verdict


class Kept(Protocol):
    """A measurement as kept: what `probe run --json` prints about it."""

    @property
    def chain_hash(self) -> str: ...

    @property
    def record(self) -> str: ...  # the canonical JSON text, exactly as hashed


class RunSink(Protocol):
    def begin(self, run_id: str, list_name: str | None) -> set[str]:
        """Open (or continue, after a crash) a run; returns the inputs it already measured."""

    def keep(self, measurement: Measurement, artifacts: Sequence[Artifact], verdict: Verdict | None, *,
             run_id: str, dumped: dict[str, object] | None = None) -> Kept:
        """Keep one finished measurement (with its artifacts and verdict) for good, or raise StoreError.
        `dumped`, when given, is `measurement.model_dump(mode="json")` already made (by the scrubber)."""

    def end(self, run_id: str, status: str) -> None:
        """Close the run as `finished`, `interrupted` or `failed` (keeping any open batch first)."""

    def batch(self, interval_s: float, *, on_error: Callable[[StoreError], None]) -> Callable[[], None]:
        """Keep what `keep` is handed in batches at most `interval_s` old (0: each at once); a batch
        that cannot be kept is reported to `on_error`. Returns the function that stops batching."""


class AddressMemory(Protocol):
    """The probe's own addresses remembered across runs (as keyed hashes, so never listed)."""

    def __len__(self) -> int: ...

    def knows(self, ip: IPAddress) -> bool: ...

    def remember(self, addresses: Iterable[str]) -> bool:
        """Add these; True when something was new. OSError when they could not be written down."""
