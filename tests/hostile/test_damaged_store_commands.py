"""Issue 18 #6: commands that read a store edited or damaged by hand say so in one line (exit 2, not 70).

Each store is a real signed store with one hand edit: a record that is not UTF-8, a verdict that is not
JSON, the verdicts table dropped, artifact bytes typed as text. `results`, `show`, `report`,
`reclassify` and `export` each stop with one line naming the store and `probe verify --store`; the
store is not changed by trying.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest
from evidence_samples import sample_set
from hostilehelpers import RunCli, make_cli

from probe.evidence.keys import generate_key, load_signer
from probe.store import Store


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunCli:
    return make_cli(capsys, monkeypatch)

SECOND = "(SELECT measurement_id FROM measurements ORDER BY seq LIMIT 1 OFFSET 1)"  # the one edited
DAMAGE = {
    "record not UTF-8": ["DROP TRIGGER measurements_append_only_update",
                         f"UPDATE measurements SET record = CAST(x'7b22ff22' AS TEXT) WHERE measurement_id = {SECOND}"],
    "verdict not JSON": [f"UPDATE verdicts SET verdict = '{{bad' WHERE measurement_id = {SECOND}"],
    "verdicts table dropped": ["DROP TABLE verdicts"],
    "artifact bytes typed as text": ["UPDATE artifacts SET data = 'abc'"],
}
COMMANDS = {
    "results": ["results"],
    "show": ["show", "00000000"],
    "report": ["report", "--out", "{tmp}/r.html"],
    "reclassify": ["reclassify"],
    "export": ["export", "--out", "{tmp}/b.zip"],
}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("damaged")
    key = root / "probe_ed25519.key"
    generate_key(key)
    with Store.open(root / "clean.sqlite") as store:
        for m, artifacts, verdict in sample_set(1):
            store.append(m, artifacts, verdict, signer=load_signer(key))
    return root / "clean.sqlite", key


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_damaged_store_is_one_line_not_an_internal_error(cli: RunCli, clean: tuple[Path, Path], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch, damage: str,
                                                           command: str) -> None:
    source, key = clean
    monkeypatch.setenv("PROBE_KEY", str(key))
    store = tmp_path / "s.sqlite"
    shutil.copy(source, store)
    with sqlite3.connect(store) as conn:
        for sql in DAMAGE[damage]:
            conn.execute(sql)
    conn.close()
    with Store.open(store) as s:
        edited = s._conn.execute(SECOND[1:-1]).fetchone()[0]
    args = [a.format(tmp=tmp_path) for a in COMMANDS[command]]
    if command == "show":
        args[1] = edited
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    code, out, err = cli(*args, "--store", str(store))
    assert code != 70 and "internal error" not in err and "Traceback" not in err, err
    if code == 0:  # what it read never reached the damaged part (e.g. `results` needs no artifact bytes)
        assert damage == "artifact bytes typed as text" and command in ("results", "show", "report"), (code, err)
        return
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: "), err
    assert "probe verify --store" in err, err
    if command in ("report", "export"):
        assert not (tmp_path / "r.html").exists() and not (tmp_path / "b.zip").exists()
    if command != "reclassify":
        assert hashlib.sha256(store.read_bytes()).hexdigest() == before
