"""The store as the runner's sink (`probe.measure.sink.RunSink`): runs and measurements into the chain.

It signs what it keeps with the run's signer and, when a run opens, closes the runs SIGKILLed
processes left `running`. It does not measure, scrub or classify: it is handed finished measurements.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from probe.errors import StoreError
from probe.models import Artifact, Measurement, Verdict
from probe.store.links import Signer
from probe.store.liveness import close_dead_runs
from probe.store.store import Store, StoredEntry
from probe.store.writes import batch_appends


class StoreSink:
    def __init__(self, store: Store, *, signer: Signer | None) -> None:
        self.store, self.signer = store, signer

    def begin(self, run_id: str, list_name: str | None) -> set[str]:
        close_dead_runs(self.store, signer=self.signer)  # rows SIGKILLed runs left `running`: now interrupted
        return self.store.start_run(run_id, list_name)

    def keep(self, measurement: Measurement, artifacts: Sequence[Artifact], verdict: Verdict | None, *,
             run_id: str, dumped: dict[str, object] | None = None) -> StoredEntry:
        return self.store.append(measurement, artifacts, verdict, run_id=run_id, signer=self.signer, dumped=dumped)

    def end(self, run_id: str, status: str) -> None:
        self.store.finish_run(run_id, status, signer=self.signer)

    def batch(self, interval_s: float, *, on_error: Callable[[StoreError], None]) -> Callable[[], None]:
        return batch_appends(self.store.batch, interval_s, on_error=on_error)
