"""The "done when" check: `probe lists validate` on the real Citizen Lab kz.csv and global.csv reports
exactly the real problems in them (a copy is in ../shared/data/citizenlab-test-lists, commit 7f01e43).

What is really wrong there: kz.csv lists http://namba.kz/ twice (line 40 with a "#!/" fragment, which
is never sent to the server, and line 120), so it would be measured twice: the one error. Warnings:
two fragment URLs not in normal form, five http URLs whose https twin is also listed, and four hosts
listed under two categories. Empty `source` cells (11 in global.csv) are allowed, as upstream allows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from probe.cli.main import cli

# A verbatim copy of ../shared/data/citizenlab-test-lists (CC BY-NC-SA 4.0, see SOURCE.txt there), kept in
# the repository so CI, which has only a clean clone, runs this test too.
DATA = Path(__file__).resolve().parents[1] / "data" / "citizenlab-test-lists"
LINT = "run `probe lists lint --fix {}`"
HOSTS = "give one host one category unless its pages really differ"
TWIN = "keep both only to compare plain HTTP with HTTPS; otherwise delete the http:// line"

EXPECTED = [
    f"kz.csv:40: warning: URL http://namba.kz/#!/ is not in normal form; it is measured as http://namba.kz/ "
    f"(fix: {LINT.format('kz.csv')})",
    "kz.csv:120: error: duplicate of line 40: both measure http://namba.kz/ (fix: delete this line; "
    "`probe lists lint --fix kz.csv` keeps the first)",
    f"kz.csv:383: warning: host yandex.ru is listed as SRCH here but as HOST on line 333 (fix: {HOSTS})",
    f"global.csv:190: warning: host sourceforge.net is listed as HACK here but as FILE on line 189 (fix: {HOSTS})",
    f"global.csv:558: warning: http://www.jmarshall.com/ is also listed over https (line 559) (fix: {TWIN})",
    f"global.csv:627: warning: http://www.netaddress.com/ is also listed over https (line 628) (fix: {TWIN})",
    f"global.csv:643: warning: http://www.omct.org/ is also listed over https (line 997) (fix: {TWIN})",
    f"global.csv:698: warning: http://www.ran.org/ is also listed over https (line 1428) (fix: {TWIN})",
    f"global.csv:855: warning: http://www.xvideos.com/ is also listed over https (line 856) (fix: {TWIN})",
    "global.csv:1069: warning: URL https://icao.maps.arcgis.com/apps/opsdashboard/index.html"
    "#/977dde48256b489fb48fa98e724721e8 is not in normal form; it is measured as "
    f"https://icao.maps.arcgis.com/apps/opsdashboard/index.html (fix: {LINT.format('global.csv')})",
    f"global.csv:1253: warning: host www.apple.com is listed as CTRL here but as COMM on line 275 (fix: {HOSTS})",
    f"global.csv:1596: warning: host 1.1.1.1 is listed as ANON here but as HOST on line 885 (fix: {HOSTS})",
]



def test_validate_reports_exactly_the_real_problems(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)
    result = CliRunner().invoke(cli, ["lists", "validate", "kz.csv", "global.csv"])
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == EXPECTED
    assert result.stderr.splitlines() == ["kz.csv: 553 rows, 1 error, 2 warnings",
                                          "global.csv: 1722 rows, 0 errors, 9 warnings"]


def test_lint_fix_on_a_copy_leaves_only_the_deliberate_warnings(tmp_path: Path) -> None:
    copy = tmp_path / "kz.csv"
    copy.write_bytes((DATA / "kz.csv").read_bytes())
    result = CliRunner().invoke(cli, ["lists", "lint", "--fix", str(copy)])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"{copy}: rewritten; 2 problems fixed (rows sorted like upstream; final newline added)\n"
    assert [line.split(": ", 2)[1] for line in result.stdout.splitlines()] == ["warning"]  # yandex.ru
    assert len(copy.read_text(encoding="utf-8").splitlines()) == 553  # header + 552 rows
