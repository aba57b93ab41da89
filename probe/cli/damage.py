"""Stores edited or damaged by hand, as one line: for the commands that read a store and print or export it.

A store whose rows no longer decode (non-UTF-8 text, a verdict that is not JSON, a dropped table,
artifact bytes typed as text) is bad input, not a bug in the probe: the command stops with a
StoreError naming the store and pointing at `probe verify --store`, which says exactly where. Nothing
is written to the store on the way. `probe verify` itself reports such rows as findings instead.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from probe.errors import StoreError

# pydantic is imported when a wrapped command runs, not when the CLI is built: `probe COMMAND --help`
# reads only the options.

F = TypeVar("F", bound=Callable[..., Any])


def store_read_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from pydantic import ValidationError

        try:
            return func(*args, **kwargs)
        except (sqlite3.Error, ValidationError, UnicodeError) as exc:
            store = kwargs.get("store_path") or "the store"
            raise StoreError(f"{store} cannot be read: {_what(exc)}: it was edited or damaged",
                             hint=f"`probe verify --store {store}` says where; nothing was changed") from exc
    return wrapper  # type: ignore[return-value]


def _what(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"a stored {exc.title} does not parse" + (f" at {where}" if where else "") + f" ({first['msg']})"
    text = " ".join(str(exc).split())
    return text[:200]
