"""The store's rows beside the chain, checked against the chain: measurement index columns, the
verdicts index, the runs table, and the artifact bytes the records cite.

Each is a copy made for speed (filters, `probe results`, `probe status`) or bytes named by hash;
only the chain is hashed and signed, so each copy must say what its link says. Part of
`probe verify --store` (verify_store.py); nothing here raises on a row edited by hand.
"""

from __future__ import annotations

import json
import sqlite3
from urllib.parse import urlsplit

from pydantic import ValidationError

from probe.evidence.verify.result import VerifyResult, measurement_label
from probe.i18n import N_, _
from probe.models import Measurement, Verdict
from probe.models.artifacts import ArtifactKind
from probe.models.canonical import sha256_hex
from probe.models.chain import RunRecord, VerdictRecord, parse_record
from probe.models.verdict import is_blocked_label
from probe.store import Store, StoredEntry


def check_columns(entry: StoredEntry, record: Measurement, result: VerifyResult) -> None:
    """The indexed columns (what results, export and report filter on) must say what the signed record says.

    They are copies made when the measurement was stored; only the record is hashed and signed, so a
    column edited by hand would silently change what a selection holds.
    """
    where = measurement_label(entry.measurement_id, entry.seq)
    expected: dict[str, str | None] = {
        "input": record.input, "host": _host(record.input), "test_start_time": record.test_start_time,
        "probe_asn": record.network.probe_asn, "probe_cc": record.network.probe_cc,
        "category_code": record.category_code,
    }
    ok = True
    for column, value in expected.items():
        stored = getattr(entry, column)
        if stored != value:
            result.fail(where, _("its {column} column says {stored} but its signed record says {value}: the row was "
                                 "changed (filters on that column select the wrong measurements)").format(
                                     column=column, stored=repr(stored), value=repr(value)))
            ok = False
    if ok:
        result.checked[N_("measurement index rows")] += 1


def _artifact_label(sha: str, kind: str) -> str:
    return _("artifact {sha}… ({kind})").format(sha=sha[:16], kind=kind)


def _host(url: str) -> str:
    """The host column as the store derives it: the lower-cased host name of the input."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class VerdictIndexCheck:
    """Each measurement's verdicts row must copy its latest verdict record; a row no record backs fails,
    unless it was made before verdicts were chained (then it is counted and reported unsigned)."""

    def __init__(self, store: Store, result: VerifyResult) -> None:
        self._store = store
        self._r = result
        self.unsigned = 0

    def check(self, entry: StoredEntry, chaining_began: int | None) -> None:
        where = measurement_label(entry.measurement_id, entry.seq)
        try:
            row = self._store.verdict_row(entry.measurement_id)
            links = self._store.verdict_links(entry.measurement_id)
        except (sqlite3.Error, ValueError, TypeError) as exc:
            self._r.fail(where, _("its verdict rows cannot be read ({problem}): the store was edited or "
                                  "damaged").format(problem=exc))
            return
        if not links:
            if row is None:
                return
            if row[5] is None and (chaining_began is None or entry.seq < chaining_began):
                self.unsigned += 1
                return
            self._r.fail(where, _("its verdicts row says {label} but no signed verdict record backs it: the row was "
                                  "added or edited").format(label=repr(row[0])))
            return
        latest = links[-1]
        try:
            record = parse_record(latest.record)
        except ValidationError:
            return  # the chain check already failed this record
        if not isinstance(record, VerdictRecord):
            return
        problem = index_row_problem(row, latest.seq, record)
        if problem:
            self._r.fail(where, _("{problem} but its latest signed verdict (seq {seq}) says {label}: the verdicts "
                                  "table was edited").format(problem=problem, seq=latest.seq,
                                                             label=repr(record.verdict.label)))
        else:
            self._r.checked[N_("verdict index rows")] += 1

    def summarize(self) -> None:
        if self.unsigned:
            self._r.warn(_("verdicts"), _("{count} verdict(s) are unsigned: they were made before verdicts were "
                                           "chained, so nothing proves them and `probe export` leaves them out; "
                                           "`probe reclassify` makes signed ones").format(count=self.unsigned))


def index_row_problem(row: tuple[str, int, str, str, str, int | None] | None, seq: int,
                      record: VerdictRecord) -> str | None:
    """How a verdicts row (`Store.verdict_row`) differs from the verdict record at `seq`, or None."""
    if row is None:
        return _("it has no verdicts row")
    label, blocked, verdict_json, rules_version, classified_at, link_seq = row
    try:
        verdict = Verdict.model_validate_json(verdict_json)
    except ValidationError:
        return _("its verdicts row does not parse")
    if (label, verdict) != (record.verdict.label, record.verdict) or blocked != int(is_blocked_label(label)):
        return _("its verdicts row says {label} (blocked={blocked})").format(label=repr(label), blocked=blocked)
    if (rules_version, classified_at, link_seq) != (record.rules_version, record.classified_at, seq):
        return _("its verdicts row (rules {rules}, {classified_at}, link {seq}) is not the copy").format(
            rules=repr(rules_version), classified_at=classified_at, seq=link_seq)
    return None


def check_runs(store: Store, result: VerifyResult) -> None:
    """Each runs row against its latest run record; what is not covered is said, not passed over."""
    uncovered: list[str] = []
    for run_id in store.run_ids():
        row = store.run_row(run_id)
        links = store.run_links(run_id)
        if row is None:
            continue
        if not links:
            uncovered.append(run_id)
            continue
        try:
            record = parse_record(links[-1].record)
        except ValidationError:
            continue  # failed by the chain check
        if not isinstance(record, RunRecord):
            continue
        where = f"run {run_id}"
        if row["status"] == "running":
            # Continued after it was closed once: the row is newer than its record until it closes again.
            if store.measurement_count(run_id) < record.measurements:
                result.fail(where, _("its signed run record (seq {seq}) counts {count} measurements, more than the "
                                     "store holds under it: some were deleted or moved").format(
                                         seq=links[-1].seq, count=record.measurements))
            continue
        stated = {"list_name": record.list_name, "started_at": record.started_at,
                  "finished_at": record.finished_at, "status": record.status, "counts": record.counts}
        counts = _counts(row["counts"])
        differs = [k for k, v in stated.items() if (counts if k == "counts" else row[k]) != v]
        if differs and str(row["finished_at"] or "") > record.finished_at and \
                store.measurement_count(run_id) >= record.measurements:
            # Continued after its record, then closed again by something without the key (the daemon
            # closing a killed run at start): the newer row is not covered, and that is what is said.
            result.warn(where, _("closed again ({finished_at}) after its last run record (seq {seq}), without the "
                                 "key: its row ({columns}) is not covered").format(
                                     finished_at=row["finished_at"], seq=links[-1].seq, columns=", ".join(differs)))
        elif differs:
            result.fail(where, _("its runs row ({columns}) is not what its signed run record (seq {seq}) says: the "
                                 "runs table was edited").format(columns=", ".join(differs), seq=links[-1].seq))
        elif store.measurement_count(run_id) != record.measurements:
            result.fail(where, _("its signed run record (seq {seq}) counts {count} measurements but {held} carry "
                                 "its run_id: measurements were moved between runs or deleted").format(
                                     seq=links[-1].seq, count=record.measurements,
                                     held=store.measurement_count(run_id)))
        else:
            result.checked[N_("runs")] += 1
    if uncovered:
        more = _(" and {count} more").format(count=len(uncovered) - 3) if len(uncovered) > 3 else ""
        shown = ", ".join(uncovered[:3]) + more
        result.warn(_("runs"), _("{count} run(s) ({shown}) have no run record, so their rows (list, times, "
                                 "status, counts) are not covered by any hash: still running, killed, closed "
                                 "without the key, or closed before runs were chained").format(
                                     count=len(uncovered), shown=shown))


def _counts(text: object) -> object:
    try:
        return json.loads(str(text))
    except ValueError:
        return text


class ArtifactCheck:
    def __init__(self, store: Store, result: VerifyResult) -> None:
        self._store = store
        self._r = result
        self._seen: set[str] = set()
        self.pruned = 0

    def check(self, entry: StoredEntry, cited: dict[str, ArtifactKind]) -> None:
        for sha, kind in cited.items():
            if sha in self._seen:
                continue
            self._seen.add(sha)
            try:
                # One SELECT: a prune committing between two reads would look like bytes deleted by hand.
                row = self._store.artifact_row(sha)
            except (sqlite3.Error, ValueError, TypeError) as exc:
                self._r.fail(_artifact_label(sha, kind),
                             _("its row cannot be read ({problem}): the store was edited or damaged").format(
                                 problem=exc))
                continue
            if row is None:
                self._r.fail(measurement_label(entry.measurement_id, entry.seq),
                             _("cites a {kind} artifact {sha}… that is not in the store").format(kind=kind,
                                                                                                  sha=sha[:16]))
                continue
            _sha, _kind, pruned_at, data = row
            if data is None and pruned_at is None:
                # Retention records when it deletes; bytes gone without that record were deleted by hand.
                self._r.fail(_artifact_label(sha, kind),
                             _("its bytes are missing but retention never pruned it (first cited by "
                               "{measurement}): deleted or damaged").format(
                                   measurement=measurement_label(entry.measurement_id, entry.seq)))
            elif data is None:
                self.pruned += 1
            elif sha256_hex(data) != sha:
                self._r.fail(_artifact_label(sha, kind),
                             _("its bytes no longer hash to its name: changed or damaged (first cited by "
                               "{measurement})").format(measurement=measurement_label(entry.measurement_id,
                                                                                       entry.seq)))
            else:
                self._r.checked[N_("artifacts")] += 1

    def summarize(self) -> None:
        if self.pruned:
            self._r.note(_("artifacts"), _("{count} artifact(s) were pruned by retention (not tampering): the records "
                                            "keep their hashes").format(count=self.pruned))
