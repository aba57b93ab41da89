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


def _registries(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        tld, sep, spec = value.partition("=")
        if not sep or not tld.strip(".") or not (spec.startswith(("https://", "whois://")) or spec == "off"):
            raise click.BadParameter(f"{value!r} is not TLD=https://HOST/PATH/ (RDAP), TLD=whois://HOST[:PORT] "
                                     "or TLD=off")
        out[tld.strip(".").lower()] = spec
    return out


def registry_option(func: F) -> F:
    """--registry TLD=SERVER (repeatable): the registry asked about names that resolve nowhere."""
    return click.option("--registry", "registries", multiple=True, metavar="TLD=SERVER", callback=_registries,
                        help="Registry for a TLD instead of the shipped one (probe/data/registries.csv): "
                             "https://HOST/PATH/ for RDAP, whois://HOST[:PORT], or off; asked only about "
                             "names that resolve nowhere (repeat).")(func)
