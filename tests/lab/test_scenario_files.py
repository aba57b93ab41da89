"""Scenario files: the shipped set is complete and valid; bad files fail with the file and key named.

Pure tests (no root, no network): they only load TOML.
"""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from probe.errors import ConfigError
from probe.lab.scenario import Action, Origin, load_scenario, load_scenarios
from probe.models.verdict import VERDICT_LABELS

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
MINIMAL = 'name = "x"\nurl = "https://selftanu.kz/"\n[expect]\nverdict = "ok"\n'


def _write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_set_is_large_valid_and_named_after_files() -> None:
    scenarios = load_scenarios([SCENARIOS])
    assert len(scenarios) >= 40
    for s in scenarios:
        assert Path(s.path).stem == s.name
        assert s.expect.verdict in VERDICT_LABELS


def test_shipped_set_covers_every_action_and_origin_option() -> None:
    scenarios = load_scenarios([SCENARIOS])
    assert {a for s in scenarios for a in s.actions()} == set(get_args(Action))
    defaults = Origin()
    changed = {k for s in scenarios for k in Origin.model_fields if getattr(s.origin, k) != getattr(defaults, k)}
    assert changed == set(Origin.model_fields)


def test_shipped_set_has_traps_that_are_not_censorship() -> None:
    labels = [s.expect.verdict for s in load_scenarios([SCENARIOS])]
    assert labels.count("down") >= 8
    assert labels.count("ok") >= 10
    assert "site.refused" in labels and "inconclusive" in labels


def test_minimal_file_loads_with_defaults(tmp_path: Path) -> None:
    s = load_scenario(_write(tmp_path, MINIMAL))
    assert s.host == "selftanu.kz" and s.origin.https and s.censor == []


def test_match_defaults_to_the_urls_host(tmp_path: Path) -> None:
    s = load_scenario(_write(tmp_path, MINIMAL + '[[censor]]\naction = "tls_sni_drop"\n'))
    assert s.censors()[0].match == "selftanu.kz"


def test_idn_host_is_idna_encoded(tmp_path: Path) -> None:
    s = load_scenario(_write(tmp_path, MINIMAL.replace("https://selftanu.kz/", "http://Яндекс.рф/")))
    assert s.host == "xn--d1acpjx3f.xn--p1ai"


@pytest.mark.parametrize(("text", "key", "words"), [
    ("colour = 1\n" + MINIMAL, "colour", "unknown key"),
    (MINIMAL.replace("[expect]", "[origin]\nspeed = 3\n[expect]"), "origin.speed", "unknown key"),
    (MINIMAL + '[[censor]]\naction = "dns_teleport"\n', "censor[0].action", "dns_teleport"),
    (MINIMAL + '[[censor]]\naction = "dns_nxdomain"\nstatus = 403\n', "censor[0]", "not used by action"),
    (MINIMAL + '[[censor]]\naction = "dns_redirect"\naddress = "8.8.8.8"\n', "censor[0].address", "lab"),
    (MINIMAL + '[[censor]]\naction = "http_redirect"\nlocation = "http://93.184.216.34/"\n',
     "censor[0].location", "outside the lab"),
    (MINIMAL.replace('verdict = "ok"', 'verdict = "blocked"'), "expect.verdict", "blocked"),
    (MINIMAL.replace('name = "x"', 'name = "Bad Name"'), "name", "pattern"),
    (MINIMAL.replace("https://selftanu.kz/", "ftp://selftanu.kz/"), "url", "http"),
    (MINIMAL.replace("[expect]", '[origin]\ncert = "forged"\n[expect]'), "origin.cert", "forged"),
    ('url = "https://selftanu.kz/"\n[expect]\nverdict = "ok"\n', "name", "required"),
])
def test_errors_name_file_and_key(tmp_path: Path, text: str, key: str, words: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}"), message
    assert words in message


def test_not_toml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "name = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(path)


def test_duplicate_names_are_an_error(tmp_path: Path) -> None:
    _write(tmp_path, MINIMAL, "a.toml")
    _write(tmp_path, MINIMAL, "b.toml")
    with pytest.raises(ConfigError, match="also used by"):
        load_scenarios([tmp_path])
