"""Golden cases: stored lab measurements re-classified and compared with their reviewed verdicts.

Layout and workflow: tests/unit/golden/README.md. With no case files yet, only the helpers are checked.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from probe.classify import build_context, classify, load_fingerprints
from probe.models import Measurement, Verdict

GOLDEN = Path(__file__).parent / "golden"
_FINGERPRINTS = load_fingerprints(None)
# Bodies above this are left out of a case (as if pruned) to keep the repository small.
MAX_BODY_BYTES = 64 * 1024


def golden_case(scenario: str, measurement: Measurement, bodies: Mapping[str, bytes],
                not_bogon: Iterable[str] = ()) -> dict[str, Any]:
    """A golden case as written to `golden/<scenario>.json`, expected verdict from today's rules."""
    case: dict[str, Any] = {
        "scenario": scenario, "not_bogon": list(not_bogon), "measurement": measurement.model_dump(mode="json"),
        "bodies": {sha: base64.b64encode(data).decode("ascii") for sha, data in sorted(bodies.items())},
    }
    case["expected"] = _expected(reclassify(case))
    return case


def reclassify(case: Mapping[str, Any]) -> Verdict:
    measurement = Measurement.model_validate(case["measurement"])
    bodies = {sha: base64.b64decode(text) for sha, text in case["bodies"].items()}
    ctx = build_context(fingerprints=_FINGERPRINTS, not_bogon=case.get("not_bogon", ()))
    return classify(measurement, bodies=bodies, context=ctx)


def _expected(verdict: Verdict) -> dict[str, Any]:
    return verdict.model_dump(mode="json", exclude={"rules_version"})


def _dump(case: Mapping[str, Any]) -> str:
    return json.dumps(case, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


CASES = sorted(GOLDEN.glob("*.json"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_case(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    got = _expected(reclassify(case))
    if os.environ.get("PROBE_UPDATE_GOLDEN"):
        case["expected"] = got
        path.write_text(_dump(case), encoding="utf-8")
        return
    assert got == case["expected"], f"{path.name}: the verdict changed; review and regenerate (README)"


def test_helpers_round_trip(tmp_path: Path) -> None:
    from test_classify_builders import healthy

    b = healthy()
    case = golden_case("ok_https", b.measurement(), b.bodies, ["198.18.0.0/15"])
    path = tmp_path / "ok_https.json"
    path.write_text(_dump(case), encoding="utf-8")
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert loaded["expected"]["label"] == "ok"
    assert _expected(reclassify(loaded)) == loaded["expected"]
    # a pruned body is a legal case too
    loaded["bodies"] = {}
    assert reclassify(loaded).label == "ok"


def write_from_lab_run(store_path: Path, results_jsonl: Path, folder: Path = GOLDEN) -> list[str]:
    """Cases from `probe lab run --store STORE --json > RESULTS` (names whose verdict missed are returned)."""
    from probe.lab.addressing import not_bogon_ranges
    from probe.store.store import Store

    missed = []
    with Store.open(store_path, create=False) as store:
        for line in results_jsonl.read_text(encoding="utf-8").splitlines():
            run = json.loads(line)
            entry = store.get(run["measurement_id"])
            assert entry is not None, run["name"]
            measurement = entry.measurement()
            wanted = {r.response.body_sha256 for r in measurement.requests if r.response and r.response.body_sha256}
            bodies = {sha: data for sha in wanted
                      if (data := store.artifact(sha)) is not None and len(data) <= MAX_BODY_BYTES}
            case = golden_case(run["name"], measurement, bodies, not_bogon_ranges())
            if case["expected"]["label"] != run["expected"]:
                missed.append(run["name"])
            (folder / f"{run['name']}.json").write_text(_dump(case), encoding="utf-8")
    return missed


if __name__ == "__main__":  # python tests/unit/test_classify_golden.py STORE RESULTS.jsonl
    import sys

    print("verdicts that miss their scenario:", write_from_lab_run(Path(sys.argv[1]), Path(sys.argv[2])))
