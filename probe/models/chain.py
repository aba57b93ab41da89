"""The records of the probe's chain besides measurements, and one link of the chain, of any kind.

The chain is one sequence of links (seq 1, 2, 3 …), each `SHA-256(prev_hash + record_sha256)` over
the canonical JSON of its record and signed like the others. A link's record is one of:

- a measurement (`probe.models.Measurement`, no `kind` field: the evidence itself);
- a verdict record: what the probe concluded about one measurement, bound to that measurement's
  record hash; `probe reclassify` appends a new one and the old ones stay, so a measurement's
  verdict is its latest verdict record;
- a key record: the first link a key signed in this store, saying how many unsigned links came
  before it; from there on every link is signed;
- a run record: what a run says about itself when it closes (list, times, status, counts, how many
  measurements it stored).

Records other than measurements carry their `kind`, so a link read alone (by the hub, by a bundle
verifier) says what it is, and that is covered by its hash. This module only declares them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, TypeAdapter

from probe.models.base import Frozen
from probe.models.canonical import KEY_FINGERPRINT_PATTERN, SHA256_HEX_PATTERN, canonical_json
from probe.models.verdict import Verdict

LinkKind = Literal["measurement", "verdict", "key", "run"]
RECORD_KINDS: tuple[str, ...] = ("verdict", "key", "run")  # the kinds stored apart from measurements


class VerdictRecord(Frozen):
    kind: Literal["verdict"] = "verdict"
    measurement_id: str
    measurement_sha256: Annotated[str, StringConstraints(pattern=SHA256_HEX_PATTERN)]
    verdict: Verdict
    rules_version: str
    classified_at: str  # UTC ISO-8601


class KeyRecord(Frozen):
    kind: Literal["key"] = "key"
    key_fingerprint: Annotated[str, StringConstraints(pattern=KEY_FINGERPRINT_PATTERN)]
    introduced_at: str
    unsigned_links_before: Annotated[int, Field(ge=0)]  # links before this one that carry no signature


class RunRecord(Frozen):
    kind: Literal["run"] = "run"
    run_id: str
    list_name: str | None
    started_at: str
    finished_at: str
    status: str
    counts: dict[str, int]
    measurements: Annotated[int, Field(ge=0)]  # measurements stored under this run_id when it closed


ChainRecord = Annotated[VerdictRecord | KeyRecord | RunRecord, Field(discriminator="kind")]
_RECORD = TypeAdapter(ChainRecord)


def parse_record(text: str | bytes) -> VerdictRecord | KeyRecord | RunRecord:
    """A verdict, key or run record from its canonical JSON; pydantic's ValidationError if it is none."""
    return _RECORD.validate_json(text)


def record_bytes(record: VerdictRecord | KeyRecord | RunRecord) -> bytes:
    """The canonical bytes that are hashed, stored and exported."""
    return canonical_json(record.model_dump(mode="json"))


@dataclass(frozen=True)
class Link:
    """One link of the chain as stored and as exported: self-describing (`kind`), checkable alone."""

    kind: str
    seq: int
    record: str  # canonical JSON text, exactly as hashed
    record_sha256: str
    prev_hash: str
    chain_hash: str
    signature: str | None
    key_fingerprint: str | None
    subject: str | None = None  # the measurement it is or is about, the run, the key's fingerprint
