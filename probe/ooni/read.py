"""Stream OONI measurements out of the files OONI publishes, one at a time, in bounded memory.

Accepts what OONI's API and public archive hand out: JSONL (one measurement a line, as the archive's
`.jsonl.gz` cans), a single measurement as an (indented) `.json` document (the API's raw measurement),
an API answer that wraps one (`raw_measurement`, as text or object) or lists several, and any of these
gzip-compressed (recognised by its magic bytes, not its name). JSONL is read line by line, never
whole; a one-document file is read whole up to `MAX_DOCUMENT_BYTES`. A line that is not JSON, is cut
short, or is longer than `MAX_LINE_BYTES` becomes a `Bad` item naming file:line, and reading goes on;
a gzip stream that ends early stops the file with one. Nothing here maps or stores.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

MAX_LINE_BYTES = 64 << 20  # one OONI measurement with its bodies (OONI caps a body at a few MB)
MAX_DOCUMENT_BYTES = 256 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Good:
    where: str  # "file:line"
    raw: dict[str, Any]


@dataclass(frozen=True)
class Bad:
    where: str
    why: str


Item = Good | Bad


def read_measurements(path: Path) -> Iterator[Item]:
    """Every measurement in `path`, in file order; OSError if it cannot be opened."""
    with open(path, "rb") as probe_handle:
        compressed = probe_handle.read(2) == _GZIP_MAGIC
    handle = cast(IO[bytes], gzip.open(path, "rb") if compressed else open(path, "rb"))  # noqa: SIM115
    with handle:
        try:
            first = handle.readline(MAX_LINE_BYTES + 1)
        except (EOFError, OSError, zlib.error) as exc:
            yield Bad(f"{path.name}:1", f"cannot be read ({_gzip_text(exc)})")
            return
        if _one_object(first):
            yield from _lines(path.name, handle, first)
        else:
            yield from _document(path.name, handle, first)


def _one_object(line: bytes) -> bool:
    """Is this first line a whole JSON object on its own (JSONL), rather than the start of a document?"""
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


def _lines(name: str, handle: IO[bytes], first: bytes) -> Iterator[Item]:
    number, line = 1, first
    while line:
        where = f"{name}:{number}"
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            yield Bad(where, f"line longer than {MAX_LINE_BYTES >> 20} MiB: skipped")
            if not _skip_to_newline(handle):
                return
        elif line.strip():
            yield from _parse(where, line, last=not line.endswith(b"\n"))
        number += 1
        try:
            line = handle.readline(MAX_LINE_BYTES + 1)
        except (EOFError, OSError, zlib.error) as exc:
            yield Bad(f"{name}:{number}", f"the file ends early ({_gzip_text(exc)}); the lines before were read")
            return


def _skip_to_newline(handle: IO[bytes]) -> bool:
    while chunk := handle.readline(_CHUNK):
        if chunk.endswith(b"\n"):
            return True
    return False


def _parse(where: str, data: bytes, *, last: bool) -> Iterator[Item]:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as exc:
        cut = " (cut short: the file ends mid-line)" if last else ""
        yield Bad(where, f"not JSON{cut}: {str(exc)[:120]}")
        return
    yield from _unwrap(where, value)


def _unwrap(where: str, value: object) -> Iterator[Item]:
    """A measurement, or the API's wrappers around one or many."""
    if isinstance(value, list):
        others = sum(not isinstance(element, dict) for element in value)
        if others:
            yield Bad(where, f"a JSON list with {others} element{'s' if others > 1 else ''} that "
                             f"{'are' if others > 1 else 'is'} no measurement")
        for element in value:
            if isinstance(element, dict):
                yield from _unwrap(where, element)
        return
    if not isinstance(value, dict):
        yield Bad(where, f"a JSON {type(value).__name__}, not a measurement")
        return
    inner = value.get("raw_measurement")
    if isinstance(inner, str):
        try:
            inner = json.loads(inner)
        except ValueError as exc:
            yield Bad(where, f"raw_measurement is not JSON: {str(exc)[:120]}")
            return
    if isinstance(inner, dict):
        yield Good(where, inner)
    elif isinstance(value.get("results"), list) and "test_keys" not in value:
        for element in value["results"]:
            yield from _unwrap(where, element)
    else:
        yield Good(where, value)


def _document(name: str, handle: IO[bytes], first: bytes) -> Iterator[Item]:
    parts, size = [first], len(first)
    try:
        while chunk := handle.read(_CHUNK):
            size += len(chunk)
            if size > MAX_DOCUMENT_BYTES:
                yield Bad(f"{name}:1", f"a single JSON document larger than {MAX_DOCUMENT_BYTES >> 20} MiB: "
                                       "give OONI's JSONL (one measurement a line) instead")
                return
            parts.append(chunk)
    except (EOFError, OSError, zlib.error) as exc:
        yield Bad(f"{name}:1", f"the file ends early ({_gzip_text(exc)})")
        return
    data = b"".join(parts)
    if not data.strip():
        yield Bad(f"{name}:1", "empty file")
        return
    try:
        value = json.loads(data)
    except json.JSONDecodeError as exc:
        yield Bad(f"{name}:{exc.lineno}", f"not JSON: {exc.msg} (column {exc.colno})")
        return
    except UnicodeDecodeError as exc:
        yield Bad(f"{name}:1", f"not UTF-8 text: {exc.reason}")
        return
    except (ValueError, RecursionError) as exc:
        yield Bad(f"{name}:1", f"not JSON: {type(exc).__name__}")
        return
    yield from _unwrap(f"{name}:1", value)


def _gzip_text(exc: BaseException) -> str:
    return "truncated gzip stream" if isinstance(exc, EOFError) else f"{type(exc).__name__}: {exc}"
