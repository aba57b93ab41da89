"""Bad input: huge, binary, NUL, over-long lines, wrong encodings. Clear errors, no crash, bounded memory."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from probe.errors import InputError
from probe.targets import load_targets
from probe.targets.lint import lint_file
from probe.targets.parse import HEADER_LINE, parse_file, parse_stream
from probe.targets.reader import MAX_LINE_BYTES
from probe.targets.validate import validate_file

ROW = "https://www.who.int/,PUBH,Public Health,2024-01-02,probe,WHO\n"


class EndlessCsv(io.RawIOBase):
    """A stream of valid rows `total` bytes long, produced lazily (no stat: like a pipe)."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.count = 0
        self.pending = (HEADER_LINE + "\n").encode()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.left <= 0:
            return 0
        if not self.pending:
            self.count += 1
            self.pending = f"https://h{self.count}.kz/,NEWS,News Media,2020-01-01,x,n\n".encode()
        size = min(len(buffer), len(self.pending), self.left)
        buffer[:size] = self.pending[:size]
        self.pending, self.left = self.pending[size:], self.left - size
        return size


def codes(path: Path) -> list[tuple[int, str]]:
    return [(p.line, p.code) for p in validate_file(path).problems]


def test_a_50_mb_file_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with big.open("wb") as out:
        out.truncate(50 * 1000 * 1000)
    tracemalloc.start()
    try:
        parsed = parse_file(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [str(p) for p in parsed.problems] == [
        f"{big}: error: file is 50.0 MB; lists over 4 MiB are refused (fix: split it into several smaller lists)"]
    assert peak < 1_000_000
    with pytest.raises(InputError, match=r"big.csv: file is 50.0 MB"):
        load_targets(big)


def test_a_50_mb_stream_stops_at_the_cap_with_memory_bounded_by_the_cap() -> None:
    tracemalloc.start()
    try:
        parsed = parse_stream(io.BufferedReader(EndlessCsv(50 * 1024 * 1024)), "pipe.csv",
                              max_file_bytes=256 * 1024)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert parsed.fatal
    assert parsed.problems[-1].code == "too-large"
    assert peak < 8_000_000  # proportional to the 256 KiB cap, not to the 50 MB stream


def test_a_binary_file_is_named_as_such(tmp_path: Path) -> None:
    png = tmp_path / "photo.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 100)
    assert codes(png) == [(3, "binary")]  # the NUL follows "\x89PNG\r\n\x1a\n"
    with pytest.raises(InputError, match=r"photo.csv:3: line contains a NUL byte"):
        load_targets(png)
    with pytest.raises(InputError, match="cannot rewrite"):
        lint_file(png, write=True)


def test_a_csv_with_a_nul_byte_stops_at_that_line(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes((HEADER_LINE + "\n" + ROW).encode() + b"https://a.kz/\x00,NEWS,,,,\n" + ROW.encode())
    assert codes(path) == [(3, "binary")]


def test_a_1_mb_line_is_reported_and_the_rest_still_read(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    long_note = "x" * (1024 * 1024)
    path.write_text(HEADER_LINE + "\n" + ROW + f"https://b.kz/,NEWS,News Media,2020-01-01,x,{long_note}\n"
                    + "javascript:x,NEWS,News Media,2020-01-01,x,\n", encoding="utf-8")
    checked = validate_file(path)
    assert [(p.line, p.code) for p in checked.problems] == [(3, "line-too-long"), (4, "url")]
    assert f"longer than {MAX_LINE_BYTES // 1024} KiB" in checked.problems[0].message
    assert [r.line for r in checked.parsed.rows] == [2, 4]
    with pytest.raises(InputError, match=r"long.csv:3: line is longer than 64 KiB \(and 1 more problems\)"):
        load_targets(path)


def test_wrong_encodings(tmp_path: Path) -> None:
    cp1251 = tmp_path / "cp1251.csv"
    cp1251.write_bytes((HEADER_LINE + "\n" + ROW).encode() + "https://a.kz/,NEWS,News Media,2020-01-01,x,Новости\n"
                       .encode("cp1251"))
    assert codes(cp1251) == [(3, "encoding")]
    utf16 = tmp_path / "utf16.csv"
    utf16.write_text(HEADER_LINE + "\n" + ROW, encoding="utf-16")
    assert codes(utf16) == [(1, "utf16")]
    with pytest.raises(InputError, match="UTF-16"):
        load_targets(utf16)


def test_empty_missing_and_directory(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert codes(empty) == [(0, "empty")]
    with pytest.raises(InputError, match="has no targets"):
        load_targets(empty)
    with pytest.raises(InputError, match="no such file"):
        load_targets(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="is a directory"):
        load_targets(tmp_path)


def test_unterminated_quote_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text(HEADER_LINE + "\n" + ROW + 'https://a.kz/,NEWS,News Media,2020-01-01,x,"open\n' + ROW,
                    encoding="utf-8")
    problems = validate_file(path).problems
    assert problems[0].code in {"csv-syntax", "control-char", "columns"}
    with pytest.raises(InputError):
        load_targets(path)


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", "https://exa mple.org/", "data:text/html,x"])
def test_hostile_urls_are_refused_on_load(tmp_path: Path, url: str) -> None:
    path = tmp_path / "hostile.csv"
    path.write_text(HEADER_LINE + "\n" + ROW + f'"{url}",NEWS,News Media,2020-01-01,x,\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"hostile.csv:3: "):
        load_targets(path)
    skipped: list[str] = []  # a run passes a callback: the row is named and skipped, the rest measured
    assert [t.url for t in load_targets(path, on_error=skipped.append)] == ["https://www.who.int/"]
    assert len(skipped) == 1 and skipped[0].startswith(f"{path}:3: ")


def _nul(path: Path) -> None:
    path.write_bytes((HEADER_LINE + "\n" + ROW).encode() + b"https://a.kz/\x00,NEWS,,,,\n" + ROW.encode())


def _cp1251(path: Path) -> None:
    path.write_bytes((HEADER_LINE + "\n" + ROW).encode() + "https://a.kz/,NEWS,News Media,2020-01-01,x,Новости\n"
                     .encode("cp1251"))


def _long_line(path: Path) -> None:
    path.write_text(HEADER_LINE + "\n" + ROW + f"https://b.kz/,NEWS,News Media,2020-01-01,x,{'x' * 70_000}\n",
                    encoding="utf-8")


def _wrong_header(path: Path) -> None:
    path.write_text("address,code\n" + ROW, encoding="utf-8")


def _utf16(path: Path) -> None:
    path.write_text(HEADER_LINE + "\n" + ROW, encoding="utf-16")


@pytest.mark.parametrize(("make", "says"), [(_nul, "NUL byte"), (_cp1251, "UTF-8"), (_long_line, "longer than"),
                                            (_wrong_header, "wrong columns"), (_utf16, "UTF-16")])
def test_file_level_problems_stay_fatal_when_a_run_skips_bad_rows(tmp_path: Path, make: Callable[[Path], None],
                                                                  says: str) -> None:
    path = tmp_path / "bad.csv"
    make(path)
    skipped: list[str] = []
    with pytest.raises(InputError, match=says):
        load_targets(path, on_error=skipped.append)
    assert skipped == []
