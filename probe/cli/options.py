"""Option decorators shared by several commands, so each flag means the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from probe.store import DEFAULT_STORE

F = TypeVar("F", bound=Callable[..., Any])


def store_option(func: F) -> F:
    return click.option("--store", "store_path", type=click.Path(path_type=Path), default=DEFAULT_STORE,
                        show_default=True, help="The SQLite evidence store.")(func)
