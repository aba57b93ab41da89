"""Shipped target lists by name: `--list kz` means targetlists/kz.csv.

The repository's `targetlists/` directory is the one copy of the shipped lists (maintainers edit it).
The package reaches it through `probe/targets/data/lists`, a symbolic link to `targetlists/`: the
build follows the link, so a wheel or sdist carries the files themselves as package data, and an
installed probe (`pip install /opt/probe/src`, not editable) finds them with `importlib.resources`.
In a checkout the lists are named by their `targetlists/` path. Callers may pass other directories
to search. This module only finds files; it does not read them.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

from probe.errors import InputError
from probe.i18n import _

_CHECKOUT_DIR = Path(__file__).resolve().parent.parent.parent
LIST_SUFFIXES = (".csv", ".txt")


def packaged_lists_dir() -> Path:
    """The lists shipped inside the package: probe/targets/data/lists/ (a link to targetlists/ in a checkout)."""
    return Path(str(files("probe.targets").joinpath("data", "lists")))


def default_search_dirs() -> list[Path]:
    """Where shipped lists are looked for: a checkout's targetlists/, then the package's own copy."""
    dirs = [packaged_lists_dir()]
    if (_CHECKOUT_DIR / "pyproject.toml").is_file():
        dirs.insert(0, _CHECKOUT_DIR / "targetlists")
    return dirs


def shipped_lists(*, search_dirs: Sequence[Path] | None = None) -> dict[str, Path]:
    """Name -> path of every shipped list (the first directory that has a name wins)."""
    found: dict[str, Path] = {}
    for directory in search_dirs if search_dirs is not None else default_search_dirs():
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if path.suffix in LIST_SUFFIXES and path.is_file() and not path.name.startswith("."):
                found.setdefault(path.stem, path)
    return found


def resolve_list(name_or_path: str, *, search_dirs: Sequence[Path] | None = None) -> Path:
    """An existing file path as given, else the shipped list of that name; InputError otherwise."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        raise InputError(_("{file} is a directory, not a list file").format(file=name_or_path),
                         hint=_("give a .csv file"))
    shipped = shipped_lists(search_dirs=search_dirs)
    name = name_or_path.removesuffix(".csv").removesuffix(".txt")
    if name in shipped and "/" not in name_or_path:
        return shipped[name]
    names = ", ".join(sorted(shipped)) or _("none found")
    raise InputError(_("no list file or shipped list named {name}").format(name=repr(name_or_path)),
                     hint=_("give the path to a CSV file, or one of the shipped lists: {names}").format(names=names))
