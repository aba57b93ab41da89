"""Option decorators shared by several commands, so each flag means the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

import click

from probe.i18n import N_

F = TypeVar("F", bound=Callable[..., Any])


STORE_HELP = N_("The SQLite evidence store (default: the daemon's, if a configuration file exists; else "
               "results/probe.sqlite).")
_ALONE = "\0alone"  # what a bare `--store` (no PATH) stands for, where that is allowed


@overload
def store_option(func: F) -> F: ...


@overload
def store_option(*, help: str = STORE_HELP, alone: bool = False,  # noqa: A002 - click's name
                 default: Literal["configured", "none"] = "configured") -> Callable[[F], F]: ...


def store_option(func: F | None = None, *, help: str = STORE_HELP, alone: bool = False,  # noqa: A002 - click's name
                 default: Literal["configured", "none"] = "configured") -> F | Callable[[F], F]:
    """--store PATH: the one definition every command uses. Not given, it is `probe.config.default_store`
    (the daemon's store, as the configuration file names it, else results/probe.sqlite), read after
    --config (which is eager) where the command has one. `default="none"`: not given, it stays None (the
    command has its own, e.g. a temporary store). `alone=True`: a bare `--store` means the default
    store and no --store at all None (`probe verify` checks a bundle unless told to check the store)."""
    def resolve(ctx: click.Context, _param: click.Parameter, value: str | None) -> Path | None:
        if value is not None and value != _ALONE:
            return Path(value)
        if value is None and (alone or default == "none"):
            return None
        from probe.config import default_store

        return default_store(ctx.params.get("config_path"))

    def decorate(f: F) -> F:
        # A string, made a Path by `resolve`: click.Path would choke on the NUL of the bare-flag marker.
        return click.option("--store", "store_path", type=click.STRING, metavar="PATH", default=None,
                            is_flag=False, flag_value=_ALONE if alone else None, callback=resolve,
                            help=help)(f)

    return decorate(func) if func is not None else decorate


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
