"""Read a list file as text lines with bounded memory, recording file-level problems.

`LineReader` reads a binary stream one line at a time (never more than `max_line_bytes` at once and
never more than `max_file_bytes` in total) and yields each line as text ending in "\\n", so that the
`csv` module can consume it and count lines. Lines that cannot be used (not UTF-8, too long) are
reported and replaced by an empty line, so line numbers stay true. A NUL byte (looked for first in
the file's first 8 KiB), a UTF-16/32 byte-order mark or an oversized file stops reading: the file is
not a text list. It also notes a UTF-8 BOM, CRLF
line ends and a missing final newline. It does not parse CSV.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from probe.i18n import N_, _
from probe.targets.problems import Problem, error

MAX_FILE_BYTES = 4 * 1024 * 1024  # ~80,000 rows; the largest Citizen Lab list (global.csv) is 0.17 MB
MAX_LINE_BYTES = 64 * 1024
_UTF8_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")
_FIX = N_("run `probe lists lint --fix FILE`")
_SNIFF_BYTES = 8192


class LineReader:
    def __init__(self, stream: BinaryIO, name: str, *, max_file_bytes: int = MAX_FILE_BYTES,
                 max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.stream = stream
        self.name = name
        self.max_file_bytes = max_file_bytes
        self.max_line_bytes = max_line_bytes
        self.problems: list[Problem] = []
        self.bad_lines: set[int] = set()  # lines already reported and replaced by an empty line
        self.fatal = False
        self.has_bom = False
        self.crlf_lines = 0
        self.lines = 0
        self.ends_with_newline = True
        self._bytes = 0

    def __iter__(self) -> Iterator[str]:
        self._sniff()
        while not self.fatal:
            raw = self._read_line()
            if raw is None:
                return
            self.lines += 1
            text = self._decode(raw)
            if text is not None:
                yield text

    def _sniff(self) -> None:
        """Refuse a binary file at once, rather than report its first line as a broken CSV row."""
        head = _peek(self.stream, _SNIFF_BYTES)
        if head.startswith(_WIDE_BOMS):
            self._stop(1, "utf16", "file is UTF-16 or UTF-32, not UTF-8", "save it as UTF-8")
        elif b"\x00" in head:
            line = head[: head.index(b"\x00")].count(b"\n") + 1
            self._stop(line, "binary", _("line contains a NUL byte: this looks like a binary file, not a target "
                                         "list"), _("give a UTF-8 CSV or text file"))

    def _read_line(self) -> bytes | None:
        raw = self.stream.readline(self.max_line_bytes + 1)
        if not raw:
            return None
        self._bytes += len(raw)
        if self._bytes > self.max_file_bytes:
            self._stop(self.lines + 1, "too-large",
                       _("file is larger than {limit} MiB; lists this large are refused").format(
                           limit=self.max_file_bytes // (1024 * 1024)), _("split it into several smaller lists"))
            return None
        if len(raw) > self.max_line_bytes and not raw.endswith(b"\n"):
            self._skip_rest_of_line()
            self.problems.append(error(self.name, self.lines + 1, "line-too-long",
                                       _("line is longer than {limit} KiB").format(limit=self.max_line_bytes // 1024),
                                       _("a list line holds one URL and a short note; shorten it")))
            self.bad_lines.add(self.lines + 1)
            return b"\n"
        return raw

    def _skip_rest_of_line(self) -> None:
        while True:
            chunk = self.stream.readline(self.max_line_bytes)
            self._bytes += len(chunk)
            if not chunk or chunk.endswith(b"\n") or self._bytes > self.max_file_bytes:
                return

    def _decode(self, raw: bytes) -> str | None:
        number = self.lines
        if b"\x00" in raw:
            self._stop(number, "binary", _("line contains a NUL byte: this looks like a binary file, not a target "
                                           "list"), _("give a UTF-8 CSV or text file"))
            return None
        if number == 1 and raw.startswith(_UTF8_BOM):
            self.has_bom = True
            raw = raw[len(_UTF8_BOM):]
            self.problems.append(error(self.name, 1, "bom", _("file starts with a UTF-8 byte-order mark (BOM)"),
                                       _("{fix} or save as UTF-8 without BOM").format(fix=_(_FIX)), fixable=True))
        self.ends_with_newline = raw.endswith(b"\n")
        if raw.endswith(b"\r\n"):
            self.crlf_lines += 1
            if self.crlf_lines == 1:
                self.problems.append(error(self.name, number, "crlf", _("line ends with CRLF (Windows); lists use "
                                                                       "LF line ends"), _(_FIX), fixable=True))
            raw = raw[:-2] + b"\n"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.problems.append(error(self.name, number, "encoding", _(
                "line is not valid UTF-8 (byte {position}: {byte})").format(
                    position=exc.start + 1, byte=repr(raw[exc.start:exc.start + 1])), _("save the file as UTF-8")))
            self.bad_lines.add(number)
            return "\n"
        return text if text.endswith("\n") else text + "\n"

    def _stop(self, line: int, code: str, message: str, hint: str) -> None:
        self.fatal = True
        self.problems.append(error(self.name, line, code, message, hint))


def _peek(stream: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes from the start of `stream` without consuming them (b"" if it cannot tell)."""
    peek = getattr(stream, "peek", None)
    if callable(peek):
        head = peek(size)
        return head[:size] if isinstance(head, bytes) else b""
    if stream.seekable():
        position = stream.tell()
        head = stream.read(size)
        stream.seek(position)
        return head
    return b""
