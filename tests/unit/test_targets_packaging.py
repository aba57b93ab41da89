"""The shipped lists reach an installed probe: `pip install /opt/probe/src` (not editable) must find kz.

targetlists/ holds the one copy of each list; probe/targets/data/lists links to it and the build
follows the link. These tests expand pyproject's package-data patterns the way setuptools' build_py
does (recursive glob from the package directory, files only, links followed), lay the result out as
a wheel would install it, and resolve the shipped names there, away from the checkout.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tomllib
from importlib.resources import files
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("kz.csv", "article15.csv")


def package_data_files() -> set[str]:
    """The files build_py copies as package data of `probe`, relative to the package directory."""
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]["probe"]
    package_dir = REPO / "probe"
    found = set()
    for pattern in patterns:
        for match in glob.glob(os.path.join(package_dir, pattern), recursive=True):
            if os.path.isfile(match):
                found.add(os.path.relpath(match, package_dir))
    return found


def test_the_lists_have_one_copy_in_targetlists_that_the_package_links_to() -> None:
    link = REPO / "probe" / "targets" / "data" / "lists"
    assert link.is_symlink() and link.resolve() == REPO / "targetlists"
    copies = [Path(root, name) for root, _, names in os.walk(REPO / "probe") for name in names if name in SHIPPED]
    assert copies == []  # os.walk does not follow the link: no second copy to drift apart


def test_the_lists_are_package_data_reachable_with_importlib_resources() -> None:
    assert {f"targets/data/lists/{name}" for name in SHIPPED} <= package_data_files()
    for name in SHIPPED:
        resource = files("probe.targets").joinpath("data", "lists", name)
        assert resource.is_file()
        assert resource.read_bytes() == (REPO / "targetlists" / name).read_bytes()


def test_an_installed_layout_resolves_the_shipped_names(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for source in (REPO / "probe").rglob("*.py"):  # what build_py copies: modules, then package data
        if "__pycache__" not in source.parts:
            (site / source.relative_to(REPO)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, site / source.relative_to(REPO))
    for relative in package_data_files():
        target = site / "probe" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / "probe" / relative, target)  # follows the link, as the build does
    code = ("from probe.targets import resolve_list, load_targets\n"
            "for name in ('kz', 'article15'):\n"
            "    path = resolve_list(name)\n"
            "    print(path, len(load_targets(path)))\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [line.rsplit(" ", 1) for line in done.stdout.splitlines()]
    assert [path for path, _ in lines] == [str(site / "probe" / "targets" / "data" / "lists" / name)
                                          for name in SHIPPED]
    assert all(int(count) > 0 for _, count in lines)
