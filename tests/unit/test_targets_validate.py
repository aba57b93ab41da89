"""Validation: each problem is found at the right file:line, with a fix, and all are reported at once."""

from __future__ import annotations

import io

import pytest

from probe.targets.parse import HEADER_LINE, Kind, parse_stream
from probe.targets.problems import Problem
from probe.targets.validate import Checked, validate

GOOD = "https://www.who.int/,PUBH,Public Health,2024-01-02,probe,WHO\n"


def check(body: str, *, name: str = "t.csv", header: bool = True, raw: bytes | None = None) -> Checked:
    data = raw if raw is not None else ((HEADER_LINE + "\n" if header else "") + body).encode("utf-8")
    kind: Kind | None = "csv" if name.endswith(".csv") else None
    return validate(parse_stream(io.BytesIO(data), name, kind=kind))


def found(checked: Checked) -> list[tuple[int, str, str]]:
    return [(p.line, p.severity, p.code) for p in checked.problems]


def test_a_clean_list_has_no_problems() -> None:
    checked = check(GOOD + "http://gay.kz/,LGBT,LGBT,2014-04-15,citizenlab,\n")
    assert checked.problems == []
    assert checked.normalised == ["https://www.who.int/", "http://gay.kz/"]


@pytest.mark.parametrize(
    ("row", "code", "severity"),
    [
        ("javascript:alert(1),PUBH,Public Health,2024-01-02,x,", "url", "error"),
        ("ftp://example.org/,PUBH,Public Health,2024-01-02,x,", "url", "error"),
        ("http:///nohost,PUBH,Public Health,2024-01-02,x,", "url", "error"),
        ("https://exa mple.org/,PUBH,Public Health,2024-01-02,x,", "url", "error"),
        (" https://example.org/,PUBH,Public Health,2024-01-02,x,", "whitespace", "error"),
        ("https://Example.org,PUBH,Public Health,2024-01-02,x,", "url-form", "warning"),
        ("https://example.org/,XXXX,Public Health,2024-01-02,x,", "category-unknown", "error"),
        ("https://example.org/,,Public Health,2024-01-02,x,", "category-missing", "error"),
        ("https://example.org/,GAYL,LGBT,2024-01-02,x,", "category-legacy", "error"),
        ("https://example.org/,pubh,Public Health,2024-01-02,x,", "category-legacy", "error"),
        ("https://example.org/,PUBH,Health,2024-01-02,x,", "category-description", "error"),
        ("https://example.org/,PUBH,Public Health,2024-02-30,x,", "date", "error"),
        ("https://example.org/,PUBH,Public Health,02/01/2024,x,", "date", "error"),
        ("https://example.org/,PUBH,Public Health,,x,", "date", "error"),
        ('https://example.org/,PUBH,Public Health,2024-01-02,x,"two\nlines"', "control-char", "error"),
        ("https://example.org/,PUBH,Public Health,2024-01-02,x", "columns", "error"),
        ("https://example.org/,PUBH,Public Health,2024-01-02,x,note,extra", "columns", "error"),
    ],
)
def test_each_row_problem_is_found_on_its_line(row: str, code: str, severity: str) -> None:
    checked = check(GOOD + row + "\n")
    assert (3, severity, code) in found(checked)
    problem = next(p for p in checked.problems if p.code == code)
    assert str(problem).startswith(f"t.csv:3: {severity}: ")
    assert problem.hint


def test_every_problem_is_reported_not_just_the_first() -> None:
    checked = check("javascript:x,PUBH,Public Health,2024-01-02,x,\n"
                    "https://a.kz/,NOPE,Public Health,2024-01-02,x,\n"
                    "https://b.kz/,PUBH,Public Health,yesterday,x,\n")
    assert found(checked) == [(2, "error", "url"), (3, "error", "category-unknown"), (4, "error", "date")]


def test_duplicates_after_normalisation_name_the_first_line() -> None:
    checked = check("http://namba.kz/#!/,FILE,File-sharing,2014-04-15,citizenlab,\n"
                    "HTTP://NAMBA.kz:80,FILE,File-sharing,2019-05-25,Netalitica,\n"
                    "https://xn--e1afmkfd.xn--p1ai/a/,NEWS,News Media,2019-05-25,x,\n"
                    "https://пример.рф/a,NEWS,News Media,2019-05-25,x,\n")
    duplicates = [p for p in checked.problems if p.code == "duplicate"]
    assert [(p.line, p.message) for p in duplicates] == [
        (3, "duplicate of line 2: both measure http://namba.kz/"),
        (5, "duplicate of line 4: both measure https://xn--e1afmkfd.xn--p1ai/a"),
    ]


def test_http_https_twin_and_host_in_two_categories_are_warnings() -> None:
    checked = check("http://a.kz/,NEWS,News Media,2020-01-01,x,\n"
                    "https://a.kz/,NEWS,News Media,2020-01-01,x,\n"
                    "https://a.kz/blog/,HOST,Hosting and Blogging Platforms,2020-01-01,x,\n")
    assert found(checked) == [(2, "warning", "http-https-twin"), (4, "warning", "host-categories")]
    assert checked.errors == []
    assert "as HOST here but as NEWS on line 2" in checked.problems[1].message


def test_file_level_problems_bom_crlf_header() -> None:
    data = ("\ufeff" + HEADER_LINE + "\r\n" + GOOD.replace("\n", "\r\n")).encode("utf-8")
    checked = check("", raw=data)
    assert found(checked) == [(1, "error", "bom"), (1, "error", "crlf")]
    assert checked.normalised == ["https://www.who.int/"]  # still readable


@pytest.mark.parametrize(
    ("first", "fatal"),
    [
        ("url,category,category_description,date_added,source,notes", True),
        ("url,category_code,category_description,date_added,source", True),
        ("URL,Category_Code,category_description,date_added,source,notes", False),
    ],
)
def test_wrong_header(first: str, fatal: bool) -> None:
    checked = check("", raw=(first + "\n" + GOOD).encode())
    assert [p.code for p in checked.problems][:1] == ["header"]
    assert checked.parsed.fatal is fatal
    assert ("url,category_code,category_description" in str(checked.problems[0])) is True


def test_missing_header_is_a_fixable_error_and_rows_still_read() -> None:
    checked = check(GOOD, header=False)
    assert found(checked) == [(1, "error", "header")]
    assert checked.problems[0].fixable
    assert checked.normalised == ["https://www.who.int/"]


def test_blank_line_and_quoted_multiline_note_keep_line_numbers() -> None:
    checked = check('https://a.kz/,NEWS,News Media,2020-01-01,x,"a, b"\n\n'
                    'https://b.kz/,NEWS,News Media,2020-01-01,x,"one\ntwo"\n'
                    "javascript:x,NEWS,News Media,2020-01-01,x,\n")
    assert found(checked) == [(3, "error", "blank-line"), (4, "error", "control-char"), (6, "error", "url")]


def test_plain_list_with_comments_and_notes() -> None:
    checked = check("", name="t.txt", raw=b"# health\nhttps://www.who.int  # WHO\n\nhttps://WWW.who.int/\nnope\n")
    assert checked.parsed.kind == "plain"
    assert found(checked) == [(2, "warning", "url-form"), (4, "warning", "url-form"),
                              (4, "error", "duplicate"), (5, "error", "url")]
    assert checked.parsed.rows[0].get(5) == "WHO"


def test_problem_string_format() -> None:
    problem = Problem("kz.csv", 7, "error", "url", "bad", "do this")
    assert str(problem) == "kz.csv:7: error: bad (fix: do this)"
    assert str(Problem("kz.csv", 0, "error", "too-large", "big")) == "kz.csv: error: big"
