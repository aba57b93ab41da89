"""The event loop a long-running command runs on: uvloop's when it is installed, else asyncio's.

`probe run`, `probe daemon` and `probe control serve` spend most of their CPU in event-loop and
transport work: sockets, TLS handshakes and records, a few reads per measurement or answer. uvloop
does that work in C (its TLS layer too, where asyncio's is Python, and its TLS read buffers stay
untouched until data comes, where asyncio's are zeroed, hence resident: 256 KiB a connection).
The code runs on either loop, and the same failure strings are expected of both: the lab's scenarios
run the CLI on uvloop and tests/net the steps on asyncio's loop. A difference neither covers would
show as a failure string that only one loop records.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
# uvloop runs getaddrinfo (the system resolver's view, and a helper without --resolver) in libuv's
# thread pool: 4 threads unless set before its first use, so four slow lookups would queue all others.
GETADDRINFO_THREADS = "64"


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when it is installed, else None (asyncio's own)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run a command's main coroutine on the fastest event loop available."""
    # Everything imported and built so far lives as long as the process: out of the collector's
    # sight, each full collection walks only what the work allocates (~3 % of the control helper's
    # CPU went to collections walking the imported modules' objects again and again).
    gc.freeze()
    os.environ.setdefault("UV_THREADPOOL_SIZE", GETADDRINFO_THREADS)  # read by libuv, once, at first use
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        return runner.run(main)
