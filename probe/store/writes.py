"""How the store writes: failed writes as one-line errors, and appends batched into short transactions.

One COMMIT per measurement was the largest CPU cost of storing one, so a run may batch (`WriteBatch`):
appends then share one write transaction until it is `interval_s` old (the runner's flusher, or the
next append, commits it). Each append is a savepoint inside it, so a failed append is undone alone
and the batch's earlier ones are committed; a measurement and its verdict link are one savepoint, so
they are never committed apart. A SIGKILL loses the finished appends of at most the open batch.
`batch_appends` is the runner's switch: it batches from then on, with a task that commits a batch
once it is old enough also when no further append comes. This module does not seal, sign or read
links (store/links.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from probe.errors import StoreError
from probe.i18n import _


class WriteBatch:
    """The write transaction appends share while batching (`interval_s` > 0); one per connection."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn, self._path = conn, path
        self.interval_s = 0.0  # 0: each append commits at once
        self._began: float | None = None  # monotonic time the open batch began; None: none is open

    @property
    def pending(self) -> bool:
        """Appends wait in an open transaction: `commit()` (or the next append past the interval) ends it."""
        return self._began is not None

    def age_s(self) -> float:
        return 0.0 if self._began is None else time.monotonic() - self._began

    def begin_append(self) -> None:
        """Open the batch's transaction if none is open, then this append's savepoint."""
        if self._began is None or not self._conn.in_transaction:
            self._conn.execute("BEGIN IMMEDIATE")
            self._began = time.monotonic()
        self._conn.execute("SAVEPOINT append")

    def end_append(self) -> None:
        """This append is done: keep it in the batch, or commit the batch when it is old enough."""
        self._conn.execute("RELEASE append")
        if self.interval_s <= 0 or self.age_s() >= self.interval_s:
            self.commit()

    def undo_append(self) -> None:
        """This append failed: undo it alone and commit the batch's earlier ones, which stay stored.

        After a full disk or an I/O error SQLite may have rolled the whole transaction back already:
        then the batch's earlier appends are gone too (what a SIGKILL would have cost), and the error
        being raised is the news, not a second one from here.
        """
        if not self._conn.in_transaction:
            self._began = None
            return
        try:
            self._conn.execute("ROLLBACK TO append")
            self._conn.execute("RELEASE append")
        except sqlite3.Error:
            self._began = None
            rollback(self._conn)
            return
        with contextlib.suppress(StoreError):  # the failed append's own error says more
            self.commit()

    def commit(self) -> None:
        """Commit the open batch, if any (also before any other write transaction of the store)."""
        if self._began is None:
            return
        self._began = None
        if not self._conn.in_transaction:
            return  # a sibling module's `with connection:` committed it already
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            rollback(self._conn)
            raise write_error(self._path, exc) from exc


def batch_appends(batch: WriteBatch, interval_s: float, *,
                  on_error: Callable[[StoreError], None]) -> Callable[[], None]:
    """Batch appends into transactions at most `interval_s` old (0: none); returns the function that
    stops batching. A commit the flusher cannot make goes to `on_error` (the run halts, as it does on a
    failed append), and the flusher stops. The batch still open at the stop is committed by the store's
    next write (a run's `finish_run`) or by `close()`.
    """
    if interval_s <= 0:
        return lambda: None
    batch.interval_s = interval_s

    async def flush_every() -> None:
        while True:
            await asyncio.sleep(interval_s / 4)
            if batch.pending and batch.age_s() >= interval_s:
                try:
                    batch.commit()
                except StoreError as exc:
                    on_error(exc)
                    return

    task = asyncio.get_running_loop().create_task(flush_every())

    def stop() -> None:
        task.cancel()
        batch.interval_s = 0.0

    return stop


def rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open: SQLite has already rolled back after a full disk or
    an I/O error, and a second ROLLBACK would replace the real error with "no transaction is active"."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):  # the error being raised says more than this one
            conn.execute("ROLLBACK")


def write_error(path: Path, exc: sqlite3.Error) -> StoreError:
    """A failed write as one line that names its cause: a full disk, another process's lock, or else."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL:
        return StoreError(_("disk full: cannot write to the store {path}").format(path=path),
                          hint=_("free some space (or `probe prune`); everything stored before is kept"))
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreError(_("the store {path} is locked by another process: {problem}").format(path=path, problem=exc),
                          hint=_("a long export or another program holds it; the write is tried again later"))
    if code == sqlite3.SQLITE_READONLY:
        return StoreError(_("the store {path} is read-only: {problem}").format(path=path, problem=exc),
                          hint=_("check the file's owner and permissions"))
    return StoreError(_("cannot write to the store {path}: {problem}").format(path=path, problem=exc),
                      hint=_("is the disk full or the file read-only?"))
