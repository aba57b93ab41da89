"""iptoasn.com TSV files (plain or .gz), loaded into sorted range tables searched by bisection.

A row is `range_start<TAB>range_end<TAB>AS_number<TAB>country_code<TAB>AS_description`; starts and
ends are IPv4 or IPv6 literals (ip2asn-combined / -v4 / -v6) or IPv4 integers (ip2asn-v4-u32).
Rows for AS 0 ("Not routed") are dropped: an address there is simply unknown. Blank lines and
`#` comments are skipped. The full file has ~500k rows, so IPv4 bounds live in compact arrays and
identities are shared between rows; the file is sorted already and is only re-sorted if it is not.
A malformed row or overlapping ranges raise ConfigError naming the file and line.
"""

from __future__ import annotations

import gzip
import socket
import zlib
from array import array
from bisect import bisect_right
from collections.abc import Iterator, MutableSequence
from pathlib import Path
from typing import TextIO

from probe.errors import ConfigError
from probe.identity.model import NetworkIdentity, identity

_U32 = "I" if array("I").itemsize >= 4 else "L"  # unsigned 32-bit on every platform
HINT = "expected iptoasn TSV rows: range_start, range_end, AS_number, country_code, AS_description"


class RangeTable:
    """Disjoint, sorted [start, end] ranges of one address family, each pointing at an identity."""

    def __init__(self, *, wide: bool) -> None:
        # 128-bit IPv6 bounds do not fit an array; IPv4 bounds do, at an eighth of the memory.
        self.starts: MutableSequence[int] = [] if wide else array(_U32)
        self.ends: MutableSequence[int] = [] if wide else array(_U32)
        self.entries: MutableSequence[int] = array(_U32)
        self.lines: MutableSequence[int] = array(_U32)  # only while loading, for error messages

    def add(self, start: int, end: int, entry: int, line: int) -> None:
        self.starts.append(start)
        self.ends.append(end)
        self.entries.append(entry)
        self.lines.append(line)

    def finish(self, path: Path) -> None:
        """Sort if needed, refuse overlaps, and drop the line numbers."""
        count = len(self.starts)
        if any(self.starts[i] > self.starts[i + 1] for i in range(count - 1)):
            order = sorted(range(count), key=self.starts.__getitem__)
            self.starts, self.ends = _reorder(self.starts, order), _reorder(self.ends, order)
            self.entries, self.lines = _reorder(self.entries, order), _reorder(self.lines, order)
        for i in range(1, len(self.starts)):
            if self.starts[i] <= self.ends[i - 1]:
                raise ConfigError(f"{path}:{self.lines[i]}: range overlaps the one on line {self.lines[i - 1]}",
                                  hint=HINT)
        self.lines = array(_U32)

    def find(self, value: int) -> int | None:
        index = bisect_right(self.starts, value) - 1
        if index >= 0 and value <= self.ends[index]:
            return self.entries[index]
        return None


def _reorder(column: MutableSequence[int], order: list[int]) -> MutableSequence[int]:
    if isinstance(column, array):
        return array(column.typecode, (column[i] for i in order))
    return [column[i] for i in order]


class TsvTables:
    def __init__(self) -> None:
        self.v4 = RangeTable(wide=False)
        self.v6 = RangeTable(wide=True)
        self.identities: list[NetworkIdentity] = []
        self._index: dict[NetworkIdentity, int] = {}

    def intern(self, found: NetworkIdentity) -> int:
        if found not in self._index:
            self._index[found] = len(self.identities)
            self.identities.append(found)
        return self._index[found]


def parse_address(text: str) -> tuple[int, int]:
    """'1.2.3.4' / '2001:db8::' / '16909060' → (version, integer value); ValueError otherwise."""
    text = text.strip()
    if text.isdigit():
        value = int(text)
        if value > 0xFFFFFFFF:
            raise ValueError(f"IPv4 integer out of range: {text}")
        return 4, value
    family, version = (socket.AF_INET6, 6) if ":" in text else (socket.AF_INET, 4)
    try:
        return version, int.from_bytes(socket.inet_pton(family, text), "big")
    except OSError as exc:
        raise ValueError(f"not an IP address: {text[:60]!r}") from exc


def load_tsv(path: Path) -> TsvTables:
    tables = TsvTables()
    line_no = 0
    try:
        with _open_text(path) as handle:
            for line_no, line in enumerate(handle, start=1):
                _add_row(tables, line, line_no, path)
    except ConfigError:
        raise
    except (OSError, EOFError, zlib.error) as exc:
        raise ConfigError(f"{path}:{line_no}: cannot read the ASN database: {exc}", hint=HINT) from exc
    tables.v4.finish(path)
    tables.v6.finish(path)
    return tables


def _add_row(tables: TsvTables, line: str, line_no: int, path: Path) -> None:
    text = line.rstrip("\r\n")
    if not text.strip() or text.lstrip().startswith("#"):
        return
    fields = text.split("\t")
    if line_no == 1 and fields[0].strip().lower() == "range_start":
        return  # a header row some exports add
    if len(fields) < 4:
        raise ConfigError(f"{path}:{line_no}: expected 5 tab-separated fields, found {len(fields)}", hint=HINT)
    try:
        v_start, start = parse_address(fields[0])
        v_end, end = parse_address(fields[1])
        asn = int(fields[2].strip().upper().removeprefix("AS"))
    except ValueError as exc:
        raise ConfigError(f"{path}:{line_no}: {exc}", hint=HINT) from exc
    if v_start != v_end or start > end:
        raise ConfigError(f"{path}:{line_no}: range_start and range_end do not make a range", hint=HINT)
    found = identity(asn, fields[3], fields[4] if len(fields) > 4 else "")
    if not found.known:
        return  # "Not routed": unknown, exactly like an address in no range
    table = tables.v4 if v_start == 4 else tables.v6
    table.add(start, end, tables.intern(found), line_no)


def _open_text(path: Path) -> TextIO:
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="")
    return path.open("r", encoding="utf-8", errors="replace", newline="")


def rows(tables: TsvTables) -> Iterator[tuple[int, int, int, NetworkIdentity]]:
    """(version, start, end, identity) of every range, for diagnostics and tests."""
    for version, table in ((4, tables.v4), (6, tables.v6)):
        for i in range(len(table.starts)):
            yield version, table.starts[i], table.ends[i], tables.identities[table.entries[i]]
