"""Issue 18 #8: a SIGKILLed `probe export` leaves no evidence in /tmp, and the next export cleans up.

The export stages beside the destination (see probe.evidence.bundle.staging for why). A real `probe export`
of a store with a few MiB of bodies is SIGKILLed while its staging folder exists: nothing appears in
its TMPDIR, no half bundle or `.partial` sits under the destination's name, and the next export into
the folder removes the dead one's staging folder and writes a bundle that verifies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from evidence_samples import sample_set

from probe.evidence.keys import load_signer
from probe.models import Artifact
from probe.store import Store


def _probe(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "probe", *args], capture_output=True, text=True, timeout=120,
                          env=env, check=False)


def test_a_killed_export_leaves_nothing_in_tmp_and_the_next_one_cleans_up(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"  # this process's own TMPDIR: other tests may run exports in /tmp meanwhile
    tmp.mkdir()
    env = dict(os.environ, PROBE_KEY=str(tmp_path / "key"), TMPDIR=str(tmp), XDG_STATE_HOME=str(tmp_path / "st"))
    assert _probe("init", "--yes", env=env).returncode == 0
    store = tmp_path / "results" / "probe.sqlite"
    signer = load_signer(tmp_path / "key")
    with Store.open(store) as s:
        for round_ in range(6):
            for m, artifacts, v in sample_set(4):
                m = m.model_copy(update={"measurement_id": f"{m.measurement_id[:-4]}{round_:04d}"})
                body = Artifact.of("http_body", os.urandom(64) * 4096)  # 256 KiB that do not compress away
                s.append(m, [*artifacts, body], v, signer=signer)
    out = tmp_path / "share" / "bundle.zip"
    proc = subprocess.Popen([sys.executable, "-m", "probe", "export", "--store", str(store), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 60
    while not (out.parent.exists() and list(out.parent.glob(".bundle.zip.probe-export-*"))):
        assert time.monotonic() < deadline and proc.poll() is None, "the export never staged"
        time.sleep(0.005)
    time.sleep(0.1)  # let it write some evidence there
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert list(tmp.iterdir()) == []  # nothing in TMPDIR (it used to be /tmp/probe-export-*)
    [stale] = list(out.parent.glob(".bundle.zip.probe-export-*"))
    assert not out.exists() and not out.with_name("bundle.zip.partial").exists()

    done = _probe("export", "--store", str(store), "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert not stale.exists() and sorted(p.name for p in out.parent.iterdir()) == ["bundle.zip"]
    assert _probe("verify", str(out), env=env).returncode == 0
    assert list(tmp.iterdir()) == []
