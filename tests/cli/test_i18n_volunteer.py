"""A volunteer with a Russian or Kazakh locale goes init, run, status, export, verify, report and lists in
their language, and meets bad input (a broken list, no store, no configuration) in it too: no English
message left on the way.

Each step runs twice from the same inputs, once with an English locale and once with ru_KZ / kk_KZ, as
`python -m probe` against a real HTTP server on loopback and a real store. A line of the translated run
fails the test if it still holds an English word the English run printed, once identifiers are set
aside: URLs, paths, commands and options, fingerprints, numbers, acronyms, verdict labels and the
confidence word (they read the same in every language by design). A new English message on this path
fails here even if the catalog test does not know about its module. At 80 columns `probe run`'s table
leaves out the verdicts' reasons: those are part of the signed verdict record and stay as recorded.
"""

from __future__ import annotations

import http.server
import os
import re
import sqlite3
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from probe.models import VERDICT_LABELS

LOCALE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
# Words that are identifiers, not English prose: verdict labels and their parts, confidences, PASS/FAIL.
IDENTIFIERS = {part for label in VERDICT_LABELS for part in re.split(r"[._]", label)} | {
    "blocked", "possible", "likely", "confirmed", "probe", "seq", "pid", "id", "ed25519", "sha256", "zip", "csv",
    "sqlite", "html", "txt", "jsonl", "ooni", "kz", "url",
    # Names the consent text keeps as they are (a network's name, a program, a key) and the English term
    # it gives in parentheses beside its translation, so a volunteer recognises it elsewhere.
    "tor", "ctrl", "jsc", "kazakhtelecom", "fingerprint"}
_ASIDE = (
    re.compile(r"`[^`]*`"),  # a command quoted in backticks
    re.compile(r"\bprobe(?: [a-z][a-z-]*)+"),  # a command
    re.compile(r"[a-z][a-z0-9+.-]*://\S+"),  # a URL
    re.compile(r"(?<![\w])--?[a-z][a-z-]*"),  # an option
    re.compile(r"\S*[/\\]\S*"),  # a path
    re.compile(r"\S+\.[a-z]{2,5}\b"),  # a file name
    re.compile(r"\b[A-Z][A-Z0-9_-]+\b"),  # an acronym or a placeholder (DNS, UTC, FILE, PASS)
    re.compile(r"'[a-z0-9_.]+'"),  # a quoted identifier ('inconclusive')
    re.compile(r"\b[a-z]+(?:_[a-z]+)+\b"),  # a column or field name (date_added)
    re.compile(r"[0-9a-f]{8,}"),  # a hash, an id or a fingerprint (its letters are no words)
)
_WORD = re.compile(r"[A-Za-z]{3,}")


def english_words(text: str) -> list[str]:
    """The Latin-script words of `text` that are prose, once identifiers are set aside."""
    for pattern in _ASIDE:
        text = pattern.sub(" ", text)
    return [w.lower() for w in _WORD.findall(text) if w.lower() not in IDENTIFIERS]


def untranslated(english: str, translated: str) -> list[str]:
    """The lines of `translated` holding a word the English output says in English."""
    said = set(english_words(english))
    return [line for line in translated.splitlines() if said & set(english_words(line))]


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    class Site(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = b"<html><title>Lab origin</title></html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def walk(home: Path, locale: str, origin: str) -> list[tuple[str, str]]:
    """The volunteer's path in one locale: (step, everything it printed) for each step."""
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in LOCALE_VARS}
    env.update(LANG=locale, PROBE_KEY=str(home / "key"), XDG_CONFIG_HOME=str(home / "config"),
               PYTHONIOENCODING="utf-8", COLUMNS="80")
    store, bundle = str(home / "probe.sqlite"), str(home / "evidence.zip")
    listed = home / "mine.csv"
    listed.write_text("url,category_code,category_description,date_added,source,notes\n"
                      f"{origin},NEWS,News Media,2026-12-01,volunteer,\n"
                      f"{origin},NEWS,News Media,2026-12-01,volunteer,\n"
                      "https://example.org/,XXXX,Unknown,2026-13-01,volunteer,\n", encoding="utf-8")
    steps = {
        "init": ["init", "--yes"],
        "run": ["run", "--allow-private-targets", "--no-progress", "--store", store, origin],
        "status": ["status", "--store", store],
        "export": ["export", "--out", bundle, "--store", store, "--lang", "ru", "--lang", "kk"],
        "verify": ["verify", "--quiet", bundle],
        "key": ["key", "show"],
        "report": ["report", "--out", str(home / "report.html"), "--store", store],
        "lists": ["lists", "validate", str(listed)],
        "missing store": ["results", "--store", str(home / "none.sqlite")],
        "missing config": ["config", "check", "--config", str(home / "none.toml")],
    }
    said = []
    for step, args in steps.items():
        done = subprocess.run([sys.executable, "-m", "probe", *args], capture_output=True, text=True, env=env,
                              encoding="utf-8", timeout=120)
        assert "Traceback" not in done.stderr, done.stderr
        said.append((step, done.stdout + done.stderr))
    return said


@pytest.mark.parametrize("locale", ["ru_KZ.UTF-8", "kk_KZ.UTF-8"])
def test_the_volunteers_path_has_no_english_left(tmp_path: Path, origin: str, locale: str) -> None:
    english = walk(tmp_path / "en", "en_US.UTF-8", origin)
    translated = walk(tmp_path / locale, locale, origin)
    assert "PASS" in dict(english)["verify"] and "PASS" in dict(translated)["verify"]
    left = {step: lines for (step, en), (_, out) in zip(english, translated, strict=True)
            if (lines := untranslated(en, out))}
    assert not left, f"{locale}: English left on the volunteer's path: {left}"
    letters = "әғқңөұүһі" if locale.startswith("kk") else "ыэъё"
    assert any(c in text for _, text in translated for c in letters)  # the text is in that language


def test_the_check_catches_a_new_english_line() -> None:
    english = "wrote evidence.zip: 3 measurements\nsigned by ed25519:ab\nnote: the store is busy\n"
    translated = "записан evidence.zip: измерений — 3\nподписано ключом ed25519:ab\nnote: the store is busy\n"
    assert untranslated(english, translated) == ["note: the store is busy"]
    # Identifiers are not English prose: URLs, commands, options, labels, acronyms.
    assert untranslated("run probe verify x.zip --fingerprint now for http://a.kz/ blocked DNS",
                        "запустите probe verify x.zip --fingerprint для http://a.kz/ blocked DNS") == []


def _probe(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "probe", *args], capture_output=True, text=True, env=env,
                          encoding="utf-8", timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout + done.stderr


def _locale_env(home: Path, locale: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LOCALE_VARS}
    env.update(LANG=locale, PROBE_KEY=str(home / "key"), XDG_CONFIG_HOME=str(home / "config"),
               PYTHONIOENCODING="utf-8", COLUMNS="200")
    return env


def _tamper_zip(bundle: Path, member: str, old: bytes, new: bytes) -> None:
    """Rewrite `bundle` with `old` replaced by `new` in `member`, as someone editing the evidence would."""
    with zipfile.ZipFile(bundle) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members:
            if info.filename == member:
                assert old in data
                data = data.replace(old, new, 1)
            zf.writestr(info, data)


def tampered(home: Path, locale: str, origin: str) -> list[tuple[str, str]]:
    """What a volunteer reads when the evidence was tampered with: `probe verify` of an edited bundle,
    `probe verify --store` of an edited store, and `probe export` refusing that store."""
    home.mkdir(parents=True)
    env = _locale_env(home, locale)
    store, bundle = home / "probe.sqlite", home / "evidence.zip"
    _probe(env, "init", "--yes")
    _probe(env, "run", "--allow-private-targets", "--no-progress", "--store", str(store), origin, origin + "?b")
    _probe(env, "export", "--out", str(bundle), "--store", str(store))
    said = [("verify", _probe(env, "verify", str(bundle)))]
    _tamper_zip(bundle, "measurements.jsonl", b"127.0.0.1", b"127.0.0.2")  # a record changed, same size
    _tamper_zip(bundle, "verdicts.jsonl", b'"accessible"', b'"dns.blocked"')  # a verdict changed, larger
    said.append(("verify tampered bundle", _probe(env, "verify", str(bundle))))
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE verdicts SET label = 'dns.blocked', blocked = 1")
    said.append(("verify tampered store", _probe(env, "verify", "--store", str(store))))
    said.append(("export tampered store", _probe(env, "export", "--out", str(home / "again.zip"), "--store",
                                                 str(store))))
    return said


@pytest.mark.parametrize("locale", ["ru_KZ.UTF-8", "kk_KZ.UTF-8"])
def test_a_tampered_bundle_and_store_are_reported_in_the_volunteers_language(tmp_path: Path, origin: str,
                                                                               locale: str) -> None:
    english = tampered(tmp_path / "en", "en_US.UTF-8", origin)
    translated = tampered(tmp_path / locale, locale, origin)
    said = dict(english)
    assert "PASS" in said["verify"] and "FAIL" in said["verify tampered bundle"]
    assert "FAIL" in said["verify tampered store"] and "refusing to export" in said["export tampered store"]
    assert "FAIL" in dict(translated)["verify tampered bundle"] and "FAIL" in dict(translated)["verify tampered store"]
    left = {step: lines for (step, en), (_, out) in zip(english, translated, strict=True)
            if (lines := untranslated(en, out))}
    assert not left, f"{locale}: English left in what verify and export say about tampering: {left}"


# The --help of the command groups a volunteer (or the operator helping them) may meet beyond the main path.
HELP_COMMANDS = ["", "upload", "hub", "hub join", "hub serve", "hub check", "hub invite", "hub revoke", "hub probes",
                 "hub export", "hub verify", "import", "import ooni", "control", "control serve", "lab", "lab up",
                 "lab down", "lab status", "lab run", "lab demo", "verify", "export"]
_HELP_SCRIPT = """
import sys
from click.testing import CliRunner
from probe.cli.main import cli
for command in sys.argv[1:]:
    done = CliRunner().invoke(cli, [*command.split(), "--help"], prog_name="probe", catch_exceptions=False)
    print(f"=== {command}\\n{done.output}")
"""


def helps(locale: str) -> dict[str, str]:
    """Every command's --help in one locale (one process; each help as its own chunk)."""
    env = {k: v for k, v in os.environ.items() if k not in LOCALE_VARS}
    env.update(LANG=locale, PYTHONIOENCODING="utf-8", COLUMNS="100")
    done = subprocess.run([sys.executable, "-c", _HELP_SCRIPT, *HELP_COMMANDS], capture_output=True, text=True,
                          env=env, encoding="utf-8", timeout=120, check=True)
    chunks = done.stdout.split("=== ")[1:]
    return {chunk.split("\n", 1)[0]: chunk.split("\n", 1)[1] for chunk in chunks}


# What help texts hold beyond the volunteer's path that reads the same in every language: an example's
# command (its `# comment` is translated), configuration keys, HTTP headers, click's choices, proper
# names and the names of programs and protocols the translations keep.
_HELP_ASIDE = (
    re.compile(r"^\s+(?:sudo |probe |[A-Z_]+=)[^#\n]*", re.MULTILINE),
    re.compile(r"^ {2}[a-z][a-z-]+(?= {2,})", re.MULTILINE),  # a command's name in its group's list
    re.compile(r"\[[a-z]+\](?: [a-z_]+)?"),
    re.compile(r"\b(?:[A-Z]-)?[A-Z][a-z]+(?:-[A-Z][a-z]+)+\b"),
    re.compile(r"\[[a-z]+(?:\|[a-z]+)+\]"),
    re.compile(r"Citizen Lab|OONI Explorer|Mozilla|PostgreSQL|Almaty|IPv[46]|\bread:"),
)
_HELP_NAMES = {"loopback", "link", "local", "certifi", "iptoasn", "uvicorn", "nginx", "plab", "off", "bundle", "root",
               "gzip", "mmdb", "tsv", "listen", "database"}  # the last two: [hub] keys a line break split


def untranslated_help(english: str, translated: str) -> list[str]:
    def aside(text: str) -> str:
        for pattern in _HELP_ASIDE:
            text = pattern.sub(" ", text)
        return text

    said = set(english_words(aside(english))) - _HELP_NAMES
    return [line for line in translated.splitlines() if said & set(english_words(aside(line)))]


@pytest.mark.parametrize("locale", ["ru_KZ.UTF-8", "kk_KZ.UTF-8"])
def test_the_command_groups_help_is_in_the_volunteers_language(locale: str) -> None:
    english, translated = helps("en_US.UTF-8"), helps(locale)
    assert set(english) == set(translated) == set(HELP_COMMANDS)
    assert "Usage:" in english["hub join"] and "Usage:" not in translated["hub join"]
    left = {command: lines for command in HELP_COMMANDS
            if (lines := untranslated_help(english[command], translated[command]))}
    assert not left, f"{locale}: English left in --help: {left}"


@pytest.mark.parametrize("locale", ["ru_KZ.UTF-8", "kk_KZ.UTF-8"])
def test_a_mistyped_command_line_is_answered_in_the_volunteers_language(tmp_path: Path, locale: str) -> None:
    mistakes = [["run", "--no-progres"], ["run", "--bogus"], ["hub", "join"], ["frob"], ["verify", "a.zip", "b.zip"],
                ["run", "--timeout-dns", "lots"], ["lists", "validate"], ["export", "--format", "x"]]
    # Run as `python -m probe`, click names the program so: the words of that name are no prose.
    english = [_probe(_locale_env(tmp_path, "en_US.UTF-8"), *args).replace("python -m ", "") for args in mistakes]
    translated = [_probe(_locale_env(tmp_path, locale), *args).replace("python -m ", "") for args in mistakes]
    assert "Error: No such option" in english[1] and "Usage:" in english[0]
    left = {" ".join(args): lines for args, en, out in zip(mistakes, english, translated, strict=True)
            if (lines := untranslated(en, out))}
    assert not left, f"{locale}: English left in click's usage errors: {left}"
