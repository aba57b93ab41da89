"""`probe lists …` end to end through click: output, exit codes, files written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from probe.cli.main import cli
from probe.targets import load_targets, resolve_list
from probe.targets.parse import HEADER_LINE


def probe(*args: str) -> Result:
    return CliRunner().invoke(cli, ["lists", *args])


def write(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def test_a_maintainer_adds_a_url_validates_and_loads_the_new_list(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    added = probe("add", str(path), "https://Selftanu.kz", "--category", "XED", "--notes", "sex education",
                  "--source", "me", "--date", "2026-07-01")
    assert added.exit_code == 0, added.output
    assert added.stdout == f"added https://selftanu.kz/ (XED) to {path}\n"
    assert probe("add", str(path), "https://www.who.int/", "--category", "PUBH").exit_code == 0
    checked = probe("validate", str(path))
    assert checked.exit_code == 0 and checked.stdout == ""
    assert checked.stderr == f"{path}: 2 rows, 0 errors, 0 warnings\n"
    assert [t.url for t in load_targets(resolve_list(str(path)), categories={"XED"})] == ["https://selftanu.kz/"]
    duplicate = probe("add", str(path), "https://selftanu.kz/", "--category", "XED")
    assert duplicate.exit_code != 0
    removed = probe("remove", str(path), "https://SELFTANU.kz")
    assert removed.stdout == f"removed https://selftanu.kz/ (line 2) from {path}\n"


def test_validate_prints_every_problem_and_exits_1(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.csv", HEADER_LINE + "\njavascript:x,NEWS,News Media,2020-01-01,x,\n"
                "https://a.kz/,NOPE,News Media,2020-01-01,x,\nhttps://b.kz/,NEWS,News Media,2020-13-01,x,\n")
    good = write(tmp_path / "good.csv", HEADER_LINE + "\nhttps://c.kz/,NEWS,News Media,2020-01-01,x,\n")
    result = probe("validate", str(bad), str(good))
    assert result.exit_code == 1
    assert [line.split(": ")[0:2] for line in result.stdout.splitlines()] == [
        [f"{bad}:2", "error"], [f"{bad}:3", "error"], [f"{bad}:4", "error"]]
    assert result.stderr.splitlines() == [f"{bad}: 3 rows, 3 errors, 0 warnings",
                                          f"{good}: 1 row, 0 errors, 0 warnings"]


def test_validate_strict_fails_on_warnings_and_reports_urls_in_two_files(tmp_path: Path) -> None:
    one = write(tmp_path / "one.csv", HEADER_LINE + "\nhttps://a.kz/,NEWS,News Media,2020-01-01,x,\n")
    two = write(tmp_path / "two.csv", HEADER_LINE + "\nhttps://A.kz/,NEWS,News Media,2020-01-01,x,\n")
    assert probe("validate", str(one), str(two)).exit_code == 0
    strict = probe("validate", "--strict", str(one), str(two))
    assert strict.exit_code == 1
    assert f"{two}:2: warning: https://a.kz/ is also listed in {one}:2" in strict.stdout


def test_validate_unknown_list_is_one_line_error() -> None:
    result = probe("validate", "no-such-list")
    assert result.exit_code != 0
    assert "no list file or shipped list named 'no-such-list'" in str(result.exception)


def test_lint_reports_then_fixes(tmp_path: Path) -> None:
    path = write(tmp_path / "l.csv", HEADER_LINE + "\r\nhttps://B.kz,NEWS,News Media,2020-01-01,x,keep\r\n")
    check = probe("lint", str(path))
    assert check.exit_code == 1
    assert "would be rewritten" in check.stderr and ":1: error: line ends with CRLF" in check.stdout
    fixed = probe("lint", "--fix", str(path))
    assert fixed.exit_code == 0, fixed.output
    assert path.read_text(encoding="utf-8") == HEADER_LINE + "\nhttps://b.kz/,NEWS,News Media,2020-01-01,x,keep\n"
    assert probe("lint", str(path)).exit_code == 0


def test_lint_fix_exits_1_when_errors_remain(tmp_path: Path) -> None:
    path = write(tmp_path / "l.csv", HEADER_LINE + "\njavascript:x,NEWS,News Media,2020-01-01,x,\n")
    result = probe("lint", "--fix", str(path))
    assert result.exit_code == 1
    assert "scheme 'javascript:'" in result.stdout


def test_show_table_and_counts(tmp_path: Path) -> None:
    path = write(tmp_path / "l.csv", HEADER_LINE + "\nhttps://a.kz/,NEWS,News Media,2020-01-01,x,first\n"
                 "https://b.kz/,LGBT,LGBT,2020-01-01,y,\nhttps://c.kz/,NEWS,News Media,2020-01-01,z,\n")
    result = probe("show", str(path))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["LINE", "URL", "CATEGORY", "DATE", "SOURCE", "NOTES"]
    assert lines[1].split() == ["2", "https://a.kz/", "NEWS", "2020-01-01", "x", "first"]
    assert lines[-3:] == ["NEWS         2  News Media", "LGBT         1  LGBT", "3 URLs in 2 categories"]
    only = probe("show", str(path), "--category", "lgbt", "--counts")
    assert only.stdout == "LGBT         1  LGBT\n1 URL in 1 category\n"


def test_show_and_shipped_know_the_shipped_lists() -> None:
    result = probe("show", "article15", "--counts")
    assert result.exit_code == 0 and "URLs in" in result.stdout
    shipped = probe("shipped")
    assert [line.split()[0] for line in shipped.stdout.splitlines()] == ["article15", "kz"]


def test_import_from_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "upstream"
    source.mkdir()
    write(source / "kz.csv", HEADER_LINE + "\nhttp://gay.kz/,LGBT,LGBT,2014-04-15,citizenlab,\n"
          "bad,LGBT,LGBT,2014-04-15,citizenlab,\n")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "targetlists").mkdir()
    result = probe("import", str(source), "--country", "kz")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "targetlists/kz.csv: 1 new row, 0 already listed, 1 skipped"
    assert "upstream/kz.csv:3: error: URL 'bad' has no scheme" in result.stdout
    assert (tmp_path / "targetlists" / "kz.csv.provenance").is_file()


@pytest.mark.parametrize("command", ["validate", "lint", "show", "add", "remove", "import", "shipped"])
def test_help_has_an_example(command: str) -> None:
    result = probe(command, "--help")
    assert result.exit_code == 0
    assert "Example:\n" in result.stdout
