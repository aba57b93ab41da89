"""Where `probe export` stages a bundle's files: a hidden folder beside the destination, never /tmp.

Why beside the destination: the evidence (up to the whole store's bodies) stays on the disk and in
the folder the volunteer chose, not in a shared /tmp that may be RAM, that nobody cleans for days
and that the volunteer never looks at; the finished zip is renamed into place on the same
filesystem; and a full disk shows at once for the disk the bundle goes to. A SIGKILL cannot be
caught, so the folder it leaves (named `.<bundle>.probe-export-<pid>-<start>-<random>`) is removed by
the next export into that folder once its process is gone (a live export's folder is never touched).
This module makes and cleans staging folders; it does not know what goes in them.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from probe.errors import EvidenceError
from probe.store.liveness import owner_alive, this_process

MARK = ".probe-export-"
_OWNER = re.compile(re.escape(MARK) + r"(\d+)-(\d+)-")


@contextmanager
def staging_folder(out: Path) -> Iterator[Path]:
    """A private (0700) folder beside `out`, removed on exit; stale ones from killed exports go first."""
    created = [p for p in (out.parent, *out.parent.parents) if not p.exists()]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(out.parent)
        _, _, pid, started = this_process().split("|")
        path = Path(tempfile.mkdtemp(prefix=f".{out.name}{MARK}{pid}-{started}-", dir=out.parent))
    except OSError as exc:
        raise EvidenceError(f"cannot write beside {out}: {exc.strerror or exc}",
                            hint="choose a writable folder with --out") from exc
    try:
        yield path
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        for folder in created:  # innermost first: a refused export leaves no empty folders either
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    shutil.rmtree(path, ignore_errors=True)


def remove_stale(folder: Path) -> list[Path]:
    """Remove the staging folders in `folder` whose export process is gone; returns them."""
    removed = []
    host, boot, _, _ = this_process().split("|")
    for path in folder.glob(f".*{MARK}*"):
        found = _OWNER.search(path.name)
        if found is None or not path.is_dir() or path.is_symlink():
            continue
        if owner_alive(f"{host}|{boot}|{found.group(1)}|{found.group(2)}") is False:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def staged_zip(root: Path, out: Path) -> Path:
    """The half-written zip's path: inside the staging folder, so a kill leaves no `.partial` beside it."""
    return root / (out.name + ".partial")


