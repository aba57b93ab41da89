"""The lists we ship pass `probe lists validate` (this is the CI check) and say why each URL is listed."""

from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner

from probe.cli.main import cli
from probe.targets.legend import default_legend

LISTS = Path(__file__).resolve().parents[2] / "targetlists"


def test_shipped_lists_have_no_errors() -> None:
    result = CliRunner().invoke(cli, ["lists", "validate", str(LISTS / "kz.csv"), str(LISTS / "article15.csv")])
    assert result.exit_code == 0, result.output
    # the deliberate warnings, documented in targetlists/README.md
    assert [line.split(": ", 2)[2].split(" (fix")[0] for line in result.stdout.splitlines()] == [
        "host yandex.ru is listed as HOST here but as SRCH on line 540",
        f"https://selftanu.kz/ is also listed in {LISTS / 'kz.csv'}:307",
    ]


def test_article15_is_clean_even_strictly_and_every_row_says_why() -> None:
    assert CliRunner().invoke(cli, ["lists", "validate", "--strict", str(LISTS / "article15.csv")]).exit_code == 0
    with (LISTS / "article15.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 25
    assert all(row["notes"].strip() for row in rows)
    assert all("art. 15" in row["notes"] and "ICESCR" in row["notes"] for row in rows)
    assert {"https://selftanu.kz/", "https://www.who.int/"} <= {row["url"] for row in rows}
    assert {row["category_code"] for row in rows} <= set(default_legend().codes())
    assert {"PUBH", "XED", "LGBT"} <= {row["category_code"] for row in rows}


def test_shipped_lists_are_in_lint_normal_form() -> None:
    for name in ("kz.csv", "article15.csv"):
        result = CliRunner().invoke(cli, ["lists", "lint", str(LISTS / name)])
        assert result.exit_code == 0, result.output


def test_kz_is_attributed() -> None:
    readme = (LISTS / "README.md").read_text(encoding="utf-8")
    assert "CC BY-NC-SA 4.0" in readme and "citizenlab/test-lists" in readme
    assert "7f01e430040e571f1315734ee36151a6897f71b5" in (LISTS / "kz.csv.provenance").read_text(encoding="utf-8")
