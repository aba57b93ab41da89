"""Fitting a table to the terminal: which columns to show and how wide, and text shortened to a width.

Pure functions over plain strings (no rich, no I/O), so the rules are unit-tested on their own:
columns are kept in order of importance, the shrinkable ones (URLs, reasons) give up width first, and
only when even their narrowest form does not fit is the least important column left out. The tables
in `probe.cli.tables` use this; `--wide` bypasses it and shows every column in full.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ELLIPSIS = "…"
# A rich table with a box draws one border character before every column and one after the last,
# and pads every cell by one space on each side.
_BORDER_PER_COLUMN = 3


@dataclass(frozen=True)
class Column:
    header: str
    importance: int  # 0 is kept longest; ties keep the leftmost
    min_width: int  # below this a shrinkable column is no longer useful
    shrink: str = "none"  # "middle" (URLs), "end" (prose), or "none" (ids, labels, times: never cut)
    want: int = 0  # a shrinkable column's width before less important columns get any (at least min_width)


def shorten_middle(text: str, width: int) -> str:
    """`text` in at most `width` characters, its middle replaced by an ellipsis: both the scheme and
    host at the start and the last path segment at the end of a URL stay readable."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    keep = width - 1
    head = keep - keep // 2  # the start (scheme and host) gets the odd character
    tail = keep - head
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


def shorten_end(text: str, width: int) -> str:
    """`text` in at most `width` characters, cut at a word boundary when one is near, ending in an ellipsis."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    cut = text[:width - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > width // 2 else cut).rstrip(" ,;:(") + ELLIPSIS


def shorten(text: str, width: int, how: str) -> str:
    if how == "middle":
        return shorten_middle(text, width)
    if how == "end":
        return shorten_end(text, width)
    return text


def fit(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> tuple[list[int], list[int]]:
    """Which columns to show (their indexes, in the original order) and each one's width, so a row is one
    line of at most `width` characters.

    Columns are taken in order of importance, each at the width it needs (a fixed column its longest
    cell; a shrinkable one its `want`, or less when its cells are shorter), until the next one does
    not fit: so a column is never shown while a more important one is missing. The room left goes to
    the shrinkable columns, most important first, up to their longest cell. The most important column
    is always shown."""
    natural = [max([len(c.header)] + [max(map(len, str(row[i]).splitlines() or [""])) for row in rows])
               for i, c in enumerate(columns)]
    need = [natural[i] if c.shrink == "none" else min(natural[i], max(c.want, c.min_width))
            for i, c in enumerate(columns)]
    order = sorted(range(len(columns)), key=lambda i: (columns[i].importance, i))
    shown: list[int] = []
    for i in order:
        if shown and _line(need[j] for j in [*shown, i]) > width:
            break
        shown.append(i)
    widths = {i: need[i] for i in shown}
    room = width - _line(widths.values())
    for i in shown:  # already in order of importance
        if room <= 0:
            break
        give = min(room, natural[i] - widths[i]) if columns[i].shrink != "none" else 0
        widths[i] += give
        room -= give
    if room < 0 and columns[shown[0]].shrink != "none":  # one column, still too wide: cut it to fit
        widths[shown[0]] = max(widths[shown[0]] + room, 1)
    kept = sorted(shown)
    return kept, [widths[i] for i in kept]


def _line(widths: Iterable[int]) -> int:
    """The characters one table line takes with these column widths (borders and padding included)."""
    values = list(widths)
    return sum(values) + _BORDER_PER_COLUMN * len(values) + 1
