"""Issue 18 #6 and #7: a bad configuration is one line naming the key, from `probe config check` and at
daemon start alike (exit 2, never 70, never "valid" for a file every run would then fail with)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostilehelpers import RunCli, make_cli


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunCli:
    return make_cli(capsys, monkeypatch)

BASE = """
store = "probe.sqlite"
[measure]
{measure}
[[schedule]]
list = "kz"
{schedule}
"""
GOOD_SCHEDULE = 'every = "6h"'

CASES = {
    # issue 18 #6: exit 70 before
    "nested 5,000 deep": ("x = " + "[" * 5000 + "]" * 5000, "", GOOD_SCHEDULE, "nested too deeply"),
    "every of 10^20 days": ("", "", 'every = "99999999999999999999d"', "schedule[0].every: "),
    "every of a million weeks": ("", "", 'every = "1000000w"', "longer than a year"),
    # issue 18 #7: passed config check, then failed every run
    "fingerprints_dir is a file": ("", 'fingerprints_dir = "/etc/passwd"', GOOD_SCHEDULE,
                                   "measure.fingerprints_dir: /etc/passwd is not a folder"),
    "user_agent with CR LF": ("", 'user_agent = "Mozilla\\r\\nX-Injected: 1"', GOOD_SCHEDULE,
                              "measure.user_agent: "),
    "key is not a key": ('key = "/etc/passwd"', "", GOOD_SCHEDULE, "/etc/passwd is not a readable private key"),
    "store is a folder": ('store = "/etc"', "", GOOD_SCHEDULE, "store: /etc is a folder"),
    "every 1m1m1m": ("", "", 'every = "1m1m1m"', "give each unit once"),
    "Arabic-Indic digits": ("", "", 'every = "\u0661\u0662h"', "is not a duration"),
    "cron that never fires": ("", "", 'cron = "0 0 30 2 *"', "never fires"),
    "decoy SNI with a newline": ("", 'decoy_sni = "a.example\\nb"', GOOD_SCHEDULE, "measure.decoy_sni: "),
}


def _write(tmp_path: Path, top: str, measure: str, schedule: str) -> Path:
    text = BASE.format(measure=measure, schedule=schedule)
    if top:
        text = top + "\n" + text.replace('store = "probe.sqlite"\n', "") if top.startswith("store") else top + text
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", [["config", "check"], ["daemon"]])
def test_bad_configuration_is_one_line(cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       case: str, command: list[str]) -> None:
    monkeypatch.setenv("PROBE_KEY", str(tmp_path / "no-key"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    top, measure, schedule, says = CASES[case]
    path = _write(tmp_path, top, measure, schedule)
    code, out, err = cli(*command, "--config", str(path))
    assert code == 2, (code, out, err)
    assert err.count("\n") == 1 and err.startswith("error: ") and says in err, err
    assert "valid" not in out


def test_a_good_configuration_still_passes(cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROBE_KEY", str(tmp_path / "no-key"))
    path = _write(tmp_path, "", 'user_agent = "probe/1.0 (+https://example.org/)"', 'every = "1h30m"')
    code, out, err = cli("config", "check", "--config", str(path))
    assert code == 0 and "valid" in out and 'every = "1h30m"' in out, err
