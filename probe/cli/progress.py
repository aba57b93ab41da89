"""The live view of a run: a progress bar with ok/anomalous/failed counts and ETA, plus summary rows."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from probe.measure.runner import RunOutcome

MAX_OK_ROWS = 200  # a 2,000-URL run prints every anomaly but not every "ok"
# and memory does not grow with the list: past this many rows the rest are counted, not kept (the
# store has them all; `probe results` lists them)
MAX_ROWS = 2000


@dataclass(frozen=True)
class ResultRow:
    measurement_id: str
    url: str
    verdict: str
    step: str
    failure: str
    confidence: str = ""  # empty when unclassified
    reason: str = ""  # the verdict's first reason, in full; empty when there is none


def row_of(outcome: RunOutcome) -> ResultRow:
    m, v = outcome.measurement, outcome.verdict
    return ResultRow(measurement_id=m.measurement_id, url=m.input, verdict=v.label if v else "unclassified",
                     step=m.failed_operation or "", failure=m.final_failure or "",
                     confidence=v.confidence if v else "", reason=v.reasons[0] if v and v.reasons else "")


class RunDisplay:
    def __init__(self, *, total: int, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.rows: list[ResultRow] = []
        self.hidden_ok = 0
        self.hidden_other = 0
        self.ok = self.anomalous = self.failed = 0
        self._console = Console(stderr=True)
        self._progress = Progress(TextColumn("measuring"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("{task.fields[counts]}"), TimeRemainingColumn(),
                                  console=self._console, transient=True, disable=not enabled)
        self._task = self._progress.add_task("run", total=total, counts="")

    def __enter__(self) -> RunDisplay:
        self._progress.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._progress.__exit__(exc_type, exc, tb)

    def add(self, outcome: RunOutcome) -> None:
        row = row_of(outcome)
        # ok: reachable; anomalous: a censorship verdict; failed: everything else (down, inconclusive,
        # a site refusing this network, or unclassified with a failure).
        if row.verdict == "ok" or (row.verdict == "unclassified" and not row.failure):
            self.ok += 1
        elif outcome.verdict is not None and outcome.verdict.blocked:
            self.anomalous += 1
        else:
            self.failed += 1
        if row.verdict == "ok" and len(self.rows) >= MAX_OK_ROWS:
            self.hidden_ok += 1
        elif len(self.rows) >= MAX_ROWS:
            self.hidden_other += 1
        else:
            self.rows.append(row)
        counts = f"ok {self.ok} · anomalous {self.anomalous} · failed {self.failed}"
        self._progress.update(self._task, advance=1, counts=counts)

    def note(self, text: str) -> None:
        self._console.print(text)
