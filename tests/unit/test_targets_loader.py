"""load_targets, resolve_list and parse_categories: the API `probe run` calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from probe.errors import InputError
from probe.models.target import Target
from probe.targets import load_targets, parse_categories, resolve_list, shipped_lists
from probe.targets.parse import HEADER_LINE

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, body: str, name: str = "l.csv") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def test_loads_targets_in_list_order_in_normal_form_without_duplicates(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER_LINE + "\n"
                 "https://Z.kz,NEWS,News Media,2020-01-01,x,z\n"
                 "http://namba.kz/#!/,GAYL,LGBT,2014-04-15,citizenlab,first\n"
                 "http://namba.kz/,FILE,File-sharing,2019-05-25,Netalitica,second\n")
    assert load_targets(path) == [
        Target(url="https://z.kz/", category_code="NEWS", category_description="News Media",
               date_added="2020-01-01", source="x", notes="z"),
        Target(url="http://namba.kz/", category_code="LGBT", category_description="LGBT",
               date_added="2014-04-15", source="citizenlab", notes="first"),
    ]


def test_category_filter(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER_LINE + "\n"
                 "https://a.kz/,NEWS,News Media,2020-01-01,x,\n"
                 "https://b.kz/,LGBT,LGBT,2020-01-01,x,\n"
                 "https://c.kz/,HUMR,Human Rights Issues,2020-01-01,x,\n")
    assert [t.url for t in load_targets(path, categories={"LGBT", "HUMR"})] == ["https://b.kz/", "https://c.kz/"]
    with pytest.raises(InputError, match="has no targets in categories PUBH"):
        load_targets(path, categories={"PUBH"})
    with pytest.raises(InputError, match="unknown category code"):
        load_targets(path, categories={"LGTB"})


def test_fatal_problem_names_file_line_and_counts_the_rest(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER_LINE + "\n"
                 "https://a.kz/,NEWS,News Media,2020-01-01,x,\n"
                 "javascript:alert(1),NEWS,News Media,2020-01-01,x,\n"
                 "https://b.kz/,NEWS,News Media,2020-01-01,x\n")
    with pytest.raises(InputError) as info:
        load_targets(path)
    assert info.value.message == (f"{path}:3: URL 'javascript:alert(1)' has the scheme 'javascript:'; only "
                                  "http and https URLs can be measured (and 1 more problems)")
    assert info.value.hint is not None and "probe lists validate" in info.value.hint


def test_a_bad_url_row_is_reported_and_skipped_and_the_other_rows_measured(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER_LINE + "\n"
                 "https://a.kz/,NEWS,News Media,2020-01-01,x,\n"
                 "javascript:alert(1),NEWS,News Media,2020-01-01,x,\n"
                 '"https://exa mple.org/",NEWS,News Media,2020-01-01,x,\n'
                 "https://b.kz/,NEWS,News Media,2020-01-01,x,\n")
    skipped: list[str] = []
    assert [t.url for t in load_targets(path, on_error=skipped.append)] == ["https://a.kz/", "https://b.kz/"]
    assert skipped[0] == (f"{path}:3: URL 'javascript:alert(1)' has the scheme 'javascript:'; only http and "
                          "https URLs can be measured")
    assert [line.split(": ")[0] for line in skipped] == [f"{path}:3", f"{path}:4"]


def test_only_rows_the_run_would_measure_are_reported(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER_LINE + "\n"
                 "https://a.kz/,LGBT,LGBT,2020-01-01,x,\n"
                 "javascript:a,NEWS,News Media,2020-01-01,x,\n"
                 "javascript:b,LGBT,LGBT,2020-01-01,x,\n")
    skipped: list[str] = []
    assert [t.url for t in load_targets(path, categories={"LGBT"}, on_error=skipped.append)] == ["https://a.kz/"]
    assert [line.split(": ")[0] for line in skipped] == [f"{path}:4"]


def test_a_list_of_only_bad_urls_reports_each_then_has_no_targets(tmp_path: Path) -> None:
    path = write(tmp_path, "javascript:a\nftp://b.kz/\n", name="mine.txt")
    skipped: list[str] = []
    with pytest.raises(InputError, match="has no targets"):
        load_targets(path, on_error=skipped.append)
    assert [line.split(": ")[0] for line in skipped] == [f"{path}:1", f"{path}:2"]


def test_file_level_problems_stay_fatal_with_a_skip_callback(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER_LINE + "\n"
                 "javascript:alert(1),NEWS,News Media,2020-01-01,x,\n"
                 "https://b.kz/,NEWS,News Media,2020-01-01,x\n")
    skipped: list[str] = []
    with pytest.raises(InputError) as info:
        load_targets(path, on_error=skipped.append)
    assert info.value.message == f"{path}:3: row has 5 columns; expected 6 ({HEADER_LINE})"
    assert skipped == []  # refused before anything is skipped: nothing is half-measured


def test_non_fatal_problems_do_not_stop_a_run(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeff" + HEADER_LINE + "\r\nhttps://a.kz/,NEWS,Wrong,2020-1-1,x,\r\n")
    assert load_targets(path)[0].category_description == "News Media"


def test_plain_list(tmp_path: Path) -> None:
    path = write(tmp_path, "# mine\nhttps://a.kz  # note\nhttps://b.kz/\n", name="mine.txt")
    assert [(t.url, t.notes) for t in load_targets(path)] == [("https://a.kz/", "note"), ("https://b.kz/", "")]
    with pytest.raises(InputError, match="plain URL list without categories"):
        load_targets(path, categories={"NEWS"})


def test_resolve_shipped_names_and_paths(tmp_path: Path) -> None:
    assert resolve_list("kz") == REPO / "targetlists" / "kz.csv"
    assert resolve_list("article15.csv") == REPO / "targetlists" / "article15.csv"
    own = write(tmp_path, HEADER_LINE + "\n")
    assert resolve_list(str(own)) == own
    with pytest.raises(InputError) as info:
        resolve_list("kazakhstan")
    assert info.value.hint is not None and "article15, kz" in info.value.hint
    with pytest.raises(InputError, match="is a directory"):
        resolve_list(str(tmp_path))
    assert set(shipped_lists()) >= {"kz", "article15"}
    assert shipped_lists(search_dirs=[tmp_path]) == {"l": own}
    assert resolve_list("l", search_dirs=[tmp_path]) == own


def test_shipped_lists_load_and_filter() -> None:
    kz = load_targets(resolve_list("kz"))
    assert len(kz) == 552
    article15 = load_targets(resolve_list("article15"), categories={"LGBT", "XED"})
    assert "https://selftanu.kz/" in {t.url for t in article15}
    assert all(t.notes for t in load_targets(resolve_list("article15")))


def test_parse_categories() -> None:
    assert parse_categories("LGBT, humr,") == {"LGBT", "HUMR"}
    with pytest.raises(InputError, match=r"unknown category code\(s\): GAYL; old codes: GAYL \(now LGBT\)"):
        parse_categories("GAYL")
    with pytest.raises(InputError, match="no category codes"):
        parse_categories(" , ")
