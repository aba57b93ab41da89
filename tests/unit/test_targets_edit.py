"""Adding and removing URLs, and importing a Citizen Lab country list."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from probe.errors import InputError
from probe.targets.edit import NewEntry, add_target, remove_target
from probe.targets.importer import describe_source, import_lists
from probe.targets.parse import HEADER_LINE

TODAY = dt.date(2026, 7, 1)


def test_add_creates_a_list_fills_description_and_date_and_keeps_it_sorted(tmp_path: Path) -> None:
    path = tmp_path / "new.csv"
    add_target(path, NewEntry("https://WWW.who.int", "pubh", notes="WHO", source="me"), today=TODAY)
    add_target(path, NewEntry("https://arxiv.org/", "CULTR", notes='preprints, "open"'), today=TODAY)
    assert path.read_text(encoding="utf-8") == (
        HEADER_LINE + "\n"
        'https://arxiv.org/,CULTR,Culture,2026-07-01,,"preprints, ""open"""\n'
        "https://www.who.int/,PUBH,Public Health,2026-07-01,me,WHO\n")


def test_add_appends_to_an_unsorted_list_without_touching_other_rows(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    body = HEADER_LINE + "\nhttps://z.kz/,NEWS,News Media,2020-01-01,x,\nhttps://a.kz/,NEWS,Wrong,2020-01-01,x,\n"
    path.write_text(body, encoding="utf-8")
    add_target(path, NewEntry("https://m.kz/", "NEWS", date_added="2021-02-03"), today=TODAY)
    assert path.read_text(encoding="utf-8") == body + "https://m.kz/,NEWS,News Media,2021-02-03,,\n"


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        (NewEntry("https://a.kz/x/", "NEWS"), "already lists https://a.kz/x"),
        (NewEntry("javascript:alert(1)", "NEWS"), "scheme 'javascript:'"),
        (NewEntry("https://b.kz/", ""), "needs a category"),
        (NewEntry("https://b.kz/", "NOPE"), "unknown category code"),
        (NewEntry("https://b.kz/", "NEWS", date_added="01.02.2020"), "not a YYYY-MM-DD date"),
        (NewEntry("https://b.kz/", "NEWS", notes="two\nlines"), "notes contains a line break"),
    ],
)
def test_add_refuses_bad_entries(tmp_path: Path, entry: NewEntry, says: str) -> None:
    path = tmp_path / "l.csv"
    path.write_text(HEADER_LINE + "\nhttps://a.kz/x,NEWS,News Media,2020-01-01,x,\n", encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(InputError, match=says):
        add_target(path, entry, today=TODAY)
    assert path.read_bytes() == before


def test_add_to_plain_list_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "l.txt"
    path.write_text("# health\nhttps://a.kz/\n# end\n", encoding="utf-8")
    add_target(path, NewEntry("https://b.kz", notes="why"), today=TODAY)
    assert path.read_text(encoding="utf-8") == "# health\nhttps://a.kz/\n# end\nhttps://b.kz/  # why\n"


def test_remove_takes_out_every_copy_after_normalisation(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text(HEADER_LINE + "\nhttp://namba.kz/#!/,FILE,File-sharing,2014-04-15,c,\n"
                    "https://a.kz/,NEWS,News Media,2020-01-01,x,\nhttp://NAMBA.kz,FILE,File-sharing,2019-05-25,n,\n",
                    encoding="utf-8")
    removed = remove_target(path, "http://namba.kz/")
    assert [r.line for r in removed] == [2, 4]
    assert path.read_text(encoding="utf-8") == HEADER_LINE + "\nhttps://a.kz/,NEWS,News Media,2020-01-01,x,\n"
    with pytest.raises(InputError, match="does not list"):
        remove_target(path, "http://namba.kz/")
    with pytest.raises(InputError, match="no such file"):
        remove_target(tmp_path / "none.csv", "https://a.kz/")


def upstream(tmp_path: Path) -> Path:
    checkout = tmp_path / "test-lists"
    (checkout / "lists").mkdir(parents=True)
    (checkout / "lists" / "kz.csv").write_text(
        HEADER_LINE + "\n"
        "http://namba.kz/#!/,FILE,File-sharing,2014-04-15,citizenlab,\n"
        "http://namba.kz/,FILE,File-sharing,2019-05-25,Netalitica,dup\n"
        "https://new.kz/,NEWS,News Media,2024-01-01,ifkz,new\n"
        "javascript:x,NEWS,News Media,2024-01-01,ifkz,\n"
        "https://old.kz/,GAYL,whatever,2014-04-15,citizenlab,legacy code\n", encoding="utf-8")
    git = checkout / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/master\n")
    (git / "refs" / "heads" / "master").write_text("7f01e430040e571f1315734ee36151a6897f71b5\n")
    (git / "config").write_text('[remote "origin"]\n\turl = https://user:secret@github.com/citizenlab/test-lists\n')
    return checkout


def test_import_merges_without_duplicates_and_records_provenance(tmp_path: Path) -> None:
    output = tmp_path / "ours" / "kz.csv"
    output.parent.mkdir()
    output.write_text(HEADER_LINE + "\nhttps://new.kz/,NEWS,News Media,2023-01-01,us,ours wins\n", encoding="utf-8")
    checkout = upstream(tmp_path)
    result = import_lists([checkout], country="KZ", output=output, today=TODAY)
    assert (result.added, result.already_listed, [p.code for p in result.skipped]) == (2, 2, ["url"])
    assert output.read_text(encoding="utf-8") == (
        HEADER_LINE + "\n"
        "http://namba.kz/,FILE,File-sharing,2014-04-15,citizenlab,\n"
        "https://new.kz/,NEWS,News Media,2023-01-01,us,ours wins\n"
        "https://old.kz/,LGBT,LGBT,2014-04-15,citizenlab,legacy code\n")
    provenance = (tmp_path / "ours" / "kz.csv.provenance").read_text(encoding="utf-8")
    assert provenance == ("2026-07-01 imported 2 new rows (2 already listed, 1 skipped) from "
                          "https://github.com/citizenlab/test-lists lists/kz.csv at commit "
                          "7f01e430040e571f1315734ee36151a6897f71b5\n")
    assert "secret" not in provenance
    again = import_lists([checkout], country="kz", output=output, today=TODAY)
    assert again.added == 0 and again.provenance == ""
    assert (tmp_path / "ours" / "kz.csv.provenance").read_text(encoding="utf-8") == provenance


def test_import_source_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or directory"):
        import_lists([tmp_path / "nope"], country="kz", output=tmp_path / "o.csv")
    with pytest.raises(InputError, match="no kz.csv in"):
        import_lists([tmp_path], country="kz", output=tmp_path / "o.csv")
    with pytest.raises(InputError, match="two-letter country code"):
        import_lists([tmp_path], country="kaz", output=tmp_path / "o.csv")


def test_describe_source_reads_source_txt_next_to_the_files(tmp_path: Path) -> None:
    (tmp_path / "kz.csv").write_text(HEADER_LINE + "\n", encoding="utf-8")
    assert describe_source(tmp_path / "kz.csv") == str(tmp_path / "kz.csv")
    (tmp_path / "SOURCE.txt").write_text("Source: https://github.com/citizenlab/test-lists\n"
                                         "Commit: 7f01e430040e571f1315734ee36151a6897f71b5 (2026-06-30)\n")
    assert describe_source(tmp_path / "kz.csv") == ("https://github.com/citizenlab/test-lists lists/kz.csv "
                                                    "at commit 7f01e430040e571f1315734ee36151a6897f71b5")
